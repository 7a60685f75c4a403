/* hd_redis against a real Redis: commands and reply accessors, EVALSHA with
 * the NOSCRIPT fallback, failure while disconnected (never inline), reconnect
 * after CLIENT KILL, per-command timeout (CLIENT PAUSE) with the late reply
 * ignored, destroy with commands pending, the blocking helper, and an ACL
 * user in the URL (redis://user:password@...), and a subscription that
 * hears what PUBLISH sends, again after its connection was killed.
 * Env: HD_TEST_REDIS_URL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/redis.h"

static const char *redis_url;

typedef struct fx {
	struct event_base *base;
	hd_redis *r;
	int pending;
	int calls;
	hd_err last_err;
	hd_redis_type last_type;
	char last_str[256];
	size_t last_len;
	long long last_int;
	size_t last_elements;
} fx;

static void fx_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop until done() is true or 10 s passed; returns done(). */
static bool fx_run_until(fx *f, bool (*done)(fx *))
{
	struct timeval tv = { 10, 0 };
	struct event *t = evtimer_new(f->base, fx_timeout_cb, f->base);

	evtimer_add(t, &tv);
	while (!done(f) && evtimer_pending(t, NULL))
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	return done(f);
}

static bool fx_idle(fx *f)
{
	return f->pending == 0;
}

static bool fx_ready(fx *f)
{
	return hd_redis_ready(f->r);
}

static bool fx_not_ready(fx *f)
{
	return !hd_redis_ready(f->r);
}

static void fx_open(fx *f, const char *url)
{
	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(hd_redis_create(&f->r, f->base, url), HD_OK);
}

static void fx_close(fx *f)
{
	hd_redis_destroy(f->r);
	event_base_free(f->base);
}

static void record_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	fx *f = arg;
	const char *s = hd_redis_reply_string(r, &f->last_len);

	f->pending--;
	f->calls++;
	f->last_err = err;
	f->last_type = hd_redis_reply_type(r);
	f->last_int = hd_redis_reply_integer(r);
	f->last_elements = hd_redis_reply_elements(r);
	memset(f->last_str, 0, sizeof(f->last_str));
	if (s)
		memcpy(f->last_str, s, f->last_len < sizeof(f->last_str) ? f->last_len : 255);
	if (f->last_type == HD_REDIS_ARRAY && f->last_elements > 1) {
		const hd_redis_reply *e = hd_redis_reply_element(r, 1);
		s = hd_redis_reply_string(e, NULL);
		snprintf(f->last_str, sizeof(f->last_str), "%s", s ? s : "");
		assert_null(hd_redis_reply_element(r, f->last_elements));
	}
}

/* Sends argv (C strings) and waits for the reply. */
static hd_err cmd(fx *f, int argc, const char *const *argv)
{
	f->pending++;
	assert_int_equal(hd_redis_command(f->r, record_cb, f, argc, argv, NULL), HD_OK);
	assert_true(fx_run_until(f, fx_idle));
	return f->last_err;
}

static int setup(void **state)
{
	redis_url = getenv("HD_TEST_REDIS_URL");
	if (!redis_url) {
		fprintf(stderr, "HD_TEST_REDIS_URL not set\n");
		return -1;
	}
	return 0;
}

