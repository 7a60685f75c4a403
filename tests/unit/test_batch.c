/* Tests of libs/src/batch.c: the framing of several envelopes in one message
 * (proto/README.md, Batches): round trips, empty parts, and every decoding
 * rule that refuses a malformed batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "hd/batch.h"

static char *encode(const char *const *texts, size_t n, size_t *len)
{
	hd_batch_part parts[HD_BATCH_MAX];
	for (size_t i = 0; i < n; i++)
		parts[i] = (hd_batch_part) { .data = texts[i], .len = strlen(texts[i]) };
	char *buf = NULL;
	assert_int_equal(hd_batch_encode(parts, n, &buf, len), HD_OK);
	return buf;
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *texts[] = { "HD first", "", "third part" };
	size_t len = 0;
	char *buf = encode(texts, 3, &len);
	assert_int_equal(len, HD_BATCH_PREAMBLE + 3 * HD_BATCH_PART_HEADER + 8 + 0 + 10);
	assert_memory_equal(buf, "HB\x01\x00\x00\x00\x00\x03", 8);
	assert_true(hd_batch_is(buf, len));
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	assert_int_equal(hd_batch_decode(buf, len, parts, HD_BATCH_MAX, &n), HD_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(parts[i].len, strlen(texts[i]));
		assert_memory_equal(parts[i].data, texts[i], parts[i].len);
		assert_true(parts[i].data > buf && parts[i].data + parts[i].len <= buf + len);
	}
	free(buf);
}

/* A part given as data + tail is framed exactly like the same bytes given
 * whole, as a batch and alone; decoding gives no tail. */
static void test_tail_is_framed_as_one_part(void **state)
{
	(void)state;
	const char *whole[] = { "HD head+body", "x" };
	hd_batch_part split[2] = { { .data = "HD head", .len = 7, .tail = "+body", .tail_len = 5 },
		{ .data = NULL, .len = 0, .tail = "x", .tail_len = 1 } };
	size_t len = 0, split_len = 0;
	char *expect = encode(whole, 2, &len);
	char *got = NULL;
	assert_int_equal(hd_batch_encode(split, 2, &got, &split_len), HD_OK);
	assert_int_equal(split_len, len);
	assert_memory_equal(got, expect, len);
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	assert_int_equal(hd_batch_decode(got, split_len, parts, HD_BATCH_MAX, &n), HD_OK);
	assert_null(parts[0].tail);
	assert_int_equal(parts[0].tail_len, 0);
	char one[12];
	assert_int_equal(hd_batch_part_len(&split[0]), 12);
	hd_batch_part_write(&split[0], one);
	assert_memory_equal(one, whole[0], 12);
	hd_batch_part bad = { .data = "a", .len = 1, .tail = NULL, .tail_len = 3 };
	assert_int_equal(hd_batch_size(&bad, 1), 0);
	free(expect);
	free(got);
}

static void test_envelope_is_not_a_batch(void **state)
{
	(void)state;
	assert_false(hd_batch_is("HD\x01\x00", 4));
	assert_false(hd_batch_is("H", 1));
	assert_false(hd_batch_is(NULL, 0));
}

static void test_encode_bounds(void **state)
{
	(void)state;
	hd_batch_part parts[HD_BATCH_MAX + 1] = { { .data = "x", .len = 1 } };
	for (size_t i = 0; i <= HD_BATCH_MAX; i++)
		parts[i] = (hd_batch_part) { .data = "x", .len = 1 };
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(hd_batch_encode(parts, 0, &buf, &len), HD_ERR_INVALID);
	assert_int_equal(hd_batch_encode(parts, HD_BATCH_MAX + 1, &buf, &len), HD_ERR_INVALID);
	assert_int_equal(hd_batch_encode(parts, HD_BATCH_MAX, &buf, &len), HD_OK);
	free(buf);
	parts[0] = (hd_batch_part) { .data = NULL, .len = 3 };
	assert_int_equal(hd_batch_encode(parts, 1, &buf, &len), HD_ERR_INVALID);
}

/* Decodes len bytes of s; the result code. */
static hd_err decode(const char *s, size_t len, size_t max)
{
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	return hd_batch_decode(s, len, parts, max, &n);
}

static void test_decode_refuses_malformed(void **state)
{
	(void)state;
	/* a good one first, so that each case below differs in one thing */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x01\x00\x00\x00\x02ok", 14, 64), HD_OK);
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00", 7, 64), HD_ERR_INVALID); /* short */
	assert_int_equal(decode("HD\x01\x00\x00\x00\x00\x01\x00\x00\x00\x02ok", 14, 64),
	    HD_ERR_INVALID); /* magic */
	assert_int_equal(decode("HB\x02\x00\x00\x00\x00\x01\x00\x00\x00\x02ok", 14, 64),
	    HD_ERR_INVALID); /* version */
	assert_int_equal(decode("HB\x01\x01\x00\x00\x00\x01\x00\x00\x00\x02ok", 14, 64),
	    HD_ERR_INVALID); /* flags */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x00", 8, 64), HD_ERR_INVALID); /* none */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x41\x00\x00\x00\x02ok", 14, 64),
	    HD_ERR_INVALID); /* 65 parts */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x01\x00\x00\x00\x02ok", 14, 0),
	    HD_ERR_INVALID); /* more than the caller has room for */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x01\x00\x00\x00\x03ok", 14, 64),
	    HD_ERR_INVALID); /* part past the end */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x02\x00\x00\x00\x02ok", 14, 64),
	    HD_ERR_INVALID); /* second part missing */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x01\x00\x00\x00\x02ok!", 15, 64),
	    HD_ERR_INVALID); /* trailing byte */
	assert_int_equal(decode("HB\x01\x00\x00\x00\x00\x01\xff\xff\xff\xff", 12, 64),
	    HD_ERR_INVALID); /* huge length */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_tail_is_framed_as_one_part),
		cmocka_unit_test(test_envelope_is_not_a_batch),
		cmocka_unit_test(test_encode_bounds),
		cmocka_unit_test(test_decode_refuses_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
