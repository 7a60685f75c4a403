-- Mail in (docs/architecture.md, "Mail in"): a tenant's support mailboxes,
-- polled over IMAP by the dispatcher (inbox.c), and every message taken from
-- them. The password is sealed by the daemon (seal.c, HD_MAIL_KEY) before it
-- reaches SQL and never leaves it but to log in.
--
-- Taking a message once: a message is known by (mailbox, UIDVALIDITY, UID)
-- and, when it has one, by its Message-ID in the tenant. Its row is
-- written in the same transaction that moves the mailbox's last_uid past
-- it (mail_taken), so a restart between two messages fetches neither twice
-- nor skips one; applying it (a ticket or a comment, through hd-ticket with
-- the row id as Idempotency-Key) is a second step retried from the row
-- until it is recorded (inbound_done), so a restart mid-apply repeats the
-- call and hd-ticket answers it from its idempotency record.
CREATE TABLE notification.email_channels (
	tenant_id       uuid        NOT NULL,
	id              uuid        NOT NULL,
	imap_url        text        NOT NULL CHECK (char_length(imap_url) BETWEEN 8 AND 2048),
	username        text        NOT NULL CHECK (char_length(username) BETWEEN 1 AND 320),
	password_sealed text        NOT NULL,
	folder          text        NOT NULL DEFAULT 'INBOX' CHECK (char_length(folder) BETWEEN 1 AND 200),
	poll_seconds    integer     NOT NULL DEFAULT 60 CHECK (poll_seconds BETWEEN 10 AND 86400),
	active          boolean     NOT NULL DEFAULT true,
	created_by      uuid        NOT NULL,
	uid_validity    bigint,
	last_uid        bigint      NOT NULL DEFAULT 0,
	next_poll_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
	lease_until     timestamptz,
	last_polled_at  timestamptz,
	last_error      text,
	created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
	version         integer     NOT NULL DEFAULT 1,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX email_channels_due ON notification.email_channels (next_poll_at) WHERE active;

-- status: pending (to apply), applied (ticket_id, comment_id say what it
-- became), ignored (automatic mail, or nothing to take), failed (gave up).
CREATE TABLE notification.inbound_mails (
	tenant_id       uuid        NOT NULL,
	id              uuid        NOT NULL DEFAULT gen_random_uuid(),
	channel_id      uuid        NOT NULL,
	uid_validity    bigint      NOT NULL,
	uid             bigint      NOT NULL,
	message_id      text        NOT NULL DEFAULT '',
	from_addr       text        NOT NULL DEFAULT '',
	from_name       text        NOT NULL DEFAULT '',
	subject         text        NOT NULL DEFAULT '',
	body            text        NOT NULL DEFAULT '',
	thread_number   bigint      NOT NULL DEFAULT 0,
	thread_ticket   uuid,
	status          text        NOT NULL DEFAULT 'pending'
	                CHECK (status IN ('pending', 'applied', 'ignored', 'failed')),
	ticket_id       uuid,
	comment_id      uuid,
	attempts        integer     NOT NULL DEFAULT 0,
	last_error      text,
	next_attempt_at timestamptz,
	lease_until     timestamptz,
	created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT inbound_mails_uid UNIQUE (tenant_id, channel_id, uid_validity, uid),
	FOREIGN KEY (tenant_id, channel_id) REFERENCES notification.email_channels ON DELETE CASCADE
);
CREATE UNIQUE INDEX inbound_mails_message_id ON notification.inbound_mails (tenant_id, message_id)
	WHERE message_id <> '';
CREATE INDEX inbound_mails_due ON notification.inbound_mails (next_attempt_at) WHERE status = 'pending';

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['email_channels', 'inbound_mails'] LOOP
		EXECUTE format('ALTER TABLE notification.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE notification.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON notification.%I'
			' USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)'
			' WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('CREATE POLICY dispatcher ON notification.%I TO CURRENT_USER'
			' USING (true) WITH CHECK (true)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON notification.%I TO hd_app', t);
	END LOOP;
END
$$;

-- A mailbox as the API shows it: never its password.
CREATE FUNCTION notification.channel_json(c notification.email_channels) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', c.id, 'imap_url', c.imap_url, 'username', c.username,
		'folder', c.folder, 'poll_interval_s', c.poll_seconds, 'active', c.active,
		'last_polled_at', notification.ts(c.last_polled_at), 'last_error', c.last_error,
		'created_at', notification.ts(c.created_at), 'updated_at', notification.ts(c.updated_at),
		'version', c.version)
$$;

-- The claims of due mailboxes (channels_claim) and of taken messages
-- (inbound_claim) are in R_claims.sql.

