-- comment.added events carry the ticket's requester_id (proto/events.def),
-- so that GET /v1/stream can give a customer the public comments of their own
-- tickets without asking hd-ticket (docs/architecture.md, "The live stream").
-- The comment as the API returns it, plus requester_id: the data of
-- comment.added.
CREATE FUNCTION ticket.comment_event_json(c ticket.comments, requester uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object('id', c.id, 'ticket_id', c.ticket_id, 'author_id', c.author_id,
	                         'body', c.body, 'public', c.public, 'created_at', ticket.ts(c.created_at),
	                         'requester_id', requester)
$$;

-- The work order consumer's comments (020) carry the same payload:
-- R_field_events.sql.
