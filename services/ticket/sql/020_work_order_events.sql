-- hd-ticket consumes hd-field's work order events (docs/architecture.md,
-- "Event consumers"; libs/include/hd/consumer.h): when a work order linked
-- to a ticket is dispatched or completed, the ticket gets an internal
-- comment and a history entry written by the system. The system has no
-- user id: such a comment has author_id NULL and author_role 'system' (the
-- API shows "author_id": null, docs/openapi.yaml), and its history entry
-- actor_id NULL, like the other automatic changes.
ALTER TABLE ticket.comments ALTER COLUMN author_id DROP NOT NULL;
ALTER TABLE ticket.comments ADD CONSTRAINT comments_author_or_system
	CHECK (author_id IS NOT NULL OR author_role = 'system');

-- The effect of one hd-field event on its ticket, run by the consumer in
-- the event's tenant (row-level security applies) and transaction, right
-- after ticket.consume moved the position. Events of other types, work
-- orders without a ticket, and tickets deleted or closed (closed is final)
-- change nothing: the event still counts as applied.
CREATE FUNCTION ticket.apply_field_event(p_tenant uuid, p_type text, p_data json, p_event uuid,
                                         p_seq bigint, p_actor uuid) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	wo    json := p_data -> 'work_order';
	tid   uuid;
	body  text;
	entry jsonb;
	c     ticket.comments;
BEGIN
	IF p_type NOT IN ('workorder.dispatched', 'workorder.completed') THEN
		RETURN;
	END IF;
	tid := NULLIF(wo ->> 'ticket_id', '')::uuid;
	IF tid IS NULL OR NOT EXISTS (SELECT 1 FROM ticket.tickets t WHERE t.tenant_id = p_tenant
	                              AND t.id = tid AND t.deleted_at IS NULL AND t.status <> 'closed') THEN
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
		VALUES (p_tenant, 'comment.added', NULL, ticket.comment_json(c));
END
$$;
