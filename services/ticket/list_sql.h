/* The statements of GET /v1/tickets (ticket_list.c) by sort: TK_LIST_SQL with
 * filters, TK_LIST_PLAIN_SQL without. A header of their own so that the
 * integration test of their plans (tests/integration/test_ticket_plans.c)
 * EXPLAINs the very text the daemon sends. Parameters: $1 tenant, $2 limit,
 * $3/$4 the keyset bound (time, id), then $5 status, $6 priority,
 * $7 assignee_id, $8 requester_id, $9 tag, $10 q. */
#ifndef TK_LIST_SQL_H
#define TK_LIST_SQL_H
#include "ticket.h"

#define TK_LIST_HEAD_FROM(rel, col, cmp)                                                           \
	"SELECT " TK_TICKET_COLS " FROM " rel " t"                                                 \
	" WHERE t.tenant_id = $1 AND t.deleted_at IS NULL"                                         \
	" AND (t." col ", t.id) " cmp " ($3::timestamptz, $4::uuid)"
#define TK_LIST_HEAD(col, cmp) TK_LIST_HEAD_FROM("ticket.tickets", col, cmp)
#define TK_LIST_TAIL(col, dir) " ORDER BY t." col " " dir ", t.id " dir " LIMIT $2"
/* With filters, from the view ticket.tickets_listed (sql/013_list_view.sql:
 * the tenant's rows, read with the owner's rights, because under row-level
 * security no plan may use the GIN indexes: @> and @@ are not leakproof).
 * It runs after TK_LIST_CUSTOM_SQL: a custom plan sees the
 * values, so "$n IS NULL OR ..." folds away for every absent filter and the
 * planner prices the present ones from the column statistics: a rare or absent
 * tag or search term reads the GIN index and sorts its few rows, a common one
 * walks the sort order's index and stops at the page; status and priority
 * have indexes in the sort order (sql/011_list_indexes.sql). A generic plan
 * cannot tell the two apart: it walked the tenant's whole (tenant_id,
 * created_at) index for a value that matches nothing (0.25-0.89 s at
 * 1,000,000 tickets, docs/benchmarks.md "At scale"). Planning costs a fraction
 * of a millisecond a call. */
#define TK_LIST_SQL(col, cmp, dir)                                                                 \
	TK_LIST_HEAD_FROM("ticket.tickets_listed", col, cmp)                                       \
	" AND ($5::text IS NULL OR t.status = $5) AND ($6::text IS NULL OR t.priority = $6)"       \
	" AND ($7::uuid IS NULL OR t.assignee_id = $7)"                                            \
	" AND ($8::uuid IS NULL OR t.requester_id = $8)"                                           \
	" AND ($9::text IS NULL OR t.tags @> ARRAY[$9::text])"                                     \
	" AND ($10::text IS NULL OR t.search @@ websearch_to_tsquery('english', "                  \
	"$10))" TK_LIST_TAIL(col, dir)
#define TK_LIST_CUSTOM_SQL "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"
/* No filter at all (the common first page): $1..$4 only. Its generic plan is
 * the index range scan, and planning it again on every call cost more than
 * running it (~1 ms against ~0.25 ms, measured when the statement still
 * inlined the SQL ticket_json): it runs after TK_LIST_GENERIC_SQL, because the
 * plan cache would keep re-planning it (it prices a LIMIT $n at a tenth of the
 * tenant's rows). */
#define TK_LIST_PLAIN_SQL(col, cmp, dir) TK_LIST_HEAD(col, cmp) TK_LIST_TAIL(col, dir)
#define TK_LIST_GENERIC_SQL "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"

#endif