-- A new UIDVALIDITY: every UID of the folder is new, so start from 0
-- (Message-IDs still keep what was taken from being taken again).
CREATE FUNCTION notification.channel_validity(p_tenant uuid, p_channel uuid, p_validity bigint)
RETURNS bigint LANGUAGE sql VOLATILE AS $$
	UPDATE notification.email_channels c
	SET last_uid = CASE WHEN c.uid_validity IS DISTINCT FROM p_validity THEN 0 ELSE c.last_uid END,
	    uid_validity = p_validity
	WHERE c.tenant_id = p_tenant AND c.id = p_channel
	RETURNING c.last_uid
$$;

-- One message taken: its row (unless this UID or Message-ID was taken
-- before) and the mailbox's position past it, in one transaction; the
-- poller's lease on the mailbox is renewed for p_lease_ms.
-- Returns the row's id and status when it is new, nothing otherwise.
CREATE FUNCTION notification.mail_taken(p_tenant uuid, p_channel uuid, p_validity bigint,
                                        p_uid bigint, p_message_id text, p_from text,
                                        p_name text, p_subject text, p_body text,
                                        p_number bigint, p_ticket uuid, p_automatic boolean,
                                        p_lease_ms integer)
RETURNS TABLE (id uuid, status text) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	UPDATE notification.email_channels c SET last_uid = greatest(c.last_uid, p_uid),
		lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0)
		WHERE c.tenant_id = p_tenant AND c.id = p_channel AND c.uid_validity = p_validity;
	IF NOT FOUND THEN
		RETURN; -- the mailbox was deleted or its UIDVALIDITY changed meanwhile
	END IF;
	RETURN QUERY
	INSERT INTO notification.inbound_mails AS m (tenant_id, channel_id, uid_validity, uid,
		message_id, from_addr, from_name, subject, body, thread_number, thread_ticket, status,
		next_attempt_at)
	VALUES (p_tenant, p_channel, p_validity, p_uid, p_message_id, p_from, p_name, p_subject,
		p_body, p_number, p_ticket, CASE WHEN p_automatic THEN 'ignored' ELSE 'pending' END,
		CASE WHEN p_automatic THEN NULL ELSE clock_timestamp() END)
	ON CONFLICT DO NOTHING
	RETURNING m.id, m.status;
END
$$;

-- The end of one poll: its error (NULL when it went well) and the next
-- one (at once when the poll stopped at its batch size with more to take).
CREATE FUNCTION notification.channel_polled(p_tenant uuid, p_channel uuid, p_error text,
                                            p_more boolean)
RETURNS void LANGUAGE sql VOLATILE AS $$
	UPDATE notification.email_channels c
	SET last_polled_at = date_trunc('milliseconds', clock_timestamp()), last_error = left(p_error, 300),
	    next_poll_at = clock_timestamp() + CASE WHEN p_more THEN interval '0'
	                                            ELSE make_interval(secs => c.poll_seconds) END,
	    lease_until = NULL
	WHERE c.tenant_id = p_tenant AND c.id = p_channel
$$;

-- What applying a message needs to know, in its tenant: the sender's
-- account (when they have one) and the ticket the reply names: by id (our
-- root Message-ID names it; hd-ticket itself refuses it to a customer who
-- is not its requester), else by number from the ticket copy. PL/pgSQL, so
-- that auth.users need not exist when this migration runs (the migrations
-- of the daemons may run in any order, e.g. under compose).
CREATE FUNCTION notification.inbound_context(p_tenant uuid, p_from text, p_number bigint,
                                             p_ticket uuid)
RETURNS TABLE (user_id uuid, user_role text, user_active boolean, ticket_id uuid)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY
	SELECT u.id, u.role, u.active,
	       COALESCE(p_ticket, (SELECT t.id FROM notification.tickets t
	                           WHERE t.tenant_id = p_tenant AND p_number > 0 AND t.number = p_number
	                           LIMIT 1))
	FROM (SELECT 1) one
	LEFT JOIN auth.users u ON u.tenant_id = p_tenant AND lower(u.email) = lower(p_from);
END
$$;

-- One apply attempt's outcome, in the message's tenant: p_status applied,
-- ignored or failed, or NULL to try again after p_delay_ms.
CREATE FUNCTION notification.inbound_done(p_tenant uuid, p_id uuid, p_status text, p_ticket uuid,
                                          p_comment uuid, p_error text, p_delay_ms bigint)
RETURNS void LANGUAGE sql VOLATILE AS $$
	UPDATE notification.inbound_mails m
	SET status = COALESCE(p_status, m.status), ticket_id = COALESCE(p_ticket, m.ticket_id),
	    comment_id = COALESCE(p_comment, m.comment_id), attempts = m.attempts + 1,
	    last_error = left(p_error, 300), lease_until = NULL,
	    next_attempt_at = CASE WHEN p_status IS NULL
	                           THEN clock_timestamp() + make_interval(secs => p_delay_ms / 1000.0) END,
	    updated_at = date_trunc('milliseconds', clock_timestamp())
	WHERE m.tenant_id = p_tenant AND m.id = p_id AND m.status = 'pending'
$$;
