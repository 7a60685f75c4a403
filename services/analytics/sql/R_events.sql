-- Repeatable (docs/adding-a-daemon.md): the current text of the functions
-- that apply events (docs/architecture.md "Analytics", Set-based
-- application). The fact and rollup tables and analytics.ticket_fact are
-- 001_init.sql's and 004_rollups.sql's; the helpers R_common.sql's.

-- Adds hour rows (any order, several per hour) to analytics.hours, to
-- their hour's and their day's row, in key order (two writers lock rows in
-- the same order).
CREATE OR REPLACE FUNCTION analytics.hours_add(p_rows analytics.hours[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF COALESCE(cardinality(p_rows), 0) = 0 THEN -- nothing: no statement to start
		RETURN;
	END IF;
	INSERT INTO analytics.hours AS h
	SELECT r.tenant_id, s.start, sum(r.created), sum(r.s_new), sum(r.s_open), sum(r.s_pending),
		sum(r.s_on_hold), sum(r.s_solved), sum(r.s_closed), sum(r.p_low), sum(r.p_normal),
		sum(r.p_high), sum(r.p_urgent), sum(r.fr_met), sum(r.fr_decided), sum(r.res_met),
		sum(r.res_decided), sum(r.solved), sum(r.breaches), sum(r.wo_created), sum(r.wo_completed),
		s.span
	FROM unnest(p_rows) r
	CROSS JOIN LATERAL (VALUES (1::smallint, r.hour), (24::smallint, analytics.utc_day(r.hour))) s(span, start)
	WHERE r.hour IS NOT NULL GROUP BY r.tenant_id, s.span, s.start
	ORDER BY r.tenant_id, s.span, s.start
	ON CONFLICT (tenant_id, span, hour) DO UPDATE SET created = h.created + EXCLUDED.created,
		s_new = h.s_new + EXCLUDED.s_new, s_open = h.s_open + EXCLUDED.s_open,
		s_pending = h.s_pending + EXCLUDED.s_pending, s_on_hold = h.s_on_hold + EXCLUDED.s_on_hold,
		s_solved = h.s_solved + EXCLUDED.s_solved, s_closed = h.s_closed + EXCLUDED.s_closed,
		p_low = h.p_low + EXCLUDED.p_low, p_normal = h.p_normal + EXCLUDED.p_normal,
		p_high = h.p_high + EXCLUDED.p_high, p_urgent = h.p_urgent + EXCLUDED.p_urgent,
		fr_met = h.fr_met + EXCLUDED.fr_met, fr_decided = h.fr_decided + EXCLUDED.fr_decided,
		res_met = h.res_met + EXCLUDED.res_met, res_decided = h.res_decided + EXCLUDED.res_decided,
		solved = h.solved + EXCLUDED.solved, breaches = h.breaches + EXCLUDED.breaches,
		wo_created = h.wo_created + EXCLUDED.wo_created,
		wo_completed = h.wo_completed + EXCLUDED.wo_completed;
END
$$;

-- Adds rows to analytics.minutes_days (n may be negative), in key order.
CREATE OR REPLACE FUNCTION analytics.minutes_add(p_rows analytics.minutes_days[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF COALESCE(cardinality(p_rows), 0) = 0 THEN
		RETURN;
	END IF;
	INSERT INTO analytics.minutes_days AS m
	SELECT r.tenant_id, r.kind, r.day, r.bucket, sum(r.n) FROM unnest(p_rows) r
	GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (tenant_id, kind, day, bucket) DO UPDATE SET n = m.n + EXCLUDED.n;
END
$$;

-- ---- applying events, set-based ----

-- p_events (a JSON array of events, {seq, type, tenant_id, actor, data}) as
-- facts, in the array's order; events that tell none have no ticket_id.
CREATE OR REPLACE FUNCTION analytics.ticket_facts_read(p_events jsonb) RETURNS analytics.ticket_fact[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT COALESCE(array_agg(ROW(e.seq, e.tenant_id,
		CASE WHEN e.type IN ('ticket.created', 'ticket.deleted') THEN (e.d ->> 'id')::uuid
		     WHEN e.type = 'ticket.updated' THEN (e.o ->> 'id')::uuid
		     WHEN e.type = 'sla.breached' OR e.fr THEN (e.d ->> 'ticket_id')::uuid END,
		e.o IS NOT NULL, (e.o ->> 'created_at')::timestamptz, e.o ->> 'status', e.o ->> 'priority',
		(e.o ->> 'assignee_id')::uuid, (e.o ->> 'first_response_at')::timestamptz,
		(e.o -> 'sla' ->> 'first_response_due')::timestamptz,
		(e.o -> 'sla' ->> 'resolution_due')::timestamptz, (e.o ->> 'solved_at')::timestamptz,
		CASE WHEN e.type = 'ticket.created' AND e.o ->> 'status' = 'solved'
		     THEN (e.o ->> 'solved_at')::timestamptz -- an automation solved it at creation
		     WHEN e.type = 'ticket.updated' AND e.d -> 'changes' -> 'status' ->> 'to' = 'solved'
		     THEN (e.o ->> 'updated_at')::timestamptz END,
		CASE WHEN e.type = 'ticket.updated' THEN e.actor END,
		CASE WHEN e.type = 'ticket.updated' AND e.d -> 'changes' -> 'satisfaction' ->> 'to' IS NOT NULL
		     THEN (e.o ->> 'updated_at')::timestamptz END,
		(e.o ->> 'assignee_id')::uuid,
		e.d -> 'changes' -> 'satisfaction' ->> 'to' = 'good',
		CASE WHEN e.fr THEN (e.d ->> 'created_at')::timestamptz END,
		CASE WHEN e.fr THEN (e.d ->> 'author_id')::uuid END,
		CASE WHEN e.type = 'sla.breached' THEN e.d ->> 'target' END,
		CASE WHEN e.type = 'sla.breached' THEN (e.d ->> 'due')::timestamptz END,
		e.type = 'ticket.deleted')::analytics.ticket_fact ORDER BY e.ord), '{}')
	FROM (SELECT j.ord, (j.v ->> 'seq')::bigint AS seq, (j.v ->> 'tenant_id')::uuid AS tenant_id,
	             j.v ->> 'type' AS type, (j.v ->> 'actor')::uuid AS actor, j.v -> 'data' AS d,
	             CASE j.v ->> 'type' WHEN 'ticket.created' THEN j.v -> 'data'
	                                 WHEN 'ticket.updated' THEN j.v -> 'data' -> 'ticket' END AS o,
	             j.v ->> 'type' = 'comment.added'
	             AND COALESCE((j.v -> 'data' ->> 'first_response')::boolean, false) AS fr
	      FROM jsonb_array_elements(p_events) WITH ORDINALITY j(v, ord)) e);
END
$$;

-- What stored facts add to the rollups (p_sign 1) or take away from them
-- (p_sign -1): solves and breaches in their hours, first responses and
-- solves in their days' histograms. The one text of a fact's share, for
-- facts written and facts deleted alike.
CREATE OR REPLACE FUNCTION analytics.facts_share(p_tenant uuid, p_sign integer,
	p_fr analytics.first_responses[], p_so analytics.solves[], p_br analytics.breaches[],
	OUT o_hours analytics.hours[], OUT o_minutes analytics.minutes_days[])
LANGUAGE sql IMMUTABLE AS $$
	SELECT (SELECT array_agg(h) FROM (
	            SELECT analytics.fact_hour(p_tenant, so.at, p_sign, 0, 0, 0) AS h FROM unnest(p_so) so
	            UNION ALL
	            SELECT analytics.fact_hour(p_tenant, br.due, 0, p_sign, 0, 0) FROM unnest(p_br) br) x),
	       (SELECT array_agg(m) FROM (
	            SELECT analytics.minutes_row(p_tenant, 1::smallint, fr.at, fr.bucket, p_sign) AS m
	            FROM unnest(p_fr) fr
	            UNION ALL
	            SELECT analytics.minutes_row(p_tenant, 2::smallint, so.at, so.bucket, p_sign)
	            FROM unnest(p_so) so) y)
$$;

-- A ticket deleted in the page leaves every figure: its facts from before
-- the page go. Returns what they added to the rollups, taken away (the
-- page writes the rollups once, analytics.ticket_page_apply).
CREATE OR REPLACE FUNCTION analytics.ticket_deletes_write(p_tenant uuid, p_ids uuid[],
	OUT o_hours analytics.hours[], OUT o_minutes analytics.minutes_days[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_tickets analytics.hours[];
	v_fr analytics.first_responses[];
	v_so analytics.solves[];
	v_br analytics.breaches[];
BEGIN
	WITH fr AS (DELETE FROM analytics.first_responses x WHERE x.tenant_id = p_tenant
	            AND x.ticket_id = ANY (p_ids) RETURNING x.*),
	so AS (DELETE FROM analytics.solves x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.*),
	br AS (DELETE FROM analytics.breaches x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.*),
	ra AS (DELETE FROM analytics.ratings x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING 1),
	tk AS (DELETE FROM analytics.tickets x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.*)
	SELECT (SELECT array_agg(analytics.ticket_hour(ROW(tk.*)::analytics.tickets, -1)) FROM tk),
	       (SELECT array_agg(ROW(fr.*)::analytics.first_responses) FROM fr),
	       (SELECT array_agg(ROW(so.*)::analytics.solves) FROM so),
	       (SELECT array_agg(ROW(br.*)::analytics.breaches) FROM br)
	INTO v_tickets, v_fr, v_so, v_br;
	SELECT s.o_hours, s.o_minutes INTO o_hours, o_minutes
	FROM analytics.facts_share(p_tenant, -1, v_fr, v_so, v_br) s;
	o_hours := v_tickets || o_hours;
END
$$;

-- Each ticket the page tells about, once, in its state after the page's
-- last word on it: the last ticket object, unless a later first response
-- set first_response_at; breach flags only ever turn on. Returns the
-- rollup rows: the old rows' share taken away, the new ones' added.
CREATE OR REPLACE FUNCTION analytics.ticket_states_write(p_tenant uuid, p_live analytics.ticket_fact[])
RETURNS analytics.hours[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_hours analytics.hours[];
BEGIN
	WITH obj AS (SELECT DISTINCT ON (f.ticket_id) f.* FROM unnest(p_live) f WHERE f.obj
	             ORDER BY f.ticket_id, f.seq DESC),
	fr AS (SELECT DISTINCT ON (f.ticket_id) f.ticket_id, f.seq, f.fr_at FROM unnest(p_live) f
	       WHERE f.fr_at IS NOT NULL ORDER BY f.ticket_id, f.seq DESC),
	br AS (SELECT f.ticket_id, bool_or(f.target = 'first_response') AS fr_b,
	              bool_or(f.target = 'resolution') AS res_b
	       FROM unnest(p_live) f WHERE f.target IS NOT NULL GROUP BY f.ticket_id),
	ids AS (SELECT ticket_id FROM obj UNION SELECT ticket_id FROM fr UNION SELECT ticket_id FROM br),
	old AS (SELECT x.* FROM analytics.tickets x JOIN ids ON ids.ticket_id = x.ticket_id
	        WHERE x.tenant_id = p_tenant),
	up AS (
		INSERT INTO analytics.tickets AS x (tenant_id, ticket_id, created_at, status, priority,
			assignee_id, first_response_at, first_response_due, resolution_due, solved_at,
			fr_breached, res_breached)
		SELECT p_tenant, ids.ticket_id, COALESCE(o.created_at, x0.created_at),
			CASE WHEN o.obj THEN o.status ELSE x0.status END,
			CASE WHEN o.obj THEN o.priority ELSE x0.priority END,
			CASE WHEN o.obj THEN o.assignee_id ELSE x0.assignee_id END,
			CASE WHEN fr.seq > COALESCE(o.seq, 0) THEN fr.fr_at
			     WHEN o.obj THEN o.first_response_at ELSE x0.first_response_at END,
			CASE WHEN o.obj THEN o.first_response_due ELSE x0.first_response_due END,
			CASE WHEN o.obj THEN o.resolution_due ELSE x0.resolution_due END,
			CASE WHEN o.obj THEN o.solved_at ELSE x0.solved_at END,
			COALESCE(x0.fr_breached, false) OR COALESCE(br.fr_b, false),
			COALESCE(x0.res_breached, false) OR COALESCE(br.res_b, false)
		FROM ids LEFT JOIN obj o ON o.ticket_id = ids.ticket_id
		LEFT JOIN fr ON fr.ticket_id = ids.ticket_id LEFT JOIN br ON br.ticket_id = ids.ticket_id
		LEFT JOIN old x0 ON x0.ticket_id = ids.ticket_id
		WHERE o.obj OR x0.ticket_id IS NOT NULL -- no ticket, no state (as an UPDATE of none)
		ORDER BY ids.ticket_id
		ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET status = EXCLUDED.status,
			priority = EXCLUDED.priority, assignee_id = EXCLUDED.assignee_id,
			first_response_at = EXCLUDED.first_response_at,
			first_response_due = EXCLUDED.first_response_due,
			resolution_due = EXCLUDED.resolution_due, solved_at = EXCLUDED.solved_at,
			fr_breached = EXCLUDED.fr_breached, res_breached = EXCLUDED.res_breached
		RETURNING x.*)
	SELECT array_agg(h) INTO v_hours FROM (
		SELECT analytics.ticket_hour(ROW(up.*)::analytics.tickets, 1) AS h FROM up
		UNION ALL SELECT analytics.ticket_hour(ROW(old.*)::analytics.tickets, -1) FROM old) x;
	RETURN v_hours;
END
$$;

-- The page's new facts: first responses, solves, breaches, ratings (each
-- kept once: the first event that told it wins, as ON CONFLICT DO NOTHING
-- one event at a time would). Returns what they add to the rollups.
CREATE OR REPLACE FUNCTION analytics.ticket_facts_write(p_tenant uuid, p_live analytics.ticket_fact[],
	OUT o_hours analytics.hours[], OUT o_minutes analytics.minutes_days[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_fr analytics.first_responses[];
	v_so analytics.solves[];
	v_br analytics.breaches[];
BEGIN
	WITH fr AS (
		INSERT INTO analytics.first_responses (tenant_id, ticket_id, at, agent_id, minutes)
		SELECT DISTINCT ON (f.ticket_id) p_tenant, f.ticket_id, f.fr_at, f.fr_agent,
		       analytics.minutes(x.created_at, f.fr_at)
		FROM unnest(p_live) f JOIN analytics.tickets x ON x.tenant_id = p_tenant
		     AND x.ticket_id = f.ticket_id
		WHERE f.fr_at IS NOT NULL ORDER BY f.ticket_id, f.seq
		ON CONFLICT DO NOTHING RETURNING *),
	so AS (
		INSERT INTO analytics.solves (tenant_id, ticket_id, at, agent_id, minutes)
		SELECT DISTINCT ON (f.ticket_id, f.solve_at) p_tenant, f.ticket_id, f.solve_at,
		       f.solve_agent, analytics.minutes(f.created_at, f.solve_at)
		FROM unnest(p_live) f WHERE f.solve_at IS NOT NULL ORDER BY f.ticket_id, f.solve_at, f.seq
		ON CONFLICT DO NOTHING RETURNING *),
	br AS (
		INSERT INTO analytics.breaches (tenant_id, ticket_id, target, due)
		SELECT DISTINCT ON (f.ticket_id, f.target) p_tenant, f.ticket_id, f.target, f.due
		FROM unnest(p_live) f WHERE f.target IS NOT NULL ORDER BY f.ticket_id, f.target, f.seq
		ON CONFLICT DO NOTHING RETURNING *),
	ra AS (
		INSERT INTO analytics.ratings (tenant_id, ticket_id, at, agent_id, good)
		SELECT DISTINCT ON (f.ticket_id) p_tenant, f.ticket_id, f.rating_at, f.rating_agent,
		       f.rating_good
		FROM unnest(p_live) f WHERE f.rating_at IS NOT NULL ORDER BY f.ticket_id, f.seq
		ON CONFLICT DO NOTHING RETURNING 1)
	SELECT (SELECT array_agg(ROW(fr.*)::analytics.first_responses) FROM fr),
	       (SELECT array_agg(ROW(so.*)::analytics.solves) FROM so),
	       (SELECT array_agg(ROW(br.*)::analytics.breaches) FROM br)
	INTO v_fr, v_so, v_br; -- ra's insert runs unread, as every data-modifying WITH does
	SELECT s.o_hours, s.o_minutes INTO o_hours, o_minutes
	FROM analytics.facts_share(p_tenant, 1, v_fr, v_so, v_br) s;
END
$$;

-- The effect of a page of hd-ticket events (read by ticket_facts_read) on
-- one tenant, app.tenant_id being that tenant: as if applied one by one.
-- An event before a deletion of its ticket in the same page leaves nothing.
-- The rollups take the page's rows (deletions', states', facts') in one
-- upsert each, summed per key (docs/architecture.md "Analytics").
CREATE OR REPLACE FUNCTION analytics.ticket_page_apply(p_tenant uuid, p_facts analytics.ticket_fact[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_gone uuid[];
	v_live analytics.ticket_fact[];
	v_hours analytics.hours[];
	v_minutes analytics.minutes_days[];
	v_more_hours analytics.hours[];
	v_more_minutes analytics.minutes_days[];
BEGIN
	WITH e AS (SELECT f.* FROM unnest(p_facts) f
	           WHERE f.tenant_id = p_tenant AND f.ticket_id IS NOT NULL),
	gone AS (SELECT e.ticket_id, max(e.seq) AS seq FROM e WHERE e.deleted GROUP BY 1)
	SELECT (SELECT array_agg(gone.ticket_id) FROM gone),
	       (SELECT array_agg(ROW(e.*)::analytics.ticket_fact ORDER BY e.seq)
	        FROM e LEFT JOIN gone ON gone.ticket_id = e.ticket_id
	        WHERE NOT e.deleted AND (gone.seq IS NULL OR e.seq > gone.seq))
	INTO v_gone, v_live;
	IF v_gone IS NOT NULL THEN
		SELECT d.o_hours, d.o_minutes INTO v_hours, v_minutes
		FROM analytics.ticket_deletes_write(p_tenant, v_gone) d;
	END IF;
	IF v_live IS NOT NULL THEN
		v_hours := v_hours || analytics.ticket_states_write(p_tenant, v_live);
		SELECT f.o_hours, f.o_minutes INTO v_more_hours, v_more_minutes
		FROM analytics.ticket_facts_write(p_tenant, v_live) f;
		v_hours := v_hours || v_more_hours;
		v_minutes := v_minutes || v_more_minutes;
	END IF;
	PERFORM analytics.hours_add(v_hours);
	PERFORM analytics.minutes_add(v_minutes);
END
$$;

-- The effect of a page of hd-field events on one tenant: each work order
-- once, as its last event tells it (created_at as first stored).
CREATE OR REPLACE FUNCTION analytics.field_page_apply(p_tenant uuid, p_events jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_hours analytics.hours[];
BEGIN
	WITH w AS (SELECT DISTINCT ON (e.id) e.* FROM (
	               SELECT (j.v ->> 'seq')::bigint AS seq, (j.v -> 'data' -> 'work_order' ->> 'id')::uuid AS id,
	                      (j.v -> 'data' -> 'work_order' ->> 'created_at')::timestamptz AS created_at,
	                      (j.v -> 'data' -> 'work_order' ->> 'completed_at')::timestamptz AS completed_at
	               FROM jsonb_array_elements(p_events) j(v)
	               WHERE (j.v ->> 'tenant_id')::uuid = p_tenant
	               AND j.v ->> 'type' IN ('workorder.created', 'workorder.completed')) e
	           ORDER BY e.id, e.seq DESC),
	old AS (SELECT x.* FROM analytics.work_orders x JOIN w ON w.id = x.work_order_id
	        WHERE x.tenant_id = p_tenant),
	up AS (INSERT INTO analytics.work_orders AS x (tenant_id, work_order_id, created_at, completed_at)
	       SELECT p_tenant, w.id, w.created_at, w.completed_at FROM w ORDER BY w.id
	       ON CONFLICT (tenant_id, work_order_id) DO UPDATE SET completed_at = EXCLUDED.completed_at
	       RETURNING x.*)
	SELECT array_agg(h) INTO v_hours FROM (
		SELECT analytics.fact_hour(p_tenant, up.created_at, 0, 0, 1, 0) AS h FROM up
		UNION ALL SELECT analytics.fact_hour(p_tenant, up.completed_at, 0, 0, 0, 1) FROM up
		WHERE up.completed_at IS NOT NULL
		UNION ALL SELECT analytics.fact_hour(p_tenant, old.created_at, 0, 0, -1, 0) FROM old
		UNION ALL SELECT analytics.fact_hour(p_tenant, old.completed_at, 0, 0, 0, -1) FROM old
		WHERE old.completed_at IS NOT NULL) x;
	PERFORM analytics.hours_add(v_hours);
END
$$;

-- A page of one source, each tenant in turn (app.tenant_id set to it, so
-- row-level security applies to every statement); no position moved.
CREATE OR REPLACE FUNCTION analytics.page_apply(p_source text, p_events jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_facts analytics.ticket_fact[];
	v_tenant uuid;
BEGIN
	IF p_source = 'ticket' THEN
		v_facts := analytics.ticket_facts_read(p_events);
	END IF;
	FOR v_tenant IN SELECT DISTINCT (j.v ->> 'tenant_id')::uuid FROM jsonb_array_elements(p_events) j(v) LOOP
		PERFORM set_config('app.tenant_id', v_tenant::text, true);
		IF p_source = 'ticket' THEN
			PERFORM analytics.ticket_page_apply(v_tenant, v_facts);
		ELSE
			PERFORM analytics.field_page_apply(v_tenant, p_events);
		END IF;
	END LOOP;
END
$$;

-- One event (the libs consumer's effect statement for an event from the
-- bus; hd/consumer.h): a page of one.
CREATE OR REPLACE FUNCTION analytics.apply_ticket_event(p_tenant uuid, p_type text, p_data json,
                                                        p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE SET jit = off AS $$
BEGIN
	PERFORM analytics.page_apply('ticket', jsonb_build_array(jsonb_build_object('seq', p_seq,
		'type', p_type, 'tenant_id', p_tenant, 'id', p_event, 'actor', p_actor, 'data', p_data)));
END
$$;
CREATE OR REPLACE FUNCTION analytics.apply_field_event(p_tenant uuid, p_type text, p_data json,
                                                       p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE SET jit = off AS $$
BEGIN
	PERFORM analytics.page_apply('field', jsonb_build_array(jsonb_build_object('seq', p_seq,
		'type', p_type, 'tenant_id', p_tenant, 'id', p_event, 'actor', p_actor, 'data', p_data)));
END
$$;

-- A run of consecutive events of one source (hd/consumer.h,
-- hd_consumer_spec.batch_sql), set-based: analytics.consume checks that the
-- first is the next one (HDC01 otherwise) and locks the position's row; the
-- run must be consecutive; the position ends at its last event.
CREATE OR REPLACE FUNCTION analytics.apply_events(p_source text, p_events json) RETURNS integer
LANGUAGE plpgsql VOLATILE SET jit = off AS $$
DECLARE
	v_events jsonb := p_events::jsonb;
	v_first bigint := (v_events -> 0 ->> 'seq')::bigint;
	v_n integer;
	v_ordered boolean;
BEGIN
	IF p_source NOT IN ('ticket', 'field') THEN
		RAISE EXCEPTION 'analytics consumes no source %', p_source;
	END IF;
	PERFORM analytics.consume(p_source, v_first);
	-- The page's commit need not wait for its WAL flush: a crash loses at
	-- most the last pages, facts and position together, and the consumer
	-- applies them again from the source (docs/architecture.md, Analytics).
	PERFORM set_config('synchronous_commit', 'off', true);
	SELECT count(*), bool_and((j.v ->> 'seq')::bigint = v_first + j.ord - 1)
	INTO v_n, v_ordered FROM jsonb_array_elements(v_events) WITH ORDINALITY j(v, ord);
	IF NOT v_ordered THEN
		RAISE EXCEPTION 'a run of % does not follow from %', p_source, v_first
			USING ERRCODE = 'HDC01';
	END IF;
	PERFORM analytics.page_apply(p_source, v_events);
	UPDATE analytics.consumed c SET last_seq = v_first + v_n - 1 WHERE c.source = p_source;
	RETURN v_n;
END
$$;

-- `hd-analytics --rebuild`: forgets every fact and rollup and both
-- positions, so the consumers apply every event again from seq 1. SECURITY
-- DEFINER: TRUNCATE is the owner's; hd_app may only call it.
CREATE OR REPLACE FUNCTION analytics.rebuild_reset() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	TRUNCATE analytics.tickets, analytics.first_responses, analytics.solves,
	         analytics.breaches, analytics.ratings, analytics.work_orders,
	         analytics.hours, analytics.minutes_days;
	UPDATE analytics.consumed SET last_seq = 0;
END
$$;
REVOKE ALL ON FUNCTION analytics.rebuild_reset() FROM PUBLIC;

-- The per-event application of the release before the rollups, which no
-- current function calls.
DROP FUNCTION IF EXISTS analytics.ticket_upsert(uuid, json);
DROP FUNCTION IF EXISTS analytics.solve_add(uuid, json, timestamptz, uuid);
-- The parts of a ticket page that wrote the rollups each on their own,
-- before analytics.ticket_page_apply wrote them once per page.
DROP FUNCTION IF EXISTS analytics.ticket_deletes_apply(uuid, uuid[]);
DROP FUNCTION IF EXISTS analytics.ticket_states_apply(uuid, analytics.ticket_fact[]);
DROP FUNCTION IF EXISTS analytics.ticket_events_facts_apply(uuid, analytics.ticket_fact[]);

-- Once, on the upgrade that added the rollups (004_rollups.sql's mark): the
-- facts kept so far have no rollups, so they and both positions are
-- forgotten in this transaction, with the functions above installed, and
-- the consumers apply every event again from seq 1 (as --rebuild).
DO $$
BEGIN
	IF to_regclass('analytics.rollups_backfill') IS NOT NULL THEN
		PERFORM analytics.rebuild_reset();
		DROP TABLE analytics.rollups_backfill;
	END IF;
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO hd_app;
