/* hd-analytics' pure modules (services/analytics/analytics.h): the forecast
 * maths (forecast_math.c) on synthetic series — the method chosen by the
 * history's length, the shape and order of the points, a weekly season and
 * trend followed, and the 95 % prediction intervals holding the true values
 * at about the expected rate over many noisy series — and the CSV writer
 * (csv.c): RFC 4180 quoting, tables and the summary's metric,value rows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AN_PURE_ONLY
#include "analytics.h"

#define Z95 1.959963984540054
#define H 14

/* A reproducible normal variate (xorshift64* and Box-Muller). */
static uint64_t rng_state = 88172645463325252ULL;
static double uniform01(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double normal(void)
{
	double u = uniform01(), v = uniform01();
	return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* Day t of a series: level, trend, weekly shape (mean 0), noise of sd. */
static double seasonal(size_t t, double sd)
{
	static const double week[7] = { 12, 10, 8, 6, 4, -20, -20 };
	return 60 + 0.2 * (double)t + week[t % 7] + sd * normal();
}

static void test_methods_by_history(void **state)
{
	(void)state;
	double y[60] = { 0 }, v[H], lo[H], hi[H];
	an_fit fc;
	an_forecast_fit(y, 0, H, Z95, &fc, v, lo, hi);
	assert_string_equal(fc.method, "none");
	for (int h = 0; h < H; h++)
		assert_true(v[h] == 0 && lo[h] == 0 && hi[h] == 0);
	for (size_t t = 0; t < 60; t++)
		y[t] = seasonal(t, 0);
	an_forecast_fit(y, 1, H, Z95, &fc, v, lo, hi);
	assert_string_equal(fc.method, "simple_exponential_smoothing");
	assert_true(v[0] == y[0] && lo[0] < v[0] && hi[0] > v[0]);
	an_forecast_fit(y, 13, H, Z95, &fc, v, lo, hi);
	assert_string_equal(fc.method, "simple_exponential_smoothing");
	for (int h = 1; h < H; h++) /* flat, widening */
		assert_true(v[h] == v[0] && hi[h] - lo[h] >= hi[h - 1] - lo[h - 1]);
	an_forecast_fit(y, 14, H, Z95, &fc, v, lo, hi);
	assert_string_equal(fc.method, "holt_winters_additive");
}

static void test_holt_winters_follows_season(void **state)
{
	(void)state;
	double y[56 + H], v[H], lo[H], hi[H];
	an_fit fc;
	for (size_t t = 0; t < 56 + H; t++)
		y[t] = seasonal(t, 0);
	an_forecast_fit(y, 56, H, Z95, &fc, v, lo, hi);
	assert_string_equal(fc.method, "holt_winters_additive");
	for (int h = 0; h < H; h++) {
		assert_true(fabs(v[h] - y[56 + h]) < 1.0);
		assert_true(lo[h] <= v[h] && v[h] <= hi[h]);
	}
	/* counts never go below zero */
	for (size_t t = 0; t < 56; t++)
		y[t] = t % 7 == 6 ? 50 : 0;
	an_forecast_fit(y, 56, H, Z95, &fc, v, lo, hi);
	for (int h = 0; h < H; h++)
		assert_true(v[h] >= 0 && lo[h] >= 0 && hi[h] >= v[h]);
}

/* Over many noisy seasonal series, the share of true future values inside
 * their 95 % interval is close to 95 %. */
static void test_interval_coverage(void **state)
{
	(void)state;
	enum { TRIALS = 400, N = 84 };
	double y[N + H], v[H], lo[H], hi[H];
	int inside = 0, total = 0;
	an_fit fc;
	for (int k = 0; k < TRIALS; k++) {
		for (size_t t = 0; t < N + H; t++)
			y[t] = seasonal(t, 4.0);
		an_forecast_fit(y, N, H, Z95, &fc, v, lo, hi);
		for (int h = 0; h < H; h++, total++)
			inside += y[N + h] >= lo[h] && y[N + h] <= hi[h];
	}
	double rate = (double)inside / total;
	print_message("coverage %.4f over %d points\n", rate, total);
	assert_true(rate > 0.90 && rate < 0.99);
	/* the same for the short-history method on a level series */
	inside = total = 0;
	for (int k = 0; k < TRIALS; k++) {
		for (size_t t = 0; t < 10 + H; t++)
			y[t] = 40 + 3.0 * normal();
		an_forecast_fit(y, 10, H, Z95, &fc, v, lo, hi);
		for (int h = 0; h < H; h++, total++)
			inside += y[10 + h] >= lo[h] && y[10 + h] <= hi[h];
	}
	rate = (double)inside / total;
	print_message("short-history coverage %.4f\n", rate);
	assert_true(rate > 0.88 && rate < 0.995);
}

static void csv_is(const char *json, const char *want)
{
	cJSON *obj = cJSON_Parse(json);
	char *csv = an_csv_from_json(obj);
	assert_non_null(csv);
	assert_string_equal(csv, want);
	free(csv);
	cJSON_Delete(obj);
}

static void test_csv(void **state)
{
	(void)state;
	csv_is("{\"as_of\":null,\"metric\":\"m\",\"points\":[{\"t\":\"2026-01-01\",\"value\":3},"
	       "{\"t\":\"2026-01-02\",\"value\":0.25}]}",
	    "t,value\r\n2026-01-01,3\r\n2026-01-02,0.25\r\n");
	csv_is("{\"items\":[{\"agent_id\":\"a\",\"csat\":null,\"p\":0.1}]}",
	    "agent_id,csat,p\r\na,,0.10000000000000001\r\n");
	csv_is("{\"items\":[]}", "");
	csv_is(
	    "{\"as_of\":\"x\",\"tickets\":{\"created\":2,\"by\":{\"new\":1}},\"sla\":{\"c\":null}}",
	    "metric,value\r\nas_of,x\r\ntickets.created,2\r\ntickets.by.new,1\r\nsla.c,\r\n");
	/* fields with a comma, a quote or a line break are quoted, quotes doubled */
	csv_is(
	    "{\"items\":[{\"a\":\"x,y\",\"b\":\"say \\\"hi\\\"\",\"c\":\"l1\\nl2\",\"d\":true}]}",
	    "a,b,c,d\r\n\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\",true\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods_by_history),
		cmocka_unit_test(test_holt_winters_follows_season),
		cmocka_unit_test(test_interval_coverage),
		cmocka_unit_test(test_csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
