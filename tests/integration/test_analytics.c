/* hd-analytics' rollups and set-based application against the test
 * PostgreSQL (services/analytics/sql/004_rollups.sql, R_events.sql, R_reports.sql;
 * docs/architecture.md "Analytics", "Rollups"). Synthetic hd-ticket events
 * over 400 days (tickets created, first responses, solves, reopen and solve
 * again, ratings, breaches, priority and status changes, deletes) for three
 * tenants: A's applied one event at a time as the bus path does (consume,
 * then the effect), B's and C's interleaved in runs of uneven lengths through
 * analytics.apply_events, as a replay page is. Checked: the three tenants end
 * with the same facts; every tenant's rollups equal their facts
 * (analytics.rollups_drift); the summary over windows with partial and whole
 * hours and days equals the same figures computed from the facts alone
 * (counts, compliance, exact percentile_cont medians); the time series of
 * every metric by hour and day, in a zone of whole hours and one of half
 * hours, equals the facts' buckets; work orders completed count in the
 * summary and the series (non-zero); the rollups hold nothing for a session
 * without a tenant; after analytics.rebuild_reset and a replay of every event
 * the figures are the same. Env: HD_TEST_DATABASE_URL (app role),
 * HD_TEST_DATABASE_ADMIN_URL (owner), HD_TEST_DATABASE_SUPER_URL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin_sql.h"
#include "hd/consumer.h"
#include "hd/db.h"
#include "hd/uuid.h"

#define TICKETS 700 /* per tenant: about 1,900 events */
#define WORK_ORDERS 90

static struct {
	const char *app_url, *admin_url, *super_url;
	char a[37], b[37], c[37];
	long long events; /* hd-ticket events applied (the last seq) */
	long long field_events;
	char *all_ticket_events; /* every hd-ticket event, for the rebuild */
	char *all_field_events;
} T;

/* hd-ticket events of tenant $1: $2 tickets numbered from $4 + 1, seqs from
 * $3, as a JSON array ordered by seq. */
