/* POST /v1/tickets/{id}/satisfaction {"rating": "good"|"bad", "comment"?}:
 * the requester rates a solved or closed ticket, once. One statement locks
 * the ticket, checks requester, status and an earlier rating, stores the
 * rating (ticket.satisfaction), sets the ticket's satisfaction, bumps its
 * version and queues ticket.updated. A customer who is not the requester
 * does not see the ticket (404); other roles see it (403). */
#include <string.h>
#include "hd/json.h"
#include "ticket.h"

#define TK_RATING_COMMENT_MAX 2000

/* $1 tenant, $2 ticket, $3 own-only requester or NULL, $4 caller, $5 rating,
 * $6 comment, $7 Idempotency-Key or NULL, $8 its hashed text, $9 the op. Returns one row
 * when the ticket is visible: is requester, status, already rated, the
 * stored rating's json (NULL when not stored). Does nothing when the key is
 * already stored. */
static const char sql_rate[] = "WITH" HD_IDEM_CTE("$1", "$4", "$9", "$7",
    "$8") ","
          " t AS (SELECT x.id, x.requester_id, x.status, x.satisfaction FROM ticket.tickets x"
          " WHERE x.tenant_id = $1 AND x.id = $2 AND x.deleted_at IS NULL"
          " AND ($3::uuid IS NULL OR x.requester_id = $3) AND" TK_IDEM_FREE " FOR UPDATE OF x),"
          " s AS (INSERT INTO ticket.satisfaction AS s (tenant_id, ticket_id, user_id, rating, "
          "comment)"
          " SELECT $1, t.id, $4, $5, $6 FROM t WHERE t.requester_id = $4"
          " AND t.status IN ('solved', 'closed') AND t.satisfaction IS NULL"
          " ON CONFLICT DO NOTHING RETURNING ticket.satisfaction_json(s) AS j, s.rating),"
          " u AS (UPDATE ticket.tickets x SET satisfaction = s.rating, version = x.version + 1,"
          " updated_at = date_trunc('milliseconds', now()) FROM s"
          " WHERE x.tenant_id = $1 AND x.id = $2 RETURNING ticket.ticket_json(x) AS j),"
          " o AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
          " SELECT $1, 'ticket.updated', $4, json_build_object('ticket', u.j, 'changes',"
          " json_build_object('satisfaction', json_build_object('from', NULL, 'to', $5::text)))"
          " FROM u),"
          " reply AS (SELECT 201 AS status, j, NULL::text AS location, NULL::text AS etag FROM "
          "s)," TK_IDEM_STORE " SELECT t.requester_id = $4, t.status, t.satisfaction IS NOT NULL,"
          " (SELECT j::text FROM s) FROM t";

static void tk_rate_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int stmt;
	if (!hd_idem_result(req, err, res, &stmt))
		return;
	if (hd_db_result_ntuples(res, stmt) == 0) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	const char *mine = hd_db_result_value(res, stmt, 0, 0);
	const char *status = hd_db_result_value(res, stmt, 0, 1);
	const char *rated = hd_db_result_value(res, stmt, 0, 2);
	const char *json = hd_db_result_value(res, stmt, 0, 3);
	if (mine == NULL || strcmp(mine, "t") != 0) {
		hd_daemon_reply_problem(req, 403, "only the requester may rate this ticket", NULL);
	} else if (json != NULL) {
		hd_idem_reply(req, 201, json, NULL, NULL);
		tk_relay_wake();
	} else if ((rated != NULL && strcmp(rated, "t") == 0) || status == NULL
	    || strcmp(status, "solved") == 0 || strcmp(status, "closed") == 0) {
		hd_daemon_reply_problem(req, 409, "this ticket was already rated", NULL);
	} else {
		hd_field_errors errs = { .count = 0 };
		hd_field_errors_add(&errs, "status", "the ticket must be solved or closed");
		hd_reply_invalid(req, &errs);
	}
}

void tk_satisfaction_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "rating", "comment", NULL };
	static const char *const ratings[] = { "good", "bad", NULL };
	hd_caller c;
	const char *ticket, *rating = NULL, *comment = NULL;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	hd_idem k = { 0 };
	if (!hd_caller_get(req, &c) || (ticket = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	hd_json_reject_unknown(body, known, &errs);
	hd_json_get_enum(body, "rating", true, ratings, &rating, &errs);
	hd_json_get_string(body, "comment", false, 0, TK_RATING_COMMENT_MAX, &comment, &errs);
	if (!hd_idem_read(req, &c, ticket, false, &k, &errs) || hd_reply_invalid(req, &errs))
		goto out;
	const char *p[9]
	    = { c.tenant_id, ticket, hd_caller_is(&c, HD_ROLE_CUSTOMER) ? c.user_id : NULL,
		      c.user_id, rating, comment, k.key, k.hashed, k.op };
	hd_db_stmt st = { sql_rate, 9, p };
	hd_idem_run(dw, req, &tk_idem_table, &k, &st, 1, tk_rate_cb, req);
out:
	hd_idem_free(&k);
	cJSON_Delete(body);
}
