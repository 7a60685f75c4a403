/* hd_metrics: Prometheus text output, histogram buckets, thread safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/metrics.h"

#define N_THREADS 4
#define PER_THREAD 10000

static int reset(void **state)
{
	hd_metrics_reset();
	return 0;
}

static char *render(void)
{
	size_t len = 0;
	char *s = hd_metrics_render(&len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	return s;
}

static void assert_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line not found: %s\n---\n%s", line, text);
}

static void test_metrics_counter_gauge(void **state)
{
	hd_metrics_describe("hd_requests_total", "counter", "Requests served.");
	hd_metrics_describe("hd_in_flight", "gauge", "Requests in flight.");
	hd_metrics_add("hd_requests_total", "route=\"/v1/a\",status=\"200\"", 1);
	hd_metrics_add("hd_requests_total", "route=\"/v1/a\",status=\"200\"", 2);
	hd_metrics_add("hd_requests_total", "route=\"/v1/b\",status=\"404\"", 1);
	hd_metrics_add("hd_in_flight", NULL, 3);
	hd_metrics_add("hd_in_flight", "", -1);
	hd_metrics_set("hd_temperature", "", 0.25);
	char *s = render();
	assert_has_line(s, "# HELP hd_requests_total Requests served.");
	assert_has_line(s, "# TYPE hd_requests_total counter");
	assert_has_line(s, "hd_requests_total{route=\"/v1/a\",status=\"200\"} 3");
	assert_has_line(s, "hd_requests_total{route=\"/v1/b\",status=\"404\"} 1");
	assert_has_line(s, "# TYPE hd_in_flight gauge");
	assert_has_line(s, "hd_in_flight 2");
	assert_has_line(s, "# TYPE hd_temperature untyped");
	assert_has_line(s, "hd_temperature 0.25");
	/* HELP and TYPE come before the samples of their family */
	assert_true(strstr(s, "# TYPE hd_requests_total") < strstr(s, "hd_requests_total{"));
	free(s);
}

static void test_metrics_histogram(void **state)
{
	hd_metrics_describe("hd_duration_seconds", "histogram", "Request duration.");
	const double obs[] = { 0.001, 0.005, 0.007, 0.3, 2, 100 };
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		hd_metrics_observe("hd_duration_seconds", "route=\"/x\"", obs[i]);
	hd_metrics_observe("hd_duration_seconds", NULL, 0.02);
	char *s = render();
	assert_has_line(s, "# TYPE hd_duration_seconds histogram");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"0.005\"} 2");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"0.01\"} 3");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"0.25\"} 3");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 4");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"2.5\"} 5");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"10\"} 5");
	assert_has_line(s, "hd_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6");
	assert_has_line(s, "hd_duration_seconds_count{route=\"/x\"} 6");
	assert_has_line(s, "hd_duration_seconds_sum{route=\"/x\"} 102.313");
	assert_has_line(s, "hd_duration_seconds_bucket{le=\"0.025\"} 1");
	assert_has_line(s, "hd_duration_seconds_bucket{le=\"0.01\"} 0");
	assert_has_line(s, "hd_duration_seconds_count 1");
	free(s);
}

static void *adder(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++) {
		hd_metrics_add("hd_threads_total", (const char *)arg, 1);
		hd_metrics_observe("hd_threads_seconds", "", 0.1);
	}
	return NULL;
}

static void test_metrics_threads(void **state)
{
	hd_metrics_describe("hd_threads_total", "counter", "x");
	hd_metrics_describe("hd_threads_seconds", "histogram", "y");
	pthread_t t[N_THREADS];
	const char *labels[2] = { "t=\"a\"", "t=\"b\"" };
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder, (void *)labels[i % 2]), 0);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(t[i], NULL);
	char *s = render();
	assert_has_line(s, "hd_threads_total{t=\"a\"} 20000");
	assert_has_line(s, "hd_threads_total{t=\"b\"} 20000");
	assert_has_line(s, "hd_threads_seconds_count 40000");
	assert_has_line(s, "hd_threads_seconds_bucket{le=\"0.1\"} 40000");
	assert_has_line(s, "hd_threads_seconds_bucket{le=\"0.05\"} 0");
	free(s);
}

static void test_metrics_reset_and_bounds(void **state)
{
	hd_metrics_add("hd_gone_total", "", 1);
	hd_metrics_reset();
	char *s = render();
	assert_string_equal(s, "");
	free(s);
	char labels[64];
	for (int i = 0; i < 5000; i++) { /* more series than allowed: the rest are dropped */
		snprintf(labels, sizeof(labels), "id=\"%d\"", i);
		hd_metrics_add("hd_many_total", labels, 1);
	}
	s = render();
	assert_has_line(s, "hd_many_total{id=\"0\"} 1");
	assert_null(strstr(s, "id=\"4999\""));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_metrics_counter_gauge, reset),
		cmocka_unit_test_setup(test_metrics_histogram, reset),
		cmocka_unit_test_setup(test_metrics_threads, reset),
		cmocka_unit_test_setup(test_metrics_reset_and_bounds, reset),
	};
	return cmocka_run_group_tests(tests, NULL, reset);
}
