-- The summary and the time series read the rollups of 004_rollups.sql
-- (docs/architecture.md "Analytics", "Rollups"): whole UTC hours (days for
-- the duration histograms) from the rollup rows, the partial ones at the
-- window's edges from the facts. Same figures as 002_queries.sql computed
-- from the facts alone, in O(hours) rows instead of O(facts). The functions
-- a request calls are PL/pgSQL, whose plans a connection keeps: a SQL
-- function that cannot be inlined is planned again on every call.

-- [p_from, p_to) cut at whole units (p_unit: 1 hour or 24 hours, from UTC
-- midnight): [p_from, a) and [b, p_to) are partial, [a, b) whole (empty
-- when the window holds no whole unit: then a = b = p_to).
CREATE FUNCTION analytics.window_split(p_from timestamptz, p_to timestamptz, p_unit interval)
RETURNS TABLE (a timestamptz, b timestamptz) LANGUAGE sql IMMUTABLE AS $$
	SELECT LEAST(c.up, p_to), GREATEST(c.down, LEAST(c.up, p_to))
	FROM (SELECT CASE WHEN f.start = p_from THEN p_from ELSE f.start + p_unit END AS up,
	             f.down
	      FROM (SELECT CASE WHEN p_unit = interval '1 hour' THEN analytics.utc_hour(p_from)
	                        ELSE analytics.utc_day(p_from) END AS start,
	                   CASE WHEN p_unit = interval '1 hour' THEN analytics.utc_hour(p_to)
	                        ELSE analytics.utc_day(p_to) END AS down) f) c
$$;

-- The analytics.hours sums of [p_from, p_to): day rows for the whole days,
-- hour rows for the whole hours of the partial days, facts for the partial
-- hours at the edges.
CREATE FUNCTION analytics.hours_sum(p_tenant uuid, p_from timestamptz, p_to timestamptz)
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
CREATE FUNCTION analytics.minutes_at_rank(p_tenant uuid, p_kind smallint, p_from timestamptz,
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
CREATE FUNCTION analytics.minutes_percentile(p_tenant uuid, p_kind smallint, p_from timestamptz,
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
RETURNS json LANGUAGE plpgsql STABLE AS $$
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

-- analytics.buckets, which the time series sums: sql/R_reports.sql.

CREATE OR REPLACE FUNCTION analytics.timeseries(p_tenant uuid, p_metric text, p_unit text,
                                                p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE plpgsql STABLE AS $$
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

-- No JIT for the reports and the application: its compilation cost tens to
-- hundreds of milliseconds per statement on a loaded machine, for queries
-- that run in a few (docs/benchmarks.md, "Analytics").
ALTER FUNCTION analytics.summary(uuid, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION analytics.timeseries(uuid, text, text, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION analytics.agents(uuid, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION analytics.daily_history(uuid, text, integer, integer) SET jit = off;
ALTER FUNCTION analytics.apply_events(text, json) SET jit = off;
ALTER FUNCTION analytics.apply_ticket_event(uuid, text, json, uuid, bigint, uuid) SET jit = off;
ALTER FUNCTION analytics.apply_field_event(uuid, text, json, uuid, bigint, uuid) SET jit = off;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO hd_app;
