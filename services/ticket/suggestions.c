/* GET /v1/tickets/{id}/suggestions (admin, agent): a predicted category and
 * priority from the tenant's most similar solved or closed tickets (full-text
 * rank, ticket.ticket_suggestions in 007_suggestions.sql) and related
 * knowledge articles, always [] until a knowledge service exists. */
#include <string.h>
#include "ticket.h"

static const char sql_suggestions[] = "SELECT ticket.ticket_suggestions($1, $2)::text";

static void tk_suggestions_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 0);
	if (json == NULL) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
}

void tk_tickets_suggestions(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql_suggestions, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_suggestions_cb, req);
}
