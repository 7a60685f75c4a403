/* GET (admin, agent) and PUT (admin) /v1/analytics/settings {"timezone"}:
 * the IANA time zone of the tenant's day and hour buckets (UTC unless set). */
#include <string.h>

#include "analytics.h"
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"

#define AN_TZ_MAX 64

static const char sql_get[]
    = "SELECT json_build_object('timezone', analytics.tenant_tz($1::uuid))::text";
/* No row when $2 is not a zone PostgreSQL knows. */
static const char sql_put[]
    = "INSERT INTO analytics.settings (tenant_id, timezone) SELECT $1, $2"
      " WHERE EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = $2)"
      " ON CONFLICT (tenant_id) DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()"
      " RETURNING json_build_object('timezone', timezone)::text";

static void an_settings_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json
	    = hd_db_result_ntuples(res, 0) > 0 ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (json == NULL)
		hd_reply_invalid_field(req, "timezone", "must be an IANA time zone name");
	else
		hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
}

void an_settings_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return;
	const char *p[1] = { c.tenant_id };
	hd_db_stmt st = { sql_get, 1, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, an_settings_cb, req);
}

void an_settings_put(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "timezone", NULL };
	hd_caller c;
	cJSON *body = NULL;
	const char *tz = NULL;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, known, &body))
		return;
	hd_json_get_string(body, "timezone", true, 1, AN_TZ_MAX, &tz, &errs);
	if (hd_reply_invalid(req, &errs)) {
		cJSON_Delete(body);
		return;
	}
	const char *p[2] = { c.tenant_id, tz };
	hd_db_stmt st = { sql_put, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, an_settings_cb, req);
	cJSON_Delete(body); /* parameters are copied at submit */
}
