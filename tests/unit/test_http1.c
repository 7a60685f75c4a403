/* Unit tests of the gateway's HTTP/1.1 request parser (gateway/http1.c):
 * every rule of http1.h on real inputs — heads arriving byte by byte, line
 * ends, request lines and targets, the headers that frame the message and
 * the connection, each refusal with its result, chunked bodies decoded
 * whole and resumed at every split point, list headers, and rebasing a
 * parsed head onto a copy of its buffer. Inputs are placed at the very end
 * of a page followed by an inaccessible one, so any read past them faults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "http1.h"

#define MAX_HEAD 16384
#define GUARDED_MAX (3 * GW_HTTP_TARGET_MAX)

/* An input at the end of readable memory: buf[len] is a guard page. */
typedef struct guarded {
	char *map;
	size_t map_len;
	char *buf;
} guarded;

static guarded g_mem;

static int guard_setup(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (GUARDED_MAX + page - 1) / page * page;
	g_mem.map_len = data + page;
	g_mem.map
	    = mmap(NULL, g_mem.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_mem.map == MAP_FAILED)
		return -1;
	return mprotect(g_mem.map + data, page, PROT_NONE);
}

static int guard_teardown(void **state)
{
	munmap(g_mem.map, g_mem.map_len);
	return 0;
}

/* Copies s[0..n) so that it ends where the guard page starts. */
static char *guarded_copy(const char *s, size_t n)
{
	assert_true(n <= GUARDED_MAX);
	char *buf = g_mem.map + (g_mem.map_len - (size_t)sysconf(_SC_PAGESIZE)) - n;
	memcpy(buf, s, n);
	return buf;
}

static gw_http_result parse_n(const char *s, size_t n, size_t max_head, gw_http_head *h)
{
	gw_http_result r = gw_http_head_parse(guarded_copy(s, n), n, max_head, h);
	if (r != GW_HTTP_OK && r != GW_HTTP_INCOMPLETE)
		assert_non_null(h->error);
	return r;
}

static gw_http_result parse(const char *s, gw_http_head *h)
{
	return parse_n(s, strlen(s), MAX_HEAD, h);
}

/* The result of parsing "<line>\r\n<headers>\r\n" with HTTP/1.1 and a Host. */
static gw_http_result parse_with(const char *line, const char *headers, gw_http_head *h)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "%s\r\n%s\r\n", line, headers);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	return parse(req, h);
}

static void test_incomplete_until_blank_line(void **state)
{
	static const char *reqs[] = {
		"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
		"GET /a HTTP/1.1\nHost: x\nX-A: 1\n\n",
		"\r\n\nPOST / HTTP/1.0\r\n\r\n",
	};
	gw_http_head h;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		size_t n = strlen(reqs[i]);
		for (size_t k = 0; k < n; k++) {
			char *buf = guarded_copy(reqs[i], k);
			assert_int_equal(
			    gw_http_head_parse(buf, k, MAX_HEAD, &h), GW_HTTP_INCOMPLETE);
			assert_memory_equal(buf, reqs[i], k); /* left alone */
		}
		assert_int_equal(parse(reqs[i], &h), GW_HTTP_OK);
		assert_int_equal(h.head_len, n);
	}
	/* bytes after the head (a body, a pipelined request) are not part of it */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\nGET /next HTTP/1.0\r\n\r\n", &h), GW_HTTP_OK);
	assert_int_equal(h.head_len, 18);
	assert_string_equal(h.path, "/");
}

static void test_line_ends(void **state)
{
	gw_http_head h;
	static const char *reqs[] = {
		"GET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n",
		"GET /x HTTP/1.1\nHost: h\nA: 1\n\n",
		"GET /x HTTP/1.1\r\nHost: h\nA: 1\r\n\n",
		"\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n",
		"\n\nGET /x HTTP/1.1\nHost: h\nA: 1\n\n",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		assert_int_equal(parse(reqs[i], &h), GW_HTTP_OK);
		assert_int_equal(h.head_len, strlen(reqs[i]));
		assert_string_equal(h.method, "GET");
		assert_string_equal(h.path, "/x");
		assert_int_equal(h.nheaders, 2);
		assert_string_equal(h.headers[0].value, "h");
		assert_string_equal(h.headers[1].value, "1");
	}
}

