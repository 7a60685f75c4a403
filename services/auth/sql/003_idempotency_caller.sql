-- Idempotency-Key replies scoped to the tenant, the caller and the route
-- (libs/include/hd/idem.h): a second user of a tenant reusing a key, or a key
-- reused on another route, gets its own result. One shape for every daemon:
-- (tenant_id, user_id, op, key, request_hash, status, body, location, etag,
-- created_at), PK (tenant_id, user_id, op, key), RLS on tenant_id.
-- Rows stored before this migration get the nil user and the op '', so they
-- simply stop matching (and age out after 24 h); no reply is replayed to
-- another user. Location and ETag are NULL when the reply had none.

ALTER TABLE auth.idempotency_keys RENAME TO idempotency_keys_v1;
ALTER TABLE auth.idempotency_keys_v1 RENAME CONSTRAINT idempotency_keys_pkey TO idempotency_keys_v1_pkey;
-- The owner reads every tenant's rows to copy them (RLS is forced on it too).
ALTER TABLE auth.idempotency_keys_v1 NO FORCE ROW LEVEL SECURITY;

CREATE TABLE auth.idempotency_keys (
	tenant_id    uuid        NOT NULL REFERENCES auth.tenants (id),
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

INSERT INTO auth.idempotency_keys (tenant_id, user_id, op, key, request_hash, status, body,
	location, etag, created_at)
SELECT tenant_id, '00000000-0000-0000-0000-000000000000', '', key, request_hash, status, body,
	NULLIF(location, ''), NULLIF(etag, ''), created_at
FROM auth.idempotency_keys_v1
WHERE created_at >= now() - interval '24 hours';

DROP TABLE auth.idempotency_keys_v1;

ALTER TABLE auth.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.idempotency_keys
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT, INSERT, DELETE ON auth.idempotency_keys TO hd_app;
