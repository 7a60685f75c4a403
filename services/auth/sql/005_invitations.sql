-- Invitations (docs/architecture.md, "Invitations"): staff let a user set
-- their own password (a customer made by mail in, or anyone whose access is
-- reset). The token is random, mailed once through hd-notification and
-- kept here only as its SHA-256 (hex), like a refresh token. A newer
-- invitation of the same user revokes the pending ones; accepting one marks
-- it used (single use); it expires at expires_at (HD_INVITATION_TTL_S).
CREATE TABLE auth.invitations (
	tenant_id   uuid        NOT NULL,
	id          uuid        NOT NULL,
	user_id     uuid        NOT NULL,
	created_by  uuid        NOT NULL, -- the staff member who invited
	token_hash  text        NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	expires_at  timestamptz NOT NULL,
	accepted_at timestamptz,          -- used up (single use)
	revoked_at  timestamptz,          -- replaced by a newer invitation
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES auth.users (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_hash_key ON auth.invitations (tenant_id, token_hash);
CREATE INDEX invitations_pending_idx ON auth.invitations (tenant_id, user_id)
	WHERE accepted_at IS NULL AND revoked_at IS NULL;
ALTER TABLE auth.invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON auth.invitations
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE FUNCTION auth.invitation_json(i auth.invitations) RETURNS json
	LANGUAGE sql STABLE
	AS $$ SELECT json_build_object('id', i.id, 'user_id', i.user_id,
		'created_by', i.created_by, 'created_at', auth.ts_json(i.created_at),
		'expires_at', auth.ts_json(i.expires_at)) $$;

GRANT SELECT, INSERT, UPDATE ON auth.invitations TO hd_app;
GRANT EXECUTE ON FUNCTION auth.invitation_json(auth.invitations) TO hd_app;
