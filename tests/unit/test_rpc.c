/* Tests of libs/src/rpc.c: a real REP server on worker loops and a REQ client
 * in one process over ipc:// (private temp folder): round trips, malformed
 * envelopes, 1000 concurrent calls on 16 contexts all matched, deadlines,
 * no server, calls that wait for the link (peer calls), peer loss, graceful drain, late replies
 * after stop, load spread over two replicas behind one client, one replica's loss failing only the
 * calls in flight on it, and batching: calls gathered on a loop, answered each to its caller,
 * refused part by part while draining. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "hd/batch.h"
#include "hd/metrics.h"
#include "hd/rpc.h"
#include "hd/worker.h"
#include "nng_unit.h"
#include "../lib/freeport.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void url_for(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "ipc://%s/%s.ipc", g_dir, name);
}

/* ---- the server side: an echo handler with a few test operations ---- */

typedef struct server_state {
	const char *tag; /* answered by "test.tag" */
	hd_rpc_request *parked; /* held by "test.park" until the test replies */
	atomic_int handled;
} server_state;

static void reply_body(hd_rpc_request *req, int status, const char *body, size_t len)
{
	hd_reply r = { .version = 1, .status = status, .body = body, .body_len = len };
	assert_int_equal(hd_reply_add_header(&r, "X-Op", hd_rpc_request_envelope(req)->op), HD_OK);
	hd_rpc_request_reply(req, &r);
}

static void delayed_reply_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_rpc_request *req = arg;
	const hd_envelope *e = hd_rpc_request_envelope(req);
	reply_body(req, 200, e->body, e->body_len);
}

static void handler(hd_rpc_request *req, void *arg)
{
	server_state *st = arg;
	const hd_envelope *e = hd_rpc_request_envelope(req);
	atomic_fetch_add(&st->handled, 1);
	if (strcmp(e->op, "test.tag") == 0) {
		reply_body(req, 200, st->tag, strlen(st->tag));
	} else if (strcmp(e->op, "test.slow") == 0) {
		struct timeval tv = { 0, 200 * 1000 };
		event_base_once(hd_worker_base(hd_rpc_request_worker(req)), -1, EV_TIMEOUT,
		    delayed_reply_cb, req, &tv);
	} else if (strcmp(e->op, "test.park") == 0 && st->parked == NULL) {
		st->parked = req;
	} else if (strcmp(e->op, "test.park") == 0) {
		reply_body(req, 200, st->tag, strlen(st->tag));
	} else {
		reply_body(req, 200, e->body, e->body_len);
	}
}

static void reply_parked(void *arg)
{
	server_state *st = arg;
	reply_body(st->parked, 200, "late", 4);
	st->parked = NULL;
}

/* ---- the client side ---- */

typedef struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	hd_err err;
	char *raw;
	size_t len;
} waiter;

static void waiter_init(waiter *w)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

