/* Unit tests of the gateway <-> daemon envelope (libs/src/envelope.c): round
 * trips, tolerance (unknown fields, higher minor version) and rejection of
 * everything malformed or over bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hd/envelope.h"

/* Builds preamble + header + body by hand (what a foreign peer could send). */
static size_t raw_envelope(char *buf, size_t cap, int version, const char *hdr, const char *body)
{
	size_t hl = strlen(hdr), bl = strlen(body);
	assert_true(8 + hl + bl <= cap);
	buf[0] = 'H';
	buf[1] = 'D';
	buf[2] = (char)version;
	buf[3] = 0;
	buf[4] = (char)(hl >> 24);
	buf[5] = (char)(hl >> 16);
	buf[6] = (char)(hl >> 8);
	buf[7] = (char)hl;
	memcpy(buf + 8, hdr, hl);
	memcpy(buf + 8 + hl, body, bl);
	return 8 + hl + bl;
}

static void fill_request(hd_envelope *e)
{
	memset(e, 0, sizeof *e);
	strcpy(e->op, "tickets.create");
	strcpy(e->request_id, "req-1");
	strcpy(e->tenant_id, "0190a0f1-0000-7000-8000-000000000001");
	strcpy(e->user_id, "0190a0f1-0000-7000-8000-000000000002");
	strcpy(e->role, "agent");
	strcpy(e->token_id, "jti-9");
	e->token_exp = 1900000000;
	strcpy(e->client_ip, "203.0.113.7");
	e->deadline_ms = 1700000000123;
	strcpy(e->query, "limit=10&cursor=abc");
	assert_int_equal(hd_envelope_add_param(e, "id", "42"), HD_OK);
	assert_int_equal(hd_envelope_add_header(e, "If-Match", "\"v3\""), HD_OK);
	e->body = "{\"title\":\"a\\u0000b\"}";
	e->body_len = strlen(e->body);
}

static void test_request_round_trip(void **state)
{
	(void)state;
	hd_envelope e, d;
	fill_request(&e);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(hd_envelope_encode(&e, &buf, &len), HD_OK);
	assert_memory_equal(buf, "HD\x01\x00", 4);
	assert_int_equal(hd_envelope_decode(buf, len, &d), HD_OK);
	assert_int_equal(d.version, 1);
	assert_string_equal(d.op, e.op);
	assert_string_equal(d.request_id, e.request_id);
	assert_string_equal(d.tenant_id, e.tenant_id);
	assert_string_equal(d.user_id, e.user_id);
	assert_string_equal(d.role, "agent");
	assert_string_equal(d.token_id, "jti-9");
	assert_true(d.token_exp == 1900000000);
	assert_string_equal(d.client_ip, e.client_ip);
	assert_true(d.deadline_ms == 1700000000123);
	assert_string_equal(d.query, e.query);
	assert_string_equal(hd_envelope_param(&d, "id"), "42");
	assert_null(hd_envelope_param(&d, "ID"));
	assert_string_equal(hd_envelope_header(&d, "if-match"), "\"v3\"");
	assert_string_equal(hd_envelope_header(&d, "IF-MATCH"), "\"v3\"");
	assert_int_equal(d.body_len, e.body_len);
	assert_memory_equal(d.body, e.body, e.body_len);
	assert_ptr_equal(d.body, buf + len - e.body_len); /* points into buf */
	free(buf);
}

/* True when head[head_len] is whole[len] less its last body_len bytes. */
static bool head_of(
    const char *head, size_t head_len, const char *whole, size_t len, size_t body_len)
{
	return head_len + body_len == len && memcmp(head, whole, head_len) == 0;
}

/* The head alone is the whole encoding less the body: head + body on the
 * wire (how the gateway and rpc.c build messages) is the same envelope. */
static void test_head_then_body_is_the_envelope(void **state)
{
	(void)state;
	hd_envelope e;
	fill_request(&e);
	hd_reply r = { .version = 1, .status = 200, .body = "{\"a\":1}", .body_len = 7 };
	char *whole[2] = { NULL, NULL }, *head[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 }, head_len[2] = { 0, 0 };
	assert_int_equal(hd_envelope_encode(&e, &whole[0], &len[0]), HD_OK);
	assert_int_equal(hd_envelope_encode_head(&e, &head[0], &head_len[0]), HD_OK);
	assert_int_equal(hd_reply_encode(&r, &whole[1], &len[1]), HD_OK);
	assert_int_equal(hd_reply_encode_head(&r, &head[1], &head_len[1]), HD_OK);
	assert_true(head_of(head[0], head_len[0], whole[0], len[0], e.body_len));
	assert_true(head_of(head[1], head_len[1], whole[1], len[1], r.body_len));
	for (int i = 0; i < 2; i++) {
		free(whole[i]);
		free(head[i]);
	}
}

