/* PATCH /v1/tickets/{id} (admin, agent): If-Match, the status state machine
 * (ticket.status_move_ok), one history row per changed field, version + 1
 * and a ticket.updated event with the changes, all in one statement: the
 * row is locked, checked, updated and audited in a single round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "ticket.h"

#define TK_SUBJECT_MAX 200
#define TK_CATEGORY_MAX 100

/* $1 tenant, $2 id, $3 If-Match version or NULL, $4 subject, $5 status,
 * $6 priority, $7 category given, $8 category, $9 tags json, $10 assignee
 * given, $11 assignee, $12 actor. Returns one row when the ticket exists:
 * version_ok, move_ok, old status, ticket json, version, changed, and when
 * the move is refused the statuses the ticket may move to, and the status
 * asked for. */
const char tk_update_sql[]
    = "WITH cur AS (SELECT t.*, ticket.ticket_json(t) AS j FROM ticket.tickets t"
      " WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL FOR UPDATE),"
      " nw AS (SELECT cur.id, ($3::int IS NULL OR cur.version = $3) AS version_ok,"
      " ($5::text IS NULL OR $5 = cur.status OR ticket.status_move_ok(cur.status, $5)) AS move_ok,"
      " COALESCE($4, cur.subject) AS subject, COALESCE($5, cur.status) AS status,"
      " COALESCE($6, cur.priority) AS priority,"
      " CASE WHEN $7::bool THEN $8::text ELSE cur.category END AS category,"
      " CASE WHEN $9::json IS NULL THEN cur.tags"
      " ELSE ARRAY(SELECT json_array_elements_text($9::json)) END AS tags,"
      " CASE WHEN $10::bool THEN $11::uuid ELSE cur.assignee_id END AS assignee_id FROM cur),"
      " upd AS (UPDATE ticket.tickets t SET subject = nw.subject, status = nw.status,"
      " priority = nw.priority, category = nw.category, tags = nw.tags, assignee_id = "
      "nw.assignee_id,"
      " version = t.version + 1, updated_at = date_trunc('milliseconds', now()),"
      " solved_at = CASE WHEN nw.status = 'solved' AND t.status <> 'solved'"
      " THEN date_trunc('milliseconds', now()) WHEN nw.status = 'closed' THEN t.solved_at"
      " WHEN nw.status <> 'solved' THEN NULL ELSE t.solved_at END"
      " FROM nw WHERE t.tenant_id = $1 AND t.id = nw.id AND nw.version_ok AND nw.move_ok"
      " AND (nw.subject, nw.status, nw.priority, nw.category, nw.tags, nw.assignee_id)"
      " IS DISTINCT FROM (t.subject, t.status, t.priority, t.category, t.tags, t.assignee_id)"
      " RETURNING ticket.ticket_json(t) AS j, t.version, t.updated_at, t.subject, t.status,"
      " t.priority, t.category, t.tags, t.assignee_id, t.sentiment),"
      " ch AS (SELECT v.field, v.o, v.n FROM cur, upd, LATERAL (VALUES" TK_CHANGED_FIELDS("cur",
          "upd") ") v(field, o, n) WHERE v.o IS DISTINCT FROM v.n),"
                 " h AS (INSERT INTO ticket.history (tenant_id, ticket_id, at, actor_id, field, "
                 "old_value, "
                 "new_value)"
                 " SELECT $1, $2, upd.updated_at, $12, ch.field, ch.o, ch.n FROM ch, upd),"
                 " ev AS (INSERT INTO ticket.outbox (tenant_id, type, actor_id, data)"
                 " SELECT $1, 'ticket.updated', $12, json_build_object('ticket', upd.j, 'changes',"
                 " (SELECT json_object_agg(ch.field, json_build_object('from', ch.o, 'to', ch.n)) "
                 "FROM ch))"
                 " FROM upd)"
                 " SELECT nw.version_ok, nw.move_ok, cur.status, COALESCE((SELECT j FROM upd), "
                 "cur.j)::text,"
                 " COALESCE((SELECT version FROM upd), cur.version), EXISTS (SELECT 1 FROM upd),"
                 " CASE WHEN NOT nw.move_ok THEN (SELECT string_agg(s, ', ' ORDER BY o)"
                 " FROM unnest(ARRAY['new', 'open', 'pending', 'on_hold', 'solved', 'closed'])"
                 " WITH ORDINALITY AS m(s, o) WHERE ticket.status_move_ok(cur.status, m.s)) END, "
                 "$5::text"
                 " FROM cur, nw";

