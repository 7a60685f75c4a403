/* Comments on a ticket (public or internal) and the ticket's audit history.
 * Customers comment only on their own tickets, only publicly, and see only
 * public comments. The first public comment by an agent or admin sets the
 * ticket's first_response_at; each comment queues a comment.added event
 * (saying whether it was that first response: hd-analytics counts on it).
 * A comment may claim the author's unattached uploads (attachment_ids;
 * attachments.c, docs/architecture.md "Attachments"). */
#include <stdio.h>
#include <string.h>
#include "hd/json.h"
#include "hd/uuid.h"
#include "ticket.h"

#define TK_COMMENT_MAX 65536

/* $1 tenant, $2 ticket, $3 own-only requester or NULL, $4 comment id,
 * $5 author, $6 author role, $7 body, $8 public, $9 Idempotency-Key or NULL,
 * $10 its hashed text, $11 the op, $12 the sentiment of a customer's comment
 * or NULL (stored on the ticket as its latest; a change is a new version, a
 * history entry and a ticket.updated event, with what the ticket.updated
 * automation rules it sets off changed: sql/R_automations.sql),
 * $13 the attachment ids to claim ("{}" for none; ticket.attachments_claim
 * fails the whole statement when one is not the author's unattached upload).
 * Does nothing when the key is already stored. */
static const char sql_comment_create[] = "WITH" HD_IDEM_CTE("$1", "$5", "$11", "$9",
    "$10") ","
           " t AS (SELECT t.id, t.requester_id, t.subject, t.status, t.priority, t.category,"
           " t.tags, t.assignee_id, t.sentiment FROM ticket.tickets t WHERE t.tenant_id = $1"
           " AND t.id = $2"
           " AND t.deleted_at IS NULL AND ($3::uuid IS NULL OR t.requester_id = $3)"
           " AND" TK_IDEM_FREE "),"
           " att AS (SELECT ticket.attachments_claim($1, $5, $13::uuid[], t.id, $4, NULL, false)"
           " AS j FROM t),"
           " c AS (INSERT INTO ticket.comments AS cm (tenant_id, id, ticket_id, author_id,"
           " author_role, body, public) SELECT $1, $4, t.id, $5, $6, $7, $8::bool FROM t"
           " RETURNING ticket.comment_json(cm) AS j0, ticket.comment_event_json(cm,"
           " (SELECT t.requester_id FROM t)) AS ej, cm.created_at, cm.public),"
           " cj AS (SELECT (c.j0::jsonb || jsonb_build_object('attachments', att.j))::json AS j"
           " FROM c, att),"
           " fr AS (UPDATE ticket.tickets x SET first_response_at = c.created_at,"
           " updated_at = c.created_at, version = x.version + 1 FROM c"
           " WHERE x.tenant_id = $1 AND x.id = $2 AND x.first_response_at IS NULL AND c.public"
           " AND $6 IN ('admin', 'agent') RETURNING 1),"
           " s AS (UPDATE ticket.tickets x SET sentiment = $12::int, updated_at = c.created_at,"
           " version = x.version + 1 FROM c WHERE x.tenant_id = $1 AND x.id = $2"
           " AND $12::int IS NOT NULL AND x.sentiment IS DISTINCT FROM $12::int"
           " RETURNING ticket.ticket_json(x) AS j, x.updated_at, x.subject, x.status, x.priority,"
           " x.category, x.tags, x.assignee_id, x.sentiment),"
           " ch AS (SELECT v.field, v.o, v.n FROM t, s, LATERAL (VALUES" TK_CHANGED_FIELDS("t",
               "s") ") v(field, o, n) WHERE v.o IS DISTINCT FROM v.n),"
                    " h AS (INSERT INTO ticket.history (tenant_id, ticket_id, at, actor_id, field,"
                    " old_value, new_value) SELECT $1, $2, s.updated_at, $5, ch.field, ch.o, ch.n "
                    "FROM ch, s),"
                    " su AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
                    " SELECT $1, 'ticket.updated', $5, json_build_object('ticket', s.j, 'changes',"
                    " (SELECT json_object_agg(ch.field, json_build_object('from', ch.o, 'to', "
                    "ch.n)) FROM ch))"
                    " FROM s),"
                    " o AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
                    " SELECT $1, 'comment.added', $5, (c.ej::jsonb || "
                    "jsonb_build_object('first_response',"
                    " EXISTS (SELECT 1 FROM fr)))::json FROM c),"
                    " reply AS (SELECT 201 AS status, j, NULL::text AS location, NULL::text AS "
                    "etag FROM"
                    " cj)," TK_IDEM_STORE " SELECT j::text FROM cj";

