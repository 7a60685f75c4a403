/* End to end: hd-ticket consumes hd-field's work order events
 * (docs/architecture.md, "Event consumers"). A work order linked to a
 * ticket is dispatched: the ticket gets the system's internal comment and a
 * history entry. hd-ticket is then stopped, the work order completed, and
 * hd-ticket started again: it catches up from its stored position and the
 * completion comment appears, exactly once (a later catch-up adds nothing).
 * Environment as tickets_e2e.h, plus HD_TEST_STACK_CTL (tests/lib/stackctl.sh). */
#include <time.h>
#include <unistd.h>
#include "tickets_e2e.h"

#define WAIT_S 15

static struct {
	char tech_id[37];
} F;

static int setup(void **state)
{
	(void)state;
	return tk_setup("ft");
}

static void stack(const char *verb, const char *name)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s %s", httpc_env("HD_TEST_STACK_CTL"), verb, name);
	assert_int_equal(system(cmd), 0);
}

/* The ticket's internal comments by the system (author_id null) whose body
 * has word, and its history entries of field work_order with status word. */
static void count_system(const char *ticket, const char *word, int *comments, int *entries)
{
	char path[160];
	httpc_resp r;
	const cJSON *it;
	*comments = *entries = 0;
	tk_path(path, sizeof path, ticket, "/comments?limit=100");
	if (req(&r, "GET", path, W.agent, NULL) == 200)
		cJSON_ArrayForEach(it, jitems(&r))
		{
			const cJSON *author = cJSON_GetObjectItemCaseSensitive(it, "author_id");
			const char *body = jstr(it, "body");
			if (cJSON_IsNull(author)
			    && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(it, "public"))
			    && body != NULL && strstr(body, word) != NULL)
				(*comments)++;
		}
	httpc_resp_free(&r);
	tk_path(path, sizeof path, ticket, "/history?limit=100");
	if (req(&r, "GET", path, W.agent, NULL) == 200)
		cJSON_ArrayForEach(it, jitems(&r))
		{
			const cJSON *to = cJSON_GetObjectItemCaseSensitive(it, "to");
			const char *field = jstr(it, "field"), *status = jstr(to, "status");
			if (field != NULL && strcmp(field, "work_order") == 0 && status != NULL
			    && strcmp(status, word) == 0
			    && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(it, "actor_id")))
				(*entries)++;
		}
	httpc_resp_free(&r);
}

/* Waits until the ticket has a system comment and entry for word. */
static void wait_system(const char *ticket, const char *word)
{
	int comments = 0, entries = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end; usleep(200 * 1000)) {
		count_system(ticket, word, &comments, &entries);
		if (comments > 0 && entries > 0)
			break;
	}
	assert_int_equal(comments, 1);
	assert_int_equal(entries, 1);
}

static void test_dispatch_and_completion_reach_the_ticket(void **state)
{
	(void)state;
	char body[512], path[160], ticket[37], wo[37];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\"pumps\"],\"location\":{\"lat\":48.85,\"lon\":2.35}}",
	    W.tech_id);
	assert_int_equal(req(&r, "POST", "/v1/technicians", W.admin, body), 201);
	snprintf(F.tech_id, sizeof F.tech_id, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	ticket_new_id(W.agent, "pump stopped", ticket);
	snprintf(body, sizeof body,
	    "{\"title\":\"Pump\",\"ticket_id\":\"%s\",\"location\":{\"lat\":48.86,\"lon\":2.36},"
	    "\"required_skills\":[\"pumps\"],\"window\":{\"start\":\"2032-05-04T09:00:00Z\","
	    "\"end\":\"2032-05-04T10:00:00Z\"}}",
	    ticket);
	assert_int_equal(req(&r, "POST", "/v1/work-orders", W.agent, body), 201);
	snprintf(wo, sizeof wo, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/work-orders/%s/dispatch", wo);
	assert_int_equal(req(&r, "POST", path, W.agent, "{}"), 200);
	assert_string_equal(jstr(r.json, "technician_id"), F.tech_id);
	httpc_resp_free(&r);
	wait_system(ticket, "dispatched");
	/* customers never see the internal comment */
	tk_path(path, sizeof path, ticket, "/comments");
	expect(404, "GET", path, W.cust1, NULL);

	/* completed while hd-ticket is down: applied on its start, once */
	stack("stop", "ticket");
	snprintf(path, sizeof path, "/v1/work-orders/%s", wo);
	expect(200, "PATCH", path, W.tech, "{\"status\":\"en_route\"}");
	expect(200, "PATCH", path, W.tech, "{\"status\":\"on_site\"}");
	expect(200, "PATCH", path, W.tech, "{\"status\":\"completed\",\"signed_by\":\"R. Roe\"}");
	stack("start", "ticket");
	wait_system(ticket, "completed");
	usleep(3 * 1000 * 1000); /* past a periodic catch-up (HD_CONSUMER_CATCHUP_MS) */
	int comments, entries;
	count_system(ticket, "completed", &comments, &entries);
	assert_int_equal(comments, 1);
	assert_int_equal(entries, 1);
	count_system(ticket, "dispatched", &comments, &entries);
	assert_int_equal(comments, 1);
	assert_int_equal(entries, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_completion_reach_the_ticket),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
