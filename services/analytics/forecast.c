/* GET /v1/analytics/forecast?metric=&horizon_days= (admin, agent): the
 * metric's daily counts in the tenant's time zone (at most a year back,
 * analytics.daily_history) fitted by forecast_math.c, one point per day
 * from today on with its 95 % prediction interval; "method" names the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "hd/buf.h"
#include "hd/reply.h"
#include "hd/request.h"

#define AN_HISTORY_DAYS 365
#define AN_HORIZON_MAX 90
#define AN_Z95 1.959963984540054

typedef struct an_fc_req {
	hd_rpc_request *req;
	char metric[32];
} an_fc_req;

/* The reply {"metric","method","points":[{"t","value","low","high"}]}
 * from the history and future days of analytics.daily_history. */
static char *an_fc_json(const char *metric, const cJSON *hist, const cJSON *future)
{
	size_t n = (size_t)cJSON_GetArraySize(hist), h = (size_t)cJSON_GetArraySize(future);
	double *y = calloc(n + 3 * h + 1, sizeof *y);
	if (y == NULL)
		return NULL;
	double *value = y + n, *low = value + h, *high = low + h;
	size_t i = 0;
	for (const cJSON *v = hist->child; v != NULL && i < n; v = v->next)
		y[i++] = cJSON_IsNumber(v) ? v->valuedouble : 0;
	an_fit fc;
	an_forecast_fit(y, n, h, AN_Z95, &fc, value, low, high);
	hd_buf b = { 0 };
	char num[128];
	snprintf(num, sizeof num, "{\"metric\":\"%s\",\"method\":\"%s\",\"points\":[", metric,
	    fc.method);
	hd_buf_puts(&b, num);
	i = 0;
	for (const cJSON *t = future->child; t != NULL && i < h; t = t->next, i++) {
		hd_buf_puts(&b, i > 0 ? ",{\"t\":" : "{\"t\":");
		hd_buf_put_json_string(&b, cJSON_IsString(t) ? t->valuestring : "");
		snprintf(num, sizeof num, ",\"value\":%.17g,\"low\":%.17g,\"high\":%.17g}",
		    value[i], low[i], high[i]);
		hd_buf_puts(&b, num);
	}
	hd_buf_puts(&b, "]}");
	free(y);
	if (b.failed) {
		hd_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static void an_fc_cb(hd_err err, const hd_db_result *res, void *arg)
{
	an_fc_req *fr = arg;
	hd_rpc_request *req = fr->req;
	const char *text = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	cJSON *obj = text != NULL ? cJSON_Parse(text) : NULL;
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(obj, "history");
	const cJSON *future = cJSON_GetObjectItemCaseSensitive(obj, "future");
	char *json = cJSON_IsArray(hist) && cJSON_IsArray(future)
	    ? an_fc_json(fr->metric, hist, future)
	    : NULL;
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else if (json == NULL)
		hd_reply_problem(req, 500, NULL);
	else
		an_report_json(req, json);
	free(json);
	cJSON_Delete(obj);
	free(fr);
}

void an_forecast(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "metric", "horizon_days", NULL };
	static const char sql[]
	    = "SELECT analytics.daily_history($1::uuid, $2, $3::int, $4::int)::text";
	hd_caller c;
	hd_query q;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_query(req, known, &q))
		return;
	const char *metric = hd_query_enum(&q, "metric", an_metrics, &errs);
	if (metric == NULL && hd_query_get(&q, "metric") == NULL)
		hd_field_errors_add(&errs, "metric", "is required");
	const char *hv = hd_query_get(&q, "horizon_days");
	char *end = NULL;
	long horizon = hv != NULL && hv[0] != '\0' ? strtol(hv, &end, 10) : 14;
	if (hv != NULL && hv[0] != '\0'
	    && (*end != '\0' || horizon < 1 || horizon > AN_HORIZON_MAX))
		hd_field_errors_add(&errs, "horizon_days", "must be an integer from 1 to 90");
	if (hd_reply_invalid(req, &errs))
		return;
	an_fc_req *fr = calloc(1, sizeof *fr);
	if (fr == NULL) {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	fr->req = req;
	snprintf(fr->metric, sizeof fr->metric, "%s", metric);
	char days[16], hz[16];
	snprintf(days, sizeof days, "%d", AN_HISTORY_DAYS);
	snprintf(hz, sizeof hz, "%ld", horizon);
	const char *p[4] = { c.tenant_id, metric, days, hz };
	hd_db_stmt st = { sql, 4, p };
	if (!hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, an_fc_cb, fr))
		free(fr);
}
