/* Integration tests of hd-ticket: the daemon is started as a child process
 * (after `hd-ticket --migrate`) against the test PostgreSQL and driven
 * through its real NNG interface with hd_rpc_client and envelopes, as the
 * gateway does. Tenants and users are fresh UUIDs per run.
 * Env: HD_TEST_DATABASE_URL (app role), HD_TEST_DATABASE_ADMIN_URL (owner),
 * HD_TEST_BIN_DIR (where hd-ticket is; default ../../build/bin), HD_TEST_ROOT
 * (the repository, for services/ticket/sql; default ../..), optional
 * HD_TICKET_SQL_DIR.
 * The test fails when the daemon's stderr shows "Sanitizer" or "runtime error". */
#include <pthread.h>
#include "ticket_it.h"

static struct {
	it_who admin, agent, cust, cust2, other_admin;
} T;

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&T.admin, NULL, "admin");
	it_who_make(&T.agent, T.admin.tenant, "agent");
	it_who_make(&T.cust, T.admin.tenant, "customer");
	it_who_make(&T.cust2, T.admin.tenant, "customer");
	it_who_make(&T.other_admin, NULL, "admin");
	return it_daemon_start(&T.admin);
}

/* ---- tests -------------------------------------------------------------- */

static void test_create_and_get(void **state)
{
	char body[512];
	snprintf(body, sizeof(body),
	    "{\"subject\":\"Printer on fire\",\"description\":\"third "
	    "floor\",\"priority\":\"high\","
	    "\"category\":\"hardware\",\"tags\":[\"printer\",\"urgent-ish\"],\"assignee_id\":\"%"
	    "s\"}",
	    T.agent.user);
	daemon_reply r = it_call("tickets.create", &T.agent, NULL, NULL, body);
	it_expect_status(&r, 201);
	const char *id = it_str(r.json, "id");
	assert_non_null(id);
	char want_loc[128];
	snprintf(want_loc, sizeof(want_loc), "/v1/tickets/%s", id);
	assert_string_equal(it_header(&r, "location"), want_loc);
	assert_string_equal(it_header(&r, "etag"), "\"1\"");
	assert_string_equal(it_str(r.json, "status"), "new");
	assert_string_equal(it_str(r.json, "priority"), "high");
	assert_string_equal(it_str(r.json, "requester_id"), T.agent.user);
	assert_string_equal(it_str(r.json, "assignee_id"), T.agent.user);
	assert_true(it_num(r.json, "number") >= 1);
	assert_int_equal((int)it_num(r.json, "version"), 1);
	assert_int_equal(strlen(it_str(r.json, "created_at")), 24);
	char *created = strdup(r.body);
	char tid[37];
	strcpy(tid, id);
	daemon_reply_free(&r);

	r = it_call("tickets.get", &T.admin, tid, NULL, NULL);
	it_expect_status(&r, 200);
	assert_string_equal(it_header(&r, "etag"), "\"1\"");
	assert_string_equal(r.body, created);
	free(created);
	daemon_reply_free(&r);

	it_check(404, "tickets.get", &T.admin, "01900000-0000-7000-8000-00000000dead", NULL);
	it_check(404, "tickets.get", &T.admin, "not-a-uuid", NULL);
	/* another tenant never sees it */
	it_check(404, "tickets.get", &T.other_admin, tid, NULL);
	/* no identity: 401 */
	it_check(401, "tickets.get", NULL, tid, NULL);
}