static void test_commands_and_replies(void **state)
{
	fx f;
	const char bin[] = { 'a', '\0', 'b' };
	const char *set[] = { "SET", "{t1}:io:bin", bin };
	const size_t setlen[] = { 3, 11, sizeof(bin) };

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	f.pending++;
	assert_int_equal(hd_redis_command(f.r, record_cb, &f, 3, set, setlen), HD_OK);
	assert_int_equal(f.calls, 0);
	assert_true(fx_run_until(&f, fx_idle));
	assert_int_equal(f.last_type, HD_REDIS_STATUS);
	assert_string_equal(f.last_str, "OK");
	assert_int_equal(cmd(&f, 2, (const char *[]) { "GET", "{t1}:io:bin" }), HD_OK);
	assert_int_equal(f.last_type, HD_REDIS_STRING);
	assert_int_equal(f.last_len, 3);
	assert_memory_equal(f.last_str, bin, 3);
	assert_int_equal(cmd(&f, 2, (const char *[]) { "DEL", "{t1}:io:n" }), HD_OK);
	assert_int_equal(cmd(&f, 2, (const char *[]) { "INCR", "{t1}:io:n" }), HD_OK);
	assert_int_equal(f.last_type, HD_REDIS_INTEGER);
	assert_int_equal(f.last_int, 1);
	assert_int_equal(cmd(&f, 2, (const char *[]) { "GET", "{t1}:io:missing" }), HD_OK);
	assert_int_equal(f.last_type, HD_REDIS_NIL);
	assert_int_equal(
	    cmd(&f, 3, (const char *[]) { "MGET", "{t1}:io:missing", "{t1}:io:n" }), HD_OK);
	assert_int_equal(f.last_type, HD_REDIS_ARRAY);
	assert_int_equal(f.last_elements, 2);
	assert_string_equal(f.last_str, "1");
	assert_int_equal(cmd(&f, 2, (const char *[]) { "LPOP", "{t1}:io:bin" }), HD_OK);
	assert_int_equal(f.last_type, HD_REDIS_ERROR);
	assert_non_null(strstr(f.last_str, "WRONGTYPE"));
	assert_int_equal(hd_redis_command(f.r, record_cb, &f, 0, set, NULL), HD_ERR_INVALID);
	fx_close(&f);
}

static void test_many_commands_in_flight(void **state)
{
	enum { N = 5000 };
	fx f;

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(cmd(&f, 2, (const char *[]) { "DEL", "{t1}:io:many" }), HD_OK);
	for (int i = 0; i < N; i++) {
		f.pending++;
		assert_int_equal(hd_redis_command(f.r, record_cb, &f, 2,
		                     (const char *[]) { "INCR", "{t1}:io:many" }, NULL),
		    HD_OK);
	}
	assert_true(fx_run_until(&f, fx_idle));
	assert_int_equal(f.calls, N + 1);
	assert_int_equal(f.last_int, N); /* replies in order */
	fx_close(&f);
}

static void eval_once(fx *f, const char *script)
{
	const char *keys[] = { "{t1}:io:k" };
	const char *args[] = { "v1" };

	f->pending++;
	assert_int_equal(hd_redis_eval(f->r, script, 1, keys, 1, args, record_cb, f), HD_OK);
	assert_true(fx_run_until(f, fx_idle));
	assert_int_equal(f->last_err, HD_OK);
	assert_int_equal(f->last_type, HD_REDIS_ARRAY);
	assert_string_equal(f->last_str, "v1");
}

static void test_eval_with_noscript_fallback(void **state)
{
	static const char script[] = "return {KEYS[1], ARGV[1], 'io-test'}";
	fx f;
	char *v = NULL;

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "SCRIPT", "FLUSH" }, NULL),
	    HD_OK);
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "CONFIG", "RESETSTAT" }, NULL),
	    HD_OK);
	eval_once(&f, script); /* NOSCRIPT, then EVAL loads it */
	assert_int_equal(f.last_elements, 3);
	eval_once(&f, script); /* EVALSHA hits */
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "SCRIPT", "FLUSH" }, NULL),
	    HD_OK);
	eval_once(&f, script);
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "INFO", "commandstats" }, &v),
	    HD_OK);
	assert_non_null(v);
	assert_non_null(strstr(v, "cmdstat_evalsha"));
	assert_non_null(strstr(v, "cmdstat_eval:"));
	free(v);
	fx_close(&f);
}

static void test_disconnect_then_reconnect(void **state)
{
	fx f;

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(hd_redis_command_sync(redis_url, 4,
	                     (const char *[]) { "CLIENT", "KILL", "TYPE", "normal" }, NULL),
	    HD_OK);
	assert_true(fx_run_until(&f, fx_not_ready));
	f.pending++;
	assert_int_equal(
	    hd_redis_command(f.r, record_cb, &f, 1, (const char *[]) { "PING" }, NULL), HD_OK);
	assert_int_equal(f.calls, 0); /* failure is delivered from the loop */
	assert_true(fx_run_until(&f, fx_idle));
	assert_int_equal(f.last_err, HD_ERR_UNAVAILABLE);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(cmd(&f, 1, (const char *[]) { "PING" }), HD_OK);
	assert_string_equal(f.last_str, "PONG");
	fx_close(&f);
}