static void waiter_fini(waiter *w)
{
	hd_rpc_free(w->raw);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

static void waiter_cb(hd_err err, char *raw, size_t len, void *arg)
{
	waiter *w = arg;
	pthread_mutex_lock(&w->mu);
	w->done++;
	w->err = err;
	w->raw = raw;
	w->len = len;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void waiter_wait(waiter *w, int n)
{
	pthread_mutex_lock(&w->mu);
	while (w->done < n)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* Waits for w's one reply, which must be a 200 with body, and finishes w. */
static void waiter_expect_200(waiter *w, const char *body)
{
	hd_reply r;
	waiter_wait(w, 1);
	assert_int_equal(w->err, HD_OK);
	assert_int_equal(hd_reply_decode(w->raw, w->len, &r), HD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(body));
	assert_memory_equal(r.body, body, r.body_len);
	waiter_fini(w);
}

static void request_fill(hd_envelope *e, const char *op, const char *body)
{
	memset(e, 0, sizeof *e);
	snprintf(e->op, sizeof e->op, "%s", op);
	snprintf(e->request_id, sizeof e->request_id, "rid-%s", op);
	e->body = body;
	e->body_len = strlen(body);
}

static hd_err encode_request(const char *op, const char *body, char **buf, size_t *len)
{
	hd_envelope e;
	request_fill(&e, op, body);
	return hd_envelope_encode(&e, buf, len);
}

/* The envelope's head in *buf (the body not copied: part's tail). */
static hd_err encode_request_head(
    const char *op, const char *body, char **buf, size_t *len, hd_batch_part *part)
{
	hd_envelope e;
	request_fill(&e, op, body);
	part->tail = body;
	part->tail_len = e.body_len;
	return hd_envelope_encode_head(&e, buf, len);
}

/* Calls op synchronously; returns the callback's error, reply decoded in *r. */
static hd_err call_sync(
    hd_rpc_client *c, const char *op, const char *body, int timeout_ms, waiter *w, hd_reply *r)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request(op, body, &buf, &len), HD_OK);
	waiter_init(w);
	hd_err err = hd_rpc_client_call(c, buf, len, timeout_ms, waiter_cb, w);
	free(buf);
	if (err != HD_OK)
		return err;
	waiter_wait(w, 1);
	if (w->err == HD_OK)
		assert_int_equal(hd_reply_decode(w->raw, w->len, r), HD_OK);
	return w->err;
}

static void wait_connected(hd_rpc_client *c)
{
	int64_t until = now_ms() + 5000;
	while (!hd_rpc_client_connected(c) && now_ms() < until)
		usleep(1000);
	assert_true(hd_rpc_client_connected(c));
}

typedef struct fixture {
	hd_worker_pool *pool;
	hd_rpc_server *srv;
	hd_rpc_client *cli;
	server_state st;
	char url[160];
} fixture;

static void fixture_start(fixture *f, const char *name, int nctx)
{
	memset(f, 0, sizeof *f);
	f->st.tag = name;
	url_for(f->url, sizeof f->url, name);
	assert_int_equal(hd_worker_pool_create(&f->pool, 2, NULL, NULL, NULL), HD_OK);
	assert_int_equal(
	    hd_rpc_server_start(&f->srv, f->url, nctx, f->pool, handler, &f->st), HD_OK);
	assert_int_equal(hd_rpc_client_open(&f->cli, f->url), HD_OK);
	wait_connected(f->cli);
}

static void fixture_stop(fixture *f)
{
	hd_rpc_client_close(f->cli);
	hd_rpc_server_stop(f->srv, 1000);
	hd_worker_pool_destroy(f->pool);
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "rt", 4);
	waiter w;
	hd_reply r;
	assert_int_equal(call_sync(f.cli, "test.echo", "{\"hello\":1}", 2000, &w, &r), HD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 11);
	assert_memory_equal(r.body, "{\"hello\":1}", 11);
	assert_int_equal(r.nheaders, 1);
	assert_string_equal(r.headers[0].name, "x-op");
	assert_string_equal(r.headers[0].value, "test.echo");
	assert_int_equal(w.raw[w.len], '\0');
	waiter_fini(&w);
	int64_t until = now_ms() + 1000; /* the count drops just after the send */
	while (hd_rpc_server_inflight(f.srv) != 0 && now_ms() < until)
		usleep(1000);
	assert_int_equal(hd_rpc_server_inflight(f.srv), 0);
	fixture_stop(&f);
}

static void test_malformed_envelope_gets_400(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "bad", 2);
	waiter w;
	waiter_init(&w);
	assert_int_equal(hd_rpc_client_call(f.cli, "garbage!", 8, 2000, waiter_cb, &w), HD_OK);
	waiter_wait(&w, 1);
	assert_int_equal(w.err, HD_OK);
	hd_reply r;
	assert_int_equal(hd_reply_decode(w.raw, w.len, &r), HD_OK);
	assert_int_equal(r.status, 400);
	assert_non_null(memmem(r.body, r.body_len, "\"status\":400", 12));
	assert_int_equal(atomic_load(&f.st.handled), 0); /* never reached a handler */
	waiter_fini(&w);
	fixture_stop(&f);
}

#define NCALLS 1000

typedef struct many {
	atomic_int done, matched;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} many;

typedef struct one_call {
	many *m;
	char body[16];
	char *msg; /* its request, kept until the reply (a batcher's call) */
	/* a batcher's reply kept past its callback (hd_rpc_batch_reply_keep) */
	hd_rpc_reply_hold *hold;
	const char *kept;
	size_t kept_len;
} one_call;

static void many_cb(hd_err err, char *raw, size_t len, void *arg)
{
	one_call *oc = arg;
	hd_reply r;
	if (err == HD_OK && hd_reply_decode(raw, len, &r) == HD_OK && r.status == 200
	    && r.body_len == strlen(oc->body) && memcmp(r.body, oc->body, r.body_len) == 0)
		atomic_fetch_add(&oc->m->matched, 1);
	hd_rpc_free(raw);
	pthread_mutex_lock(&oc->m->mu);
	atomic_fetch_add(&oc->m->done, 1);
	pthread_cond_signal(&oc->m->cv);
	pthread_mutex_unlock(&oc->m->mu);
}

