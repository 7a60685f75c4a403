/* POST /v1/tickets/{id}/merge (admin, agent): {"into": "<ticket id>"}.
 * One statement, ticket.ticket_merge (006_merge_time_satisfaction.sql):
 * locks both tickets (lower id first), checks them, closes the source with
 * merged_into, copies its comments to the target, records both histories
 * and queues the events. Replies 200 with the target ticket. */
#include <stdio.h>
#include <string.h>
#include "hd/json.h"
#include "ticket.h"

static const char sql_merge[]
    = "SELECT r_outcome, r_ticket, r_version FROM ticket.ticket_merge($1, $2, $3, $4)";

/* Replies 422 naming field with msg. */
static void tk_merge_invalid(hd_rpc_request *req, const char *field, const char *msg)
{
	hd_field_errors errs = { .count = 0 };
	hd_field_errors_add(&errs, field, msg);
	hd_reply_invalid(req, &errs);
}

static void tk_merge_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *outcome = hd_db_result_value(res, 0, 0, 0);
	if (outcome == NULL || strcmp(outcome, "source_missing") == 0) {
		hd_reply_not_found(req, "ticket");
	} else if (strcmp(outcome, "target_missing") == 0) {
		hd_daemon_reply_problem(req, 404, "the ticket to merge into was not found", NULL);
	} else if (strcmp(outcome, "self") == 0) {
		tk_merge_invalid(req, "into", "a ticket cannot be merged into itself");
	} else if (strcmp(outcome, "source_closed") == 0) {
		tk_merge_invalid(req, "id", "a closed or merged ticket cannot be merged");
	} else if (strcmp(outcome, "target_closed") == 0) {
		tk_merge_invalid(req, "into", "cannot merge into a closed or merged ticket");
	} else {
		const char *json = hd_db_result_value(res, 0, 0, 1);
		const char *version = hd_db_result_value(res, 0, 0, 2);
		char etag[32];
		snprintf(etag, sizeof(etag), "\"%s\"", version != NULL ? version : "0");
		hd_daemon_reply_json(req, 200, json != NULL ? json : "{}",
		    json != NULL ? strlen(json) : 2, "etag", etag, NULL);
		tk_relay_wake();
	}
}

void tk_tickets_merge(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "into", NULL };
	hd_caller c;
	const char *id, *into = NULL;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	hd_json_reject_unknown(body, known, &errs);
	if (!tk_uuid_read(body, "into", &into, NULL, &errs) && errs.count == 0)
		hd_field_errors_add(&errs, "into", "is required");
	if (hd_reply_invalid(req, &errs))
		goto out;
	const char *p[4] = { c.tenant_id, id, into, c.user_id };
	hd_db_stmt st = { sql_merge, 4, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_merge_cb, req);
out:
	cJSON_Delete(body);
}
