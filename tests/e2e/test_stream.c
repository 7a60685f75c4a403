/* GET /v1/stream end to end (docs/architecture.md, "The live stream"):
 * events in order with their ids; heartbeat comment lines; who sees what
 * (tenant, customer: own tickets and public comments only, technician: no
 * ticket events, articles for staff); Last-Event-ID resumes without loss or repetition after a
 * disconnect and after the gateway restarted (it then replays from
 * events.since); a client that does not read gets `event: reset` and is
 * closed; the per-user cap; bad ids; hd_sse_connections. Stream tickets
 * (EventSource): single use, expiry, bound to their tenant, no bearer token;
 * a logout ends the streams of that token (event: reset), not another
 * session's; ?last_event_id= resumes like the header.
 * The runner's stack sets HD_SSE_HEARTBEAT_MS=500, HD_SSE_BUFFER_BYTES=16384
 * HD_SSE_TICKET_TTL_S=3 and keeps HD_SSE_MAX_PER_USER at 8. Environment: tickets_e2e.h, plus
 * HD_GATEWAY_ADMIN_PORT and HD_TEST_STACK_CTL. The SSE client is raw TCP,
 * so the test controls when it reads. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "hd/redis.h"
#include "tickets_e2e.h"

#define SSE_BUF 65536

typedef struct sse_client {
	int fd;
	char buf[SSE_BUF];
	size_t len;
	bool eof;
} sse_client;

typedef struct sse_frame {
	char id[64];
	char event[64];
	char *data; /* malloc'ed, NULL for a comment */
	bool comment;
} sse_frame;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The port of HD_TEST_BASE_URL ("http://127.0.0.1:PORT"). */
static int base_port(void)
{
	const char *base = httpc_env("HD_TEST_BASE_URL");
	const char *colon = strrchr(base, ':');
	return colon != NULL ? atoi(colon + 1) : 0;
}

/* Opens target (the path and query) as token (Last-Event-ID last when not
 * NULL); rcvbuf > 0 shrinks the socket's receive buffer first. Returns the
 * status of the answer's head; on 200 c is ready to read frames. */
static int sse_open_at(
    sse_client *c, const char *target, const char *token, const char *last, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)base_port()) };
	char req[4096];
	memset(c, 0, sizeof(*c));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int n = snprintf(req, sizeof req,
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n", target);
	if (token != NULL)
		n += snprintf(
		    req + n, sizeof req - (size_t)n, "Authorization: Bearer %s\r\n", token);
	if (last != NULL)
		n += snprintf(req + n, sizeof req - (size_t)n, "Last-Event-ID: %s\r\n", last);
	n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
	assert_int_equal(write(c->fd, req, (size_t)n), n);
	/* the head */
	int64_t until = now_ms() + 5000;
	char *end = NULL;
	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL && now_ms() < until) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
		if (got <= 0)
			break;
		c->len += (size_t)got;
	}
	assert_non_null(end);
	int status = atoi(c->buf + 9);
	if (status == 200) {
		c->buf[c->len] = '\0';
		assert_non_null(strstr(c->buf, "Content-Type: text/event-stream\r\n"));
	}
	size_t head = (size_t)(end + 4 - c->buf);
	memmove(c->buf, c->buf + head, c->len - head);
	c->len -= head;
	return status;
}

static int sse_open(sse_client *c, const char *token, const char *last, int rcvbuf)
{
	return sse_open_at(c, "/v1/stream", token, last, rcvbuf);
}

