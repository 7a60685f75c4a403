-- The SLA breach detector at scale (issue 18, docs/benchmarks.md "At scale").
-- Its due rows came from a LATERAL VALUES over every live ticket, a condition
-- the partial indexes tickets_frt_due_idx and tickets_res_due_idx (001) cannot
-- serve: every 5 s (services/ticket/sla_detect.c) it read the whole table,
-- 7-8 s at 2,000,000 tickets, so it never rested. Now each target is its own
-- branch whose conditions imply its index's predicate: a range scan of the
-- open tickets already due. Same rows, same limit (any order), same events.
-- CREATE OR REPLACE keeps the function's owner and grants (010).
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
		ON CONFLICT (tenant_id, sla_ticket_id, sla_target) DO NOTHING
		RETURNING tenant_id, sla_ticket_id
	), up AS (
		UPDATE ticket.tickets t SET sla_breached = true
		FROM (SELECT DISTINCT tenant_id, sla_ticket_id FROM ev) e
		WHERE t.tenant_id = e.tenant_id AND t.id = e.sla_ticket_id AND NOT t.sla_breached
	)
	SELECT count(*)::integer FROM ev
$$;
