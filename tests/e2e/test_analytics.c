/* End to end: hd-analytics (docs/architecture.md "Analytics"). A burst of
 * writes over HTTP in a fresh tenant (tickets, first responses, solves,
 * reopen and solve again, ratings, deletes, SLA breaches, work orders), with
 * hd-analytics killed (SIGKILL) in the middle and started again; once its
 * positions reach the sources' last events, summary, timeseries (day, in
 * the tenant's time zone) and agents equal the same figures computed by SQL
 * from hd-ticket's and hd-field's own tables. Then `hd-analytics --rebuild`
 * ends with the same figures. Every route and role (customers and
 * technicians 403), bad parameters 422, CSV parsed back equal to the JSON,
 * the forecast's shape, and hd_analytics_lag_seconds in /metrics.
 * Environment as tickets_e2e.h, plus HD_TEST_STACK_CTL and
 * HD_TEST_DATABASE_SUPER_URL (the source tables are read past row-level
 * security), HD_ANALYTICS_ADMIN_PORT. */
#include <math.h>
#include <time.h>
#include <unistd.h>
#include "hd/db.h"
#include "tickets_e2e.h"

#define BURST 240
#define WAIT_S 90
#define TZ "America/New_York"

static struct {
	char tenant[37];
	char from[40], to[40];
} A;

static void stack(const char *verb, const char *name, const char *arg)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s %s %s", httpc_env("HD_TEST_STACK_CTL"), verb, name,
	    arg != NULL ? arg : "");
	assert_int_equal(system(cmd), 0);
}

/* The first value of sql over the super URL (params: the tenant, from, to). */
static char *sql_value(const char *sql)
{
	char *v = NULL;
	const char *p[3] = { A.tenant, A.from, A.to };
	int n = (int)(strstr(sql, "$3") != NULL ? 3 : strstr(sql, "$1") != NULL ? 1 : 0);
	assert_int_equal(
	    hd_db_exec_sync(httpc_env("HD_TEST_DATABASE_SUPER_URL"), sql, n, p, &v), HD_OK);
	return v;
}

static int setup(void **state)
{
	(void)state;
	httpc_resp r;
	if (tk_setup("an") != 0)
		return -1;
	if (httpc_call(&r, "GET", "/v1/tenants/current", W.admin, NULL, NULL, NULL) != 0)
		return -1;
	snprintf(A.tenant, sizeof A.tenant, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	return 0;
}

/* Two JSON values equal, numbers within a relative 1e-9. */
static bool json_close(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return fabs(a->valuedouble - b->valuedouble)
		    <= 1e-9 * fmax(1.0, fabs(a->valuedouble));
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return false;
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsArray(a) || cJSON_IsObject(a)) {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		const cJSON *y = b->child;
		for (const cJSON *x = a->child; x != NULL; x = x->next, y = y->next) {
			const cJSON *other = cJSON_IsObject(a)
			    ? cJSON_GetObjectItemCaseSensitive(b, x->string)
			    : y;
			if (other == NULL || !json_close(x, other))
				return false;
		}
	}
	return true;
}

static void expect_close(const cJSON *got, const char *want_json, const char *what)
{
	cJSON *want = cJSON_Parse(want_json);
	assert_non_null(want);
	if (!json_close(got, want)) {
		char *g = cJSON_PrintUnformatted(got);
		fprintf(stderr, "%s: analytics %s\n  source SQL %s\n", what, g, want_json);
		free(g);
		fail();
	}
	cJSON_Delete(want);
}

/* ---- the burst ---- */

static void patch(const char *id, const char *token, const char *body)
{
	char path[128];
	tk_path(path, sizeof path, id, "");
	expect(200, "PATCH", path, token, body);
}

/* One ticket's life, chosen by i: first response, assignment, solve,
 * reopen and solve again, rating, delete. */
