/* The public help center, without a token: GET /v1/help/{tenant_slug}/
 * articles, .../articles/{id} and .../search?q=. Statement 0 of every batch
 * is knowledge.help_tenant(slug): it sets app.tenant_id only when that tenant
 * made its help center public (PUT /v1/kb/settings), so the statements after
 * it see that tenant's rows under row-level security, and nothing otherwise.
 * Only published articles, ever; anything else is 404. */
#include <string.h>
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "knowledge.h"

static const char sql_tenant[] = "SELECT t FROM knowledge.help_tenant($1) t WHERE t IS NOT NULL";
static const char sql_article[]
    = "SELECT knowledge.help_article_json(a)::text, a.version FROM knowledge.articles a"
      " WHERE a.id = $1 AND a.status = 'published'";
static const char sql_list[]
    = "SELECT knowledge.help_article_json(a)::text, knowledge.ts_json(a.created_at), a.id"
      " FROM knowledge.articles a WHERE a.status = 'published'"
      " AND ($1::text IS NULL OR a.locale = $1)"
      " AND (a.created_at, a.id) < ($2::timestamptz, $3::uuid)"
      " ORDER BY a.created_at DESC, a.id DESC LIMIT $4::int";

#define KB_HELP_CENTER "help center"

/* The slug of the path (the gateway lets only [a-z0-9-]{2,63} through);
 * NULL after replying 404. */
static const char *kb_help_slug(hd_rpc_request *req)
{
	const char *slug = hd_envelope_param(hd_rpc_request_envelope(req), "tenant_slug");
	size_t n = slug != NULL ? strlen(slug) : 0;
	if (n < 2 || n > 63 || strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
		hd_reply_not_found(req, KB_HELP_CENTER);
		return NULL;
	}
	return slug;
}

/* Replies 404 "help center not found" when statement 0 found no public help
 * center; true when it replied. */
static bool kb_help_missing(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return true;
	}
	if (hd_db_result_ntuples(res, 0) == 0) {
		hd_reply_not_found(req, KB_HELP_CENTER);
		return true;
	}
	return false;
}

static void kb_help_article_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (!kb_help_missing(req, err, res))
		kb_reply_article(
		    req, 200, hd_db_result_value(res, 1, 0, 0), hd_db_result_value(res, 1, 0, 1));
}

static void kb_help_search_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (!kb_help_missing(req, err, res))
		kb_json_cb(err, res, arg);
}

void kb_help_article(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const char *slug, *id;
	if ((slug = kb_help_slug(req)) == NULL
	    || (id = hd_req_path_uuid(req, "id", "article")) == NULL)
		return;
	const char *p0[1] = { slug }, *p1[1] = { id };
	hd_db_stmt st[2] = { { sql_tenant, 1, p0 }, { sql_article, 1, p1 } };
	hd_daemon_db_run(dw, req, NULL, st, 2, kb_help_article_cb, req);
}

void kb_help_articles(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "locale", "limit", "cursor", NULL };
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	const char *slug;
	if ((slug = kb_help_slug(req)) == NULL || !hd_req_query(req, known, &q))
		return;
	const char *locale = hd_query_text(&q, "locale", 20, &errs);
	if (locale != NULL && !hd_locale_valid(locale))
		hd_field_errors_add(&errs, "locale", "must be a language code such as en or de-AT");
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, true, &ts, &after);
	const char *p0[1] = { slug }, *p1[4] = { locale, ts, after, page.fetch };
	hd_db_stmt st[2] = { { sql_tenant, 1, p0 }, { sql_list, 4, p1 } };
	hd_page_run(dw, req, NULL, st, 2, &page, 1, 2, KB_HELP_CENTER);
}

void kb_help_search(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "q", "locale", "limit", NULL };
	hd_query q;
	kb_search_params sp;
	const char *slug;
	if ((slug = kb_help_slug(req)) == NULL || !hd_req_query(req, known, &q)
	    || !kb_search_params_read(req, &q, &sp))
		return;
	const char *p0[1] = { slug }, *p1[5] = { sp.q, sp.locale, sp.limit, "t", "f" };
	hd_db_stmt st[2] = { { sql_tenant, 1, p0 }, { kb_search_sql, 5, p1 } };
	hd_daemon_db_run(dw, req, NULL, st, 2, kb_help_search_cb, req);
}
