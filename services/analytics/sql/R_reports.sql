-- Repeatable (docs/adding-a-daemon.md): the current text of the time
-- series' bucket sums (docs/architecture.md "Analytics", Rollups), applied
-- after the numbered files and again whenever this file changes.

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

GRANT EXECUTE ON FUNCTION analytics.days_align(timestamptz, timestamptz, text) TO hd_app;
GRANT EXECUTE ON FUNCTION analytics.buckets(uuid, text, text, timestamptz, timestamptz, text) TO hd_app;
