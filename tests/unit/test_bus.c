/* Tests of libs/src/bus.c: a forwarder, a publisher and subscribers in one
 * process over ipc:// (private temp folder): delivery through the forwarder,
 * topic prefix filtering, argument checks, and the counters: forwarded,
 * dropped for want of a subscriber, published with no forwarder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hd/bus.h"
#include "hd/metrics.h"
#include "nng_unit.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What one subscriber saw. */
typedef struct seen {
	pthread_mutex_t mu;
	int count;
	int tickets, users, markers;
	char last_json[64];
} seen;

static void seen_cb(const char *type, const char *json, size_t len, void *arg)
{
	seen *s = arg;
	pthread_mutex_lock(&s->mu);
	s->count++;
	if (strncmp(type, "ticket.", 7) == 0)
		s->tickets++;
	else if (strncmp(type, "user.", 5) == 0)
		s->users++;
	else if (strcmp(type, "marker") == 0)
		s->markers++;
	if (len < sizeof s->last_json && json[len] == '\0')
		memcpy(s->last_json, json, len + 1);
	pthread_mutex_unlock(&s->mu);
}

static int seen_get(seen *s, const int *field)
{
	pthread_mutex_lock(&s->mu);
	int v = *field;
	pthread_mutex_unlock(&s->mu);
	return v;
}

typedef struct bus_fixture {
	char in[128], out[128];
	hd_bus_forwarder *fwd;
	hd_bus_pub *pub;
} bus_fixture;

static void bus_fixture_start(bus_fixture *f, const char *name)
{
	snprintf(f->in, sizeof f->in, "ipc://%s/%s-in.ipc", g_dir, name);
	snprintf(f->out, sizeof f->out, "ipc://%s/%s-out.ipc", g_dir, name);
	assert_int_equal(hd_bus_forwarder_start(&f->fwd, f->in, f->out), HD_OK);
	assert_int_equal(hd_bus_pub_open(&f->pub, f->in), HD_OK);
}

static void bus_fixture_stop(bus_fixture *f)
{
	hd_bus_pub_close(f->pub);
	hd_bus_forwarder_stop(f->fwd);
}

/* Publishes "marker" until every subscriber saw one: pub/sub connects
 * asynchronously and drops what is sent before the path is up. */
static void wait_path(hd_bus_pub *pub, seen **subs, int n)
{
	int64_t until = now_ms() + 5000;
	for (;;) {
		int ready = 0;
		for (int i = 0; i < n; i++)
			ready += seen_get(subs[i], &subs[i]->markers) > 0;
		if (ready == n)
			return;
		assert_true(now_ms() < until);
		assert_int_equal(hd_bus_publish(pub, "marker", "{}", 2), HD_OK);
		usleep(5000);
	}
}

static void wait_count(seen *s, const int *field, int n)
{
	int64_t until = now_ms() + 5000;
	while (seen_get(s, field) < n && now_ms() < until)
		usleep(1000);
	assert_int_equal(seen_get(s, field), n);
}

static void test_prefix_filtering(void **state)
{
	(void)state;
	bus_fixture f;
	bus_fixture_start(&f, "filter");
	seen all = { .mu = PTHREAD_MUTEX_INITIALIZER };
	seen tickets = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *s_all = NULL, *s_tickets = NULL;
	assert_int_equal(hd_bus_sub_open(&s_all, f.out, "", seen_cb, &all), HD_OK);
	assert_int_equal(
	    hd_bus_sub_open(&s_tickets, f.out, "ticket.,marker", seen_cb, &tickets), HD_OK);
	seen *subs[] = { &all, &tickets };
	wait_path(f.pub, subs, 2);
	const char *ev = "{\"id\":\"e1\",\"seq\":1,\"type\":\"ticket.created\"}";
	for (int i = 0; i < 10; i++) {
		assert_int_equal(hd_bus_publish(f.pub, "ticket.created", ev, strlen(ev)), HD_OK);
		assert_int_equal(hd_bus_publish(f.pub, "user.created", "{\"u\":1}", 7), HD_OK);
	}
	assert_int_equal(hd_bus_publish(f.pub, "ticket.updated", "{\"x\":2}", 7), HD_OK);
	wait_count(&all, &all.users, 10);
	wait_count(&all, &all.tickets, 11);
	wait_count(&tickets, &tickets.tickets, 11);
	assert_int_equal(seen_get(&tickets, &tickets.users), 0); /* filtered out */
	pthread_mutex_lock(&tickets.mu);
	assert_string_equal(tickets.last_json, "{\"x\":2}");
	pthread_mutex_unlock(&tickets.mu);
	hd_bus_sub_close(s_all);
	hd_bus_sub_close(s_tickets);
	bus_fixture_stop(&f);
}

