/* Integration tests of hd-ticket's merge, time entries and satisfaction
 * operations, driven over its real NNG interface (ticket_it.h) against the
 * test PostgreSQL. Env as test_ticket.c: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include <pthread.h>
#include "hd/json.h"
#include "hd/query.h"
#include "ticket_it.h"

static struct {
	it_who admin, agent, tech, cust, cust2, other;
} U;

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&U.admin, NULL, "admin");
	it_who_make(&U.agent, U.admin.tenant, "agent");
	it_who_make(&U.tech, U.admin.tenant, "technician");
	it_who_make(&U.cust, U.admin.tenant, "customer");
	it_who_make(&U.cust2, U.admin.tenant, "customer");
	it_who_make(&U.other, NULL, "admin");
	/* no hd-knowledge here: suggestions must come degraded, not fail */
	assert_true(daemon_child_port_env("HD_KNOWLEDGE_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	return it_daemon_start(&U.admin);
}

/* Returns ticket id's JSON as w (caller deletes). */
static cJSON *ticket_get(const it_who *w, const char *id)
{
	daemon_reply r = it_call("tickets.get", w, id, NULL, NULL);
	it_expect_status(&r, 200);
	cJSON *j = r.json;
	r.json = NULL;
	daemon_reply_free(&r);
	return j;
}

/* Asserts that the history of ticket id has an entry field -> to. */
static void history_has(const char *id, const char *field, const char *to)
{
	daemon_reply r = it_call("tickets.history", &U.agent, id, NULL, NULL);
	const cJSON *e;
	int found = 0;
	it_expect_status(&r, 200);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		const char *f = it_str(e, "field"), *t = it_str(e, "to");
		found |= f != NULL && t != NULL && strcmp(f, field) == 0 && strcmp(t, to) == 0;
	}
	if (!found)
		fail_msg("history of %s has no %s -> %s: %s", id, field, to, r.body);
	daemon_reply_free(&r);
}

static void test_merge(void **state)
{
	char src[37], dst[37], third[37], foreign[37], body[128];
	it_ticket(&U.cust, "{\"subject\":\"printer broken\"}", src);
	it_ticket(&U.cust, "{\"subject\":\"printer still broken\"}", dst);
	it_ticket(&U.agent, "{\"subject\":\"unrelated\"}", third);
	it_ticket(&U.other, "{\"subject\":\"another tenant\"}", foreign);
	it_check(201, "comments.create", &U.cust, src, "{\"body\":\"it smokes\"}");
	it_check(201, "comments.create", &U.agent, src, "{\"body\":\"note\",\"public\":false}");
	it_check(201, "comments.create", &U.cust, dst, "{\"body\":\"on the target\"}");

	snprintf(body, sizeof body, "{\"into\":\"%s\"}", src);
	it_check_422("into", "tickets.merge", &U.agent, src, body);
	it_check_422("into", "tickets.merge", &U.agent, src, "{}");
	it_check_422("into", "tickets.merge", &U.agent, src, "{\"into\":\"nope\"}");
	it_check_422("extra", "tickets.merge", &U.agent, src, "{\"into\":null,\"extra\":1}");
	it_check(400, "tickets.merge", &U.agent, src, NULL);
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", foreign);
	it_check(404, "tickets.merge", &U.agent, src, body);
	it_check(404, "tickets.merge", &U.other, src, body);
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", "01900000-0000-7000-8000-00000000dead");
	it_check(404, "tickets.merge", &U.agent, src, body);
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", dst);
	it_check(403, "tickets.merge", &U.cust, src, body);
	it_check(403, "tickets.merge", &U.tech, src, body);
	it_check(401, "tickets.merge", NULL, src, body);

	daemon_reply r = it_call("tickets.merge", &U.agent, src, NULL, body);
	it_expect_status(&r, 200);
	assert_string_equal(it_str(r.json, "id"), dst);
	/* 1: created, 2: the customer's comment changed its sentiment, 3: merged */
	assert_int_equal(it_num(r.json, "version"), 3);
	daemon_reply_free(&r);
	cJSON *s = ticket_get(&U.admin, src);
	assert_string_equal(it_str(s, "status"), "closed");
	assert_string_equal(it_str(s, "merged_into"), dst);
	cJSON_Delete(s);
	/* the target lists its own comment and both of the source's, in time order */
	r = it_call("comments.list", &U.admin, dst, NULL, NULL);
	it_expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 3);
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 0), "body"), "it smokes");
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 2), "body"), "on the target");
	daemon_reply_free(&r);
	r = it_call("comments.list", &U.cust, dst, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	daemon_reply_free(&r);
	history_has(src, "merged_into", dst);
	history_has(src, "status", "closed");
	history_has(dst, "merged_from", src);
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type ="
	                                " 'ticket.merged' AND data->>'source_id' = $1",
	                     src, NULL),
	    1);
	/* the merge's two (the customer's comments made their own, of sentiment) */
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type ="
	                                " 'ticket.updated' AND data->'ticket'->>'id' IN ($1, $2)"
	                                " AND NOT data::jsonb -> 'changes' ? 'sentiment'",
	                     src, dst),
	    2);

	/* the source is closed now: neither side of another merge */
	it_check_422("id", "tickets.merge", &U.agent, src, body);
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", src);
	it_check_422("into", "tickets.merge", &U.agent, third, body);
	/* a ticket closed the normal way cannot take a merge either */
	it_check(200, "tickets.update", &U.agent, dst, "{\"status\":\"solved\"}");
	it_check(200, "tickets.update", &U.agent, dst, "{\"status\":\"closed\"}");
	snprintf(body, sizeof body, "{\"into\":\"%s\"}", dst);
	it_check_422("into", "tickets.merge", &U.admin, third, body);
}