static void test_concurrent_calls_all_matched(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "many", 16);
	many m = { 0 };
	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	one_call *calls = calloc(NCALLS, sizeof *calls);
	assert_non_null(calls);
	for (int i = 0; i < NCALLS; i++) {
		calls[i].m = &m;
		snprintf(calls[i].body, sizeof calls[i].body, "\"n%d\"", i);
		char *buf = NULL;
		size_t len = 0;
		assert_int_equal(encode_request("test.echo", calls[i].body, &buf, &len), HD_OK);
		assert_int_equal(
		    hd_rpc_client_call(f.cli, buf, len, 10000, many_cb, &calls[i]), HD_OK);
		free(buf);
	}
	pthread_mutex_lock(&m.mu);
	while (atomic_load(&m.done) < NCALLS)
		pthread_cond_wait(&m.cv, &m.mu);
	pthread_mutex_unlock(&m.mu);
	assert_int_equal(atomic_load(&m.matched), NCALLS);
	assert_int_equal(atomic_load(&f.st.handled), NCALLS);
	fixture_stop(&f);
	free(calls);
	pthread_cond_destroy(&m.cv);
	pthread_mutex_destroy(&m.mu);
}

static void test_timeout(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "slow", 2);
	waiter w;
	hd_reply r;
	int64_t t0 = now_ms();
	assert_int_equal(call_sync(f.cli, "test.slow", "x", 50, &w, &r), HD_ERR_TIMEOUT);
	int64_t took = now_ms() - t0;
	assert_true(took >= 45 && took < 190);
	assert_null(w.raw);
	waiter_fini(&w);
	/* the server still answers the late request into the void; a new one works */
	assert_int_equal(call_sync(f.cli, "test.slow", "y", 2000, &w, &r), HD_OK);
	assert_memory_equal(r.body, "y", 1);
	waiter_fini(&w);
	fixture_stop(&f);
}

static void cb_must_not_run(hd_err err, char *raw, size_t len, void *arg)
{
	fail_msg("callback ran although the call returned an error");
}

static void test_no_server_unavailable(void **state)
{
	(void)state;
	char url[160];
	url_for(url, sizeof url, "nobody");
	hd_rpc_client *c = NULL;
	assert_int_equal(hd_rpc_client_open(&c, url), HD_OK);
	assert_false(hd_rpc_client_connected(c));
	int64_t t0 = now_ms();
	assert_int_equal(
	    hd_rpc_client_call(c, "x", 1, 5000, cb_must_not_run, NULL), HD_ERR_UNAVAILABLE);
	assert_true(now_ms() - t0 < 50);
	assert_int_equal(hd_rpc_client_call(c, "x", 1, 0, cb_must_not_run, NULL), HD_ERR_INVALID);
	/* a call that waits for the link gives up at its deadline */
	waiter w;
	waiter_init(&w);
	assert_int_equal(hd_rpc_client_call_wait(c, "x", 1, 100, waiter_cb, &w), HD_OK);
	waiter_wait(&w, 1);
	assert_int_equal(w.err, HD_ERR_UNAVAILABLE);
	assert_null(w.raw);
	waiter_fini(&w);
	assert_int_equal(hd_rpc_client_call_wait(c, "x", 1, 0, waiter_cb, &w), HD_ERR_INVALID);
	hd_rpc_client_close(c);
	assert_int_equal(hd_rpc_client_open(&c, ""), HD_ERR_INVALID);
	assert_int_equal(hd_rpc_client_open(&c, "bogus://x"), HD_ERR_INVALID);
}

/* hd_rpc_client_call_wait (a peer call, hd/peer.h) sent before the server
 * listens waits for the link and is answered once it comes up, where
 * hd_rpc_client_call fails at once (with no server at all it fails at its
 * deadline: test_no_server_unavailable). */
static void test_waiting_call_meets_late_server(void **state)
{
	(void)state;
	fixture f;
	memset(&f, 0, sizeof f);
	f.st.tag = "late";
	url_for(f.url, sizeof f.url, "late");
	assert_int_equal(hd_rpc_client_open(&f.cli, f.url), HD_OK);
	assert_false(hd_rpc_client_connected(f.cli));
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request("test.echo", "\"w\"", &buf, &len), HD_OK);
	waiter w;
	waiter_init(&w);
	assert_int_equal(
	    hd_rpc_client_call(f.cli, buf, len, 5000, cb_must_not_run, NULL), HD_ERR_UNAVAILABLE);
	assert_int_equal(hd_rpc_client_call_wait(f.cli, buf, len, 10000, waiter_cb, &w), HD_OK);
	free(buf);
	usleep(200 * 1000);
	pthread_mutex_lock(&w.mu);
	int done = w.done;
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(done, 0); /* still waiting for the link */
	assert_int_equal(hd_worker_pool_create(&f.pool, 1, NULL, NULL, NULL), HD_OK);
	assert_int_equal(hd_rpc_server_start(&f.srv, f.url, 2, f.pool, handler, &f.st), HD_OK);
	waiter_expect_200(&w, "\"w\"");
	fixture_stop(&f);
}

