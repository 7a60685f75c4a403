/* hd_json: strict parsing (what cJSON alone lets through is refused) and
 * typed getters that name the field in their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/json.h"

static hd_err parse_str(const char *s, cJSON **out)
{
	char why[128] = "";
	hd_err err = hd_json_parse(s, strlen(s), out, why);
	if (err != HD_OK)
		assert_true(why[0] != '\0');
	return err;
}

static void test_json_accepts(void **state)
{
	const char *ok[] = { "{}", "[]", " {\"a\":1} ", "\"x\"", "0", "-0.5e+3", "true", "null",
		"{\"a\":{\"b\":[1,2,{\"c\":\"\\u00e9\\ud83d\\ude00\"}]}}", "{\"A\":1,\"a\":2}",
		"[{\"a\":1},{\"a\":1}]", "\"caf\xc3\xa9\"", NULL };
	for (size_t i = 0; ok[i] != NULL; i++) {
		cJSON *j = NULL;
		if (parse_str(ok[i], &j) != HD_OK)
			fail_msg("rejected %s", ok[i]);
		cJSON_Delete(j);
	}
}

static void test_json_rejects(void **state)
{
	const char *bad[] = { "", "{", "{}x", "{} {}", "{\"a\":1,}", "[1,]", "01", "+1", ".5", "1.",
		"1e", "-", "{\"a\":1,\"a\":2}", "[{\"x\":{\"k\":1,\"k\":1}}]", "\"a\\u0000b\"",
		"{\"\\u0000\":1}", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"a\tb\"",
		"\"\\ud800\"", "'a'", "[1 2]", "NaN", "Infinity", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		cJSON *j = (cJSON *)1;
		if (parse_str(bad[i], &j) != HD_ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_null(j);
	}
}

static void test_json_exact_length(void **state)
{
	const char buf[] = "{\"a\":1}garbage";
	cJSON *j = NULL;
	assert_int_equal(hd_json_parse(buf, 7, &j, NULL), HD_OK); /* not NUL-terminated at 7 */
	cJSON_Delete(j);
	assert_int_equal(hd_json_parse(buf, 8, &j, NULL), HD_ERR_INVALID);
	const char nul[] = "{}\0{}";
	assert_int_equal(hd_json_parse(nul, sizeof(nul) - 1, &j, NULL), HD_ERR_INVALID);
}

static void test_json_depth(void **state)
{
	char buf[2 * (HD_JSON_MAX_DEPTH + 1) + 1];
	cJSON *j = NULL;
	for (int depth = HD_JSON_MAX_DEPTH; depth <= HD_JSON_MAX_DEPTH + 1; depth++) {
		memset(buf, '[', (size_t)depth);
		memset(buf + depth, ']', (size_t)depth);
		hd_err err = hd_json_parse(buf, 2 * (size_t)depth, &j, NULL);
		assert_int_equal(err, depth <= HD_JSON_MAX_DEPTH ? HD_OK : HD_ERR_INVALID);
		cJSON_Delete(j);
		j = NULL;
	}
	assert_int_equal(parse_str("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", &j), HD_OK);
	cJSON_Delete(j);
}

static void test_json_many_keys(void **state)
{
	size_t n = 5000, cap = n * 16 + 16, o = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	buf[o++] = '{';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	buf[o++] = '}';
	cJSON *j = NULL;
	assert_int_equal(hd_json_parse(buf, o, &j, NULL), HD_OK);
	cJSON_Delete(j);
	/* the same with the last key repeating the first */
	o = (size_t)(strrchr(buf, ',') - buf);
	o += (size_t)snprintf(buf + o, cap - o, ",\"k0\":1}");
	assert_int_equal(hd_json_parse(buf, o, &j, NULL), HD_ERR_INVALID);
	free(buf);
}

