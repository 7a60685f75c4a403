/* End-to-end tests of ticket lists, numbering, SLA and automations over HTTP
 * through the gateway: gap-free numbers under 20 concurrent clients, keyset
 * pagination stable under concurrent inserts, filters, the SLA policy and
 * due times (and the breach detector, by moving a due time into the past
 * through HD_TEST_DATABASE_SUPER_URL), automation rules. Runs in a fresh
 * tenant of its own, so numbers start at 1. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "tickets_e2e.h"

#define CLIENTS 20
#define PER_CLIENT 10

typedef struct creator {
	int index;
	long numbers[PER_CLIENT];
	int failures;
} creator;

static void *creator_run(void *arg)
{
	creator *c = arg;
	char body[128];
	for (int i = 0; i < PER_CLIENT; i++) {
		httpc_resp r;
		snprintf(body, sizeof body, "{\"subject\":\"load %d.%d\",\"tags\":[\"load\"]}",
		    c->index, i);
		c->numbers[i] = -1;
		if (httpc_call(&r, "POST", "/v1/tickets", W.admin, body, NULL, NULL) != 0
		    || r.status != 201) {
			fprintf(stderr, "client %d: %ld %s\n", c->index, r.status,
			    r.body ? r.body : "");
			c->failures++;
		} else {
			c->numbers[i] = jnum(r.json, "number");
		}
		httpc_resp_free(&r);
	}
	return NULL;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* First test of the program: the tenant is new, so 1..200 exactly. */
static void test_concurrent_numbers(void **state)
{
	static creator cs[CLIENTS];
	pthread_t th[CLIENTS];
	long all[CLIENTS * PER_CLIENT];
	for (int i = 0; i < CLIENTS; i++) {
		cs[i].index = i;
		assert_int_equal(pthread_create(&th[i], NULL, creator_run, &cs[i]), 0);
	}
	int n = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(cs[i].failures, 0);
		for (int j = 0; j < PER_CLIENT; j++)
			all[n++] = cs[i].numbers[j];
	}
	qsort(all, (size_t)n, sizeof all[0], cmp_long);
	for (int i = 0; i < n; i++)
		assert_int_equal(all[i], i + 1);
	cJSON *t = ticket_new(W.admin, "{\"subject\":\"after the load\"}");
	assert_int_equal(jnum(t, "number"), n + 1);
	cJSON_Delete(t);
}

/* Lists path (with cursor when not NULL), adds the ids to seen (failing on
 * a duplicate) and returns the next cursor (malloc'ed) or NULL. */
static char *page(const char *path, const char *cursor, char seen[][37], int *nseen, int want)
{
	char url[512];
	httpc_resp r;
	const cJSON *t;
	snprintf(url, sizeof url, "%s%s%s", path, cursor ? "&cursor=" : "", cursor ? cursor : "");
	assert_int_equal(req(&r, "GET", url, W.agent, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), want);
	cJSON_ArrayForEach(t, jitems(&r))
	{
		for (int i = 0; i < *nseen; i++)
			assert_string_not_equal(seen[i], jstr(t, "id"));
		snprintf(seen[(*nseen)++], 37, "%s", jstr(t, "id"));
	}
	const char *next = jstr(r.json, "next_cursor");
	char *out = next != NULL ? strdup(next) : NULL;
	httpc_resp_free(&r);
	return out;
}