static void sse_close(sse_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Reads the next frame within ms; false on timeout or end of stream. */
static bool sse_next(sse_client *c, int ms, sse_frame *f)
{
	int64_t until = now_ms() + ms;
	memset(f, 0, sizeof(*f));
	for (;;) {
		char *end = memmem(c->buf, c->len, "\n\n", 2);
		if (end != NULL) {
			*end = '\0';
			f->comment = c->buf[0] == ':';
			for (char *line = c->buf; line != NULL && line < end;) {
				char *nl = strchr(line, '\n');
				if (nl != NULL)
					*nl = '\0';
				if (strncmp(line, "id: ", 4) == 0)
					snprintf(f->id, sizeof f->id, "%s", line + 4);
				else if (strncmp(line, "event: ", 7) == 0)
					snprintf(f->event, sizeof f->event, "%s", line + 7);
				else if (strncmp(line, "data: ", 6) == 0)
					f->data = strdup(line + 6);
				line = nl != NULL ? nl + 1 : NULL;
			}
			size_t used = (size_t)(end + 2 - c->buf);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return true;
		}
		int64_t left = until - now_ms();
		if (c->eof || left <= 0)
			return false;
		struct pollfd p = { c->fd, POLLIN, 0 };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		assert_true(c->len < sizeof(c->buf) - 1);
		ssize_t got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
		if (got <= 0)
			c->eof = true;
		else
			c->len += (size_t)got;
	}
}

/* The next event (comments skipped) within ms; its parsed data in *json. */
static bool sse_event(sse_client *c, int ms, sse_frame *f, cJSON **json)
{
	int64_t until = now_ms() + ms;
	for (;;) {
		int left = (int)(until - now_ms());
		if (left <= 0 || !sse_next(c, left, f))
			return false;
		if (!f->comment) {
			*json = f->data != NULL ? cJSON_Parse(f->data) : NULL;
			return true;
		}
	}
}

/* Expects the next event to be type about the ticket subject (for ticket.*)
 * or the comment body (comment.added); copies its id into id when not NULL. */
static void expect_event(sse_client *c, const char *type, const char *text, char *id)
{
	sse_frame f;
	cJSON *ev = NULL;
	assert_true(sse_event(c, 5000, &f, &ev));
	if (strcmp(f.event, type) != 0)
		fprintf(stderr, "expected %s, got %s: %s\n", type, f.event, f.data ? f.data : "");
	assert_string_equal(f.event, type);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "type"), type);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
	const char *key = strcmp(type, "comment.added") == 0 ? "body"
	    : strncmp(type, "article.", 8) == 0              ? "title"
	                                                     : "subject";
	const char *got = jstr(data, key);
	assert_non_null(got);
	assert_string_equal(got, text);
	assert_true(f.id[0] != '\0');
	if (id != NULL)
		snprintf(id, 64, "%s", f.id);
	cJSON_Delete(ev);
	free(f.data);
}

/* No event within ms (heartbeats may come). */
static void expect_quiet(sse_client *c, int ms)
{
	sse_frame f;
	cJSON *ev = NULL;
	bool got = sse_event(c, ms, &f, &ev);
	if (got)
		fprintf(stderr, "unexpected %s: %s\n", f.event, f.data ? f.data : "");
	assert_false(got);
}

static void comment_new(const char *token, const char *ticket, const char *body, bool pub)
{
	char path[128], json[256];
	tk_path(path, sizeof path, ticket, "/comments");
	snprintf(
	    json, sizeof json, "{\"body\":\"%s\",\"public\":%s}", body, pub ? "true" : "false");
	expect(201, "POST", path, token, json);
}

static void test_order_heartbeat_metric(void **state)
{
	(void)state;
	sse_client c;
	sse_frame f;
	char url[128], id[5][64], subject[32];
	assert_int_equal(sse_open(&c, W.admin, NULL, 0), 200);
	/* a comment line comes every HD_SSE_HEARTBEAT_MS (500 ms here) */
	assert_true(sse_next(&c, 3000, &f));
	assert_true(f.comment);
	snprintf(
	    url, sizeof url, "http://127.0.0.1:%s/metrics", httpc_env("HD_GATEWAY_ADMIN_PORT"));
	assert_true(httpc_metric(url, "hd_sse_connections") >= 1);
	for (int i = 0; i < 5; i++) {
		char tid[37];
		snprintf(subject, sizeof subject, "order %d", i);
		ticket_new_id(W.agent, subject, tid);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(subject, sizeof subject, "order %d", i);
		expect_event(&c, "ticket.created", subject, id[i]);
		if (i > 0)
			assert_string_not_equal(id[i], id[i - 1]);
	}
	sse_close(&c);
}