static const char sql_ticket_events[]
    = "WITH t AS ( "
      "  SELECT g, md5('t' || g)::uuid AS id, "
      "         timestamptz '2025-11-01 00:00:00+00' + ((g::bigint * 7919) % (400 * 1440)) * "
      "interval '1 minute' "
      "           + (g % 60) * interval '1 second' + (g % 1000) * interval '1 millisecond' AS c, "
      "         (ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4] AS p, "
      "         md5('agent' || g % 3)::uuid AS agent "
      "  FROM generate_series($4::int + 1, $4::int + $2::int) g), "
      "o AS (SELECT t.*, CASE WHEN g % 3 <> 0 THEN c + interval '1 hour' END AS frd, "
      "             CASE WHEN g % 4 <> 0 THEN c + interval '1 day' END AS rsd, "
      "             CASE WHEN g % 2 = 0 THEN c + (g % 300) * interval '1 minute' + interval '17 "
      "seconds' END AS fra, "
      "             c + (g % 5000) * interval '1 minute' + interval '3 seconds' AS sa "
      "      FROM t), "
      "ev AS ( "
      "  SELECT g, 1 AS k, 'ticket.created' AS type, NULL::uuid AS actor, jsonb_build_object('id', "
      "id, "
      "    'status', CASE WHEN g % 17 = 0 THEN 'solved' ELSE 'new' END, 'priority', p, "
      "'assignee_id', NULL, "
      "    'created_at', c, 'updated_at', c, 'first_response_at', NULL, "
      "    'solved_at', CASE WHEN g % 17 = 0 THEN c END, "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)) AS data "
      "FROM o "
      "  UNION ALL "
      "  SELECT g, 2, 'comment.added', agent, jsonb_build_object('id', md5('c' || g)::uuid, "
      "'ticket_id', id, "
      "    'author_id', agent, 'public', true, 'created_at', fra, 'first_response', true) FROM o "
      "WHERE g % 2 = 0 "
      "  UNION ALL "
      "  SELECT g, 3, 'comment.added', agent, jsonb_build_object('id', md5('d' || g)::uuid, "
      "'ticket_id', id, "
      "    'author_id', agent, 'public', true, 'created_at', fra + interval '1 minute') FROM o "
      "WHERE g % 6 = 0 "
      "  UNION ALL "
      "  SELECT g, 4, 'ticket.updated', agent, jsonb_build_object('ticket', "
      "jsonb_build_object('id', id, "
      "    'status', 'solved', 'priority', p, 'assignee_id', agent, 'created_at', c, 'updated_at', "
      "sa, "
      "    'first_response_at', fra, 'solved_at', sa, "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)), "
      "    'changes', jsonb_build_object('status', jsonb_build_object('from', 'new', 'to', "
      "'solved'))) "
      "  FROM o WHERE g % 3 = 0 "
      "  UNION ALL "
      "  SELECT g, 5, 'ticket.updated', agent, jsonb_build_object('ticket', "
      "jsonb_build_object('id', id, "
      "    'status', 'open', 'priority', p, 'assignee_id', agent, 'created_at', c, "
      "    'updated_at', sa + interval '2 hours', 'first_response_at', fra, 'solved_at', NULL, "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)), "
      "    'changes', jsonb_build_object('status', jsonb_build_object('from', 'solved', 'to', "
      "'open'))) "
      "  FROM o WHERE g % 9 = 0 "
      "  UNION ALL "
      "  SELECT g, 6, 'ticket.updated', md5('agent' || (g + 1) % 3)::uuid, "
      "jsonb_build_object('ticket', "
      "    jsonb_build_object('id', id, 'status', 'solved', 'priority', p, 'assignee_id', agent, "
      "    'created_at', c, 'updated_at', sa + interval '5 hours', 'first_response_at', fra, "
      "    'solved_at', sa + interval '5 hours', "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)), "
      "    'changes', jsonb_build_object('status', jsonb_build_object('from', 'open', 'to', "
      "'solved'))) "
      "  FROM o WHERE g % 9 = 0 "
      "  UNION ALL "
      "  SELECT g, 7, 'ticket.updated', NULL, jsonb_build_object('ticket', "
      "jsonb_build_object('id', id, "
      "    'status', 'solved', 'priority', p, 'assignee_id', agent, 'created_at', c, "
      "    'updated_at', sa + interval '6 hours', 'first_response_at', fra, "
      "    'solved_at', sa + CASE WHEN g % 9 = 0 THEN interval '5 hours' ELSE interval '0' END, "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)), "
      "    'changes', jsonb_build_object('satisfaction', jsonb_build_object('from', NULL, "
      "      'to', CASE WHEN g % 2 = 0 THEN 'good' ELSE 'bad' END))) "
      "  FROM o WHERE g % 15 = 0 "
      "  UNION ALL "
      "  SELECT g, 8, 'sla.breached', NULL, jsonb_build_object('ticket_id', id, 'target', "
      "'resolution', "
      "    'due', rsd) FROM o WHERE g % 5 = 0 AND rsd IS NOT NULL "
      "  UNION ALL "
      "  SELECT g, 9, 'sla.breached', NULL, jsonb_build_object('ticket_id', id, 'target', "
      "'first_response', "
      "    'due', frd) FROM o WHERE g % 10 = 5 AND frd IS NOT NULL AND fra IS NULL "
      "  UNION ALL "
      "  SELECT g, 10, 'ticket.updated', agent, jsonb_build_object('ticket', "
      "jsonb_build_object('id', id, "
      "    'status', CASE WHEN g % 3 = 0 THEN 'closed' ELSE 'pending' END, 'priority', 'urgent', "
      "    'assignee_id', agent, 'created_at', c, 'updated_at', sa + interval '7 hours', "
      "    'first_response_at', fra, 'solved_at', CASE WHEN g % 3 = 0 THEN sa END, "
      "    'sla', jsonb_build_object('first_response_due', frd, 'resolution_due', rsd)), "
      "    'changes', jsonb_build_object('priority', jsonb_build_object('from', p, 'to', "
      "'urgent'))) "
      "  FROM o WHERE g % 8 = 1 "
      "  UNION ALL "
      "  SELECT g, 11, 'ticket.deleted', agent, jsonb_build_object('id', id, 'requester_id', NULL) "
      "  FROM o WHERE g % 11 = 0) "
      "SELECT json_agg(json_build_object('seq', $3::bigint + rn - 1, 'type', type, 'tenant_id', "
      "$1::uuid, "
      "  'id', md5(g || '-' || k)::uuid, 'actor', actor, 'data', data) ORDER BY rn)::text "
      "FROM (SELECT ev.*, row_number() OVER (ORDER BY g, k) AS rn FROM ev) x ";

