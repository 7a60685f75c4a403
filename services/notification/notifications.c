/* GET /v1/notifications and POST /v1/notifications/{id}/read (API
 * "Notifications and real time"): every caller sees and marks only their
 * own notifications (another's is 404); newest first, keyset pages. */
#include <string.h>
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "notification.h"

/* $1 tenant, $2 user, $3 unread only, $4/$5 the keyset bound, $6 limit + 1. */
static const char sql_list[]
    = "SELECT notification.notification_json(n)::text, notification.cursor_ts(n.created_at), n.id"
      " FROM notification.notifications n WHERE n.tenant_id = $1 AND n.user_id = $2"
      " AND (NOT $3::bool OR n.read_at IS NULL)"
      " AND (n.created_at, n.id) < ($4::timestamptz, $5::uuid)"
      " ORDER BY n.created_at DESC, n.id DESC LIMIT $6::int";

static const char sql_read[]
    = "UPDATE notification.notifications n SET read_at = COALESCE(n.read_at,"
      " date_trunc('milliseconds', clock_timestamp()))"
      " WHERE n.tenant_id = $1 AND n.id = $2 AND n.user_id = $3 RETURNING n.id";

void nt_notifications_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "unread", "limit", "cursor", NULL };
	static const char *const booleans[] = { "true", "false", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_req_query(req, known, &q))
		return;
	const char *unread = hd_query_enum(&q, "unread", booleans, &errs);
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, true, &ts, &after);
	const char *only = unread != NULL && strcmp(unread, "true") == 0 ? "t" : "f";
	const char *p[6] = { c.tenant_id, c.user_id, only, ts, after, page.fetch };
	hd_db_stmt st = { sql_list, 6, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}

static void nt_read_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else if (hd_db_result_ntuples(res, 0) == 0)
		hd_reply_not_found(req, "notification");
	else
		hd_daemon_reply_json(req, 204, "", 0, NULL);
}

void nt_notifications_read(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || (id = hd_req_path_uuid(req, "id", "notification")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, c.user_id };
	hd_db_stmt st = { sql_read, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_read_cb, req);
}