/* A merge call run on its own thread. */
typedef struct merge_call {
	const char *id, *body;
	int status;
} merge_call;

static void *merge_run(void *arg)
{
	merge_call *m = arg;
	daemon_reply r = it_call("tickets.merge", &U.agent, m->id, NULL, m->body);
	m->status = r.status;
	daemon_reply_free(&r);
	return NULL;
}

/* Two merges of the same pair in opposite directions at once: one wins,
 * the other sees a merged ticket (422); the fixed lock order means neither
 * deadlocks (which would surface as 503). */
static void test_merge_crossed(void **state)
{
	char a[37], b[37], ba[128], bb[128];
	for (int round = 0; round < 10; round++) {
		pthread_t th[2];
		it_ticket(&U.agent, "{\"subject\":\"crossed a\"}", a);
		it_ticket(&U.agent, "{\"subject\":\"crossed b\"}", b);
		snprintf(ba, sizeof ba, "{\"into\":\"%s\"}", b);
		snprintf(bb, sizeof bb, "{\"into\":\"%s\"}", a);
		merge_call m[2] = { { a, ba, 0 }, { b, bb, 0 } };
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&th[i], NULL, merge_run, &m[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(m[0].status + m[1].status, 200 + 422);
	}
}

static void test_time_entries(void **state)
{
	char t[37], foreign[37], note[2100], body[2200];
	it_ticket(&U.cust, "{\"subject\":\"needs a visit\"}", t);
	it_ticket(&U.other, "{\"subject\":\"elsewhere\"}", foreign);
	daemon_reply r = it_call("time_entries.create", &U.tech, t, NULL,
	    "{\"minutes\":30,\"note\":\"on site\",\"billable\":false}");
	it_expect_status(&r, 201);
	assert_string_equal(it_str(r.json, "ticket_id"), t);
	assert_string_equal(it_str(r.json, "user_id"), U.tech.user);
	assert_string_equal(it_str(r.json, "note"), "on site");
	assert_int_equal(it_num(r.json, "minutes"), 30);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "billable")));
	assert_int_equal(strlen(it_str(r.json, "created_at")), 24);
	char first[37];
	strcpy(first, it_str(r.json, "id"));
	daemon_reply_free(&r);
	r = it_call("time_entries.create", &U.agent, t, NULL, "{\"minutes\":15}");
	it_expect_status(&r, 201);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "billable")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "note")));
	daemon_reply_free(&r);
	it_check(201, "time_entries.create", &U.admin, t, "{\"minutes\":1440}");
	cJSON *j = ticket_get(&U.cust, t);
	assert_int_equal(it_num(j, "time_spent_minutes"), 30 + 15 + 1440);
	assert_int_equal(it_num(j, "version"), 4);
	cJSON_Delete(j);

	/* pages of one, oldest first */
	r = it_call("time_entries.list", &U.tech, t, "limit=1", NULL);
	it_expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 1);
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 0), "id"), first);
	char q[256];
	snprintf(q, sizeof q, "limit=2&cursor=%s", it_str(r.json, "next_cursor"));
	daemon_reply_free(&r);
	r = it_call("time_entries.list", &U.agent, t, q, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor")));
	daemon_reply_free(&r);
	r = it_call("time_entries.list", &U.agent, t, "cursor=zzz", NULL);
	it_expect_status(&r, 422);
	daemon_reply_free(&r);

	it_check_422("minutes", "time_entries.create", &U.tech, t, "{}");
	it_check_422("minutes", "time_entries.create", &U.tech, t, "{\"minutes\":0}");
	it_check_422("minutes", "time_entries.create", &U.tech, t, "{\"minutes\":1441}");
	it_check_422("minutes", "time_entries.create", &U.tech, t, "{\"minutes\":2.5}");
	it_check_422("minutes", "time_entries.create", &U.tech, t, "{\"minutes\":\"10\"}");
	it_check_422(
	    "billable", "time_entries.create", &U.tech, t, "{\"minutes\":5,\"billable\":1}");
	it_check_422("hours", "time_entries.create", &U.tech, t, "{\"minutes\":5,\"hours\":1}");
	memset(note, 'n', 2001);
	note[2001] = '\0';
	snprintf(body, sizeof body, "{\"minutes\":5,\"note\":\"%s\"}", note);
	it_check_422("note", "time_entries.create", &U.tech, t, body);
	it_check(403, "time_entries.create", &U.cust, t, "{\"minutes\":5}");
	it_check(403, "time_entries.list", &U.cust, t, NULL);
	it_check(404, "time_entries.create", &U.tech, foreign, "{\"minutes\":5}");
	it_check(404, "time_entries.list", &U.tech, foreign, NULL);
	it_check(404, "time_entries.create", &U.tech, "01900000-0000-7000-8000-00000000dead",
	    "{\"minutes\":5}");
	j = ticket_get(&U.admin, t);
	assert_int_equal(it_num(j, "time_spent_minutes"), 1485);
	cJSON_Delete(j);
}

