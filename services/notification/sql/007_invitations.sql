-- Invitation mails (docs/architecture.md, "Invitations"): hd-auth makes the
-- invitation and hands its token to hd-notification in a peer call
-- (mail.invitation); the mail is queued here like the requesters' mails and
-- sent by the same dispatcher with the same retries. The token is in the
-- mail's body only while it waits: once sent (or given up) the body is
-- blanked, so the clear token is at rest only as long as the relay is late.
ALTER TABLE notification.emails DROP CONSTRAINT emails_kind_check;
ALTER TABLE notification.emails ADD CONSTRAINT emails_kind_check
	CHECK (kind IN ('acknowledgement', 'reply', 'invitation'));

-- Queues the invitation mail to the user's address (an active user of the
-- tenant); 'queued' (also when it already was: the call is repeatable), or
-- 'gone' when there is no such active user. plpgsql: auth's tables are read
-- when it runs, not when this migration does.
CREATE FUNCTION notification.queue_invitation(p_tenant uuid, p_invitation uuid, p_user uuid,
                                              p_link text, p_expires text) RETURNS text
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
	               'If you did not expect this message, ignore it.',
	               u.name, t.name, p_expires, p_link),
	        format('i%s', p_invitation), NULL, clock_timestamp())
	ON CONFLICT ON CONSTRAINT emails_once DO NOTHING;
	RETURN 'queued';
END
$$;
GRANT EXECUTE ON FUNCTION notification.queue_invitation(uuid, uuid, uuid, text, text) TO hd_app;

-- An invitation mail that left the queue keeps no token.
CREATE FUNCTION notification.email_forget_token() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.kind = 'invitation' AND NEW.status <> 'pending' THEN
		NEW.body := '(invitation link removed once the mail left the queue)';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER emails_forget_token BEFORE UPDATE OF status ON notification.emails
	FOR EACH ROW EXECUTE FUNCTION notification.email_forget_token();
