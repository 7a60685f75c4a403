-- Invitation mails (docs/architecture.md, "Invitations"): hd-auth makes the
-- invitation and hands its token to hd-notification in a peer call
-- (mail.invitation); the mail is queued here like the requesters' mails and
-- sent by the same dispatcher with the same retries. The token is in the
-- mail's body only while it waits: once sent (or given up) the body is
-- blanked, so the clear token is at rest only as long as the relay is late.
ALTER TABLE notification.emails DROP CONSTRAINT emails_kind_check;
ALTER TABLE notification.emails ADD CONSTRAINT emails_kind_check
	CHECK (kind IN ('acknowledgement', 'reply', 'invitation'));

-- notification.queue_invitation, which queues the mail, is in
-- R_invitations.sql.

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
