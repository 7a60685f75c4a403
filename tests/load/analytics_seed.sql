-- bench-analytics.sh: :n synthetic tickets of tenant :'tenant' as hd-ticket's
-- published events (ticket.outbox rows with pub_seq, as the relay leaves
-- them), four per ticket: ticket.created, the agent's first response
-- (comment.added), the move to solved (ticket.updated) and either an SLA
-- breach or nothing but a priority change (ticket.updated). Creation times
-- spread over the last 365 days. Run as the superuser (past row-level
-- security) while the stack is idle.
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('ticket.outbox_claim'));
WITH base AS (SELECT COALESCE(max(pub_seq), 0) AS b FROM ticket.outbox),
t AS (
	SELECT g, gen_random_uuid() AS id,
	       date_trunc('milliseconds', now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second') AS c,
	       (ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4] AS p
	FROM generate_series(1, :n) g
),
ev AS (
	SELECT t.g, 1 AS k, 'ticket.created' AS type, json_build_object('id', t.id, 'status', 'new',
		'priority', t.p, 'assignee_id', :'agent', 'created_at', t.c, 'updated_at', t.c,
		'first_response_at', NULL, 'solved_at', NULL,
		'sla', json_build_object('first_response_due', t.c + interval '1 hour',
		                         'resolution_due', t.c + interval '1 day', 'breached', false)) AS data
	FROM t
	UNION ALL
	SELECT t.g, 2, 'comment.added', json_build_object('id', gen_random_uuid(), 'ticket_id', t.id,
		'author_id', :'agent', 'body', 'on it', 'public', true,
		'created_at', t.c + (t.g % 120) * interval '1 minute', 'first_response', true)
	FROM t
	UNION ALL
	SELECT t.g, 3, 'ticket.updated', json_build_object('ticket', json_build_object('id', t.id,
		'status', 'solved', 'priority', t.p, 'assignee_id', :'agent', 'created_at', t.c,
		'updated_at', t.c + (t.g % 2000) * interval '1 minute',
		'first_response_at', t.c + (t.g % 120) * interval '1 minute',
		'solved_at', t.c + (t.g % 2000) * interval '1 minute',
		'sla', json_build_object('first_response_due', t.c + interval '1 hour',
		                         'resolution_due', t.c + interval '1 day', 'breached', false)),
		'changes', json_build_object('status', json_build_object('from', 'new', 'to', 'solved')))
	FROM t
	UNION ALL
	SELECT t.g, 4, 'sla.breached', json_build_object('ticket_id', t.id, 'target', 'resolution',
		'due', t.c + interval '1 day')
	FROM t
)
INSERT INTO ticket.outbox (tenant_id, type, actor_id, data, published_at, pub_seq)
SELECT :'tenant', ev.type, :'agent', ev.data, now(),
       base.b + row_number() OVER (ORDER BY ev.g, ev.k)
FROM ev, base;
COMMIT;
