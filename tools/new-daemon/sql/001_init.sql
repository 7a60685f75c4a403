-- @NAME@ schema. Run as hd_owner by `hd-@NAME@ --migrate`; the daemon connects
-- as hd_app, which owns nothing, so row-level security always applies to it.
-- Every tenant table leads its key with tenant_id and forces RLS with the
-- policy tenant_id = app.tenant_id (set per transaction with
-- set_config(..., true)); an unset tenant sees no rows at all.
CREATE SCHEMA IF NOT EXISTS @NAME@;
GRANT USAGE ON SCHEMA @NAME@ TO hd_app;

CREATE TABLE @NAME@.items (
	tenant_id  uuid        NOT NULL,
	id         uuid        NOT NULL,
	name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id)
);

ALTER TABLE @NAME@.items ENABLE ROW LEVEL SECURITY;
ALTER TABLE @NAME@.items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON @NAME@.items
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON @NAME@.items TO hd_app;