static void test_who_sees_what(void **state)
{
	(void)state;
	sse_client admin, agent, cust1, cust2, tech, other;
	char ticket[37], body[160];
	assert_int_equal(sse_open(&admin, W.admin, NULL, 0), 200);
	assert_int_equal(sse_open(&agent, W.agent, NULL, 0), 200);
	assert_int_equal(sse_open(&cust1, W.cust1, NULL, 0), 200);
	assert_int_equal(sse_open(&cust2, W.cust2, NULL, 0), 200);
	assert_int_equal(sse_open(&tech, W.tech, NULL, 0), 200);
	assert_int_equal(sse_open(&other, W.demo, NULL, 0), 200);
	/* an agent opens a ticket for cust1, then notes and replies */
	snprintf(
	    body, sizeof body, "{\"subject\":\"for cust1\",\"requester_id\":\"%s\"}", W.cust1_id);
	cJSON *t = ticket_new(W.agent, body);
	snprintf(ticket, sizeof ticket, "%s", jstr(t, "id"));
	cJSON_Delete(t);
	comment_new(W.agent, ticket, "internal note", false);
	comment_new(W.agent, ticket, "public reply", true);
	ticket_new_id(W.cust2, "cust2 marker", body);
	for (sse_client *s = &admin; s != NULL; s = s == &admin ? &agent : NULL) {
		expect_event(s, "ticket.created", "for cust1", NULL);
		expect_event(s, "comment.added", "internal note", NULL);
		expect_event(s, "comment.added", "public reply", NULL);
		expect_event(s, "ticket.created", "cust2 marker", NULL);
	}
	/* an article (another source, hd-knowledge): staff only */
	expect(
	    201, "POST", "/v1/kb/articles", W.agent, "{\"title\":\"sse article\",\"body\":\"b\"}");
	expect_event(&admin, "article.created", "sse article", NULL);
	expect_event(&agent, "article.created", "sse article", NULL);
	/* the customer: their ticket and the public reply, never the note */
	expect_event(&cust1, "ticket.created", "for cust1", NULL);
	expect_event(&cust1, "comment.added", "public reply", NULL);
	/* the other customer: nothing of cust1's, then their own */
	expect_event(&cust2, "ticket.created", "cust2 marker", NULL);
	/* another tenant's admin and a technician: none of these */
	expect_quiet(&other, 1000);
	expect_quiet(&tech, 100);
	expect_quiet(&cust1, 100);
	sse_client *all[] = { &admin, &agent, &cust1, &cust2, &tech, &other };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sse_close(all[i]);
}

static void test_resume_after_disconnect(void **state)
{
	(void)state;
	sse_client c;
	char id1[64], id3[64], tid[37];
	assert_int_equal(sse_open(&c, W.admin, NULL, 0), 200);
	ticket_new_id(W.admin, "resume 1", tid);
	expect_event(&c, "ticket.created", "resume 1", id1);
	sse_close(&c);
	ticket_new_id(W.admin, "resume 2", tid);
	ticket_new_id(W.admin, "resume 3", tid);
	assert_int_equal(sse_open(&c, W.admin, id1, 0), 200);
	expect_event(&c, "ticket.created", "resume 2", NULL);
	expect_event(&c, "ticket.created", "resume 3", id3);
	sse_close(&c);
	/* from the last id: nothing again, then what is new */
	assert_int_equal(sse_open(&c, W.admin, id3, 0), 200);
	ticket_new_id(W.admin, "resume 4", tid);
	expect_event(&c, "ticket.created", "resume 4", NULL);
	sse_close(&c);
}

static void stackctl(const char *verb, const char *name)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s %s", httpc_env("HD_TEST_STACK_CTL"), verb, name);
	assert_int_equal(system(cmd), 0);
}