/* hd-field events of tenant $1: $2 work orders, seqs from $3; every third
 * one completed three hours after its creation. */
static const char sql_field_events[]
    = "WITH w AS (SELECT g, md5('w' || g)::uuid AS id, timestamptz '2025-11-01 00:00:00+00'"
      " + ((g::bigint * 104729) % (400 * 1440)) * interval '1 minute' AS c"
      " FROM generate_series($4::int + 1, $4::int + $2::int) g),"
      " ev AS (SELECT g, 1 AS k, 'workorder.created' AS type, jsonb_build_object('work_order',"
      " jsonb_build_object('id', id, 'created_at', c, 'completed_at', NULL)) AS data FROM w"
      " UNION ALL SELECT g, 2, 'workorder.dispatched', jsonb_build_object('work_order',"
      " jsonb_build_object('id', id, 'created_at', c)) FROM w WHERE g % 2 = 0"
      " UNION ALL SELECT g, 3, 'workorder.completed', jsonb_build_object('work_order',"
      " jsonb_build_object('id', id, 'created_at', c, 'completed_at', c + interval '3 hours'))"
      " FROM w WHERE g % 3 = 0)"
      " SELECT json_agg(json_build_object('seq', $3::bigint + rn - 1, 'type', type,"
      " 'tenant_id', $1::uuid, 'id', md5('we' || g || '-' || k)::uuid, 'actor', NULL,"
      " 'data', data) ORDER BY rn)::text"
      " FROM (SELECT ev.*, row_number() OVER (ORDER BY g, k) AS rn FROM ev) x";

