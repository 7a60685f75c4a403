-- E-mail to requesters (docs/architecture.md, "Notifications"): a new
-- ticket is acknowledged, and a public comment by anyone else is mailed,
-- both to the ticket's requester, from the tenant (its name; the address
-- from HD_SMTP_FROM, filled in by the daemon when it sends). Queued by the
-- event consumer in the event's transaction like the webhook deliveries,
-- sent by the dispatcher (dispatch.c, mail.c) through SMTP, retried with
-- the same backoff. Threading: every mail of a ticket refers to the ticket's
-- root Message-ID (<t<number>.<ticket id>@domain>, the acknowledgement's);
-- the daemon adds the domain.
CREATE TABLE notification.emails (
	tenant_id       uuid        NOT NULL,
	id              uuid        NOT NULL DEFAULT gen_random_uuid(),
	cause_id        uuid        NOT NULL,
	kind            text        NOT NULL CHECK (kind IN ('acknowledgement', 'reply')),
	to_addr         text        NOT NULL CHECK (char_length(to_addr) BETWEEN 3 AND 320),
	from_name       text        NOT NULL,
	tenant_slug     text        NOT NULL,
	subject         text        NOT NULL,
	body            text        NOT NULL,
	message_key     text        NOT NULL, -- Message-ID before its @domain
	thread_key      text,                 -- the ticket's root Message-ID before its @domain (replies)
	status          text        NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'sent', 'failed')),
	attempts        integer     NOT NULL DEFAULT 0,
	last_error      text,
	next_attempt_at timestamptz,
	lease_until     timestamptz,
	created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT emails_once UNIQUE (tenant_id, cause_id, kind)
);
CREATE INDEX emails_due ON notification.emails (next_attempt_at) WHERE status = 'pending';
ALTER TABLE notification.emails ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification.emails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification.emails
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY dispatcher ON notification.emails TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON notification.emails TO hd_app;

-- Queues one mail of kind to the ticket's requester (when they have an
-- active account with an address), unless the actor is the requester.
CREATE FUNCTION notification.mail_requester(p_tenant uuid, k notification.tickets, p_kind text,
                                            p_cause uuid, p_actor uuid, p_text text,
                                            p_comment uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	to_addr text;
	t       record;
	root    text := format('t%s.%s', k.number, k.id);
BEGIN
	IF k.requester_id IS NULL OR k.requester_id IS NOT DISTINCT FROM p_actor THEN
		RETURN;
	END IF;
	SELECT u.email INTO to_addr FROM auth.users u
		WHERE u.tenant_id = p_tenant AND u.id = k.requester_id AND u.active;
	SELECT x.name, x.slug INTO t FROM auth.tenants x WHERE x.id = p_tenant;
	IF to_addr IS NULL OR t.slug IS NULL THEN
		RETURN;
	END IF;
	INSERT INTO notification.emails (tenant_id, cause_id, kind, to_addr, from_name, tenant_slug,
	                                 subject, body, message_key, thread_key, next_attempt_at)
	VALUES (p_tenant, p_cause, p_kind, to_addr, t.name, t.slug,
	        CASE WHEN p_kind = 'acknowledgement' THEN format('[#%s] %s', k.number, k.subject)
	             ELSE format('Re: [#%s] %s', k.number, k.subject) END,
	        left(p_text, 20000),
	        CASE WHEN p_kind = 'acknowledgement' THEN root ELSE format('t%s.c%s', k.number, p_comment) END,
	        CASE WHEN p_kind = 'acknowledgement' THEN NULL ELSE root END,
	        clock_timestamp())
	ON CONFLICT ON CONSTRAINT emails_once DO NOTHING;
END
$$;

-- The e-mail part of an event: the acknowledgement of a new ticket, and a
-- public comment by anyone but the requester.
CREATE FUNCTION notification.queue_mail(p_tenant uuid, p_type text, p_data json, p_event uuid,
                                        p_actor uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	k notification.tickets;
BEGIN
	IF p_type = 'ticket.created' THEN
		SELECT * INTO k FROM notification.tickets WHERE tenant_id = p_tenant AND id = (p_data ->> 'id')::uuid;
		IF FOUND THEN
			PERFORM notification.mail_requester(p_tenant, k, 'acknowledgement', p_event, NULL,
				format(E'We received your request "%s" (ticket #%s).\nReply to this message to add to it.',
				       k.subject, k.number), NULL);
		END IF;
	ELSIF p_type = 'comment.added' AND (p_data ->> 'public')::boolean THEN
		SELECT * INTO k FROM notification.tickets
			WHERE tenant_id = p_tenant AND id = (p_data ->> 'ticket_id')::uuid;
		IF FOUND THEN
			PERFORM notification.mail_requester(p_tenant, k, 'reply', p_event,
				NULLIF(p_data ->> 'author_id', '')::uuid, p_data ->> 'body',
				(p_data ->> 'id')::uuid);
		END IF;
	END IF;
END
$$;

-- apply_event, with the e-mail part, is in R_events.sql; the mail
-- dispatcher's claim (emails_claim) in R_claims.sql.

-- One sending attempt's outcome, in the mail's tenant.
CREATE FUNCTION notification.email_done(p_tenant uuid, p_id uuid, p_ok boolean, p_error text,
                                        p_delay_ms bigint, p_window_ms bigint) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	e       notification.emails;
	next_at timestamptz := clock_timestamp() + make_interval(secs => p_delay_ms / 1000.0);
	give_up boolean;
BEGIN
	SELECT * INTO e FROM notification.emails x WHERE x.tenant_id = p_tenant AND x.id = p_id FOR UPDATE;
	IF NOT FOUND OR e.status <> 'pending' THEN
		RETURN 'gone';
	END IF;
	give_up := NOT p_ok AND next_at > e.created_at + make_interval(secs => p_window_ms / 1000.0);
	UPDATE notification.emails x SET
		status = CASE WHEN p_ok THEN 'sent' WHEN give_up THEN 'failed' ELSE 'pending' END,
		attempts = x.attempts + 1, last_error = left(p_error, 300),
		next_attempt_at = CASE WHEN p_ok OR give_up THEN NULL ELSE next_at END,
		lease_until = NULL, updated_at = date_trunc('milliseconds', clock_timestamp())
		WHERE x.tenant_id = p_tenant AND x.id = p_id;
	RETURN CASE WHEN p_ok THEN 'sent' WHEN give_up THEN 'failed' ELSE 'retry' END;
END
$$;
