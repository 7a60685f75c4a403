/* End-to-end tests of ticket merge, time entries and satisfaction over HTTP
 * through the gateway: roles at the route table (403 before the daemon),
 * every 4xx rule, the effects on the tickets (merged_into, comments on the
 * target, history, time_spent_minutes, satisfaction), suggestions from
 * similar solved tickets, cross-tenant 404s.
 * Runs in a fresh tenant of its own, plus a technician user. */
#include <time.h>
#include "tickets_e2e.h"

static void test_merge(void **state)
{
	char src[37], dst[37], other[37], foreign[37], path[128], body[128];
	ticket_new_id(W.cust1, "VPN drops", src);
	ticket_new_id(W.cust1, "VPN drops again", dst);
	ticket_new_id(W.agent, "something else", other);
	ticket_new_id(W.demo, "acme ticket", foreign);
	tk_path(path, sizeof path, src, "/comments");
	expect(201, "POST", path, W.cust1, "{\"body\":\"since monday\"}");
	tk_path(path, sizeof path, src, "/merge");

	snprintf(body, sizeof body, "{\"into\":\"%s\"}", dst);
	expect(403, "POST", path, W.cust1, body);
	expect(403, "POST", path, W.tech, body);
	expect(401, "POST", path, NULL, body);
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", src);
	expect_invalid("POST", path, W.agent, body, "into");
	expect_invalid("POST", path, W.agent, "{}", "into");
	expect_invalid("POST", path, W.agent, "{\"into\":42}", "into");
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", foreign);
	expect(404, "POST", path, W.agent, body);
	expect(404, "POST", "/v1/tickets/01900000-0000-7000-8000-00000000dead/merge", W.agent,
	    "{\"into\":\"01900000-0000-7000-8000-00000000beef\"}");

	snprintf(body, sizeof body, "{\"into\":\"%s\"}", dst);
	httpc_resp r;
	assert_int_equal(req(&r, "POST", path, W.agent, body), 200);
	assert_string_equal(jstr(r.json, "id"), dst);
	httpc_resp_free(&r);
	cJSON *s = tk_ticket_get(W.cust1, src);
	assert_string_equal(jstr(s, "status"), "closed");
	assert_string_equal(jstr(s, "merged_into"), dst);
	cJSON_Delete(s);
	tk_path(path, sizeof path, dst, "/comments");
	assert_int_equal(req(&r, "GET", path, W.cust1, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	assert_string_equal(jstr(cJSON_GetArrayItem(jitems(&r), 0), "body"), "since monday");
	httpc_resp_free(&r);
	tk_path(path, sizeof path, dst, "/history");
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	const cJSON *last = cJSON_GetArrayItem(jitems(&r), cJSON_GetArraySize(jitems(&r)) - 1);
	assert_string_equal(jstr(last, "field"), "merged_from");
	assert_string_equal(jstr(last, "to"), src);
	httpc_resp_free(&r);

	/* merged source, closed target */
	tk_path(path, sizeof path, src, "/merge");
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", other);
	expect_invalid("POST", path, W.agent, body, "id");
	tk_path(path, sizeof path, other, "/merge");
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", src);
	expect_invalid("POST", path, W.admin, body, "into");
}

static void test_time_entries(void **state)
{
	char t[37], foreign[37], path[128], note[2100], body[2200];
	ticket_new_id(W.cust1, "printer jam", t);
	ticket_new_id(W.demo, "acme printer", foreign);
	tk_path(path, sizeof path, t, "/time-entries");
	httpc_resp r;
	assert_int_equal(
	    req(&r, "POST", path, W.tech, "{\"minutes\":45,\"note\":\"replaced roller\"}"), 201);
	assert_string_equal(jstr(r.json, "user_id"), W.tech_id);
	assert_int_equal(jnum(r.json, "minutes"), 45);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "billable")));
	httpc_resp_free(&r);
	expect(201, "POST", path, W.agent, "{\"minutes\":15,\"billable\":false}");
	cJSON *j = tk_ticket_get(W.cust1, t);
	assert_int_equal(jnum(j, "time_spent_minutes"), 60);
	cJSON_Delete(j);

	expect_invalid("POST", path, W.tech, "{\"minutes\":0}", "minutes");
	expect_invalid("POST", path, W.tech, "{\"minutes\":1441}", "minutes");
	expect_invalid("POST", path, W.tech, "{\"note\":\"no minutes\"}", "minutes");
	memset(note, 'n', 2001);
	note[2001] = '\0';
	snprintf(body, sizeof body, "{\"minutes\":5,\"note\":\"%s\"}", note);
	expect_invalid("POST", path, W.tech, body, "note");
	expect(403, "POST", path, W.cust1, "{\"minutes\":5}");
	expect(403, "GET", path, W.cust1, NULL);

	char url[256];
	snprintf(url, sizeof url, "%s?limit=1", path);
	assert_int_equal(req(&r, "GET", url, W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	assert_int_equal(jnum(cJSON_GetArrayItem(jitems(&r), 0), "minutes"), 45);
	snprintf(url, sizeof url, "%s?limit=1&cursor=%s", path, jstr(r.json, "next_cursor"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", url, W.tech, NULL), 200);
	assert_int_equal(jnum(cJSON_GetArrayItem(jitems(&r), 0), "minutes"), 15);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor")));
	httpc_resp_free(&r);

	tk_path(path, sizeof path, foreign, "/time-entries");
	expect(404, "POST", path, W.agent, "{\"minutes\":5}");
	expect(404, "GET", path, W.agent, NULL);
}

static void test_satisfaction(void **state)
{
	char t[37], path[128];
	ticket_new_id(W.cust1, "slow laptop", t);
	tk_path(path, sizeof path, t, "/satisfaction");
	expect_invalid("POST", path, W.cust1, "{\"rating\":\"good\"}", "status");
	tk_ticket_move(t, "solved");
	expect_invalid("POST", path, W.cust1, "{\"rating\":\"great\"}", "rating");
	expect_invalid("POST", path, W.cust1, "{\"rating\":\"good\",\"stars\":5}", "stars");
	expect(404, "POST", path, W.cust2, "{\"rating\":\"good\"}");
	expect(403, "POST", path, W.agent, "{\"rating\":\"good\"}");
	expect(404, "POST", path, W.demo, "{\"rating\":\"good\"}");
	httpc_resp r;
	assert_int_equal(
	    req(&r, "POST", path, W.cust1, "{\"rating\":\"good\",\"comment\":\"thanks\"}"), 201);
	assert_string_equal(jstr(r.json, "rating"), "good");
	assert_string_equal(jstr(r.json, "comment"), "thanks");
	httpc_resp_free(&r);
	expect(409, "POST", path, W.cust1, "{\"rating\":\"bad\"}");
	cJSON *j = tk_ticket_get(W.cust1, t);
	assert_string_equal(jstr(j, "satisfaction"), "good");
	cJSON_Delete(j);
}

/* A ticket like three solved hardware ones gets their category and priority. */
static void test_suggestions(void **state)
{
	char t[37], path[128];
	for (int i = 0; i < 3; i++) {
		cJSON *j = ticket_new(W.agent,
		    "{\"subject\":\"monitor flickers green\",\"category\":"
		    "\"displays\",\"priority\":\"urgent\"}");
		tk_ticket_move(jstr(j, "id"), "solved");
		cJSON_Delete(j);
	}
	ticket_new_id(W.cust1, "green flicker on my monitor", t);
	tk_path(path, sizeof path, t, "/suggestions");
	expect(403, "GET", path, W.cust1, NULL);
	expect(403, "GET", path, W.tech, NULL);
	expect(404, "GET", path, W.demo, NULL);
	httpc_resp r;
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(r.json, "predicted");
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "articles")));
	assert_string_equal(jstr(p, "category"), "displays");
	assert_string_equal(jstr(p, "priority"), "urgent");
	assert_true(cJSON_GetObjectItemCaseSensitive(p, "confidence")->valuedouble == 1.0);
	httpc_resp_free(&r);
}

