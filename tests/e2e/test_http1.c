/* End-to-end tests of the gateway's own HTTP/1.1 server (gateway/conn.c,
 * gateway/http1.c) over raw TCP sockets against the running stack:
 * pipelining (answers in order on one connection), keep-alive and close
 * rules of HTTP/1.0 and 1.1, HEAD framing, chunked bodies, 100-continue, the
 * refusals (problem+json, then the server closes), and clients that split
 * requests into single bytes or leave half-way.
 *
 * Every wait is bounded by poll() (RAW_WAIT_MS), so a gateway that does not
 * answer fails a test instead of hanging it; no test waits for the server's
 * 30 s / 60 s timeouts.
 *
 * Environment (set by the test runner): HD_TEST_BASE_URL
 * (http://127.0.0.1:PORT), HD_TEST_DEMO_TENANT, HD_MAX_BODY_BYTES (the
 * stack's body limit; config.def's default when unset). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "hd/uuid.h"
#include "httpc.h"

#define RAW_WAIT_MS 3000 /* longest wait for an answer or an EOF */
#define RAW_QUIET_MS 150 /* how long a connection must stay open and silent */
#define RAW_BUF (1024 * 1024)
#define RAW_BODY_MAX (512 * 1024)
#define RAW_CONNS 8
#define RAW_HEAD_MAX 16384 /* the gateway's limit on a request head */

static const char HEALTHZ[] = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";

/* ---- raw connections ---------------------------------------------------- */

/* One client connection and the bytes received but not yet consumed. */
typedef struct raw_conn {
	int fd;
	bool eof;
	size_t len;
	char buf[RAW_BUF];
} raw_conn;

/* One answer: head (status line and headers) and body, NUL-terminated. */
typedef struct raw_answer {
	int status;
	long content_length; /* -1: none */
	char head[8192];
	char body[RAW_BODY_MAX];
	size_t body_len;
} raw_answer;

/* The test's connections, closed by conns_teardown even after a failure. */
static raw_conn conns[RAW_CONNS];
static int conns_used;

