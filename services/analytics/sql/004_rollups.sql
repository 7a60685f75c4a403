-- Rollups and set-based application (docs/architecture.md "Analytics",
-- "Rollups"; issue 13's performance targets, docs/benchmarks.md).
--
-- The fact tables of 001_init.sql stay the truth. Two rollups are kept in
-- the same transaction as the facts they sum, by the same statements:
--   analytics.hours        per UTC hour (span 1) and per UTC day (span 24):
--                          the tickets created in it as they stand now
--                          (status, priority, SLA met/decided) and the facts
--                          that happened in it (solves, breaches, work
--                          orders created and completed);
--   analytics.minutes_days per UTC day and duration bucket: how many first
--                          responses / solves of that many minutes.
-- A report over [from, to) reads the rollup rows of the whole days and
-- hours inside the window and the facts of the two partial hours at its
-- edges, so it reads O(days + hours at the edges) rows instead of every fact. Exact percentiles: the day
-- histograms say which bucket holds the wanted rank and how many values lie
-- below it; the facts of that one bucket in the window (an index on
-- (tenant, bucket, at)) give the exact value. No sketch, no sampling.
--
-- A replay page is applied set-based (analytics.apply_events): parsed once
-- into typed rows (analytics.ticket_fact), then per tenant in the page a
-- handful of INSERT ... SELECT statements over those rows, whatever the
-- page's length. The per-event path (events from the bus) runs the same
-- code on a one-event page, so both paths keep the rollups alike.

-- ---- duration buckets ----

-- The bucket of a duration in minutes: 0 for none or less, then four
-- buckets per doubling (1 + floor(4 log2(1 + m))). Monotone in m, so the
-- k-th smallest value lies in the bucket where the counts reach k.
CREATE FUNCTION analytics.minutes_bucket(m double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN m > 0 THEN LEAST(1 + floor(4 * ln(1 + m) / ln(2::float8)), 32767)::smallint
	            ELSE 0::smallint END
$$;

ALTER TABLE analytics.first_responses
	ADD COLUMN bucket smallint GENERATED ALWAYS AS (analytics.minutes_bucket(minutes)) STORED;
ALTER TABLE analytics.solves
	ADD COLUMN bucket smallint GENERATED ALWAYS AS (analytics.minutes_bucket(minutes)) STORED;
-- the values of one bucket in a window, for the exact percentile
CREATE INDEX first_responses_bucket_idx ON analytics.first_responses (tenant_id, bucket, at)
	INCLUDE (minutes);
CREATE INDEX solves_bucket_idx ON analytics.solves (tenant_id, bucket, at) INCLUDE (minutes);

-- ---- rollup tables ----

CREATE TABLE analytics.hours (
	tenant_id    uuid        NOT NULL,
	hour         timestamptz NOT NULL, -- a UTC hour's start
	-- the tickets created in this hour, as they stand now
	created      bigint NOT NULL DEFAULT 0,
	s_new        bigint NOT NULL DEFAULT 0,
	s_open       bigint NOT NULL DEFAULT 0,
	s_pending    bigint NOT NULL DEFAULT 0,
	s_on_hold    bigint NOT NULL DEFAULT 0,
	s_solved     bigint NOT NULL DEFAULT 0,
	s_closed     bigint NOT NULL DEFAULT 0,
	p_low        bigint NOT NULL DEFAULT 0,
	p_normal     bigint NOT NULL DEFAULT 0,
	p_high       bigint NOT NULL DEFAULT 0,
	p_urgent     bigint NOT NULL DEFAULT 0,
	fr_met       bigint NOT NULL DEFAULT 0,
	fr_decided   bigint NOT NULL DEFAULT 0,
	res_met      bigint NOT NULL DEFAULT 0,
	res_decided  bigint NOT NULL DEFAULT 0,
	-- facts that happened in this hour
	solved       bigint NOT NULL DEFAULT 0, -- moves to solved (solves.at)
	breaches     bigint NOT NULL DEFAULT 0, -- missed targets (breaches.due)
	wo_created   bigint NOT NULL DEFAULT 0,
	wo_completed bigint NOT NULL DEFAULT 0,
	span         smallint NOT NULL DEFAULT 1 CHECK (span IN (1, 24)), -- hours it covers
	PRIMARY KEY (tenant_id, span, hour)
);

CREATE TABLE analytics.minutes_days (
	tenant_id uuid        NOT NULL,
	kind      smallint    NOT NULL CHECK (kind IN (1, 2)), -- 1 first responses, 2 solves
	day       timestamptz NOT NULL, -- a UTC day's start
	bucket    smallint    NOT NULL, -- analytics.minutes_bucket
	n         bigint      NOT NULL,
	PRIMARY KEY (tenant_id, kind, day, bucket)
);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['hours', 'minutes_days'] LOOP
		EXECUTE format('ALTER TABLE analytics.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE analytics.%I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_isolation ON analytics.%I '
		               'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid) '
		               'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
		EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.%I TO hd_app', t);
	END LOOP;
END
$$;

-- ---- rollup rows ----

-- A UTC hour's (or day's) start.
CREATE FUNCTION analytics.utc_hour(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('hour', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;
CREATE FUNCTION analytics.utc_day(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- What a ticket row adds to its creation hour (s = 1), or takes away (s = -1).
CREATE FUNCTION analytics.ticket_hour(x analytics.tickets, s integer) RETURNS analytics.hours
LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(x.tenant_id, analytics.utc_hour(x.created_at), s,
		s * (x.status = 'new')::int, s * (x.status = 'open')::int, s * (x.status = 'pending')::int,
		s * (x.status = 'on_hold')::int, s * (x.status = 'solved')::int,
		s * (x.status = 'closed')::int,
		s * (x.priority = 'low')::int, s * (x.priority = 'normal')::int,
		s * (x.priority = 'high')::int, s * (x.priority = 'urgent')::int,
		s * COALESCE(x.first_response_at <= x.first_response_due, false)::int,
		s * (x.first_response_due IS NOT NULL
		     AND (x.first_response_at IS NOT NULL OR x.fr_breached))::int,
		s * COALESCE(x.solved_at <= x.resolution_due, false)::int,
		s * (x.resolution_due IS NOT NULL AND (x.solved_at IS NOT NULL OR x.res_breached))::int,
		0, 0, 0, 0, 1)::analytics.hours
$$;

-- A fact at `at` counted in its hour: solves, breaches, work orders created, completed.
CREATE FUNCTION analytics.fact_hour(p_tenant uuid, at timestamptz, solved integer,
                                    breaches integer, wo_created integer, wo_completed integer)
RETURNS analytics.hours LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(p_tenant, analytics.utc_hour(at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		solved, breaches, wo_created, wo_completed, 1)::analytics.hours
$$;

-- Adds hour rows (any order, several per hour) to analytics.hours, to
-- their hour's and their day's row, in key order (two writers lock rows in
-- the same order).
CREATE FUNCTION analytics.hours_add(p_rows analytics.hours[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
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
CREATE FUNCTION analytics.minutes_add(p_rows analytics.minutes_days[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO analytics.minutes_days AS m
	SELECT r.tenant_id, r.kind, r.day, r.bucket, sum(r.n) FROM unnest(p_rows) r
	GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (tenant_id, kind, day, bucket) DO UPDATE SET n = m.n + EXCLUDED.n;
END
$$;

-- A first response (kind 1) or solve (kind 2) counted in its day's histogram.
CREATE FUNCTION analytics.minutes_row(p_tenant uuid, p_kind smallint, at timestamptz,
                                      bucket smallint, n integer)
RETURNS analytics.minutes_days LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(p_tenant, p_kind, analytics.utc_day(at), bucket, n)::analytics.minutes_days
$$;

-- The analytics.hours rows of [p_lo, p_hi) computed from the facts: the
-- partial hours at a window's edges, the backfill, and the tests' check
-- that the kept rollup equals the facts (analytics.rollups_drift).
CREATE FUNCTION analytics.hours_from_facts(p_tenant uuid, p_lo timestamptz, p_hi timestamptz)
RETURNS SETOF analytics.hours LANGUAGE sql STABLE AS $$
	SELECT p_tenant, (r.h).hour, sum((r.h).created), sum((r.h).s_new), sum((r.h).s_open),
		sum((r.h).s_pending), sum((r.h).s_on_hold), sum((r.h).s_solved), sum((r.h).s_closed),
		sum((r.h).p_low), sum((r.h).p_normal), sum((r.h).p_high), sum((r.h).p_urgent),
		sum((r.h).fr_met), sum((r.h).fr_decided), sum((r.h).res_met), sum((r.h).res_decided),
		sum((r.h).solved), sum((r.h).breaches), sum((r.h).wo_created), sum((r.h).wo_completed),
		1::smallint
	FROM (
		SELECT analytics.ticket_hour(x, 1) AS h FROM analytics.tickets x
		WHERE x.tenant_id = p_tenant AND x.created_at >= p_lo AND x.created_at < p_hi
		UNION ALL
		SELECT analytics.fact_hour(p_tenant, s.at, 1, 0, 0, 0) FROM analytics.solves s
		WHERE s.tenant_id = p_tenant AND s.at >= p_lo AND s.at < p_hi
		UNION ALL
		SELECT analytics.fact_hour(p_tenant, b.due, 0, 1, 0, 0) FROM analytics.breaches b
		WHERE b.tenant_id = p_tenant AND b.due >= p_lo AND b.due < p_hi
		UNION ALL
		SELECT analytics.fact_hour(p_tenant, w.created_at, 0, 0, 1, 0) FROM analytics.work_orders w
		WHERE w.tenant_id = p_tenant AND w.created_at >= p_lo AND w.created_at < p_hi
		UNION ALL
		SELECT analytics.fact_hour(p_tenant, w.completed_at, 0, 0, 0, 1) FROM analytics.work_orders w
		WHERE w.tenant_id = p_tenant AND w.completed_at >= p_lo AND w.completed_at < p_hi
		OFFSET 0
	) r GROUP BY (r.h).hour
$$;

-- The first responses (kind 1) or solves (kind 2) at [p_lo, p_hi).
CREATE FUNCTION analytics.minutes_facts(p_tenant uuid, p_kind smallint, p_lo timestamptz,
                                        p_hi timestamptz)
RETURNS TABLE (at timestamptz, bucket smallint, minutes double precision)
LANGUAGE sql STABLE AS $$
	SELECT f.at, f.bucket, f.minutes FROM analytics.first_responses f WHERE p_kind = 1
		AND f.tenant_id = p_tenant AND f.at >= p_lo AND f.at < p_hi
	UNION ALL
	SELECT s.at, s.bucket, s.minutes FROM analytics.solves s WHERE p_kind = 2
		AND s.tenant_id = p_tenant AND s.at >= p_lo AND s.at < p_hi
$$;

-- The rows by which a tenant's rollups differ from their facts (none when
-- they agree): the tests' check, and an operator's (docs/operations.md).
CREATE FUNCTION analytics.rollups_drift(p_tenant uuid)
RETURNS TABLE (rollup text, key text, kept text, facts text) LANGUAGE sql STABLE AS $$
	WITH kept AS (SELECT h.* FROM analytics.hours h WHERE h.tenant_id = p_tenant AND h.span = 1
	              AND (h.created, h.solved, h.breaches, h.wo_created, h.wo_completed,
	                   h.fr_decided, h.res_decided) <> (0, 0, 0, 0, 0, 0, 0)),
	facts AS (SELECT * FROM analytics.hours_from_facts(p_tenant, '-infinity', 'infinity')),
	mk AS (SELECT m.kind, m.day, m.bucket, m.n FROM analytics.minutes_days m
	       WHERE m.tenant_id = p_tenant AND m.n <> 0),
	mf AS (SELECT 1::smallint AS kind, analytics.utc_day(f.at) AS day, f.bucket, count(*) AS n
	       FROM analytics.first_responses f WHERE f.tenant_id = p_tenant GROUP BY 1, 2, 3
	       UNION ALL
	       SELECT 2::smallint, analytics.utc_day(s.at), s.bucket, count(*)
	       FROM analytics.solves s WHERE s.tenant_id = p_tenant GROUP BY 1, 2, 3),
	days AS (SELECT analytics.utc_day(h.hour) AS day, sum(h.created) AS created,
	         sum(h.s_new + 2 * h.s_open + 3 * h.s_pending + 4 * h.s_on_hold + 5 * h.s_solved
	             + 6 * h.s_closed) AS s, sum(h.p_low + 2 * h.p_normal + 3 * h.p_high + 4 * h.p_urgent) AS p,
	         sum(h.fr_met) AS fr_met, sum(h.fr_decided) AS fr_decided, sum(h.res_met) AS res_met,
	         sum(h.res_decided) AS res_decided, sum(h.solved) AS solved, sum(h.breaches) AS breaches,
	         sum(h.wo_created) AS wo_created, sum(h.wo_completed) AS wo_completed
	         FROM analytics.hours h WHERE h.tenant_id = p_tenant AND h.span = 1 GROUP BY 1),
	day_rows AS (SELECT h.hour AS day, h.created, h.s_new + 2 * h.s_open + 3 * h.s_pending
	             + 4 * h.s_on_hold + 5 * h.s_solved + 6 * h.s_closed AS s,
	             h.p_low + 2 * h.p_normal + 3 * h.p_high + 4 * h.p_urgent AS p, h.fr_met,
	             h.fr_decided, h.res_met, h.res_decided, h.solved, h.breaches, h.wo_created,
	             h.wo_completed
	             FROM analytics.hours h WHERE h.tenant_id = p_tenant AND h.span = 24)
	SELECT 'hours', analytics.ts(COALESCE(k.hour, f.hour)), row_to_json(k)::text, row_to_json(f)::text
	FROM kept k FULL JOIN facts f ON f.hour = k.hour
	WHERE row_to_json(k)::text IS DISTINCT FROM row_to_json(f)::text
	UNION ALL
	SELECT 'days', analytics.ts(COALESCE(k.day, f.day)), row_to_json(k)::text, row_to_json(f)::text
	FROM day_rows k FULL JOIN days f ON f.day = k.day
	WHERE row_to_json(k)::text IS DISTINCT FROM row_to_json(f)::text
	UNION ALL
	SELECT 'minutes_days', concat_ws(' ', COALESCE(k.kind, f.kind), analytics.ts(COALESCE(k.day, f.day)),
	                                 COALESCE(k.bucket, f.bucket)), k.n::text, f.n::text
	FROM mk k FULL JOIN mf f ON f.kind = k.kind AND f.day = k.day AND f.bucket = k.bucket
	WHERE k.n IS DISTINCT FROM f.n
$$;

-- ---- applying events, set-based ----

-- One hd-ticket event as the facts it tells, typed (the fields that do not
-- apply are NULL): a ticket object (ticket.created, ticket.updated), a move
-- to solved, a rating, a first response, a missed target, a deletion.
CREATE TYPE analytics.ticket_fact AS (
	seq bigint, tenant_id uuid, ticket_id uuid,
	obj boolean, created_at timestamptz, status text, priority text, assignee_id uuid,
	first_response_at timestamptz, first_response_due timestamptz,
	resolution_due timestamptz, solved_at timestamptz,
	solve_at timestamptz, solve_agent uuid,
	rating_at timestamptz, rating_agent uuid, rating_good boolean,
	fr_at timestamptz, fr_agent uuid,
	target text, due timestamptz,
	deleted boolean
);

-- p_events (a JSON array of events, {seq, type, tenant_id, actor, data}) as
-- facts, in the array's order; events that tell none have no ticket_id.
CREATE FUNCTION analytics.ticket_facts_read(p_events jsonb) RETURNS analytics.ticket_fact[]
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

-- A ticket deleted in the page leaves every figure: its facts from before
-- the page go, with what they added to the rollups.
CREATE FUNCTION analytics.ticket_deletes_apply(p_tenant uuid, p_ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_hours analytics.hours[];
	v_minutes analytics.minutes_days[];
BEGIN
	WITH fr AS (DELETE FROM analytics.first_responses x WHERE x.tenant_id = p_tenant
	            AND x.ticket_id = ANY (p_ids) RETURNING x.at, x.bucket),
	so AS (DELETE FROM analytics.solves x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.at, x.bucket),
	br AS (DELETE FROM analytics.breaches x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.due),
	ra AS (DELETE FROM analytics.ratings x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING 1),
	tk AS (DELETE FROM analytics.tickets x WHERE x.tenant_id = p_tenant
	       AND x.ticket_id = ANY (p_ids) RETURNING x.*)
	SELECT (SELECT array_agg(h) FROM (
	            SELECT analytics.ticket_hour(ROW(tk.*)::analytics.tickets, -1) AS h FROM tk
	            UNION ALL SELECT analytics.fact_hour(p_tenant, so.at, -1, 0, 0, 0) FROM so
	            UNION ALL SELECT analytics.fact_hour(p_tenant, br.due, 0, -1, 0, 0) FROM br) x),
	       (SELECT array_agg(m) FROM (
	            SELECT analytics.minutes_row(p_tenant, 1::smallint, fr.at, fr.bucket, -1) AS m FROM fr
	            UNION ALL
	            SELECT analytics.minutes_row(p_tenant, 2::smallint, so.at, so.bucket, -1) FROM so) y)
	INTO v_hours, v_minutes;
	PERFORM analytics.hours_add(v_hours);
	PERFORM analytics.minutes_add(v_minutes);
END
$$;

-- Each ticket the page tells about, once, in its state after the page's
-- last word on it: the last ticket object, unless a later first response
-- set first_response_at; breach flags only ever turn on. The rollup loses
-- the old rows' share and gains the new ones'.
CREATE FUNCTION analytics.ticket_states_apply(p_tenant uuid, p_live analytics.ticket_fact[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
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
	PERFORM analytics.hours_add(v_hours);
END
$$;

-- The page's new facts: first responses, solves, breaches, ratings (each
-- kept once: the first event that told it wins, as ON CONFLICT DO NOTHING
-- one event at a time would), and what they add to the rollups.
CREATE FUNCTION analytics.ticket_events_facts_apply(p_tenant uuid, p_live analytics.ticket_fact[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_hours analytics.hours[];
	v_minutes analytics.minutes_days[];
BEGIN
	WITH fr AS (
		INSERT INTO analytics.first_responses (tenant_id, ticket_id, at, agent_id, minutes)
		SELECT DISTINCT ON (f.ticket_id) p_tenant, f.ticket_id, f.fr_at, f.fr_agent,
		       analytics.minutes(x.created_at, f.fr_at)
		FROM unnest(p_live) f JOIN analytics.tickets x ON x.tenant_id = p_tenant
		     AND x.ticket_id = f.ticket_id
		WHERE f.fr_at IS NOT NULL ORDER BY f.ticket_id, f.seq
		ON CONFLICT DO NOTHING RETURNING at, bucket),
	so AS (
		INSERT INTO analytics.solves (tenant_id, ticket_id, at, agent_id, minutes)
		SELECT DISTINCT ON (f.ticket_id, f.solve_at) p_tenant, f.ticket_id, f.solve_at,
		       f.solve_agent, analytics.minutes(f.created_at, f.solve_at)
		FROM unnest(p_live) f WHERE f.solve_at IS NOT NULL ORDER BY f.ticket_id, f.solve_at, f.seq
		ON CONFLICT DO NOTHING RETURNING at, bucket),
	br AS (
		INSERT INTO analytics.breaches (tenant_id, ticket_id, target, due)
		SELECT DISTINCT ON (f.ticket_id, f.target) p_tenant, f.ticket_id, f.target, f.due
		FROM unnest(p_live) f WHERE f.target IS NOT NULL ORDER BY f.ticket_id, f.target, f.seq
		ON CONFLICT DO NOTHING RETURNING due),
	ra AS (
		INSERT INTO analytics.ratings (tenant_id, ticket_id, at, agent_id, good)
		SELECT DISTINCT ON (f.ticket_id) p_tenant, f.ticket_id, f.rating_at, f.rating_agent,
		       f.rating_good
		FROM unnest(p_live) f WHERE f.rating_at IS NOT NULL ORDER BY f.ticket_id, f.seq
		ON CONFLICT DO NOTHING RETURNING 1)
	SELECT (SELECT array_agg(h) FROM (
	            SELECT analytics.fact_hour(p_tenant, so.at, 1, 0, 0, 0) AS h FROM so
	            UNION ALL SELECT analytics.fact_hour(p_tenant, br.due, 0, 1, 0, 0) FROM br) x),
	       (SELECT array_agg(m) FROM (
	            SELECT analytics.minutes_row(p_tenant, 1::smallint, fr.at, fr.bucket, 1) AS m FROM fr
	            UNION ALL
	            SELECT analytics.minutes_row(p_tenant, 2::smallint, so.at, so.bucket, 1) FROM so) y)
	INTO v_hours, v_minutes;
	PERFORM analytics.hours_add(v_hours);
	PERFORM analytics.minutes_add(v_minutes);
END
$$;

-- The effect of a page of hd-ticket events (read by ticket_facts_read) on
-- one tenant, app.tenant_id being that tenant: as if applied one by one.
-- An event before a deletion of its ticket in the same page leaves nothing.
CREATE FUNCTION analytics.ticket_page_apply(p_tenant uuid, p_facts analytics.ticket_fact[])
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	v_gone uuid[];
	v_live analytics.ticket_fact[];
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
		PERFORM analytics.ticket_deletes_apply(p_tenant, v_gone);
	END IF;
	IF v_live IS NOT NULL THEN
		PERFORM analytics.ticket_states_apply(p_tenant, v_live);
		PERFORM analytics.ticket_events_facts_apply(p_tenant, v_live);
	END IF;
END
$$;

-- The effect of a page of hd-field events on one tenant: each work order
-- once, as its last event tells it (created_at as first stored).
CREATE FUNCTION analytics.field_page_apply(p_tenant uuid, p_events jsonb) RETURNS void
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
CREATE FUNCTION analytics.page_apply(p_source text, p_events jsonb) RETURNS void
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
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM analytics.page_apply('ticket', jsonb_build_array(jsonb_build_object('seq', p_seq,
		'type', p_type, 'tenant_id', p_tenant, 'id', p_event, 'actor', p_actor, 'data', p_data)));
END
$$;
CREATE OR REPLACE FUNCTION analytics.apply_field_event(p_tenant uuid, p_type text, p_data json,
                                                       p_event uuid, p_seq bigint, p_actor uuid)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
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
LANGUAGE plpgsql VOLATILE AS $$
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

-- `hd-analytics --rebuild` forgets the rollups with the facts.
CREATE OR REPLACE FUNCTION analytics.rebuild_reset() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	TRUNCATE analytics.tickets, analytics.first_responses, analytics.solves,
	         analytics.breaches, analytics.ratings, analytics.work_orders,
	         analytics.hours, analytics.minutes_days;
	UPDATE analytics.consumed SET last_seq = 0;
END
$$;

-- ---- backfill: the rollups of the facts already kept ----
-- (The owner runs migrations; FORCE is lifted inside this transaction so
-- that it sees every tenant's rows, and put back before it commits.)
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['tickets', 'first_responses', 'solves', 'breaches', 'work_orders',
	                         'hours', 'minutes_days'] LOOP
		EXECUTE format('ALTER TABLE analytics.%I NO FORCE ROW LEVEL SECURITY', t);
	END LOOP;
	PERFORM analytics.hours_add(ARRAY(
		SELECT r FROM (SELECT tenant_id FROM analytics.tickets UNION SELECT tenant_id FROM analytics.solves
		               UNION SELECT tenant_id FROM analytics.breaches
		               UNION SELECT tenant_id FROM analytics.work_orders) k,
		     analytics.hours_from_facts(k.tenant_id, '-infinity', 'infinity') r));
	INSERT INTO analytics.minutes_days
	SELECT f.tenant_id, 1, analytics.utc_day(f.at), f.bucket, count(*) FROM analytics.first_responses f
	GROUP BY 1, 2, 3, 4
	UNION ALL
	SELECT s.tenant_id, 2, analytics.utc_day(s.at), s.bucket, count(*) FROM analytics.solves s
	GROUP BY 1, 2, 3, 4;
	FOREACH t IN ARRAY ARRAY['tickets', 'first_responses', 'solves', 'breaches', 'work_orders',
	                         'hours', 'minutes_days'] LOOP
		EXECUTE format('ALTER TABLE analytics.%I FORCE ROW LEVEL SECURITY', t);
	END LOOP;
END
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO hd_app;