static void ticket_life(int i)
{
	char id[37], path[160], body[200];
	snprintf(body, sizeof body, "{\"subject\":\"burst %d\",\"priority\":\"%s\"}", i,
	    (const char *[]) { "low", "normal", "high", "urgent" }[i % 4]);
	cJSON *t = ticket_new(W.cust1, body);
	snprintf(id, sizeof id, "%s", jstr(t, "id"));
	cJSON_Delete(t);
	if (i % 2 == 0) {
		tk_path(path, sizeof path, id, "/comments");
		expect(201, "POST", path, i % 4 == 0 ? W.agent : W.admin, "{\"body\":\"on it\"}");
	}
	if (i % 3 == 0) {
		snprintf(body, sizeof body, "{\"assignee_id\":\"%s\"}", W.agent_id);
		patch(id, W.admin, body);
		patch(id, i % 2 == 0 ? W.agent : W.admin, "{\"status\":\"solved\"}");
		if (i % 9 == 0) {
			patch(id, W.agent, "{\"status\":\"open\"}");
			patch(id, W.agent, "{\"status\":\"solved\"}");
		}
		if (i % 5 == 0) {
			tk_path(path, sizeof path, id, "/satisfaction");
			expect(201, "POST", path, W.cust1,
			    i % 2 == 0 ? "{\"rating\":\"good\"}" : "{\"rating\":\"bad\"}");
		}
	} else if (i % 4 == 1) {
		patch(id, W.agent, "{\"status\":\"pending\"}");
	}
	if (i % 11 == 0) {
		tk_path(path, sizeof path, id, "");
		expect(204, "DELETE", path, W.admin, NULL);
	}
}

static void work_order_new(int i)
{
	char body[512];
	snprintf(body, sizeof body,
	    "{\"title\":\"wo %d\",\"location\":{\"lat\":45.75,\"lon\":4.85},\"window\":{\"start\":"
	    "\"2031-03-03T09:00:00Z\",\"end\":\"2031-03-03T11:00:00Z\"}}",
	    i);
	expect(201, "POST", "/v1/work-orders", W.agent, body);
}

/* Some open tickets' SLA targets set in hd-ticket's table (no policy
 * needed), in the past for some: its breach detector reports those
 * (sla.breached). Each such ticket is then edited over HTTP, so that a
 * ticket.updated event carries its new targets, as a policy's would. */
static void breaches_force(void)
{
	char *ids = sql_value(
	    "WITH u AS (UPDATE ticket.tickets t SET"
	    " first_response_due = now() + CASE WHEN t.number % 3 = 0 THEN interval '-1 minute'"
	    " ELSE interval '1 day' END,"
	    " resolution_due = now() + CASE WHEN t.number % 3 = 2 THEN interval '-2 minutes'"
	    " ELSE interval '2 days' END"
	    " WHERE t.tenant_id = $1 AND t.deleted_at IS NULL AND t.number % 2 = 0"
	    " AND t.status IN ('new', 'open') RETURNING t.id)"
	    " SELECT COALESCE(json_agg(id), '[]')::text FROM u");
	cJSON *list = cJSON_Parse(ids);
	const cJSON *id;
	assert_true(cJSON_GetArraySize(list) > 0);
	cJSON_ArrayForEach(id, list)
	{
		patch(id->valuestring, W.agent, "{\"tags\":[\"sla\"]}");
	}
	cJSON_Delete(list);
	free(ids);
}

/* True while a target of the tenant is missed but not reported yet. */
static bool breaches_pending(void)
{
	char *v = sql_value(
	    "SELECT count(*) FROM ticket.tickets t WHERE t.tenant_id = $1 AND t.deleted_at IS NULL"
	    " AND ((t.first_response_at IS NULL AND t.first_response_due <= now()"
	    "       AND NOT EXISTS (SELECT 1 FROM ticket.outbox o WHERE o.tenant_id = t.tenant_id"
	    "       AND o.sla_ticket_id = t.id AND o.sla_target = 'first_response'))"
	    "  OR (t.status IN ('new', 'open') AND t.resolution_due <= now()"
	    "       AND NOT EXISTS (SELECT 1 FROM ticket.outbox o WHERE o.tenant_id = t.tenant_id"
	    "       AND o.sla_ticket_id = t.id AND o.sla_target = 'resolution')))");
	bool pending = v == NULL || atoi(v) > 0;
	free(v);
	return pending;
}