/* The daemon goes away while a request is in flight: the caller learns it
 * at once, not at its deadline; the request answered after stop is freed. */
static void test_peer_loss_and_late_reply(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "loss", 2);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request("test.park", "", &buf, &len), HD_OK);
	waiter w;
	waiter_init(&w);
	assert_int_equal(hd_rpc_client_call(f.cli, buf, len, 10000, waiter_cb, &w), HD_OK);
	free(buf);
	while (atomic_load(&f.st.handled) == 0)
		usleep(1000);
	assert_int_equal(hd_rpc_server_inflight(f.srv), 1);
	int64_t t0 = now_ms();
	hd_rpc_server_stop(f.srv, 0); /* the parked request outlives the server */
	waiter_wait(&w, 1);
	assert_int_equal(w.err, HD_ERR_UNAVAILABLE);
	assert_true(now_ms() - t0 < 1000);
	waiter_fini(&w);
	while (hd_rpc_client_connected(f.cli) && now_ms() - t0 < 1000)
		usleep(1000);
	assert_false(hd_rpc_client_connected(f.cli));
	/* the late reply frees the request and the server (ASan checks leaks) */
	assert_int_equal(hd_worker_post(hd_worker_pool_get(f.pool, 0), reply_parked, &f.st), HD_OK);
	hd_worker_pool_destroy(f.pool);
	assert_null(f.st.parked);
	hd_rpc_client_close(f.cli);
}

/* Stopping with a drain lets the request in flight finish and refuses new ones. */
static void *stop_thread(void *arg)
{
	hd_rpc_server_stop(arg, 3000);
	return NULL;
}

/* Parks one request (answered to w later by reply_parked) and starts
 * stopping f's server on thread *th, so the server is draining. */
static void drain_start(fixture *f, waiter *w, pthread_t *th)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request("test.park", "", &buf, &len), HD_OK);
	waiter_init(w);
	assert_int_equal(hd_rpc_client_call(f->cli, buf, len, 5000, waiter_cb, w), HD_OK);
	free(buf);
	while (atomic_load(&f->st.handled) == 0)
		usleep(1000);
	assert_int_equal(pthread_create(th, NULL, stop_thread, f->srv), 0);
}

static void test_graceful_drain(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "drain", 2);
	waiter w;
	pthread_t th;
	drain_start(&f, &w, &th);
	/* once stopping, new requests are refused with 503 (before that: 200) */
	int status = 0;
	int64_t until = now_ms() + 2000;
	while (status != 503 && now_ms() < until) {
		waiter w2;
		hd_reply r2;
		assert_int_equal(call_sync(f.cli, "test.echo", "x", 2000, &w2, &r2), HD_OK);
		status = r2.status;
		assert_true(status == 200 || status == 503);
		waiter_fini(&w2);
	}
	assert_int_equal(status, 503);
	/* the parked request is still answered while draining */
	assert_int_equal(hd_worker_post(hd_worker_pool_get(f.pool, 0), reply_parked, &f.st), HD_OK);
	waiter_expect_200(&w, "late");
	pthread_join(th, NULL);
	hd_rpc_client_close(f.cli);
	hd_worker_pool_destroy(f.pool);
}

