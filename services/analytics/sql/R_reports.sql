-- Repeatable (docs/adding-a-daemon.md): the current text of the figures of
-- GET /v1/analytics/* (docs/openapi.yaml, tag analytics; definitions and
-- the rollups they read in docs/architecture.md "Analytics"), applied after
-- the numbered files and again whenever this file changes. Run by hd_app in
-- the caller's tenant: row-level security applies on top of the tenant
-- filters. The functions a request calls are PL/pgSQL, whose plans a
-- connection keeps (a SQL function that cannot be inlined is planned again
-- on every call), and run without JIT: its compilation cost tens to
-- hundreds of milliseconds per statement on a loaded machine, for queries
-- that run in a few (docs/benchmarks.md, "Analytics").

-- True when every UTC day starting in [p_from, p_to) (UTC midnights) lies
-- in one local day of p_tz: its rollup day row can count for that day's
-- bucket whole (a zone at UTC+0 over the window, UTC above all).
CREATE OR REPLACE FUNCTION analytics.days_align(p_from timestamptz, p_to timestamptz, p_tz text)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT COALESCE(bool_and(date_trunc('day', g AT TIME ZONE p_tz)
	                         = date_trunc('day', (g + interval '24 hours' - interval '1 microsecond')
	                                             AT TIME ZONE p_tz)), true)
	FROM generate_series(p_from, p_to - interval '24 hours', interval '24 hours') g
$$;

-- Buckets of p_unit ('hour' or 'day') in time zone p_tz that meet [p_from,
-- p_to), each with the count of the metric's events in it (0 when none).
-- The whole hours of the window are summed from rollup rows: day rows
-- (span 24) for its whole UTC days when each of them lies in one local day
-- (days_align: O(days) rows), hour rows otherwise (O(hours)). A rollup row
-- that lies in one bucket adds its count; an hour that straddles two (a
-- zone whose offset is not whole hours), and the window's partial hours,
-- add their facts one by one, so every bucket stays exact in any zone.
CREATE OR REPLACE FUNCTION analytics.buckets(p_tenant uuid, p_metric text, p_unit text,
                                             p_from timestamptz, p_to timestamptz, p_tz text)
RETURNS TABLE (t timestamptz, n bigint) LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
	v_a timestamptz; -- whole hours [v_a, v_b)
	v_b timestamptz;
	v_da timestamptz; -- of which whole UTC days [v_da, v_db) read as day rows
	v_db timestamptz;
BEGIN
	SELECT h.a, h.b, d.a, d.b INTO v_a, v_b, v_da, v_db
	FROM analytics.window_split(p_from, p_to, interval '1 hour') h,
	     analytics.window_split(h.a, h.b, interval '24 hours') d;
	IF p_unit <> 'day' OR NOT analytics.days_align(v_da, v_db, p_tz) THEN
		v_da := v_b; -- every whole hour from hour rows
		v_db := v_b;
	END IF;
	RETURN QUERY
	WITH b AS (SELECT DISTINCT g AT TIME ZONE p_tz AS t
	           FROM generate_series(date_trunc(p_unit, p_from AT TIME ZONE p_tz),
	                                p_to AT TIME ZONE p_tz, ('1 ' || p_unit)::interval) g),
	rr AS (SELECT x.hour, x.span, x.created, x.solved, x.breaches, x.wo_completed
	         FROM analytics.hours x
	         WHERE x.tenant_id = p_tenant AND x.span = 1 AND x.hour >= v_a AND x.hour < v_da
	         UNION ALL
	         SELECT x.hour, x.span, x.created, x.solved, x.breaches, x.wo_completed
	         FROM analytics.hours x
	         WHERE x.tenant_id = p_tenant AND x.span = 24 AND x.hour >= v_da AND x.hour < v_db
	         UNION ALL
	         SELECT x.hour, x.span, x.created, x.solved, x.breaches, x.wo_completed
	         FROM analytics.hours x
	         WHERE x.tenant_id = p_tenant AND x.span = 1 AND x.hour >= v_db AND x.hour < v_b),
	roll AS (SELECT r.hour, r.hour + make_interval(hours => r.span) AS hi,
	                date_trunc(p_unit, r.hour AT TIME ZONE p_tz) AS lb,
	                date_trunc(p_unit, (r.hour + make_interval(hours => r.span) - interval '1 microsecond')
	                                   AT TIME ZONE p_tz) AS lb2,
	                CASE p_metric WHEN 'tickets.created' THEN r.created
	                              WHEN 'tickets.solved' THEN r.solved
	                              WHEN 'sla.breaches' THEN r.breaches
	                              WHEN 'workorders.completed' THEN r.wo_completed END AS n
	         FROM rr r),
	whole AS (SELECT roll.lb AT TIME ZONE p_tz AS t, sum(roll.n) AS n FROM roll
	          WHERE roll.lb = roll.lb2 AND roll.n <> 0 GROUP BY 1),
	loose AS (SELECT e.at FROM analytics.metric_events(p_tenant, p_metric, p_from, v_a) e
	          UNION ALL SELECT e.at FROM analytics.metric_events(p_tenant, p_metric, v_b, p_to) e
	          UNION ALL SELECT e.at FROM roll, analytics.metric_events(p_tenant, p_metric, roll.hour,
	                                                                    roll.hi) e
	          WHERE roll.lb <> roll.lb2 AND roll.n <> 0),
	c AS (SELECT z.t, sum(z.n) AS n FROM (
	          SELECT whole.t, whole.n FROM whole
	          UNION ALL
	          SELECT date_trunc(p_unit, loose.at AT TIME ZONE p_tz) AT TIME ZONE p_tz, 1 FROM loose) z
	      GROUP BY z.t)
	SELECT b.t, COALESCE(c.n, 0)::bigint FROM b LEFT JOIN c ON c.t = b.t WHERE b.t < p_to ORDER BY b.t;
END
$$;

-- The analytics.hours sums of [p_from, p_to): day rows for the whole days,
-- hour rows for the whole hours of the partial days, facts for the partial
-- hours at the edges.
CREATE OR REPLACE FUNCTION analytics.hours_sum(p_tenant uuid, p_from timestamptz, p_to timestamptz)
RETURNS analytics.hours LANGUAGE plpgsql STABLE AS $$
DECLARE
	v analytics.hours;
BEGIN
	WITH w AS (SELECT h.a, h.b, d.a AS da, d.b AS db
	           FROM analytics.window_split(p_from, p_to, interval '1 hour') h,
	                analytics.window_split(h.a, h.b, interval '24 hours') d),
	r AS (SELECT x.* FROM w, analytics.hours x
	      WHERE x.tenant_id = p_tenant AND x.span = 24 AND x.hour >= w.da AND x.hour < w.db
	      UNION ALL SELECT x.* FROM w, analytics.hours x
	      WHERE x.tenant_id = p_tenant AND x.span = 1 AND x.hour >= w.a AND x.hour < w.da
	      UNION ALL SELECT x.* FROM w, analytics.hours x
	      WHERE x.tenant_id = p_tenant AND x.span = 1 AND x.hour >= w.db AND x.hour < w.b
	      UNION ALL SELECT e.* FROM w, analytics.hours_from_facts(p_tenant, p_from, w.a) e
	      UNION ALL SELECT e.* FROM w, analytics.hours_from_facts(p_tenant, w.b, p_to) e)
	SELECT p_tenant, p_from, COALESCE(sum(r.created), 0), COALESCE(sum(r.s_new), 0),
		COALESCE(sum(r.s_open), 0), COALESCE(sum(r.s_pending), 0), COALESCE(sum(r.s_on_hold), 0),
		COALESCE(sum(r.s_solved), 0), COALESCE(sum(r.s_closed), 0), COALESCE(sum(r.p_low), 0),
		COALESCE(sum(r.p_normal), 0), COALESCE(sum(r.p_high), 0), COALESCE(sum(r.p_urgent), 0),
		COALESCE(sum(r.fr_met), 0), COALESCE(sum(r.fr_decided), 0), COALESCE(sum(r.res_met), 0),
		COALESCE(sum(r.res_decided), 0), COALESCE(sum(r.solved), 0), COALESCE(sum(r.breaches), 0),
		COALESCE(sum(r.wo_created), 0), COALESCE(sum(r.wo_completed), 0), 1
	INTO v FROM r;
	RETURN v;
END
$$;

-- The values of ranks p_rank and p_rank + 1 (0-based, in minutes order;
-- the second NULL when p_rank is the last) among the first responses (kind
-- 1) or solves (kind 2) at [p_from, p_to), given the window's histogram
-- (p_buckets ascending, p_counts their counts): the bucket that holds the
-- rank, then the facts of that bucket in the window (one read when both
-- ranks lie in it, as they mostly do).
CREATE OR REPLACE FUNCTION analytics.minutes_at_rank(p_tenant uuid, p_kind smallint, p_from timestamptz,
                                          p_to timestamptz, p_buckets smallint[],
                                          p_counts bigint[], p_rank bigint)
RETURNS double precision[] LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_below bigint := 0;
	v_values double precision[];
BEGIN
	FOR i IN 1 .. coalesce(array_length(p_buckets, 1), 0) LOOP
		IF p_rank < v_below + p_counts[i] THEN
			IF p_kind = 1 THEN
				SELECT array_agg(x.minutes ORDER BY x.minutes) INTO v_values FROM (
					SELECT f.minutes FROM analytics.first_responses f
					WHERE f.tenant_id = p_tenant AND f.bucket = p_buckets[i] AND f.at >= p_from
					AND f.at < p_to ORDER BY f.minutes OFFSET p_rank - v_below LIMIT 2) x;
			ELSE
				SELECT array_agg(x.minutes ORDER BY x.minutes) INTO v_values FROM (
					SELECT s.minutes FROM analytics.solves s
					WHERE s.tenant_id = p_tenant AND s.bucket = p_buckets[i] AND s.at >= p_from
					AND s.at < p_to ORDER BY s.minutes OFFSET p_rank - v_below LIMIT 2) x;
			END IF;
			IF cardinality(v_values) = 1 THEN -- p_rank + 1 opens the next bucket (or is none)
				v_values := v_values || (analytics.minutes_at_rank(p_tenant, p_kind, p_from, p_to,
					p_buckets, p_counts, p_rank + 1))[1];
			END IF;
			RETURN v_values;
		END IF;
		v_below := v_below + p_counts[i];
	END LOOP;
	RETURN ARRAY[NULL, NULL]::double precision[];
END
$$;

-- percentile_cont(p_fraction) of the minutes of the first responses (kind
-- 1) or solves (kind 2) at [p_from, p_to), exactly: the same value, by the
-- same interpolation, as percentile_cont over the facts.
CREATE OR REPLACE FUNCTION analytics.minutes_percentile(p_tenant uuid, p_kind smallint, p_from timestamptz,
                                             p_to timestamptz, p_fraction double precision)
RETURNS double precision LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_buckets smallint[];
	v_counts bigint[];
	v_total bigint;
	v_k double precision;
	v_first bigint;
	v_two double precision[];
BEGIN
	SELECT array_agg(h.bucket ORDER BY h.bucket), array_agg(h.n ORDER BY h.bucket), sum(h.n)
	INTO v_buckets, v_counts, v_total
	FROM (SELECT m.bucket, sum(m.n)::bigint AS n FROM (
		SELECT d.bucket, d.n FROM analytics.window_split(p_from, p_to, interval '24 hours') w,
		       analytics.minutes_days d
		WHERE d.tenant_id = p_tenant AND d.kind = p_kind AND d.day >= w.a AND d.day < w.b
		UNION ALL
		SELECT e.bucket, 1 FROM analytics.window_split(p_from, p_to, interval '24 hours') w,
		       analytics.minutes_facts(p_tenant, p_kind, p_from, w.a) e
		UNION ALL
		SELECT e.bucket, 1 FROM analytics.window_split(p_from, p_to, interval '24 hours') w,
		       analytics.minutes_facts(p_tenant, p_kind, w.b, p_to) e) m
	      GROUP BY m.bucket HAVING sum(m.n) > 0) h;
	IF v_total IS NULL THEN
		RETURN NULL;
	END IF;
	-- as PostgreSQL's percentile_cont: rows first and first + 1, interpolated
	v_k := p_fraction * (v_total - 1);
	v_first := floor(v_k)::bigint;
	v_two := analytics.minutes_at_rank(p_tenant, p_kind, p_from, p_to, v_buckets, v_counts, v_first);
	IF ceil(v_k)::bigint = v_first THEN
		RETURN v_two[1];
	END IF;
	RETURN v_two[1] + (v_two[2] - v_two[1]) * (v_k - v_first);
END
$$;

CREATE OR REPLACE FUNCTION analytics.summary(p_tenant uuid, p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	RETURN (SELECT json_build_object(
		'from', analytics.ts(p_from), 'to', analytics.ts(p_to),
		'tickets', json_build_object(
			'created', t.created, 'solved', t.solved,
			'open', t.s_new + t.s_open + t.s_pending + t.s_on_hold,
			'by_status', json_build_object('new', t.s_new, 'open', t.s_open, 'pending', t.s_pending,
				'on_hold', t.s_on_hold, 'solved', t.s_solved, 'closed', t.s_closed),
			'by_priority', json_build_object('low', t.p_low, 'normal', t.p_normal,
				'high', t.p_high, 'urgent', t.p_urgent)),
		'sla', json_build_object(
			'first_response_compliance', t.fr_met::float8 / NULLIF(t.fr_decided, 0),
			'resolution_compliance', t.res_met::float8 / NULLIF(t.res_decided, 0),
			'breaches', t.breaches),
		'times', json_build_object(
			'first_response_minutes_p50',
				analytics.minutes_percentile(p_tenant, 1::smallint, p_from, p_to, 0.5),
			'resolution_minutes_p50',
				analytics.minutes_percentile(p_tenant, 2::smallint, p_from, p_to, 0.5)),
		'work_orders', json_build_object('created', t.wo_created, 'completed', t.wo_completed))
	FROM analytics.hours_sum(p_tenant, p_from, p_to) t);
END
$$;

CREATE OR REPLACE FUNCTION analytics.timeseries(p_tenant uuid, p_metric text, p_unit text,
                                                p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	v_tz text := analytics.tenant_tz(p_tenant);
BEGIN
	RETURN json_build_object('metric', p_metric, 'interval', p_unit,
		'from', analytics.ts(p_from), 'to', analytics.ts(p_to), 'timezone', v_tz,
		'points', COALESCE((SELECT json_agg(json_build_object('t', analytics.ts(b.t), 'value', b.n)
		                    ORDER BY b.t)
		                    FROM analytics.buckets(p_tenant, p_metric, p_unit, p_from, p_to, v_tz) b),
		                   '[]'::json));
END
$$;

-- Per agent: moves to solved, first responses and ratings in the window.
CREATE OR REPLACE FUNCTION analytics.agents(p_tenant uuid, p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE sql STABLE SET jit = off AS $$
	WITH s AS (SELECT s.agent_id, count(*) AS solved,
	                  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.minutes) AS p50,
	                  percentile_cont(0.9) WITHIN GROUP (ORDER BY s.minutes) AS p90
	           FROM analytics.solves s WHERE s.tenant_id = p_tenant AND s.at >= p_from
	           AND s.at < p_to AND s.agent_id IS NOT NULL GROUP BY s.agent_id),
	f AS (SELECT f.agent_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY f.minutes) AS p50,
	             percentile_cont(0.9) WITHIN GROUP (ORDER BY f.minutes) AS p90
	      FROM analytics.first_responses f WHERE f.tenant_id = p_tenant AND f.at >= p_from
	      AND f.at < p_to AND f.agent_id IS NOT NULL GROUP BY f.agent_id),
	r AS (SELECT r.agent_id, avg(CASE WHEN r.good THEN 1.0 ELSE 0.0 END)::float8 AS csat
	      FROM analytics.ratings r WHERE r.tenant_id = p_tenant AND r.at >= p_from
	      AND r.at < p_to AND r.agent_id IS NOT NULL GROUP BY r.agent_id),
	a AS (SELECT agent_id FROM s UNION SELECT agent_id FROM f UNION SELECT agent_id FROM r)
	SELECT json_build_object('from', analytics.ts(p_from), 'to', analytics.ts(p_to),
		'items', COALESCE(json_agg(json_build_object('agent_id', a.agent_id,
			'solved', COALESCE(s.solved, 0),
			'first_response_minutes_p50', f.p50, 'first_response_minutes_p90', f.p90,
			'resolution_minutes_p50', s.p50, 'resolution_minutes_p90', s.p90,
			'csat', r.csat) ORDER BY a.agent_id), '[]'::json))
	FROM a LEFT JOIN s USING (agent_id) LEFT JOIN f USING (agent_id) LEFT JOIN r USING (agent_id)
$$;

-- The daily series a forecast fits: the metric's count per local day from
-- the tenant's first such event (at most p_days back) to yesterday, and the
-- starts of the p_horizon days from today on.
CREATE OR REPLACE FUNCTION analytics.daily_history(p_tenant uuid, p_metric text, p_days integer,
                                        p_horizon integer)
RETURNS json LANGUAGE sql STABLE SET jit = off AS $$
	WITH z AS (SELECT analytics.tenant_tz(p_tenant) AS tz),
	d AS (SELECT date_trunc('day', now() AT TIME ZONE z.tz) AS today, z.tz FROM z),
	lim AS (SELECT (d.today - make_interval(days => p_days)) AT TIME ZONE d.tz AS earliest,
	               d.today AT TIME ZONE d.tz AS today_at FROM d),
	first AS (SELECT min(e.at) AS at FROM lim,
	          analytics.metric_events(p_tenant, p_metric, lim.earliest, lim.today_at) e),
	h AS (SELECT b.t, b.n FROM lim, first, d,
	      analytics.buckets(p_tenant, p_metric, 'day', first.at, lim.today_at, d.tz) b
	      WHERE first.at IS NOT NULL)
	SELECT json_build_object(
		'history', COALESCE((SELECT json_agg(h.n ORDER BY h.t) FROM h), '[]'::json),
		'future', (SELECT json_agg(analytics.ts((d.today + make_interval(days => k)) AT TIME ZONE d.tz)
		                           ORDER BY k)
		           FROM d, generate_series(0, p_horizon - 1) k))
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO hd_app;