/* The ticket daemon's /metrics (docs/openapi.yaml): once a created ticket's event is
 * relayed, the bus counter has it and the outbox lag gauge exists. */
static void test_event_metrics(void **state)
{
	const char *port = getenv("HD_TICKET_ADMIN_PORT");
	if (port == NULL)
		fail_msg("HD_TICKET_ADMIN_PORT is not set (the stack's port-env)");
	char url[96], id[37];
	snprintf(url, sizeof url, "http://127.0.0.1:%s/metrics", port);
	const char *published = "hd_bus_events_published_total{type=\"ticket.created\"}";
	double before = httpc_metric(url, published);
	assert_true(before >= 0);
	ticket_new_id(W.cust1, "metrics check", id);
	double after = before;
	for (int i = 0; i < 100 && after <= before; i++) {
		struct timespec tick = { 0, 50 * 1000 * 1000 };
		nanosleep(&tick, NULL);
		after = httpc_metric(url, published);
	}
	assert_true(after >= before + 1);
	assert_true(httpc_metric(url, "hd_outbox_lag_seconds") >= 0);
	assert_true(httpc_metric(url, "hd_rpc_requests_total{op=\"tickets.create\"") >= 1);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("tkm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_time_entries),
		cmocka_unit_test(test_satisfaction),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_event_metrics),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
