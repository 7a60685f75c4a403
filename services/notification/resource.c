/* What the notification daemon's admin resources (webhooks.c, channels.c)
 * answer alike: one object with its version as ETag, 404 naming it, 412
 * on a stale If-Match, 204 on delete, and the newest-first keyset list. */
#include <stdio.h>
#include <string.h>
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "notification.h"

void nt_reply_row(
    hd_rpc_request *req, int status, hd_err err, const hd_db_result *res, const char *resource)
{
	char etag[32];
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 0);
	const char *version = hd_db_result_value(res, 0, 0, 1);
	if (json == NULL) {
		hd_reply_not_found(req, resource);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", version != NULL ? version : "0");
	hd_daemon_reply_json(req, status, json, strlen(json), "etag", etag, NULL);
}

void nt_reply_updated(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, const char *resource)
{
	const char *exists = err == HD_OK ? hd_db_result_value(res, 0, 0, 2) : NULL;
	if (err == HD_OK && hd_db_result_value(res, 0, 0, 0) == NULL && exists != NULL
	    && strcmp(exists, "t") == 0) {
		char detail[96];
		snprintf(detail, sizeof(detail), "the %s changed since it was read (If-Match)",
		    resource);
		hd_reply_problem(req, 412, detail);
		return;
	}
	nt_reply_row(req, 200, err, res, resource);
}

void nt_reply_deleted(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, const char *resource)
{
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else if (hd_db_result_ntuples(res, 0) == 0)
		hd_reply_not_found(req, resource);
	else
		hd_daemon_reply_json(req, 204, "", 0, NULL);
}

const char *nt_admin_target(hd_rpc_request *req, const char *resource, hd_caller *c)
{
	if (!hd_caller_get(req, c) || !hd_caller_require(req, c, HD_ROLE_ADMIN))
		return NULL;
	return hd_req_path_uuid(req, "id", resource);
}

void nt_admin_list(hd_rpc_request *req, hd_daemon_worker *dw, const char *sql)
{
	static const char *const known[] = { "limit", "cursor", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_query(req, known, &q))
		return;
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, true, &ts, &after);
	const char *p[4] = { c.tenant_id, ts, after, page.fetch };
	hd_db_stmt st = { sql, 4, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}