static void test_create_validation(void **state)
{
	char big[70000], body[72000], tags[2048];
	memset(big, 'x', 65537);
	big[65537] = '\0';
	daemon_reply r;
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{}");
	it_expect_422(&r, "subject");
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"\"}");
	it_expect_422(&r, "subject");
	memset(body, 0, sizeof(body));
	snprintf(body, sizeof(body), "{\"subject\":\"%.201s\"}", big);
	r = it_call("tickets.create", &T.agent, NULL, NULL, body);
	it_expect_422(&r, "subject");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"description\":\"%s\"}", big);
	r = it_call("tickets.create", &T.agent, NULL, NULL, body);
	it_expect_422(&r, "description");
	r = it_call(
	    "tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"priority\":\"meh\"}");
	it_expect_422(&r, "priority");
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"subject2\":1}");
	it_expect_422(&r, "subject2");
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":5}");
	it_expect_422(&r, "subject");
	strcpy(tags, "{\"subject\":\"s\",\"tags\":[");
	for (int i = 0; i < 21; i++)
		strcat(tags, i > 0 ? ",\"t\"" : "\"t\"");
	strcat(tags, "]}");
	r = it_call("tickets.create", &T.agent, NULL, NULL, tags);
	it_expect_422(&r, "tags");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"tags\":[\"%.51s\"]}", big);
	r = it_call("tickets.create", &T.agent, NULL, NULL, body);
	it_expect_422(&r, "tags");
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"tags\":\"a\"}");
	it_expect_422(&r, "tags");
	r = it_call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"tags\":[1]}");
	it_expect_422(&r, "tags");
	r = it_call(
	    "tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"requester_id\":\"x\"}");
	it_expect_422(&r, "requester_id");
	r = it_call(
	    "tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"assignee_id\":12}");
	it_expect_422(&r, "assignee_id");
	r = it_call(
	    "tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"category\":\"\"}");
	it_expect_422(&r, "category");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"requester_id\":\"%s\"}", T.agent.user);
	r = it_call("tickets.create", &T.cust, NULL, NULL, body);
	it_expect_422(&r, "requester_id");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"assignee_id\":\"%s\"}", T.agent.user);
	r = it_call("tickets.create", &T.cust, NULL, NULL, body);
	it_expect_422(&r, "assignee_id");
	it_check(400, "tickets.create", &T.agent, NULL, "{\"subject\":");
	it_check(422, "tickets.create", &T.agent, NULL, "[1]");
	it_check(400, "tickets.create", &T.agent, NULL, NULL);
	/* nothing of the above was stored */
	assert_int_equal(
	    it_admin_count(
	        "SELECT count(*) FROM ticket.tickets WHERE tenant_id = $1 AND subject = 's'",
	        T.admin.tenant, NULL),
	    0);
}

static void test_customer_visibility(void **state)
{
	char mine[37], theirs[37], staff[37];
	it_ticket(&T.cust, "{\"subject\":\"my ticket\"}", mine);
	it_ticket(&T.cust2, "{\"subject\":\"their ticket\"}", theirs);
	it_ticket(&T.agent, "{\"subject\":\"staff ticket\"}", staff);
	daemon_reply r = it_call("tickets.get", &T.cust, mine, NULL, NULL);
	it_expect_status(&r, 200);
	assert_string_equal(it_str(r.json, "requester_id"), T.cust.user);
	daemon_reply_free(&r);
	it_check(404, "tickets.get", &T.cust, theirs, NULL);
	it_check(404, "tickets.get", &T.cust, staff, NULL);
	r = it_call("tickets.list", &T.cust, NULL, "limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *it;
	int n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		assert_string_equal(it_str(it, "requester_id"), T.cust.user);
		n++;
	}
	assert_true(n >= 1);
	daemon_reply_free(&r);
	it_check(403, "tickets.update", &T.cust, mine, "{\"subject\":\"x\"}");
	it_check(403, "tickets.delete", &T.agent, mine, NULL);
	it_check(403, "tickets.history", &T.cust, mine, NULL);
}

