/* Unit tests of the field daemon's pure readers (services/field/geo.c) and
 * of the libs it shares with the other daemons: weekly hours (hd/hours.h)
 * and a peer call's deadline (hd/peer.h). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#define FS_PURE_ONLY
#include "field.h"
#include "hd/hours.h"
#include "hd/peer.h"

static void test_near(void **state)
{
	(void)state;
	fs_point p;
	assert_true(fs_near_parse("48.85,2.35", &p));
	assert_true(fabs(p.lat - 48.85) < 1e-12 && fabs(p.lon - 2.35) < 1e-12);
	assert_true(fs_near_parse("-90,180", &p));
	assert_true(fs_near_parse("+1.5,-0.25", &p));
	const char *bad[] = { "", "1", "1,", ",1", "91,0", "0,180.0001", "NaN,1", "1,inf", "1e1,2",
		"0x1,2", " 1,2", "1,2 ", "1,2,3", ".,2", "--1,2", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (fs_near_parse(bad[i], &p))
			fail_msg("accepted near=%s", bad[i]);
	assert_false(fs_near_parse(NULL, &p));
	double v;
	assert_true(fs_positive_parse("10", 100, &v) && v == 10.0);
	assert_false(fs_positive_parse("0", 100, &v));
	assert_false(fs_positive_parse("-1", 100, &v));
	assert_false(fs_positive_parse("101", 100, &v));
	assert_false(fs_positive_parse("nan", 100, &v));
}

static void test_skills(void **state)
{
	(void)state;
	char out[FS_SKILLS_JSON_MAX], one[FS_SKILL_CHARS * 4 + 1];
	assert_true(fs_skill_normalise("  HVAC\t", one, sizeof one));
	assert_string_equal(one, "hvac");
	assert_false(fs_skill_normalise("   ", one, sizeof one));
	assert_false(fs_skill_normalise("a,b", one, sizeof one));
	assert_false(fs_skill_normalise("a\x01", one, sizeof one));
	char long_skill[80];
	memset(long_skill, 'a', 65);
	long_skill[65] = '\0';
	assert_false(fs_skill_normalise(long_skill, one, sizeof one));
	long_skill[64] = '\0';
	assert_true(fs_skill_normalise(long_skill, one, sizeof one));
	assert_true(fs_skill_filter_parse("Gas, hvac ,gas", out, sizeof out));
	assert_string_equal(out, "[\"gas\",\"hvac\"]");
	assert_false(fs_skill_filter_parse("a,,b", out, sizeof out));
	assert_false(fs_skill_filter_parse(",a", out, sizeof out));
	assert_false(fs_skill_filter_parse("a,", out, sizeof out));
	assert_false(fs_skill_filter_parse("", out, sizeof out));
	hd_field_errors errs = { .count = 0 };
	cJSON *b = cJSON_Parse("{\"skills\":[\"B\",\" a \",\"b\"],\"bad\":[1],\"many\":["
	                       "\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
	                       "\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\","
	                       "\"20\",\"21\",\"22\",\"23\",\"24\",\"25\",\"26\",\"27\",\"28\","
	                       "\"29\",\"30\",\"31\",\"32\",\"33\"]}");
	assert_true(fs_skills_read(b, "skills", out, &errs));
	assert_string_equal(out, "[\"a\",\"b\"]");
	assert_false(fs_skills_read(b, "absent", out, &errs));
	assert_int_equal(errs.count, 0);
	assert_false(fs_skills_read(b, "bad", out, &errs));
	assert_false(fs_skills_read(b, "many", out, &errs));
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.items[0].field, "bad");
	cJSON_Delete(b);
}

static void test_location(void **state)
{
	(void)state;
	hd_field_errors errs = { .count = 0 };
	fs_point p;
	const char *addr;
	cJSON *b = cJSON_Parse("{\"l\":{\"lat\":1,\"lon\":2,\"address\":\"x\"},\"m\":{\"lat\":91,"
	                       "\"lon\":\"2\"},\"n\":{\"lat\":1,\"lon\":2,\"z\":1}}");
	assert_true(fs_location_read(b, "l", true, &p, &addr, &errs));
	assert_string_equal(addr, "x");
	assert_false(fs_location_read(b, "l", false, &p, &addr, &errs));
	assert_string_equal(errs.items[0].field, "l.address");
	errs.count = 0;
	assert_false(fs_location_read(b, "m", true, &p, &addr, &errs));
	assert_int_equal(errs.count, 2);
	assert_string_equal(errs.items[0].field, "m.lat");
	assert_string_equal(errs.items[1].field, "m.lon");
	errs.count = 0;
	assert_false(fs_location_read(b, "n", true, &p, &addr, &errs));
	assert_string_equal(errs.items[0].field, "n.z");
	errs.count = 0;
	assert_false(fs_location_read(b, "absent", true, &p, &addr, &errs));
	assert_string_equal(errs.items[0].field, "absent");
	cJSON_Delete(b);
}

static void test_time(void **state)
{
	(void)state;
	long long ms;
	assert_true(hd_time_parse("1970-01-01T00:00:00Z", &ms));
	assert_int_equal(ms, 0);
	assert_true(hd_time_parse("2030-01-07T10:00:00.5+01:00", &ms));
	assert_int_equal(ms, 1894006800500LL); /* 09:00:00.5Z */
	assert_true(hd_time_parse("2024-02-29T23:59:59Z", &ms));
	const char *bad[] = { "", "2023-02-29T00:00:00Z", "2030-13-01T00:00:00Z",
		"2030-01-01 00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T00:00:00",
		"2030-01-01T00:00:00.Z", "2030-01-01T00:00:00+1:00", "2030-01-01T00:00:60Z", NULL };
	for (int i = 0; bad[i] != NULL; i++)
		if (hd_time_parse(bad[i], &ms))
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(fs_eta_minutes(0, 40), 0);
	assert_int_equal(fs_eta_minutes(10, 40), 15);
	assert_int_equal(fs_eta_minutes(10.01, 40), 16);
}

static void test_hours(void **state)
{
	(void)state;
	hd_field_errors errs = { .count = 0 };
	cJSON *b = cJSON_Parse(
	    "{\"ok\":{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"09:00\",\"12:00\"],[\"13:00\","
	    "\"24:00\"]]}},\"overlap\":{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"09:00\",\"12:"
	    "00\"],"
	    "[\"11:00\",\"13:00\"]]}},\"empty\":{\"timezone\":\"UTC\",\"days\":{}},\"str\":\"x\"}");
	char *ok = hd_hours_read(b, "ok", &errs);
	assert_non_null(ok);
	assert_int_equal(errs.count, 0);
	free(ok);
	assert_null(hd_hours_read(b, "absent", &errs));
	assert_int_equal(errs.count, 0);
	assert_null(hd_hours_read(b, "overlap", &errs));
	assert_string_equal(errs.items[0].field, "overlap.days");
	assert_null(hd_hours_read(b, "empty", &errs));
	assert_string_equal(errs.items[1].field, "empty.days");
	assert_null(hd_hours_read(b, "str", &errs));
	assert_string_equal(errs.items[2].field, "str");
	cJSON_Delete(b);
}

static void test_peer_timeout(void **state)
{
	(void)state;
	assert_int_equal(hd_peer_timeout_ms(0, 1000, 2000), 2000);
	assert_int_equal(hd_peer_timeout_ms(1500, 1000, 2000), 500);
	assert_int_equal(hd_peer_timeout_ms(900, 1000, 2000), 1);
	assert_int_equal(hd_peer_timeout_ms(999999, 1000, 2000), 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_near),
		cmocka_unit_test(test_skills),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_peer_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
