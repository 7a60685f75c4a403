/* hd_config: table from config.def, environment over defaults, strict
 * integer and boolean parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hd/config.h"

static void test_config_table(void **state)
{
	const hd_config_var *v = hd_config_vars();
	size_t n = 0;
	bool seen_port = false;
	for (; v[n].name != NULL; n++) {
		assert_memory_equal(v[n].name, "HD_", 3);
		assert_non_null(v[n].description);
		if (strcmp(v[n].name, "HD_HTTP_PORT") == 0) {
			seen_port = true;
			assert_string_equal(v[n].def, "8080");
		}
	}
	assert_true(n > 20);
	assert_true(seen_port);
}

static void test_config_str(void **state)
{
	unsetenv("HD_HTTP_PORT");
	assert_string_equal(hd_config_str("HD_HTTP_PORT"), "8080");
	setenv("HD_HTTP_PORT", "9999", 1);
	assert_string_equal(hd_config_str("HD_HTTP_PORT"), "9999");
	unsetenv("HD_HTTP_PORT");
	unsetenv("HD_JWT_SECRET"); /* declared without default */
	assert_string_equal(hd_config_str("HD_JWT_SECRET"), "");
	assert_string_equal(hd_config_str("HD_NOT_DECLARED_AT_ALL"), "");
}

static void test_config_int(void **state)
{
	long v = -1;
	unsetenv("HD_WORKERS");
	assert_int_equal(hd_config_int("HD_WORKERS", 1, 64, &v), HD_OK);
	assert_int_equal(v, 1);
	setenv("HD_WORKERS", "17", 1);
	assert_int_equal(hd_config_int("HD_WORKERS", 1, 64, &v), HD_OK);
	assert_int_equal(v, 17);
	const char *bad[] = { "", "abc", "12x", " 5", "99999999999999999999999", "65", "0", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		setenv("HD_WORKERS", bad[i], 1);
		v = 42;
		assert_int_equal(hd_config_int("HD_WORKERS", 1, 64, &v), HD_ERR_INVALID);
		assert_int_equal(v, 42);
	}
	unsetenv("HD_WORKERS");
}

static void test_config_bool(void **state)
{
	bool b = false;
	const char *yes[] = { "1", "true", "YES", "on", NULL };
	const char *no[] = { "0", "False", "no", "OFF", NULL };
	for (size_t i = 0; yes[i] != NULL; i++) {
		setenv("HD_X_BOOL", yes[i], 1);
		assert_int_equal(hd_config_bool("HD_X_BOOL", &b), HD_OK);
		assert_true(b);
	}
	for (size_t i = 0; no[i] != NULL; i++) {
		setenv("HD_X_BOOL", no[i], 1);
		assert_int_equal(hd_config_bool("HD_X_BOOL", &b), HD_OK);
		assert_false(b);
	}
	setenv("HD_X_BOOL", "maybe", 1);
	assert_int_equal(hd_config_bool("HD_X_BOOL", &b), HD_ERR_INVALID);
	unsetenv("HD_X_BOOL");
	assert_int_equal(hd_config_bool("HD_X_BOOL", &b), HD_ERR_INVALID);
}

static void test_config_production(void **state)
{
	unsetenv("HD_ENV");
	assert_false(hd_config_production());
	setenv("HD_ENV", "production", 1);
	assert_true(hd_config_production());
	setenv("HD_ENV", "Production ", 1);
	assert_false(hd_config_production());
	unsetenv("HD_ENV");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_table),
		cmocka_unit_test(test_config_str),
		cmocka_unit_test(test_config_int),
		cmocka_unit_test(test_config_bool),
		cmocka_unit_test(test_config_production),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