/* Two replicas behind one client: concurrent calls reach both. */
static void test_two_replicas_share_load(void **state)
{
	(void)state;
	fixture a, b;
	fixture_start(&a, "ra", 8);
	fixture_start(&b, "rb", 8);
	hd_rpc_client *c = NULL;
	char urls[400];
	snprintf(urls, sizeof urls, "%s, %s", a.url, b.url);
	assert_int_equal(hd_rpc_client_open(&c, urls), HD_OK);
	wait_connected(c);
	int na = 0, nb = 0;
	int64_t until = now_ms() + 5000;
	while ((na < 20 || nb < 20) && now_ms() < until) {
		enum { BATCH = 50 };
		waiter ws[BATCH];
		char *buf = NULL;
		size_t len = 0;
		assert_int_equal(encode_request("test.tag", "", &buf, &len), HD_OK);
		for (int i = 0; i < BATCH; i++) {
			waiter_init(&ws[i]);
			assert_int_equal(
			    hd_rpc_client_call(c, buf, len, 5000, waiter_cb, &ws[i]), HD_OK);
		}
		free(buf);
		for (int i = 0; i < BATCH; i++) {
			waiter_wait(&ws[i], 1);
			hd_reply r;
			assert_int_equal(ws[i].err, HD_OK);
			assert_int_equal(hd_reply_decode(ws[i].raw, ws[i].len, &r), HD_OK);
			na += r.body_len == 2 && memcmp(r.body, "ra", 2) == 0;
			nb += r.body_len == 2 && memcmp(r.body, "rb", 2) == 0;
			waiter_fini(&ws[i]);
		}
	}
	assert_true(na >= 20);
	assert_true(nb >= 20);
	hd_rpc_client_close(c);
	fixture_stop(&a);
	fixture_stop(&b);
}

/* One replica dying fails only the calls that went to it (HD_ERR_UNAVAILABLE,
 * at once), while a call parked on the other replica is still answered. */
enum { PARK_MAX = 16 };

/* Sends test.park calls one by one until both replicas hold one; *ia / *ib
 * name the waiters of the calls parked on a / b. */
static void park_on_both(hd_rpc_client *c, fixture *a, fixture *b, waiter *ws, int *ia, int *ib)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request("test.park", "", &buf, &len), HD_OK);
	*ia = *ib = -1;
	for (int i = 0; i < PARK_MAX && (*ia < 0 || *ib < 0); i++) {
		int ha = atomic_load(&a->st.handled), hb = atomic_load(&b->st.handled);
		waiter_init(&ws[i]);
		assert_int_equal(hd_rpc_client_call(c, buf, len, 10000, waiter_cb, &ws[i]), HD_OK);
		while (atomic_load(&a->st.handled) == ha && atomic_load(&b->st.handled) == hb)
			usleep(500);
		int *slot = atomic_load(&a->st.handled) != ha ? ia : ib;
		if (*slot < 0)
			*slot = i; /* the first call a replica gets is parked there */
		else
			waiter_wait(&ws[i], 1); /* later ones are answered at once */
	}
	free(buf);
	assert_true(*ia >= 0 && *ib >= 0);
}

static void test_replica_loss_fails_only_its_calls(void **state)
{
	(void)state;
	fixture a, b;
	fixture_start(&a, "la", 4);
	fixture_start(&b, "lb", 4);
	hd_rpc_client *c = NULL;
	char urls[400];
	snprintf(urls, sizeof urls, "%s,%s", a.url, b.url);
	assert_int_equal(hd_rpc_client_open(&c, urls), HD_OK);
	int64_t until = now_ms() + 5000;
	while (now_ms() < until && !hd_rpc_client_connected(c))
		usleep(1000);
	usleep(50 * 1000); /* both pipes up */
	waiter ws[PARK_MAX];
	int ia = -1, ib = -1;
	park_on_both(c, &a, &b, ws, &ia, &ib);
	hd_rpc_client_close(a.cli); /* the fixtures' own clients are not used here */
	hd_rpc_client_close(b.cli);
	b.cli = NULL;
	int64_t t0 = now_ms();
	hd_rpc_server_stop(a.srv, 0); /* replica a goes away with a call in flight */
	waiter_wait(&ws[ia], 1);
	assert_int_equal(ws[ia].err, HD_ERR_UNAVAILABLE);
	assert_true(now_ms() - t0 < 1000);
	/* b's call is untouched and the client still has a peer */
	usleep(100 * 1000);
	assert_int_equal(ws[ib].done, 0);
	assert_true(hd_rpc_client_connected(c));
	assert_int_equal(hd_worker_post(hd_worker_pool_get(b.pool, 0), reply_parked, &b.st), HD_OK);
	waiter_wait(&ws[ib], 1);
	assert_int_equal(ws[ib].err, HD_OK);
	/* a new call (a retry) goes to the replica left */
	waiter w;
	hd_reply r;
	assert_int_equal(call_sync(c, "test.tag", "", 2000, &w, &r), HD_OK);
	assert_memory_equal(r.body, "lb", 2);
	waiter_fini(&w);
	for (int i = 0; i <= (ia > ib ? ia : ib); i++)
		waiter_fini(&ws[i]);
	/* a's parked request is answered late: it frees the stopped server */
	assert_int_equal(hd_worker_post(hd_worker_pool_get(a.pool, 0), reply_parked, &a.st), HD_OK);
	hd_worker_pool_destroy(a.pool);
	hd_rpc_client_close(c);
	fixture_stop(&b);
}

