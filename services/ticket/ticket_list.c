/* GET /v1/tickets: filters (status, priority, assignee_id, requester_id, tag,
 * full-text q) and keyset pagination on (created_at|updated_at, id) in either
 * direction. Without a cursor the bound is a sentinel (±infinity), so every
 * page is the same index range scan. Customers see only their own tickets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/uuid.h"
#include "ticket.h"

#define TK_Q_MAX 200
#define TK_TAG_MAX 50

/* req: the requester condition, a direct equality when one is given so the
 * (tenant_id, requester_id, created_at, id) index serves customers' lists. */
#define TK_LIST_HEAD(col, cmp)                                                                     \
	"SELECT " TK_TICKET_COLS " FROM ticket.tickets t"                                          \
	" WHERE t.tenant_id = $1 AND t.deleted_at IS NULL"                                         \
	" AND (t." col ", t.id) " cmp " ($3::timestamptz, $4::uuid)"
#define TK_LIST_TAIL(col, dir) " ORDER BY t." col " " dir ", t.id " dir " LIMIT $2"
#define TK_LIST_SQL(col, cmp, dir, req)                                                            \
	TK_LIST_HEAD(col, cmp)                                                                     \
	" AND ($5::text IS NULL OR t.status = $5) AND ($6::text IS NULL OR t.priority = $6)"       \
	" AND ($7::uuid IS NULL OR t.assignee_id = $7)"                                            \
	" AND " req " AND ($9::text IS NULL OR t.tags @> ARRAY[$9::text])"                         \
	" AND ($10::text IS NULL OR t.search @@ websearch_to_tsquery('english', "                  \
	"$10))" TK_LIST_TAIL(col, dir)
/* No filter at all (the common first page): $1..$4 only. The optional
 * filters' "$n IS NULL OR ..." make the planner guess one row, so the generic
 * plan of TK_LIST_SQL is a bitmap scan of the whole tenant plus a sort
 * (~100 ms at 10,000 tickets) and PostgreSQL rightly re-plans it on every
 * call (measured at ~1 ms of planning when the statement still inlined the
 * SQL ticket_json, against ~0.25 ms of execution; the columns are plain now,
 * formatted by ticket_json.c). This one's generic plan is the index range scan; it
 * runs after TK_LIST_GENERIC_SQL, because the plan cache would keep
 * re-planning it too (it prices a LIMIT $n at a tenth of the tenant's rows). */
#define TK_LIST_PLAIN_SQL(col, cmp, dir) TK_LIST_HEAD(col, cmp) TK_LIST_TAIL(col, dir)
#define TK_LIST_GENERIC_SQL "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"

#define TK_REQ_ANY "($8::uuid IS NULL OR t.requester_id = $8)"
#define TK_REQ_ONE "t.requester_id = $8::uuid"

/* The sorts that keyset pagination serves exactly. */
typedef struct tk_sort {
	const char *name;
	const char *sql; /* any requester ($8 may be NULL) */
	const char *sql_one; /* one requester ($8 set) */
	const char *sql_plain; /* no filter: $1..$4 */
	bool desc;
	int ts_col; /* the sorted time's column, for the cursor */
} tk_sort;

#define TK_SORT(name, col, cmp, dir, desc, ts_col)                                                 \
	{                                                                                          \
		name, TK_LIST_SQL(col, cmp, dir, TK_REQ_ANY),                                      \
		    TK_LIST_SQL(col, cmp, dir, TK_REQ_ONE), TK_LIST_PLAIN_SQL(col, cmp, dir),      \
		    desc, ts_col                                                                   \
	}

static const tk_sort tk_sorts[] = {
	TK_SORT("-created_at", "created_at", "<", "DESC", true, TK_TICKET_COL_CREATED_AT),
	TK_SORT("created_at", "created_at", ">", "ASC", false, TK_TICKET_COL_CREATED_AT),
	TK_SORT("-updated_at", "updated_at", "<", "DESC", true, TK_TICKET_COL_UPDATED_AT),
	TK_SORT("updated_at", "updated_at", ">", "ASC", false, TK_TICKET_COL_UPDATED_AT),
};

/* The parsed list request. */
typedef struct tk_list_args {
	int limit;
	char limit_s[16];
	char cur_ts[32], cur_id[40];
	const tk_sort *sort;
	const char *status, *priority, *assignee, *requester, *tag, *q;
} tk_list_args;

static const char *tk_list_enum(
    const hd_query *q, const char *key, const char *const *allowed, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(v, allowed[i]) == 0)
			return allowed[i];
	}
	hd_field_errors_add(errs, key, "is not an allowed value");
	return NULL;
}

