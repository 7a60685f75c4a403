/* If-None-Match against the served document's entity tag (gateway/etag.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "etag.h"

static const char TAG[] = "\"0123abcd\"";

static void test_exact_and_lists(void **state)
{
	(void)state;
	assert_true(gw_etag_none_match("\"0123abcd\"", TAG));
	assert_true(gw_etag_none_match("  \"x\", \"0123abcd\"", TAG));
	assert_true(gw_etag_none_match("\"x\",\"0123abcd\" ", TAG));
	assert_false(gw_etag_none_match("\"x\", \"y\"", TAG));
	assert_false(gw_etag_none_match("", TAG));
}

static void test_weak_compares_equal(void **state)
{
	(void)state;
	assert_true(gw_etag_none_match("W/\"0123abcd\"", TAG));
	assert_true(gw_etag_none_match("\"a\", W/\"0123abcd\"", TAG));
}

static void test_star(void **state)
{
	(void)state;
	assert_true(gw_etag_none_match("*", TAG));
	assert_true(gw_etag_none_match(" * ", TAG));
	assert_false(gw_etag_none_match("*x", TAG));
}

static void test_malformed_never_matches(void **state)
{
	(void)state;
	assert_false(gw_etag_none_match("0123abcd", TAG)); /* unquoted */
	assert_false(gw_etag_none_match("\"0123abcd", TAG)); /* unterminated */
	assert_false(gw_etag_none_match("\"x\"y, \"0123abcd\"", TAG)); /* junk after a tag */
	assert_false(gw_etag_none_match("\"0123abc\"", TAG)); /* a prefix */
	assert_false(gw_etag_none_match("\"0123abcdd\"", TAG));
	assert_false(gw_etag_none_match("w/\"0123abcd\"", TAG)); /* W/ is case-sensitive */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_lists),
		cmocka_unit_test(test_weak_compares_equal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_malformed_never_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