static void test_timeout_and_late_reply(void **state)
{
	fx f;

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(hd_redis_command_sync(redis_url, 4,
	                     (const char *[]) { "CLIENT", "PAUSE", "1500", "ALL" }, NULL),
	    HD_OK);
	assert_int_equal(cmd(&f, 1, (const char *[]) { "PING" }), HD_ERR_TIMEOUT);
	/* after the pause, the late reply is dropped and the client works */
	assert_int_equal(cmd(&f, 1, (const char *[]) { "PING" }), HD_OK);
	assert_string_equal(f.last_str, "PONG");
	assert_int_equal(f.calls, 2);
	fx_close(&f);
}

static void test_unavailable_when_no_server(void **state)
{
	fx f;

	fx_open(&f, "redis://127.0.0.1:1/0");
	assert_false(hd_redis_ready(f.r));
	assert_int_equal(cmd(&f, 1, (const char *[]) { "PING" }), HD_ERR_UNAVAILABLE);
	assert_int_equal(hd_redis_eval(f.r, "return 1", 0, NULL, 0, NULL, record_cb, &f), HD_OK);
	f.pending++;
	assert_true(fx_run_until(&f, fx_idle));
	assert_int_equal(f.last_err, HD_ERR_UNAVAILABLE);
	fx_close(&f);
}

static void test_destroy_fails_pending_with_closed(void **state)
{
	fx f;

	fx_open(&f, redis_url);
	assert_true(fx_run_until(&f, fx_ready));
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    hd_redis_command(f.r, record_cb, &f, 1, (const char *[]) { "PING" }, NULL),
		    HD_OK);
	hd_redis_destroy(f.r);
	f.r = NULL;
	assert_int_equal(f.calls, 5);
	assert_int_equal(f.last_err, HD_ERR_CLOSED);
	fx_close(&f);
}

static void test_bad_urls(void **state)
{
	struct event_base *base = event_base_new();
	hd_redis *r = NULL;

	assert_int_equal(hd_redis_create(&r, base, "http://x"), HD_ERR_INVALID);
	assert_int_equal(hd_redis_create(&r, base, "redis://"), HD_ERR_INVALID);
	assert_int_equal(hd_redis_create(&r, base, "redis://h:99999"), HD_ERR_INVALID);
	/* a user needs a password; escapes must be whole and not NUL */
	assert_int_equal(hd_redis_create(&r, base, "redis://user@h:6379"), HD_ERR_INVALID);
	assert_int_equal(hd_redis_create(&r, base, "redis://u:%zz@h:6379"), HD_ERR_INVALID);
	assert_int_equal(hd_redis_create(&r, base, "redis://u:ab%4@h:6379"), HD_ERR_INVALID);
	assert_int_equal(hd_redis_create(&r, base, "redis://u:a%00b@h:6379"), HD_ERR_INVALID);
	assert_null(r);
	event_base_free(base);
}

static void test_command_sync(void **state)
{
	char *v = NULL;

	assert_int_equal(hd_redis_command_sync(
	                     redis_url, 3, (const char *[]) { "SET", "{t1}:io:s", "hello" }, &v),
	    HD_OK);
	assert_string_equal(v, "OK");
	free(v);
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "GET", "{t1}:io:s" }, &v),
	    HD_OK);
	assert_string_equal(v, "hello");
	free(v);
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "STRLEN", "{t1}:io:s" }, &v),
	    HD_OK);
	assert_string_equal(v, "5");
	free(v);
	assert_int_equal(
	    hd_redis_command_sync(redis_url, 2, (const char *[]) { "LPOP", "{t1}:io:s" }, &v),
	    HD_ERR_IO);
	assert_null(v);
	assert_int_equal(
	    hd_redis_command_sync("redis://127.0.0.1:1", 1, (const char *[]) { "PING" }, &v),
	    HD_ERR_UNAVAILABLE);
}

/* redis_url with "userinfo@" put after redis:// (cap bytes). */
static void url_with_user(char *out, size_t cap, const char *userinfo)
{
	snprintf(out, cap, "redis://%s@%s", userinfo, redis_url + strlen("redis://"));
}

