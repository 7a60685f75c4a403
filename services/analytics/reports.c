/* GET /v1/analytics/summary, /timeseries and /agents (admin, agent): the
 * window and parameters read here, the figures computed by the analytics
 * schema's SQL functions (sql/R_reports.sql), the reply carrying "as_of"
 * (the consumers' hd_consumer_as_of_ms) as JSON or, with Accept: text/csv,
 * as CSV (csv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "hd/consumer.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/rfc3339.h"

#define AN_DAY_MS 86400000LL
#define AN_DEFAULT_DAYS 30
#define AN_MAX_DAYS 3660 /* ten years */
#define AN_MAX_POINTS 10000

const char *const an_metrics[]
    = { "tickets.created", "tickets.solved", "sla.breaches", "workorders.completed", NULL };

/* RFC 3339 UTC with milliseconds. */
static void an_time_format(long long ms, char out[AN_TIME_MAX])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char day[16];
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	snprintf(out, AN_TIME_MAX, "%.10sT%02u:%02u:%02u.%03uZ", day, (unsigned)tm.tm_hour % 24u,
	    (unsigned)tm.tm_min % 60u, (unsigned)tm.tm_sec % 61u, (unsigned)(ms % 1000));
}

static long long an_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads ?<key>= into *ms; false (with an error) when present but not a time. */
static bool an_time_param(
    const hd_query *q, const char *key, long long *ms, bool *given, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	*given = v != NULL && v[0] != '\0';
	if (*given && (!hd_time_parse(v, ms) || *ms < 0 || *ms > 253402300799999LL)) {
		hd_field_errors_add(errs, key, "must be an RFC 3339 date-time");
		return false;
	}
	return true;
}

void an_window_read(const hd_query *q, long long max_days, char from[AN_TIME_MAX],
    char to[AN_TIME_MAX], long long *span_ms, hd_field_errors *errs)
{
	long long f = 0, t = an_now_ms();
	bool has_f = false, has_t = false;
	bool ok = an_time_param(q, "from", &f, &has_f, errs);
	ok = an_time_param(q, "to", &t, &has_t, errs) && ok;
	if (!ok)
		return;
	if (!has_f)
		f = t - AN_DEFAULT_DAYS * AN_DAY_MS;
	if (f >= t)
		hd_field_errors_add(errs, "to", "must be after from");
	else if (t - f > max_days * AN_DAY_MS)
		hd_field_errors_add(errs, "to", "must be at most ten years after from");
	an_time_format(f, from);
	an_time_format(t, to);
	*span_ms = t - f;
}

/* The oldest of the sources' as_of ("null" before every consumer caught up). */
static void an_as_of(char out[AN_TIME_MAX + 2])
{
	long long oldest = -1;
	for (size_t i = 0; an_sources[i] != NULL; i++) {
		long long at = hd_consumer_as_of_ms(an_sources[i]);
		if (at <= 0) {
			snprintf(out, AN_TIME_MAX + 2, "null");
			return;
		}
		oldest = oldest < 0 || at < oldest ? at : oldest;
	}
	char t[AN_TIME_MAX];
	an_time_format(oldest, t);
	snprintf(out, AN_TIME_MAX + 2, "\"%s\"", t);
}

/* True when the request's Accept names text/csv. */
static bool an_wants_csv(hd_rpc_request *req)
{
	const char *accept = hd_req_header(req, "accept");
	return accept != NULL && strstr(accept, "text/csv") != NULL;
}