static void test_pagination(void **state)
{
	char ids[30][37], seen[40][37], late[37];
	int nseen = 0;
	for (int i = 0; i < 30; i++) {
		cJSON *t = ticket_new(W.admin, "{\"subject\":\"paged\",\"tags\":[\"paged\"]}");
		snprintf(ids[i], 37, "%s", jstr(t, "id"));
		cJSON_Delete(t);
	}
	const char *path = "/v1/tickets?tag=paged&limit=10";
	char *c1 = page(path, NULL, seen, &nseen, 10);
	assert_non_null(c1);
	/* newest first: page 1 holds the last ten created */
	for (int i = 0; i < 10; i++)
		assert_string_equal(seen[i], ids[29 - i]);
	for (int i = 0; i < 3; i++) { /* concurrent inserts between pages */
		cJSON *t = ticket_new(W.admin, "{\"subject\":\"late\",\"tags\":[\"paged\"]}");
		snprintf(late, sizeof late, "%s", jstr(t, "id"));
		cJSON_Delete(t);
	}
	char *c2 = page(path, c1, seen, &nseen, 10);
	assert_non_null(c2);
	char *c3 = page(path, c2, seen, &nseen, 10);
	assert_null(c3);
	for (int i = 0; i < 30; i++)
		assert_string_equal(seen[i], ids[29 - i]);
	free(c1);
	free(c2);

	/* oldest first sees the late ones at the end */
	nseen = 0;
	char *a = page("/v1/tickets?tag=paged&limit=20&sort=created_at", NULL, seen, &nseen, 20);
	char *b = page("/v1/tickets?tag=paged&limit=20&sort=created_at", a, seen, &nseen, 13);
	assert_null(b);
	assert_string_equal(seen[0], ids[0]);
	assert_string_equal(seen[32], late);
	free(a);

	expect_invalid("GET", "/v1/tickets?limit=0", W.agent, NULL, "limit");
	expect_invalid("GET", "/v1/tickets?limit=101", W.agent, NULL, "limit");
	expect_invalid("GET", "/v1/tickets?limit=ten", W.agent, NULL, "limit");
	expect_invalid("GET", "/v1/tickets?cursor=garbage", W.agent, NULL, "cursor");
	/* base64url("2024-02-30T10:00:00.000Z|<uuid>"): well shaped, no such day */
	expect_invalid("GET",
	    "/v1/"
	    "tickets?cursor=MjAyNC0wMi0zMFQxMDowMDowMC4wMDBafDAxOTBmNWE0LTdjMWUtN2QzYS05YjdlLTJm"
	    "NGMxYTJiM2M0ZA",
	    W.agent, NULL, "cursor");
	expect_invalid("GET", "/v1/tickets?sort=subject", W.agent, NULL, "sort");
}

/* Lists path as the agent; asserts every item has key == value and returns the count. */
static int list_all_match(const char *path, const char *key, const char *value)
{
	httpc_resp r;
	const cJSON *t;
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	int n = cJSON_GetArraySize(jitems(&r));
	cJSON_ArrayForEach(t, jitems(&r))
	{
		if (key != NULL)
			assert_string_equal(jstr(t, key), value);
	}
	httpc_resp_free(&r);
	return n;
}

static void test_filters(void **state)
{
	char open_id[37], path[160], body[256];
	snprintf(body, sizeof body,
	    "{\"subject\":\"filter zanzibarite\",\"priority\":\"urgent\",\"tags\":[\"flt\"],"
	    "\"assignee_id\":\"%s\"}",
	    W.agent_id);
	cJSON *t = ticket_new(W.admin, body);
	snprintf(open_id, sizeof open_id, "%s", jstr(t, "id"));
	cJSON_Delete(t);
	cJSON_Delete(ticket_new(W.admin, "{\"subject\":\"filter two\",\"tags\":[\"flt\",\"x\"]}"));
	cJSON_Delete(ticket_new(W.admin, "{\"subject\":\"filter three\",\"priority\":\"low\"}"));
	snprintf(path, sizeof path, "/v1/tickets/%s", open_id);
	expect(200, "PATCH", path, W.agent, "{\"status\":\"open\"}");

	assert_int_equal(list_all_match("/v1/tickets?status=open&limit=100", "status", "open"), 1);
	assert_int_equal(
	    list_all_match("/v1/tickets?priority=urgent&limit=100", "priority", "urgent"), 1);
	assert_int_equal(
	    list_all_match("/v1/tickets?priority=low&limit=100", "priority", "low"), 1);
	assert_int_equal(list_all_match("/v1/tickets?tag=flt", NULL, NULL), 2);
	assert_int_equal(list_all_match("/v1/tickets?tag=flt&priority=urgent", "id", open_id), 1);
	assert_int_equal(list_all_match("/v1/tickets?q=zanzibarite", "id", open_id), 1);
	assert_int_equal(list_all_match("/v1/tickets?q=nosuchwordanywhere", NULL, NULL), 0);
	snprintf(path, sizeof path, "/v1/tickets?assignee_id=%s", W.agent_id);
	assert_int_equal(list_all_match(path, "assignee_id", W.agent_id), 1);
	snprintf(path, sizeof path, "/v1/tickets?requester_id=%s&tag=flt", W.admin_id);
	assert_int_equal(list_all_match(path, "requester_id", W.admin_id), 2);
	assert_int_equal(list_all_match("/v1/tickets?status=solved", NULL, NULL), 0);

	expect_invalid("GET", "/v1/tickets?status=done", W.agent, NULL, "status");
	expect_invalid("GET", "/v1/tickets?priority=asap", W.agent, NULL, "priority");
	expect_invalid("GET", "/v1/tickets?assignee_id=me", W.agent, NULL, "assignee_id");
}

