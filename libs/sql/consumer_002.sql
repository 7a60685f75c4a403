-- Parked events of a daemon's consumers (libs/src/consumer.c, hd/consumer.h;
-- docs/operations.md, "Parked events"). An event whose effect fails the
-- same way HD_CONSUMER_PARK_AFTER times in a row, with an error that comes
-- from the event itself (SQLSTATE class 22 data exception, 23 integrity
-- violation, P0 raised by a function) and would fail forever, is kept here
-- whole and the position moves past it, in one transaction: the consumer
-- goes on with the events after it instead of stopping its source for good.
-- A database that is down, a deadlock or a missing privilege is not such an
-- error: those stop the consumer and it retries, parking nothing.
-- hd-<daemon> --replay-parked applies the parked events again once their
-- cause is mended. A tenant table: row-level security by the event's tenant.
CREATE TABLE IF NOT EXISTS :"schema".consumer_parked (
	source    text        NOT NULL,
	seq       bigint      NOT NULL,
	tenant_id uuid        NOT NULL,
	event_id  uuid        NOT NULL,
	type      text        NOT NULL,
	actor_id  uuid,
	data      json        NOT NULL,
	occurred_at text, -- as the source wrote it (an effect may take it: hd/consumer.h)
	sqlstate  text        NOT NULL,
	error     text        NOT NULL,
	failures  integer     NOT NULL,
	parked_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	PRIMARY KEY (source, seq)
);
ALTER TABLE :"schema".consumer_parked ENABLE ROW LEVEL SECURITY;
ALTER TABLE :"schema".consumer_parked FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON :"schema".consumer_parked;
CREATE POLICY tenant_isolation ON :"schema".consumer_parked
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- the owner (migrations, hd-<daemon> --replay-parked) reads every tenant's
DROP POLICY IF EXISTS owner_all ON :"schema".consumer_parked;
CREATE POLICY owner_all ON :"schema".consumer_parked TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, DELETE ON :"schema".consumer_parked TO hd_app;

-- Moves the position past p_seq (consume) and keeps the event, in the
-- caller's transaction for the event's tenant.
CREATE OR REPLACE FUNCTION :"schema".consume_parked(p_source text, p_seq bigint, p_tenant uuid,
	p_event uuid, p_type text, p_actor uuid, p_data json, p_occurred_at text, p_sqlstate text,
	p_error text, p_failures integer) RETURNS void
LANGUAGE plpgsql VOLATILE AS $f$
BEGIN
	PERFORM :"schema".consume(p_source, p_seq);
	INSERT INTO :"schema".consumer_parked (source, seq, tenant_id, event_id, type, actor_id, data,
	                                       occurred_at, sqlstate, error, failures)
	VALUES (p_source, p_seq, p_tenant, p_event, p_type, p_actor, p_data, p_occurred_at,
	        p_sqlstate, left(p_error, 1000), p_failures);
END
$f$;