static void test_update_and_history(void **state)
{
	char id[37];
	it_ticket(&T.agent, "{\"subject\":\"to update\",\"tags\":[\"a\"]}", id);
	char body[256];
	snprintf(body, sizeof(body),
	    "{\"subject\":\"updated\",\"status\":\"open\",\"assignee_id\":\"%s\",\"tags\":[\"b\"]}",
	    T.agent.user);
	daemon_reply r = it_call_h("tickets.update", &T.agent, id, NULL, body, "if-match", "\"1\"");
	it_expect_status(&r, 200);
	assert_string_equal(it_header(&r, "etag"), "\"2\"");
	assert_string_equal(it_str(r.json, "subject"), "updated");
	assert_string_equal(it_str(r.json, "status"), "open");
	daemon_reply_free(&r);
	/* stale If-Match */
	it_check_h(
	    412, "tickets.update", &T.agent, id, "{\"priority\":\"low\"}", "if-match", "\"1\"");
	it_check_h(
	    412, "tickets.update", &T.agent, id, "{\"priority\":\"low\"}", "if-match", "garbage");
	/* forbidden moves */
	r = it_call("tickets.update", &T.agent, id, NULL, "{\"status\":\"new\"}");
	it_expect_422(&r, "status");
	r = it_call("tickets.update", &T.agent, id, NULL, "{\"status\":\"closed\"}");
	it_expect_422(&r, "status");
	r = it_call("tickets.update", &T.agent, id, NULL, "{\"status\":\"bogus\"}");
	it_expect_422(&r, "status");
	r = it_call("tickets.update", &T.agent, id, NULL, "{\"subject\":\"\"}");
	it_expect_422(&r, "subject");
	r = it_call("tickets.update", &T.agent, id, NULL, "{\"tags\":null}");
	it_expect_422(&r, "tags");
	/* allowed chain: open -> pending -> on_hold -> solved -> closed */
	const char *moves[] = { "pending", "on_hold", "solved", "closed" };
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "{\"status\":\"%s\"}", moves[i]);
		r = it_call("tickets.update", &T.admin, id, NULL, body);
		it_expect_status(&r, 200);
		assert_string_equal(it_str(r.json, "status"), moves[i]);
		if (strcmp(moves[i], "solved") == 0)
			assert_non_null(it_str(r.json, "solved_at"));
		daemon_reply_free(&r);
	}
	r = it_call("tickets.update", &T.admin, id, NULL, "{\"status\":\"open\"}");
	it_expect_422(&r, "status"); /* closed is final */
	/* a no-op keeps the version */
	r = it_call("tickets.update", &T.admin, id, NULL, "{\"subject\":\"updated\"}");
	it_expect_status(&r, 200);
	assert_string_equal(it_header(&r, "etag"), "\"6\"");
	daemon_reply_free(&r);
	/* history: subject, status, assignee_id, tags, then 4 status moves */
	r = it_call("tickets.history", &T.agent, id, "limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 8);
	int status_rows = 0;
	const cJSON *h;
	cJSON_ArrayForEach(h, items)
	{
		assert_string_equal(it_str(h, "actor_id"),
		    strcmp(it_str(h, "field"), "status") == 0 && status_rows > 0 ? T.admin.user
		                                                                 : T.agent.user);
		assert_non_null(it_str(h, "at"));
		if (strcmp(it_str(h, "field"), "status") == 0)
			status_rows++;
	}
	assert_int_equal(status_rows, 5);
	daemon_reply_free(&r);
	/* the history pages with a cursor */
	r = it_call("tickets.history", &T.agent, id, "limit=5", NULL);
	it_expect_status(&r, 200);
	const char *cur = it_str(r.json, "next_cursor");
	assert_non_null(cur);
	char q[256];
	snprintf(q, sizeof(q), "limit=5&cursor=%s", cur);
	daemon_reply r2 = it_call("tickets.history", &T.agent, id, q, NULL);
	it_expect_status(&r2, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r2.json, "items")), 3);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r2.json, "next_cursor")));
	daemon_reply_free(&r2);
	daemon_reply_free(&r);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.updated'"
	                   " AND data->'ticket'->>'id' = $1",
	        id, NULL),
	    5);
}

static void test_delete(void **state)
{
	char id[37];
	it_ticket(&T.agent, "{\"subject\":\"to delete\"}", id);
	daemon_reply r = it_call("tickets.delete", &T.other_admin, id, NULL, NULL);
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
	it_check(204, "tickets.delete", &T.admin, id, NULL);
	it_check(404, "tickets.get", &T.admin, id, NULL);
	it_check(404, "tickets.delete", &T.admin, id, NULL);
	it_check(404, "tickets.update", &T.admin, id, "{\"subject\":\"zombie\"}");
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.deleted'"
	                   " AND data->>'id' = $1",
	        id, NULL),
	    1);
}

static void test_idempotency(void **state)
{
	char key[64];
	snprintf(key, sizeof(key), "idem-%d-%ld", (int)getpid(), (long)time(NULL));
	const char *body = "{\"subject\":\"idempotent\"}";
	daemon_reply a
	    = it_call_h("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", key);
	it_expect_status(&a, 201);
	daemon_reply b
	    = it_call_h("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", key);
	it_expect_status(&b, 201);
	assert_string_equal(a.body, b.body);
	assert_string_equal(it_header(&a, "location"), it_header(&b, "location"));
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.tickets WHERE id = $1",
	                     it_str(a.json, "id"), NULL),
	    1);
	daemon_reply c = it_call_h("tickets.create", &T.agent, NULL, NULL,
	    "{\"subject\":\"other\"}", "idempotency-key", key);
	it_expect_422(&c, "Idempotency-Key");
	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	c = it_call_h("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", longkey);
	it_expect_422(&c, "Idempotency-Key");
	daemon_reply_free(&a);
	daemon_reply_free(&b);
}

