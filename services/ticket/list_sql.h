/* The statements of GET /v1/tickets (ticket_list.c), one per sort order and
 * set of present filters, written by ticket_list_sql.c (pure code,
 * unit-tested in tests/unit/test_list_sql.c). A header of their own so that
 * the integration test of their plans (tests/integration/test_ticket_plans.c)
 * EXPLAINs the very text the daemon sends. Parameters: $1 tenant, $2 limit,
 * $3/$4 the keyset bound (time, id), then one for each present filter in the
 * order of tk_list_filter (status, priority, assignee_id, requester_id, tag,
 * q): a statement names only the filters it has, so no "$n IS NULL OR ..."
 * is left for a plan to guess about (docs/benchmarks.md "At scale").
 *
 * Which plan each one gets (the statement run before it in the same batch,
 * tk_list_mode_sql):
 * - no filter, or only status, priority, assignee_id and requester_id: the
 *   cached generic plan. Every such set has a B-tree index in the sort order
 *   (sql/001_init.sql, sql/011_list_indexes.sql) whose range scan stops at
 *   the page whatever the values, so there is nothing to gain from planning
 *   each call, which cost more than running it. plan_cache_mode is forced
 *   because the plan cache would keep re-planning: it prices a LIMIT $n at a
 *   tenth of the tenant's rows.
 * - with tag or q: a custom plan per call, from the view
 *   ticket.tickets_listed (sql/013_list_view.sql: under row-level security
 *   no plan may use the GIN indexes, @> and @@ are not leakproof). It sees
 *   the values: a rare or absent tag or word reads the GIN index and sorts
 *   its few rows, a common one walks the sort order's index and stops at the
 *   page. A generic plan cannot tell the two apart (0.25-0.89 s at 1,000,000
 *   tickets for a value that matches nothing). */
#ifndef TK_LIST_SQL_H
#define TK_LIST_SQL_H
#include "ticket.h"

/* The filters of a list, as the bits of a filter set. */
typedef enum tk_list_filter {
	TK_LIST_STATUS = 1u << 0,
	TK_LIST_PRIORITY = 1u << 1,
	TK_LIST_ASSIGNEE = 1u << 2,
	TK_LIST_REQUESTER = 1u << 3,
	TK_LIST_TAG = 1u << 4,
	TK_LIST_Q = 1u << 5,
} tk_list_filter;
#define TK_LIST_NFILTERS 6
#define TK_LIST_FILTER_SETS (1u << TK_LIST_NFILTERS)
/* The filters whose plans depend on the value (custom plans, the view). */
#define TK_LIST_VALUE_FILTERS (TK_LIST_TAG | TK_LIST_Q)
/* tenant, limit, keyset time, keyset id */
#define TK_LIST_HEAD_PARAMS 4

/* The sort orders keyset pagination serves exactly. */
typedef enum tk_list_order {
	TK_LIST_CREATED_DESC,
	TK_LIST_CREATED_ASC,
	TK_LIST_UPDATED_DESC,
	TK_LIST_UPDATED_ASC,
	TK_LIST_ORDERS
} tk_list_order;

/* The statement for order and filters (a set of tk_list_filter bits): the
 * same pointer for the same pair for the life of the process (the prepared
 * statement cache and the shared-list key, list_key.c, rely on it). NULL
 * when out of range or out of memory. Thread-safe. */
const char *tk_list_sql(tk_list_order order, unsigned filters);
/* The statement to run before it in the same batch: the plan cache mode. */
const char *tk_list_mode_sql(unsigned filters);
/* The parameters of the statement: head (TK_LIST_HEAD_PARAMS values), then
 * every non-NULL value of filters (TK_LIST_NFILTERS, in tk_list_filter
 * order), into out (room for TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS).
 * Returns the filter set; *nparams the count written. */
unsigned tk_list_bind(const char *const head[TK_LIST_HEAD_PARAMS],
    const char *const filters[TK_LIST_NFILTERS], const char **out, int *nparams);

#endif
