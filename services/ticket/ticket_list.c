/* GET /v1/tickets: filters (status, priority, assignee_id, requester_id, tag,
 * full-text q, or the ticket's number) and keyset pagination on (created_at|updated_at, id) in
 * either direction. Without a cursor the bound is a sentinel (±infinity), so every page is the same
 * index range scan. Customers see only their own tickets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/uuid.h"
#include "list_sql.h"
#include "ticket.h"

/* a list's statement and its parameters fit the shared-list key (list_key.c) */
_Static_assert(TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS <= TK_LIST_MAX_PARAMS, "list parameters");

#define TK_Q_MAX 200
#define TK_TAG_MAX 50

/* ?number=N, the number people quote: at most one ticket, by the
 * (tenant_id, number) unique index. $2 limit, $3 number, $4 own requester. */
static const char tk_list_number_sql[] = "SELECT " TK_TICKET_COLS " FROM ticket.tickets t"
                                         " WHERE t.tenant_id = $1 AND t.number = $3::bigint"
                                         " AND t.deleted_at IS NULL"
                                         " AND ($4::uuid IS NULL OR t.requester_id = $4)"
                                         " LIMIT $2";

/* The sorts that keyset pagination serves exactly, by name. */
typedef struct tk_sort {
	const char *name;
	tk_list_order order; /* its statements (list_sql.h) */
	bool desc;
	int ts_col; /* the sorted time's column, for the cursor */
} tk_sort;

static const tk_sort tk_sorts[] = {
	{ "-created_at", TK_LIST_CREATED_DESC, true, TK_TICKET_COL_CREATED_AT },
	{ "created_at", TK_LIST_CREATED_ASC, false, TK_TICKET_COL_CREATED_AT },
	{ "-updated_at", TK_LIST_UPDATED_DESC, true, TK_TICKET_COL_UPDATED_AT },
	{ "updated_at", TK_LIST_UPDATED_ASC, false, TK_TICKET_COL_UPDATED_AT },
};

/* The parsed list request. */
typedef struct tk_list_args {
	hd_page page;
	const char *cur_ts, *cur_id; /* the keyset bound (hd_page_bound) */
	const tk_sort *sort;
	const char *status, *priority, *assignee, *requester, *tag, *q, *number;
} tk_list_args;

/* The query parameters of GET /v1/tickets (docs/openapi.yaml). */
static const char *const tk_list_params[] = { "limit", "cursor", "sort", "status", "priority",
	"assignee_id", "requester_id", "tag", "q", "number", NULL };

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
    const hd_query *q, const hd_caller *c, tk_list_args *a, hd_field_errors *errs)
{
	hd_page_read(q, &a->page, errs);
	tk_list_sort(q, a, errs);
	hd_page_bound(&a->page, a->sort->desc, &a->cur_ts, &a->cur_id);
	a->status = hd_query_enum(q, "status", tk_statuses, errs);
	a->priority = hd_query_enum(q, "priority", tk_priorities, errs);
	a->assignee = hd_query_uuid(q, "assignee_id", errs);
	a->requester = hd_query_uuid(q, "requester_id", errs);
	a->tag = hd_query_text(q, "tag", TK_TAG_MAX, errs);
	a->q = hd_query_text(q, "q", TK_Q_MAX, errs);
	a->number = hd_query_get(q, "number");
	if (a->number != NULL
	    && (a->number[0] < '1' || a->number[0] > '9' || strlen(a->number) > 18
	        || strspn(a->number, "0123456789") != strlen(a->number))) {
		hd_field_errors_add(errs, "number", "must be a ticket number (a positive integer)");
		a->number = NULL;
	}
	if (hd_caller_is(c, HD_ROLE_CUSTOMER))
		a->requester = c->user_id;
}

bool tk_list_page_write(hd_buf *b, int limit, int ts_col, const hd_db_result *res, int stmt)
{
	int rows = hd_db_result_ntuples(res, stmt);
	int shown = rows > limit ? limit : rows;
	char cursor[HD_PAGE_CURSOR_JSON_MAX] = "null", ts[TK_TS_MAX];
	hd_buf_puts(b, "{\"items\":[");
	for (int i = 0; i < shown; i++) {
		if (i > 0)
			hd_buf_put(b, ",", 1);
		if (!tk_ticket_json_row(b, res, stmt, i))
			return false;
	}
	if (rows > limit && shown > 0
	    && tk_ts_format(hd_db_result_value(res, stmt, shown - 1, ts_col), ts))
		hd_page_cursor_json(
		    ts, hd_db_result_value(res, stmt, shown - 1, TK_TICKET_COL_ID), cursor);
	hd_buf_puts(b, "],\"next_cursor\":");
	hd_buf_puts(b, cursor);
	hd_buf_put(b, "}", 1);
	return !b->failed;
}

/* The list's statement for its sort and present filters (list_sql.h),
 * after the plan mode it runs with. */
static void tk_list_filtered(
    tk_list_queue *lists, hd_rpc_request *req, const hd_caller *c, const tk_list_args *a)
{
	const char *head[TK_LIST_HEAD_PARAMS]
	    = { c->tenant_id, a->page.fetch, a->cur_ts, a->cur_id };
	const char *filters[TK_LIST_NFILTERS]
	    = { a->status, a->priority, a->assignee, a->requester, a->tag, a->q };
	const char *p[TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS];
	int np;
	unsigned set = tk_list_bind(head, filters, p, &np);
	const char *sql = tk_list_sql(a->sort->order, set);
	if (sql == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	hd_db_stmt stmts[2] = { { tk_list_mode_sql(set), 0, NULL }, { sql, np, p } };
	tk_list_submit(lists, req, c, stmts, 2, a->page.limit, a->sort->ts_col);
}

void tk_tickets_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	hd_query q;
	tk_list_args a;
	hd_field_errors errs = { .count = 0 };
	tk_list_queue *lists = ((tk_worker *)dw->service)->lists;
	if (!hd_caller_get(req, &c) || !hd_req_query(req, tk_list_params, &q))
		return;
	tk_list_args_read(&q, &c, &a, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	if (a.number != NULL) {
		const char *pn[4] = { c.tenant_id, a.page.fetch, a.number, a.requester };
		hd_db_stmt one = { tk_list_number_sql, 4, pn };
		tk_list_submit(lists, req, &c, &one, 1, a.page.limit, a.sort->ts_col);
		return;
	}
	tk_list_filtered(lists, req, &c, &a);
}