/* Parses an RFC 3339 UTC time with milliseconds into epoch milliseconds. */
static long long ms_of(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0;
	assert_non_null(s);
	assert_int_equal(sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
	    7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

static const char *sla_field(const cJSON *ticket, const char *key)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(ticket, "sla"), key);
}

/* Moves the ticket's first-response due time into the past, as if its
 * target had passed, straight in the database (superuser: RLS does not apply). */
static void due_in_past(const char *id)
{
	PGconn *db = PQconnectdb(httpc_env("HD_TEST_DATABASE_SUPER_URL"));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	const char *p[1] = { id };
	PGresult *res = PQexecParams(db,
	    "UPDATE ticket.tickets SET first_response_due = now() - interval '1 second'"
	    " WHERE id = $1",
	    1, NULL, p, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(res), "1");
	PQclear(res);
	PQfinish(db);
}

static void test_sla(void **state)
{
	const char *policy = "{\"targets\":{\"urgent\":{\"first_response_minutes\":1,"
	                     "\"resolution_minutes\":2},\"normal\":{\"first_response_minutes\":60,"
	                     "\"resolution_minutes\":480}}}";
	httpc_resp r;
	assert_int_equal(req(&r, "PUT", "/v1/sla-policy", W.admin, policy), 200);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/sla-policy", W.agent, NULL), 200);
	const cJSON *urgent = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "targets"), "urgent");
	assert_int_equal(jnum(urgent, "first_response_minutes"), 1);
	assert_int_equal(jnum(urgent, "resolution_minutes"), 2);
	httpc_resp_free(&r);
	expect(403, "PUT", "/v1/sla-policy", W.agent, policy);
	expect_invalid("PUT", "/v1/sla-policy", W.admin,
	    "{\"targets\":{\"urgent\":{\"first_response_minutes\":0,\"resolution_minutes\":2}}}",
	    "targets.urgent.first_response_minutes");
	expect_invalid("PUT", "/v1/sla-policy", W.admin,
	    "{\"targets\":{\"asap\":{\"first_response_minutes\":1,\"resolution_minutes\":2}}}",
	    "targets");
	expect_invalid("PUT", "/v1/sla-policy", W.admin, "{\"targets\":[]}", "targets");

	/* due times from the policy at creation */
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"sla clock\",\"priority\":\"urgent\"}");
	long long created = ms_of(jstr(t, "created_at"));
	assert_true(ms_of(sla_field(t, "first_response_due")) - created == 60 * 1000);
	assert_true(ms_of(sla_field(t, "resolution_due")) - created == 120 * 1000);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "sla"), "breached")));
	char id[37], path[96];
	snprintf(id, sizeof id, "%s", jstr(t, "id"));
	cJSON_Delete(t);
	t = ticket_new(W.cust1, "{\"subject\":\"no target\",\"priority\":\"low\"}");
	assert_null(sla_field(t, "first_response_due"));
	cJSON_Delete(t);

	/* the detector (every few seconds) marks the breach */
	due_in_past(id);
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	bool breached = false;
	for (int i = 0; i < 60 && !breached; i++) {
		assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
		breached = cJSON_IsTrue(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "sla"), "breached"));
		httpc_resp_free(&r);
		if (!breached)
			usleep(250 * 1000);
	}
	assert_true(breached);
}

/* auto_triage is an action of ticket.created rules only: refused in a
 * ticket.updated rule, whether it comes with the rule or by a PATCH of the
 * event alone (the table's check), and nothing is changed. */
