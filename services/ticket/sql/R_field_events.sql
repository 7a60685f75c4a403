-- The effect of one hd-field event on its ticket, current definition (a
-- repeatable file: --migrate applies it whenever this text changes;
-- docs/adding-a-daemon.md, "Migrations"). First written in
-- 020_work_order_events.sql (what it does and why); its comment.added
-- payload carries requester_id since 030_comment_event_requester.sql.
-- Run by hd-ticket's consumer of hd-field (main.c) in the event's tenant and
-- transaction, right after ticket.consume moved the position.
CREATE OR REPLACE FUNCTION ticket.apply_field_event(p_tenant uuid, p_type text, p_data json, p_event uuid,
                                         p_seq bigint, p_actor uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	wo    json := p_data -> 'work_order';
	tid   uuid;
	req   uuid;
	body  text;
	entry jsonb;
	c     ticket.comments;
BEGIN
	IF p_type NOT IN ('workorder.dispatched', 'workorder.completed') THEN
		RETURN;
	END IF;
	tid := NULLIF(wo ->> 'ticket_id', '')::uuid;
	SELECT t.requester_id INTO req FROM ticket.tickets t
		WHERE t.tenant_id = p_tenant AND t.id = tid AND t.deleted_at IS NULL AND t.status <> 'closed';
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF p_type = 'workorder.dispatched' THEN
		body := format('Work order "%s" (%s) was dispatched to technician %s: %s km away, ETA %s min.',
		               wo ->> 'title', wo ->> 'id', p_data ->> 'technician_id',
		               p_data ->> 'distance_km', p_data ->> 'eta_minutes');
		entry := jsonb_build_object('id', wo -> 'id', 'status', 'dispatched',
		                            'technician_id', p_data -> 'technician_id');
	ELSE
		body := format('Work order "%s" (%s) was completed%s.', wo ->> 'title', wo ->> 'id',
		               COALESCE(', signed off by ' || (p_data ->> 'signed_by'), ''));
		entry := jsonb_build_object('id', wo -> 'id', 'status', 'completed',
		                            'signed_by', p_data -> 'signed_by');
	END IF;
	INSERT INTO ticket.comments (tenant_id, id, ticket_id, author_id, author_role, body, public)
		VALUES (p_tenant, ticket.uuid_v7(), tid, NULL, 'system', body, false) RETURNING * INTO c;
	INSERT INTO ticket.history (tenant_id, ticket_id, actor_id, field, old_value, new_value)
		VALUES (p_tenant, tid, NULL, 'work_order', NULL, entry);
	INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)
		VALUES (p_tenant, 'comment.added', NULL, ticket.comment_event_json(c, req));
END
$$;