/* The summary from the facts alone (no rollup): $1 tenant, $2 from, $3 to. */
static const char sql_summary_from_facts[]
    = "WITH t AS (SELECT count(*) AS created,"
      " count(*) FILTER (WHERE x.status IN ('new', 'open', 'pending', 'on_hold')) AS open,"
      " count(*) FILTER (WHERE x.status = 'new') AS s_new,"
      " count(*) FILTER (WHERE x.status = 'open') AS s_open,"
      " count(*) FILTER (WHERE x.status = 'pending') AS s_pending,"
      " count(*) FILTER (WHERE x.status = 'on_hold') AS s_on_hold,"
      " count(*) FILTER (WHERE x.status = 'solved') AS s_solved,"
      " count(*) FILTER (WHERE x.status = 'closed') AS s_closed,"
      " count(*) FILTER (WHERE x.priority = 'low') AS p_low,"
      " count(*) FILTER (WHERE x.priority = 'normal') AS p_normal,"
      " count(*) FILTER (WHERE x.priority = 'high') AS p_high,"
      " count(*) FILTER (WHERE x.priority = 'urgent') AS p_urgent,"
      " count(*) FILTER (WHERE x.first_response_at <= x.first_response_due) AS fr_met,"
      " count(*) FILTER (WHERE x.first_response_due IS NOT NULL"
      "  AND (x.first_response_at IS NOT NULL OR x.fr_breached)) AS fr_decided,"
      " count(*) FILTER (WHERE x.solved_at <= x.resolution_due) AS res_met,"
      " count(*) FILTER (WHERE x.resolution_due IS NOT NULL"
      "  AND (x.solved_at IS NOT NULL OR x.res_breached)) AS res_decided"
      " FROM analytics.tickets x WHERE x.tenant_id = $1 AND x.created_at >= $2"
      " AND x.created_at < $3)"
      " SELECT json_build_object('from', analytics.ts($2), 'to', analytics.ts($3),"
      " 'tickets', json_build_object('created', t.created,"
      "  'solved', (SELECT count(*) FROM analytics.solves s WHERE s.tenant_id = $1"
      "   AND s.at >= $2 AND s.at < $3), 'open', t.open,"
      "  'by_status', json_build_object('new', t.s_new, 'open', t.s_open, 'pending',"
      "   t.s_pending, 'on_hold', t.s_on_hold, 'solved', t.s_solved, 'closed', t.s_closed),"
      "  'by_priority', json_build_object('low', t.p_low, 'normal', t.p_normal,"
      "   'high', t.p_high, 'urgent', t.p_urgent)),"
      " 'sla', json_build_object("
      "  'first_response_compliance', t.fr_met::float8 / NULLIF(t.fr_decided, 0),"
      "  'resolution_compliance', t.res_met::float8 / NULLIF(t.res_decided, 0),"
      "  'breaches', (SELECT count(*) FROM analytics.breaches b WHERE b.tenant_id = $1"
      "   AND b.due >= $2 AND b.due < $3)),"
      " 'times', json_build_object('first_response_minutes_p50', (SELECT percentile_cont(0.5)"
      "  WITHIN GROUP (ORDER BY f.minutes) FROM analytics.first_responses f"
      "  WHERE f.tenant_id = $1 AND f.at >= $2 AND f.at < $3),"
      "  'resolution_minutes_p50', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY"
      "  s.minutes) FROM analytics.solves s WHERE s.tenant_id = $1 AND s.at >= $2"
      "  AND s.at < $3)),"
      " 'work_orders', json_build_object('created', (SELECT count(*) FROM"
      "  analytics.work_orders w WHERE w.tenant_id = $1 AND w.created_at >= $2"
      "  AND w.created_at < $3), 'completed', (SELECT count(*) FROM analytics.work_orders w"
      "  WHERE w.tenant_id = $1 AND w.completed_at >= $2 AND w.completed_at < $3)))::jsonb"
      " FROM t";

/* The buckets from the facts alone: $1 tenant, $2 metric, $3 unit, $4 from,
 * $5 to, $6 zone; a JSON array of [t, n]. */
static const char sql_buckets_from_facts[]
    = "WITH b AS (SELECT DISTINCT g AT TIME ZONE $6 AS t FROM generate_series("
      " date_trunc($3, $4::timestamptz AT TIME ZONE $6), $5::timestamptz AT TIME ZONE $6,"
      " ('1 ' || $3)::interval) g),"
      " c AS (SELECT date_trunc($3, e.at AT TIME ZONE $6) AT TIME ZONE $6 AS t, count(*) AS n"
      " FROM analytics.metric_events($1, $2, $4, $5) e GROUP BY 1)"
      " SELECT jsonb_agg(jsonb_build_array(b.t, COALESCE(c.n, 0)) ORDER BY b.t)"
      " FROM b LEFT JOIN c ON c.t = b.t WHERE b.t < $5";
static const char sql_buckets_kept[] = "SELECT jsonb_agg(jsonb_build_array(x.t, x.n) ORDER BY x.t)"
                                       " FROM analytics.buckets($1, $2, $3, $4, $5, $6) x";

