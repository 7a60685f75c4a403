/* Keyset pages: see hd/page.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/page.h"
#include "hd/caller.h"
#include "hd/request.h"
#include "hd/reply.h"
#include "hd/uuid.h"

#define HD_PAGE_BAD_CURSOR "is not a cursor this list gave out"

bool hd_page_ts_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t n = sizeof shape - 1, len = strlen(s);
	struct tm tm = { 0 }, back;

	if (len < n + 1 || len > n + 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	if (s[len - 1] != 'Z')
		return false;
	if (len > n + 1) { /* ".f{1,6}Z" */
		if (s[n] != '.' || len < n + 3)
			return false;
		for (size_t i = n + 1; i < len - 1; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	        &tm.tm_min, &tm.tm_sec)
	        != 6
	    || tm.tm_year < 1)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	return timegm(&back) != (time_t)-1 && back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon
	    && back.tm_mday == tm.tm_mday && back.tm_hour == tm.tm_hour && back.tm_min == tm.tm_min
	    && back.tm_sec == tm.tm_sec;
}

/* Decodes a cursor into p's ts and id; false when it is not one of ours. */
static bool page_cursor_read(const char *cursor, hd_page *p)
{
	char plain[HD_PAGE_TS_MAX + HD_PAGE_ID_MAX];
	if (hd_cursor_decode(cursor, plain, sizeof plain) != HD_OK)
		return false;
	char *bar = strchr(plain, '|');
	if (bar == NULL)
		return false;
	*bar = '\0';
	if (strlen(plain) >= sizeof p->ts || !hd_page_ts_valid(plain) || !hd_uuid_valid(bar + 1))
		return false;
	memcpy(p->ts, plain, strlen(plain) + 1);
	memcpy(p->id, bar + 1, strlen(bar + 1) + 1);
	return true;
}

void hd_page_read(const hd_query *q, hd_page *p, hd_field_errors *errs)
{
	const char *cursor = hd_query_get(q, "cursor");
	*p = (hd_page) { .limit = 25 };
	if (hd_query_limit(q, &p->limit) != HD_OK)
		hd_field_errors_add(errs, "limit", "must be an integer from 1 to 100");
	snprintf(p->fetch, sizeof p->fetch, "%d", p->limit + 1);
	if (cursor != NULL && cursor[0] != '\0') {
		p->after = page_cursor_read(cursor, p);
		if (!p->after)
			hd_field_errors_add(errs, "cursor", HD_PAGE_BAD_CURSOR);
	}
}

const char *hd_page_after_ts(const hd_page *p)
{
	return p->after ? p->ts : NULL;
}

const char *hd_page_after_id(const hd_page *p)
{
	return p->after ? p->id : NULL;
}

void hd_page_bound(const hd_page *p, bool desc, const char **ts, const char **id)
{
	if (p->after) {
		*ts = p->ts;
		*id = p->id;
	} else {
		*ts = desc ? "infinity" : "-infinity";
		*id = desc ? "ffffffff-ffff-ffff-ffff-ffffffffffff"
		           : "00000000-0000-0000-0000-000000000000";
	}
}

void hd_page_cursor_json(const char *ts, const char *id, char out[HD_PAGE_CURSOR_JSON_MAX])
{
	char plain[HD_PAGE_TS_MAX + HD_PAGE_ID_MAX], enc[HD_CURSOR_MAX];
	strcpy(out, "null");
	if (ts == NULL || id == NULL)
		return;
	size_t tn = strlen(ts), in = strlen(id);
	if (tn + in + 2 > sizeof plain)
		return;
	memcpy(plain, ts, tn);
	plain[tn] = '|';
	memcpy(plain + tn + 1, id, in + 1);
	if (hd_cursor_encode(plain, enc, sizeof enc) != HD_OK)
		return;
	size_t en = strlen(enc);
	if (en + 3 > HD_PAGE_CURSOR_JSON_MAX)
		return;
	out[0] = '"';
	memcpy(out + 1, enc, en);
	out[en + 1] = '"';
	out[en + 2] = '\0';
}

