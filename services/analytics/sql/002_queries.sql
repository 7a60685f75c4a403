-- The figures of GET /v1/analytics/* (docs/openapi.yaml, tag analytics;
-- definitions in docs/architecture.md "Analytics"), computed from the facts
-- of 001_init.sql for the window [p_from, p_to). Run by hd_app in the
-- caller's tenant: row-level security applies on top of the tenant filters.

CREATE FUNCTION analytics.summary(p_tenant uuid, p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
	WITH t AS (SELECT
		count(*) AS created,
		count(*) FILTER (WHERE x.status IN ('new', 'open', 'pending', 'on_hold')) AS open,
		count(*) FILTER (WHERE x.status = 'new') AS s_new,
		count(*) FILTER (WHERE x.status = 'open') AS s_open,
		count(*) FILTER (WHERE x.status = 'pending') AS s_pending,
		count(*) FILTER (WHERE x.status = 'on_hold') AS s_on_hold,
		count(*) FILTER (WHERE x.status = 'solved') AS s_solved,
		count(*) FILTER (WHERE x.status = 'closed') AS s_closed,
		count(*) FILTER (WHERE x.priority = 'low') AS p_low,
		count(*) FILTER (WHERE x.priority = 'normal') AS p_normal,
		count(*) FILTER (WHERE x.priority = 'high') AS p_high,
		count(*) FILTER (WHERE x.priority = 'urgent') AS p_urgent,
		count(*) FILTER (WHERE x.first_response_at <= x.first_response_due) AS fr_met,
		count(*) FILTER (WHERE x.first_response_due IS NOT NULL
		                 AND (x.first_response_at IS NOT NULL OR x.fr_breached)) AS fr_decided,
		count(*) FILTER (WHERE x.solved_at <= x.resolution_due) AS res_met,
		count(*) FILTER (WHERE x.resolution_due IS NOT NULL
		                 AND (x.solved_at IS NOT NULL OR x.res_breached)) AS res_decided
		FROM analytics.tickets x
		WHERE x.tenant_id = p_tenant AND x.created_at >= p_from AND x.created_at < p_to)
	SELECT json_build_object(
		'from', analytics.ts(p_from), 'to', analytics.ts(p_to),
		'tickets', json_build_object(
			'created', t.created,
			'solved', (SELECT count(*) FROM analytics.solves s WHERE s.tenant_id = p_tenant
			           AND s.at >= p_from AND s.at < p_to),
			'open', t.open,
			'by_status', json_build_object('new', t.s_new, 'open', t.s_open, 'pending', t.s_pending,
				'on_hold', t.s_on_hold, 'solved', t.s_solved, 'closed', t.s_closed),
			'by_priority', json_build_object('low', t.p_low, 'normal', t.p_normal,
				'high', t.p_high, 'urgent', t.p_urgent)),
		'sla', json_build_object(
			'first_response_compliance', t.fr_met::float8 / NULLIF(t.fr_decided, 0),
			'resolution_compliance', t.res_met::float8 / NULLIF(t.res_decided, 0),
			'breaches', (SELECT count(*) FROM analytics.breaches b WHERE b.tenant_id = p_tenant
			             AND b.due >= p_from AND b.due < p_to)),
		'times', json_build_object(
			'first_response_minutes_p50', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f.minutes)
				FROM analytics.first_responses f WHERE f.tenant_id = p_tenant
				AND f.at >= p_from AND f.at < p_to),
			'resolution_minutes_p50', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.minutes)
				FROM analytics.solves s WHERE s.tenant_id = p_tenant
				AND s.at >= p_from AND s.at < p_to)),
		'work_orders', json_build_object(
			'created', (SELECT count(*) FROM analytics.work_orders w WHERE w.tenant_id = p_tenant
			            AND w.created_at >= p_from AND w.created_at < p_to),
			'completed', (SELECT count(*) FROM analytics.work_orders w WHERE w.tenant_id = p_tenant
			              AND w.completed_at >= p_from AND w.completed_at < p_to)))
	FROM t
$$;

-- The instants of a metric's events in [p_from, p_to).
CREATE FUNCTION analytics.metric_events(p_tenant uuid, p_metric text, p_from timestamptz,
                                        p_to timestamptz)
RETURNS TABLE (at timestamptz) LANGUAGE sql STABLE AS $$
	SELECT x.created_at FROM analytics.tickets x WHERE p_metric = 'tickets.created'
		AND x.tenant_id = p_tenant AND x.created_at >= p_from AND x.created_at < p_to
	UNION ALL
	SELECT s.at FROM analytics.solves s WHERE p_metric = 'tickets.solved'
		AND s.tenant_id = p_tenant AND s.at >= p_from AND s.at < p_to
	UNION ALL
	SELECT b.due FROM analytics.breaches b WHERE p_metric = 'sla.breaches'
		AND b.tenant_id = p_tenant AND b.due >= p_from AND b.due < p_to
	UNION ALL
	SELECT w.completed_at FROM analytics.work_orders w WHERE p_metric = 'workorders.completed'
		AND w.tenant_id = p_tenant AND w.completed_at >= p_from AND w.completed_at < p_to
$$;

-- The tenant's time zone (UTC unless set).
CREATE FUNCTION analytics.tenant_tz(p_tenant uuid) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT s.timezone FROM analytics.settings s WHERE s.tenant_id = p_tenant), 'UTC')
$$;

-- Buckets of p_unit ('hour' or 'day') in time zone p_tz that meet [p_from,
-- p_to), each with the count of the metric's events in it (0 when none).
-- A local hour that does not exist (DST) is no bucket of its own.
CREATE FUNCTION analytics.buckets(p_tenant uuid, p_metric text, p_unit text, p_from timestamptz,
                                  p_to timestamptz, p_tz text)
RETURNS TABLE (t timestamptz, n bigint) LANGUAGE sql STABLE AS $$
	WITH b AS (SELECT DISTINCT g AT TIME ZONE p_tz AS t
	           FROM generate_series(date_trunc(p_unit, p_from AT TIME ZONE p_tz),
	                                p_to AT TIME ZONE p_tz, ('1 ' || p_unit)::interval) g),
	c AS (SELECT date_trunc(p_unit, e.at AT TIME ZONE p_tz) AT TIME ZONE p_tz AS t, count(*) AS n
	      FROM analytics.metric_events(p_tenant, p_metric, p_from, p_to) e GROUP BY 1)
	SELECT b.t, COALESCE(c.n, 0) FROM b LEFT JOIN c ON c.t = b.t WHERE b.t < p_to ORDER BY b.t
$$;

CREATE FUNCTION analytics.timeseries(p_tenant uuid, p_metric text, p_unit text,
                                     p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('metric', p_metric, 'interval', p_unit,
		'from', analytics.ts(p_from), 'to', analytics.ts(p_to), 'timezone', tz,
		'points', COALESCE((SELECT json_agg(json_build_object('t', analytics.ts(b.t), 'value', b.n)
		                    ORDER BY b.t)
		                    FROM analytics.buckets(p_tenant, p_metric, p_unit, p_from, p_to, tz) b),
		                   '[]'::json))
	FROM analytics.tenant_tz(p_tenant) tz
$$;

-- Per agent: moves to solved, first responses and ratings in the window.
CREATE FUNCTION analytics.agents(p_tenant uuid, p_from timestamptz, p_to timestamptz)
RETURNS json LANGUAGE sql STABLE AS $$
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
CREATE FUNCTION analytics.daily_history(p_tenant uuid, p_metric text, p_days integer,
                                        p_horizon integer)
RETURNS json LANGUAGE sql STABLE AS $$
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
