/* Tickets: create (validation, per-tenant gap-free number, outbox row and
 * Idempotency-Key in one statement), get and soft delete. Each request is one
 * pipelined batch: set_config(app.tenant_id) + the statement(s), one round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/uuid.h"
#include "ticket.h"

#define TK_SUBJECT_MAX 200
#define TK_DESCRIPTION_MAX_BYTES 65536
#define TK_CATEGORY_MAX 100

/* Bumps the counter, inserts the ticket (SLA due times from the tenant's
 * policy; $14 the sentiment of a customer's text, else NULL), claims the
 * files of its description ($15, "{}" for none: the creator's unattached
 * uploads, sql/R_attachments.sql; one that is not fails the statement, 422),
 * its ticket.created event and the Idempotency-Key reply, and returns the
 * ticket. Does nothing when the key ($12) is already stored (a replay
 * claims nothing again). */
const char tk_create_sql[] = "WITH" HD_IDEM_CTE("$1", "$10", "$11", "$12",
    "$13") ","
           " n AS (INSERT INTO ticket.counters AS c (tenant_id, last_number)"
           " SELECT $1, 1 WHERE" TK_IDEM_FREE
           " ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1"
           " RETURNING last_number),"
           " p AS (SELECT targets -> $5 AS g, business_hours AS bh FROM ticket.sla_policies"
           " WHERE tenant_id = $1),"
           " t AS (INSERT INTO ticket.tickets AS t (tenant_id, id, number, subject, description,"
           " priority, category, tags, requester_id, assignee_id, first_response_due, "
           "resolution_due, sentiment)"
           " SELECT $1, $2, n.last_number, $3, $4, $5, $6,"
           " ARRAY(SELECT json_array_elements_text($7::json)), $8, $9,"
           " ticket.sla_due(date_trunc('milliseconds', now()),"
           " (p.g ->> 'first_response_minutes')::int, p.bh),"
           " ticket.sla_due(date_trunc('milliseconds', now()),"
           " (p.g ->> 'resolution_minutes')::int, p.bh), $14::int"
           " FROM n LEFT JOIN p ON true RETURNING ticket.ticket_json(t) AS j),"
           " att AS (SELECT ticket.attachments_claim($1, $10, $15::uuid[], $2, NULL, NULL, false)"
           " AS aj FROM t),"
           " o AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
           " SELECT $1, 'ticket.created', $10, j FROM t),"
           " reply AS (SELECT 201 AS status, j, '/v1/tickets/' || $2 AS location,"
           " '\"1\"'::text AS etag FROM t)," TK_IDEM_STORE " SELECT j::text, $2::text FROM t, att";

/* Plain columns: the daemon writes the ticket object (ticket_json.c). */
static const char sql_delete[]
    = "WITH d AS (UPDATE ticket.tickets t SET deleted_at = date_trunc('milliseconds', now()),"
      " updated_at = date_trunc('milliseconds', now()), version = t.version + 1"
      " WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL"
      " RETURNING t.id, t.requester_id),"
      " o AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
      " SELECT $1, 'ticket.deleted', $3, json_build_object('id', d.id, 'requester_id', "
      "d.requester_id)"
      " FROM d)"
      " SELECT 1 FROM d";

/* The validated fields of a new ticket (strings point into the parsed body). */
typedef struct tk_new_ticket {
	const char *subject, *description, *priority, *category;
	const char *requester_id, *assignee_id;
	char *tags_json; /* owned */
	char attachment_ids[TK_ATTACH_IDS_MAX]; /* a PostgreSQL array, "{}" for none */
} tk_new_ticket;

