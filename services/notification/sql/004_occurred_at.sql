-- Webhook bodies carry the event's occurred_at, as the event has it on the
-- bus (docs/architecture.md, "Notifications": the delivery body is the
-- event). The consumer passes it as a seventh parameter
-- (hd_consumer_spec.effect_occurred_at); the six-parameter apply_event
-- stays for a daemon of the previous version during a rolling update, and
-- queues bodies without it (occurred_at null).
CREATE FUNCTION notification.queue_deliveries(p_tenant uuid, p_type text, p_data json,
                                              p_event uuid, p_seq bigint, p_actor uuid,
                                              p_occurred_at text)
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

CREATE FUNCTION notification.apply_event(p_tenant uuid, p_type text, p_data json,
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

CREATE OR REPLACE FUNCTION notification.apply_event(p_tenant uuid, p_type text, p_data json,
                                                    p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE sql VOLATILE AS $$
	SELECT notification.apply_event(p_tenant, p_type, p_data, p_event, p_seq, p_actor, NULL::text);
$$;