static void test_satisfaction(void **state)
{
	char t[37], mine[37];
	it_ticket(&U.cust, "{\"subject\":\"rate me\"}", t);
	it_check_422("status", "satisfaction.create", &U.cust, t, "{\"rating\":\"good\"}");
	it_check(200, "tickets.update", &U.agent, t, "{\"status\":\"solved\"}");
	it_check_422("rating", "satisfaction.create", &U.cust, t, "{\"rating\":\"meh\"}");
	it_check_422("rating", "satisfaction.create", &U.cust, t, "{}");
	it_check_422("x", "satisfaction.create", &U.cust, t, "{\"rating\":\"good\",\"x\":1}");
	it_check(404, "satisfaction.create", &U.cust2, t, "{\"rating\":\"good\"}");
	it_check(403, "satisfaction.create", &U.agent, t, "{\"rating\":\"good\"}");
	it_check(404, "satisfaction.create", &U.other, t, "{\"rating\":\"good\"}");
	daemon_reply r = it_call(
	    "satisfaction.create", &U.cust, t, NULL, "{\"rating\":\"bad\",\"comment\":\"slow\"}");
	it_expect_status(&r, 201);
	assert_string_equal(it_str(r.json, "rating"), "bad");
	assert_string_equal(it_str(r.json, "comment"), "slow");
	assert_string_equal(it_str(r.json, "ticket_id"), t);
	daemon_reply_free(&r);
	it_check(409, "satisfaction.create", &U.cust, t, "{\"rating\":\"good\"}");
	cJSON *j = ticket_get(&U.cust, t);
	assert_string_equal(it_str(j, "satisfaction"), "bad");
	assert_int_equal(it_num(j, "version"), 3);
	cJSON_Delete(j);
	/* still once after a reopen */
	it_check(200, "tickets.update", &U.agent, t, "{\"status\":\"open\"}");
	it_check(409, "satisfaction.create", &U.cust, t, "{\"rating\":\"good\"}");

	/* any role rates a ticket it requested, closed counts too */
	it_ticket(&U.agent, "{\"subject\":\"mine\"}", mine);
	it_check(200, "tickets.update", &U.admin, mine, "{\"status\":\"solved\"}");
	it_check(200, "tickets.update", &U.admin, mine, "{\"status\":\"closed\"}");
	it_check(403, "satisfaction.create", &U.admin, mine, "{\"rating\":\"good\"}");
	it_check(201, "satisfaction.create", &U.agent, mine, "{\"rating\":\"good\"}");
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type ="
	                   " 'ticket.updated' AND (data->'changes')::jsonb ? 'satisfaction'"
	                   " AND data->'ticket'->>'id' IN ($1, $2)",
	        t, mine),
	    2);
}

