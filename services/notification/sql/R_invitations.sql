-- Invitation mails (docs/architecture.md, "Invitations"). Repeatable
-- (docs/adding-a-daemon.md, "Migrations"): the current definitions only.

-- Queues the invitation mail to the user's address (an active user of the
-- tenant); 'queued' (also when it already was: the call is repeatable), or
-- 'gone' when there is no such active user. The mail names the organisation
-- name and the e-mail address the user signs in with, since signing in asks
-- for both. plpgsql: auth's tables are read when it runs, not when this file
-- is applied.
CREATE OR REPLACE FUNCTION notification.queue_invitation(p_tenant uuid, p_invitation uuid,
                                                         p_user uuid, p_link text,
                                                         p_expires text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	u record;
	t record;
BEGIN
	SELECT x.email, x.name INTO u FROM auth.users x
		WHERE x.tenant_id = p_tenant AND x.id = p_user AND x.active;
	SELECT x.name, x.slug INTO t FROM auth.tenants x WHERE x.id = p_tenant;
	IF u.email IS NULL OR t.slug IS NULL THEN
		RETURN 'gone';
	END IF;
	INSERT INTO notification.emails (tenant_id, cause_id, kind, to_addr, from_name, tenant_slug,
	                                 subject, body, message_key, thread_key, next_attempt_at)
	VALUES (p_tenant, p_invitation, 'invitation', u.email, t.name, t.slug,
	        format('Set your password for %s', t.name),
	        format(E'Hello %s,\n\nyou are invited to the help desk of %s. Open this link to '
	               'choose your password (it works once, until %s):\n\n%s\n\n'
	               'Then sign in with the organisation name %s and your e-mail address %s.\n\n'
	               'If you did not expect this message, ignore it.',
	               u.name, t.name, p_expires, p_link, t.slug, u.email),
	        format('i%s', p_invitation), NULL, clock_timestamp())
	ON CONFLICT ON CONSTRAINT emails_once DO NOTHING;
	RETURN 'queued';
END
$$;
GRANT EXECUTE ON FUNCTION notification.queue_invitation(uuid, uuid, uuid, text, text) TO hd_app;
