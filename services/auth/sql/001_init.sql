-- Auth schema: tenants, users, refresh tokens, TOTP factors.
-- Run as hd_owner by `hd-auth --migrate`; the daemon connects as hd_app,
-- which owns nothing, so row-level security always applies to it.
-- Every tenant table leads its keys with tenant_id (Citus-ready) and forces
-- RLS with the policy tenant_id = app.tenant_id (set per transaction with
-- set_config(..., true)); an unset tenant sees no rows at all.

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.tenants (
	id         uuid PRIMARY KEY,
	slug       text NOT NULL CONSTRAINT tenants_slug_key UNIQUE
	           CHECK (slug ~ '^[a-z0-9-]{2,63}$'),
	name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.users (
	tenant_id     uuid NOT NULL REFERENCES auth.tenants (id),
	id            uuid NOT NULL,
	email         text NOT NULL CHECK (length(email) <= 254),
	name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	role          text NOT NULL
	              CHECK (role IN ('admin', 'agent', 'technician', 'customer', 'platform_admin')),
	password_hash text NOT NULL,
	active        boolean NOT NULL DEFAULT true,
	mfa_enabled   boolean NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	version       integer NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_email_key ON auth.users (tenant_id, lower(email));
CREATE INDEX users_created_idx ON auth.users (tenant_id, created_at, id);

-- Opaque refresh tokens, stored as SHA-256 (hex). A family is one login;
-- rotation marks the old token used and inserts the next in the same family.
CREATE TABLE auth.refresh_tokens (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	user_id    uuid NOT NULL,
	family_id  uuid NOT NULL,
	token_hash text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	revoked_at timestamptz,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES auth.users (tenant_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON auth.refresh_tokens (tenant_id, token_hash);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (tenant_id, user_id);

-- TOTP factor per user: the confirmed secret, the one awaiting confirmation,
-- and the last accepted time step (a code is never accepted twice).
CREATE TABLE auth.mfa (
	tenant_id      uuid NOT NULL,
	user_id        uuid NOT NULL,
	secret         text,
	pending_secret text,
	last_step      bigint NOT NULL DEFAULT 0,
	updated_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES auth.users (tenant_id, id)
);

-- Row-level security. tenants is keyed by id rather than tenant_id.
ALTER TABLE auth.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.users FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.refresh_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE auth.mfa ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.mfa FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON auth.tenants
	USING (id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_isolation ON auth.users
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_isolation ON auth.refresh_tokens
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY tenant_isolation ON auth.mfa
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Login names a tenant by slug before its id is known. Decision: hd_app does
-- NOT get to read every tenant row; instead the owner (the migrating role) may
-- read tenants, and exactly one SECURITY DEFINER function exposes the single
-- fact "slug -> id". The daemon sets app.tenant_id from it in the same batch
-- before it looks the user up, so the user lookup itself stays under RLS.
CREATE POLICY owner_read ON auth.tenants FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION auth.tenant_id_by_slug(p_slug text) RETURNS uuid
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	AS $$ SELECT id FROM auth.tenants WHERE slug = p_slug $$;

-- JSON shapes of the API, built in SQL (times RFC 3339 UTC with milliseconds).
CREATE FUNCTION auth.ts_json(t timestamptz) RETURNS text
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

CREATE FUNCTION auth.user_json(u auth.users) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('id', u.id, 'tenant_id', u.tenant_id, 'email', u.email,
		'name', u.name, 'role', u.role, 'active', u.active, 'mfa_enabled', u.mfa_enabled,
		'created_at', auth.ts_json(u.created_at), 'updated_at', auth.ts_json(u.updated_at),
		'version', u.version) $$;

CREATE FUNCTION auth.tenant_json(t auth.tenants) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('id', t.id, 'slug', t.slug, 'name', t.name,
		'created_at', auth.ts_json(t.created_at)) $$;

-- Bootstrap (hd-auth --bootstrap, run as the owner): ensures a tenant and one
-- user in one transaction, setting app.tenant_id itself so RLS still applies.
-- Returns 'created' or 'exists' (an existing user is left alone).
CREATE FUNCTION auth.bootstrap_ensure(p_tenant_id uuid, p_slug text, p_tenant_name text,
		p_user_id uuid, p_email text, p_name text, p_role text, p_hash text)
	RETURNS text LANGUAGE plpgsql
	AS $$
DECLARE
	tid uuid;
BEGIN
	SELECT id INTO tid FROM auth.tenants WHERE slug = p_slug;
	IF tid IS NULL THEN
		tid := p_tenant_id;
		PERFORM set_config('app.tenant_id', tid::text, true);
		INSERT INTO auth.tenants (id, slug, name) VALUES (tid, p_slug, p_tenant_name);
	ELSE
		PERFORM set_config('app.tenant_id', tid::text, true);
	END IF;
	IF EXISTS (SELECT 1 FROM auth.users WHERE lower(email) = lower(p_email)) THEN
		RETURN 'exists';
	END IF;
	INSERT INTO auth.users (tenant_id, id, email, name, role, password_hash)
		VALUES (tid, p_user_id, lower(p_email), p_name, p_role, p_hash);
	RETURN 'created';
END $$;
REVOKE ALL ON FUNCTION auth.bootstrap_ensure(uuid, text, text, uuid, text, text, text, text) FROM PUBLIC;

GRANT USAGE ON SCHEMA auth TO hd_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON auth.tenants, auth.users, auth.refresh_tokens, auth.mfa TO hd_app;
GRANT EXECUTE ON FUNCTION auth.tenant_id_by_slug(text), auth.ts_json(timestamptz),
	auth.user_json(auth.users), auth.tenant_json(auth.tenants) TO hd_app;
