-- The resolution clock pauses while a ticket is pending or on_hold: entering
-- either status records when; leaving them pushes resolution_due back by the
-- time spent paused. The breach detector skips paused tickets.
ALTER TABLE ticket.tickets ADD COLUMN sla_paused_at timestamptz;

CREATE FUNCTION ticket.sla_pause() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	was boolean := OLD.status IN ('pending', 'on_hold');
	now_paused boolean := NEW.status IN ('pending', 'on_hold');
BEGIN
	IF now_paused AND NOT was THEN
		NEW.sla_paused_at := date_trunc('milliseconds', now());
	ELSIF was AND NOT now_paused AND OLD.sla_paused_at IS NOT NULL THEN
		NEW.resolution_due := NEW.resolution_due + (date_trunc('milliseconds', now()) - OLD.sla_paused_at);
		NEW.sla_paused_at := NULL;
	END IF;
	RETURN NEW;
END
$$;
-- "zz_" runs it after automations_apply (triggers fire in name order), so a
-- status an automation set is the one that counts.
CREATE TRIGGER zz_sla_pause BEFORE UPDATE OF status ON ticket.tickets
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION ticket.sla_pause();

CREATE OR REPLACE FUNCTION ticket.sla_detect(lim integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH due AS (
		SELECT t.tenant_id, t.id, x.target, x.due FROM ticket.tickets t
		CROSS JOIN LATERAL (VALUES
			('first_response', t.first_response_due, t.first_response_at IS NULL),
			('resolution', t.resolution_due,
			 t.status NOT IN ('solved', 'closed', 'pending', 'on_hold'))) x(target, due, open)
		WHERE t.deleted_at IS NULL AND x.open AND x.due <= now()
		  AND NOT EXISTS (SELECT 1 FROM ticket.outbox o WHERE o.tenant_id = t.tenant_id
		                  AND o.sla_ticket_id = t.id AND o.sla_target = x.target)
		LIMIT lim
	), ev AS (
		INSERT INTO ticket.outbox (tenant_id, type, data, sla_ticket_id, sla_target)
		SELECT d.tenant_id, 'sla.breached',
		       json_build_object('ticket_id', d.id, 'target', d.target, 'due', ticket.ts(d.due)),
		       d.id, d.target FROM due d
		ON CONFLICT (tenant_id, sla_ticket_id, sla_target) DO NOTHING
		RETURNING tenant_id, sla_ticket_id
	), up AS (
		UPDATE ticket.tickets t SET sla_breached = true
		FROM (SELECT DISTINCT tenant_id, sla_ticket_id FROM ev) e
		WHERE t.tenant_id = e.tenant_id AND t.id = e.sla_ticket_id AND NOT t.sla_breached
	)
	SELECT count(*)::integer FROM ev
$$;