static void test_resume_after_gateway_restart(void **state)
{
	(void)state;
	sse_client c;
	char id1[64], tid[37];
	assert_int_equal(sse_open(&c, W.admin, NULL, 0), 200);
	ticket_new_id(W.admin, "restart 1", tid);
	expect_event(&c, "ticket.created", "restart 1", id1);
	sse_close(&c);
	ticket_new_id(W.admin, "restart 2", tid);
	stackctl("stop", "gateway");
	stackctl("start", "gateway");
	ticket_new_id(W.admin, "restart 3", tid);
	assert_int_equal(sse_open(&c, W.admin, id1, 0), 200);
	expect_event(&c, "ticket.created", "restart 2", NULL);
	expect_event(&c, "ticket.created", "restart 3", NULL);
	ticket_new_id(W.admin, "restart 4", tid);
	expect_event(&c, "ticket.created", "restart 4", NULL);
	sse_close(&c);
	/* the other programs' tokens were verified by the old gateway: nothing
	 * to redo, tokens are stateless */
}

static void test_slow_client_reset(void **state)
{
	(void)state;
	sse_client c;
	sse_frame f;
	char last[64] = "", tid[37], desc[4200], body[4400], subject[32];
	int created = 0, seen = 0;
	memset(desc, 'x', 4000);
	desc[4000] = '\0';
	/* a small receive window, and the test does not read while tickets of
	 * about 4 KiB each pass HD_SSE_BUFFER_BYTES (16 KiB) plus the sockets' */
	assert_int_equal(sse_open(&c, W.admin, NULL, 4096), 200);
	for (created = 0; created < 40; created++) {
		snprintf(body, sizeof body, "{\"subject\":\"slow %d\",\"description\":\"%s\"}",
		    created, desc);
		cJSON_Delete(ticket_new(W.admin, body));
	}
	bool reset = false;
	int64_t until = now_ms() + 15000;
	while (!c.eof && now_ms() < until && sse_next(&c, 3000, &f)) {
		if (strcmp(f.event, "reset") == 0) {
			reset = true;
			assert_true(f.id[0] == '\0'); /* the reset moves no position */
		} else if (!f.comment) {
			assert_false(reset); /* nothing after the reset */
			snprintf(subject, sizeof subject, "\"subject\":\"slow %d\"", seen++);
			assert_non_null(strstr(f.data, subject));
			snprintf(last, sizeof last, "%s", f.id);
		}
		free(f.data);
	}
	assert_true(reset);
	assert_true(c.eof); /* and the gateway closed */
	assert_true(seen > 0 && seen < created);
	sse_close(&c);
	/* resuming from the last id delivered brings the rest, in order */
	assert_int_equal(sse_open(&c, W.admin, last, 0), 200);
	for (; seen < created; seen++) {
		snprintf(subject, sizeof subject, "slow %d", seen);
		expect_event(&c, "ticket.created", subject, NULL);
	}
	sse_close(&c);
	(void)tid;
}

static void test_refusals_and_cap(void **state)
{
	(void)state;
	sse_client c, many[8];
	assert_int_equal(sse_open(&c, NULL, NULL, 0), 401);
	sse_close(&c);
	assert_int_equal(sse_open(&c, W.admin, "1.2.3", 0), 400);
	sse_close(&c);
	assert_int_equal(sse_open(&c, W.admin, "1.01.0.0", 0), 400);
	sse_close(&c);
	/* HD_SSE_MAX_PER_USER (8) open streams of one user; a ninth is 429 */
	for (int i = 0; i < 8; i++)
		assert_int_equal(sse_open(&many[i], W.cust2, NULL, 0), 200);
	assert_int_equal(sse_open(&c, W.cust2, NULL, 0), 429);
	sse_close(&c);
	sse_close(&many[0]);
	/* once one closed, another may open (the gateway notices the close) */
	int64_t until = now_ms() + 3000;
	int status = 0;
	while (now_ms() < until) {
		status = sse_open(&c, W.cust2, NULL, 0);
		sse_close(&c);
		if (status == 200)
			break;
		usleep(50 * 1000);
	}
	assert_int_equal(status, 200);
	for (int i = 1; i < 8; i++)
		sse_close(&many[i]);
}

