/* hd_query and cursors: decoding, bounds, repeated keys, limit, base64url. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/query.h"

static void test_query_parse(void **state)
{
	hd_query q;
	assert_int_equal(hd_query_parse("a=1&b=x%20y+z&c=&d&e=%C3%A9%2b", &q), HD_OK);
	assert_int_equal(q.count, 5);
	assert_string_equal(hd_query_get(&q, "a"), "1");
	assert_string_equal(hd_query_get(&q, "b"), "x y z");
	assert_string_equal(hd_query_get(&q, "c"), "");
	assert_string_equal(hd_query_get(&q, "d"), "");
	assert_string_equal(hd_query_get(&q, "e"), "\xc3\xa9+");
	assert_null(hd_query_get(&q, "A"));
	assert_int_equal(hd_query_parse(NULL, &q), HD_OK);
	assert_int_equal(q.count, 0);
	assert_int_equal(hd_query_parse("", &q), HD_OK);
	assert_int_equal(hd_query_parse("&&a=1&", &q), HD_OK);
	assert_int_equal(q.count, 1);
	assert_int_equal(hd_query_parse("q=a%3Db%26c", &q), HD_OK);
	assert_string_equal(hd_query_get(&q, "q"), "a=b&c");
}

static void test_query_rejects(void **state)
{
	const char *bad[] = { "a=%", "a=%2", "a=%zz", "a=%00", "a=1&a=2", "a=1&a", "=1", "a=%ff",
		"%61=1&a=2", NULL };
	hd_query q;
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (hd_query_parse(bad[i], &q) != HD_ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(q.count, 0);
	}
}

static void test_query_bounds(void **state)
{
	hd_query q;
	char buf[2048];
	size_t o = 0;
	for (int i = 0; i < HD_QUERY_MAX_PARAMS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%d=v", i ? "&" : "", i);
	assert_int_equal(hd_query_parse(buf, &q), HD_OK);
	assert_int_equal(q.count, HD_QUERY_MAX_PARAMS);
	snprintf(buf + o, sizeof(buf) - o, "&one=more");
	assert_int_equal(hd_query_parse(buf, &q), HD_ERR_INVALID);

	memset(buf, 'k', 31);
	snprintf(buf + 31, sizeof(buf) - 31, "=v");
	assert_int_equal(hd_query_parse(buf, &q), HD_OK);
	memset(buf, 'k', 32);
	snprintf(buf + 32, sizeof(buf) - 32, "=v");
	assert_int_equal(hd_query_parse(buf, &q), HD_ERR_INVALID);

	memcpy(buf, "v=", 2);
	memset(buf + 2, 'x', HD_QUERY_MAX_VALUE);
	buf[2 + HD_QUERY_MAX_VALUE] = '\0';
	assert_int_equal(hd_query_parse(buf, &q), HD_OK);
	assert_int_equal(strlen(hd_query_get(&q, "v")), HD_QUERY_MAX_VALUE);
	memcpy(buf + 2 + HD_QUERY_MAX_VALUE, "x", 2);
	assert_int_equal(hd_query_parse(buf, &q), HD_ERR_INVALID);
}

static void test_query_limit(void **state)
{
	hd_query q;
	int limit = 0;
	assert_int_equal(hd_query_parse("x=1", &q), HD_OK);
	assert_int_equal(hd_query_limit(&q, &limit), HD_OK);
	assert_int_equal(limit, 25);
	const char *good[][2]
	    = { { "limit=1", "1" }, { "limit=100", "100" }, { "limit=050", "50" } };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(hd_query_parse(good[i][0], &q), HD_OK);
		assert_int_equal(hd_query_limit(&q, &limit), HD_OK);
		assert_int_equal(limit, atoi(good[i][1]));
	}
	const char *bad[] = { "limit=0", "limit=101", "limit=", "limit=-1", "limit=1x", "limit=+5",
		"limit=1000", "limit=%201", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		assert_int_equal(hd_query_parse(bad[i], &q), HD_OK);
		limit = 7;
		assert_int_equal(hd_query_limit(&q, &limit), HD_ERR_INVALID);
		assert_int_equal(limit, 7);
	}
}

static void test_cursor_round_trip(void **state)
{
	const char *plain[] = { "a", "ab", "abc", "abcd",
		"1700000000123|0190b6a4-7c00-7abc-8def-0123456789ab", "\xc3\xa9?>", NULL };
	for (size_t i = 0; plain[i] != NULL; i++) {
		char cur[HD_CURSOR_MAX + 1], back[HD_CURSOR_MAX];
		assert_int_equal(hd_cursor_encode(plain[i], cur, sizeof(cur)), HD_OK);
		assert_null(strpbrk(cur, "+/="));
		assert_int_equal(hd_cursor_decode(cur, back, sizeof(back)), HD_OK);
		assert_string_equal(back, plain[i]);
	}
	char cur[16];
	assert_int_equal(hd_cursor_encode("Pz4-", cur, sizeof(cur)), HD_OK);
	assert_string_equal(cur, "UHo0LQ");
	char small[4];
	assert_int_equal(hd_cursor_encode("abcdef", small, sizeof(small)), HD_ERR_INVALID);
	assert_int_equal(hd_cursor_encode("", cur, sizeof(cur)), HD_ERR_INVALID);
	/* the longest cursor that decodes also encodes (384 bytes = 512
	 * characters, found by fuzz_cursor), and one byte more is refused */
	char longest[386], big[HD_CURSOR_MAX + 1];
	memset(longest, 'F', 384);
	longest[384] = '\0';
	assert_int_equal(hd_cursor_encode(longest, big, sizeof(big)), HD_OK);
	assert_int_equal(strlen(big), HD_CURSOR_MAX);
	longest[383] = '\0';
	strcat(longest, "FF");
	assert_int_equal(hd_cursor_encode(longest, big, sizeof(big)), HD_ERR_INVALID);
}