/* True when the metrics text has the line "series value". */
static bool metrics_has(const char *series, long value)
{
	size_t len = 0;
	char *text = hd_metrics_render(&len);
	char line[256];
	snprintf(line, sizeof line, "\n%s %ld\n", series, value);
	bool found = text != NULL && strstr(text, line) != NULL;
	free(text);
	return found;
}

/* An all-topics subscriber on f, returned once f's publisher reaches it
 * (so the publisher has finished connecting too). */
static hd_bus_sub *sub_connected(bus_fixture *f, seen *s)
{
	hd_bus_sub *sub = NULL;
	assert_int_equal(hd_bus_sub_open(&sub, f->out, "", seen_cb, s), HD_OK);
	seen *subs[] = { s };
	wait_path(f->pub, subs, 1);
	return sub;
}

/* Published and consumed events are counted by type (docs/openapi.yaml /metrics); a
 * type that is not a plain event name is counted as "other". */
static void test_events_counted(void **state)
{
	(void)state;
	bus_fixture f;
	bus_fixture_start(&f, "count");
	seen all = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *s_all = sub_connected(&f, &all);
	hd_metrics_reset();
	for (int i = 0; i < 3; i++)
		assert_int_equal(hd_bus_publish(f.pub, "ticket.created", "{}", 2), HD_OK);
	assert_int_equal(hd_bus_publish(f.pub, "ticket.X\"} 9\nx", "{}", 2), HD_OK);
	wait_count(&all, &all.tickets, 4);
	assert_true(metrics_has("hd_bus_events_published_total{type=\"ticket.created\"}", 3));
	assert_true(metrics_has("hd_bus_events_published_total{type=\"other\"}", 1));
	assert_true(metrics_has("hd_bus_events_consumed_total{type=\"ticket.created\"}", 3));
	assert_true(metrics_has("hd_bus_events_consumed_total{type=\"other\"}", 1));
	hd_bus_sub_close(s_all);
	bus_fixture_stop(&f);
}

/* A subscriber started before the forwarder still connects (non-blocking dial). */
static void test_subscriber_before_forwarder(void **state)
{
	(void)state;
	bus_fixture f;
	snprintf(f.in, sizeof f.in, "ipc://%s/late-in.ipc", g_dir);
	snprintf(f.out, sizeof f.out, "ipc://%s/late-out.ipc", g_dir);
	seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *sub = NULL;
	assert_int_equal(hd_bus_sub_open(&sub, f.out, "user.,marker", seen_cb, &s), HD_OK);
	assert_int_equal(hd_bus_pub_open(&f.pub, f.in), HD_OK);
	assert_int_equal(hd_bus_forwarder_start(&f.fwd, f.in, f.out), HD_OK);
	seen *subs[] = { &s };
	wait_path(f.pub, subs, 1);
	assert_int_equal(hd_bus_publish(f.pub, "user.deactivated", "{\"id\":\"u\"}", 10), HD_OK);
	wait_count(&s, &s.users, 1);
	hd_bus_sub_close(sub);
	bus_fixture_stop(&f);
}

/* The value of the metrics line "series value", or -1 when there is none. */
static double metrics_value(const char *series)
{
	size_t len = 0;
	char *text = hd_metrics_render(&len), line[256];
	double v = -1;
	snprintf(line, sizeof line, "\n%s ", series);
	const char *at = text != NULL ? strstr(text, line) : NULL;
	if (at != NULL)
		v = strtod(at + strlen(line), NULL);
	free(text);
	return v;
}

/* Waits up to 5 s for series to reach at least min; true when it did. */
static bool metrics_wait(const char *series, double min)
{
	int64_t until = now_ms() + 5000;
	while (metrics_value(series) < min && now_ms() < until)
		usleep(2000);
	return metrics_value(series) >= min;
}

/* The forwarder counts what it passed on, and what it dropped because no
 * subscriber was connected (docs/operations.md, The bus); it runs until
 * stopped. */
