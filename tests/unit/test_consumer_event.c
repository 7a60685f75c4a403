/* Unit tests of hd_consumer_event_read (libs/src/consumer.c): what a
 * consumer accepts of an event from the bus or a replay page, and what it
 * drops as malformed; and of what consumers and the gateway's stream hub
 * share (libs/src/consumer_page.c): placing a seq against a position, the
 * replay call and the reading of its page. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/consumer.h"
#include "hd/envelope.h"
#include "hd/outbox.h"

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

static void test_seq_place(void **state)
{
	(void)state;
	assert_int_equal(hd_consumer_seq_place(0, 1), HD_CONSUMER_SEQ_NEXT);
	assert_int_equal(hd_consumer_seq_place(41, 42), HD_CONSUMER_SEQ_NEXT);
	assert_int_equal(hd_consumer_seq_place(42, 42), HD_CONSUMER_SEQ_SEEN);
	assert_int_equal(hd_consumer_seq_place(42, 7), HD_CONSUMER_SEQ_SEEN);
	assert_int_equal(hd_consumer_seq_place(42, 44), HD_CONSUMER_SEQ_GAP);
	assert_int_equal(hd_consumer_seq_place(0, 9007199254740992LL), HD_CONSUMER_SEQ_GAP);
}

static void test_replay_encode(void **state)
{
	(void)state;
	char *msg = NULL;
	size_t len = 0;
	hd_envelope e;
	assert_int_equal(hd_consumer_replay_encode("ticket_events.replay", "consumer-ticket", NULL,
	                     41, 500, 1234567, &msg, &len),
	    HD_OK);
	assert_int_equal(hd_envelope_decode(msg, len, &e), HD_OK);
	assert_string_equal(e.op, "ticket_events.replay");
	assert_string_equal(e.request_id, "consumer-ticket");
	assert_string_equal(e.role, HD_OUTBOX_REPLAY_ROLE);
	assert_string_equal(e.tenant_id, "");
	assert_int_equal(e.deadline_ms, 1234567);
	assert_int_equal(e.body_len, strlen("{\"after_seq\":41,\"limit\":500}"));
	assert_memory_equal(e.body, "{\"after_seq\":41,\"limit\":500}", e.body_len);
	free(msg);
	assert_int_equal(hd_consumer_replay_encode(
	                     "events.since", "gateway-stream-ticket", TENANT, 0, 1, 1, &msg, &len),
	    HD_OK);
	assert_int_equal(hd_envelope_decode(msg, len, &e), HD_OK);
	assert_string_equal(e.tenant_id, TENANT);
	free(msg);
}

/* Reads a reply with status and body as a replay page. */
static cJSON *page_of(int status, const char *body)
{
	hd_reply r = { .version = HD_ENVELOPE_VERSION,
		.status = status,
		.body = body,
		.body_len = strlen(body) };
	char *raw = NULL;
	size_t len = 0;
	assert_int_equal(hd_reply_encode(&r, &raw, &len), HD_OK);
	cJSON *page = hd_consumer_replay_page(HD_OK, raw, len);
	free(raw);
	return page;
}

static void test_replay_page(void **state)
{
	(void)state;
	cJSON *page = page_of(200, "{\"items\":[{\"seq\":1}],\"more\":true}");
	assert_non_null(page);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(page, "items")), 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(page, "more")));
	cJSON_Delete(page);
	page = page_of(200, "{\"items\":[]}");
	assert_non_null(page);
	cJSON_Delete(page);
	assert_null(page_of(403, "{\"items\":[]}")); /* refused */
	assert_null(page_of(200, "{\"items\":{}}")); /* not a list */
	assert_null(page_of(200, "not json"));
	assert_null(hd_consumer_replay_page(HD_ERR_TIMEOUT, NULL, 0));
	assert_null(hd_consumer_replay_page(HD_OK, "garbage", 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_malformed_dropped),
		cmocka_unit_test(test_seq_place),
		cmocka_unit_test(test_replay_encode),
		cmocka_unit_test(test_replay_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
