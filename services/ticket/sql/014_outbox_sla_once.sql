-- Creates at scale (issue 18, docs/benchmarks.md "At scale", second round).
-- "sla.breached once per ticket and target" was a UNIQUE constraint on
-- (tenant_id, sla_ticket_id, sla_target) over every outbox row, so every
-- event (ticket.created included) paid an entry in it twice: when written,
-- and again when the relay numbers it (pub_seq is indexed, so that UPDATE is
-- never HOT). Only sla.breached rows carry sla_ticket_id, and rows whose
-- sla_ticket_id is NULL never conflicted anyway: a partial unique index on
-- those rows keeps the same guarantee and the same NOT EXISTS probe of
-- ticket.sla_detect, and the other events skip it. The detector's ON CONFLICT
-- names the index's predicate so that PostgreSQL infers it. CREATE OR REPLACE
-- keeps the function's owner and grants (010); the body is 012's otherwise.
CREATE UNIQUE INDEX outbox_sla_once_idx ON ticket.outbox (tenant_id, sla_ticket_id, sla_target)
	WHERE sla_ticket_id IS NOT NULL;
ALTER TABLE ticket.outbox DROP CONSTRAINT outbox_tenant_id_sla_ticket_id_sla_target_key;
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
