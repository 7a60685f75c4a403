/* PATCH /v1/kb/articles/{id} and POST .../versions/{n}/restore (admin,
 * agent): a new current text as a new version, with If-Match (412 when the
 * article changed since it was read), in one statement
 * (knowledge.article_write / article_restore), and GET .../versions. */
#include <stdlib.h>
#include <string.h>
#include "hd/outbox.h"
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "knowledge.h"

static const char sql_update[] = "SELECT w.outcome, w.j::text, w.version"
                                 " FROM knowledge.article_write($1, $2, $3, $4, $5, $6, $7, $8) w";
static const char sql_restore[]
    = "SELECT w.outcome, w.j::text, w.version FROM knowledge.article_restore($1, $2, $3, $4) w";

/* Statement 0: the article is there; 1: its versions, newest first. */
static const char sql_versions_parent[]
    = "SELECT 1 FROM knowledge.articles a WHERE a.tenant_id = $1 AND a.id = $2";
static const char sql_versions[]
    = "SELECT knowledge.version_json(v)::text, knowledge.ts_json(v.created_at), v.id"
      " FROM knowledge.article_versions v WHERE v.tenant_id = $1 AND v.article_id = $2"
      " AND (v.created_at, v.id) < ($3::timestamptz, $4::uuid)"
      " ORDER BY v.created_at DESC, v.id DESC LIMIT $5::int";

static const char *const kb_text_stale = "the article changed since you read it (If-Match)";

static void kb_write_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *outcome = hd_db_result_value(res, 0, 0, 0);
	if (outcome == NULL || strcmp(outcome, "not_found") == 0) {
		hd_reply_not_found(req, "article");
		return;
	}
	if (strcmp(outcome, "version_not_found") == 0) {
		hd_reply_not_found(req, "version");
		return;
	}
	if (strcmp(outcome, "stale") == 0) {
		hd_daemon_reply_problem(req, 412, kb_text_stale, NULL);
		return;
	}
	kb_reply_article(
	    req, 200, hd_db_result_value(res, 0, 0, 1), hd_db_result_value(res, 0, 0, 2));
	if (strcmp(outcome, "changed") == 0)
		hd_outbox_wake();
}

/* The caller (admin or agent), the article id and If-Match; false after
 * replying. */
static bool kb_write_prelude(
    hd_rpc_request *req, hd_caller *c, const char **id, char if_match[HD_IF_MATCH_MAX], bool *has)
{
	if (!hd_caller_get(req, c) || !hd_caller_require(req, c, HD_ROLES_STAFF)
	    || (*id = hd_req_path_uuid(req, "id", "article")) == NULL)
		return false;
	if (!hd_req_if_match(req, if_match, has)) {
		hd_daemon_reply_problem(req, 412, kb_text_stale, NULL);
		return false;
	}
	return true;
}

void kb_articles_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	char if_match[HD_IF_MATCH_MAX];
	bool has_if_match;
	cJSON *body = NULL;
	kb_fields f = { .title = NULL };
	hd_field_errors errs = { .count = 0 };
	if (!kb_write_prelude(req, &c, &id, if_match, &has_if_match)
	    || !hd_req_body(req, NULL, &body))
		goto out;
	kb_fields_read(body, false, &f, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	const char *p[8] = { id, has_if_match ? if_match : NULL, c.user_id, f.title, f.body,
		f.tags_json, f.locale, f.status };
	hd_db_stmt st = { sql_update, 8, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_write_cb, req);
out:
	kb_fields_free(&f);
	cJSON_Delete(body);
}

void kb_articles_restore(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	char if_match[HD_IF_MATCH_MAX];
	bool has_if_match;
	if (!kb_write_prelude(req, &c, &id, if_match, &has_if_match))
		return;
	/* the gateway lets only 1..9 digits through as {n} */
	const char *n = hd_envelope_param(hd_rpc_request_envelope(req), "n");
	if (n == NULL || n[0] == '\0' || n[0] == '0' || strlen(n) > 9
	    || strspn(n, "0123456789") != strlen(n)) {
		hd_reply_not_found(req, "version");
		return;
	}
	const char *p[4] = { id, n, has_if_match ? if_match : NULL, c.user_id };
	hd_db_stmt st = { sql_restore, 4, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_write_cb, req);
}

void kb_articles_versions(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_page_children(
	    req, dw, HD_ROLES_STAFF, true, "article", sql_versions_parent, sql_versions);
}
