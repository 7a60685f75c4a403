-- What hd-notification does with each event of the daemons it consumes
-- (libs/include/hd/consumer.h: run in the event's tenant and in the same
-- transaction as the consumer's position, so each event has its effect
-- exactly once), and the outcome of a webhook delivery (delivery_done).
--
-- People: the ticket's requester and assignee come from this schema's own
-- copy of the tickets (notification.tickets, kept from ticket events). Roles
-- (the tenant's admins, whether a comment's author is a customer) and a
-- technician's user are read under the event's tenant from auth.users and
-- field.technicians, which hd_app may read with row-level security: hd-auth
-- publishes no user events yet (docs/architecture.md, "Notifications").

-- One in-app notification for p_user, unless p_user is NULL or the event's
-- own actor (nobody is told about what they did themselves).
CREATE FUNCTION notification.notify(p_tenant uuid, p_user uuid, p_actor uuid, p_type text,
                                    p_title text, p_body text, p_ticket uuid, p_cause uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF p_user IS NULL OR p_user IS NOT DISTINCT FROM p_actor THEN
		RETURN;
	END IF;
	INSERT INTO notification.notifications (tenant_id, user_id, type, title, body, ticket_id, cause_id)
		VALUES (p_tenant, p_user, p_type, left(p_title, 300), left(COALESCE(p_body, ''), 2000),
		        p_ticket, p_cause)
		ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING;
END
$$;

-- The same for every active admin of the tenant.
CREATE FUNCTION notification.notify_admins(p_tenant uuid, p_type text, p_title text, p_body text,
                                           p_ticket uuid, p_cause uuid, p_skip uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	admin uuid;
BEGIN
	FOR admin IN SELECT u.id FROM auth.users u
	             WHERE u.tenant_id = p_tenant AND u.role = 'admin' AND u.active LOOP
		IF admin IS DISTINCT FROM p_skip THEN
			PERFORM notification.notify(p_tenant, admin, NULL, p_type, p_title, p_body, p_ticket, p_cause);
		END IF;
	END LOOP;
END
$$;

-- Keeps notification.tickets from a ticket's JSON; returns the assignee the
-- ticket had before (NULL for a new one).
CREATE FUNCTION notification.ticket_keep(p_tenant uuid, t json) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	before uuid;
BEGIN
	SELECT k.assignee_id INTO before FROM notification.tickets k
		WHERE k.tenant_id = p_tenant AND k.id = (t ->> 'id')::uuid;
	INSERT INTO notification.tickets AS k (tenant_id, id, number, subject, requester_id, assignee_id)
		VALUES (p_tenant, (t ->> 'id')::uuid, (t ->> 'number')::bigint, COALESCE(t ->> 'subject', ''),
		        NULLIF(t ->> 'requester_id', '')::uuid, NULLIF(t ->> 'assignee_id', '')::uuid)
		ON CONFLICT (tenant_id, id) DO UPDATE SET number = EXCLUDED.number,
			subject = EXCLUDED.subject, requester_id = EXCLUDED.requester_id,
			assignee_id = EXCLUDED.assignee_id;
	RETURN before;
END
$$;

-- "Ticket #12: Printer on fire", the start of every ticket notification.
CREATE FUNCTION notification.ticket_label(k notification.tickets) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT format('Ticket #%s: %s', COALESCE(k.number::text, '?'), left(k.subject, 200))
$$;

-- ticket.created / ticket.updated / ticket.merged: the assignee is told
-- when the ticket gets one it did not have.
CREATE FUNCTION notification.on_ticket(p_tenant uuid, p_type text, p_data json, p_event uuid,
                                       p_actor uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	t      json := CASE WHEN p_type = 'ticket.created' THEN p_data ELSE p_data -> 'ticket' END;
	before uuid;
	k      notification.tickets;
BEGIN
	IF p_type = 'ticket.deleted' THEN
		DELETE FROM notification.tickets WHERE tenant_id = p_tenant AND id = (p_data ->> 'id')::uuid;
		RETURN;
	END IF;
	IF t IS NULL OR t ->> 'id' IS NULL THEN
		RETURN;
	END IF;
	before := notification.ticket_keep(p_tenant, t);
	SELECT * INTO k FROM notification.tickets WHERE tenant_id = p_tenant AND id = (t ->> 'id')::uuid;
	IF k.assignee_id IS NOT NULL AND k.assignee_id IS DISTINCT FROM before THEN
		PERFORM notification.notify(p_tenant, k.assignee_id, p_actor, 'ticket_assigned',
			notification.ticket_label(k), 'This ticket was assigned to you.', k.id, p_event);
	END IF;
END
$$;

-- comment.added: a public comment by someone else reaches the requester; a
-- comment by a customer (or the requester) reaches the assignee.
CREATE FUNCTION notification.on_comment(p_tenant uuid, p_data json, p_event uuid, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	k        notification.tickets;
	author   uuid := NULLIF(p_data ->> 'author_id', '')::uuid;
	customer boolean;
	excerpt  text := left(p_data ->> 'body', 500);
BEGIN
	SELECT * INTO k FROM notification.tickets
		WHERE tenant_id = p_tenant AND id = (p_data ->> 'ticket_id')::uuid;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF (p_data ->> 'public')::boolean AND author IS DISTINCT FROM k.requester_id THEN
		PERFORM notification.notify(p_tenant, k.requester_id, author, 'public_reply',
			notification.ticket_label(k), excerpt, k.id, p_event);
	END IF;
	SELECT u.role = 'customer' INTO customer FROM auth.users u
		WHERE u.tenant_id = p_tenant AND u.id = author;
	IF author IS NOT NULL AND (COALESCE(customer, false) OR author = k.requester_id) THEN
		PERFORM notification.notify(p_tenant, k.assignee_id, author, 'customer_reply',
			notification.ticket_label(k), excerpt, k.id, p_event);
	END IF;
END
$$;

-- sla.breached: the assignee and the tenant's admins.
CREATE FUNCTION notification.on_sla(p_tenant uuid, p_data json, p_event uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	k    notification.tickets;
	tid  uuid := (p_data ->> 'ticket_id')::uuid;
	what text := format('The %s target was missed (due %s).', p_data ->> 'target', p_data ->> 'due');
BEGIN
	SELECT * INTO k FROM notification.tickets WHERE tenant_id = p_tenant AND id = tid;
	IF NOT FOUND THEN
		k.id := tid;
	END IF;
	PERFORM notification.notify(p_tenant, k.assignee_id, NULL, 'sla_breached',
		'SLA breached: ' || notification.ticket_label(k), what, tid, p_event);
	PERFORM notification.notify_admins(p_tenant, 'sla_breached',
		'SLA breached: ' || notification.ticket_label(k), what, tid, p_event, k.assignee_id);
END
$$;

-- workorder.dispatched: the technician's user.
CREATE FUNCTION notification.on_dispatch(p_tenant uuid, p_data json, p_event uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	wo   json := p_data -> 'work_order';
	tech uuid;
BEGIN
	SELECT t.user_id INTO tech FROM field.technicians t
		WHERE t.tenant_id = p_tenant AND t.id = (p_data ->> 'technician_id')::uuid;
	PERFORM notification.notify(p_tenant, tech, NULL, 'work_order_dispatched',
		format('Work order dispatched to you: %s', left(wo ->> 'title', 200)),
		format('%s km away, ETA %s min.', p_data ->> 'distance_km', p_data ->> 'eta_minutes'),
		NULLIF(wo ->> 'ticket_id', '')::uuid, p_event);
END
$$;

-- Queuing webhook deliveries (queue_deliveries), the consumer's effect
-- statement (apply_event) and the dispatcher's claim (deliveries_claim)
-- are in R_events.sql and R_claims.sql.

-- One attempt's outcome, in the delivery's tenant: success resets the
-- webhook's run of failures; a failure counts one more, schedules the next
-- attempt p_delay_ms later (the daemon's backoff with jitter) unless that
-- falls past p_window_ms after the delivery was made (then it failed for
-- good), and at p_max_failures in a row turns the webhook inactive and tells
-- the tenant's admins. Returns succeeded, retry, failed or disabled ("gone"
-- when the delivery is no longer pending: deleted with its webhook).
CREATE FUNCTION notification.delivery_done(p_tenant uuid, p_id uuid, p_ok boolean, p_code integer,
                                           p_error text, p_delay_ms bigint, p_window_ms bigint,
                                           p_max_failures integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	d       notification.deliveries;
	w       notification.webhooks;
	give_up boolean;
	next_at timestamptz := clock_timestamp() + make_interval(secs => p_delay_ms / 1000.0);
BEGIN
	-- an outcome lost in a crash only means one more attempt after the lease
	-- (receivers see a delivery id again: at least once), so no WAL flush wait
	PERFORM set_config('synchronous_commit', 'off', true);
	SELECT * INTO d FROM notification.deliveries x WHERE x.tenant_id = p_tenant AND x.id = p_id FOR UPDATE;
	IF NOT FOUND OR d.status <> 'pending' THEN
		RETURN 'gone';
	END IF;
	give_up := NOT p_ok AND next_at > d.created_at + make_interval(secs => p_window_ms / 1000.0);
	UPDATE notification.deliveries x SET
		status = CASE WHEN p_ok THEN 'succeeded' WHEN give_up THEN 'failed' ELSE 'pending' END,
		attempts = x.attempts + 1, last_status_code = p_code, last_error = left(p_error, 300),
		next_attempt_at = CASE WHEN p_ok OR give_up THEN NULL ELSE next_at END,
		lease_until = NULL, updated_at = date_trunc('milliseconds', clock_timestamp())
		WHERE x.tenant_id = p_tenant AND x.id = p_id;
	IF p_ok THEN
		-- only a run to end: concurrent successes do not queue on the webhook's row
		UPDATE notification.webhooks x SET failures = 0
			WHERE x.tenant_id = p_tenant AND x.id = d.webhook_id AND x.failures <> 0;
		RETURN 'succeeded';
	END IF;
	UPDATE notification.webhooks x SET failures = x.failures + 1
		WHERE x.tenant_id = p_tenant AND x.id = d.webhook_id RETURNING * INTO w;
	IF w.active AND w.failures >= p_max_failures THEN
		UPDATE notification.webhooks x SET active = false, disabled_at = clock_timestamp(),
			updated_at = date_trunc('milliseconds', clock_timestamp()), version = x.version + 1
			WHERE x.tenant_id = p_tenant AND x.id = w.id;
		PERFORM notification.notify_admins(p_tenant, 'webhook_disabled', 'Webhook disabled',
			format('The webhook to %s was turned off after %s failed deliveries in a row.',
			       left(w.url, 300), w.failures), NULL, p_id, NULL);
		RETURN 'disabled';
	END IF;
	RETURN CASE WHEN give_up THEN 'failed' ELSE 'retry' END;
END
$$;

-- The API's shapes (docs/openapi.yaml). A webhook's secret is never in them
-- but once, in the reply to its creation (webhooks.c).
CREATE FUNCTION notification.notification_json(n notification.notifications) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', n.id, 'type', n.type, 'title', n.title, 'body', n.body,
		'ticket_id', n.ticket_id, 'read_at', notification.ts(n.read_at),
		'created_at', notification.ts(n.created_at))
$$;

CREATE FUNCTION notification.webhook_json(w notification.webhooks) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', w.id, 'url', w.url, 'events', w.events, 'active', w.active,
		'consecutive_failures', w.failures, 'disabled_at', notification.ts(w.disabled_at),
		'created_at', notification.ts(w.created_at), 'updated_at', notification.ts(w.updated_at),
		'version', w.version)
$$;

CREATE FUNCTION notification.delivery_json(d notification.deliveries) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', d.id, 'event_type', d.event_type, 'status', d.status,
		'attempts', d.attempts, 'last_status_code', d.last_status_code,
		'last_error', d.last_error, 'next_attempt_at', notification.ts(d.next_attempt_at),
		'created_at', notification.ts(d.created_at), 'updated_at', notification.ts(d.updated_at))
$$;
