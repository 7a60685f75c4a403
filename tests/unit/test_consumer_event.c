/* Unit tests of hd_consumer_event_read (libs/src/consumer.c): what a
 * consumer accepts of an event from the bus or a replay page, and what it
 * drops as malformed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "hd/consumer.h"

#define TENANT "0190f5a4-7c1e-7d3a-9b7e-2f4c1a2b3c4d"
#define ID "0190f5a4-7c1e-7d3a-9b7e-2f4c1a2b3c4e"

/* Reads json; returns whether it was accepted (ev filled then). */
static bool read_json(const char *json, hd_consumer_event *ev, cJSON **root)
{
	*root = cJSON_Parse(json);
	assert_non_null(*root);
	return hd_consumer_event_read(*root, ev);
}

static void test_well_formed(void **state)
{
	(void)state;
	hd_consumer_event ev;
	cJSON *root;
	assert_true(read_json("{\"id\":\"" ID "\",\"seq\":42,\"type\":\"workorder.completed\","
	                      "\"tenant_id\":\"" TENANT "\",\"occurred_at\":\"x\",\"actor\":null,"
	                      "\"data\":{\"signed_by\":null}}",
	    &ev, &root));
	assert_int_equal(ev.seq, 42);
	assert_string_equal(ev.type, "workorder.completed");
	assert_string_equal(ev.tenant_id, TENANT);
	assert_string_equal(ev.id, ID);
	assert_null(ev.actor);
	assert_true(cJSON_IsObject(ev.data));
	cJSON_Delete(root);
	assert_true(read_json("{\"id\":\"" ID "\",\"seq\":9007199254740992,\"type\":\"a\","
	                      "\"tenant_id\":\"" TENANT "\",\"actor\":\"" ID "\",\"data\":{}}",
	    &ev, &root));
	assert_string_equal(ev.actor, ID);
	assert_int_equal(ev.seq, 9007199254740992LL);
	cJSON_Delete(root);
}

static void test_malformed_dropped(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{}",
		"[1]",
		/* seq: missing, 0, negative, fractional, a string, past 2^53 */
		"{\"id\":\"" ID "\",\"type\":\"a\",\"tenant_id\":\"" TENANT "\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":0,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":-3,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":1.5,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":\"1\",\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":1e300,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		/* type empty; tenant and id not UUIDs; data not an object; actor not a UUID */
		"{\"id\":\"" ID "\",\"seq\":1,\"type\":\"\",\"tenant_id\":\"" TENANT
		"\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":1,\"type\":\"a\",\"tenant_id\":\"acme\",\"data\":{}}",
		"{\"id\":7,\"seq\":1,\"type\":\"a\",\"tenant_id\":\"" TENANT "\",\"data\":{}}",
		"{\"id\":\"" ID "\",\"seq\":1,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":[]}",
		"{\"id\":\"" ID "\",\"seq\":1,\"type\":\"a\",\"tenant_id\":\"" TENANT
		"\",\"data\":{},"
		"\"actor\":\"root\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hd_consumer_event ev;
		cJSON *root;
		if (read_json(bad[i], &ev, &root))
			fail_msg("accepted: %s", bad[i]);
		cJSON_Delete(root);
	}
	char type[80];
	memset(type, 'a', 65);
	type[65] = '\0';
	char json[256];
	snprintf(json, sizeof json,
	    "{\"id\":\"" ID "\",\"seq\":1,\"type\":\"%s\",\"tenant_id\":\"" TENANT
	    "\",\"data\":{}}",
	    type);
	hd_consumer_event ev;
	cJSON *root;
	assert_false(read_json(json, &ev, &root)); /* a type longer than a bus topic */
	cJSON_Delete(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_malformed_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
