/* hd_problem_json: RFC 9457 bodies, parsed back and checked member by member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hd/json.h"
#include "hd/problem.h"

static cJSON *parse(const char *s, size_t len)
{
	cJSON *j = NULL;
	assert_int_equal(hd_json_parse(s, len, &j, NULL), HD_OK);
	return j;
}

static void test_problem_basic(void **state)
{
	size_t len = 0;
	char *s = hd_problem_json(404, "ticket not found", "req-1", NULL, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	cJSON *j = parse(s, len);
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(j, "type")->valuestring, "about:blank");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "title")->valuestring, "Not Found");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "status")->valuedouble, 404);
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(j, "detail")->valuestring, "ticket not found");
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(j, "request_id")->valuestring, "req-1");
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "errors"));
	cJSON_Delete(j);
	free(s);
}

static void test_problem_nulls(void **state)
{
	size_t len = 0;
	char *s = hd_problem_json(503, NULL, NULL, NULL, &len);
	cJSON *j = parse(s, len);
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(j, "detail")->valuestring, "Service Unavailable");
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "request_id"));
	cJSON_Delete(j);
	free(s);
}

static void test_problem_errors(void **state)
{
	hd_field_errors errs = { .count = 0 };
	hd_field_errors_add(&errs, "email", "must be a \"valid\" address");
	hd_field_errors_add(&errs, "title", "is required");
	size_t len = 0;
	char *s = hd_problem_json(422, "validation failed", "r", &errs, &len);
	cJSON *j = parse(s, len);
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(j, "title")->valuestring, "Unprocessable Content");
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "errors");
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	cJSON *e0 = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e0, "field")->valuestring, "email");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e0, "message")->valuestring,
	    "must be a \"valid\" address");
	cJSON_Delete(j);
	free(s);
}

static void test_problem_errors_bounded(void **state)
{
	hd_field_errors errs = { .count = 0 };
	char longname[300];
	memset(longname, 'f', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (int i = 0; i < HD_PROBLEM_MAX_FIELD_ERRORS + 10; i++)
		hd_field_errors_add(&errs, longname, longname);
	assert_int_equal(errs.count, HD_PROBLEM_MAX_FIELD_ERRORS);
	assert_int_equal(strlen(errs.items[0].field), sizeof(errs.items[0].field) - 1);
	assert_int_equal(strlen(errs.items[0].message), sizeof(errs.items[0].message) - 1);
	hd_field_errors_add(NULL, "x", "y"); /* no crash */
}

static void test_problem_reasons(void **state)
{
	assert_string_equal(hd_http_reason(400), "Bad Request");
	assert_string_equal(hd_http_reason(401), "Unauthorized");
	assert_string_equal(hd_http_reason(413), "Content Too Large");
	assert_string_equal(hd_http_reason(429), "Too Many Requests");
	assert_string_equal(hd_http_reason(504), "Gateway Timeout");
	assert_string_equal(hd_http_reason(799), "Unknown Status");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_basic),
		cmocka_unit_test(test_problem_nulls),
		cmocka_unit_test(test_problem_errors),
		cmocka_unit_test(test_problem_errors_bounded),
		cmocka_unit_test(test_problem_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