static int conns_teardown(void **state)
{
	for (int i = 0; i < conns_used; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	conns_used = 0;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The gateway's address from HD_TEST_BASE_URL ("http://HOST:PORT"). */
static struct sockaddr_in gateway_addr(void)
{
	const char *base = httpc_env("HD_TEST_BASE_URL");
	char host[64];
	int port = 0;
	struct sockaddr_in a = { .sin_family = AF_INET };
	if (sscanf(base, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535)
		fail_msg("HD_TEST_BASE_URL is not http://HOST:PORT: %s", base);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		fail_msg("HD_TEST_BASE_URL's host is not an IPv4 address: %s", base);
	a.sin_port = htons((uint16_t)port);
	return a;
}

/* A new connection to the gateway, with Nagle off so every send leaves and
 * sends bounded by RAW_WAIT_MS; rcvbuf > 0 fixes the receive buffer (no
 * autotuning; before connect, as it sets the window). */
static raw_conn *raw_open_rcvbuf(int rcvbuf)
{
	if (conns_used == RAW_CONNS)
		fail_msg("more than %d connections in one test", RAW_CONNS);
	raw_conn *c = &conns[conns_used++];
	struct sockaddr_in a = gateway_addr();
	int one = 1;
	c->len = 0;
	c->eof = false;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	struct timeval tv = { RAW_WAIT_MS / 1000, (RAW_WAIT_MS % 1000) * 1000 };
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
	if (rcvbuf > 0)
		assert_int_equal(
		    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
		fail_msg("cannot connect to the gateway: %s", strerror(errno));
	return c;
}

static raw_conn *raw_open(void)
{
	return raw_open_rcvbuf(0);
}

static void raw_close(raw_conn *c)
{
	close(c->fd);
	c->fd = -1;
}

static void raw_send(raw_conn *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("send failed (within %d ms): %s", RAW_WAIT_MS, strerror(errno));
		data += n;
		len -= (size_t)n;
	}
}

static void raw_send_str(raw_conn *c, const char *s)
{
	raw_send(c, s, strlen(s));
}

/* Sends s one byte per send() call. */
static void raw_send_bytewise(raw_conn *c, const char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++)
		raw_send(c, s + i, 1);
}

/* Waits until deadline for more bytes: true when some came, false on EOF
 * (c->eof) or at the deadline. A reset or a full buffer fails the test. */
static bool raw_fill(raw_conn *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t left = deadline - now_ms();
	if (c->eof || left <= 0)
		return false;
	int rc = poll(&p, 1, (int)left);
	if (rc < 0 && errno == EINTR)
		return raw_fill(c, deadline);
	if (rc <= 0)
		return false;
	if (c->len == sizeof c->buf)
		fail_msg("more than %zu bytes unread", sizeof c->buf);
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
	if (n < 0)
		fail_msg("recv failed (a reset destroys answers): %s", strerror(errno));
	if (n == 0) {
		c->eof = true;
		return false;
	}
	c->len += (size_t)n;
	return true;
}

/* Drops the first n bytes of c's buffer. */
static void raw_consume(raw_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* The value of header name in a's head (a static buffer), or NULL. */
static const char *raw_header(const raw_answer *a, const char *name)
{
	static char value[1024];
	size_t nlen = strlen(name);
	for (const char *l = strstr(a->head, "\r\n"); l != NULL; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		snprintf(value, sizeof value, "%.*s", (int)vlen, v);
		return value;
	}
	return NULL;
}

/* Takes the head of the next answer from c (waiting for it): status line and
 * headers into a, the head's bytes consumed. */
static void raw_head_read(raw_conn *c, raw_answer *a)
{
	int64_t deadline = now_ms() + RAW_WAIT_MS;
	char *end;
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
		if (!raw_fill(c, deadline))
			fail_msg("no complete answer head within %d ms (%s); got %zu bytes: %.*s",
			    RAW_WAIT_MS, c->eof ? "EOF" : "timeout", c->len, (int)c->len, c->buf);
	size_t head_len = (size_t)(end - c->buf) + 4;
	if (head_len >= sizeof a->head)
		fail_msg("answer head of %zu bytes", head_len);
	memcpy(a->head, c->buf, head_len);
	a->head[head_len] = '\0';
	raw_consume(c, head_len);
	if (sscanf(a->head, "HTTP/1.1 %3d ", &a->status) != 1)
		fail_msg("not an HTTP/1.1 status line: %.80s", a->head);
	const char *cl = raw_header(a, "Content-Length");
	a->content_length = cl != NULL ? strtol(cl, NULL, 10) : -1;
}

/* Reads the next whole answer from c into a. With head_only (the answer to
 * a HEAD), no body is expected whatever Content-Length says. */
static void raw_answer_read(raw_conn *c, raw_answer *a, bool head_only)
{
	int64_t deadline = now_ms() + RAW_WAIT_MS;
	a->status = 0;
	a->body_len = 0;
	a->body[0] = '\0';
	raw_head_read(c, a);
	bool bodyless = head_only || a->status < 200 || a->status == 204 || a->status == 304;
	if (!bodyless && a->content_length < 0)
		fail_msg("a %d answer without Content-Length: %s", a->status, a->head);
	a->body_len = bodyless ? 0 : (size_t)a->content_length;
	if (a->body_len >= sizeof a->body)
		fail_msg("answer body of %zu bytes", a->body_len);
	while (c->len < a->body_len)
		if (!raw_fill(c, deadline))
			fail_msg("body cut short: %zu of %zu bytes (%s)", c->len, a->body_len,
			    c->eof ? "EOF" : "timeout");
	memcpy(a->body, c->buf, a->body_len);
	a->body[a->body_len] = '\0';
	raw_consume(c, a->body_len);
}

/* The server closes c: EOF within RAW_WAIT_MS, and no byte more. */
static void raw_expect_eof(raw_conn *c)
{
	int64_t deadline = now_ms() + RAW_WAIT_MS;
	while (raw_fill(c, deadline))
		;
	if (c->len > 0)
		fail_msg("%zu unexpected bytes before EOF: %.*s", c->len, (int)c->len, c->buf);
	if (!c->eof)
		fail_msg("the server did not close the connection within %d ms", RAW_WAIT_MS);
}

/* c stays open and silent for RAW_QUIET_MS. */
static void raw_expect_open(raw_conn *c)
{
	int64_t deadline = now_ms() + RAW_QUIET_MS;
	bool got = raw_fill(c, deadline);
	if (c->eof)
		fail_msg("the server closed a kept-alive connection");
	if (got || c->len > 0)
		fail_msg("unexpected bytes on an idle connection: %.*s", (int)c->len, c->buf);
}

/* ---- checks and requests ------------------------------------------------ */

/* A /healthz answer: 200, Date, a JSON body of Content-Length bytes, an id. */
static void healthz_check(const raw_answer *a)
{
	if (a->status != 200)
		fail_msg("GET /healthz: %d %s%s", a->status, a->head, a->body);
	assert_non_null(raw_header(a, "Date"));
	assert_true(a->content_length > 0);
	assert_int_equal(a->body_len, (size_t)a->content_length);
	assert_non_null(strstr(a->body, "\"status\":\"ok\""));
	assert_non_null(raw_header(a, "X-Request-Id"));
}

/* An RFC 9457 answer with status, its request_id the X-Request-Id. */
static void problem_check(const raw_answer *a, int status, const char *what)
{
	if (a->status != status)
		fail_msg("%s: want %d, got %d %s%s", what, status, a->status, a->head, a->body);
	const char *ct = raw_header(a, "Content-Type");
	if (ct == NULL || strcmp(ct, "application/problem+json") != 0)
		fail_msg("%s: Content-Type %s", what, ct != NULL ? ct : "(none)");
	cJSON *j = cJSON_Parse(a->body);
	if (j == NULL)
		fail_msg("%s: body is not JSON: %s", what, a->body);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(j, "request_id");
	const char *hdr = raw_header(a, "X-Request-Id");
	bool ok = cJSON_IsNumber(st) && (int)st->valuedouble == status && cJSON_IsString(rid)
	    && hdr != NULL && strcmp(rid->valuestring, hdr) == 0
	    && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "detail"));
	cJSON_Delete(j);
	if (!ok)
		fail_msg("%s: not a problem of status %d: %s", what, status, a->body);
}

/* A refusal: problem+json with status, "Connection: close", then EOF. */
static void refusal_check(raw_conn *c, int status, const char *what)
{
	raw_answer a;
	raw_answer_read(c, &a, false);
	problem_check(&a, status, what);
	const char *conn = raw_header(&a, "Connection");
	if (conn == NULL || strcasecmp(conn, "close") != 0)
		fail_msg("%s: Connection %s", what, conn != NULL ? conn : "(none)");
	raw_expect_eof(c);
}

/* A login body for an address nobody has in the demo tenant, so the
 * credentials are wrong (401) and no real user's failed logins are counted. */
static void login_body(char *out, size_t size)
{
	char id[HD_UUID_STRLEN + 1];
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	snprintf(out, size,
	    "{\"tenant\":\"%s\",\"email\":\"nobody-%s@e2e.test\",\"password\":\"not the one\"}",
	    httpc_env("HD_TEST_DEMO_TENANT"), id);
}

/* A login request with a Content-Length body (extra: more header lines). */
static void login_cl(char *out, size_t size, const char *body, const char *extra)
{
	snprintf(out, size,
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n%s\r\n%s",
	    strlen(body), extra, body);
}

/* The same request chunked: three chunks, the first with extensions, and a
 * trailer field. */
static void login_chunked(char *out, size_t size, const char *body)
{
	size_t len = strlen(body), a = len / 3, b = a;
	size_t c = len - a - b;
	snprintf(out, size,
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "%zx;part=one;note=\"first\"\r\n%.*s\r\n%zX\r\n%.*s\r\n%zx\r\n%s\r\n"
	    "0\r\nX-Checksum: none\r\n\r\n",
	    a, (int)a, body, b, (int)b, body + a, c, body + a + b);
}

/* Two problems alike: the same type, title, status, detail and errors. */
static void problems_alike(const raw_answer *x, const raw_answer *y)
{
	cJSON *jx = cJSON_Parse(x->body), *jy = cJSON_Parse(y->body);
	assert_non_null(jx);
	assert_non_null(jy);
	static const char *const keys[] = { "type", "title", "status", "detail", "errors" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const cJSON *vx = cJSON_GetObjectItemCaseSensitive(jx, keys[i]);
		const cJSON *vy = cJSON_GetObjectItemCaseSensitive(jy, keys[i]);
		if (vx == NULL && vy == NULL && strcmp(keys[i], "errors") == 0)
			continue;
		if (vx == NULL || vy == NULL || !cJSON_Compare(vx, vy, true))
			fail_msg("the answers differ on %s: %s / %s", keys[i], x->body, y->body);
	}
	cJSON_Delete(jx);
	cJSON_Delete(jy);
}

/* ---- pipelining and keep-alive ------------------------------------------ */

/* Two requests in one send: two answers in order, different ids, and the
 * connection stays open. */
static void test_pipelined_two(void **state)
{
	raw_conn *c = raw_open();
	char req[256], first[128];
	raw_answer a;
	snprintf(req, sizeof req, "%s%s", HEALTHZ, HEALTHZ);
	raw_send_str(c, req);
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	snprintf(first, sizeof first, "%s", raw_header(&a, "X-Request-Id"));
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	assert_string_not_equal(first, raw_header(&a, "X-Request-Id"));
	raw_expect_open(c);
}

/* Three requests in one send, each with an id of its own: the answers come
 * in the order of the requests. */
static void test_pipelined_three_in_order(void **state)
{
	raw_conn *c = raw_open();
	char req[1024], nonce[HD_UUID_STRLEN + 1], id[96];
	size_t n = 0;
	assert_int_equal(hd_uuid_v7(nonce), HD_OK);
	for (int i = 1; i <= 3; i++)
		n += (size_t)snprintf(req + n, sizeof req - n,
		    "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Request-Id: pipe-%d-%s\r\n\r\n", i,
		    nonce);
	raw_send_str(c, req);
	for (int i = 1; i <= 3; i++) {
		raw_answer a;
		raw_answer_read(c, &a, false);
		healthz_check(&a);
		snprintf(id, sizeof id, "pipe-%d-%s", i, nonce);
		assert_string_equal(raw_header(&a, "X-Request-Id"), id);
	}
	raw_expect_open(c);
}

/* Pipelined requests that get different answers, in order; the bodies of
 * the GETs (one with Content-Length, one chunked, both looking like request
 * lines) are skipped, not taken for requests. */
static void test_pipelined_mixed(void **state)
{
	raw_conn *c = raw_open();
	char req[512];
	raw_answer a;
	snprintf(req, sizeof req,
	    "GET /healthz HTTP/1.1\r\nHost: gw\r\nContent-Length: 14\r\n\r\nGET /nope HTTP"
	    "GET /v1/no/such/route HTTP/1.1\r\nHost: gw\r\n\r\n"
	    "GET /healthz HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nGET /\r\n0\r\n\r\n%s",
	    HEALTHZ);
	raw_send_str(c, req);
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	raw_answer_read(c, &a, false);
	problem_check(&a, 404, "GET /v1/no/such/route");
	assert_null(raw_header(&a, "Connection"));
	for (int i = 0; i < 2; i++) {
		raw_answer_read(c, &a, false);
		healthz_check(&a);
	}
	raw_expect_open(c);
}

/* Pipelined requests to a client that reads nothing until all are sent:
 * their answers (GET /v1/openapi.yaml, 8 MiB in all) outgrow what the sockets take
 * (a small fixed receive buffer here, at most net.ipv4.tcp_wmem's 4 MiB on
 * the gateway's side), wait in the gateway (its partial-send path), and
 * still come whole and in order. */
static void test_pipelined_backpressure(void **state)
{
	static raw_answer a;
	raw_conn *c = raw_open_rcvbuf(16384);
	raw_send_str(c, "GET /v1/openapi.yaml HTTP/1.1\r\nHost: gw\r\n\r\n");
	raw_answer_read(c, &a, false);
	assert_int_equal(a.status, 200);
	int n = (int)(8 * 1024 * 1024 / (a.body_len + 1)) + 1;
	n = n < 4000 ? n : 4000;
	size_t size = (size_t)n * 64, len = 0;
	char *req = malloc(size), id[32];
	assert_non_null(req);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, size - len,
		    "GET /v1/openapi.yaml HTTP/1.1\r\nHost: gw\r\nX-Request-Id: bp-%d\r\n\r\n", i);
	raw_send(c, req, len);
	free(req);
	struct timespec unread = { 0, 300 * 1000 * 1000 }; /* the gateway answers meanwhile */
	nanosleep(&unread, NULL);
	for (int i = 0; i < n; i++) {
		raw_answer_read(c, &a, false);
		if (a.status != 200)
			fail_msg("answer %d of %d: %s", i, n, a.head);
		snprintf(id, sizeof id, "bp-%d", i);
		assert_string_equal(raw_header(&a, "X-Request-Id"), id);
	}
	raw_expect_open(c);
}