static void test_request_minimal_and_empty_body(void **state)
{
	(void)state;
	hd_envelope e = { 0 }, d;
	strcpy(e.op, "auth.jwks");
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(hd_envelope_encode(&e, &buf, &len), HD_OK);
	assert_int_equal(hd_envelope_decode(buf, len, &d), HD_OK);
	assert_string_equal(d.op, "auth.jwks");
	assert_string_equal(d.tenant_id, "");
	assert_int_equal(d.nparams, 0);
	assert_int_equal(d.body_len, 0);
	free(buf);
	/* an envelope without an operation cannot be encoded */
	e.op[0] = '\0';
	assert_int_equal(hd_envelope_encode(&e, &buf, &len), HD_ERR_INVALID);
}

static void test_reply_round_trip(void **state)
{
	(void)state;
	hd_reply r = { .status = 201, .body = "{\"id\":1}", .body_len = 8 }, d;
	assert_int_equal(hd_reply_add_header(&r, "Location", "/v1/tickets/1"), HD_OK);
	assert_int_equal(hd_reply_add_header(&r, "etag", "\"1\""), HD_OK);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(hd_reply_encode(&r, &buf, &len), HD_OK);
	assert_int_equal(hd_reply_decode(buf, len, &d), HD_OK);
	assert_int_equal(d.status, 201);
	assert_int_equal(d.nheaders, 2);
	assert_string_equal(d.headers[0].name, "location");
	assert_string_equal(d.headers[0].value, "/v1/tickets/1");
	assert_int_equal(d.body_len, 8);
	assert_memory_equal(d.body, "{\"id\":1}", 8);
	free(buf);
	r.status = 99;
	assert_int_equal(hd_reply_encode(&r, &buf, &len), HD_ERR_INVALID);
	r.status = 600;
	assert_int_equal(hd_reply_encode(&r, &buf, &len), HD_ERR_INVALID);
}

static void test_tolerates_unknown_fields_and_minor(void **state)
{
	(void)state;
	char buf[512];
	hd_envelope d;
	size_t n = raw_envelope(buf, sizeof buf, 1,
	    "{\"v\":3,\"op\":\"auth.me\",\"future\":{\"x\":[1,2]},\"tid\":\"t\"}", "BODY");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_OK);
	assert_int_equal(d.version, 3);
	assert_string_equal(d.op, "auth.me");
	assert_string_equal(d.tenant_id, "t");
	assert_int_equal(d.body_len, 4);
	hd_reply r;
	n = raw_envelope(buf, sizeof buf, 1, " {\"v\":2,\"status\":204,\"new\":true} ", "");
	assert_int_equal(hd_reply_decode(buf, n, &r), HD_OK);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
}

/* Every one of these headers must be refused. */
static void test_rejects_bad_headers(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"op\":\"a.b\"}", /* no version */
		"{\"v\":0,\"op\":\"a.b\"}", /* version 0 */
		"{\"v\":1.5,\"op\":\"a.b\"}", /* not an integer */
		"{\"v\":1}", /* no op */
		"{\"v\":1,\"op\":\"\"}", /* empty op */
		"{\"v\":1,\"op\":7}", /* op not a string */
		"{\"v\":1,\"op\":\"a.b\",\"tid\":[]}", /* wrong type */
		"{\"v\":1,\"op\":\"a.b\",\"jexp\":-1}", /* negative */
		"{\"v\":1,\"op\":\"a.b\",\"deadline\":\"1\"}",
		"{\"v\":1,\"op\":\"a.b\",\"params\":[]}",
		"{\"v\":1,\"op\":\"a.b\",\"params\":{\"id\":1}}",
		"{\"v\":1,\"op\":\"a.b\",\"params\":{\"\":\"x\"}}",
		"{\"v\":1,\"op\":\"a.b\",\"params\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":"
		"\"4\",\"e\":\"5\"}}",
		"{\"v\":1,\"op\":\"a.b\",\"op\":\"c.d\"}", /* duplicate key */
		"{\"v\":1,\"op\":\"a.b\"} x", /* trailing garbage */
		"[1,2]", /* not an object */
		"{\"v\":1,\"op\":\"a.b\"", /* truncated */
		"{\"v\":1,\"op\":\"\xff\xfe\"}", /* invalid UTF-8 */
	};
	char buf[512];
	hd_envelope d;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = raw_envelope(buf, sizeof buf, 1, bad[i], "");
		if (hd_envelope_decode(buf, n, &d) != HD_ERR_INVALID)
			fail_msg("accepted bad header #%zu: %s", i, bad[i]);
	}
}