static const char *const windows[][2] = {
	{ "2025-10-01T00:00:00Z", "2027-01-01T00:00:00Z" }, /* everything */
	{ "2025-12-03T10:17:23.5Z", "2026-03-02T19:44:01Z" }, /* partial hours and days */
	{ "2026-01-10T00:00:00Z", "2026-04-10T00:00:00Z" }, /* whole days: 90 */
	{ "2026-02-01T05:00:00Z", "2026-02-03T05:00:00Z" }, /* whole hours, partial days */
	{ "2026-02-11T06:10:00Z", "2026-02-11T06:50:00Z" }, /* inside one hour */
	{ "2026-05-20T23:30:00Z", "2026-05-21T00:30:00Z" }, /* over midnight, no whole hour */
};

static char *sql_text(const char *url, const char *sql, int n, const char *const *p)
{
	char *v = NULL;
	hd_err err = hd_db_exec_sync(url, sql, n, p, &v);
	if (err != HD_OK)
		fail_msg("%s: %s", hd_strerror(err), sql);
	return v;
}

static char *events_make(const char *sql, const char *tenant, int count, long long first_seq)
{
	char n[16], seq[24];
	snprintf(n, sizeof n, "%d", count);
	snprintf(seq, sizeof seq, "%lld", first_seq);
	const char *p[4] = { tenant, n, seq, "0" };
	return sql_text(T.super_url, sql, 4, p);
}

/* Applies events[from, to) (0-based positions of the JSON array) as one run. */
static void run_apply(const char *source, const char *events, long long from, long long to)
{
	char lo[24], hi[24];
	snprintf(lo, sizeof lo, "%lld", from);
	snprintf(hi, sizeof hi, "%lld", to);
	const char *p[4] = { source, events, lo, hi };
	free(sql_text(T.app_url,
	    "SELECT analytics.apply_events($1, (SELECT json_agg(e ORDER BY o) FROM"
	    " json_array_elements($2::json) WITH ORDINALITY x(e, o) WHERE o > $3::int"
	    " AND o <= $4::int))",
	    4, p));
}

/* Applies every event one at a time as the bus path does: consume, then the
 * effect statement (each call sees the ones before it). */
static void one_by_one_apply(const char *events)
{
	const char *p[1] = { events };
	free(sql_text(T.app_url,
	    "SELECT count(*) FROM (SELECT analytics.consume('ticket', e.seq),"
	    " analytics.apply_ticket_event(e.tenant_id, e.type, e.data, e.id, e.seq, e.actor)"
	    " FROM json_to_recordset($1::json) AS e(seq bigint, type text, tenant_id uuid,"
	    " id uuid, actor uuid, data json) ORDER BY e.seq) x",
	    1, p));
}

/* Applies a JSON array of events in runs of uneven lengths (1 to ~700). */
static void runs_apply(const char *source, const char *events)
{
	long long n = admin_value(T.super_url, "SELECT json_array_length($1::json)", events, NULL);
	long long at = 0;
	for (int k = 0; at < n; k++) {
		long long len = k % 4 == 0 ? 1 : 97 + (k * 211) % 600;
		run_apply(source, events, at, at + len < n ? at + len : n);
		at += len;
	}
}

static int setup(void **state)
{
	(void)state;
	T.app_url = getenv("HD_TEST_DATABASE_URL");
	T.admin_url = getenv("HD_TEST_DATABASE_ADMIN_URL");
	T.super_url = getenv("HD_TEST_DATABASE_SUPER_URL");
	if (T.app_url == NULL || T.admin_url == NULL || T.super_url == NULL) {
		fprintf(stderr, "HD_TEST_DATABASE_URL, _ADMIN_URL and _SUPER_URL must be set\n");
		return -1;
	}
	if (hd_uuid_v7(T.a) != HD_OK || hd_uuid_v7(T.b) != HD_OK || hd_uuid_v7(T.c) != HD_OK)
		return -1;
	if (hd_db_migrate_ex(T.admin_url, "analytics", HD_TEST_ROOT "/services/analytics/sql",
	        hd_consumer_migrations)
	    != HD_OK)
		return -1;
	/* a clean slate when the database served an earlier run */
	return hd_db_exec_sync(T.app_url, "SELECT analytics.rebuild_reset()", 0, NULL, NULL)
	        == HD_OK
	    ? 0
	    : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(T.all_ticket_events);
	free(T.all_field_events);
	return 0;
}

