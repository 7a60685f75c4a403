-- Idempotency-Key replies of POST /v1/users (docs/openapi.yaml, "Common rules"): the
-- same key and body within 24 h replays the stored 201; another body is 422.
-- The key is written in the same statement as the user, so the two cannot
-- disagree; only successful creates are stored.

CREATE TABLE auth.idempotency_keys (
	tenant_id    uuid        NOT NULL REFERENCES auth.tenants (id),
	key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
	request_hash text        NOT NULL,
	status       integer     NOT NULL,
	body         text        NOT NULL,
	location     text        NOT NULL,
	etag         text        NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, key)
);

ALTER TABLE auth.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.idempotency_keys
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON auth.idempotency_keys TO hd_app;