/* Several requests one after the other on one connection. */
static void test_keep_alive(void **state)
{
	raw_conn *c = raw_open();
	char prev[128] = "";
	for (int i = 0; i < 5; i++) {
		raw_answer a;
		raw_send_str(c, HEALTHZ);
		raw_answer_read(c, &a, false);
		healthz_check(&a);
		assert_null(raw_header(&a, "Connection"));
		assert_string_not_equal(prev, raw_header(&a, "X-Request-Id"));
		snprintf(prev, sizeof prev, "%s", raw_header(&a, "X-Request-Id"));
		assert_int_equal(c->len, 0);
	}
	raw_expect_open(c);
}

/* HTTP/1.0 without Connection: the answer, then the server closes. */
static void test_http10_closes(void **state)
{
	raw_conn *c = raw_open();
	raw_answer a;
	raw_send_str(c, "GET /healthz HTTP/1.0\r\n\r\n");
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	assert_string_equal(raw_header(&a, "Connection"), "close");
	raw_expect_eof(c);
}

/* HTTP/1.0 with "Connection: keep-alive": said so in the answer, and the
 * connection takes another request. */
static void test_http10_keep_alive(void **state)
{
	raw_conn *c = raw_open();
	for (int i = 0; i < 2; i++) {
		raw_answer a;
		raw_send_str(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
		raw_answer_read(c, &a, false);
		healthz_check(&a);
		assert_string_equal(raw_header(&a, "Connection"), "keep-alive");
		raw_expect_open(c);
	}
}

/* "Connection: close" on 1.1: said in the answer, then EOF; a request
 * pipelined behind it is not answered. */
static void test_http11_close(void **state)
{
	raw_conn *c = raw_open();
	char req[256];
	raw_answer a;
	snprintf(req, sizeof req,
	    "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n%s", HEALTHZ);
	raw_send_str(c, req);
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	assert_string_equal(raw_header(&a, "Connection"), "close");
	raw_expect_eof(c);
}

/* HEAD: the headers of the GET answer, Content-Length included, and no
 * body: the answer to a GET pipelined behind it starts right after the head.
 * RFC 9110 §9.1: a server MUST support HEAD wherever it supports GET. */
static void test_head(void **state)
{
	raw_conn *c = raw_open();
	char req[256];
	raw_answer head, get;
	snprintf(req, sizeof req, "HEAD /healthz HTTP/1.1\r\nHost: gw\r\n\r\n%s", HEALTHZ);
	raw_send_str(c, req);
	raw_answer_read(c, &head, true);
	raw_answer_read(c, &get, false);
	healthz_check(&get);
	assert_true(head.content_length > 0);
	raw_expect_open(c);
	if (head.status != 200)
		fail_msg("HEAD /healthz: want 200 like GET, got %s", head.head);
	assert_int_equal(head.content_length, get.content_length);
	assert_string_equal(raw_header(&head, "Content-Type"), raw_header(&get, "Content-Type"));
}

/* ---- bodies ------------------------------------------------------------- */

/* A chunked body (3 chunks, an extension, a trailer) is the same request as
 * that body with Content-Length: both reach the auth daemon and get 401. */
static void test_chunked_body(void **state)
{
	raw_conn *c = raw_open();
	char body[256], req[1024];
	raw_answer by_length, by_chunks;
	login_body(body, sizeof body);
	login_cl(req, sizeof req, body, "");
	raw_send_str(c, req);
	raw_answer_read(c, &by_length, false);
	problem_check(&by_length, 401, "login with Content-Length");
	login_chunked(req, sizeof req, body);
	raw_send_str(c, req);
	raw_answer_read(c, &by_chunks, false);
	problem_check(&by_chunks, 401, "chunked login");
	problems_alike(&by_length, &by_chunks);
	raw_expect_open(c);
}

/* The same with a body of 40 KiB (a password too long: 422 naming it, so
 * the daemon read the whole body): the connection's buffer grows while the
 * body comes, after the head was parsed in it. */
static void test_chunked_large_body(void **state)
{
	size_t size = 48 * 1024, pad = 40 * 1024;
	char *body = malloc(size), *req = malloc(2 * size);
	raw_answer by_length, by_chunks;
	assert_non_null(body);
	assert_non_null(req);
	login_body(body, size);
	size_t n = strlen(body) - 2; /* before the closing quote and brace */
	memset(body + n, 'x', pad);
	snprintf(body + n + pad, size - n - pad, "\"}");
	raw_conn *c = raw_open();
	login_cl(req, 2 * size, body, "");
	raw_send_str(c, req);
	raw_answer_read(c, &by_length, false);
	login_chunked(req, 2 * size, body);
	raw_send_str(c, req);
	raw_answer_read(c, &by_chunks, false);
	free(body);
	free(req);
	if (by_length.status < 400 || by_length.status == 413 || by_length.status >= 500)
		fail_msg("login with a long password: %d %s", by_length.status, by_length.body);
	problem_check(&by_chunks, by_length.status, "chunked login with a long password");
	problems_alike(&by_length, &by_chunks);
}

/* "Expect: 100-continue": 100 Continue comes before the body is sent, the
 * final answer after it. */
static void test_expect_continue(void **state)
{
	raw_conn *c = raw_open();
	char body[256], req[1024];
	raw_answer a;
	login_body(body, sizeof body);
	login_cl(req, sizeof req, body, "Expect: 100-continue\r\n");
	raw_send(c, req, strlen(req) - strlen(body));
	raw_answer_read(c, &a, false);
	assert_int_equal(a.status, 100);
	assert_memory_equal(a.head, "HTTP/1.1 100 Continue\r\n", 23);
	assert_int_equal(c->len, 0);
	raw_send_str(c, body);
	raw_answer_read(c, &a, false);
	problem_check(&a, 401, "login after 100 Continue");
	raw_expect_open(c);
}

/* A request sent one byte per send() (no delay) is answered; then a chunked
 * one the same way on the same connection. */
static void test_bytewise(void **state)
{
	raw_conn *c = raw_open();
	char body[256], req[1024];
	raw_answer a;
	raw_send_bytewise(c, HEALTHZ);
	raw_answer_read(c, &a, false);
	healthz_check(&a);
	login_body(body, sizeof body);
	login_chunked(req, sizeof req, body);
	raw_send_bytewise(c, req);
	raw_answer_read(c, &a, false);
	problem_check(&a, 401, "chunked login sent byte by byte");
	raw_expect_open(c);
}

/* ---- refusals ----------------------------------------------------------- */

typedef struct refusal {
	const char *what;
	const char *request;
	int status;
} refusal;

static const refusal refusals[] = {
	{ "garbage request line", "GARBAGE\r\n\r\n", 400 },
	{ "obs-fold header", "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-A: one\r\n  two\r\n\r\n",
	    400 },
	{ "HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n", 400 },
	{ "Content-Length and Transfer-Encoding",
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    400 },
	{ "Transfer-Encoding: gzip",
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n",
	    501 },
	{ "HTTP/2.0 request line", "GET /healthz HTTP/2.0\r\nHost: gw\r\n\r\n", 505 },
	{ "chunk larger than the body limit",
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nffffffff\r\n",
	    413 },
};

/* Each refusal: problem+json with its status, Connection: close, EOF. */
static void test_refusals(void **state)
{
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		raw_conn *c = raw_open();
		raw_send_str(c, refusals[i].request);
		refusal_check(c, refusals[i].status, refusals[i].what);
		raw_close(c);
	}
}

