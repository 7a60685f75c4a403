/* The ticket object writer (services/ticket/ticket_json.c): times from
 * extract(epoch ...) text (truncated milliseconds, before 1970, leap years,
 * years BC and past 9999, infinity), PostgreSQL array text to JSON, string
 * escaping as escape_json does it, nulls, and the whole object byte for byte
 * as ticket.ticket_json(t)::text printed it for the same row (PostgreSQL 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/json.h"
#include "ticket.h"

static void expect_ts(const char *epoch, const char *want)
{
	char out[TK_TS_MAX];
	if (!tk_ts_format(epoch, out))
		fail_msg("rejected %s", epoch);
	assert_string_equal(out, want);
}

/* Parses want back: epoch milliseconds, and formatting them again gives want. */
static void expect_parse(const char *ts, int64_t want_ms)
{
	int64_t ms = 0;
	if (!tk_ts_parse_ms(ts, &ms))
		fail_msg("rejected %s", ts);
	assert_int_equal(ms, want_ms);
	char epoch[48], again[TK_TS_MAX];
	int64_t mag = ms < 0 ? -ms : ms; /* as extract(epoch ...) prints it: -0.001000 */
	snprintf(epoch, sizeof epoch, "%s%lld.%03lld000", ms < 0 ? "-" : "",
	    (long long)(mag / 1000), (long long)(mag % 1000));
	assert_true(tk_ts_format(epoch, again));
	assert_string_equal(again, ts);
}

static void test_ts_parse(void **state)
{
	expect_parse("1970-01-01T00:00:00.000Z", 0);
	expect_parse("2023-11-14T22:13:20.123Z", 1700000000123);
	expect_parse("2024-02-29T23:59:59.999Z", 1709251199999);
	expect_parse("2000-03-01T00:00:00.000Z", 951868800000);
	expect_parse("1969-12-31T23:59:59.999Z", -1);
	expect_parse("1900-03-01T00:00:00.000Z", -2203891200000);
	expect_parse("0001-01-01T00:00:00.000Z", -62135596800000);
	const char *bad[] = { "", "2023-11-14T22:13:20Z", "2023-11-14 22:13:20.123Z",
		"2023-11-14T22:13:20.123", "2023-13-14T22:13:20.123Z", "2023-11-14T24:13:20.123Z",
		"0000-11-14T22:13:20.123Z", "2023-11-14T22:13:2x.123Z", "+023-11-14T22:13:20.123Z",
		"2023-11-14T22:13:20.123Z ", NULL };
	int64_t ms = 0;
	for (size_t i = 0; bad[i] != NULL; i++)
		if (tk_ts_parse_ms(bad[i], &ms))
			fail_msg("accepted %s", bad[i]);
	assert_false(tk_ts_parse_ms(NULL, &ms));
}

static void test_ts_epoch_and_truncation(void **state)
{
	expect_ts("0.000000", "1970-01-01T00:00:00.000Z");
	expect_ts("0", "1970-01-01T00:00:00.000Z");
	expect_ts("1700000000.123999", "2023-11-14T22:13:20.123Z");
	expect_ts("1700000000.999999", "2023-11-14T22:13:20.999Z");
	expect_ts("1709210096.789999", "2024-02-29T12:34:56.789Z");
	expect_ts("1709210096.7", "2024-02-29T12:34:56.700Z");
	expect_ts("86399.999", "1970-01-01T23:59:59.999Z");
}

static void test_ts_before_1970(void **state)
{
	expect_ts("-0.000500", "1969-12-31T23:59:59.999Z");
	expect_ts("-0.000001", "1969-12-31T23:59:59.999Z");
	expect_ts("-0.001000", "1969-12-31T23:59:59.999Z");
	expect_ts("-0.001001", "1969-12-31T23:59:59.998Z");
	expect_ts("-1.000000", "1969-12-31T23:59:59.000Z");
	expect_ts("-86400.500000", "1969-12-30T23:59:59.500Z");
	expect_ts("-2203891200", "1900-03-01T00:00:00.000Z");
	expect_ts("-2203891200.000001", "1900-02-28T23:59:59.999Z");
}

static void test_ts_calendar(void **state)
{
	expect_ts("951782400", "2000-02-29T00:00:00.000Z"); /* divisible by 400: leap */
	expect_ts("951868800", "2000-03-01T00:00:00.000Z");
	expect_ts("1709164800", "2024-02-29T00:00:00.000Z");
	expect_ts("1709251199.999", "2024-02-29T23:59:59.999Z");
	expect_ts("4107542400", "2100-03-01T00:00:00.000Z"); /* 2100 is not a leap year */
	expect_ts("4107542399", "2100-02-28T23:59:59.000Z"); /* no 02-29 */
	expect_ts("1735689599.999999", "2024-12-31T23:59:59.999Z");
	expect_ts("253402300800.001000", "10000-01-01T00:00:00.001Z");
	expect_ts("-62135596800", "0001-01-01T00:00:00.000Z");
	/* 1 BC (astronomical year 0) prints as to_char's YYYY does: 0001 */
	expect_ts("-62135683200.000000", "0001-12-31T00:00:00.000Z");
}