/* Predicted from the most similar solved tickets of the tenant only. */
static void test_suggestions(void **state)
{
	char t[37], lone[37], foreign[37];
	it_who w;
	it_who_make(&w, NULL, "admin");
	for (int i = 0; i < 4; i++) {
		const char *body = i < 3 ? "{\"subject\":\"printer toner smudges\",\"category\":"
		                           "\"hardware\",\"priority\":\"high\"}"
		                         : "{\"subject\":\"password reset\",\"category\":"
		                           "\"accounts\",\"priority\":\"low\"}";
		it_ticket(&w, body, t);
		it_check(200, "tickets.update", &w, t, "{\"status\":\"solved\"}");
	}
	it_ticket(&w, "{\"subject\":\"unsolved printer toner\",\"category\":\"other\"}", lone);
	it_ticket(&w, "{\"subject\":\"toner smudges on the printer\"}", t);
	daemon_reply r = it_call("tickets.suggestions", &w, t, NULL, NULL);
	it_expect_status(&r, 200);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(r.json, "predicted");
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "articles")), 0);
	/* knowledge is not running: still 200, marked degraded */
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "degraded")));
	assert_string_equal(it_str(p, "category"), "hardware");
	assert_string_equal(it_str(p, "priority"), "high");
	assert_true(cJSON_GetObjectItemCaseSensitive(p, "confidence")->valuedouble == 1.0);
	daemon_reply_free(&r);
	it_ticket(&w, "{\"subject\":\"quantum flux capacitor\"}", lone);
	r = it_call("tickets.suggestions", &w, lone, NULL, NULL);
	it_expect_status(&r, 200);
	p = cJSON_GetObjectItemCaseSensitive(r.json, "predicted");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "category")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "priority")));
	assert_true(cJSON_GetObjectItemCaseSensitive(p, "confidence")->valuedouble == 0.0);
	daemon_reply_free(&r);
	it_ticket(&U.admin, "{\"subject\":\"printer toner smudges\"}", foreign);
	it_check(404, "tickets.suggestions", &w, foreign, NULL);
	it_check(403, "tickets.suggestions", &U.cust, foreign, NULL);
	it_check(403, "tickets.suggestions", &U.tech, foreign, NULL);
	it_check(200, "tickets.suggestions", &U.agent, foreign, NULL);
}

/* Asserts that body holds, byte for byte, ticket id as the SQL function
 * ticket.ticket_json(t)::text prints it (the write paths' object), made
 * compact as every reply is (hd_daemon_reply_json). */
static void same_as_sql(const char *body, const char *tenant, const char *id)
{
	char *want = NULL;
	const char *p[2] = { tenant, id };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "SELECT ticket.ticket_json(t)::text FROM ticket.tickets t"
	                     " WHERE t.tenant_id = $1 AND t.id = $2",
	                     2, p, &want),
	    HD_OK);
	assert_non_null(want);
	want[hd_json_compact(want, want, strlen(want))] = '\0';
	if (strstr(body, want) == NULL)
		fail_msg("ticket %s differs from ticket_json:\n%s\nin\n%s", id, want, body);
	free(want);
}

