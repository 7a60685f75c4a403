/* GET (admin, agent) and PUT (admin) /v1/kb/settings: {"public": bool},
 * whether the tenant's help center is readable without a token (help.c). */
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "knowledge.h"

static const char sql_get[]
    = "SELECT json_build_object('public', coalesce((SELECT s.public FROM knowledge.settings s"
      " WHERE s.tenant_id = $1), false))::text";
static const char sql_put[]
    = "INSERT INTO knowledge.settings (tenant_id, public) VALUES ($1, $2)"
      " ON CONFLICT (tenant_id) DO UPDATE SET public = EXCLUDED.public, updated_at = now()"
      " RETURNING json_build_object('public', public)::text";

void kb_settings_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return;
	const char *p[1] = { c.tenant_id };
	hd_db_stmt st = { sql_get, 1, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_json_cb, req);
}

void kb_settings_put(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "public", NULL };
	hd_caller c;
	cJSON *body = NULL;
	bool pub = false;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, known, &body))
		return;
	hd_json_get_bool(body, "public", true, &pub, &errs);
	cJSON_Delete(body);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *p[2] = { c.tenant_id, pub ? "t" : "f" };
	hd_db_stmt st = { sql_put, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_json_cb, req);
}
