/* The statements of GET /v1/tickets by sort order and set of present filters
 * (list_sql.h says which plan each gets and why). A statement's text is
 * written on its first use and kept for the life of the process: at most
 * TK_LIST_ORDERS * TK_LIST_FILTER_SETS (256) of about 1 KB, and a helpdesk
 * uses a few dozen. Pure code, unit-tested (tests/unit/test_list_sql.c). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "list_sql.h"

#define TK_LIST_SQL_MAX 2048

/* One sort order: the time column, the keyset comparison, the direction. */
static const struct {
	const char *col, *cmp, *dir;
} tk_list_orders[TK_LIST_ORDERS] = {
	[TK_LIST_CREATED_DESC] = { "created_at", "<", "DESC" },
	[TK_LIST_CREATED_ASC] = { "created_at", ">", "ASC" },
	[TK_LIST_UPDATED_DESC] = { "updated_at", "<", "DESC" },
	[TK_LIST_UPDATED_ASC] = { "updated_at", ">", "ASC" },
};

/* Each filter's condition, in tk_list_filter order; %d is its parameter. */
static const char *const tk_list_conds[TK_LIST_NFILTERS] = {
	" AND t.status = $%d::text",
	" AND t.priority = $%d::text",
	" AND t.assignee_id = $%d::uuid",
	" AND t.requester_id = $%d::uuid",
	" AND t.tags @> ARRAY[$%d::text]",
	" AND t.search @@ websearch_to_tsquery('english', $%d::text)",
};

static _Atomic(const char *) tk_list_sqls[TK_LIST_ORDERS][TK_LIST_FILTER_SETS];

/* Appends the printf of fmt with one int to buf (at *len); false when full. */
static bool tk_list_put(char *buf, size_t *len, const char *fmt, int n)
{
	int w = snprintf(buf + *len, TK_LIST_SQL_MAX - *len, fmt, n);
	if (w < 0 || (size_t)w >= TK_LIST_SQL_MAX - *len)
		return false;
	*len += (size_t)w;
	return true;
}

/* Writes the statement of (order, filters) into buf. */
static bool tk_list_write(char *buf, tk_list_order order, unsigned filters)
{
	const char *col = tk_list_orders[order].col, *dir = tk_list_orders[order].dir;
	/* only value-dependent filters need the view (and its GIN indexes) */
	const char *rel
	    = (filters & TK_LIST_VALUE_FILTERS) != 0u ? "ticket.tickets_listed" : "ticket.tickets";
	int w = snprintf(buf, TK_LIST_SQL_MAX,
	    "SELECT " TK_TICKET_COLS " FROM %s t WHERE t.tenant_id = $1 AND t.deleted_at IS NULL"
	    " AND (t.%s, t.id) %s ($3::timestamptz, $4::uuid)",
	    rel, col, tk_list_orders[order].cmp);
	if (w < 0 || w >= TK_LIST_SQL_MAX)
		return false;
	size_t len = (size_t)w;
	int param = TK_LIST_HEAD_PARAMS;
	for (int f = 0; f < TK_LIST_NFILTERS; f++)
		if ((filters & (1u << f)) != 0u
		    && !tk_list_put(buf, &len, tk_list_conds[f], ++param))
			return false;
	w = snprintf(
	    buf + len, TK_LIST_SQL_MAX - len, " ORDER BY t.%s %s, t.id %s LIMIT $2", col, dir, dir);
	return w > 0 && (size_t)w < TK_LIST_SQL_MAX - len;
}

const char *tk_list_sql(tk_list_order order, unsigned filters)
{
	if ((unsigned)order >= TK_LIST_ORDERS || filters >= TK_LIST_FILTER_SETS)
		return NULL;
	_Atomic(const char *) *slot = &tk_list_sqls[order][filters];
	const char *have = atomic_load_explicit(slot, memory_order_acquire);
	if (have != NULL)
		return have;
	char buf[TK_LIST_SQL_MAX];
	if (!tk_list_write(buf, order, filters))
		return NULL;
	char *made = strdup(buf);
	if (made == NULL)
		return NULL;
	/* another thread may have written it meanwhile: one text wins */
	if (!atomic_compare_exchange_strong_explicit(
	        slot, &have, made, memory_order_acq_rel, memory_order_acquire)) {
		free(made);
		return have;
	}
	return made;
}

const char *tk_list_mode_sql(unsigned filters)
{
	return (filters & TK_LIST_VALUE_FILTERS) != 0u
	    ? "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"
	    : "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)";
}

unsigned tk_list_bind(const char *const head[TK_LIST_HEAD_PARAMS],
    const char *const filters[TK_LIST_NFILTERS], const char **out, int *nparams)
{
	unsigned set = 0;
	int n = 0;
	for (; n < TK_LIST_HEAD_PARAMS; n++)
		out[n] = head[n];
	for (int f = 0; f < TK_LIST_NFILTERS; f++) {
		if (filters[f] != NULL) {
			set |= 1u << f;
			out[n++] = filters[f];
		}
	}
	*nparams = n;
	return set;
}