static void test_close_with_pending_call(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "close", 2);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(encode_request("test.slow", "z", &buf, &len), HD_OK);
	waiter w;
	waiter_init(&w);
	assert_int_equal(hd_rpc_client_call(f.cli, buf, len, 5000, waiter_cb, &w), HD_OK);
	free(buf);
	hd_rpc_client_close(f.cli);
	waiter_wait(&w, 1);
	assert_int_equal(w.err, HD_ERR_CLOSED);
	waiter_fini(&w);
	hd_rpc_server_stop(f.srv, 2000);
	hd_worker_pool_destroy(f.pool);
}

/* A host name in the client's address is resolved (the headless-Service
 * path: one dialer per address) and calls reach the server behind it. */
static void test_host_name_is_resolved(void **state)
{
	(void)state;
	fixture f;
	memset(&f, 0, sizeof f);
	f.st.tag = "dns";
	int port = freeport_get();
	assert_true(port > 0);
	char listen_url[64], dial_url[64];
	snprintf(listen_url, sizeof listen_url, "tcp://127.0.0.1:%d", port);
	snprintf(dial_url, sizeof dial_url, "tcp://localhost:%d", port);
	assert_int_equal(hd_worker_pool_create(&f.pool, 1, NULL, NULL, NULL), HD_OK);
	assert_int_equal(hd_rpc_server_start(&f.srv, listen_url, 2, f.pool, handler, &f.st), HD_OK);
	assert_int_equal(hd_rpc_client_open(&f.cli, dial_url), HD_OK);
	wait_connected(f.cli);
	waiter w;
	hd_reply r;
	assert_int_equal(call_sync(f.cli, "test.echo", "{}", 2000, &w, &r), HD_OK);
	assert_int_equal(r.status, 200);
	waiter_fini(&w);
	fixture_stop(&f);
}

/* ---- batching (hd_rpc_batcher on a client loop, batches on the server) ---- */

static pthread_t batch_loop_thread; /* the client loop's, set by batch_issue */
static atomic_int batch_off_loop; /* batcher callbacks run on another thread */

/* A batcher's callback: on the loop, the reply borrowed. */
static void many_batch_cb(hd_err err, const char *raw, size_t len, void *arg)
{
	one_call *oc = arg;
	hd_reply r;
	if (!pthread_equal(pthread_self(), batch_loop_thread))
		atomic_fetch_add(&batch_off_loop, 1);
	if (err == HD_OK && hd_reply_decode(raw, len, &r) == HD_OK && r.status == 200
	    && r.body_len == strlen(oc->body) && memcmp(r.body, oc->body, r.body_len) == 0)
		atomic_fetch_add(&oc->m->matched, 1);
	oc->hold = err == HD_OK ? hd_rpc_batch_reply_keep() : NULL;
	oc->kept = raw;
	oc->kept_len = len;
	free(oc->msg);
	oc->msg = NULL;
	pthread_mutex_lock(&oc->m->mu);
	atomic_fetch_add(&oc->m->done, 1);
	pthread_cond_signal(&oc->m->cv);
	pthread_mutex_unlock(&oc->m->mu);
}

/* waiter_cb for a batcher: keeps a copy of the borrowed reply. */
static void waiter_batch_cb(hd_err err, const char *raw, size_t len, void *arg)
{
	char *copy = NULL;
	if (!pthread_equal(pthread_self(), batch_loop_thread))
		atomic_fetch_add(&batch_off_loop, 1);
	if (err == HD_OK) {
		copy = malloc(len + 1);
		assert_non_null(copy);
		memcpy(copy, raw, len);
		copy[len] = '\0';
	}
	waiter_cb(err, copy, len, arg);
}

typedef struct batch_run {
	hd_rpc_client *cli;
	hd_worker *loop; /* the client's loop: the batcher lives there */
	hd_rpc_batcher *batcher;
	int max_parts;
	int ncalls; /* echo calls, each checked by many_cb */
	one_call *calls;
	bool with_garbage; /* plus one part that is not an envelope */
	waiter garbage;
	hd_err issue_err; /* the first failing batcher call, HD_OK otherwise */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool freed;
} batch_run;

