-- The transactional outbox of one daemon's schema (libs/src/outbox.c,
-- libs/include/hd/outbox.h). hd_db_migrate_ex applies this file for the
-- schema after the daemon's own migrations, with :"schema" replaced by the
-- schema quoted as an identifier and :'schema' by it quoted as a literal
-- (the schema name is the daemon's, checked to be [a-z_]+; never input).
-- Idempotent: everything is created only when missing, so a schema whose
-- own migrations already built this shape (ticket's 001 and 005) keeps its
-- table, rows, functions and policies untouched. A daemon may add columns
-- of its own (ticket's sla_ticket_id, sla_target).
--
-- Writers insert (tenant_id, type, actor_id, data) in the same transaction
-- as the change; the relay claims committed rows with outbox_claim, which
-- numbers them pub_seq (the event's "seq": gap-free per schema, in commit
-- order), and events.since pages by pub_seq. No NOTIFY trigger on purpose:
-- a transaction that NOTIFYs takes a database-wide lock from pre-commit
-- through the WAL flush, serialising every writer's commit.
GRANT USAGE ON SCHEMA :"schema" TO hd_app;

-- Helpers the table and functions use, when the schema has none of its own.
DO $outbox$
BEGIN
	IF to_regprocedure(format('%I.uuid_v7()', :'schema')) IS NULL THEN
		-- UUIDv7 (RFC 9562) for rows created inside SQL.
		CREATE FUNCTION :"schema".uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $f$
			SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
				substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
				FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
		$f$;
	END IF;
	IF to_regprocedure(format('%I.ts(timestamptz)', :'schema')) IS NULL THEN
		-- RFC 3339 UTC with milliseconds, the API's one time format.
		CREATE FUNCTION :"schema".ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $f$
			SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
		$f$;
	END IF;
	IF to_regprocedure(format('%I.current_tenant()', :'schema')) IS NULL THEN
		-- The caller's tenant, NULL when unset (after commit it reads '').
		CREATE FUNCTION :"schema".current_tenant() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $f$
			SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
		$f$;
	END IF;
END
$outbox$;

CREATE TABLE IF NOT EXISTS :"schema".outbox (
	seq          bigserial   PRIMARY KEY,
	id           uuid        NOT NULL DEFAULT :"schema".uuid_v7() UNIQUE,
	tenant_id    uuid        NOT NULL,
	type         text        NOT NULL,
	occurred_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	actor_id     uuid,
	data         json        NOT NULL,
	published_at timestamptz,
	pub_seq      bigint
);
CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON :"schema".outbox (seq) WHERE published_at IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS outbox_pub_seq_idx ON :"schema".outbox (pub_seq);
CREATE INDEX IF NOT EXISTS outbox_tenant_pub_seq_idx ON :"schema".outbox (tenant_id, pub_seq)
	WHERE pub_seq IS NOT NULL;

-- Row-level security binding the owner too; the relay's SECURITY DEFINER
-- function runs as the owner, which the policy "relay" lets through.
ALTER TABLE :"schema".outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE :"schema".outbox FORCE ROW LEVEL SECURITY;
DO $outbox$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = :'schema'
	               AND tablename = 'outbox' AND policyname = 'tenant_isolation') THEN
		CREATE POLICY tenant_isolation ON :"schema".outbox
			USING (tenant_id = :"schema".current_tenant())
			WITH CHECK (tenant_id = :"schema".current_tenant());
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = :'schema'
	               AND tablename = 'outbox' AND policyname = 'relay') THEN
		CREATE POLICY relay ON :"schema".outbox TO CURRENT_USER USING (true) WITH CHECK (true);
	END IF;
END
$outbox$;
-- SELECT (events.since) and INSERT (the change's event); the claim and its
-- UPDATE belong to the relay's role (hd_outbox_003)
GRANT SELECT, INSERT ON :"schema".outbox TO hd_app;
GRANT USAGE ON SEQUENCE :"schema".outbox_seq_seq TO hd_app;

DO $outbox$
BEGIN
	IF to_regprocedure(format('%I.event_json(%I.outbox)', :'schema', :'schema')) IS NULL THEN
		-- A domain event as published on the bus and returned by events.since.
		CREATE FUNCTION :"schema".event_json(o :"schema".outbox) RETURNS json
		LANGUAGE sql STABLE PARALLEL SAFE AS $f$
			SELECT json_build_object('id', o.id, 'seq', o.pub_seq, 'type', o.type, 'tenant_id', o.tenant_id,
			                         'occurred_at', :"schema".ts(o.occurred_at), 'actor', o.actor_id, 'data', o.data)
		$f$;
	END IF;
	IF to_regprocedure(format('%I.outbox_claim(integer)', :'schema')) IS NULL THEN
		-- Claims up to lim unpublished events (oldest seq first), numbers them
		-- after the last pub_seq under an advisory lock (gap-free, never
		-- assigned behind a reader), marks them published and returns
		-- (type, event json) in pub_seq order. One statement, one round trip.
		CREATE FUNCTION :"schema".outbox_claim(lim integer) RETURNS TABLE (type text, event text)
		LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
		DECLARE
			base bigint;
		BEGIN
			PERFORM pg_advisory_xact_lock(hashtext(:'schema' || '.outbox_claim'));
			SELECT COALESCE(max(o.pub_seq), 0) INTO base FROM :"schema".outbox o;
			RETURN QUERY
			WITH c AS (
				SELECT x.seq, base + row_number() OVER (ORDER BY x.seq) AS p
				FROM (SELECT o.seq FROM :"schema".outbox o WHERE o.published_at IS NULL
				      ORDER BY o.seq LIMIT lim) x
			), u AS (
				UPDATE :"schema".outbox o SET pub_seq = c.p, published_at = now() FROM c
				WHERE o.seq = c.seq
				RETURNING o.pub_seq, o.type, :"schema".event_json(o)::text AS event
			)
			SELECT u.type, u.event FROM u ORDER BY u.pub_seq;
		END
		$f$;
	END IF;
END
$outbox$;