static void test_forwarder_counts(void **state)
{
	(void)state;
	bus_fixture f;
	bus_fixture_start(&f, "fwdcount");
	assert_true(hd_bus_forwarder_running(f.fwd));
	assert_false(hd_bus_forwarder_running(NULL));
	seen all = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *s_all = sub_connected(&f, &all);
	hd_metrics_reset();
	for (int i = 0; i < 5; i++)
		assert_int_equal(hd_bus_publish(f.pub, "ticket.created", "{}", 2), HD_OK);
	wait_count(&all, &all.tickets, 5);
	/* 5, plus a marker of sub_connected's that may still have been under way */
	assert_true(metrics_wait("hd_bus_forwarded_total", 5));
	hd_bus_sub_close(s_all); /* no subscriber left: what comes is dropped */
	int64_t until = now_ms() + 5000;
	while (
	    !metrics_has("hd_bus_dropped_total{reason=\"no_subscriber\"}", 1) && now_ms() < until) {
		hd_metrics_reset();
		assert_int_equal(hd_bus_publish(f.pub, "ticket.updated", "{}", 2), HD_OK);
		usleep(20000);
	}
	assert_true(metrics_has("hd_bus_dropped_total{reason=\"no_subscriber\"}", 1));
	assert_true(metrics_value("hd_bus_forwarded_total") < 0); /* none since the reset */
	assert_true(hd_bus_forwarder_running(f.fwd));
	bus_fixture_stop(&f);
}

/* A publisher with no forwarder connected: the send "succeeds" (NNG drops
 * it) and is counted in hd_bus_publish_unconnected_total. */
static void test_publish_unconnected(void **state)
{
	(void)state;
	char url[128];
	snprintf(url, sizeof url, "ipc://%s/nobody.ipc", g_dir);
	hd_bus_pub *pub = NULL;
	assert_int_equal(hd_bus_pub_open(&pub, url), HD_OK);
	hd_metrics_reset();
	assert_int_equal(hd_bus_publish(pub, "ticket.created", "{}", 2), HD_OK);
	assert_int_equal(hd_bus_publish(pub, "ticket.created", "{}", 2), HD_OK);
	assert_true(metrics_has("hd_bus_publish_unconnected_total{type=\"ticket.created\"}", 2));
	assert_true(metrics_has("hd_bus_events_published_total{type=\"ticket.created\"}", 2));
	hd_bus_pub_close(pub);
}

static void cb_unused(const char *type, const char *json, size_t len, void *arg)
{
}

static void test_bad_arguments(void **state)
{
	(void)state;
	bus_fixture f;
	bus_fixture_start(&f, "args");
	/* let the publisher finish connecting first: NNG 1.5.2 leaks the
	 * half-made pipe of a socket closed while its dial is in progress */
	seen all = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *s_all = sub_connected(&f, &all);
	char long_type[80];
	memset(long_type, 't', sizeof long_type - 1);
	long_type[sizeof long_type - 1] = '\0';
	assert_int_equal(hd_bus_publish(f.pub, "", "{}", 2), HD_ERR_INVALID);
	assert_int_equal(hd_bus_publish(f.pub, NULL, "{}", 2), HD_ERR_INVALID);
	assert_int_equal(hd_bus_publish(f.pub, long_type, "{}", 2), HD_ERR_INVALID);
	assert_int_equal(hd_bus_publish(f.pub, "a.b", NULL, 2), HD_ERR_INVALID);
	/* the same address cannot be listened on twice */
	hd_bus_forwarder *again = NULL;
	assert_int_equal(hd_bus_forwarder_start(&again, f.in, f.out), HD_ERR_UNAVAILABLE);
	hd_bus_sub *s = NULL;
	assert_int_equal(hd_bus_sub_open(&s, f.out, "", NULL, NULL), HD_ERR_INVALID);
	assert_int_equal(hd_bus_sub_open(&s, "nope://x", "", cb_unused, NULL), HD_ERR_INVALID);
	assert_int_equal(hd_bus_sub_open(&s, f.out, long_type, cb_unused, NULL), HD_ERR_INVALID);
	hd_bus_sub_close(s_all);
	bus_fixture_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_filtering),
		cmocka_unit_test(test_events_counted),
		cmocka_unit_test(test_subscriber_before_forwarder),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_forwarder_counts),
		cmocka_unit_test(test_publish_unconnected),
	};
	NNG_UNIT_MAIN_RUN(tests);
}