/* B's and C's events interleaved (B1 C1 B2 C2 ...), renumbered from first. */
static char *events_interleave(const char *b, const char *c, long long first)
{
	char seq[24];
	snprintf(seq, sizeof seq, "%lld", first);
	const char *p[3] = { b, c, seq };
	return sql_text(T.super_url,
	    "SELECT json_agg(jsonb_set(y.e, '{seq}', to_jsonb(y.rn + $3::bigint - 1)) ORDER BY"
	    " y.rn)::text FROM (SELECT e, row_number() OVER (ORDER BY o, t) AS rn FROM ("
	    "SELECT e, o, 1 AS t FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY x(e, o)"
	    " UNION ALL SELECT e, o, 2 FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY"
	    " x(e, o)) z) y",
	    3, p);
}

/* The concatenation of two JSON arrays. */
static char *events_concat(const char *x, const char *y)
{
	const char *p[2] = { x, y };
	return sql_text(T.super_url, "SELECT ($1::jsonb || $2::jsonb)::text", 2, p);
}

/* Rows by which a tenant's facts differ from A's (tickets, first
 * responses, solves, breaches, ratings). */
static long long facts_differ(const char *tenant)
{
	return admin_value(T.super_url,
	    "SELECT (SELECT count(*) FROM (SELECT ticket_id, created_at, status, priority,"
	    " assignee_id, first_response_at, first_response_due, resolution_due, solved_at,"
	    " fr_breached, res_breached, tenant_id = $1 FROM analytics.tickets WHERE tenant_id"
	    " IN ($1, $2) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 HAVING count(*) <> 1) x)"
	    " + (SELECT count(*) FROM analytics.tickets WHERE tenant_id = $1)"
	    " - (SELECT count(*) FROM analytics.tickets WHERE tenant_id = $2)"
	    " + (SELECT count(*) FROM ((SELECT ticket_id, at, agent_id, minutes FROM"
	    " analytics.first_responses WHERE tenant_id = $1 EXCEPT SELECT ticket_id, at,"
	    " agent_id, minutes FROM analytics.first_responses WHERE tenant_id = $2) UNION ALL"
	    " (SELECT ticket_id, at, agent_id, minutes FROM analytics.solves WHERE tenant_id = $1"
	    " EXCEPT SELECT ticket_id, at, agent_id, minutes FROM analytics.solves WHERE"
	    " tenant_id = $2) UNION ALL (SELECT ticket_id, due, NULL::uuid, NULL::float8 FROM"
	    " analytics.breaches WHERE tenant_id = $1 EXCEPT SELECT ticket_id, due, NULL, NULL"
	    " FROM analytics.breaches WHERE tenant_id = $2) UNION ALL (SELECT ticket_id, at,"
	    " agent_id, good::int FROM analytics.ratings WHERE tenant_id = $1 EXCEPT SELECT"
	    " ticket_id, at, agent_id, good::int FROM analytics.ratings WHERE tenant_id = $2)) y)"
	    " + abs((SELECT count(*) FROM analytics.first_responses WHERE tenant_id = $1)"
	    " + (SELECT count(*) FROM analytics.solves WHERE tenant_id = $1)"
	    " + (SELECT count(*) FROM analytics.breaches WHERE tenant_id = $1)"
	    " + (SELECT count(*) FROM analytics.ratings WHERE tenant_id = $1)"
	    " - (SELECT count(*) FROM analytics.first_responses WHERE tenant_id = $2)"
	    " - (SELECT count(*) FROM analytics.solves WHERE tenant_id = $2)"
	    " - (SELECT count(*) FROM analytics.breaches WHERE tenant_id = $2)"
	    " - (SELECT count(*) FROM analytics.ratings WHERE tenant_id = $2))",
	    tenant, T.a);
}