/* prefix, 17 KiB of filler, suffix: refused with status. */
static void oversize_check(const char *prefix, const char *suffix, int status, const char *what)
{
	size_t fill = RAW_HEAD_MAX + 1024, n = strlen(prefix);
	char *req = malloc(n + fill + strlen(suffix) + 1);
	assert_non_null(req);
	memcpy(req, prefix, n);
	memset(req + n, 'q', fill);
	strcpy(req + n + fill, suffix);
	raw_conn *c = raw_open();
	raw_send_str(c, req);
	free(req);
	refusal_check(c, status, what);
}

/* A header section over 16 KiB: 431. */
static void test_head_too_large(void **state)
{
	oversize_check("GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Pad: ", "\r\n\r\n", 431,
	    "header section over 16 KiB");
}

/* A request line over 16 KiB: 414. */
static void test_request_line_too_long(void **state)
{
	oversize_check(
	    "GET /healthz?q=", " HTTP/1.1\r\nHost: gw\r\n\r\n", 414, "request line over 16 KiB");
}

/* A Content-Length over HD_MAX_BODY_BYTES: 413 from the head alone, before
 * any of the body is sent; with Expect: 100-continue, instead of 100. */
static void test_content_length_too_large(void **state)
{
	const char *env = getenv("HD_MAX_BODY_BYTES");
	long max = env != NULL && env[0] != '\0' ? strtol(env, NULL, 10) : 1048576;
	static const char *const expect[] = { "", "Expect: 100-continue\r\n" };
	char req[512];
	for (size_t i = 0; i < 2; i++) {
		snprintf(req, sizeof req,
		    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		    "%sContent-Length: %ld\r\n\r\n",
		    expect[i], max + 1);
		raw_conn *c = raw_open();
		raw_send_str(c, req);
		refusal_check(
		    c, 413, i == 0 ? "Content-Length over the limit" : "the same with Expect");
	}
}