/* POST /v1/stream/tickets as token: the ticket (malloc'ed) and its life. */
static char *ticket_take(const char *token, long *expires_in)
{
	httpc_resp r;
	assert_int_equal(req(&r, "POST", "/v1/stream/tickets", token, NULL), 201);
	const char *t = jstr(r.json, "ticket");
	assert_non_null(t);
	assert_int_equal(strlen(t), 43);
	long life = jnum(r.json, "expires_in");
	assert_true(life >= 1 && life <= 30);
	assert_string_equal(httpc_header(&r, "Cache-Control"), "no-store");
	if (expires_in != NULL)
		*expires_in = life;
	char *copy = strdup(t);
	httpc_resp_free(&r);
	return copy;
}

static int sse_open_ticket(sse_client *c, const char *ticket, const char *last_event_id)
{
	char target[256];
	int n = snprintf(target, sizeof target, "/v1/stream?ticket=%s", ticket);
	if (last_event_id != NULL)
		snprintf(target + n, sizeof target - (size_t)n, "&last_event_id=%s", last_event_id);
	return sse_open_at(c, target, NULL, NULL, 0);
}

static void test_ticket_single_use(void **state)
{
	(void)state;
	sse_client c, again;
	char tid[37], id1[64];
	char *ticket = ticket_take(W.agent, NULL);
	assert_int_equal(sse_open_ticket(&c, ticket, NULL), 200);
	ticket_new_id(W.admin, "by ticket 1", tid);
	expect_event(&c, "ticket.created", "by ticket 1", id1);
	/* the same ticket again: refused, even while its stream is open */
	assert_int_equal(sse_open_ticket(&again, ticket, NULL), 401);
	sse_close(&again);
	sse_close(&c);
	/* not a bearer token, and nothing that only looks like a ticket */
	assert_int_equal(sse_open(&again, ticket, NULL, 0), 401);
	sse_close(&again);
	assert_int_equal(
	    sse_open_ticket(&again, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL), 401);
	sse_close(&again);
	assert_int_equal(sse_open_ticket(&again, "short", NULL), 401);
	sse_close(&again);
	assert_int_equal(sse_open_at(&again, "/v1/stream?ticket=%zz", NULL, NULL, 0), 400);
	sse_close(&again);
	assert_int_equal(sse_open_at(&again, "/v1/stream?other=1", NULL, NULL, 0), 401);
	sse_close(&again);
	/* no token: no ticket */
	httpc_resp r;
	assert_int_equal(req(&r, "POST", "/v1/stream/tickets", NULL, NULL), 401);
	httpc_resp_free(&r);
	/* a fresh ticket resumes from ?last_event_id= (a new EventSource
	 * cannot send the header) */
	ticket_new_id(W.admin, "by ticket 2", tid);
	free(ticket);
	ticket = ticket_take(W.agent, NULL);
	assert_int_equal(sse_open_ticket(&c, ticket, id1), 200);
	expect_event(&c, "ticket.created", "by ticket 2", NULL);
	sse_close(&c);
	free(ticket);
	ticket = ticket_take(W.agent, NULL);
	assert_int_equal(sse_open_ticket(&c, ticket, "1.2.3"), 400);
	sse_close(&c);
	free(ticket);
}