static void drift_none(const char *tenant)
{
	char *d = admin_text(
	    T.super_url, "SELECT json_agg(d)::text FROM analytics.rollups_drift($1) d", tenant);
	if (d != NULL)
		fail_msg("rollups differ from the facts of %s: %.2000s", tenant, d);
}

/* The summary from the rollups equals the one from the facts, per window. */
static void summaries_check(const char *tenant)
{
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
		const char *p[3] = { tenant, windows[i][0], windows[i][1] };
		char *kept = sql_text(
		    T.super_url, "SELECT analytics.summary($1, $2, $3)::jsonb::text", 3, p);
		char *facts = sql_text(T.super_url, sql_summary_from_facts, 3, p);
		const char *q[2] = { kept, facts };
		char *same = sql_text(T.super_url, "SELECT $1::jsonb = $2::jsonb", 2, q);
		if (strcmp(same, "t") != 0)
			fail_msg("summary %s..%s\n  rollups %s\n  facts   %s", windows[i][0],
			    windows[i][1], kept, facts);
		free(same);
		free(kept);
		free(facts);
	}
}

/* Every metric by hour and day in zone: the rollups' buckets equal the facts'. */
static void series_check(const char *tenant, const char *zone)
{
	static const char *const metrics[]
	    = { "tickets.created", "tickets.solved", "sla.breaches", "workorders.completed" };
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
		for (size_t m = 0; m < 4; m++)
			for (int hourly = 0; hourly < 2; hourly++) {
				if (hourly && i < 2)
					continue; /* at most 10,000 hour buckets, as the API */
				const char *p[6] = { tenant, metrics[m], hourly ? "hour" : "day",
					windows[i][0], windows[i][1], zone };
				char *kept = sql_text(T.super_url, sql_buckets_kept, 6, p);
				char *facts = sql_text(T.super_url, sql_buckets_from_facts, 6, p);
				if (strcmp(kept, facts) != 0)
					fail_msg(
					    "%s by %s in %s, %s..%s:\n  rollups %.1500s\n  facts "
					    "  %.1500s",
					    metrics[m], p[2], zone, windows[i][0], windows[i][1],
					    kept, facts);
				free(kept);
				free(facts);
			}
}

static void figures_check(void)
{
	assert_int_equal(facts_differ(T.b), 0);
	assert_int_equal(facts_differ(T.c), 0);
	drift_none(T.a);
	drift_none(T.b);
	drift_none(T.c);
	summaries_check(T.a);
	summaries_check(T.b);
	series_check(T.b, "Asia/Kolkata"); /* +05:30: UTC hours straddle its days */
	series_check(T.b, "America/New_York");
	series_check(T.b, "UTC");
}

static void test_pages_equal_one_by_one(void **state)
{
	(void)state;
	char *a = events_make(sql_ticket_events, T.a, TICKETS, 1);
	long long na = admin_value(T.super_url, "SELECT json_array_length($1::json)", a, NULL);
	char *b = events_make(sql_ticket_events, T.b, TICKETS, 1);
	char *c = events_make(sql_ticket_events, T.c, TICKETS, 1);
	char *bc = events_interleave(b, c, na + 1);
	one_by_one_apply(a);
	runs_apply("ticket", bc);
	T.events = na * 3;
	assert_int_equal(
	    admin_value(T.super_url,
	        "SELECT last_seq FROM analytics.consumed WHERE source = 'ticket'", NULL, NULL),
	    T.events);
	T.all_ticket_events = events_concat(a, bc);
	T.all_field_events = events_make(sql_field_events, T.b, WORK_ORDERS, 1);
	runs_apply("field", T.all_field_events);
	/* the generator deletes and solves some tickets, breaches others */
	assert_true(admin_value(T.super_url,
	                "SELECT count(*) FROM analytics.tickets WHERE tenant_id = $1", T.b, NULL)
	    < TICKETS);
	assert_true(admin_value(T.super_url,
	                "SELECT count(*) FROM analytics.breaches WHERE tenant_id = $1", T.b, NULL)
	    > 0);
	figures_check();
	free(a);
	free(b);
	free(c);
	free(bc);
}