/* Pages through the list with limit 2 and checks order and completeness. */
static void test_list_pagination_filters(void **state)
{
	it_who w;
	it_who_make(&w, NULL, "agent");
	char ids[7][37];
	for (int i = 0; i < 7; i++) {
		char body[128];
		snprintf(body, sizeof(body),
		    "{\"subject\":\"list %d zebra%s\",\"priority\":\"%s\",\"tags\":[\"t%d\"]}", i,
		    i == 3 ? " giraffe" : "", i % 2 ? "low" : "urgent", i % 3);
		it_ticket(&w, body, ids[i]);
	}
	char q[512] = "limit=2";
	int seen = 0;
	char prev[64] = "9999";
	for (int page = 0; page < 10; page++) {
		daemon_reply r = it_call("tickets.list", &w, NULL, q, NULL);
		it_expect_status(&r, 200);
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
		{
			char key[64];
			snprintf(
			    key, sizeof(key), "%s%s", it_str(it, "created_at"), it_str(it, "id"));
			assert_true(strcmp(key, prev) < 0);
			strcpy(prev, key);
			seen++;
		}
		const char *cur = it_str(r.json, "next_cursor");
		if (cur == NULL) {
			daemon_reply_free(&r);
			break;
		}
		snprintf(q, sizeof(q), "limit=2&cursor=%s", cur);
		daemon_reply_free(&r);
	}
	assert_int_equal(seen, 7);
	struct {
		const char *q;
		int n;
	} cases[] = { { "priority=low", 3 }, { "priority=urgent&tag=t0", 2 }, { "q=giraffe", 1 },
		{ "q=zebra", 7 }, { "status=new&sort=created_at", 7 }, { "status=open", 0 },
		{ "sort=-updated_at", 7 }, { "sort=updated_at&limit=100", 7 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		daemon_reply r = it_call("tickets.list", &w, NULL, cases[i].q, NULL);
		it_expect_status(&r, 200);
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"))
		    != cases[i].n)
			fail_msg("%s: %s", cases[i].q, r.body);
		daemon_reply_free(&r);
	}
	const char *bad[][2] = { { "limit=0", "limit" }, { "limit=101", "limit" },
		{ "limit=x", "limit" }, { "sort=priority", "sort" }, { "cursor=bm9wZQ", "cursor" },
		{ "status=nope", "status" }, { "assignee_id=1", "assignee_id" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		daemon_reply r = it_call("tickets.list", &w, NULL, bad[i][0], NULL);
		it_expect_422(&r, bad[i][1]);
	}
}

static void test_comments(void **state)
{
	char id[37];
	it_ticket(&T.cust, "{\"subject\":\"need help\"}", id);
	daemon_reply r = it_call("comments.create", &T.cust, id, NULL, "{\"body\":\"hello?\"}");
	it_expect_status(&r, 201);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "public")));
	daemon_reply_free(&r);
	r = it_call("comments.create", &T.cust, id, NULL, "{\"body\":\"secret\",\"public\":false}");
	it_expect_422(&r, "public");
	it_check(404, "comments.create", &T.cust2, id, "{\"body\":\"not mine\"}");
	r = it_call("comments.create", &T.agent, id, NULL, "{\"body\":\"\"}");
	it_expect_422(&r, "body");
	it_check(
	    201, "comments.create", &T.agent, id, "{\"body\":\"internal note\",\"public\":false}");
	r = it_call("tickets.get", &T.agent, id, NULL, NULL);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "first_response_at")));
	daemon_reply_free(&r);
	r = it_call("comments.create", &T.agent, id, NULL, "{\"body\":\"on it\"}");
	it_expect_status(&r, 201);
	char at[32];
	strcpy(at, it_str(r.json, "created_at"));
	daemon_reply_free(&r);
	r = it_call("tickets.get", &T.agent, id, NULL, NULL);
	assert_string_equal(it_str(r.json, "first_response_at"), at);
	daemon_reply_free(&r);
	r = it_call("comments.list", &T.cust, id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	daemon_reply_free(&r);
	r = it_call("comments.list", &T.agent, id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 3);
	daemon_reply_free(&r);
	it_check(404, "comments.list", &T.other_admin, id, NULL);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'comment.added'"
	                   " AND data->>'ticket_id' = $1",
	        id, NULL),
	    3);
}

typedef struct creator {
	it_who *w;
	int n, ok, invalid;
	int poison_at; /* index of the create whose subject is "poison", -1 for none */
} creator;