static void tk_new_ticket_read(
    const cJSON *body, const hd_caller *c, tk_new_ticket *t, hd_field_errors *errs)
{
	static const char *const known[] = { "subject", "description", "priority", "category",
		"tags", "requester_id", "assignee_id", "attachment_ids", NULL };
	hd_json_reject_unknown(body, known, errs);
	hd_json_get_string(body, "subject", true, 1, TK_SUBJECT_MAX, &t->subject, errs);
	if (hd_json_get_string(body, "description", false, 0, SIZE_MAX, &t->description, errs)
	    && strlen(t->description) > TK_DESCRIPTION_MAX_BYTES)
		hd_field_errors_add(errs, "description", "must be at most 64 KiB");
	hd_json_get_enum(body, "priority", false, tk_priorities, &t->priority, errs);
	hd_json_get_string(body, "category", false, 1, TK_CATEGORY_MAX, &t->category, errs);
	hd_json_tags_read(body, &t->tags_json, errs);
	hd_json_uuid_list_read(body, "attachment_ids", TK_ATTACH_MAX, t->attachment_ids,
	    sizeof t->attachment_ids, errs);
	const char *req = NULL, *asg = NULL;
	if (tk_uuid_read(body, "requester_id", &req, NULL, errs)) {
		if (hd_caller_is(c, HD_ROLE_CUSTOMER) && strcmp(req, c->user_id) != 0)
			hd_field_errors_add(
			    errs, "requester_id", "customers request only for themselves");
		else
			t->requester_id = req;
	}
	bool asg_null = false;
	if (tk_uuid_read(body, "assignee_id", &asg, &asg_null, errs)) {
		if (hd_caller_is(c, HD_ROLE_CUSTOMER))
			hd_field_errors_add(errs, "assignee_id", "customers cannot assign tickets");
		else
			t->assignee_id = asg;
	}
}

void tk_create_reply(hd_rpc_request *req, hd_err err, const hd_db_result *res, int stmt)
{
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, stmt, 0, 0);
	const char *id = hd_db_result_value(res, stmt, 0, 1);
	if (json == NULL || id == NULL) {
		hd_reply_db_error(req, HD_ERR_INTERNAL, res);
		return;
	}
	char location[64];
	snprintf(location, sizeof(location), "/v1/tickets/%s", id);
	hd_idem_reply(req, 201, json, location, "\"1\"");
}

/* With an Idempotency-Key: the lock, the lookup, then the create (hd/idem.h). */
static void tk_create_keyed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int stmt;
	if (!hd_idem_result(req, err, res, &stmt))
		return;
	tk_create_reply(req, err, res, stmt);
	tk_relay_wake();
}

void tk_tickets_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	cJSON *body = NULL;
	tk_new_ticket t = { .description = "", .priority = "normal" };
	hd_field_errors errs = { .count = 0 };
	hd_idem k = { 0 };
	char id[HD_UUID_STRLEN + 1], sentiment[TK_SENTIMENT_MAX];
	if (!hd_caller_get(req, &c) || !hd_req_body(req, NULL, &body))
		goto out;
	t.requester_id = c.user_id;
	tk_new_ticket_read(body, &c, &t, &errs);
	if (!hd_idem_read(req, &c, NULL, false, &k, &errs) || hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	/* customer text only (docs/architecture.md, "Sentiment") */
	bool customer = hd_caller_is(&c, HD_ROLE_CUSTOMER);
	if (customer)
		tk_sentiment_param(t.subject, t.description, sentiment);
	const char *p[TK_CREATE_NPARAMS] = { c.tenant_id, id, t.subject, t.description, t.priority,
		t.category, t.tags_json != NULL ? t.tags_json : "[]", t.requester_id, t.assignee_id,
		c.user_id, k.op, k.key, k.hashed, customer ? sentiment : NULL, t.attachment_ids };
	hd_db_stmt st = { tk_create_sql, TK_CREATE_NPARAMS, p };
	if (k.key != NULL) { /* goes alone: its lookup must precede it in its transaction */
		hd_idem_run(dw, req, &tk_idem_table, &k, &st, 1, tk_create_keyed_cb, req);
	} else {
		tk_create_submit(((tk_worker *)dw->service)->creates, req, p, body, t.tags_json);
		body = NULL; /* owned by the queue now */
		t.tags_json = NULL;
	}
out:
	hd_idem_free(&k);
	free(t.tags_json);
	cJSON_Delete(body);
}

void tk_tickets_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL)
		return;
	tk_get_submit(((tk_worker *)dw->service)->gets, req, c.tenant_id, id,
	    hd_caller_is(&c, HD_ROLE_CUSTOMER) ? c.user_id : NULL);
}

static void tk_delete_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	if (hd_db_result_ntuples(res, 0) == 0) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	hd_daemon_reply_json(req, 204, "", 0, NULL);
	tk_relay_wake();
}

void tk_tickets_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, c.user_id };
	hd_db_stmt st = { sql_delete, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_delete_cb, req);
}