/* Replies json (an object, compact) with "as_of" put first. */
void an_report_json(hd_rpc_request *req, const char *json)
{
	char as_of[AN_TIME_MAX + 2];
	an_as_of(as_of);
	size_t len = strlen(json);
	if (len < 2 || json[0] != '{') {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	bool empty = json[1] == '}';
	size_t cap = len + sizeof as_of + 16;
	char *out = malloc(cap);
	if (out == NULL) {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	int n = snprintf(out, cap, "{\"as_of\":%s%s%s", as_of, empty ? "" : ",", json + 1);
	if (!an_wants_csv(req)) {
		hd_daemon_reply_json(req, 200, out, (size_t)n, NULL);
		free(out);
		return;
	}
	cJSON *obj = cJSON_ParseWithLength(out, (size_t)n);
	char *csv = obj != NULL ? an_csv_from_json(obj) : NULL;
	cJSON_Delete(obj);
	free(out);
	if (csv == NULL) {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	hd_daemon_reply_compact(req, 200, csv, strlen(csv), "content-type",
	    "text/csv; charset=utf-8", "analytics-as-of", as_of, NULL);
	free(csv);
}

void an_report_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, hd_db_result_nstmts(res) - 1, 0, 0);
	if (json == NULL) {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	an_report_json(req, json);
}

/* Reads the caller (admin or agent) and the query; false when it replied. */
static bool an_begin(hd_rpc_request *req, const char *const *known, hd_caller *c, hd_query *q)
{
	return hd_caller_get(req, c) && hd_caller_require(req, c, HD_ROLES_STAFF)
	    && hd_req_query(req, known, q);
}

/* Runs one report statement over (tenant, from, to, extra...). */
static void an_run(hd_rpc_request *req, hd_daemon_worker *dw, const hd_caller *c, const char *sql,
    const char **params, int n)
{
	hd_db_stmt st = { sql, n, params };
	hd_daemon_db_run(dw, req, c->tenant_id, &st, 1, an_report_cb, req);
}

/* A report over the window only: (tenant, from, to) into sql. */
static void an_window_report(hd_rpc_request *req, hd_daemon_worker *dw, const char *sql)
{
	static const char *const known[] = { "from", "to", NULL };
	hd_caller c;
	hd_query q;
	hd_field_errors errs = { .count = 0 };
	char from[AN_TIME_MAX], to[AN_TIME_MAX];
	long long span = 0;
	if (!an_begin(req, known, &c, &q))
		return;
	an_window_read(&q, AN_MAX_DAYS, from, to, &span, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *p[3] = { c.tenant_id, from, to };
	an_run(req, dw, &c, sql, p, 3);
}

void an_summary(hd_rpc_request *req, hd_daemon_worker *dw)
{
	an_window_report(
	    req, dw, "SELECT analytics.summary($1::uuid, $2::timestamptz, $3::timestamptz)::text");
}

void an_agents(hd_rpc_request *req, hd_daemon_worker *dw)
{
	an_window_report(
	    req, dw, "SELECT analytics.agents($1::uuid, $2::timestamptz, $3::timestamptz)::text");
}

void an_timeseries(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "metric", "interval", "from", "to", NULL };
	static const char *const intervals[] = { "hour", "day", NULL };
	static const char sql[] = "SELECT analytics.timeseries($1::uuid, $4, $5, $2::timestamptz,"
	                          " $3::timestamptz)::text";
	hd_caller c;
	hd_query q;
	hd_field_errors errs = { .count = 0 };
	char from[AN_TIME_MAX], to[AN_TIME_MAX];
	long long span = 0;
	if (!an_begin(req, known, &c, &q))
		return;
	const char *metric = hd_query_enum(&q, "metric", an_metrics, &errs);
	if (metric == NULL && hd_query_get(&q, "metric") == NULL)
		hd_field_errors_add(&errs, "metric", "is required");
	const char *interval = hd_query_enum(&q, "interval", intervals, &errs);
	if (interval == NULL)
		interval = "day";
	an_window_read(&q, AN_MAX_DAYS, from, to, &span, &errs);
	long long bucket_ms = strcmp(interval, "hour") == 0 ? 3600000LL : AN_DAY_MS;
	if (errs.count == 0 && span / bucket_ms >= AN_MAX_POINTS)
		hd_field_errors_add(&errs, "to", "the window holds more than 10000 buckets");
	if (hd_reply_invalid(req, &errs))
		return;
	const char *p[5] = { c.tenant_id, from, to, metric, interval };
	an_run(req, dw, &c, sql, p, 5);
}
