-- What hd-notification does with each event it consumes, past the
-- per-event functions of 002_functions.sql and 003_email.sql (webhooks,
-- e-mails; docs/architecture.md, "Notifications"). Repeatable
-- (docs/adding-a-daemon.md, "Migrations"): the current definitions only.

-- Queues one delivery per active webhook that takes the event: those whose
-- events list names its type, and for automation.webhook (an automation's
-- notify_webhook action) the webhooks registered with the action's URL, so
-- that the receiver can check the signature with the secret it was given.
-- The body is the event as it is on the bus, with its occurred_at.
CREATE OR REPLACE FUNCTION notification.queue_deliveries(p_tenant uuid, p_type text, p_data json,
                                                         p_event uuid, p_seq bigint,
                                                         p_actor uuid, p_occurred_at text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	body text := json_build_object('id', p_event, 'seq', p_seq, 'type', p_type,
		'tenant_id', p_tenant, 'occurred_at', p_occurred_at, 'actor', p_actor,
		'data', p_data)::text;
BEGIN
	INSERT INTO notification.deliveries (tenant_id, webhook_id, cause_id, event_type, body, next_attempt_at)
		SELECT p_tenant, w.id, p_event, p_type, body, clock_timestamp() FROM notification.webhooks w
		WHERE w.tenant_id = p_tenant AND w.active
		  AND CASE WHEN p_type = 'automation.webhook' THEN w.url = p_data ->> 'url'
		           ELSE p_type = ANY (w.events) END
		ON CONFLICT ON CONSTRAINT deliveries_once DO NOTHING;
END
$$;

-- The consumer's effect statement for every event of every source
-- (p_occurred_at: hd_consumer_spec.effect_occurred_at): in-app
-- notifications, then mails (after the ticket copy is kept), then webhook
-- deliveries.
CREATE OR REPLACE FUNCTION notification.apply_event(p_tenant uuid, p_type text, p_data json,
                                                    p_event uuid, p_seq bigint, p_actor uuid,
                                                    p_occurred_at text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	CASE
	WHEN p_type LIKE 'ticket.%' THEN
		PERFORM notification.on_ticket(p_tenant, p_type, p_data, p_event, p_actor);
	WHEN p_type = 'comment.added' THEN
		PERFORM notification.on_comment(p_tenant, p_data, p_event, p_actor);
	WHEN p_type = 'sla.breached' THEN
		PERFORM notification.on_sla(p_tenant, p_data, p_event);
	WHEN p_type = 'workorder.dispatched' THEN
		PERFORM notification.on_dispatch(p_tenant, p_data, p_event);
	ELSE NULL;
	END CASE;
	PERFORM notification.queue_mail(p_tenant, p_type, p_data, p_event, p_actor);
	PERFORM notification.queue_deliveries(p_tenant, p_type, p_data, p_event, p_seq, p_actor,
		p_occurred_at);
END
$$;

-- Without occurred_at: a daemon of the previous version during a rolling
-- update (its webhook bodies have occurred_at null).
CREATE OR REPLACE FUNCTION notification.apply_event(p_tenant uuid, p_type text, p_data json,
                                                    p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE sql VOLATILE AS $$
	SELECT notification.apply_event(p_tenant, p_type, p_data, p_event, p_seq, p_actor, NULL::text);
$$;

-- The six-parameter queue_deliveries of 002_functions.sql (bodies without
-- occurred_at) is called by nothing since 004_occurred_at.sql.
DROP FUNCTION IF EXISTS notification.queue_deliveries(uuid, text, json, uuid, bigint, uuid);