/* On the client loop: every call in one go (one loop iteration). */
static void batch_issue(void *arg)
{
	batch_run *br = arg;
	batch_loop_thread = pthread_self();
	hd_err err = hd_rpc_batcher_new(&br->batcher, br->cli, br->loop, br->max_parts);
	for (int i = 0; err == HD_OK && i < br->ncalls; i++) {
		/* every other call as head + body (the gateway's way), the
		 * others whole: the echo must not tell them apart */
		hd_batch_part part = { 0 };
		err = i % 2
		    ? encode_request_head(
		        "test.echo", br->calls[i].body, &br->calls[i].msg, &part.len, &part)
		    : encode_request("test.echo", br->calls[i].body, &br->calls[i].msg, &part.len);
		part.data = br->calls[i].msg;
		if (err == HD_OK)
			err = hd_rpc_batcher_call(
			    br->batcher, &part, 5000, many_batch_cb, &br->calls[i]);
	}
	hd_batch_part garbage = { .data = "garbage!", .len = 8 };
	if (err == HD_OK && br->with_garbage)
		err = hd_rpc_batcher_call(
		    br->batcher, &garbage, 5000, waiter_batch_cb, &br->garbage);
	br->issue_err = err;
}

static void batch_free(void *arg)
{
	batch_run *br = arg;
	hd_rpc_batcher_free(br->batcher);
	pthread_mutex_lock(&br->mu);
	br->freed = true;
	pthread_cond_signal(&br->cv);
	pthread_mutex_unlock(&br->mu);
}

/* Value of the unlabelled counter name in the metrics text (0 if absent). */
static long metric_value(const char *name)
{
	size_t len = 0;
	char *text = hd_metrics_render(&len);
	char key[96];
	long v = 0;
	snprintf(key, sizeof key, "\n%s ", name);
	const char *at = text != NULL ? strstr(text, key) : NULL;
	if (at != NULL)
		v = strtol(at + strlen(key), NULL, 10);
	free(text);
	return v;
}

/* Runs ncalls echo calls (plus garbage) through a batcher of max_parts on
 * fixture f; every reply must match its call. */
static void batch_run_all(fixture *f, int max_parts, int ncalls, bool with_garbage)
{
	hd_worker_pool *client_pool = NULL;
	assert_int_equal(hd_worker_pool_create(&client_pool, 1, NULL, NULL, NULL), HD_OK);
	many m = { 0 };
	pthread_mutex_init(&m.mu, NULL);
	pthread_cond_init(&m.cv, NULL);
	batch_run br = { .cli = f->cli,
		.loop = hd_worker_pool_get(client_pool, 0),
		.max_parts = max_parts,
		.ncalls = ncalls,
		.with_garbage = with_garbage };
	br.calls = calloc((size_t)ncalls, sizeof *br.calls);
	assert_non_null(br.calls);
	for (int i = 0; i < ncalls; i++) {
		br.calls[i].m = &m;
		snprintf(br.calls[i].body, sizeof br.calls[i].body, "\"b%d\"", i);
	}
	waiter_init(&br.garbage);
	pthread_mutex_init(&br.mu, NULL);
	pthread_cond_init(&br.cv, NULL);
	assert_int_equal(hd_worker_post(br.loop, batch_issue, &br), HD_OK);
	pthread_mutex_lock(&m.mu);
	while (atomic_load(&m.done) < ncalls)
		pthread_cond_wait(&m.cv, &m.mu);
	pthread_mutex_unlock(&m.mu);
	assert_int_equal(br.issue_err, HD_OK);
	assert_int_equal(atomic_load(&m.matched), ncalls);
	assert_null(hd_rpc_batch_reply_keep()); /* not inside a callback */
	for (int i = 0; i < ncalls; i++) { /* each reply outlived its callback */
		hd_reply r;
		assert_non_null(br.calls[i].hold);
		assert_int_equal(
		    hd_reply_decode(br.calls[i].kept, br.calls[i].kept_len, &r), HD_OK);
		assert_memory_equal(r.body, br.calls[i].body, strlen(br.calls[i].body));
		hd_rpc_batch_reply_release(br.calls[i].hold); /* off the loop: allowed */
	}
	if (with_garbage) {
		waiter_wait(&br.garbage, 1);
		assert_int_equal(br.garbage.err, HD_OK);
		hd_reply r;
		assert_int_equal(hd_reply_decode(br.garbage.raw, br.garbage.len, &r), HD_OK);
		assert_int_equal(r.status, 400);
	}
	assert_int_equal(atomic_load(&batch_off_loop), 0); /* every reply on the loop */
	assert_int_equal(hd_worker_post(br.loop, batch_free, &br), HD_OK);
	pthread_mutex_lock(&br.mu);
	while (!br.freed)
		pthread_cond_wait(&br.cv, &br.mu);
	pthread_mutex_unlock(&br.mu);
	hd_worker_pool_destroy(client_pool);
	waiter_fini(&br.garbage);
	pthread_cond_destroy(&br.cv);
	pthread_mutex_destroy(&br.mu);
	pthread_cond_destroy(&m.cv);
	pthread_mutex_destroy(&m.mu);
	free(br.calls);
}