/* ---- clients that leave ------------------------------------------------- */

/* Clients that send half a request and close (with a FIN or a reset), or
 * close while their request is being served, do not disturb the next
 * connection. */
static void test_half_request_then_close(void **state)
{
	char body[256], req[1024];
	struct linger rst = { 1, 0 };
	raw_conn *c = raw_open();
	raw_send_str(c, "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Half: ");
	raw_close(c);
	c = raw_open();
	login_body(body, sizeof body);
	login_cl(req, sizeof req, body, "");
	raw_send(c, req, strlen(req) - 10);
	raw_close(c);
	c = raw_open();
	raw_send_str(c, "GET /healthz HTTP/1.1\r\nHo");
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst), 0);
	raw_close(c);
	c = raw_open();
	raw_send_str(c, req); /* a whole login, gone before its answer comes */
	raw_close(c);

	c = raw_open();
	raw_answer a;
	raw_send_str(c, req);
	raw_answer_read(c, &a, false);
	problem_check(&a, 401, "login after clients left");
	raw_send_str(c, HEALTHZ);
	raw_answer_read(c, &a, false);
	healthz_check(&a);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, conns_teardown)
	const struct CMUnitTest tests[] = {
		T(test_pipelined_two),
		T(test_pipelined_three_in_order),
		T(test_pipelined_mixed),
		T(test_pipelined_backpressure),
		T(test_keep_alive),
		T(test_http10_closes),
		T(test_http10_keep_alive),
		T(test_http11_close),
		T(test_head),
		T(test_chunked_body),
		T(test_chunked_large_body),
		T(test_expect_continue),
		T(test_bytewise),
		T(test_refusals),
		T(test_head_too_large),
		T(test_request_line_too_long),
		T(test_content_length_too_large),
		T(test_half_request_then_close),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