/* Sets the row's values the API cannot set (times before 1970 with
 * microseconds, infinity, tags with NULL) straight in the database. */
static void ticket_edge_values(const char *tenant, const char *id)
{
	const char *p[2] = { tenant, id };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "UPDATE ticket.tickets SET created_at = '1969-12-31 23:59:59.9995+00',"
	                     " updated_at = '2024-02-29 12:34:56.789999+00',"
	                     " first_response_at = '0001-12-31 00:00:00+00 BC',"
	                     " solved_at = '2100-02-28 23:59:59.000001+00',"
	                     " first_response_due = '10000-01-01 00:00:00.001+00',"
	                     " resolution_due = 'infinity', sla_breached = true,"
	                     " tags = ARRAY['a b', 'q\"x', 'back\\slash', NULL, 'NULL', '{}', '']"
	                     " WHERE tenant_id = $1 AND id = $2",
	                     2, p, NULL),
	    HD_OK);
}

/* GET one and the list write every ticket of the tenant (including those the
 * tests above merged, timed and rated) exactly as ticket_json did. */
static void test_read_paths_match_ticket_json(void **state)
{
	char odd[37], cursor_plain[128];
	it_ticket(&U.admin,
	    "{\"subject\":\"Quote \\\" back \\\\ tab \\t \\u0001 \u00e9\u20ac\\ud83d\\ude00 /\","
	    "\"description\":\"a\\rb\\bc\\fd\\u001f\\u007f\\n\",\"category\":\"x\\\"y\","
	    "\"tags\":[\"with space\",\"NULL\",\"q\\\"\",\"{a,b}\"],\"priority\":\"urgent\"}",
	    odd);
	daemon_reply g = it_call("tickets.get", &U.admin, odd, NULL, NULL);
	it_expect_status(&g, 200);
	same_as_sql(g.body, U.admin.tenant, odd);
	daemon_reply_free(&g);
	ticket_edge_values(U.admin.tenant, odd);
	daemon_reply l = it_call("tickets.list", &U.admin, NULL, "limit=100&sort=created_at", NULL);
	it_expect_status(&l, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(l.json, "items"), *e;
	assert_true(cJSON_GetArraySize(items) > 5);
	assert_string_equal(it_str(cJSON_GetArrayItem(items, 0), "id"), odd); /* 1969 first */
	cJSON_ArrayForEach(e, items)
	{
		const char *id = it_str(e, "id");
		same_as_sql(l.body, U.admin.tenant, id);
		g = it_call("tickets.get", &U.admin, id, NULL, NULL);
		it_expect_status(&g, 200);
		same_as_sql(g.body, U.admin.tenant, id);
		daemon_reply_free(&g);
	}
	daemon_reply_free(&l);
	/* the cursor carries the first ticket's created_at as ticket.ts gives it */
	l = it_call("tickets.list", &U.admin, NULL, "limit=1&sort=created_at", NULL);
	it_expect_status(&l, 200);
	const char *cur = it_str(l.json, "next_cursor");
	assert_non_null(cur);
	assert_int_equal(hd_cursor_decode(cur, cursor_plain, sizeof(cursor_plain)), HD_OK);
	char want[128];
	snprintf(want, sizeof(want), "1969-12-31T23:59:59.999Z|%s", odd);
	assert_string_equal(cursor_plain, want);
	daemon_reply_free(&l);
}

/* Last: the merges above wrote ticket.merged (and ticket.updated) events
 * whose payloads hold exactly the members proto/events.def lists. */
static void test_event_payloads_as_declared(void **state)
{
	(void)state;
	int seen[HD_EVENT__COUNT] = { 0 };
	assert_true(it_outbox_payloads_check(seen) > 0);
	assert_true(seen[HD_EVENT_ticket_merged] > 0);
	assert_true(seen[HD_EVENT_ticket_updated] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_crossed),
		cmocka_unit_test(test_time_entries),
		cmocka_unit_test(test_satisfaction),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_read_paths_match_ticket_json),
		cmocka_unit_test(test_event_payloads_as_declared),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