static void test_rejects_over_long_strings(void **state)
{
	(void)state;
	/* op is char[64]: 63 characters fit, 64 are refused (never truncated) */
	char hdr[256], op[80], buf[512];
	hd_envelope d;
	memset(op, 'o', 63);
	op[63] = '\0';
	snprintf(hdr, sizeof hdr, "{\"v\":1,\"op\":\"%s\"}", op);
	size_t n = raw_envelope(buf, sizeof buf, 1, hdr, "");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_OK);
	assert_int_equal(strlen(d.op), 63);
	strcat(op, "o");
	snprintf(hdr, sizeof hdr, "{\"v\":1,\"op\":\"%s\"}", op);
	n = raw_envelope(buf, sizeof buf, 1, hdr, "");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
	/* tenant id is char[37] */
	n = raw_envelope(buf, sizeof buf, 1,
	    "{\"v\":1,\"op\":\"a\",\"tid\":\"0190a0f1-0000-7000-8000-0000000000011\"}", "");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
}

static void test_rejects_bad_preamble(void **state)
{
	(void)state;
	char buf[256];
	hd_envelope d;
	hd_reply r;
	const char *hdr = "{\"v\":1,\"op\":\"a.b\",\"status\":200}";
	size_t n = raw_envelope(buf, sizeof buf, 1, hdr, "xy");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_OK);
	assert_int_equal(hd_reply_decode(buf, n, &r), HD_OK);
	assert_int_equal(hd_envelope_decode(buf, 7, &d), HD_ERR_INVALID); /* short */
	assert_int_equal(hd_envelope_decode(NULL, 0, &d), HD_ERR_INVALID);
	buf[0] = 'X';
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID); /* magic */
	buf[0] = 'H';
	buf[2] = 2;
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID); /* version byte */
	assert_int_equal(hd_reply_decode(buf, n, &r), HD_ERR_INVALID);
	buf[2] = 1;
	buf[3] = 1;
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID); /* unknown flag */
	buf[3] = 0;
	buf[7] = (char)(strlen(hdr) + 3); /* past the end */
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
	buf[7] = 0; /* empty header */
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
	buf[5] = 0x40; /* 16384 + ... > HD_ENVELOPE_MAX_HEADER */
	buf[7] = 1;
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
}

static void test_rejects_huge_header(void **state)
{
	(void)state;
	size_t cap = HD_ENVELOPE_MAX_HEADER + 200;
	char *hdr = malloc(cap), *buf = malloc(cap + 16);
	assert_non_null(hdr);
	assert_non_null(buf);
	int k = snprintf(hdr, cap, "{\"v\":1,\"op\":\"a\",\"pad\":\"");
	memset(hdr + k, 'p', HD_ENVELOPE_MAX_HEADER - (size_t)k);
	strcpy(hdr + HD_ENVELOPE_MAX_HEADER, "\"}");
	hd_envelope d;
	size_t n = raw_envelope(buf, cap + 16, 1, hdr, "");
	assert_int_equal(hd_envelope_decode(buf, n, &d), HD_ERR_INVALID);
	free(hdr);
	free(buf);
}

static void test_add_bounds(void **state)
{
	(void)state;
	hd_envelope e = { 0 };
	char big[600];
	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(hd_envelope_add_header(&e, "x-long", big), HD_ERR_TOO_LARGE);
	assert_int_equal(hd_envelope_add_param(&e, "", "v"), HD_ERR_INVALID);
	for (int i = 0; i < HD_ENVELOPE_MAX_PARAMS; i++) {
		char name[16];
		snprintf(name, sizeof name, "p%d", i);
		assert_int_equal(hd_envelope_add_param(&e, name, "v"), HD_OK);
	}
	assert_int_equal(hd_envelope_add_param(&e, "one_more", "v"), HD_ERR_TOO_LARGE);
	assert_int_equal(e.nparams, HD_ENVELOPE_MAX_PARAMS);
	/* the largest legal header set still encodes within the header limit */
	big[511] = '\0';
	for (int i = 0; i < HD_ENVELOPE_MAX_HEADERS; i++) {
		char name[16];
		snprintf(name, sizeof name, "X-H%d", i);
		assert_int_equal(hd_envelope_add_header(&e, name, big), HD_OK);
	}
	strcpy(e.op, "a.b");
	char *buf = NULL;
	size_t len = 0;
	hd_envelope d;
	assert_int_equal(hd_envelope_encode(&e, &buf, &len), HD_OK);
	assert_int_equal(hd_envelope_decode(buf, len, &d), HD_OK);
	assert_int_equal(d.nheaders, HD_ENVELOPE_MAX_HEADERS);
	assert_string_equal(hd_envelope_header(&d, "x-h7"), big);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_head_then_body_is_the_envelope),
		cmocka_unit_test(test_request_minimal_and_empty_body),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_tolerates_unknown_fields_and_minor),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_rejects_over_long_strings),
		cmocka_unit_test(test_rejects_bad_preamble),
		cmocka_unit_test(test_rejects_huge_header),
		cmocka_unit_test(test_add_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