static void test_auto_triage_on_create_only(void)
{
	const char *triage = "\"actions\":[{\"type\":\"auto_triage\",\"value\":\"0.8\"}]";
	char body[256], path[96];
	httpc_resp r;
	snprintf(body, sizeof body, "{\"name\":\"x\",\"event\":\"ticket.updated\",%s}", triage);
	expect_invalid("POST", "/v1/automations", W.admin, body, "actions");
	snprintf(body, sizeof body,
	    "{\"name\":\"triage\",\"event\":\"ticket.created\",\"active\":false,%s}", triage);
	assert_int_equal(req(&r, "POST", "/v1/automations", W.admin, body), 201);
	snprintf(path, sizeof path, "/v1/automations/%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "PATCH", path, W.admin, "{\"event\":\"ticket.updated\"}"), 422);
	assert_non_null(strstr(jstr(r.json, "detail"), "ticket.created rules only"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_string_equal(jstr(r.json, "event"), "ticket.created");
	httpc_resp_free(&r);
	expect(204, "DELETE", path, W.admin, NULL);
}

static void test_automations(void **state)
{
	const char *rule
	    = "{\"name\":\"urgent words\",\"event\":\"ticket.created\",\"conditions\":[{\"field\":"
	      "\"subject\",\"op\":\"contains\",\"value\":\"urgent\"}],\"actions\":[{\"type\":"
	      "\"set_priority\",\"value\":\"urgent\"},{\"type\":\"add_tag\",\"value\":\"auto\"}],"
	      "\"active\":true}";
	char id[37], path[96];
	httpc_resp r;
	assert_int_equal(req(&r, "POST", "/v1/automations", W.admin, rule), 201);
	snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
	assert_string_equal(jstr(r.json, "event"), "ticket.created");
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/automations/%s", id);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_string_equal(jstr(r.json, "name"), "urgent words");
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/automations", W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "PATCH", path, W.admin, "{\"name\":\"urgent words v2\"}"), 200);
	assert_string_equal(jstr(r.json, "name"), "urgent words v2");
	httpc_resp_free(&r);
	expect(403, "POST", "/v1/automations", W.agent, rule);
	expect(403, "GET", path, W.agent, NULL);

	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"URGENT: server down\",\"tags\":[\"srv\"]}");
	assert_string_equal(jstr(t, "priority"), "urgent");
	const cJSON *tags = cJSON_GetObjectItem(t, "tags"), *g;
	bool tagged = false;
	cJSON_ArrayForEach(g, tags)
	{
		tagged = tagged || strcmp(g->valuestring, "auto") == 0;
	}
	assert_true(tagged);
	cJSON_Delete(t);
	t = ticket_new(W.cust1, "{\"subject\":\"a calm question\"}");
	assert_string_equal(jstr(t, "priority"), "normal");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "tags")), 0);
	cJSON_Delete(t);

	expect_invalid("POST", "/v1/automations", W.admin,
	    "{\"name\":\"x\",\"event\":\"ticket.eaten\",\"conditions\":[],\"actions\":[]}",
	    "event");
	expect_invalid("POST", "/v1/automations", W.admin,
	    "{\"name\":\"x\",\"event\":\"ticket.created\",\"conditions\":[{\"field\":"
	    "\"subject\",\"op\":\"like\",\"value\":\"a\"}],\"actions\":[{\"type\":\"explode\","
	    "\"value\":\"now\"},{\"type\":\"set_priority\",\"value\":\"asap\"}]}",
	    "conditions[0].op");
	expect_invalid("POST", "/v1/automations", W.admin,
	    "{\"name\":\"x\",\"event\":\"ticket.created\",\"actions\":[{\"type\":"
	    "\"set_priority\",\"value\":\"asap\"}]}",
	    "actions[0].value");
	expect_invalid("POST", "/v1/automations", W.admin,
	    "{\"name\":\"x\",\"event\":\"ticket.created\",\"actions\":[{\"type\":"
	    "\"explode\",\"value\":\"now\"}]}",
	    "actions[0].type");
	expect_invalid("POST", "/v1/automations", W.admin, "{\"name\":\"x\"}", "actions");
	expect(400, "POST", "/v1/automations", W.admin, "{\"name\":");
	expect(204, "DELETE", path, W.admin, NULL);
	expect(404, "GET", path, W.admin, NULL);
	expect(404, "DELETE", path, W.admin, NULL);
	t = ticket_new(W.cust1, "{\"subject\":\"urgent after the rule is gone\"}");
	assert_string_equal(jstr(t, "priority"), "normal");
	cJSON_Delete(t);
	test_auto_triage_on_create_only();
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("tkf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_numbers),
		cmocka_unit_test(test_pagination),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_sla),
		cmocka_unit_test(test_automations),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
