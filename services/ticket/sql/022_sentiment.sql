-- Sentiment of customer text (docs/architecture.md, "Sentiment"): the
-- AFINN-165 score (hd/sentiment.h) of a customer's new ticket (subject and
-- description) and of each of its public comments, computed by hd-ticket
-- and kept on the ticket as the latest value: NULL until a customer wrote
-- something, negative for angry text. Shown in the ticket object as
-- "sentiment" (after "version", also in ticket_json.c) and usable in
-- automation conditions with lt / gt (and eq / ne).
ALTER TABLE ticket.tickets ADD COLUMN sentiment integer;

CREATE OR REPLACE FUNCTION ticket.ticket_json(t ticket.tickets) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
		'id', t.id, 'number', t.number, 'subject', t.subject, 'description', t.description,
		'status', t.status, 'priority', t.priority, 'category', t.category, 'tags', t.tags,
		'requester_id', t.requester_id, 'assignee_id', t.assignee_id,
		'created_at', ticket.ts(t.created_at), 'updated_at', ticket.ts(t.updated_at),
		'first_response_at', ticket.ts(t.first_response_at), 'solved_at', ticket.ts(t.solved_at),
		'merged_into', t.merged_into, 'time_spent_minutes', t.time_spent_minutes,
		'satisfaction', t.satisfaction,
		'sla', json_build_object('first_response_due', ticket.ts(t.first_response_due),
		                         'resolution_due', ticket.ts(t.resolution_due),
		                         'breached', t.sla_breached),
		'version', t.version, 'sentiment', t.sentiment)
$$;

-- One condition {"field","op","value"} against a ticket row; sentiment
-- compares as an integer (a ticket without one matches no comparison but ne).
CREATE OR REPLACE FUNCTION ticket.automation_cond(t ticket.tickets, c jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT COALESCE(CASE
		WHEN c ->> 'field' = 'sentiment' THEN CASE c ->> 'op'
			WHEN 'lt' THEN t.sentiment < (c ->> 'value')::integer
			WHEN 'gt' THEN t.sentiment > (c ->> 'value')::integer
			WHEN 'eq' THEN t.sentiment = (c ->> 'value')::integer
			WHEN 'ne' THEN t.sentiment IS DISTINCT FROM (c ->> 'value')::integer
		END
		WHEN c ->> 'field' = 'tags' THEN CASE c ->> 'op'
			WHEN 'eq' THEN (c ->> 'value') = ANY (t.tags)
			WHEN 'contains' THEN (c ->> 'value') = ANY (t.tags)
			WHEN 'ne' THEN NOT ((c ->> 'value') = ANY (t.tags))
			WHEN 'in' THEN t.tags && ARRAY(SELECT jsonb_array_elements_text(c -> 'value'))
		END
		ELSE (SELECT CASE c ->> 'op'
			WHEN 'eq' THEN v.x = (c ->> 'value')
			WHEN 'ne' THEN v.x IS DISTINCT FROM (c ->> 'value')
			WHEN 'contains' THEN strpos(lower(COALESCE(v.x, '')), lower(c ->> 'value')) > 0
			WHEN 'in' THEN v.x = ANY (ARRAY(SELECT jsonb_array_elements_text(c -> 'value')))
		END FROM (SELECT CASE c ->> 'field' WHEN 'subject' THEN t.subject
			WHEN 'description' THEN t.description WHEN 'priority' THEN t.priority
			WHEN 'category' THEN t.category WHEN 'status' THEN t.status END) v(x))
	END, false)
$$;

-- The filtered list's view (013_list_view.sql) was made with the columns
-- tickets had then: the same view again, now with sentiment at its end.
CREATE OR REPLACE VIEW ticket.tickets_listed AS
	SELECT * FROM ticket.tickets WHERE tenant_id = ticket.current_tenant();