static void *creator_run(void *arg)
{
	creator *c = arg;
	for (int i = 0; i < c->n; i++) {
		const char *body = i == c->poison_at ? "{\"subject\":\"poison\"}"
		                                     : "{\"subject\":\"concurrent\"}";
		daemon_reply r = it_call("tickets.create", c->w, NULL, NULL, body);
		c->ok += r.status == 201;
		c->invalid += r.status == 422;
		daemon_reply_free(&r);
	}
	return NULL;
}

/* Runs nthreads x per creates for w; returns the 201 count (and 422s in *invalid). */
static int create_concurrently(it_who *w, int nthreads, int per, int poison_thread, int *invalid)
{
	pthread_t th[20];
	creator cr[20];
	int ok = 0;
	*invalid = 0;
	for (int i = 0; i < nthreads; i++) {
		cr[i] = (creator) { w, per, 0, 0, i == poison_thread ? per / 2 : -1 };
		assert_int_equal(pthread_create(&th[i], NULL, creator_run, &cr[i]), 0);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ok += cr[i].ok;
		*invalid += cr[i].invalid;
	}
	return ok;
}

static long tenant_count(const char *sql, const it_who *w)
{
	return it_admin_count(sql, w->tenant, NULL);
}

/* Asserts that w's tenant has n distinct numbers as distinct_sql ($1 the
 * tenant) counts them, and that the highest is n. */
static void expect_numbers(const it_who *w, const char *distinct_sql, long n)
{
	assert_int_equal(tenant_count(distinct_sql, w), n);
	assert_int_equal(
	    tenant_count("SELECT max(number) FROM ticket.tickets WHERE tenant_id = $1", w), n);
}

static void test_concurrent_numbers(void **state)
{
	it_who w;
	int invalid = 0;
	it_who_make(&w, NULL, "agent");
	assert_int_equal(create_concurrently(&w, 20, 10, -1, &invalid), 200);
	assert_int_equal(invalid, 0);
	expect_numbers(&w,
	    "SELECT count(DISTINCT number) FROM ticket.tickets"
	    " WHERE tenant_id = $1 AND number BETWEEN 1 AND 200",
	    200);
	assert_int_equal(tenant_count("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
	                              " AND type = 'ticket.created'",
	                     &w),
	    200);
}

/* A create that fails in the database while grouped with others fails
 * alone: the others are retried and succeed, numbers stay gap-free. */
static void test_grouped_create_failure(void **state)
{
	it_who w;
	int invalid = 0;
	it_who_make(&w, NULL, "agent");
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "ALTER TABLE ticket.tickets ADD CONSTRAINT"
	                     " test_poison CHECK (subject <> 'poison') NOT VALID",
	                     0, NULL, NULL),
	    HD_OK);
	int ok = create_concurrently(&w, 20, 6, 7, &invalid);
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "ALTER TABLE ticket.tickets DROP CONSTRAINT"
	                     " test_poison",
	                     0, NULL, NULL),
	    HD_OK);
	assert_int_equal(ok, 119);
	assert_int_equal(invalid, 1);
	expect_numbers(
	    &w, "SELECT count(DISTINCT number) FROM ticket.tickets WHERE tenant_id = $1", 119);
}

static void test_events_and_relay(void **state)
{
	it_who w, cust;
	it_who_make(&w, NULL, "agent");
	it_who_make(&cust, w.tenant, "customer");
	char id[37];
	it_ticket(&w, "{\"subject\":\"evented\"}", id);
	daemon_reply r = it_call("tickets.update", &w, id, NULL, "{\"status\":\"open\"}");
	daemon_reply_free(&r);
	/* events are numbered by the relay when it claims them: wait for both */
	const cJSON *items = NULL;
	for (int i = 0; i < 500; i++) {
		r = it_call("events.since", &w, NULL, NULL, "{\"after_seq\":0,\"limit\":10}");
		it_expect_status(&r, 200);
		items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
		if (cJSON_GetArraySize(items) == 2)
			break;
		daemon_reply_free(&r);
		usleep(10000);
	}
	assert_int_equal(cJSON_GetArraySize(items), 2);
	const cJSON *e0 = cJSON_GetArrayItem(items, 0), *e1 = cJSON_GetArrayItem(items, 1);
	assert_string_equal(it_str(e0, "type"), "ticket.created");
	assert_string_equal(it_str(e1, "type"), "ticket.updated");
	assert_string_equal(it_str(e0, "tenant_id"), w.tenant);
	assert_string_equal(it_str(e0, "actor"), w.user);
	assert_true(it_num(e1, "seq") > it_num(e0, "seq"));
	char q[64];
	snprintf(q, sizeof(q), "after_seq=%ld", it_num(e0, "seq"));
	daemon_reply_free(&r);
	r = it_call("events.since", &w, NULL, q, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);
	r = it_call("events.since", &w, NULL, "after_seq=-1", NULL);
	it_expect_422(&r, "after_seq");
	it_check(403, "events.since", &cust, NULL, NULL);
	/* the relay publishes and marks them */
	for (int i = 0; i < 500; i++) {
		if (it_admin_count("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
		                   " AND published_at IS NULL",
		        w.tenant, NULL)
		    == 0)
			return;
		usleep(10000);
	}
	fail_msg("the relay did not publish the events");
}