/* Work orders completed: every third of B's, counted in the summary and the series. */
static void test_work_orders_completed(void **state)
{
	(void)state;
	const long long completed = WORK_ORDERS / 3;
	char *n = admin_text(T.super_url,
	    "SELECT (analytics.summary($1, '2025-01-01', '2028-01-01') -> 'work_orders'"
	    " ->> 'completed')",
	    T.b);
	assert_non_null(n);
	assert_int_equal(strtoll(n, NULL, 10), completed);
	free(n);
	assert_int_equal(admin_value(T.super_url,
	                     "SELECT sum(x.n) FROM analytics.buckets($1, 'workorders.completed',"
	                     " 'day', '2025-10-01', '2027-01-01', 'Asia/Kolkata') x",
	                     T.b, NULL),
	    completed);
	assert_int_equal(admin_value(T.super_url,
	                     "SELECT (analytics.summary($1, '2025-01-01', '2028-01-01') ->"
	                     " 'work_orders' ->> 'created')::int",
	                     T.b, NULL),
	    WORK_ORDERS);
}

/* The rollups are tenant tables: nothing without app.tenant_id. */
static void test_rollups_row_level_security(void **state)
{
	(void)state;
	assert_true(
	    admin_value(T.super_url, "SELECT count(*) FROM analytics.hours", NULL, NULL) > 0);
	assert_int_equal(admin_value(T.app_url,
	                     "SELECT (SELECT count(*) FROM analytics.hours)"
	                     " + (SELECT count(*) FROM analytics.minutes_days)",
	                     NULL, NULL),
	    0);
}

/* --rebuild's reset, then every event again: the same figures. */
static void test_rebuild_same_figures(void **state)
{
	(void)state;
	char *before = admin_text(T.super_url,
	    "SELECT json_agg(analytics.summary($1, w.f, w.t) ORDER BY w.f)::text FROM (VALUES"
	    " ('2025-12-03T10:17:23.5Z'::timestamptz, '2026-03-02T19:44:01Z'::timestamptz),"
	    " ('2025-01-01', '2028-01-01')) w(f, t)",
	    T.b);
	assert_int_equal(
	    hd_db_exec_sync(T.app_url, "SELECT analytics.rebuild_reset()", 0, NULL, NULL), HD_OK);
	assert_int_equal(
	    admin_value(T.super_url, "SELECT count(*) FROM analytics.hours", NULL, NULL), 0);
	runs_apply("ticket", T.all_ticket_events);
	runs_apply("field", T.all_field_events);
	char *after = admin_text(T.super_url,
	    "SELECT json_agg(analytics.summary($1, w.f, w.t) ORDER BY w.f)::text FROM (VALUES"
	    " ('2025-12-03T10:17:23.5Z'::timestamptz, '2026-03-02T19:44:01Z'::timestamptz),"
	    " ('2025-01-01', '2028-01-01')) w(f, t)",
	    T.b);
	assert_string_equal(after, before);
	free(before);
	free(after);
	figures_check();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages_equal_one_by_one),
		cmocka_unit_test(test_work_orders_completed),
		cmocka_unit_test(test_rollups_row_level_security),
		cmocka_unit_test(test_rebuild_same_figures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