/* Statement 0 of a list: the ticket is visible to the caller. */
static const char sql_ticket_visible[]
    = "SELECT 1 FROM ticket.tickets t WHERE t.tenant_id = $1 AND t.id = $2"
      " AND t.deleted_at IS NULL AND ($3::uuid IS NULL OR t.requester_id = $3)";

/* Oldest first; keyset on (created_at, id). $3: public only. */
static const char sql_comment_list[]
    = "SELECT ticket.comment_json(c)::text, ticket.ts(c.created_at), c.id FROM ticket.comments c"
      " WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND (NOT $3::bool OR c.public)"
      " AND (c.created_at, c.id) > ($4::timestamptz, $5::uuid)"
      " ORDER BY c.created_at, c.id LIMIT $6";

/* Oldest first; keyset on (at, entry id written as a UUID-shaped key so the
 * common cursor format carries it). $3 is unused here (always true). */
static const char sql_history_list[]
    = "SELECT json_build_object('at', ticket.ts(h.at), 'actor_id', h.actor_id, 'field', h.field,"
      " 'from', h.old_value, 'to', h.new_value)::text, ticket.ts(h.at),"
      " lpad(to_hex(h.id), 32, '0')::uuid FROM ticket.history h"
      " WHERE h.tenant_id = $1 AND h.ticket_id = $2"
      " AND (h.at, lpad(to_hex(h.id), 32, '0')::uuid) > ($4::timestamptz, $5::uuid)"
      " AND $3::bool ORDER BY h.at, h.id LIMIT $6";

void tk_comments_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "body", "public", "attachment_ids", NULL };
	hd_caller c;
	const char *ticket;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	hd_idem k = { 0 };
	const char *text = NULL;
	bool pub = true;
	char id[HD_UUID_STRLEN + 1], sentiment[TK_SENTIMENT_MAX], ids[TK_ATTACH_IDS_MAX];
	if (!hd_caller_get(req, &c) || (ticket = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	hd_json_reject_unknown(body, known, &errs);
	if (hd_json_get_string(body, "body", true, 1, SIZE_MAX, &text, &errs)
	    && strlen(text) > TK_COMMENT_MAX)
		hd_field_errors_add(&errs, "body", "must be at most 64 KiB");
	hd_json_get_bool(body, "public", false, &pub, &errs);
	hd_json_uuid_list_read(body, "attachment_ids", TK_ATTACH_MAX, ids, sizeof ids, &errs);
	if (hd_caller_is(&c, HD_ROLE_CUSTOMER) && !pub)
		hd_field_errors_add(&errs, "public", "customers can post only public comments");
	if (!hd_idem_read(req, &c, ticket, false, &k, &errs) || hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	bool customer = hd_caller_is(&c, HD_ROLE_CUSTOMER);
	if (customer)
		tk_sentiment_param(text, NULL, sentiment);
	const char *p[13]
	    = { c.tenant_id, ticket, customer ? c.user_id : NULL, id, c.user_id, c.role, text,
		      pub ? "t" : "f", k.key, k.hashed, k.op, customer ? sentiment : NULL, ids };
	hd_db_stmt st = { sql_comment_create, 13, p };
	hd_idem_run(dw, req, &tk_idem_table, &k, &st, 1, tk_idem_child_created_cb, req);
out:
	hd_idem_free(&k);
	cJSON_Delete(body);
}

/* Lists rows under a visible ticket with sql (ticket.h; parameters: tenant, ticket,
 * flag, cursor ts, cursor id, limit + 1). */
void tk_ticket_children(hd_rpc_request *req, hd_daemon_worker *dw, const hd_caller *c,
    const char *sql, const char *flag)
{
	const char *ticket;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	const char *ts, *cid;
	if ((ticket = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_query(req, tk_page_params, &q))
		return;
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	hd_page_bound(&page, false, &ts, &cid);
	const char *vp[3]
	    = { c->tenant_id, ticket, hd_caller_is(c, HD_ROLE_CUSTOMER) ? c->user_id : NULL };
	const char *lp[6] = { c->tenant_id, ticket, flag, ts, cid, page.fetch };
	hd_db_stmt st[2] = { { sql_ticket_visible, 3, vp }, { sql, 6, lp } };
	hd_page_run(dw, req, c->tenant_id, st, 2, &page, 1, 2, "ticket");
}

void tk_comments_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c))
		return;
	tk_ticket_children(
	    req, dw, &c, sql_comment_list, hd_caller_is(&c, HD_ROLE_CUSTOMER) ? "t" : "f");
}

void tk_tickets_history(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return;
	tk_ticket_children(req, dw, &c, sql_history_list, "t");
}
