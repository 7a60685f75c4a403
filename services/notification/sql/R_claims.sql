-- The claims of hd-notification's queues (docs/architecture.md,
-- "Notifications" and "Mail in"): webhook deliveries and mails to send,
-- mailboxes to poll, taken messages to apply. The dispatcher and mail in
-- (dispatch.c, inbox.c, through nt_claim in claim.c) take due rows of
-- every tenant through one SECURITY DEFINER function per queue (hd_app sees
-- one tenant at a time), which the owner-only "dispatcher" policies let
-- through; each is notification.claim with its queue's due condition,
-- order and columns. Repeatable (docs/adding-a-daemon.md, "Migrations"):
-- the current definitions only.

-- Up to p_limit rows of p_queue (keyed by tenant_id, id; with lease_until)
-- for which p_due holds and whose lease ran out, p_order first, leased for
-- p_lease_ms so that no other replica takes them meanwhile (work that
-- never reports back is taken again after it); returns p_columns of each
-- (expressions over the row q), as records the caller names. The texts are
-- the fixed ones of the <queue>_claim functions below, never input: only
-- the owner runs it, through them.
CREATE OR REPLACE FUNCTION notification.claim(p_queue regclass, p_due text, p_order text,
                                              p_columns text, p_limit integer,
                                              p_lease_ms integer)
RETURNS SETOF record LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'WITH due AS (SELECT q.tenant_id, q.id FROM %1$s q'
		' WHERE (%2$s) AND (q.lease_until IS NULL OR q.lease_until < clock_timestamp())'
		' ORDER BY %3$s LIMIT $1 FOR UPDATE OF q SKIP LOCKED)'
		' UPDATE %1$s q SET lease_until = clock_timestamp() + make_interval(secs => $2 / 1000.0)'
		' FROM due WHERE q.tenant_id = due.tenant_id AND q.id = due.id RETURNING %4$s',
		p_queue, p_due, p_order, p_columns) USING p_limit, p_lease_ms;
END
$$;
REVOKE ALL ON FUNCTION notification.claim(regclass, text, text, text, integer, integer) FROM PUBLIC;

-- Pending deliveries that are due, of active webhooks, with the webhook's
-- URL and secret (a lease lost with an unsynced commit is only retried
-- later: synchronous_commit off).
CREATE OR REPLACE FUNCTION notification.deliveries_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (tenant_id uuid, id uuid, url text, secret text, event_type text, body text,
               attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH quick AS (SELECT set_config('synchronous_commit', 'off', true))
	SELECT c.* FROM quick, notification.claim('notification.deliveries',
		$d$q.status = 'pending' AND q.next_attempt_at <= clock_timestamp()
		   AND EXISTS (SELECT 1 FROM notification.webhooks w
		               WHERE w.tenant_id = q.tenant_id AND w.id = q.webhook_id AND w.active)$d$,
		'q.next_attempt_at',
		$d$q.tenant_id, q.id,
		   (SELECT w.url FROM notification.webhooks w WHERE w.tenant_id = q.tenant_id AND w.id = q.webhook_id),
		   (SELECT w.secret FROM notification.webhooks w WHERE w.tenant_id = q.tenant_id AND w.id = q.webhook_id),
		   q.event_type, q.body, q.attempts$d$,
		p_limit, p_lease_ms)
		AS c(tenant_id uuid, id uuid, url text, secret text, event_type text, body text,
		     attempts integer)
$$;
REVOKE ALL ON FUNCTION notification.deliveries_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notification.deliveries_claim(integer, integer) TO hd_app;

-- Pending mails that are due.
CREATE OR REPLACE FUNCTION notification.emails_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (tenant_id uuid, id uuid, to_addr text, from_name text, tenant_slug text,
               subject text, body text, message_key text, thread_key text, attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM notification.claim('notification.emails',
		$d$q.status = 'pending' AND q.next_attempt_at <= clock_timestamp()$d$,
		'q.next_attempt_at',
		$d$q.tenant_id, q.id, q.to_addr, q.from_name, q.tenant_slug, q.subject, q.body,
		   q.message_key, q.thread_key, q.attempts$d$,
		p_limit, p_lease_ms)
		AS c(tenant_id uuid, id uuid, to_addr text, from_name text, tenant_slug text,
		     subject text, body text, message_key text, thread_key text, attempts integer)
$$;
REVOKE ALL ON FUNCTION notification.emails_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notification.emails_claim(integer, integer) TO hd_app;

-- Active mailboxes due for a poll.
CREATE OR REPLACE FUNCTION notification.channels_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (tenant_id uuid, id uuid, imap_url text, username text, password_sealed text,
               folder text, uid_validity bigint, last_uid bigint, created_by uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM notification.claim('notification.email_channels',
		'q.active AND q.next_poll_at <= clock_timestamp()', 'q.next_poll_at',
		$d$q.tenant_id, q.id, q.imap_url, q.username, q.password_sealed, q.folder,
		   q.uid_validity, q.last_uid, q.created_by$d$,
		p_limit, p_lease_ms)
		AS c(tenant_id uuid, id uuid, imap_url text, username text, password_sealed text,
		     folder text, uid_validity bigint, last_uid bigint, created_by uuid)
$$;
REVOKE ALL ON FUNCTION notification.channels_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notification.channels_claim(integer, integer) TO hd_app;

-- Taken messages to apply, in their mailbox's order, with the mailbox's
-- creator (who acts for the mailbox when an account must be made).
CREATE OR REPLACE FUNCTION notification.inbound_claim(p_limit integer, p_lease_ms integer)
RETURNS TABLE (tenant_id uuid, id uuid, from_addr text, from_name text, subject text, body text,
               thread_number bigint, thread_ticket uuid, created_by uuid, attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM notification.claim('notification.inbound_mails',
		$d$q.status = 'pending' AND q.next_attempt_at <= clock_timestamp()$d$,
		'q.next_attempt_at, q.uid',
		$d$q.tenant_id, q.id, q.from_addr, q.from_name, q.subject, q.body, q.thread_number,
		   q.thread_ticket,
		   (SELECT c.created_by FROM notification.email_channels c
		    WHERE c.tenant_id = q.tenant_id AND c.id = q.channel_id),
		   q.attempts$d$,
		p_limit, p_lease_ms)
		AS c(tenant_id uuid, id uuid, from_addr text, from_name text, subject text, body text,
		     thread_number bigint, thread_ticket uuid, created_by uuid, attempts integer)
$$;
REVOKE ALL ON FUNCTION notification.inbound_claim(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notification.inbound_claim(integer, integer) TO hd_app;