static void test_sla(void **state)
{
	it_who w;
	it_who_make(&w, NULL, "admin");
	it_check(200, "sla.put", &w, NULL,
	    "{\"targets\":{\"urgent\":{\"first_response_minutes\":30,\"resolution_minutes\":240}}"
	    "}");
	daemon_reply r = it_call(
	    "sla.put", &w, NULL, NULL, "{\"targets\":{\"urgent\":{\"first_response_minutes\":0}}}");
	it_expect_422(&r, "targets.urgent.first_response_minutes");
	r = it_call("sla.put", &w, NULL, NULL, "{\"targets\":{\"soon\":{}}}");
	it_expect_422(&r, "targets");
	r = it_call("sla.get", &w, NULL, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(
	    (int)it_num(cJSON_GetObjectItemCaseSensitive(
	                    cJSON_GetObjectItemCaseSensitive(r.json, "targets"), "urgent"),
	        "resolution_minutes"),
	    240);
	daemon_reply_free(&r);
	r = it_call(
	    "tickets.create", &w, NULL, NULL, "{\"subject\":\"sla\",\"priority\":\"urgent\"}");
	it_expect_status(&r, 201);
	const cJSON *sla = cJSON_GetObjectItemCaseSensitive(r.json, "sla");
	assert_non_null(it_str(sla, "first_response_due"));
	assert_non_null(it_str(sla, "resolution_due"));
	char id[37];
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
	/* move the due time into the past; the detector must report it once */
	assert_int_equal(it_admin_count("WITH u AS (UPDATE ticket.tickets SET first_response_due = "
	                                "now() - interval '1 minute'"
	                                " WHERE id = $1 RETURNING 1) SELECT count(*) FROM u",
	                     id, NULL),
	    1);
	for (int i = 0; i < 1000; i++) {
		if (it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'sla.breached'"
		                   " AND sla_ticket_id = $1",
		        id, NULL)
		    == 1)
			break;
		usleep(10000);
	}
	/* running the detector again (as after a restart) adds nothing */
	assert_true(it_admin_count("SELECT ticket.sla_detect(1000)", NULL, NULL) >= 0);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'sla.breached'"
	                   " AND sla_ticket_id = $1",
	        id, NULL),
	    1);
	r = it_call("tickets.get", &w, id, NULL, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r.json, "sla"), "breached")));
	daemon_reply_free(&r);
}

/* The resolution clock pauses while pending/on_hold, and a paused ticket is
 * never reported as breached. */
static void test_sla_pause(void **state)
{
	it_who w;
	it_who_make(&w, NULL, "admin");
	it_check(200, "sla.put", &w, NULL,
	    "{\"targets\":{\"normal\":{\"first_response_minutes\":60,\"resolution_minutes\":600}}"
	    "}");
	char id[37];
	it_ticket(&w, "{\"subject\":\"pausable\"}", id);
	it_check(200, "tickets.update", &w, id, "{\"status\":\"pending\"}");
	/* 10 minutes "pass" while pending, and the due time is already over */
	assert_int_equal(
	    it_admin_count("WITH u AS (UPDATE ticket.tickets SET sla_paused_at = sla_paused_at"
	                   " - interval '10 minutes', resolution_due = now() - interval '1 minute'"
	                   " WHERE id = $1 RETURNING 1) SELECT count(*) FROM u",
	        id, NULL),
	    1);
	assert_true(it_admin_count("SELECT ticket.sla_detect(1000)", NULL, NULL) >= 0);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE sla_ticket_id = $1"
	                   " AND sla_target = 'resolution'",
	        id, NULL),
	    0);
	it_check(200, "tickets.update", &w, id, "{\"status\":\"open\"}");
	/* leaving pending moved the due time 10 minutes later: from -1 to about +9 */
	assert_int_equal(
	    it_admin_count("SELECT round(extract(epoch FROM resolution_due - now()) / 60)"
	                   " FROM ticket.tickets WHERE id = $1",
	        id, NULL),
	    9);
	assert_int_equal(
	    it_admin_count(
	        "SELECT count(*) FROM ticket.tickets WHERE id = $1 AND sla_paused_at IS NULL", id,
	        NULL),
	    1);
}