/* The validated changes (strings point into the body; tags_json owned). */
typedef struct tk_patch {
	const char *subject, *status, *priority, *category, *assignee_id;
	bool category_set, assignee_set;
	char *tags_json;
	char if_match[HD_IF_MATCH_MAX];
	bool has_if_match;
} tk_patch;

/* Reads an optional string member that may be JSON null (to clear it). */
static void tk_patch_nullable(const cJSON *body, const char *key, size_t max, const char **out,
    bool *set, hd_field_errors *errs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (v == NULL)
		return;
	*set = true;
	if (cJSON_IsNull(v))
		return;
	if (!hd_json_get_string(body, key, false, 1, max, out, errs))
		*set = false;
}

static void tk_patch_read(const cJSON *body, tk_patch *p, hd_field_errors *errs)
{
	static const char *const known[]
	    = { "subject", "status", "priority", "category", "tags", "assignee_id", NULL };
	hd_json_reject_unknown(body, known, errs);
	hd_json_get_string(body, "subject", false, 1, TK_SUBJECT_MAX, &p->subject, errs);
	hd_json_get_enum(body, "status", false, tk_statuses, &p->status, errs);
	hd_json_get_enum(body, "priority", false, tk_priorities, &p->priority, errs);
	tk_patch_nullable(body, "category", TK_CATEGORY_MAX, &p->category, &p->category_set, errs);
	hd_json_tags_read(body, &p->tags_json, errs);
	bool clear = false;
	if (tk_uuid_read(body, "assignee_id", &p->assignee_id, &clear, errs) || clear)
		p->assignee_set = true;
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "tags");
	if (cJSON_IsNull(tags))
		hd_field_errors_add(errs, "tags", "must be an array of strings");
}

/* 422 on status: from what, to what, and the moves allowed from there. */
static void tk_status_move_refused(
    hd_rpc_request *req, const char *from, const char *to, const char *allowed)
{
	char msg[128];
	if (allowed == NULL)
		snprintf(msg, sizeof msg, "cannot move a ticket from %s to %s: %s is final",
		    from != NULL ? from : "?", to != NULL ? to : "?", from != NULL ? from : "?");
	else
		snprintf(msg, sizeof msg, "cannot move a ticket from %s to %s; from %s: %s",
		    from != NULL ? from : "?", to != NULL ? to : "?", from != NULL ? from : "?",
		    allowed);
	hd_reply_invalid_field(req, "status", msg);
}

static void tk_update_cb(hd_err err, const hd_db_result *res, void *arg)
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
	const char *version_ok = hd_db_result_value(res, 0, 0, 0);
	const char *move_ok = hd_db_result_value(res, 0, 0, 1);
	if (version_ok == NULL || strcmp(version_ok, "t") != 0) {
		hd_daemon_reply_problem(
		    req, 412, "the ticket changed since you read it (If-Match)", NULL);
		return;
	}
	if (move_ok == NULL || strcmp(move_ok, "t") != 0) {
		tk_status_move_refused(req, hd_db_result_value(res, 0, 0, 2),
		    hd_db_result_value(res, 0, 0, 7), hd_db_result_value(res, 0, 0, 6));
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 3);
	const char *version = hd_db_result_value(res, 0, 0, 4);
	const char *changed = hd_db_result_value(res, 0, 0, 5);
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%s\"", version != NULL ? version : "0");
	hd_daemon_reply_json(req, 200, json != NULL ? json : "{}", json != NULL ? strlen(json) : 2,
	    "etag", etag, NULL);
	if (changed != NULL && strcmp(changed, "t") == 0)
		tk_relay_wake();
}

void tk_tickets_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	cJSON *body = NULL;
	tk_patch p = { .subject = NULL };
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	tk_patch_read(body, &p, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (!hd_req_if_match(req, p.if_match, &p.has_if_match)) {
		hd_daemon_reply_problem(
		    req, 412, "If-Match does not match the ticket's ETag", NULL);
		goto out;
	}
	const char *prm[12] = { c.tenant_id, id, p.if_match[0] != '\0' ? p.if_match : NULL,
		p.subject, p.status, p.priority, p.category_set ? "t" : "f", p.category,
		p.tags_json, p.assignee_set ? "t" : "f", p.assignee_id, c.user_id };
	hd_db_stmt st = { tk_update_sql, 12, prm };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_update_cb, req);
out:
	free(p.tags_json);
	cJSON_Delete(body);
}