static void test_request_fields(void **state)
{
	gw_http_head h;
	assert_int_equal(
	    parse("PATCH /v1/t/9?x=1&y HTTP/1.1\r\nhost: example\r\n"
	          "X-Custom-Name: \t a  b \t\r\nX-Empty:\r\nx-custom-name: second\r\n\r\n",
	        &h),
	    GW_HTTP_OK);
	assert_string_equal(h.method, "PATCH");
	assert_string_equal(h.path, "/v1/t/9");
	assert_string_equal(h.query, "x=1&y");
	assert_int_equal(h.minor_version, 1);
	assert_int_equal(h.nheaders, 4);
	assert_string_equal(h.headers[0].name, "host");
	assert_string_equal(h.headers[1].name, "X-Custom-Name");
	assert_string_equal(h.headers[1].value, "a  b");
	assert_string_equal(h.headers[2].name, "X-Empty");
	assert_string_equal(h.headers[2].value, "");
	assert_string_equal(gw_http_head_header(&h, "X-CUSTOM-NAME"), "a  b");
	assert_string_equal(gw_http_head_header(&h, "Host"), "example");
	assert_null(gw_http_head_header(&h, "X-Absent"));
	assert_int_equal(h.content_length, -1);
	assert_false(h.chunked);
	assert_false(h.expect_continue);
	/* methods are case-sensitive: passed on as sent */
	assert_int_equal(parse("get /a HTTP/1.0\r\n\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.method, "get");
	assert_int_equal(h.minor_version, 0);
	assert_int_equal(h.nheaders, 0);
}

static void test_query_forms(void **state)
{
	gw_http_head h;
	assert_int_equal(parse_with("GET /a HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_null(h.query);
	assert_int_equal(parse_with("GET /a? HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/a");
	assert_non_null(h.query);
	assert_string_equal(h.query, "");
	assert_int_equal(parse_with("GET /a?b?c=/d HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/a");
	assert_string_equal(h.query, "b?c=/d");
	assert_int_equal(parse_with("GET /? HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/");
	assert_string_equal(h.query, "");
}

static void test_absolute_form_and_star(void **state)
{
	gw_http_head h;
	assert_int_equal(parse_with("GET http://h/p?q HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/p");
	assert_string_equal(h.query, "q");
	assert_int_equal(parse_with("GET http://h HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/");
	assert_null(h.query);
	assert_int_equal(parse_with("GET http://h?k=v HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/");
	assert_string_equal(h.query, "k=v");
	assert_int_equal(
	    parse_with("GET HTTPS://h:8443/x/y HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "/x/y");
	assert_null(h.query);
	assert_int_equal(parse_with("OPTIONS * HTTP/1.1", "Host: h\r\n", &h), GW_HTTP_OK);
	assert_string_equal(h.path, "*");
	assert_null(h.query);
}

static void test_keep_alive(void **state)
{
	static const struct {
		const char *line, *headers;
		bool keep_alive;
	} cases[] = {
		{ "GET / HTTP/1.1", "Host: h\r\n", true },
		{ "GET / HTTP/1.0", "", false },
		{ "GET / HTTP/1.1", "Host: h\r\nConnection: close\r\n", false },
		{ "GET / HTTP/1.1", "Host: h\r\nConnection: Upgrade, CLOSE\r\n", false },
		{ "GET / HTTP/1.1", "Host: h\r\nConnection: closed\r\n", true },
		{ "GET / HTTP/1.1", "Host: h\r\nConnection: keep-alive, close\r\n", false },
		{ "GET / HTTP/1.0", "Connection: keep-alive\r\n", true },
		{ "GET / HTTP/1.0", "Connection: Keep-Alive, Upgrade\r\n", true },
		{ "GET / HTTP/1.0", "Connection: Upgrade\r\n", false },
		{ "GET / HTTP/1.0", "Connection: keep-alive-ish\r\n", false },
	};
	gw_http_head h;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_with(cases[i].line, cases[i].headers, &h), GW_HTTP_OK);
		assert_int_equal(h.keep_alive, cases[i].keep_alive);
	}
}

/* RFC 9112 §9.3: "close" in any Connection header ends the connection, even
 * when a later Connection header lists keep-alive. */
static void test_keep_alive_close_wins(void **state)
{
	gw_http_head h;
	assert_int_equal(parse_with("GET / HTTP/1.1",
	                     "Host: h\r\nConnection: close\r\nConnection: keep-alive\r\n", &h),
	    GW_HTTP_OK);
	assert_false(h.keep_alive);
	assert_int_equal(
	    parse_with("GET / HTTP/1.0", "Connection: close\r\nConnection: keep-alive\r\n", &h),
	    GW_HTTP_OK);
	assert_false(h.keep_alive);
}

static void test_expect_continue(void **state)
{
	gw_http_head h;
	assert_int_equal(parse_with("POST / HTTP/1.1",
	                     "Host: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n", &h),
	    GW_HTTP_OK);
	assert_true(h.expect_continue);
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\nexpect:  100-Continue \r\n", &h), GW_HTTP_OK);
	assert_true(h.expect_continue);
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\nExpect: something\r\n", &h), GW_HTTP_OK);
	assert_false(h.expect_continue);
	assert_int_equal(parse_with("POST / HTTP/1.0", "Expect: 100-continue\r\n", &h), GW_HTTP_OK);
	assert_false(h.expect_continue);
}

static void test_body_framing(void **state)
{
	gw_http_head h;
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\nContent-Length: 0\r\n", &h), GW_HTTP_OK);
	assert_int_equal(h.content_length, 0);
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\ncontent-length:  42 \r\n", &h), GW_HTTP_OK);
	assert_int_equal(h.content_length, 42);
	assert_int_equal(parse_with("POST / HTTP/1.1",
	                     "Host: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n", &h),
	    GW_HTTP_OK);
	assert_int_equal(h.content_length, 5);
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\nContent-Length: 999999999999999999\r\n", &h),
	    GW_HTTP_OK);
	assert_true(h.content_length == INT64_C(999999999999999999));
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: chunked\r\n", &h),
	    GW_HTTP_OK);
	assert_true(h.chunked);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(
	    parse_with("POST / HTTP/1.1", "Transfer-Encoding: Chunked\r\nHost: h\r\n", &h),
	    GW_HTTP_OK);
	assert_true(h.chunked);
	/* HTTP/1.0 needs no Host */
	assert_int_equal(parse_with("POST / HTTP/1.0", "Content-Length: 1\r\n", &h), GW_HTTP_OK);
	assert_int_equal(h.content_length, 1);
}

typedef struct refusal {
	const char *line, *headers;
	gw_http_result want;
} refusal;

static void refusals_check(const refusal *cases, size_t n)
{
	gw_http_head h;
	for (size_t i = 0; i < n; i++) {
		gw_http_result r = parse_with(cases[i].line, cases[i].headers, &h);
		if (r != cases[i].want)
			print_error("case %zu (%s / %s): got %d\n", i, cases[i].line,
			    cases[i].headers, (int)r);
		assert_int_equal(r, cases[i].want);
	}
}

static void test_refused_header_lines(void **state)
{
	static const refusal cases[] = {
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: 1\r\n  folded\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: 1\r\n\tfolded\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", " Host: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host : h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host\t: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\n: empty\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nNo-Colon\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX(A): 1\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: a\x01z\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: a\x7fz\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: a\rz\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: h\r\nX-A: a\r\r\n", GW_HTTP_BAD },
	};
	refusals_check(cases, sizeof(cases) / sizeof(cases[0]));
	/* obs-text (bytes >= 0x80) is allowed in values */
	gw_http_head h;
	assert_int_equal(
	    parse_with("GET / HTTP/1.1", "Host: h\r\nX-A: caf\xc3\xa9\r\n", &h), GW_HTTP_OK);
	/* a NUL anywhere in the head */
	static const char nul_value[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
	assert_int_equal(parse_n(nul_value, sizeof(nul_value) - 1, MAX_HEAD, &h), GW_HTTP_BAD);
	static const char nul_path[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_int_equal(parse_n(nul_path, sizeof(nul_path) - 1, MAX_HEAD, &h), GW_HTTP_BAD);
}

static void test_refused_framing(void **state)
{
	static const refusal cases[] = {
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
		    GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: 12a\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: -1\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: +5\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: 0x10\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: 5, 5\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length:\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nContent-Length: 1000000000000000000\r\n",
		    GW_HTTP_BAD },
		{ "POST / HTTP/1.1",
		    "Host: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1",
		    "Host: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.0", "Transfer-Encoding: chunked\r\n", GW_HTTP_BAD },
		{ "POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: gzip\r\n",
		    GW_HTTP_UNSUPPORTED_CODING },
		{ "POST / HTTP/1.1", "Host: h\r\nTransfer-Encoding: gzip, chunked\r\n",
		    GW_HTTP_UNSUPPORTED_CODING },
		{ "POST / HTTP/1.1",
		    "Host: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		    GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "X-Host: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: a\r\nHost: b\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1", "Host: a\r\nhost: a\r\n", GW_HTTP_BAD },
	};
	refusals_check(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_refused_request_line(void **state)
{
	static const refusal cases[] = {
		{ "GET / HTTP/2.0", "Host: h\r\n", GW_HTTP_BAD_VERSION },
		{ "GET / HTTP/1.2", "Host: h\r\n", GW_HTTP_BAD_VERSION },
		{ "GET / HTTP/0.9", "Host: h\r\n", GW_HTTP_BAD_VERSION },
		{ "GET / HTTP/1.x", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.10", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET / http/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET / HTTP/1.1 ", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /  HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET  / HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ " GET / HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /", "Host: h\r\n", GW_HTTP_BAD },
		{ "G@T / HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET a/b HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET ?x HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET ** HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET ftp://h/x HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /a#frag HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /a\x01 HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /a\x7f HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /caf\xc3\xa9 HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
		{ "GET /a\tb HTTP/1.1", "Host: h\r\n", GW_HTTP_BAD },
	};
	refusals_check(cases, sizeof(cases) / sizeof(cases[0]));
}

/* "GET <target of n bytes> HTTP/1.1\r\nHost: h\r\n\r\n" in buf; its length. */
static size_t long_target_request(char *buf, size_t n)
{
	size_t len = 0;
	memcpy(buf, "GET /", 5);
	len = 5;
	memset(buf + len, 'a', n - 1);
	len += n - 1;
	static const char rest[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
	memcpy(buf + len, rest, sizeof(rest) - 1);
	return len + sizeof(rest) - 1;
}

static void test_long_target(void **state)
{
	gw_http_head h;
	static char req[GW_HTTP_TARGET_MAX + 64];
	size_t n = long_target_request(req, GW_HTTP_TARGET_MAX);
	assert_int_equal(parse_n(req, n, MAX_HEAD, &h), GW_HTTP_OK);
	assert_int_equal(strlen(h.path), GW_HTTP_TARGET_MAX);
	n = long_target_request(req, GW_HTTP_TARGET_MAX + 1);
	assert_int_equal(parse_n(req, n, MAX_HEAD, &h), GW_HTTP_URI_TOO_LONG);
	/* a request line longer than max_head: 414 once max_head bytes are in */
	assert_int_equal(parse_n(req, 63, 64, &h), GW_HTTP_INCOMPLETE);
	assert_int_equal(parse_n(req, 64, 64, &h), GW_HTTP_URI_TOO_LONG);
	assert_int_equal(parse_n(req, n, 64, &h), GW_HTTP_URI_TOO_LONG);
}

static void test_head_too_large(void **state)
{
	gw_http_head h;
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: 0123456789abcdef\r\n\r\n";
	size_t n = sizeof(req) - 1;
	assert_int_equal(parse_n(req, n, n, &h), GW_HTTP_OK);
	assert_int_equal(h.head_len, n);
	assert_int_equal(parse_n(req, n, n - 1, &h), GW_HTTP_HEAD_TOO_LARGE);
	assert_int_equal(parse_n(req, n - 1, n - 1, &h), GW_HTTP_HEAD_TOO_LARGE);
	assert_int_equal(parse_n(req, 30, 32, &h), GW_HTTP_INCOMPLETE);
	assert_int_equal(parse_n(req, 32, 32, &h), GW_HTTP_HEAD_TOO_LARGE);
	/* leading empty lines count against max_head */
	static const char led[] = "\r\n\r\nGET / HTTP/1.0\r\n\r\n";
	assert_int_equal(parse_n(led, sizeof(led) - 1, sizeof(led) - 1, &h), GW_HTTP_OK);
	assert_int_equal(
	    parse_n(led, sizeof(led) - 1, sizeof(led) - 2, &h), GW_HTTP_HEAD_TOO_LARGE);
}

/* "GET / HTTP/1.1" with a Host and `extra` further headers. */
static size_t many_headers_request(char *buf, size_t size, size_t extra)
{
	size_t len = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (size_t i = 0; i < extra; i++)
		len += (size_t)snprintf(buf + len, size - len, "X-%zu: %zu\r\n", i, i);
	len += (size_t)snprintf(buf + len, size - len, "\r\n");
	assert_true(len < size);
	return len;
}

static void test_too_many_headers(void **state)
{
	gw_http_head h;
	char req[4096];
	size_t n = many_headers_request(req, sizeof(req), GW_HTTP_MAX_HEADERS - 1);
	assert_int_equal(parse_n(req, n, MAX_HEAD, &h), GW_HTTP_OK);
	assert_int_equal(h.nheaders, GW_HTTP_MAX_HEADERS);
	assert_string_equal(h.headers[GW_HTTP_MAX_HEADERS - 1].name, "X-62");
	n = many_headers_request(req, sizeof(req), GW_HTTP_MAX_HEADERS);
	assert_int_equal(parse_n(req, n, MAX_HEAD, &h), GW_HTTP_HEAD_TOO_LARGE);
}

/* Parses s (n bytes) in a child process, so a fault or a sanitizer report
 * fails this test instead of ending the program: true when the child
 * finished and got one of want1, want2. */
static bool parse_in_child(
    const char *s, size_t n, size_t max_head, gw_http_result want1, gw_http_result want2)
{
	char *buf = guarded_copy(s, n);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		/* a fault kills the child (cmocka's handler would run on) */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		gw_http_head h;
		gw_http_result r = gw_http_head_parse(buf, n, max_head, &h);
		_exit(r == want1 || r == want2 ? 0 : 1);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* More leading empty lines than max_head, all arrived: refused, without a
 * read past the buffer (fails until gw_http_head_parse bounds the search
 * for the request line's end when the empty lines pass max_head). */
static void test_leading_empty_lines_over_max_head(void **state)
{
	char crlf[64];
	for (size_t i = 0; i < sizeof(crlf); i += 2)
		memcpy(crlf + i, "\r\n", 2);
	assert_true(parse_in_child(crlf, 32, 32, GW_HTTP_HEAD_TOO_LARGE, GW_HTTP_URI_TOO_LONG));
	assert_true(parse_in_child(crlf, 40, 32, GW_HTTP_HEAD_TOO_LARGE, GW_HTTP_URI_TOO_LONG));
	assert_true(
	    parse_in_child(crlf, sizeof(crlf), 16, GW_HTTP_HEAD_TOO_LARGE, GW_HTTP_URI_TOO_LONG));
}

/* Decodes body[0..n) in one piece into a guarded copy. */
static gw_http_result decode(
    const char *body, size_t n, size_t max_body, gw_http_chunked *c, char **out)
{
	*out = guarded_copy(body, n);
	memset(c, 0, sizeof(*c));
	return gw_http_chunked_decode(*out, n, max_body, c);
}

static const char k_chunked[] = "5;ext=1\r\nhello\r\n6\r\n world\r\nA;a=b;c=\"d\"\r\n0123456789\r\n"
                                "0;last\r\nX-Trailer: t\r\nY: u\r\n\r\nNEXT";
static const char k_chunked_ext[]
    = "5\r\nhello\r\n6 ; x\r\n world\r\na\r\n0123456789\r\n0\r\nX: t\r\n\r\nNEXT";
#define K_DECODED "hello world0123456789"

static void test_chunked_decode(void **state)
{
	static const char *bodies[] = { k_chunked, k_chunked_ext };
	gw_http_chunked c;
	char *out;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(bodies[i]);
		assert_int_equal(decode(bodies[i], n, 1024, &c, &out), GW_HTTP_OK);
		assert_true(c.done);
		assert_int_equal(c.in_pos, n - 4);
		assert_int_equal(c.out_len, strlen(K_DECODED));
		assert_memory_equal(out, K_DECODED, c.out_len);
		assert_memory_equal(out + c.in_pos, "NEXT", 4); /* what follows is kept */
	}
	/* an empty body, and exactly max_body */
	assert_int_equal(decode("0\r\n\r\n", 5, 0, &c, &out), GW_HTTP_OK);
	assert_int_equal(c.out_len, 0);
	assert_int_equal(c.in_pos, 5);
	assert_int_equal(decode(k_chunked, sizeof(k_chunked) - 1, 21, &c, &out), GW_HTTP_OK);
	assert_int_equal(decode("000000000000001\r\nx\r\n0\r\n\r\n", 25, 1, &c, &out), GW_HTTP_OK);
	assert_memory_equal(out, "x", 1);
}

/* Feeds body in two pieces at every split point, then byte by byte into one
 * buffer: each time the same result as in one piece. */
static void chunked_resume_check(const char *body, size_t n)
{
	static char src[1024];
	assert_true(n <= sizeof(src));
	gw_http_chunked whole, c;
	char *out;
	gw_http_result want = decode(body, n, 1024, &whole, &out);
	assert_int_equal(want, GW_HTTP_OK);
	for (size_t k = 0; k <= n; k++) {
		char *buf = guarded_copy(body, k);
		memset(&c, 0, sizeof(c));
		gw_http_result r = gw_http_chunked_decode(buf, k, 1024, &c);
		assert_true(r == GW_HTTP_INCOMPLETE || (r == GW_HTTP_OK && k >= whole.in_pos));
		/* more arrives: the buffer grows, the decoded part moves with it */
		memcpy(src, buf, k);
		memcpy(src + k, body + k, n - k);
		buf = guarded_copy(src, n);
		assert_int_equal(gw_http_chunked_decode(buf, n, 1024, &c), GW_HTTP_OK);
		assert_int_equal(c.in_pos, whole.in_pos);
		assert_int_equal(c.out_len, whole.out_len);
		assert_memory_equal(buf, K_DECODED, c.out_len);
	}
	char *buf = guarded_copy(body, n);
	memset(&c, 0, sizeof(c));
	for (size_t k = 0; k < whole.in_pos; k++)
		assert_int_equal(gw_http_chunked_decode(buf, k, 1024, &c), GW_HTTP_INCOMPLETE);
	assert_int_equal(gw_http_chunked_decode(buf, n, 1024, &c), GW_HTTP_OK);
	assert_int_equal(c.in_pos, whole.in_pos);
	assert_memory_equal(buf, K_DECODED, c.out_len);
}

static void test_chunked_resumable(void **state)
{
	chunked_resume_check(k_chunked, sizeof(k_chunked) - 1);
	chunked_resume_check(k_chunked_ext, sizeof(k_chunked_ext) - 1);
}

static void test_chunked_refusals(void **state)
{
	static const struct {
		const char *body;
		size_t max_body;
		gw_http_result want;
	} cases[] = {
		{ "g\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ " 5\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5x\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "-5\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "0x5\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5;a\x01\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhelloX0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhello\rX0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhello world\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "0\r\nX: a\x01\r\n\r\n", 64, GW_HTTP_BAD },
		{ "0000000000000001\r\nx\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "1000000000000000\r\nx\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "fffffffffffffff\r\nx\r\n0\r\n\r\n", 64, GW_HTTP_BODY_TOO_LARGE },
		{ "b\r\nhello world\r\n0\r\n\r\n", 10, GW_HTTP_BODY_TOO_LARGE },
		{ "5\r\nhello\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", 10, GW_HTTP_BODY_TOO_LARGE },
		{ "1\r\n", 0, GW_HTTP_BODY_TOO_LARGE }, /* known before the data */
		/* bare LF anywhere in the framing (request smuggling) */
		{ "5\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhello\n0\r\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhello\r\n0\n\r\n", 64, GW_HTTP_BAD },
		{ "5\r\nhello\r\n0\r\n\n", 64, GW_HTTP_BAD },
		{ "0\r\nX: t\n\r\n", 64, GW_HTTP_BAD },
		{ "\n5\r\nhello\r\n0\r\n\r\n", 64, GW_HTTP_BAD },
	};
	gw_http_chunked c;
	char *out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gw_http_result r
		    = decode(cases[i].body, strlen(cases[i].body), cases[i].max_body, &c, &out);
		if (r != cases[i].want)
			print_error("case %zu: got %d\n", i, (int)r);
		assert_int_equal(r, cases[i].want);
		assert_non_null(c.error);
	}
}

/* A chunk size line: "5;" then extension bytes up to n, then CRLF + data. */
static size_t long_size_line(char *buf, size_t n)
{
	memcpy(buf, "5;", 2);
	memset(buf + 2, 'e', n - 2);
	static const char rest[] = "\r\nhello\r\n0\r\n\r\n";
	memcpy(buf + n, rest, sizeof(rest) - 1);
	return n + sizeof(rest) - 1;
}

static void test_chunked_size_line_limit(void **state)
{
	static char body[4096];
	gw_http_chunked c;
	char *out;
	size_t n = long_size_line(body, 1000);
	assert_int_equal(decode(body, n, 64, &c, &out), GW_HTTP_OK);
	assert_memory_equal(out, "hello", 5);
	/* a line with no end in sight: refused once past the limit */
	assert_int_equal(decode(body, 1000, 64, &c, &out), GW_HTTP_INCOMPLETE);
	n = long_size_line(body, 2000);
	assert_int_equal(decode(body, 1500, 64, &c, &out), GW_HTTP_BAD);
	/* the same line in one piece gets the same answer (fails until
	 * chunk_size also bounds a line whose end has arrived) */
	assert_int_equal(decode(body, n, 64, &c, &out), GW_HTTP_BAD);
}

static void test_chunked_trailer_limit(void **state)
{
	static char body[GUARDED_MAX];
	gw_http_chunked c;
	char *out;
	size_t n = 0;
	memcpy(body, "0\r\n", 3);
	n = 3;
	while (n < 9000) {
		memcpy(body + n, "X-Trailer: 0123456789abcdef0123456789abcdef0123456789\r\n", 55);
		n += 55;
	}
	memcpy(body + n, "\r\n", 2);
	n += 2;
	assert_int_equal(decode(body, n, 64, &c, &out), GW_HTTP_BAD);
	assert_int_equal(decode(body, 8500, 64, &c, &out), GW_HTTP_BAD);
}

static void test_list_has(void **state)
{
	assert_true(gw_http_list_has("Keep-Alive, Upgrade", "keep-alive"));
	assert_true(gw_http_list_has("Keep-Alive, Upgrade", "upgrade"));
	assert_true(gw_http_list_has(" close ", "close"));
	assert_true(gw_http_list_has(",,a , \tclose\t,,", "close"));
	assert_true(gw_http_list_has("x,CLOSE", "close"));
	assert_false(gw_http_list_has("closed", "close"));
	assert_false(gw_http_list_has("clos", "close"));
	assert_false(gw_http_list_has("a close", "close"));
	assert_false(gw_http_list_has("a,b", "a,b"));
	assert_false(gw_http_list_has("", "close"));
	assert_false(gw_http_list_has(NULL, "close"));
}

/* Parses req into a heap buffer A, copies it to B, rebases, then overwrites
 * and frees A: h must read the same strings from B. */
static void rebase_check(const char *req, gw_http_head *h, char **copy)
{
	size_t n = strlen(req);
	char *a = malloc(n);
	char *b = malloc(n);
	assert_non_null(a);
	assert_non_null(b);
	memcpy(a, req, n);
	assert_int_equal(gw_http_head_parse(a, n, MAX_HEAD, h), GW_HTTP_OK);
	memcpy(b, a, n);
	gw_http_head_rebase(h, a, n, b);
	memset(a, 'Z', n);
	free(a);
	*copy = b;
}

static bool inside(const char *p, const char *buf, size_t n)
{
	return p >= buf && p < buf + n;
}

static void test_rebase(void **state)
{
	gw_http_head h;
	char *b;
	rebase_check("POST /v1/x?q=1 HTTP/1.1\r\nHost: h\r\nX-A:  v \r\n\r\n", &h, &b);
	assert_string_equal(h.method, "POST");
	assert_string_equal(h.path, "/v1/x");
	assert_string_equal(h.query, "q=1");
	assert_string_equal(h.headers[0].name, "Host");
	assert_string_equal(h.headers[0].value, "h");
	assert_string_equal(h.headers[1].name, "X-A");
	assert_string_equal(h.headers[1].value, "v");
	assert_true(inside(h.method, b, h.head_len) && inside(h.path, b, h.head_len));
	assert_true(inside(h.headers[1].value, b, h.head_len));
	free(b);
	/* absolute-form without a path: "/" is not in the buffer and stays */
	rebase_check("GET http://example.com HTTP/1.0\r\n\r\n", &h, &b);
	assert_string_equal(h.method, "GET");
	assert_string_equal(h.path, "/");
	assert_null(h.query);
	assert_false(inside(h.path, b, h.head_len));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incomplete_until_blank_line),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_query_forms),
		cmocka_unit_test(test_absolute_form_and_star),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_keep_alive_close_wins),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_body_framing),
		cmocka_unit_test(test_refused_header_lines),
		cmocka_unit_test(test_refused_framing),
		cmocka_unit_test(test_refused_request_line),
		cmocka_unit_test(test_long_target),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_leading_empty_lines_over_max_head),
		cmocka_unit_test(test_chunked_decode),
		cmocka_unit_test(test_chunked_resumable),
		cmocka_unit_test(test_chunked_refusals),
		cmocka_unit_test(test_chunked_size_line_limit),
		cmocka_unit_test(test_chunked_trailer_limit),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_rebase),
	};
	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
