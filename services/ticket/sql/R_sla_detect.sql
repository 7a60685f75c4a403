-- The SLA breach detector, current definition (a repeatable file: --migrate
-- applies it whenever this text changes; docs/adding-a-daemon.md,
-- "Migrations"). First written in 001_init.sql; its changes and why are told
-- where they were made: paused statuses left out (003), one index range scan
-- per target instead of a scan of every live ticket (012), and the partial
-- unique index outbox_sla_once_idx that ON CONFLICT names (014).
-- Every 5 s (services/ticket/sla_detect.c) it queues one sla.breached per
-- ticket and target past due, at most lim, and flags the tickets.
-- SECURITY DEFINER across tenants, so executable by hd_app only (as 010
-- does for the other such functions).
CREATE OR REPLACE FUNCTION ticket.sla_detect(lim integer) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH due AS (
		(SELECT t.tenant_id, t.id, 'first_response'::text AS target, t.first_response_due AS due
		 FROM ticket.tickets t
		 WHERE t.deleted_at IS NULL AND t.first_response_at IS NULL AND t.first_response_due <= now()
		   AND NOT EXISTS (SELECT 1 FROM ticket.outbox o WHERE o.tenant_id = t.tenant_id
		                   AND o.sla_ticket_id = t.id AND o.sla_target = 'first_response')
		 LIMIT lim)
		UNION ALL
		(SELECT t.tenant_id, t.id, 'resolution'::text, t.resolution_due FROM ticket.tickets t
		 WHERE t.deleted_at IS NULL AND t.status NOT IN ('solved', 'closed', 'pending', 'on_hold')
		   AND t.resolution_due <= now()
		   AND NOT EXISTS (SELECT 1 FROM ticket.outbox o WHERE o.tenant_id = t.tenant_id
		                   AND o.sla_ticket_id = t.id AND o.sla_target = 'resolution')
		 LIMIT lim)
		LIMIT lim
	), ev AS (
		INSERT INTO ticket.outbox (tenant_id, type, data, sla_ticket_id, sla_target)
		SELECT d.tenant_id, 'sla.breached',
		       json_build_object('ticket_id', d.id, 'target', d.target, 'due', ticket.ts(d.due)),
		       d.id, d.target FROM due d
		ON CONFLICT (tenant_id, sla_ticket_id, sla_target) WHERE sla_ticket_id IS NOT NULL
		DO NOTHING
		RETURNING tenant_id, sla_ticket_id
	), up AS (
		UPDATE ticket.tickets t SET sla_breached = true
		FROM (SELECT DISTINCT tenant_id, sla_ticket_id FROM ev) e
		WHERE t.tenant_id = e.tenant_id AND t.id = e.sla_ticket_id AND NOT t.sla_breached
	)
	SELECT count(*)::integer FROM ev
$$;
REVOKE ALL ON FUNCTION ticket.sla_detect(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ticket.sla_detect(integer) TO hd_app;
