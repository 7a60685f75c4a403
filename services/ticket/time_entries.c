/* Time entries on a ticket (admin, agent, technician):
 * POST /v1/tickets/{id}/time-entries {"minutes" 1..1440, "note"?, "billable"?}
 * adds an entry and the minutes to the ticket's time_spent_minutes in the
 * same statement (the ticket row's lock orders concurrent entries), bumps
 * the ticket's version and queues ticket.updated; GET lists the entries,
 * oldest first, with keyset pagination. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "hd/json.h"
#include "hd/uuid.h"
#include "ticket.h"

#define TK_NOTE_MAX 2000

/* $1 tenant, $2 ticket, $3 entry id, $4 user, $5 minutes, $6 note, $7 billable,
 * $8 Idempotency-Key or NULL, $9 its hashed text, $10 the op. Does nothing when the key
 * is already stored. */
static const char sql_entry_create[] = "WITH" HD_IDEM_CTE("$1", "$4", "$10", "$8",
    "$9") ","
          " t AS (UPDATE ticket.tickets x SET time_spent_minutes = x.time_spent_minutes + $5,"
          " updated_at = date_trunc('milliseconds', now()), version = x.version + 1"
          " WHERE x.tenant_id = $1 AND x.id = $2 AND x.deleted_at IS NULL AND" TK_IDEM_FREE
          " RETURNING x.id, x.time_spent_minutes, ticket.ticket_json(x) AS j),"
          " e AS (INSERT INTO ticket.time_entries AS te (tenant_id, id, ticket_id, user_id, "
          "minutes,"
          " note, billable) SELECT $1, $3, t.id, $4, $5::int, $6, $7::bool FROM t"
          " RETURNING ticket.time_entry_json(te) AS j),"
          " o AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
          " SELECT $1, 'ticket.updated', $4, json_build_object('ticket', t.j, 'changes',"
          " json_build_object('time_spent_minutes', json_build_object('from',"
          " t.time_spent_minutes - $5::int, 'to', t.time_spent_minutes))) FROM t),"
          " reply AS (SELECT 201 AS status, j, NULL::text AS location, NULL::text AS etag FROM "
          "e)," TK_IDEM_STORE " SELECT j::text FROM e";

/* Oldest first; keyset on (created_at, id). $3 is unused (always true). */
static const char sql_entry_list[]
    = "SELECT ticket.time_entry_json(e)::text, ticket.ts(e.created_at), e.id"
      " FROM ticket.time_entries e WHERE e.tenant_id = $1 AND e.ticket_id = $2 AND $3::bool"
      " AND (e.created_at, e.id) > ($4::timestamptz, $5::uuid)"
      " ORDER BY e.created_at, e.id LIMIT $6";

/* Replies 403 unless the caller is admin, agent or technician. */
static bool tk_time_role_ok(hd_rpc_request *req, const hd_caller *c)
{
	return hd_caller_require(req, c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN);
}

void tk_time_entries_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "minutes", "note", "billable", NULL };
	hd_caller c;
	const char *ticket, *note = NULL;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	hd_idem k = { 0 };
	int64_t minutes = 0;
	bool billable = true;
	char id[HD_UUID_STRLEN + 1], min[24];
	if (!hd_caller_get(req, &c) || !tk_time_role_ok(req, &c)
	    || (ticket = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	hd_json_reject_unknown(body, known, &errs);
	hd_json_get_int(body, "minutes", true, 1, 1440, &minutes, &errs);
	hd_json_get_string(body, "note", false, 0, TK_NOTE_MAX, &note, &errs);
	hd_json_get_bool(body, "billable", false, &billable, &errs);
	if (!hd_idem_read(req, &c, ticket, false, &k, &errs) || hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	snprintf(min, sizeof(min), "%" PRId64, minutes);
	const char *p[10] = { c.tenant_id, ticket, id, c.user_id, min, note, billable ? "t" : "f",
		k.key, k.hashed, k.op };
	hd_db_stmt st = { sql_entry_create, 10, p };
	hd_idem_run(dw, req, &tk_idem_table, &k, &st, 1, tk_idem_child_created_cb, req);
out:
	hd_idem_free(&k);
	cJSON_Delete(body);
}

void tk_time_entries_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c) || !tk_time_role_ok(req, &c))
		return;
	tk_ticket_children(req, dw, &c, sql_entry_list, "t");
}