/* An ACL user (Redis 6+) in the URL is kept: AUTH user password, sync and
 * async; its password %XX-decoded; a wrong password is refused. */
static void test_acl_user(void **state)
{
	char url[512], *who = NULL;
	const char *acl_user[]
	    = { "ACL", "SETUSER", "hd_acl_test", "reset", "on", ">p@ss:w/rd", "~*", "&*", "+@all" };
	assert_int_equal(hd_redis_command_sync(redis_url, 9, acl_user, NULL), HD_OK);
	url_with_user(url, sizeof url, "hd_acl_test:p%40ss%3Aw%2Frd");
	assert_int_equal(
	    hd_redis_command_sync(url, 2, (const char *[]) { "ACL", "WHOAMI" }, &who), HD_OK);
	assert_string_equal(who, "hd_acl_test");
	free(who);

	fx f;
	fx_open(&f, url);
	assert_true(fx_run_until(&f, fx_ready));
	assert_int_equal(cmd(&f, 2, (const char *[]) { "ACL", "WHOAMI" }), HD_OK);
	assert_string_equal(f.last_str, "hd_acl_test");
	fx_close(&f);

	url_with_user(url, sizeof url, "hd_acl_test:wrong");
	assert_int_not_equal(
	    hd_redis_command_sync(url, 2, (const char *[]) { "ACL", "WHOAMI" }, NULL), HD_OK);
	assert_int_equal(hd_redis_command_sync(redis_url, 3,
	                     (const char *[]) { "ACL", "DELUSER", "hd_acl_test" }, NULL),
	    HD_OK);
}

/* What a subscriber heard: how many (re)subscriptions and the last message. */
typedef struct sub_log {
	int subscribed, messages;
	char last[64];
} sub_log;

static void sub_cb(const char *msg, size_t len, void *arg)
{
	sub_log *l = arg;
	if (msg == NULL) {
		l->subscribed++;
		return;
	}
	l->messages++;
	snprintf(l->last, sizeof(l->last), "%.*s", (int)len, msg);
}

static sub_log *sub_now;
static int sub_want;
static bool fx_subscribed(fx *f)
{
	(void)f;
	return sub_now->subscribed >= sub_want;
}
static bool fx_heard(fx *f)
{
	(void)f;
	return sub_now->messages >= sub_want;
}

static void publish(const char *msg)
{
	assert_int_equal(hd_redis_command_sync(
	                     redis_url, 3, (const char *[]) { "PUBLISH", "it:chan", msg }, NULL),
	    HD_OK);
}

static void test_subscribe_and_resubscribe(void **state)
{
	fx f;
	sub_log l = { 0 };
	(void)state;
	fx_open(&f, redis_url);
	sub_now = &l;
	assert_int_equal(hd_redis_subscribe(f.r, "it:chan", sub_cb, &l), HD_OK);
	assert_int_equal(hd_redis_subscribe(f.r, "it:other", sub_cb, &l), HD_ERR_INVALID);
	sub_want = 1;
	assert_true(fx_run_until(&f, fx_subscribed));
	publish("first");
	assert_true(fx_run_until(&f, fx_heard));
	assert_string_equal(l.last, "first");
	/* the connection dies: it reconnects, subscribes again and says so */
	assert_int_equal(hd_redis_command_sync(redis_url, 4,
	                     (const char *[]) { "CLIENT", "KILL", "TYPE", "pubsub" }, NULL),
	    HD_OK);
	sub_want = 2;
	assert_true(fx_run_until(&f, fx_subscribed));
	publish("second");
	assert_true(fx_run_until(&f, fx_heard));
	assert_string_equal(l.last, "second");
	assert_int_equal(l.messages, 2);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands_and_replies),
		cmocka_unit_test(test_subscribe_and_resubscribe),
		cmocka_unit_test(test_many_commands_in_flight),
		cmocka_unit_test(test_eval_with_noscript_fallback),
		cmocka_unit_test(test_disconnect_then_reconnect),
		cmocka_unit_test(test_timeout_and_late_reply),
		cmocka_unit_test(test_unavailable_when_no_server),
		cmocka_unit_test(test_destroy_fails_pending_with_closed),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_command_sync),
		cmocka_unit_test(test_acl_user),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