/* 20 calls and a malformed one made in one loop iteration, at most 8 per
 * message: three batches (8 + 8 + 5), every reply matched to its caller,
 * the malformed part answered 400 without failing the others. */
static void test_batcher_gathers_calls(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "batch", 4);
	hd_metrics_reset();
	batch_run_all(&f, 8, 20, true);
	assert_int_equal(metric_value("hd_rpc_batches_total"), 3);
	assert_int_equal(metric_value("hd_rpc_batched_requests_total"), 21);
	assert_int_equal(atomic_load(&f.st.handled), 20);
	fixture_stop(&f);
}

/* A lone call goes out as a plain envelope, and max_parts 1 never batches. */
static void test_batcher_lone_call_is_plain(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "lone", 4);
	hd_metrics_reset();
	batch_run_all(&f, 32, 1, false);
	batch_run_all(&f, 1, 10, false);
	assert_int_equal(metric_value("hd_rpc_batches_total"), 0);
	assert_int_equal(atomic_load(&f.st.handled), 11);
	fixture_stop(&f);
}

/* A batch sent to a server that is draining: every part is refused unrun
 * (503 with the draining header), so the caller may resend each elsewhere. */
static void test_batch_refused_while_draining(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, "bdrain", 2);
	waiter w;
	pthread_t th;
	drain_start(&f, &w, &th);
	char *e1 = NULL, *e2 = NULL, *batch = NULL;
	size_t l1 = 0, l2 = 0, blen = 0;
	assert_int_equal(encode_request("test.echo", "1", &e1, &l1), HD_OK);
	assert_int_equal(encode_request("test.echo", "2", &e2, &l2), HD_OK);
	hd_batch_part parts[2] = { { .data = e1, .len = l1 }, { .data = e2, .len = l2 } };
	assert_int_equal(hd_batch_encode(parts, 2, &batch, &blen), HD_OK);
	int refused = 0;
	int64_t until = now_ms() + 2000;
	while (refused != 2 && now_ms() < until) {
		waiter wb;
		waiter_init(&wb);
		assert_int_equal(
		    hd_rpc_client_call(f.cli, batch, blen, 2000, waiter_cb, &wb), HD_OK);
		waiter_wait(&wb, 1);
		assert_int_equal(wb.err, HD_OK);
		hd_batch_part back[HD_BATCH_MAX];
		size_t n = 0;
		assert_int_equal(hd_batch_decode(wb.raw, wb.len, back, HD_BATCH_MAX, &n), HD_OK);
		assert_int_equal(n, 2);
		refused = 0;
		for (size_t i = 0; i < n; i++) {
			hd_reply r;
			assert_int_equal(hd_reply_decode(back[i].data, back[i].len, &r), HD_OK);
			bool draining = r.status == 503 && r.nheaders == 1
			    && strcmp(r.headers[0].name, HD_REPLY_DRAINING_HEADER) == 0;
			assert_true(r.status == 200 || draining);
			refused += draining;
		}
		waiter_fini(&wb);
	}
	assert_int_equal(refused, 2);
	free(e1);
	free(e2);
	free(batch);
	assert_int_equal(hd_worker_post(hd_worker_pool_get(f.pool, 0), reply_parked, &f.st), HD_OK);
	waiter_wait(&w, 1);
	waiter_fini(&w);
	pthread_join(th, NULL);
	hd_rpc_client_close(f.cli);
	hd_worker_pool_destroy(f.pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed_envelope_gets_400),
		cmocka_unit_test(test_concurrent_calls_all_matched),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_no_server_unavailable),
		cmocka_unit_test(test_waiting_call_meets_late_server),
		cmocka_unit_test(test_peer_loss_and_late_reply),
		cmocka_unit_test(test_graceful_drain),
		cmocka_unit_test(test_two_replicas_share_load),
		cmocka_unit_test(test_replica_loss_fails_only_its_calls),
		cmocka_unit_test(test_close_with_pending_call),
		cmocka_unit_test(test_host_name_is_resolved),
		cmocka_unit_test(test_batcher_gathers_calls),
		cmocka_unit_test(test_batcher_lone_call_is_plain),
		cmocka_unit_test(test_batch_refused_while_draining),
	};
	NNG_UNIT_MAIN_RUN(tests);
}