static const char *tk_list_uuid(const hd_query *q, const char *key, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	if (!hd_uuid_valid(v)) {
		hd_field_errors_add(errs, key, "must be a UUID");
		return NULL;
	}
	return v;
}

static const char *tk_list_text(
    const hd_query *q, const char *key, size_t max, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	if (strlen(v) > max) {
		hd_field_errors_add(errs, key, "is too long");
		return NULL;
	}
	return v;
}

static void tk_list_sort(const hd_query *q, tk_list_args *a, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, "sort");
	a->sort = &tk_sorts[0];
	if (v == NULL || v[0] == '\0')
		return;
	for (size_t i = 0; i < sizeof(tk_sorts) / sizeof(tk_sorts[0]); i++) {
		if (strcmp(v, tk_sorts[i].name) == 0) {
			a->sort = &tk_sorts[i];
			return;
		}
	}
	hd_field_errors_add(
	    errs, "sort", "must be created_at, -created_at, updated_at or -updated_at");
}

static void tk_list_args_read(
    const hd_query *q, const tk_caller *c, tk_list_args *a, hd_field_errors *errs)
{
	if (hd_query_limit(q, &a->limit) != HD_OK)
		hd_field_errors_add(errs, "limit", "must be an integer from 1 to 100");
	tk_list_sort(q, a, errs);
	strcpy(a->cur_ts, a->sort->desc ? "infinity" : "-infinity");
	strcpy(a->cur_id,
	    a->sort->desc ? "ffffffff-ffff-ffff-ffff-ffffffffffff"
	                  : "00000000-0000-0000-0000-000000000000");
	tk_cursor_read(q, a->cur_ts, a->cur_id, errs);
	a->status = tk_list_enum(q, "status", tk_statuses, errs);
	a->priority = tk_list_enum(q, "priority", tk_priorities, errs);
	a->assignee = tk_list_uuid(q, "assignee_id", errs);
	a->requester = tk_list_uuid(q, "requester_id", errs);
	a->tag = tk_list_text(q, "tag", TK_TAG_MAX, errs);
	a->q = tk_list_text(q, "q", TK_Q_MAX, errs);
	if (c->customer)
		a->requester = c->user_id;
}

bool tk_list_page_write(hd_buf *b, int limit, int ts_col, const hd_db_result *res, int stmt)
{
	int rows = hd_db_result_ntuples(res, stmt);
	int shown = rows > limit ? limit : rows;
	char cursor[HD_CURSOR_MAX + 3] = "null", ts[TK_TS_MAX];
	hd_buf_puts(b, "{\"items\":[");
	for (int i = 0; i < shown; i++) {
		if (i > 0)
			hd_buf_put(b, ",", 1);
		if (!tk_ticket_json_row(b, res, stmt, i))
			return false;
	}
	if (rows > limit && shown > 0
	    && tk_ts_format(hd_db_result_value(res, stmt, shown - 1, ts_col), ts))
		tk_cursor_write(
		    ts, hd_db_result_value(res, stmt, shown - 1, TK_TICKET_COL_ID), cursor);
	hd_buf_puts(b, "],\"next_cursor\":");
	hd_buf_puts(b, cursor);
	hd_buf_put(b, "}", 1);
	return !b->failed;
}

void tk_tickets_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	tk_caller c;
	hd_query q;
	tk_list_args a = { .limit = 25 };
	hd_field_errors errs = { .count = 0 };
	tk_list_queue *lists = ((tk_worker *)dw->service)->lists;
	if (!tk_caller_get(req, &c) || !tk_query(req, &q))
		return;
	tk_list_args_read(&q, &c, &a, &errs);
	if (tk_reply_invalid(req, &errs))
		return;
	snprintf(a.limit_s, sizeof(a.limit_s), "%d", a.limit + 1);
	const char *p[10] = { c.tenant_id, a.limit_s, a.cur_ts, a.cur_id, a.status, a.priority,
		a.assignee, a.requester, a.tag, a.q };
	if (a.status == NULL && a.priority == NULL && a.assignee == NULL && a.requester == NULL
	    && a.tag == NULL && a.q == NULL) {
		hd_db_stmt plain[2]
		    = { { TK_LIST_GENERIC_SQL, 0, NULL }, { a.sort->sql_plain, 4, p } };
		tk_list_submit(lists, req, plain, 2, a.limit, a.sort->ts_col);
		return;
	}
	hd_db_stmt st = { a.requester != NULL ? a.sort->sql_one : a.sort->sql, 10, p };
	tk_list_submit(lists, req, &st, 1, a.limit, a.sort->ts_col);
}