static void expect_text(const char *sql, const char *want)
{
	char *v = NULL;
	assert_int_equal(hd_db_exec_sync(IT.admin_url, sql, 0, NULL, &v), HD_OK);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void test_sla_business_hours(void **state)
{
	/* Friday 16:30 UTC + 60 business minutes, Mon/Fri 09:00-17:00 */
	expect_text("SELECT ticket.ts(ticket.business_add('2024-01-05 16:30:00+00', 60,"
	            " '{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"09:00\",\"17:00\"]],"
	            "\"fri\":[[\"09:00\",\"17:00\"]]}}'))",
	    "2024-01-08T09:30:00.000Z");
	/* the same in Paris (UTC+1 in January): 16:30 local + 60 -> Monday 09:30 local */
	expect_text("SELECT ticket.ts(ticket.business_add('2024-01-05 15:30:00+00', 60,"
	            " '{\"timezone\":\"Europe/Paris\",\"days\":{\"mon\":[[\"09:00\",\"17:00\"]],"
	            "\"fri\":[[\"09:00\",\"17:00\"]]}}'))",
	    "2024-01-08T08:30:00.000Z");
	/* split windows: 11:00 + 90 with 09:00-12:00 and 13:00-17:00 -> 13:30 */
	expect_text("SELECT ticket.ts(ticket.business_add('2024-01-08 11:00:00+00', 90,"
	            " '{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"09:00\",\"12:00\"],"
	            "[\"13:00\",\"17:00\"]]}}'))",
	    "2024-01-08T13:30:00.000Z");
	it_who w;
	it_who_make(&w, NULL, "admin");
	const char *targets = "\"targets\":{\"normal\":{\"first_response_minutes\":60,"
	                      "\"resolution_minutes\":600}}";
	char body[512];
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"Mars/Olympus\",\"days\":{\"mon\":[[\"09:00\","
	    "\"17:00\"]]}}}",
	    targets);
	daemon_reply r = it_call("sla.put", &w, NULL, NULL, body);
	it_expect_422(&r, "business_hours.timezone");
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"17:00\",\"09:00\"]]"
	    "}}}",
	    targets);
	r = it_call("sla.put", &w, NULL, NULL, body);
	it_expect_422(&r, "business_hours.days");
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"UTC\",\"days\":{\"tue\":[[\"00:00\",\"24:00\"]]"
	    ","
	    "\"sat\":[[\"10:00\",\"11:00\"]]}}}",
	    targets);
	it_check(200, "sla.put", &w, NULL, body);
	char id[37];
	it_ticket(&w, "{\"subject\":\"business\"}", id);
	/* the due time is the business-hours one, not created_at + 60 minutes */
	const char *bh = "{\"timezone\":\"UTC\",\"days\":{\"tue\":[[\"00:00\",\"24:00\"]],"
	                 "\"sat\":[[\"10:00\",\"11:00\"]]}}";
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.tickets t WHERE t.id = $1"
	                   " AND t.first_response_due = ticket.business_add(t.created_at, 60, $2)"
	                   " AND t.resolution_due = ticket.business_add(t.created_at, 600, $2)",
	        id, bh),
	    1);
}

