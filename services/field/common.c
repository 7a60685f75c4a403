/* What the field handlers share: replies of one row, the caller's view,
 * and the user check at hd-auth (hd/peer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "field.h"

const hd_idem_table fs_idem_table = HD_IDEM_TABLE("field");
const char *const fs_page_params[] = { "limit", "cursor", NULL };
const char fs_knn_planner_sql[]
    = "SELECT set_config('jit', 'off', true), set_config('enable_bitmapscan', 'off', true)";
const char *const fs_priorities[] = { "low", "normal", "high", "urgent", NULL };

const char *fs_viewer(const hd_caller *c)
{
	return hd_caller_is(c, HD_ROLES_STAFF) ? NULL : c->user_id;
}

void fs_reply_row(hd_rpc_request *req, const hd_db_result *res, int stmt, int ver_col,
    const char *resource, int status)
{
	const char *json = hd_db_result_value(res, stmt, 0, 0);
	if (json == NULL) {
		hd_reply_not_found(req, resource);
		return;
	}
	const char *ver = ver_col >= 0 ? hd_db_result_value(res, stmt, 0, ver_col) : NULL;
	if (ver == NULL) {
		hd_daemon_reply_json(req, status, json, strlen(json), NULL);
		return;
	}
	char etag[32];
	snprintf(etag, sizeof etag, "\"%s\"", ver);
	hd_daemon_reply_json(req, status, json, strlen(json), "etag", etag, NULL);
}

void fs_reply_peer_down(hd_rpc_request *req, const char *peer)
{
	char detail[80];
	snprintf(detail, sizeof detail, "%s did not answer in time, retry later", peer);
	hd_reply_problem_ex(req, 503, detail, NULL, NULL, "retry-after", HD_RETRY_AFTER_S);
}

typedef struct fs_user_check_ctx {
	fs_user_check_cb cb;
	void *arg;
} fs_user_check_ctx;

/* users.get's answer: an active technician (RLS: of the caller's tenant), a
 * user that is not one (404 or another role or inactive), or no answer. */
static void fs_user_checked(hd_err err, int status, const char *body, void *arg)
{
	fs_user_check_ctx ctx = *(fs_user_check_ctx *)arg;
	free(arg);
	if (err != HD_OK || status >= 500) {
		ctx.cb(err != HD_OK ? err : HD_ERR_UNAVAILABLE, false, ctx.arg);
		return;
	}
	bool ok = false;
	if (status == 200) {
		cJSON *u = cJSON_Parse(body);
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(u, "role");
		ok = cJSON_IsString(role) && strcmp(role->valuestring, "technician") == 0
		    && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "active"));
		cJSON_Delete(u);
	}
	ctx.cb(HD_OK, ok, ctx.arg);
}

hd_err fs_user_check(hd_rpc_request *req, const char *user_id, fs_user_check_cb cb, void *arg)
{
	fs_user_check_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return HD_ERR_NOMEM;
	ctx->cb = cb;
	ctx->arg = arg;
	hd_err err = hd_peer_call(
	    fs_auth_client(), req, "users.get", user_id, NULL, 0, fs_user_checked, ctx);
	if (err != HD_OK)
		free(ctx);
	return err;
}
