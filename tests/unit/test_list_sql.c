/* Unit tests of the list statements by sort order and present filters
 * (services/ticket/ticket_list_sql.c, list_sql.h): each statement names
 * exactly the filters of its set, numbered after the four head parameters
 * in tk_list_filter order, as tk_list_bind packs the values; only tag and q
 * read the view and get custom plans; the text of a pair is one pointer for
 * the life of the process, also when threads ask for it at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "list_sql.h"

static const char *const head[TK_LIST_HEAD_PARAMS] = { "tenant", "26", "infinity", "id" };
static const char *const conds[TK_LIST_NFILTERS]
    = { "t.status = $", "t.priority = $", "t.assignee_id = $", "t.requester_id = $",
	      "t.tags @> ARRAY[$", "t.search @@ websearch_to_tsquery('english', $" };

static int bits(unsigned set)
{
	int n = 0;
	for (; set != 0u; set &= set - 1u)
		n++;
	return n;
}

/* Filter f of set is in sql with parameter number want, or absent. */
static void check_cond(const char *sql, unsigned set, int f, int want)
{
	const char *at = strstr(sql, conds[f]);
	if ((set & (1u << f)) == 0u) {
		assert_null(at);
		return;
	}
	assert_non_null(at);
	int got = 0;
	assert_int_equal(sscanf(at + strlen(conds[f]), "%d", &got), 1);
	assert_int_equal(got, want);
}

static void test_each_set_names_its_filters(void **state)
{
	(void)state;
	char last[8];
	for (int o = 0; o < TK_LIST_ORDERS; o++) {
		for (unsigned set = 0; set < TK_LIST_FILTER_SETS; set++) {
			const char *sql = tk_list_sql((tk_list_order)o, set);
			assert_non_null(sql);
			int param = TK_LIST_HEAD_PARAMS;
			for (int f = 0; f < TK_LIST_NFILTERS; f++)
				check_cond(sql, set, f, (set & (1u << f)) != 0u ? ++param : 0);
			/* no parameter beyond the set's, and nothing left to fold */
			snprintf(last, sizeof last, "$%d", TK_LIST_HEAD_PARAMS + bits(set) + 1);
			assert_null(strstr(sql, last));
			assert_null(strstr(sql, "IS NULL OR"));
			bool by_value = (set & TK_LIST_VALUE_FILTERS) != 0u;
			assert_int_equal(strstr(sql, "ticket.tickets_listed") != NULL, by_value);
			assert_int_equal(
			    strstr(tk_list_mode_sql(set), "force_custom_plan") != NULL, by_value);
			assert_int_equal(
			    strstr(tk_list_mode_sql(set), "force_generic_plan") != NULL, !by_value);
		}
	}
}

static void test_orders(void **state)
{
	(void)state;
	const char *sql = tk_list_sql(TK_LIST_CREATED_ASC, TK_LIST_STATUS);
	assert_non_null(strstr(sql, "(t.created_at, t.id) > ($3::timestamptz, $4::uuid)"));
	assert_non_null(strstr(sql, "ORDER BY t.created_at ASC, t.id ASC LIMIT $2"));
	sql = tk_list_sql(TK_LIST_UPDATED_DESC, 0);
	assert_non_null(strstr(sql, "FROM ticket.tickets t WHERE t.tenant_id = $1"));
	assert_non_null(strstr(sql, "(t.updated_at, t.id) < ($3::timestamptz, $4::uuid)"));
	assert_non_null(strstr(sql, "ORDER BY t.updated_at DESC, t.id DESC LIMIT $2"));
	assert_non_null(strstr(tk_list_sql(TK_LIST_UPDATED_ASC, 0), "t.updated_at ASC"));
	assert_non_null(strstr(tk_list_sql(TK_LIST_CREATED_DESC, 0), "t.created_at DESC"));
}

static void test_same_pair_same_pointer(void **state)
{
	(void)state;
	const char *a = tk_list_sql(TK_LIST_CREATED_DESC, TK_LIST_TAG | TK_LIST_STATUS);
	assert_ptr_equal(a, tk_list_sql(TK_LIST_CREATED_DESC, TK_LIST_TAG | TK_LIST_STATUS));
	assert_ptr_not_equal(a, tk_list_sql(TK_LIST_CREATED_ASC, TK_LIST_TAG | TK_LIST_STATUS));
	assert_ptr_not_equal(a, tk_list_sql(TK_LIST_CREATED_DESC, TK_LIST_TAG));
	assert_ptr_equal(tk_list_mode_sql(TK_LIST_Q), tk_list_mode_sql(TK_LIST_TAG));
	assert_ptr_equal(tk_list_mode_sql(0), tk_list_mode_sql(TK_LIST_STATUS));
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_null(tk_list_sql(TK_LIST_ORDERS, 0));
	assert_null(tk_list_sql((tk_list_order)-1, 0));
	assert_null(tk_list_sql(TK_LIST_CREATED_DESC, TK_LIST_FILTER_SETS));
}

static void test_bind_packs_present_values(void **state)
{
	(void)state;
	const char *out[TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS];
	int n = -1;
	const char *none[TK_LIST_NFILTERS] = { NULL };
	assert_int_equal(tk_list_bind(head, none, out, &n), 0);
	assert_int_equal(n, TK_LIST_HEAD_PARAMS);
	assert_string_equal(out[0], "tenant");
	assert_string_equal(out[3], "id");
	const char *some[TK_LIST_NFILTERS] = { NULL, "urgent", NULL, "req", NULL, "printer" };
	assert_int_equal(
	    tk_list_bind(head, some, out, &n), TK_LIST_PRIORITY | TK_LIST_REQUESTER | TK_LIST_Q);
	assert_int_equal(n, TK_LIST_HEAD_PARAMS + 3);
	assert_string_equal(out[4], "urgent");
	assert_string_equal(out[5], "req");
	assert_string_equal(out[6], "printer");
	const char *all[TK_LIST_NFILTERS] = { "s", "p", "a", "r", "t", "q" };
	assert_int_equal(tk_list_bind(head, all, out, &n), TK_LIST_FILTER_SETS - 1);
	assert_int_equal(n, TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS);
	assert_string_equal(out[9], "q");
}

/* Threads asking for the same statement first all get one text. */
static void *ask(void *arg)
{
	*(const char **)arg = tk_list_sql(TK_LIST_UPDATED_ASC, TK_LIST_Q | TK_LIST_ASSIGNEE);
	return NULL;
}

static void test_threads_get_one_text(void **state)
{
	(void)state;
	pthread_t t[4];
	const char *got[4] = { NULL };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ask, &got[i]), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 1; i < 4; i++)
		assert_ptr_equal(got[0], got[i]);
	assert_non_null(got[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_get_one_text),
		cmocka_unit_test(test_each_set_names_its_filters),
		cmocka_unit_test(test_orders),
		cmocka_unit_test(test_same_pair_same_pointer),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bind_packs_present_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
