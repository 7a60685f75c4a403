/* hd_log: each call is one valid JSON line on stderr with the expected
 * members, escaping and level filtering. stderr is redirected to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hd/json.h"
#include "hd/log.h"

static int saved_stderr = -1;
static FILE *capture;

static int setup(void **state)
{
	capture = tmpfile();
	if (capture == NULL)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(capture), STDERR_FILENO);
	hd_log_init("testsvc", "debug");
	return 0;
}

static int teardown(void **state)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(capture);
	hd_log_set_request_id(NULL);
	return 0;
}

/* Returns what was logged since the last call (caller frees). */
static char *captured(size_t *len)
{
	long end = lseek(STDERR_FILENO, 0, SEEK_CUR);
	char *buf = calloc(1, (size_t)end + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fileno(capture), buf, (size_t)end, 0), end);
	assert_int_equal(ftruncate(STDERR_FILENO, 0), 0);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	*len = (size_t)end;
	return buf;
}

/* Parses the one line that must have been logged. */
static cJSON *one_line(void)
{
	size_t len;
	char *buf = captured(&len);
	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', len - 1));
	cJSON *j = NULL;
	char why[128];
	if (hd_json_parse(buf, len - 1, &j, why) != HD_OK)
		fail_msg("not JSON (%s): %s", why, buf);
	free(buf);
	return j;
}

static const char *member(const cJSON *j, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsString(m) ? m->valuestring : NULL;
}

static void test_log_line(void **state)
{
	hd_log_info("hello %d", 42);
	cJSON *j = one_line();
	assert_string_equal(member(j, "msg"), "hello 42");
	assert_string_equal(member(j, "level"), "info");
	assert_string_equal(member(j, "service"), "testsvc");
	assert_int_equal(strlen(member(j, "ts")), 24); /* 2024-01-01T00:00:00.000Z */
	assert_null(member(j, "request_id"));
	cJSON_Delete(j);
}

static void test_log_escaping(void **state)
{
	hd_log_warn("quote \" backslash \\ newline \n tab \t ctl \x01 bad \xff\xfe utf8 \xc3\xa9");
	cJSON *j = one_line();
	assert_string_equal(member(j, "msg"),
	    "quote \" backslash \\ newline \n tab \t ctl \x01 bad "
	    "\xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9");
	cJSON_Delete(j);
}

static void test_log_request_id_and_fields(void **state)
{
	hd_log_set_request_id("req-\"7\"");
	hd_log_fields(HD_LOG_ERROR, "upstream failed", "route", "/v1/tickets", "status", "504",
	    "note", (const char *)NULL, (const char *)NULL);
	cJSON *j = one_line();
	assert_string_equal(member(j, "request_id"), "req-\"7\"");
	assert_string_equal(member(j, "level"), "error");
	assert_string_equal(member(j, "route"), "/v1/tickets");
	assert_string_equal(member(j, "status"), "504");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "note")));
	cJSON_Delete(j);
	hd_log_set_request_id(NULL);
}

static void test_log_levels(void **state)
{
	size_t len;
	hd_log_init("testsvc", "warn");
	hd_log_debug("hidden");
	hd_log_info("hidden");
	free(captured(&len));
	assert_int_equal(len, 0);
	hd_log_warn("shown");
	cJSON *j = one_line();
	assert_string_equal(member(j, "level"), "warn");
	cJSON_Delete(j);
	hd_log_init("testsvc", "debug");
}

static void test_log_long_line(void **state)
{
	size_t n = 20000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 3 == 0 ? '"' : (i % 3 == 1 ? '\xc3' : '\xa9'));
	big[n] = '\0';
	hd_log_fields(HD_LOG_INFO, big, "k1", big, "k2", big, (const char *)NULL);
	cJSON *j = one_line(); /* cut, but still one valid JSON line */
	assert_non_null(member(j, "msg"));
	cJSON_Delete(j);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_log_escaping),
		cmocka_unit_test(test_log_request_id_and_fields),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_log_long_line),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