static void test_ts_rejects(void **state)
{
	const char *bad[] = { "Infinity", "-Infinity", "", "-", ".5", "1.1234567", "1e5", "12a",
		"1.2.3", " 1", "1 ", "--1", "9999999999999999", NULL };
	char out[TK_TS_MAX];
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (tk_ts_format(bad[i], out))
			fail_msg("accepted %s", bad[i]);
	}
	assert_false(tk_ts_format(NULL, out));
}

static void expect_array(const char *arr, const char *want)
{
	hd_buf b = { 0 };
	if (!tk_pg_array_json(&b, arr))
		fail_msg("rejected %s", arr);
	assert_string_equal(b.data, want);
	hd_buf_free(&b);
}

static void test_pg_array(void **state)
{
	expect_array("{}", "[]");
	expect_array("{a}", "[\"a\"]");
	expect_array("{printer,hardware}", "[\"printer\",\"hardware\"]");
	expect_array("{\"a b\",\"q\\\"x\",\"back\\\\slash\",NULL,\"NULL\",plain,\"{}\",\"\"}",
	    "[\"a b\",\"q\\\"x\",\"back\\\\slash\",null,\"NULL\",\"plain\",\"{}\",\"\"]");
	expect_array("{null,NuLl,nulls}", "[null,null,\"nulls\"]");
	expect_array("{\"tab\there\",\xc3\xa9t\xc3\xa9}", "[\"tab\\there\",\"\xc3\xa9t\xc3\xa9\"]");
	expect_array("[0:1]={a,b}", "[\"a\",\"b\"]");
	expect_array("{{a,b},{c,NULL}}", "[[\"a\",\"b\"],[\"c\",null]]");
}

static void test_pg_array_rejects(void **state)
{
	const char *bad[]
	    = { "", "a", "{", "{a", "{\"a}", "{\"a\"", "{a}x", "}", "{a}}", "{,}x", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		hd_buf b = { 0 };
		if (tk_pg_array_json(&b, bad[i]))
			fail_msg("accepted %s", bad[i]);
		hd_buf_free(&b);
	}
}

/* The row that ticket.ticket_json(t)::text printed as want_object below. */
static const char *const row[TK_TICKET_NCOLS] = {
	"01890000-0000-7000-8000-000000000001",
	"99999",
	"Quote \" back \\ nl \n tab \t ctl \x01 del \x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 /",
	"a\rb\bc\fd\x1f",
	"new",
	"normal",
	NULL,
	"{\"a b\",\"q\\\"x\",\"back\\\\slash\",NULL,\"NULL\",plain,\"{}\",\"\"}",
	"22222222-2222-2222-2222-222222222222",
	NULL,
	"-0.000500",
	"1709210096.789999",
	"-62135683200.000000",
	NULL,
	NULL,
	"42",
	"good",
	"253402300800.001000",
	"Infinity",
	"t",
	"7",
	"-4",
};

static const char want_object[]
    = "{\"id\" : \"01890000-0000-7000-8000-000000000001\", \"number\" : 99999, \"subject\" : "
      "\"Quote \\\" back \\\\ nl \\n tab \\t ctl \\u0001 del \x7f "
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 /\", \"description\" : \"a\\rb\\bc\\fd\\u001f\", "
      "\"status\" : \"new\", \"priority\" : \"normal\", \"category\" : null, \"tags\" : [\"a "
      "b\",\"q\\\"x\",\"back\\\\slash\",null,\"NULL\",\"plain\",\"{}\",\"\"], \"requester_id\" : "
      "\"22222222-2222-2222-2222-222222222222\", \"assignee_id\" : null, \"created_at\" : "
      "\"1969-12-31T23:59:59.999Z\", \"updated_at\" : \"2024-02-29T12:34:56.789Z\", "
      "\"first_response_at\" : \"0001-12-31T00:00:00.000Z\", \"solved_at\" : null, "
      "\"merged_into\" : null, \"time_spent_minutes\" : 42, \"satisfaction\" : \"good\", \"sla\" "
      ": {\"first_response_due\" : \"10000-01-01T00:00:00.001Z\", \"resolution_due\" : null, "
      "\"breached\" : true}, \"version\" : 7, \"sentiment\" : -4}";

