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
-- (The detector with that ON CONFLICT: R_sla_detect.sql.)
