/* Articles (API "Knowledge base"): create, read, list and delete. Writes
 * run in SQL with their version row and outbox event (sql/002_functions.sql);
 * PATCH and restore are article_write.c. Admin and agent see every status,
 * every other role published articles only (a draft is 404 to them). */
#include <string.h>
#include "hd/outbox.h"
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"
#include "knowledge.h"

static const char sql_create[]
    = "SELECT knowledge.article_create($1, $2, $3, $4, $5, $6, $7)::text";

static const char sql_get[]
    = "SELECT knowledge.article_json(a)::text, a.version FROM knowledge.articles a"
      " WHERE a.tenant_id = $1 AND a.id = $2 AND (NOT $3::bool OR a.status = 'published')";

/* $1 tenant, $2 status, $3 tag, $4 locale, $5 published only, $6/$7 the
 * keyset bound, $8 limit + 1. Newest first. */
static const char sql_list[]
    = "SELECT knowledge.article_json(a)::text, knowledge.ts_json(a.created_at), a.id"
      " FROM knowledge.articles a WHERE a.tenant_id = $1"
      " AND ($2::text IS NULL OR a.status = $2) AND ($3::text IS NULL OR $3 = ANY (a.tags))"
      " AND ($4::text IS NULL OR a.locale = $4) AND (NOT $5::bool OR a.status = 'published')"
      " AND (a.created_at, a.id) < ($6::timestamptz, $7::uuid)"
      " ORDER BY a.created_at DESC, a.id DESC LIMIT $8::int";

static const char sql_delete[]
    = "WITH d AS (DELETE FROM knowledge.articles a WHERE a.tenant_id = $1 AND a.id = $2"
      " RETURNING a.id), ev AS (INSERT INTO knowledge.outbox (tenant_id, type, actor_id, data)"
      " SELECT $1, 'article.deleted', $3, json_build_object('id', d.id) FROM d)"
      " SELECT count(*) FROM d";

static void kb_create_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	kb_reply_article(req, 201, hd_db_result_value(res, 0, 0, 0), "1");
	hd_outbox_wake();
}

void kb_articles_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	cJSON *body = NULL;
	kb_fields f = { .title = NULL };
	hd_field_errors errs = { .count = 0 };
	char id[HD_UUID_STRLEN + 1];
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_body(req, NULL, &body))
		goto out;
	kb_fields_read(body, true, &f, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, NULL);
		goto out;
	}
	const char *p[7] = { id, c.user_id, f.title, f.body, f.tags_json, f.locale, f.status };
	hd_db_stmt st = { sql_create, 7, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_create_cb, req);
out:
	kb_fields_free(&f);
	cJSON_Delete(body);
}

static void kb_get_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	int last = hd_db_result_nstmts(res) - 1;
	kb_reply_article(
	    req, 200, hd_db_result_value(res, last, 0, 0), hd_db_result_value(res, last, 0, 1));
}

void kb_articles_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || (id = hd_req_path_uuid(req, "id", "article")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, kb_published_only(&c) };
	hd_db_stmt st = { sql_get, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_get_cb, req);
}

void kb_articles_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "status", "tag", "locale", "limit", "cursor", NULL };
	static const char *const statuses[] = { "draft", "published", "archived", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_req_query(req, known, &q))
		return;
	const char *status = hd_query_enum(&q, "status", statuses, &errs);
	const char *tag = hd_query_text(&q, "tag", 50, &errs);
	const char *locale = hd_query_text(&q, "locale", 20, &errs);
	if (locale != NULL && !hd_locale_valid(locale))
		hd_field_errors_add(&errs, "locale", "must be a language code such as en or de-AT");
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, true, &ts, &after);
	const char *p[8]
	    = { c.tenant_id, status, tag, locale, kb_published_only(&c), ts, after, page.fetch };
	hd_db_stmt st = { sql_list, 8, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}

static void kb_delete_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *n = hd_db_result_value(res, 0, 0, 0);
	if (n == NULL || strcmp(n, "0") == 0) {
		hd_reply_not_found(req, "article");
		return;
	}
	hd_daemon_reply_json(req, 204, "", 0, NULL);
	hd_outbox_wake();
}

void kb_articles_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "article")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, c.user_id };
	hd_db_stmt st = { sql_delete, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_delete_cb, req);
}
