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

-- (The detector, paused tickets left out: R_sla_detect.sql, its current
-- definition.)