static void test_ticket_expiry_and_tenant(void **state)
{
	(void)state;
	sse_client c, other;
	long life = 0;
	char tid[37];
	char *late = ticket_take(W.agent, &life);
	/* another tenant's ticket streams that tenant's events, never these */
	char *theirs = ticket_take(W.demo, NULL);
	assert_int_equal(sse_open_ticket(&other, theirs, NULL), 200);
	/* a customer's ticket keeps the customer's view */
	char *cust = ticket_take(W.cust2, NULL);
	assert_int_equal(sse_open_ticket(&c, cust, NULL), 200);
	ticket_new_id(W.agent, "not for cust2", tid);
	ticket_new_id(W.cust2, "cust2 by ticket", tid);
	expect_event(&c, "ticket.created", "cust2 by ticket", NULL);
	expect_quiet(&other, 500);
	sse_close(&c);
	sse_close(&other);
	/* past its life (HD_SSE_TICKET_TTL_S, 3 s here) a ticket is refused */
	usleep((useconds_t)(life + 1) * 1000 * 1000);
	assert_int_equal(sse_open_ticket(&c, late, NULL), 401);
	sse_close(&c);
	free(late);
	free(theirs);
	free(cust);
}

/* Reads until event: reset and the end of the stream, within ms. */
static void expect_reset_and_close(sse_client *c, int ms)
{
	sse_frame f;
	bool reset = false;
	int64_t until = now_ms() + ms;
	while (!c->eof && now_ms() < until && sse_next(c, (int)(until - now_ms()), &f)) {
		reset = reset || strcmp(f.event, "reset") == 0;
		free(f.data);
	}
	assert_true(reset);
	assert_true(c->eof);
}

static void test_logout_ends_streams(void **state)
{
	(void)state;
	sse_client bearer, by_ticket, other_session;
	char email[128], body[256], tid[37];
	char *refresh = NULL;
	snprintf(email, sizeof email, "agent@%s.test", W.slug);
	char *session = httpc_login(W.slug, email, TK_PASSWORD, &refresh);
	char *second = httpc_login(W.slug, email, TK_PASSWORD, NULL);
	assert_non_null(session);
	assert_non_null(second);
	assert_int_equal(sse_open(&bearer, session, NULL, 0), 200);
	char *ticket = ticket_take(session, NULL);
	assert_int_equal(sse_open_ticket(&by_ticket, ticket, NULL), 200);
	char *unused = ticket_take(session, NULL);
	assert_int_equal(sse_open(&other_session, second, NULL, 0), 200);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	expect(204, "POST", "/v1/auth/logout", session, body);
	/* both streams of the token end with event: reset, at once */
	expect_reset_and_close(&bearer, 3000);
	expect_reset_and_close(&by_ticket, 3000);
	/* a ticket taken before the logout is worth nothing after it */
	sse_client late;
	assert_int_equal(sse_open_ticket(&late, unused, NULL), 401);
	sse_close(&late);
	httpc_resp r;
	assert_int_equal(req(&r, "POST", "/v1/stream/tickets", session, NULL), 401);
	httpc_resp_free(&r);
	/* the user's other session streams on */
	ticket_new_id(W.admin, "after logout", tid);
	expect_event(&other_session, "ticket.created", "after logout", NULL);
	sse_close(&other_session);
	sse_close(&bearer);
	sse_close(&by_ticket);
	free(session);
	free(second);
	free(refresh);
	free(ticket);
	free(unused);
}

/* A user mark published while the gateway's subscription to the sessions
 * channel is down is lost (Redis pub/sub keeps nothing): once it has
 * subscribed again the gateway asks Redis about every stream's session. The
 * mark is written here without a message, then the subscription is cut
 * (CLIENT KILL TYPE pubsub), so only that check can end the stream. */
static void test_sessions_checked_after_resubscribe(void **state)
{
	(void)state;
	char uid[37], key[160], tid[37];
	char *token = user_login("cut-off", "agent", uid);
	httpc_resp r;
	char path[96];
	snprintf(path, sizeof path, "/v1/users/%s", uid);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	snprintf(tid, sizeof tid, "%s", jstr(r.json, "tenant_id"));
	httpc_resp_free(&r);
	sse_client c;
	assert_int_equal(sse_open(&c, token, NULL, 0), 200);
	const char *url = httpc_env("HD_TEST_REDIS_URL");
	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", tid, uid);
	assert_int_equal(
	    hd_redis_command_sync(url, 5, (const char *[]) { "SET", key, "1", "EX", "600" }, NULL),
	    HD_OK);
	/* no message was published: the stream goes on */
	ticket_new_id(W.admin, "before the cut", tid);
	expect_event(&c, "ticket.created", "before the cut", NULL);
	assert_int_equal(hd_redis_command_sync(
	                     url, 4, (const char *[]) { "CLIENT", "KILL", "TYPE", "pubsub" }, NULL),
	    HD_OK);
	expect_reset_and_close(&c, 10000);
	sse_close(&c);
	free(token);
}