/* True once every event of both sources is published and applied. */
static bool analytics_level(void)
{
	char *v = sql_value("SELECT (SELECT count(*) FROM ticket.outbox WHERE published_at IS NULL)"
	                    " + (SELECT count(*) FROM field.outbox WHERE published_at IS NULL) = 0"
	                    " AND (SELECT last_seq FROM analytics.consumed WHERE source = 'ticket')"
	                    "   = (SELECT max(pub_seq) FROM ticket.outbox)"
	                    " AND (SELECT last_seq FROM analytics.consumed WHERE source = 'field')"
	                    "   = (SELECT max(pub_seq) FROM field.outbox)");
	bool level = v != NULL && strcmp(v, "t") == 0;
	free(v);
	return level;
}

static void wait_level(void)
{
	for (int i = 0; i < WAIT_S * 5 && !analytics_level(); i++)
		usleep(200000);
	assert_true(analytics_level());
}

static cJSON *get_json(const char *path, const char *token)
{
	httpc_resp r;
	long got = req(&r, "GET", path, token, NULL);
	if (got != 200)
		fprintf(stderr, "GET %s: %ld %s\n", path, got, r.body);
	assert_int_equal(got, 200);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/json");
	cJSON *j = r.json;
	r.json = NULL;
	httpc_resp_free(&r);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "as_of"));
	return j;
}

/* Until the gateway reaches hd-analytics again after a restart: its NNG
 * dialer reconnects on its own, in about a second on an idle machine, far
 * later on a loaded one. */
static void wait_routed(void)
{
	for (int i = 0; i < WAIT_S * 5; i++) {
		httpc_resp r;
		long status = req(&r, "GET", "/v1/analytics/settings", W.agent, NULL);
		httpc_resp_free(&r);
		if (status == 200)
			return;
		usleep(200000);
	}
	fail_msg("the gateway does not reach hd-analytics again");
}

/* ---- the figures, from the sources' own tables ---- */

#define SRC_TICKETS "ticket.tickets t WHERE t.tenant_id = $1 AND t.deleted_at IS NULL"
#define SRC_SOLVES                                                                                 \
	"(SELECT h.at, h.actor_id, extract(epoch FROM h.at - t.created_at)::float8 / 60 AS m"      \
	" FROM ticket.history h JOIN ticket.tickets t ON t.tenant_id = h.tenant_id"                \
	" AND t.id = h.ticket_id WHERE h.tenant_id = $1 AND t.deleted_at IS NULL"                  \
	" AND h.field = 'status' AND h.new_value = '\"solved\"' AND h.at >= $2 AND h.at < $3) s"
#define SRC_FIRST                                                                                  \
	"(SELECT t.first_response_at AS at, extract(epoch FROM t.first_response_at -"              \
	" t.created_at)::float8 / 60 AS m, (SELECT c.author_id FROM ticket.comments c"             \
	" WHERE c.tenant_id = t.tenant_id AND c.ticket_id = t.id AND c.created_at ="               \
	" t.first_response_at AND c.public ORDER BY c.id LIMIT 1) AS a FROM " SRC_TICKETS          \
	" AND t.first_response_at >= $2 AND t.first_response_at < $3) f"
#define SRC_BREACHES                                                                               \
	"(SELECT o.sla_ticket_id AS id, o.sla_target AS target, (o.data ->> 'due')::timestamptz"   \
	" AS due FROM ticket.outbox o JOIN ticket.tickets t ON t.tenant_id = o.tenant_id AND"      \
	" t.id = o.sla_ticket_id WHERE o.tenant_id = $1 AND o.type = 'sla.breached'"               \
	" AND t.deleted_at IS NULL) b"