static void test_automations(void **state)
{
	it_who w, ag;
	it_who_make(&w, NULL, "admin");
	it_who_make(&ag, w.tenant, "agent");
	daemon_reply r = it_call("automations.create", &ag, NULL, NULL, "{}");
	it_expect_status(&r, 403);
	daemon_reply_free(&r);
	r = it_call(
	    "automations.create", &w, NULL, NULL, "{\"event\":\"ticket.created\",\"actions\":[]}");
	it_expect_422(&r, "name");
	r = it_call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[{\"type\":\"explode\","
	    "\"value\":\"x\"}]}");
	it_expect_422(&r, "actions[0].type");
	r = it_call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[{\"type\":\"notify_"
	    "webhook\",\"value\":\"http://x\"}]}");
	it_expect_422(&r, "actions[0].value");
	r = it_call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[],\"conditions\":[{"
	    "\"field\":\"status\",\"op\":\"in\",\"value\":\"new\"}]}");
	it_expect_422(&r, "conditions[0].value");
	r = it_call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"outages\",\"event\":\"ticket.created\","
	    "\"conditions\":[{\"field\":\"subject\",\"op\":\"contains\",\"value\":\"outage\"},"
	    "{\"field\":\"priority\",\"op\":\"in\",\"value\":[\"low\",\"normal\"]}],"
	    "\"actions\":[{\"type\":\"set_priority\",\"value\":\"urgent\"},{\"type\":\"add_tag\","
	    "\"value\":\"outage\"},"
	    "{\"type\":\"notify_webhook\",\"value\":\"https://example.com/hook\"}]}");
	it_expect_status(&r, 201);
	char rule[37];
	strcpy(rule, it_str(r.json, "id"));
	daemon_reply_free(&r);
	it_check(201, "automations.create", &w, NULL,
	    "{\"name\":\"solved\",\"event\":\"ticket.updated\",\"conditions\":[{\"field\":"
	    "\"status\",\"op\":\"eq\",\"value\":\"solved\"}],"
	    "\"actions\":[{\"type\":\"set_category\",\"value\":\"done\"}]}");
	r = it_call("tickets.create", &ag, NULL, NULL, "{\"subject\":\"Big OUTAGE in Paris\"}");
	it_expect_status(&r, 201);
	assert_string_equal(it_str(r.json, "priority"), "urgent");
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "tags"), 0)->valuestring,
	    "outage");
	char id[37];
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'automation.webhook'"
	                   " AND data->>'ticket_id' = $1",
	        id, NULL),
	    1);
	r = it_call("tickets.create", &ag, NULL, NULL, "{\"subject\":\"calm day\"}");
	assert_string_equal(it_str(r.json, "priority"), "normal");
	daemon_reply_free(&r);
	r = it_call("tickets.update", &ag, id, NULL, "{\"status\":\"solved\"}");
	it_expect_status(&r, 200);
	assert_string_equal(it_str(r.json, "category"), "done");
	daemon_reply_free(&r);
	r = it_call("tickets.history", &ag, id, NULL, NULL);
	const cJSON *last
	    = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "items"), 1);
	assert_non_null(last);
	assert_string_equal(it_str(last, "field"), "category");
	assert_string_equal(it_str(last, "to"), "done");
	daemon_reply_free(&r);
	r = it_call("automations.list", &w, NULL, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	daemon_reply_free(&r);
	r = it_call("automations.update", &w, rule, NULL, "{\"active\":false}");
	it_expect_status(&r, 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	assert_string_equal(it_str(r.json, "name"), "outages");
	daemon_reply_free(&r);
	r = it_call("tickets.create", &ag, NULL, NULL, "{\"subject\":\"another outage\"}");
	assert_string_equal(it_str(r.json, "priority"), "normal");
	daemon_reply_free(&r);
	it_check(204, "automations.delete", &w, rule, NULL);
	it_check(404, "automations.get", &w, rule, NULL);
}

/* Last: every event the tests above made carries exactly the payload
 * members proto/events.def lists for its type. */
static void test_event_payloads_as_declared(void **state)
{
	(void)state;
	int seen[HD_EVENT__COUNT] = { 0 };
	assert_true(it_outbox_payloads_check(seen) > 0);
	assert_true(seen[HD_EVENT_ticket_created] > 0);
	assert_true(seen[HD_EVENT_ticket_updated] > 0);
	assert_true(seen[HD_EVENT_ticket_deleted] > 0);
	assert_true(seen[HD_EVENT_comment_added] > 0);
	assert_true(seen[HD_EVENT_sla_breached] > 0);
	assert_true(seen[HD_EVENT_automation_webhook] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_get),
		cmocka_unit_test(test_create_validation),
		cmocka_unit_test(test_customer_visibility),
		cmocka_unit_test(test_update_and_history),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_list_pagination_filters),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_concurrent_numbers),
		cmocka_unit_test(test_grouped_create_failure),
		cmocka_unit_test(test_events_and_relay),
		cmocka_unit_test(test_sla),
		cmocka_unit_test(test_sla_pause),
		cmocka_unit_test(test_sla_business_hours),
		cmocka_unit_test(test_automations),
		cmocka_unit_test(test_event_payloads_as_declared),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
