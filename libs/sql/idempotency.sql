-- Idempotency-Key replies of one daemon's schema (libs/include/hd/idem.h):
-- scoped to the tenant, the caller and the route, so a second user of a
-- tenant reusing a key, or a key reused on another route, gets its own
-- result. hd_db_migrate_ex applies this file for a daemon whose spec sets
-- .idempotency, after the daemon's own migrations, with :"schema" replaced by
-- the schema quoted as an identifier and :'schema' as a literal (the schema
-- name is the daemon's, checked to be [a-z_]+; never input). Idempotent:
-- only what is missing is created.
CREATE TABLE IF NOT EXISTS :"schema".idempotency_keys (
	tenant_id    uuid        NOT NULL,
	user_id      uuid        NOT NULL,
	op           text        NOT NULL,
	key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
	request_hash text        NOT NULL,
	status       integer     NOT NULL,
	body         text        NOT NULL,
	location     text,
	etag         text,
	created_at   timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, user_id, op, key)
);

ALTER TABLE :"schema".idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE :"schema".idempotency_keys FORCE ROW LEVEL SECURITY;

DO $idem$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_policies
	               WHERE schemaname = :'schema' AND tablename = 'idempotency_keys'
	               AND policyname = 'tenant_isolation') THEN
		EXECUTE format('CREATE POLICY tenant_isolation ON %I.idempotency_keys'
		               ' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
		               ' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
		               :'schema');
	END IF;
END
$idem$;

GRANT SELECT, INSERT, DELETE ON :"schema".idempotency_keys TO hd_app;