static void test_cursor_rejects(void **state)
{
	const char *bad[] = { "", "a", "YQ==", "YR", "Y+", "Y/", "YQ.", "AA", "YWJj\n", "w", NULL };
	char plain[64];
	for (size_t i = 0; bad[i] != NULL; i++)
		if (hd_cursor_decode(bad[i], plain, sizeof(plain)) != HD_ERR_INVALID)
			fail_msg("accepted cursor %s", bad[i]);
	assert_int_equal(hd_cursor_decode(NULL, plain, sizeof(plain)), HD_ERR_INVALID);
	assert_int_equal(hd_cursor_decode("_w", plain, sizeof(plain)), HD_ERR_INVALID); /* 0xff */
	assert_int_equal(hd_cursor_decode("YWJjZA", plain, 4), HD_ERR_INVALID); /* too small */
	assert_int_equal(hd_cursor_decode("YWJjZA", plain, 5), HD_OK);
	assert_string_equal(plain, "abcd");
	char longc[HD_CURSOR_MAX + 8];
	memset(longc, 'A', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	assert_int_equal(hd_cursor_decode(longc, plain, sizeof(plain)), HD_ERR_INVALID);
}

static void test_base64url(void **state)
{
	unsigned char raw[] = { 0xfb, 0xff, 0x00, 0x10 };
	char enc[16];
	unsigned char dec[8];
	size_t n = 0;
	assert_int_equal(hd_base64url_encode(raw, sizeof(raw), enc, sizeof(enc)), HD_OK);
	assert_string_equal(enc, "-_8AEA");
	assert_int_equal(hd_base64url_decode(enc, strlen(enc), dec, sizeof(dec), &n), HD_OK);
	assert_int_equal(n, sizeof(raw));
	assert_memory_equal(dec, raw, sizeof(raw));
	assert_int_equal(hd_base64url_encode(raw, sizeof(raw), enc, 6), HD_ERR_INVALID);
	assert_int_equal(hd_base64url_encode(raw, 0, enc, 1), HD_OK);
	assert_string_equal(enc, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_query_rejects),
		cmocka_unit_test(test_query_bounds),
		cmocka_unit_test(test_query_limit),
		cmocka_unit_test(test_cursor_round_trip),
		cmocka_unit_test(test_cursor_rejects),
		cmocka_unit_test(test_base64url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