/* Sets the user mark key of uid in tenant tid to value, without a message. */
static void user_off_set(const char *tid, const char *uid, const char *value)
{
	char key[160];
	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", tid, uid);
	assert_int_equal(hd_redis_command_sync(httpc_env("HD_TEST_REDIS_URL"), 5,
	                     (const char *[]) { "SET", key, value, "EX", "600" }, NULL),
	    HD_OK);
}

/* The check after a resubscribe asks about several streams at once (one
 * Redis call per tenant's streams): of streams of several sessions of two
 * tenants, exactly those whose user was deactivated ("1") or marked after
 * their token was issued (a millisecond mark) are reset; the others, in the
 * same tenant and in another, stream on. */
static void test_recheck_resets_only_ended(void **state)
{
	(void)state;
	char uid[3][37], tid[37], ticket_id[37], mark[24];
	static const char *const names[3] = { "recheck-off", "recheck-kept", "recheck-marked" };
	char *token[3];
	sse_client c[3], other;
	for (int i = 0; i < 3; i++) {
		token[i] = user_login(names[i], "agent", uid[i]);
		assert_int_equal(sse_open(&c[i], token[i], NULL, 0), 200);
	}
	assert_int_equal(sse_open(&other, W.demo, NULL, 0), 200);
	ticket_new_id(W.admin, "before the recheck", ticket_id);
	for (int i = 0; i < 3; i++)
		expect_event(&c[i], "ticket.created", "before the recheck", NULL);
	httpc_resp r;
	assert_int_equal(req(&r, "GET", "/v1/tenants/current", W.admin, NULL), 200);
	snprintf(tid, sizeof tid, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	user_off_set(tid, uid[0], "1");
	struct timespec wall; /* a mark now, in Unix ms: after the token was issued */
	clock_gettime(CLOCK_REALTIME, &wall);
	snprintf(mark, sizeof mark, "%lld",
	    (long long)wall.tv_sec * 1000 + (long long)(wall.tv_nsec / 1000000));
	user_off_set(tid, uid[2], mark);
	assert_int_equal(hd_redis_command_sync(httpc_env("HD_TEST_REDIS_URL"), 4,
	                     (const char *[]) { "CLIENT", "KILL", "TYPE", "pubsub" }, NULL),
	    HD_OK);
	expect_reset_and_close(&c[0], 10000);
	expect_reset_and_close(&c[2], 10000);
	ticket_new_id(W.admin, "after the recheck", ticket_id);
	expect_event(&c[1], "ticket.created", "after the recheck", NULL);
	ticket_new_id(W.demo, "other tenant after the recheck", ticket_id);
	expect_event(&other, "ticket.created", "other tenant after the recheck", NULL);
	for (int i = 0; i < 3; i++) {
		sse_close(&c[i]);
		free(token[i]);
	}
	sse_close(&other);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("sse");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_heartbeat_metric),
		cmocka_unit_test(test_who_sees_what),
		cmocka_unit_test(test_resume_after_disconnect),
		cmocka_unit_test(test_slow_client_reset),
		cmocka_unit_test(test_refusals_and_cap),
		cmocka_unit_test(test_ticket_single_use),
		cmocka_unit_test(test_ticket_expiry_and_tenant),
		cmocka_unit_test(test_logout_ends_streams),
		cmocka_unit_test(test_sessions_checked_after_resubscribe),
		cmocka_unit_test(test_recheck_resets_only_ended),
		cmocka_unit_test(test_resume_after_gateway_restart),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
