-- Repeatable (docs/adding-a-daemon.md): the current text of the helpers the
-- application (R_events.sql) and the reports (R_reports.sql) share: time
-- formats, UTC hours and days, what a fact adds to the rollups, the facts of
-- a span (docs/architecture.md "Analytics"). Applied after the numbered
-- files and the shared ones, again whenever this file changes; SQL-language
-- functions first name the ones they call, so the order below matters on a
-- new database. analytics.minutes_bucket stays in 004_rollups.sql: the
-- stored bucket columns are computed by it (a new text would need them
-- rewritten, a migration, not a repeatable file).

-- RFC 3339 UTC with milliseconds, the API's one time format.
CREATE OR REPLACE FUNCTION analytics.ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Minutes from a to b (fractional), as float8 for percentile_cont.
CREATE OR REPLACE FUNCTION analytics.minutes(a timestamptz, b timestamptz) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (extract(epoch FROM (b - a)) / 60)::double precision
$$;
-- ---- rollup rows ----

-- A UTC hour's (or day's) start.
CREATE OR REPLACE FUNCTION analytics.utc_hour(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('hour', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;
CREATE OR REPLACE FUNCTION analytics.utc_day(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

-- What a ticket row adds to its creation hour (s = 1), or takes away (s = -1).
CREATE OR REPLACE FUNCTION analytics.ticket_hour(x analytics.tickets, s integer) RETURNS analytics.hours
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
CREATE OR REPLACE FUNCTION analytics.fact_hour(p_tenant uuid, at timestamptz, solved integer,
                                    breaches integer, wo_created integer, wo_completed integer)
RETURNS analytics.hours LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(p_tenant, analytics.utc_hour(at), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		solved, breaches, wo_created, wo_completed, 1)::analytics.hours
$$;

-- A first response (kind 1) or solve (kind 2) counted in its day's histogram.
CREATE OR REPLACE FUNCTION analytics.minutes_row(p_tenant uuid, p_kind smallint, at timestamptz,
                                      bucket smallint, n integer)
RETURNS analytics.minutes_days LANGUAGE sql IMMUTABLE AS $$
	SELECT ROW(p_tenant, p_kind, analytics.utc_day(at), bucket, n)::analytics.minutes_days
$$;

-- The analytics.hours rows of [p_lo, p_hi) computed from the facts: the
-- partial hours at a window's edges, the backfill, and the tests' check
-- that the kept rollup equals the facts (analytics.rollups_drift).
CREATE OR REPLACE FUNCTION analytics.hours_from_facts(p_tenant uuid, p_lo timestamptz, p_hi timestamptz)
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
CREATE OR REPLACE FUNCTION analytics.minutes_facts(p_tenant uuid, p_kind smallint, p_lo timestamptz,
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
CREATE OR REPLACE FUNCTION analytics.rollups_drift(p_tenant uuid)
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

-- The instants of a metric's events in [p_from, p_to).
CREATE OR REPLACE FUNCTION analytics.metric_events(p_tenant uuid, p_metric text, p_from timestamptz,
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
CREATE OR REPLACE FUNCTION analytics.tenant_tz(p_tenant uuid) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT COALESCE((SELECT s.timezone FROM analytics.settings s WHERE s.tenant_id = p_tenant), 'UTC')
$$;

-- [p_from, p_to) cut at whole units (p_unit: 1 hour or 24 hours, from UTC
-- midnight): [p_from, a) and [b, p_to) are partial, [a, b) whole (empty
-- when the window holds no whole unit: then a = b = p_to).
CREATE OR REPLACE FUNCTION analytics.window_split(p_from timestamptz, p_to timestamptz, p_unit interval)
RETURNS TABLE (a timestamptz, b timestamptz) LANGUAGE sql IMMUTABLE AS $$
	SELECT LEAST(c.up, p_to), GREATEST(c.down, LEAST(c.up, p_to))
	FROM (SELECT CASE WHEN f.start = p_from THEN p_from ELSE f.start + p_unit END AS up,
	             f.down
	      FROM (SELECT CASE WHEN p_unit = interval '1 hour' THEN analytics.utc_hour(p_from)
	                        ELSE analytics.utc_day(p_from) END AS start,
	                   CASE WHEN p_unit = interval '1 hour' THEN analytics.utc_hour(p_to)
	                        ELSE analytics.utc_day(p_to) END AS down) f) c
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO hd_app;
