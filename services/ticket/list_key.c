/* What a shared list page depends on (list_queue.c): two list requests may
 * share one page only when a page written for one is, byte for byte, the
 * page the other would get alone. That holds when they run under the same
 * tenant, with the same role (what a role sees may differ), for a customer
 * as the same user (a customer sees only their own tickets), and send the
 * same statements with the same parameters. Pure code, unit-tested
 * (tests/unit/test_list_key.c). */
#include <string.h>
#include "ticket.h"

/* Copies s into k's store; NULL when it does not fit. */
static const char *tk_list_key_keep(tk_list_key *k, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > sizeof(k->store) - k->store_len)
		return NULL;
	char *at = k->store + k->store_len;
	memcpy(at, s, n);
	k->store_len += n;
	return at;
}

bool tk_list_key_fill(tk_list_key *k, const hd_caller *c, const hd_db_stmt *stmts, int nstmts)
{
	*k = (tk_list_key) { .nstmts = nstmts, .role_bit = c->role_bit };
	if (nstmts < 1 || nstmts > TK_LIST_MAX_STMTS)
		return false;
	k->tenant = tk_list_key_keep(k, c->tenant_id);
	k->viewer = tk_list_key_keep(k, hd_caller_is(c, HD_ROLES_STAFF) ? "" : c->user_id);
	if (k->tenant == NULL || k->viewer == NULL)
		return false;
	for (int s = 0; s < nstmts; s++) {
		if (stmts[s].nparams > TK_LIST_MAX_PARAMS)
			return false;
		k->stmts[s] = (hd_db_stmt) { stmts[s].sql, stmts[s].nparams, k->params[s] };
		for (int i = 0; i < stmts[s].nparams; i++) {
			const char *v = stmts[s].params[i];
			if (v == NULL) {
				k->nulls |= UINT32_C(1) << (s * 16 + i);
			} else if ((k->params[s][i] = tk_list_key_keep(k, v)) == NULL) {
				return false;
			}
		}
	}
	return true;
}

bool tk_list_key_same(const tk_list_key *a, const tk_list_key *b)
{
	if (a->role_bit != b->role_bit || a->nstmts != b->nstmts || a->nulls != b->nulls
	    || a->store_len != b->store_len)
		return false;
	/* the statements are static strings: the same text is the same pointer */
	for (int s = 0; s < a->nstmts; s++)
		if (a->stmts[s].sql != b->stmts[s].sql
		    || a->stmts[s].nparams != b->stmts[s].nparams)
			return false;
	return memcmp(a->store, b->store, a->store_len) == 0;
}
