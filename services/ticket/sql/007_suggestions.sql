-- Suggestions for a ticket: the solved or closed tickets of the tenant most
-- similar to it by full-text rank. The query ORs the ticket's own lexemes
-- (already stemmed, so parsed with 'simple'), at most 64 of them.
CREATE AGGREGATE ticket.tsquery_or_agg(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);

-- {"articles": [], "predicted": {"category", "priority", "confidence"}} for
-- ticket p_id (no row when it is not visible). predicted comes from the top
-- 10 similar tickets: the most common category and priority, and the share
-- of those tickets that have both (0 and nulls when there are none).
-- articles stays empty until a knowledge service exists.
CREATE FUNCTION ticket.ticket_suggestions(p_tenant uuid, p_id uuid) RETURNS json
LANGUAGE sql STABLE AS $$
	WITH me AS (
		SELECT t.id, t.search FROM ticket.tickets t
		WHERE t.tenant_id = p_tenant AND t.id = p_id AND t.deleted_at IS NULL
	), q AS (
		SELECT ticket.tsquery_or_agg(plainto_tsquery('simple', l.lexeme)) AS q
		FROM me, LATERAL (SELECT x AS lexeme FROM unnest(tsvector_to_array(me.search)) x
		                  LIMIT 64) l
	), top AS (
		SELECT t.category, t.priority FROM ticket.tickets t, q
		WHERE t.tenant_id = p_tenant AND t.deleted_at IS NULL AND t.id <> p_id
		  AND t.status IN ('solved', 'closed') AND t.search @@ q.q
		ORDER BY ts_rank(t.search, q.q) DESC, t.id LIMIT 10
	), pick AS (
		SELECT (SELECT category FROM top WHERE category IS NOT NULL GROUP BY category
		        ORDER BY count(*) DESC, category LIMIT 1) AS category,
		       (SELECT priority FROM top GROUP BY priority
		        ORDER BY count(*) DESC, priority LIMIT 1) AS priority
	)
	SELECT json_build_object('articles', json_build_array(), 'predicted', json_build_object(
		'category', pick.category, 'priority', pick.priority,
		'confidence', COALESCE((SELECT round(count(*) FILTER (WHERE top.category
		    IS NOT DISTINCT FROM pick.category AND top.priority = pick.priority)::numeric
		    / NULLIF(count(*), 0), 2) FROM top), 0)))
	FROM me, pick
$$;
