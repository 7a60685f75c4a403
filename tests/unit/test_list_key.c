/* Unit tests of the shared-list key (services/ticket/list_key.c): two list
 * requests share one page only when nothing the page depends on differs —
 * tenant, role, the customer's own id, statements, parameters (NULL is not
 * ""). Every case differs from the base in one thing only, so dropping any
 * part from the key fails a test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "ticket.h"

#define TENANT_A "11111111-1111-4111-8111-111111111111"
#define TENANT_B "22222222-2222-4222-8222-222222222222"
#define USER_1 "33333333-3333-4333-8333-333333333333"
#define USER_2 "44444444-4444-4444-8444-444444444444"

static const char sql_list[] = "SELECT list";
static const char sql_other[] = "SELECT list"; /* same text, another statement */
static const char sql_pre[] = "SET plan";

static hd_caller who(const char *tenant, const char *user, const char *role)
{
	return (hd_caller) { tenant, user, role, hd_role_bit(role) };
}

/* The key of caller c listing with parameters p (3 of them) on sql. */
static tk_list_key key_of(hd_caller c, const char *sql, const char *p0, const char *p1)
{
	const char *p[3] = { c.tenant_id, p0, p1 };
	hd_db_stmt st = { sql, 3, p };
	tk_list_key k;
	assert_true(tk_list_key_fill(&k, &c, &st, 1));
	return k;
}

static void test_same_request_same_key(void **state)
{
	(void)state;
	tk_list_key a = key_of(who(TENANT_A, USER_1, "agent"), sql_list, "26", "open");
	tk_list_key b = key_of(who(TENANT_A, USER_2, "agent"), sql_list, "26", "open");
	/* two agents of one tenant asking the same list: one page */
	assert_true(tk_list_key_same(&a, &b));
	assert_true(tk_list_key_same(&b, &a));
}

static void test_role_is_in_key(void **state)
{
	(void)state;
	tk_list_key agent = key_of(who(TENANT_A, USER_1, "agent"), sql_list, "26", "open");
	tk_list_key admin = key_of(who(TENANT_A, USER_1, "admin"), sql_list, "26", "open");
	tk_list_key cust = key_of(who(TENANT_A, USER_1, "customer"), sql_list, "26", "open");
	assert_false(tk_list_key_same(&agent, &admin));
	assert_false(tk_list_key_same(&agent, &cust));
	assert_false(tk_list_key_same(&admin, &cust));
}

static void test_customer_is_in_key(void **state)
{
	(void)state;
	tk_list_key c1 = key_of(who(TENANT_A, USER_1, "customer"), sql_list, "26", NULL);
	tk_list_key c2 = key_of(who(TENANT_A, USER_2, "customer"), sql_list, "26", NULL);
	tk_list_key c1again = key_of(who(TENANT_A, USER_1, "customer"), sql_list, "26", NULL);
	assert_false(tk_list_key_same(&c1, &c2));
	assert_true(tk_list_key_same(&c1, &c1again));
	/* an unknown role is never staff: seen per user */
	tk_list_key x1 = key_of(who(TENANT_A, USER_1, "auditor"), sql_list, "26", NULL);
	tk_list_key x2 = key_of(who(TENANT_A, USER_2, "auditor"), sql_list, "26", NULL);
	assert_false(tk_list_key_same(&x1, &x2));
}

static void test_tenant_statement_parameters_in_key(void **state)
{
	(void)state;
	hd_caller a = who(TENANT_A, USER_1, "agent");
	tk_list_key base = key_of(a, sql_list, "26", "open");
	tk_list_key tenant = key_of(who(TENANT_B, USER_1, "agent"), sql_list, "26", "open");
	tk_list_key stmt = key_of(a, sql_other, "26", "open");
	tk_list_key limit = key_of(a, sql_list, "6", "open");
	tk_list_key filter = key_of(a, sql_list, "26", "pending");
	tk_list_key null = key_of(a, sql_list, "26", NULL);
	tk_list_key empty = key_of(a, sql_list, "26", "");
	/* parameters that shift between slots: "2" "6open" vs "26" "open" */
	tk_list_key shifted = key_of(a, sql_list, "2", "6open");
	assert_false(tk_list_key_same(&base, &tenant));
	assert_false(tk_list_key_same(&base, &stmt));
	assert_false(tk_list_key_same(&base, &limit));
	assert_false(tk_list_key_same(&base, &filter));
	assert_false(tk_list_key_same(&null, &empty));
	assert_false(tk_list_key_same(&base, &shifted));
}

static void test_statement_count_in_key(void **state)
{
	(void)state;
	hd_caller a = who(TENANT_A, USER_1, "agent");
	const char *p[1] = { TENANT_A };
	hd_db_stmt one = { sql_list, 1, p };
	hd_db_stmt two[2] = { { sql_pre, 0, NULL }, { sql_list, 1, p } };
	tk_list_key k1, k2;
	assert_true(tk_list_key_fill(&k1, &a, &one, 1));
	assert_true(tk_list_key_fill(&k2, &a, two, 2));
	assert_false(tk_list_key_same(&k1, &k2));
	assert_false(tk_list_key_fill(&k1, &a, two, 3));
	assert_false(tk_list_key_fill(&k1, &a, two, 0));
}

static void test_too_big_refused(void **state)
{
	(void)state;
	static char big[2000];
	memset(big, 'x', sizeof big - 1);
	hd_caller a = who(TENANT_A, USER_1, "agent");
	const char *p[1] = { big };
	hd_db_stmt st = { sql_list, 1, p };
	tk_list_key k;
	assert_false(tk_list_key_fill(&k, &a, &st, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_request_same_key),
		cmocka_unit_test(test_role_is_in_key),
		cmocka_unit_test(test_customer_is_in_key),
		cmocka_unit_test(test_tenant_statement_parameters_in_key),
		cmocka_unit_test(test_statement_count_in_key),
		cmocka_unit_test(test_too_big_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
