/* GET /v1/kb/search (any role; customers: published only), POST
 * .../feedback, and kb.suggest, the operation hd-ticket calls for a
 * ticket's suggestions with the auto-triage predictions (no route). The ranking and the typo
 * fallback are knowledge.search (sql/002_functions.sql; docs/architecture.md, "Knowledge search").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "knowledge.h"

#define KB_QUERY_MAX 200
#define KB_SUGGEST_TEXT_MAX 4000
#define KB_LIMIT_MAX 50

const char kb_search_sql[] = "SELECT knowledge.search($1, $2, $3::int, $4::bool, $5::bool)::text";

static const char sql_feedback[] = "SELECT knowledge.article_feedback($1, $2, $3, $4)";

bool kb_search_params_read(hd_rpc_request *req, const hd_query *q, kb_search_params *sp)
{
	hd_field_errors errs = { .count = 0 };
	const char *limit = hd_query_get(q, "limit");
	sp->q = hd_query_text(q, "q", KB_QUERY_MAX, &errs);
	if (sp->q == NULL && errs.count == 0)
		hd_field_errors_add(&errs, "q", "is required");
	sp->locale = hd_query_text(q, "locale", 20, &errs);
	if (sp->locale != NULL && !hd_locale_valid(sp->locale))
		hd_field_errors_add(&errs, "locale", "must be a language code such as en or de-AT");
	snprintf(sp->limit, sizeof sp->limit, "10");
	if (limit != NULL) {
		size_t n = strlen(limit);
		int v = (n >= 1 && n <= 2 && strspn(limit, "0123456789") == n) ? atoi(limit) : 0;
		if (v < 1 || v > KB_LIMIT_MAX)
			hd_field_errors_add(&errs, "limit", "must be an integer from 1 to 50");
		else
			snprintf(sp->limit, sizeof sp->limit, "%d", v);
	}
	return !hd_reply_invalid(req, &errs);
}

void kb_search(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "q", "locale", "limit", NULL };
	hd_caller c;
	hd_query q;
	kb_search_params sp;
	if (!hd_caller_get(req, &c) || !hd_req_query(req, known, &q)
	    || !kb_search_params_read(req, &q, &sp))
		return;
	const char *p[KB_SEARCH_NPARAMS]
	    = { sp.q, sp.locale, sp.limit, kb_published_only(&c), "f" };
	kb_search_cached(req, dw, c.tenant_id, p);
}

/* The kb.suggest reply: the search's {"items"} with the classifier's
 * "predicted" added. */
static void kb_suggest_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *found = hd_db_result_value(res, 0, 0, 0);
	if (found != NULL)
		kb_reply_predicted(req, found, hd_db_result_value(res, 1, 0, 0));
	else
		hd_reply_problem(req, 500, NULL);
}

/* kb.suggest: {"text": the ticket's subject and description, "limit"?: 1..10
 * (default 5)} from a staff caller of the tenant -> {"items": [...],
 * "predicted": {"category", "priority"}}: the published articles matching
 * any of the text's words, best first, and the auto-triage classifier's
 * predictions (triage.c). */
void kb_suggest(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "text", "limit", NULL };
	hd_caller c;
	cJSON *body = NULL;
	const char *text = NULL;
	int64_t limit = 5;
	char lim[8];
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_body(req, known, &body))
		return;
	hd_json_get_string(body, "text", true, 1, KB_SUGGEST_TEXT_MAX, &text, &errs);
	hd_json_get_int(body, "limit", false, 1, 10, &limit, &errs);
	if (!hd_reply_invalid(req, &errs)) {
		snprintf(lim, sizeof lim, "%d", (int)limit);
		const char *p[5] = { text, NULL, lim, "t", "t" };
		const char *tp[1] = { text };
		hd_db_stmt st[2] = { { kb_search_sql, 5, p }, { kb_triage_sql, 1, tp } };
		hd_daemon_db_run(dw, req, c.tenant_id, st, 2, kb_suggest_cb, req);
	}
	cJSON_Delete(body);
}

static void kb_feedback_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *ok = hd_db_result_value(res, 0, 0, 0);
	if (ok == NULL || strcmp(ok, "t") != 0) {
		hd_reply_not_found(req, "article");
		return;
	}
	hd_daemon_reply_json(req, 204, "", 0, NULL);
}

void kb_articles_feedback(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "helpful", NULL };
	hd_caller c;
	const char *id;
	cJSON *body = NULL;
	bool helpful = false;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || (id = hd_req_path_uuid(req, "id", "article")) == NULL
	    || !hd_req_body(req, known, &body))
		return;
	hd_json_get_bool(body, "helpful", true, &helpful, &errs);
	cJSON_Delete(body);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *p[4] = { id, c.user_id, helpful ? "t" : "f", kb_published_only(&c) };
	hd_db_stmt st = { sql_feedback, 4, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, kb_feedback_cb, req);
}