/* PostgreSQL's text of an object, made compact as every reply is: what the
 * C writer must produce byte for byte (static buffer, one at a time). */
static const char *compact(const char *pg)
{
	static char out[4096];
	size_t n = strlen(pg);
	assert_true(n < sizeof out);
	out[hd_json_compact(out, pg, n)] = '\0';
	return out;
}

static void test_object_as_postgresql_prints_it(void **state)
{
	hd_buf b = { 0 };
	const char *want = compact(want_object);
	size_t n = strlen(want);
	assert_true(tk_ticket_json_write(&b, row));
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, n);
	assert_int_equal(hd_json_compact_len(b.data, b.len), b.len); /* nothing to drop */
	/* appends: a second object follows the first */
	hd_buf_put(&b, ",", 1);
	assert_true(tk_ticket_json_write(&b, row));
	assert_int_equal(b.len, 2 * n + 1);
	assert_memory_equal(b.data + n + 1, want, n);
	hd_buf_free(&b);
}

static void test_object_all_null_and_false(void **state)
{
	const char *cols[TK_TICKET_NCOLS] = { 0 };
	cols[19] = "f"; /* sla.breached */
	hd_buf b = { 0 };
	assert_true(tk_ticket_json_write(&b, cols));
	assert_string_equal(b.data,
	    compact(
	        "{\"id\" : null, \"number\" : null, \"subject\" : null, \"description\" : null, "
	        "\"status\" : null, \"priority\" : null, \"category\" : null, \"tags\" : null, "
	        "\"requester_id\" : null, \"assignee_id\" : null, \"created_at\" : null, "
	        "\"updated_at\" : null, \"first_response_at\" : null, \"solved_at\" : null, "
	        "\"merged_into\" : null, \"time_spent_minutes\" : null, \"satisfaction\" : null, "
	        "\"sla\" : {\"first_response_due\" : null, \"resolution_due\" : null, "
	        "\"breached\" : false}, \"version\" : null, \"sentiment\" : null}"));
	hd_buf_free(&b);
}

/* A malformed column is an error, not a silently different object. */
static void test_object_rejects_malformed(void **state)
{
	static const struct {
		int col;
		const char *v;
	} bad[] = { { 1, "12x" }, { 1, "" }, { 19, "true" }, { 10, "2024-01-01" }, { 7, "{a" },
		{ 20, "1.5" }, { 21, "4x" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *cols[TK_TICKET_NCOLS];
		memcpy(cols, row, sizeof(cols));
		cols[bad[i].col] = bad[i].v;
		hd_buf b = { 0 };
		if (tk_ticket_json_write(&b, cols))
			fail_msg("accepted column %d = %s", bad[i].col, bad[i].v);
		hd_buf_free(&b);
	}
}

/* Long values and every control character: the buffer grows, escapes are exact. */
static void test_object_long_and_controls(void **state)
{
	size_t n = 200000;
	char *desc = malloc(n + 1);
	assert_non_null(desc);
	for (size_t i = 0; i < n; i++)
		desc[i] = (char)(i % 32 == 0 ? 1 + i / 32 % 31 : 'x');
	desc[n] = '\0';
	const char *cols[TK_TICKET_NCOLS];
	memcpy(cols, row, sizeof(cols));
	cols[3] = desc;
	hd_buf b = { 0 };
	assert_true(tk_ticket_json_write(&b, cols));
	const char *d = strstr(b.data, "\"description\":\"");
	assert_non_null(d);
	d += strlen("\"description\":\"");
	static const char *const short_esc[32]
	    = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r" };
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)desc[i];
		char want[8] = { (char)c, 0 };
		if (c < 0x20 && short_esc[c] != NULL)
			strcpy(want, short_esc[c]);
		else if (c < 0x20)
			snprintf(want, sizeof(want), "\\u%04x", c);
		if (strncmp(d, want, strlen(want)) != 0)
			fail_msg("byte %zu (0x%02x) written as %.8s", i, c, d);
		d += strlen(want);
	}
	assert_true(strncmp(d, "\",\"status\"", 10) == 0);
	hd_buf_free(&b);
	free(desc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ts_epoch_and_truncation),
		cmocka_unit_test(test_ts_parse),
		cmocka_unit_test(test_ts_before_1970),
		cmocka_unit_test(test_ts_calendar),
		cmocka_unit_test(test_ts_rejects),
		cmocka_unit_test(test_pg_array),
		cmocka_unit_test(test_pg_array_rejects),
		cmocka_unit_test(test_object_as_postgresql_prints_it),
		cmocka_unit_test(test_object_all_null_and_false),
		cmocka_unit_test(test_object_rejects_malformed),
		cmocka_unit_test(test_object_long_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