static const char src_summary[]
    = "WITH c AS (SELECT * FROM " SRC_TICKETS " AND t.created_at >= $2 AND t.created_at < $3),"
      " b AS (SELECT * FROM " SRC_BREACHES ")"
      " SELECT json_build_object('tickets', json_build_object("
      "'created', (SELECT count(*) FROM c), 'solved', (SELECT count(*) FROM " SRC_SOLVES "),"
      "'open', (SELECT count(*) FROM c WHERE status IN ('new','open','pending','on_hold')),"
      "'by_status', (SELECT json_object_agg(s, (SELECT count(*) FROM c WHERE c.status = s))"
      " FROM unnest(ARRAY['new','open','pending','on_hold','solved','closed']) s),"
      "'by_priority', (SELECT json_object_agg(p, (SELECT count(*) FROM c WHERE c.priority = p))"
      " FROM unnest(ARRAY['low','normal','high','urgent']) p)),"
      "'sla', json_build_object('breaches', (SELECT count(*) FROM b WHERE b.due >= $2 AND"
      " b.due < $3), 'first_response_compliance', (SELECT count(*) FILTER (WHERE"
      " c.first_response_at <= c.first_response_due)::float8 / NULLIF(count(*) FILTER (WHERE"
      " c.first_response_at IS NOT NULL OR EXISTS (SELECT 1 FROM b WHERE b.id = c.id AND"
      " b.target = 'first_response')), 0) FROM c WHERE c.first_response_due IS NOT NULL),"
      " 'resolution_compliance', (SELECT count(*) FILTER (WHERE c.solved_at <="
      " c.resolution_due)::float8 / NULLIF(count(*) FILTER (WHERE c.solved_at IS NOT NULL OR"
      " EXISTS (SELECT 1 FROM b WHERE b.id = c.id AND b.target = 'resolution')), 0) FROM c"
      " WHERE c.resolution_due IS NOT NULL)),"
      "'times', json_build_object('first_response_minutes_p50', (SELECT percentile_cont(0.5)"
      " WITHIN GROUP (ORDER BY f.m) FROM " SRC_FIRST "), 'resolution_minutes_p50',"
      " (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s.m) FROM " SRC_SOLVES ")),"
      "'work_orders', json_build_object('created', (SELECT count(*) FROM field.work_orders w"
      " WHERE w.tenant_id = $1 AND w.created_at >= $2 AND w.created_at < $3), 'completed',"
      " (SELECT count(*) FROM field.work_orders w WHERE w.tenant_id = $1 AND"
      " w.completed_at >= $2 AND w.completed_at < $3)))::text";

static const char src_agents[]
    = "WITH s AS (SELECT s.actor_id AS a, count(*) AS n, percentile_cont(0.5) WITHIN GROUP"
      " (ORDER BY s.m) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY s.m) AS p90 "
      "FROM " SRC_SOLVES
      " GROUP BY 1), f AS (SELECT f.a, percentile_cont(0.5) WITHIN GROUP (ORDER BY"
      " f.m) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY f.m) AS p90 FROM " SRC_FIRST
      " GROUP BY 1), r AS (SELECT t.assignee_id AS a, avg(CASE WHEN x.rating = 'good' THEN 1.0"
      " ELSE 0.0 END)::float8 AS csat FROM ticket.satisfaction x JOIN ticket.tickets t ON"
      " t.tenant_id = x.tenant_id AND t.id = x.ticket_id WHERE x.tenant_id = $1 AND"
      " t.deleted_at IS NULL AND t.assignee_id IS NOT NULL AND x.created_at >= $2 AND"
      " x.created_at < $3 GROUP BY 1), a AS (SELECT a FROM s UNION SELECT a FROM f UNION"
      " SELECT a FROM r) SELECT COALESCE(json_agg(json_build_object('agent_id', a.a, 'solved',"
      " COALESCE(s.n, 0), 'first_response_minutes_p50', f.p50, 'first_response_minutes_p90',"
      " f.p90, 'resolution_minutes_p50', s.p50, 'resolution_minutes_p90', s.p90, 'csat',"
      " r.csat) ORDER BY a.a), '[]')::text FROM a LEFT JOIN s ON s.a = a.a LEFT JOIN f ON"
      " f.a = a.a LEFT JOIN r ON r.a = a.a";

