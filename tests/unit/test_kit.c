/* Unit tests of the service kit's pure parts: role bits (hd/caller.h), the
 * database-outcome table (hd/reply.h), keyset pages and their cursors
 * (hd/page.h), typed query getters (hd/request.h) and hd_buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hd/buf.h"
#include "hd/caller.h"
#include "hd/json.h"
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"

static void test_role_bits(void **state)
{
	(void)state;
	assert_int_equal(hd_role_bit("admin"), HD_ROLE_ADMIN);
	assert_int_equal(hd_role_bit("customer"), HD_ROLE_CUSTOMER);
	assert_int_equal(hd_role_bit("platform_admin"), HD_ROLE_PLATFORM_ADMIN);
	assert_int_equal(hd_role_bit("Admin"), 0);
	assert_int_equal(hd_role_bit(""), 0);
	assert_int_equal(hd_role_bit(NULL), 0);
	assert_string_equal(hd_role_name(HD_ROLE_TECHNICIAN), "technician");
	assert_null(hd_role_name(HD_ROLE_ADMIN | HD_ROLE_AGENT));
	hd_caller agent = { "t", "u1", "agent", HD_ROLE_AGENT };
	assert_true(hd_caller_is(&agent, HD_ROLES_STAFF));
	assert_false(hd_caller_is(&agent, HD_ROLES_ADMINS));
	assert_true(hd_caller_is_self(&agent, "u1"));
	assert_false(hd_caller_is_self(&agent, "u2"));
	assert_false(hd_caller_is_self(&agent, NULL));
	hd_caller unknown = { "t", "u1", "auditor", 0 };
	assert_false(hd_caller_is(&unknown, HD_ROLES_ANY));
}

static void test_db_outcomes(void **state)
{
	(void)state;
	const char *detail = NULL;
	assert_int_equal(hd_db_error_status(HD_ERR_UNAVAILABLE, NULL, &detail), 503);
	assert_string_equal(detail, HD_TEXT_DB_DOWN);
	assert_int_equal(hd_db_error_status(HD_ERR_TIMEOUT, NULL, &detail), 503);
	assert_int_equal(hd_db_error_status(HD_ERR_BUSY, NULL, &detail), 503);
	assert_string_equal(detail, HD_TEXT_BUSY);
	assert_int_equal(hd_db_error_status(HD_ERR_CONFLICT, NULL, &detail), 409);
	assert_int_equal(hd_db_error_status(HD_ERR_VALIDATION, NULL, &detail), 422);
	assert_int_equal(hd_db_error_status(HD_ERR_INTERNAL, NULL, &detail), 500);
	assert_string_equal(detail, HD_TEXT_INTERNAL);
	/* SQLSTATE classes land in the same place from every daemon */
	assert_int_equal(hd_db_err_from_sqlstate("40001"), HD_ERR_BUSY);
	assert_int_equal(hd_db_err_from_sqlstate("40P01"), HD_ERR_BUSY);
	assert_int_equal(hd_db_err_from_sqlstate("23505"), HD_ERR_CONFLICT);
	assert_int_equal(hd_db_err_from_sqlstate("23514"), HD_ERR_VALIDATION);
	assert_int_equal(hd_db_err_from_sqlstate("22P02"), HD_ERR_VALIDATION);
	assert_int_equal(hd_db_err_from_sqlstate("08006"), HD_ERR_UNAVAILABLE);
}

static void test_page_ts(void **state)
{
	(void)state;
	assert_true(hd_page_ts_valid("2026-12-07T01:02:03Z"));
	assert_true(hd_page_ts_valid("2026-12-07T01:02:03.123Z"));
	assert_true(hd_page_ts_valid("2026-12-07T01:02:03.123456Z"));
	assert_false(hd_page_ts_valid("2026-12-07T01:02:03.1234567Z"));
	assert_false(hd_page_ts_valid("2026-12-07T01:02:03.Z"));
	assert_false(hd_page_ts_valid("2026-02-30T01:02:03Z"));
	assert_false(hd_page_ts_valid("2026-12-07 01:02:03Z"));
	assert_false(hd_page_ts_valid("2026-12-07T01:02:03"));
	assert_false(hd_page_ts_valid("2026-12-07T01:02:03.12aZ"));
	assert_false(hd_page_ts_valid("infinity"));
	assert_false(hd_page_ts_valid(""));
}

/* Reads "cursor=<c>&limit=<l>" into p; returns the number of errors. */
static size_t page_of(const char *raw, hd_page *p)
{
	hd_query q;
	hd_field_errors errs = { .count = 0 };
	assert_int_equal(hd_query_parse(raw, &q), HD_OK);
	hd_page_read(&q, p, &errs);
	return errs.count;
}

