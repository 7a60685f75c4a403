-- SECURITY DEFINER functions run as the owner: each is revoked from PUBLIC
-- (PostgreSQL grants EXECUTE on a new function to everyone) and granted only
-- to the role that needs it. auth.tenant_id_by_slug is the one here: hd_app
-- (login resolves the tenant before row-level security can). And the
-- bootstrap (not SECURITY DEFINER, but it sets app.tenant_id itself) stays
-- the owner's alone (hd-auth --bootstrap), hd_app included.
REVOKE ALL ON FUNCTION auth.tenant_id_by_slug(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.tenant_id_by_slug(text) TO hd_app;
REVOKE ALL ON FUNCTION auth.bootstrap_ensure(uuid, text, text, uuid, text, text, text, text)
	FROM PUBLIC, hd_app;