/* Non-zero days (local midnight in TZ, as RFC 3339 UTC) and their counts. */
static const char src_created_days[]
    = "SELECT COALESCE(json_object_agg(d, n), '{}')::text FROM (SELECT"
      " to_char((date_trunc('day', t.created_at AT TIME ZONE '" TZ "') AT TIME ZONE '" TZ "')"
      " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS d, count(*) AS n "
      "FROM " SRC_TICKETS " AND t.created_at >= $2 AND t.created_at < $3 GROUP BY 1) x";

static void figures_check(const char *when)
{
	char path[256], what[64];
	wait_routed();
	snprintf(path, sizeof path, "/v1/analytics/summary?from=%s&to=%s", A.from, A.to);
	cJSON *sum = get_json(path, W.agent);
	char *want = sql_value(src_summary);
	cJSON *part = cJSON_Parse(want);
	for (const cJSON *k = part->child; k != NULL; k = k->next) {
		snprintf(what, sizeof what, "%s: summary.%s", when, k->string);
		char *text = cJSON_PrintUnformatted(k);
		expect_close(cJSON_GetObjectItemCaseSensitive(sum, k->string), text, what);
		free(text);
	}
	cJSON_Delete(part);
	free(want);
	cJSON_Delete(sum);

	snprintf(path, sizeof path, "/v1/analytics/agents?from=%s&to=%s", A.from, A.to);
	cJSON *ag = get_json(path, W.admin);
	want = sql_value(src_agents);
	snprintf(what, sizeof what, "%s: agents", when);
	expect_close(cJSON_GetObjectItemCaseSensitive(ag, "items"), want, what);
	free(want);
	cJSON_Delete(ag);

	snprintf(path, sizeof path,
	    "/v1/analytics/timeseries?metric=tickets.created&interval=day&from=%s&to=%s", A.from,
	    A.to);
	cJSON *ts = get_json(path, W.agent);
	want = sql_value(src_created_days);
	cJSON *days = cJSON_Parse(want);
	const cJSON *p;
	int nonzero = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(ts, "points"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(days, jstr(p, "t"));
		assert_int_equal(jnum(p, "value"), n != NULL ? (long)n->valuedouble : 0);
		nonzero += n != NULL;
	}
	assert_int_equal(nonzero, cJSON_GetArraySize(days));
	assert_string_equal(jstr(ts, "timezone"), TZ);
	free(want);
	cJSON_Delete(days);
	cJSON_Delete(ts);
}