static void test_page_cursor_round_trip(void **state)
{
	(void)state;
	const char *ts = "2026-12-07T01:02:03.123Z", *id = "0b9e6e0c-4b3f-4b8e-9f4e-2a1d3c4b5a69";
	char json[HD_PAGE_CURSOR_JSON_MAX], raw[HD_PAGE_CURSOR_JSON_MAX + 32];
	hd_page p;
	hd_page_cursor_json(ts, id, json);
	assert_true(json[0] == '"');
	json[strlen(json) - 1] = '\0';
	snprintf(raw, sizeof raw, "cursor=%s&limit=7", json + 1);
	assert_int_equal(page_of(raw, &p), 0);
	assert_true(p.after);
	assert_string_equal(hd_page_after_ts(&p), ts);
	assert_string_equal(hd_page_after_id(&p), id);
	assert_int_equal(p.limit, 7);
	assert_string_equal(p.fetch, "8");
	hd_page_cursor_json(NULL, id, json);
	assert_string_equal(json, "null");
}

static void test_page_defaults_and_errors(void **state)
{
	(void)state;
	hd_page p;
	const char *ts, *id;
	assert_int_equal(page_of("", &p), 0);
	assert_false(p.after);
	assert_int_equal(p.limit, 25);
	assert_null(hd_page_after_ts(&p));
	hd_page_bound(&p, false, &ts, &id);
	assert_string_equal(ts, "-infinity");
	hd_page_bound(&p, true, &ts, &id);
	assert_string_equal(ts, "infinity");
	assert_string_equal(id, "ffffffff-ffff-ffff-ffff-ffffffffffff");
	assert_int_equal(page_of("limit=0", &p), 1);
	assert_int_equal(page_of("limit=101", &p), 1);
	assert_int_equal(page_of("cursor=bm90LWEtY3Vyc29y", &p), 1); /* "not-a-cursor" */
	assert_false(p.after);
	assert_int_equal(page_of("cursor=!!", &p), 1);
	/* a forged cursor with a bad time never reaches the database */
	char enc[HD_CURSOR_MAX], raw[HD_CURSOR_MAX + 16];
	assert_int_equal(
	    hd_cursor_encode(
	        "2026-13-01T00:00:00Z|0b9e6e0c-4b3f-4b8e-9f4e-2a1d3c4b5a69", enc, sizeof enc),
	    HD_OK);
	snprintf(raw, sizeof raw, "cursor=%s", enc);
	assert_int_equal(page_of(raw, &p), 1);
}

static void test_query_getters(void **state)
{
	(void)state;
	static const char *const colours[] = { "red", "green", NULL };
	static const char *const known[] = { "colour", "id", "q", NULL };
	hd_query q;
	hd_field_errors errs = { .count = 0 };
	assert_int_equal(hd_query_parse("colour=blue&id=nope&q=&extra=1", &q), HD_OK);
	assert_null(hd_query_enum(&q, "colour", colours, &errs));
	assert_string_equal(errs.items[0].field, "colour");
	assert_string_equal(errs.items[0].message, "must be one of: red, green");
	assert_null(hd_query_uuid(&q, "id", &errs));
	assert_string_equal(errs.items[1].message, "must be a UUID");
	assert_null(hd_query_text(&q, "q", 10, &errs)); /* empty: absent, no error */
	assert_int_equal(errs.count, 2);
	hd_query_reject_unknown(&q, known, &errs);
	assert_int_equal(errs.count, 3);
	assert_string_equal(errs.items[2].field, "extra");
	assert_string_equal(errs.items[2].message, HD_TEXT_UNKNOWN_PARAM);
}

static void test_buf(void **state)
{
	(void)state;
	hd_buf b = { 0 };
	hd_buf_puts(&b, "{\"s\":");
	hd_buf_put_json_string(&b, "a\"b\\c\n");
	hd_buf_put(&b, "}", 1);
	assert_false(b.failed);
	assert_string_equal(b.data, "{\"s\":\"a\\\"b\\\\c\\u000a\"}");
	hd_buf_free(&b);
	assert_null(b.data);
}

static void test_json_compact(void **state)
{
	(void)state;
	static const char pg[] = "{\"a\" : 1, \"s\" : \"x y \\\" z\\\\\", \"t\" : [1, 2]}";
	char out[sizeof pg];
	size_t n = hd_json_compact_len(pg, sizeof pg - 1);
	assert_int_equal(hd_json_compact(out, pg, sizeof pg - 1), n);
	out[n] = '\0';
	assert_string_equal(out, "{\"a\":1,\"s\":\"x y \\\" z\\\\\",\"t\":[1,2]}");
	/* already compact: nothing to drop */
	assert_int_equal(hd_json_compact_len(out, n), n);
	static const char str_only[] = "\" \\\\ \"";
	assert_int_equal(hd_json_compact_len(str_only, sizeof str_only - 1), sizeof str_only - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_bits),
		cmocka_unit_test(test_db_outcomes),
		cmocka_unit_test(test_page_ts),
		cmocka_unit_test(test_page_cursor_round_trip),
		cmocka_unit_test(test_page_defaults_and_errors),
		cmocka_unit_test(test_query_getters),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_json_compact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