/* Appends column 0 of rows [0, shown) of stmt, comma-separated. */
static void page_items_put(hd_buf *b, const hd_db_result *res, int stmt, int shown)
{
	for (int i = 0; i < shown; i++) {
		const char *v = hd_db_result_value(res, stmt, i, 0);
		if (i > 0)
			hd_buf_put(b, ",", 1);
		hd_buf_puts(b, v != NULL ? v : "null");
	}
}

void hd_reply_items(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int shown, const char *tail)
{
	hd_buf b = { 0 };
	hd_buf_puts(&b, "{\"items\":[");
	page_items_put(&b, res, stmt, shown);
	hd_buf_puts(&b, "],");
	hd_buf_puts(&b, tail);
	hd_buf_put(&b, "}", 1);
	if (!b.failed)
		hd_daemon_reply_json(req, 200, b.data, b.len, NULL);
	else
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
	hd_buf_free(&b);
}

bool hd_page_write(hd_buf *b, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id)
{
	int rows = hd_db_result_ntuples(res, stmt);
	int shown = rows > limit ? limit : rows;
	char cursor[HD_PAGE_CURSOR_JSON_MAX] = "null";

	hd_buf_puts(b, "{\"items\":[");
	page_items_put(b, res, stmt, shown);
	if (rows > limit && shown > 0)
		hd_page_cursor_json(hd_db_result_value(res, stmt, shown - 1, cur_ts),
		    hd_db_result_value(res, stmt, shown - 1, cur_id), cursor);
	hd_buf_puts(b, "],\"next_cursor\":");
	hd_buf_puts(b, cursor);
	hd_buf_put(b, "}", 1);
	return !b->failed;
}

void hd_reply_page(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id)
{
	hd_buf b = { 0 };
	if (hd_page_write(&b, res, stmt, limit, cur_ts, cur_id))
		hd_daemon_reply_json(req, 200, b.data, b.len, NULL);
	else
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
	hd_buf_free(&b);
}

/* A list in flight: what the callback needs to reply. */
typedef struct page_ctx {
	hd_rpc_request *req;
	int nstmts, limit, cur_ts, cur_id;
	const char *parent;
} page_ctx;

static void page_listed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	page_ctx *ctx = arg;
	if (err != HD_OK)
		hd_reply_db_error(ctx->req, err, res);
	else if (ctx->nstmts == 2 && hd_db_result_ntuples(res, 0) == 0)
		hd_reply_not_found(ctx->req, ctx->parent);
	else
		hd_reply_page(ctx->req, res, ctx->nstmts - 1, ctx->limit, ctx->cur_ts, ctx->cur_id);
	free(ctx);
}

void hd_page_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int nstmts, const hd_page *page, int cur_ts, int cur_id,
    const char *parent)
{
	page_ctx *ctx = malloc(sizeof *ctx);
	if (ctx == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*ctx = (page_ctx) { req, nstmts, page->limit, cur_ts, cur_id, parent };
	hd_err err = dw->db != NULL
	    ? hd_db_run(dw->db, tenant_id, stmts, nstmts, page_listed_cb, ctx)
	    : HD_ERR_UNAVAILABLE;
	if (err != HD_OK) {
		free(ctx);
		hd_reply_db_error(req, HD_ERR_UNAVAILABLE, NULL);
	}
}

void hd_page_children(hd_rpc_request *req, hd_daemon_worker *dw, unsigned roles, bool desc,
    const char *parent, const char *parent_sql, const char *page_sql)
{
	static const char *const known[] = { "limit", "cursor", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	const char *id;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, roles)
	    || (id = hd_req_path_uuid(req, "id", parent)) == NULL || !hd_req_query(req, known, &q))
		return;
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, desc, &ts, &after);
	const char *pp[2] = { c.tenant_id, id };
	const char *p[5] = { c.tenant_id, id, ts, after, page.fetch };
	hd_db_stmt st[2] = { { parent_sql, 2, pp }, { page_sql, 5, p } };
	hd_page_run(dw, req, c.tenant_id, st, 2, &page, 1, 2, parent);
}