static void test_json_utf8(void **state)
{
	assert_true(hd_utf8_valid("abc", 3));
	assert_true(hd_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(hd_utf8_valid("\xf0\x9f\x98", 3));
	assert_false(hd_utf8_valid("a\0b", 3));
	assert_false(hd_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(hd_utf8_valid("\xe0\x80\xaf", 3)); /* overlong */
	assert_int_equal(hd_utf8_length("caf\xc3\xa9\xf0\x9f\x98\x80"), 5);
	assert_int_equal(hd_utf8_seq_len("\xc3\xa9", 2), 2);
	assert_int_equal(hd_utf8_seq_len("\xc3", 1), 0);
}

static void test_json_getters(void **state)
{
	cJSON *j = NULL;
	assert_int_equal(parse_str("{\"name\":\"caf\xc3\xa9\",\"n\":42,\"f\":1.5,\"big\":"
	                           "9007199254740993,\"neg\":-3,\"b\":true,\"s\":\"7\","
	                           "\"role\":\"agent\",\"z\":null}",
	                     &j),
	    HD_OK);
	hd_field_errors errs = { .count = 0 };
	const char *s = NULL;
	int64_t i = -1;
	bool b = false;
	assert_true(hd_json_get_string(j, "name", true, 1, 4, &s, &errs));
	assert_string_equal(s, "caf\xc3\xa9");
	assert_false(hd_json_get_string(j, "name", true, 1, 3, &s, &errs));
	assert_false(hd_json_get_string(j, "n", true, 0, 10, &s, &errs));
	assert_true(hd_json_get_int(j, "n", true, 0, 100, &i, &errs));
	assert_int_equal(i, 42);
	assert_true(hd_json_get_int(j, "neg", true, -5, 5, &i, &errs));
	assert_int_equal(i, -3);
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.items[0].field, "name");
	assert_string_equal(errs.items[1].message, "must be a string");
	errs.count = 0;
	i = 7;
	assert_false(hd_json_get_int(j, "f", true, 0, 100, &i, &errs));
	assert_false(hd_json_get_int(j, "big", true, INT64_MIN, INT64_MAX, &i, &errs));
	assert_false(hd_json_get_int(j, "s", true, 0, 100, &i, &errs));
	assert_false(hd_json_get_int(j, "n", true, 0, 10, &i, &errs));
	assert_int_equal(i, 7);
	assert_int_equal(errs.count, 4);
	assert_string_equal(errs.items[3].message, "must be between 0 and 10");
	errs.count = 0;
	assert_true(hd_json_get_bool(j, "b", true, &b, &errs));
	assert_true(b);
	assert_false(hd_json_get_bool(j, "n", true, &b, &errs));
	assert_int_equal(errs.count, 1);
	errs.count = 0;
	/* absent or null: optional keeps quiet, required says so */
	assert_false(hd_json_get_string(j, "missing", false, 0, 10, &s, &errs));
	assert_false(hd_json_get_string(j, "z", false, 0, 10, &s, &errs));
	assert_int_equal(errs.count, 0);
	assert_false(hd_json_get_int(j, "missing", true, 0, 1, &i, &errs));
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].message, "is required");
	assert_string_equal(errs.items[0].field, "missing");
	cJSON_Delete(j);
}

static void test_json_enum_unknown(void **state)
{
	cJSON *j = NULL;
	assert_int_equal(parse_str("{\"role\":\"agent\",\"bad\":\"boss\",\"extra\":1}", &j), HD_OK);
	static const char *const roles[] = { "admin", "agent", NULL };
	static const char *const known[] = { "role", "bad", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *v = NULL;
	assert_true(hd_json_get_enum(j, "role", true, roles, &v, &errs));
	assert_string_equal(v, "agent");
	assert_false(hd_json_get_enum(j, "bad", true, roles, &v, &errs));
	assert_string_equal(errs.items[0].message, "must be one of: admin, agent");
	hd_json_reject_unknown(j, known, &errs);
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.items[1].field, "extra");
	assert_string_equal(errs.items[1].message, "unknown field");
	size_t len = 0;
	char *out = hd_json_print(j, &len);
	assert_string_equal(out, "{\"role\":\"agent\",\"bad\":\"boss\",\"extra\":1}");
	assert_int_equal(len, strlen(out));
	free(out);
	cJSON_Delete(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_accepts),
		cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_json_exact_length),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_json_many_keys),
		cmocka_unit_test(test_json_utf8),
		cmocka_unit_test(test_json_getters),
		cmocka_unit_test(test_json_enum_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