static void window_set(void)
{
	time_t now = time(NULL);
	struct tm tm;
	time_t f = now - 3 * 86400, t = now + 86400;
	gmtime_r(&f, &tm);
	strftime(A.from, sizeof A.from, "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&t, &tm);
	strftime(A.to, sizeof A.to, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_burst_kill_rebuild(void **state)
{
	(void)state;
	window_set();
	expect(200, "PUT", "/v1/analytics/settings", W.admin, "{\"timezone\":\"" TZ "\"}");
	for (int i = 0; i < BURST; i++) {
		if (i == BURST / 2)
			stack("kill", "analytics", NULL); /* kill -9 in the middle of the burst */
		if (i == BURST / 2 + BURST / 8)
			stack("start", "analytics", NULL);
		ticket_life(i);
		if (i % 20 == 0)
			work_order_new(i);
	}
	breaches_force();
	for (int i = 0; i < WAIT_S * 5 && breaches_pending(); i++)
		usleep(200000); /* the detector runs every 5 s */
	assert_false(breaches_pending());
	char *n = sql_value("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
	                    " AND type = 'sla.breached'");
	assert_true(atoi(n) > 0);
	free(n);
	wait_level();
	figures_check("after the burst and kill -9");

	stack("stop", "analytics", NULL);
	stack("start", "analytics", "--rebuild");
	wait_level();
	figures_check("after --rebuild");
}

/* ---- routes, roles, parameters ---- */

static const char *const routes[] = { "/v1/analytics/summary",
	"/v1/analytics/timeseries?metric=tickets.solved", "/v1/analytics/agents",
	"/v1/analytics/forecast?metric=tickets.created", "/v1/analytics/settings", NULL };

static void test_roles_and_params(void **state)
{
	(void)state;
	for (int i = 0; routes[i] != NULL; i++) {
		expect(403, "GET", routes[i], W.cust1, NULL);
		expect(403, "GET", routes[i], W.tech, NULL);
		expect(401, "GET", routes[i], NULL, NULL);
		cJSON_Delete(i < 4 ? get_json(routes[i], W.agent) : NULL);
		expect(200, "GET", routes[i], W.admin, NULL);
	}
	expect(403, "PUT", "/v1/analytics/settings", W.agent, "{\"timezone\":\"UTC\"}");
	expect_invalid(
	    "PUT", "/v1/analytics/settings", W.admin, "{\"timezone\":\"Mars/Base\"}", "timezone");
	expect_invalid("GET", "/v1/analytics/summary?from=yesterday", W.agent, NULL, "from");
	expect_invalid("GET",
	    "/v1/analytics/summary?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", W.agent,
	    NULL, "to");
	expect_invalid("GET", "/v1/analytics/summary?colour=red", W.agent, NULL, "colour");
	expect_invalid("GET", "/v1/analytics/timeseries", W.agent, NULL, "metric");
	expect_invalid("GET", "/v1/analytics/timeseries?metric=x", W.agent, NULL, "metric");
	expect_invalid("GET", "/v1/analytics/timeseries?metric=sla.breaches&interval=week", W.agent,
	    NULL, "interval");
	expect_invalid("GET",
	    "/v1/analytics/timeseries?metric=sla.breaches&interval=hour"
	    "&from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
	    W.agent, NULL, "to");
	expect_invalid("GET", "/v1/analytics/forecast?metric=tickets.created&horizon_days=0",
	    W.agent, NULL, "horizon_days");
	expect_invalid("GET", "/v1/analytics/forecast?metric=tickets.created&horizon_days=91",
	    W.agent, NULL, "horizon_days");
	/* another tenant's figures are its own: the demo tenant saw none of the burst */
	cJSON *demo = get_json("/v1/analytics/agents", W.demo);
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(demo, "items"))
	{
		assert_string_not_equal(jstr(it, "agent_id"), W.agent_id);
	}
	cJSON_Delete(demo);
}

static void test_forecast(void **state)
{
	(void)state;
	cJSON *fc
	    = get_json("/v1/analytics/forecast?metric=tickets.created&horizon_days=10", W.agent);
	const char *method = jstr(fc, "method");
	assert_true(strcmp(method, "holt_winters_additive") == 0
	    || strcmp(method, "simple_exponential_smoothing") == 0 || strcmp(method, "none") == 0);
	const cJSON *points = cJSON_GetObjectItemCaseSensitive(fc, "points"), *p;
	assert_int_equal(cJSON_GetArraySize(points), 10);
	cJSON_ArrayForEach(p, points)
	{
		double v = cJSON_GetObjectItemCaseSensitive(p, "value")->valuedouble;
		double lo = cJSON_GetObjectItemCaseSensitive(p, "low")->valuedouble;
		double hi = cJSON_GetObjectItemCaseSensitive(p, "high")->valuedouble;
		assert_true(lo >= 0 && lo <= v && v <= hi);
		assert_non_null(jstr(p, "t"));
	}
	cJSON_Delete(fc);
}

/* ---- CSV ---- */

/* Splits one CSV record (RFC 4180) at *at into fields; returns how many. */
static int csv_record(const char **at, char fields[][64], int max)
{
	int n = 0;
	const char *s = *at;
	while (*s != '\0' && n < max) {
		size_t len = 0;
		if (*s == '"') {
			for (s++; *s != '\0' && !(*s == '"' && s[1] != '"'); s++) {
				s += *s == '"';
				if (len < 63)
					fields[n][len++] = *s;
			}
			s += *s == '"';
		} else {
			for (; *s != ',' && *s != '\r' && *s != '\0'; s++)
				if (len < 63)
					fields[n][len++] = *s;
		}
		fields[n++][len] = '\0';
		if (*s == ',') {
			s++;
			continue;
		}
		assert_true(s[0] == '\r' && s[1] == '\n');
		s += 2;
		break;
	}
	*at = s;
	return n;
}

/* The CSV of path read back: every row's fields against the JSON's. */
static void csv_matches(const char *path)
{
	httpc_resp r;
	char fields[16][64], head[16][64];
	cJSON *json = get_json(path, W.agent);
	assert_int_equal(req_h(&r, "GET", path, W.agent, NULL, "Accept: text/csv"), 200);
	assert_string_equal(httpc_header(&r, "Content-Type"), "text/csv; charset=utf-8");
	const char *at = r.body;
	int cols = csv_record(&at, head, 16);
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(json, "points");
	rows = rows != NULL ? rows : cJSON_GetObjectItemCaseSensitive(json, "items");
	const cJSON *row = rows != NULL ? rows->child : NULL;
	int lines = 0;
	while (*at != '\0') {
		assert_int_equal(csv_record(&at, fields, 16), cols);
		lines++;
		const cJSON *v;
		if (rows == NULL) { /* metric,value: the dotted path in the object */
			char key[64];
			snprintf(key, sizeof key, "%s", fields[0]);
			v = json;
			for (char *tok = strtok(key, "."); tok != NULL; tok = strtok(NULL, "."))
				v = cJSON_GetObjectItemCaseSensitive(v, tok);
			assert_non_null(v);
			if (cJSON_IsNumber(v))
				assert_true(strtod(fields[1], NULL) == v->valuedouble);
			else if (cJSON_IsString(v))
				assert_string_equal(fields[1], v->valuestring);
			else
				assert_string_equal(fields[1], "");
			continue;
		}
		for (int c = 0; c < cols; c++) {
			v = cJSON_GetObjectItemCaseSensitive(row, head[c]);
			if (cJSON_IsNumber(v))
				assert_true(strtod(fields[c], NULL) == v->valuedouble);
			else if (cJSON_IsString(v))
				assert_string_equal(fields[c], v->valuestring);
			else
				assert_string_equal(fields[c], "");
		}
		row = row->next;
	}
	assert_true(lines > 0);
	assert_true(rows == NULL || row == NULL);
	httpc_resp_free(&r);
	cJSON_Delete(json);
}

static void test_csv(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof path, "/v1/analytics/summary?from=%s&to=%s", A.from, A.to);
	csv_matches(path);
	snprintf(path, sizeof path,
	    "/v1/analytics/timeseries?metric=tickets.solved&interval=hour&from=%s&to=%s", A.from,
	    A.to);
	csv_matches(path);
	snprintf(path, sizeof path, "/v1/analytics/agents?from=%s&to=%s", A.from, A.to);
	csv_matches(path);
}

static void test_lag_metric(void **state)
{
	(void)state;
	char url[128];
	snprintf(
	    url, sizeof url, "http://127.0.0.1:%s/metrics", httpc_env("HD_ANALYTICS_ADMIN_PORT"));
	double lag = httpc_metric(url, "hd_analytics_lag_seconds{source=\"ticket\"}");
	assert_true(lag >= 0 && lag < 30);
	assert_true(httpc_metric(url, "hd_analytics_lag_seconds{source=\"field\"}") >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_kill_rebuild),
		cmocka_unit_test(test_roles_and_params),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_lag_metric),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
