/* hd_err tables: names, messages and HTTP statuses come from HD_ERR_MAP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hd/err.h"

static void test_err_names(void **state)
{
	assert_string_equal(hd_err_name(HD_OK), "OK");
	assert_string_equal(hd_err_name(HD_ERR_NOT_FOUND), "NOT_FOUND");
	assert_string_equal(hd_err_name(HD_ERR_RATE_LIMITED), "RATE_LIMITED");
	assert_string_equal(hd_err_name((hd_err)999), "UNKNOWN");
	assert_string_equal(hd_err_name((hd_err)-1), "UNKNOWN");
}

static void test_err_statuses(void **state)
{
	assert_int_equal(hd_err_http_status(HD_OK), 200);
	assert_int_equal(hd_err_http_status(HD_ERR_INVALID), 400);
	assert_int_equal(hd_err_http_status(HD_ERR_UNAUTHORIZED), 401);
	assert_int_equal(hd_err_http_status(HD_ERR_VALIDATION), 422);
	assert_int_equal(hd_err_http_status(HD_ERR_TIMEOUT), 504);
	assert_int_equal(hd_err_http_status(HD_ERR_UNAVAILABLE), 503);
	assert_int_equal(hd_err_http_status((hd_err)999), 500);
}

static void test_err_messages(void **state)
{
	assert_string_equal(hd_strerror(HD_ERR_NOT_FOUND), "not found");
	assert_string_equal(hd_strerror((hd_err)999), "unknown error");
	for (int e = 0; e < HD_ERR__COUNT; e++) {
		assert_true(strlen(hd_strerror((hd_err)e)) > 0);
		int s = hd_err_http_status((hd_err)e);
		assert_true(s >= 200 && s < 600);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_err_statuses),
		cmocka_unit_test(test_err_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
