/* Integration tests of hd-ticket: the daemon is started as a child process
 * (after `hd-ticket --migrate`) against the test PostgreSQL and driven
 * through its real NNG interface with hd_rpc_client and envelopes, as the
 * gateway does. Tenants and users are fresh UUIDs per run.
 * Env: HD_TEST_DATABASE_URL (app role), HD_TEST_DATABASE_ADMIN_URL (owner),
 * HD_TEST_BIN_DIR (where hd-ticket is; default ../../build/bin), HD_TEST_ROOT
 * (the repository, for services/ticket/sql; default ../..), optional
 * HD_TICKET_SQL_DIR.
 * The test fails when the daemon's stderr shows "Sanitizer" or "runtime error". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "daemon_child.h"
#include "envelope.h"
#include "hd/db.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

/* A caller identity as the gateway would put it in the envelope. */
typedef struct who {
	char tenant[37], user[37];
	const char *role;
} who;

/* A decoded reply. */
typedef daemon_reply resp;

static struct {
	daemon_child child;
	char url[64];
	const char *admin_url;
	hd_rpc_client *client;
	who admin, agent, cust, cust2, other_admin;
} T;

/* ---- helpers ------------------------------------------------------------ */

static const char *env_or_fail(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set", name);
	return v;
}

static void make_who(who *w, const char *tenant, const char *role)
{
	assert_int_equal(hd_uuid_v7(w->user), HD_OK);
	if (tenant != NULL)
		strcpy(w->tenant, tenant);
	else
		assert_int_equal(hd_uuid_v7(w->tenant), HD_OK);
	w->role = role;
}

static void resp_free(resp *r)
{
	daemon_reply_free(r);
}

/* A reply header, "" when absent. */
static const char *hdr(const resp *r, const char *name)
{
	const char *v = daemon_reply_header(r, name);
	return v != NULL ? v : "";
}

/* Calls op as w with path id, query, body and one optional header. */
static resp call(const char *op, const who *w, const char *id, const char *query, const char *body,
    const char *hname, const char *hvalue)
{
	hd_envelope e;
	resp r;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "%s", op);
	snprintf(e.request_id, sizeof(e.request_id), "test-%s", op);
	if (w != NULL) {
		strcpy(e.tenant_id, w->tenant);
		strcpy(e.user_id, w->user);
		snprintf(e.role, sizeof(e.role), "%s", w->role);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	if (query != NULL)
		snprintf(e.query, sizeof(e.query), "%s", query);
	if (id != NULL)
		assert_int_equal(hd_envelope_add_param(&e, "id", id), HD_OK);
	if (hname != NULL)
		assert_int_equal(hd_envelope_add_header(&e, hname, hvalue), HD_OK);
	e.body = body;
	e.body_len = body != NULL ? strlen(body) : 0;
	assert_int_equal(daemon_child_call(T.client, &e, 10000, &r), HD_OK);
	return r;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* Asserts a 422 whose errors name field. */
static void expect_422(resp *r, const char *field)
{
	if (r->status != 422)
		fail_msg("expected 422 for %s, got %d: %s", field, r->status, r->body);
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(r->json, "errors"), *e;
	int found = 0;
	cJSON_ArrayForEach(e, errs)
	{
		const char *f = jstr(e, "field");
		found |= f != NULL && strcmp(f, field) == 0;
	}
	if (!found)
		fail_msg("422 does not name %s: %s", field, r->body);
	resp_free(r);
}

static void expect_status(resp *r, int status)
{
	if (r->status != status)
		fail_msg("expected %d, got %d: %s", status, r->status, r->body);
}

/* Calls and asserts the status, discarding the reply. */
static void check(int status, const char *op, const who *w, const char *id, const char *query,
    const char *body, const char *hname, const char *hvalue)
{
	resp r = call(op, w, id, query, body, hname, hvalue);
	expect_status(&r, status);
	resp_free(&r);
}

/* Creates a ticket as w and returns its id (static buffer per call site). */
static void create_ticket(const who *w, const char *body, char id[37])
{
	resp r = call("tickets.create", w, NULL, NULL, body, NULL, NULL);
	expect_status(&r, 201);
	strcpy(id, jstr(r.json, "id"));
	resp_free(&r);
}

static long admin_count(const char *sql, const char *p1, const char *p2)
{
	char *v = NULL;
	const char *p[2] = { p1, p2 };
	int n = p2 != NULL ? 2 : (p1 != NULL ? 1 : 0);
	assert_int_equal(hd_db_exec_sync(T.admin_url, sql, n, p, &v), HD_OK);
	long c = v != NULL ? strtol(v, NULL, 10) : -1;
	free(v);
	return c;
}

/* ---- daemon lifecycle ---------------------------------------------------- */

static int group_setup(void **state)
{
	char sql[512];
	const char *root = getenv("HD_TEST_ROOT");
	snprintf(sql, sizeof(sql), "%s/services/ticket/sql", root != NULL ? root : "../..");
	setenv("HD_TICKET_SQL_DIR", sql, 0);
	T.admin_url = env_or_fail("HD_TEST_DATABASE_ADMIN_URL");
	setenv("HD_DATABASE_URL", env_or_fail("HD_TEST_DATABASE_URL"), 1);
	setenv("HD_DATABASE_ADMIN_URL", T.admin_url, 1);
	daemon_child_init(&T.child, "hd-ticket");
	if (daemon_child_run(&T.child, "--migrate") != 0)
		fail_msg("hd-ticket --migrate failed; see %s", T.child.log);
	assert_true(
	    daemon_child_port_env("HD_TICKET_URL", "tcp://127.0.0.1:%d", T.url, sizeof(T.url)) > 0);
	assert_true(daemon_child_port_env("HD_TICKET_ADMIN_PORT", "%d", NULL, 0) > 0);
	assert_true(daemon_child_port_env("HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	assert_int_equal(daemon_child_spawn(&T.child, NULL), 0);
	assert_int_equal(hd_rpc_client_open(&T.client, T.url), HD_OK);
	make_who(&T.admin, NULL, "admin");
	make_who(&T.agent, T.admin.tenant, "agent");
	make_who(&T.cust, T.admin.tenant, "customer");
	make_who(&T.cust2, T.admin.tenant, "customer");
	make_who(&T.other_admin, NULL, "admin");
	/* ready when a request is answered by a worker with its database up */
	for (int i = 0; i < 300 && daemon_child_alive(&T.child); i++) {
		if (hd_rpc_client_connected(T.client)) {
			resp r = call("sla.get", &T.admin, NULL, NULL, NULL, NULL, NULL);
			int st = r.status;
			resp_free(&r);
			if (st == 200)
				return 0;
		}
		usleep(20000);
	}
	fail_msg("hd-ticket did not become ready; see %s", T.child.log);
	return -1;
}

static int group_teardown(void **state)
{
	hd_rpc_client_close(T.client);
	int st = daemon_child_stop(&T.child, SIGTERM);
	if (!daemon_child_log_clean(&T.child))
		fail_msg("sanitizer report in %s", T.child.log);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fail_msg("hd-ticket exited badly (status %d)", st);
	daemon_child_log_remove(&T.child);
	return 0;
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
	resp r = call("tickets.create", &T.agent, NULL, NULL, body, NULL, NULL);
	expect_status(&r, 201);
	const char *id = jstr(r.json, "id");
	assert_non_null(id);
	char want_loc[128];
	snprintf(want_loc, sizeof(want_loc), "/v1/tickets/%s", id);
	assert_string_equal(hdr(&r, "location"), want_loc);
	assert_string_equal(hdr(&r, "etag"), "\"1\"");
	assert_string_equal(jstr(r.json, "status"), "new");
	assert_string_equal(jstr(r.json, "priority"), "high");
	assert_string_equal(jstr(r.json, "requester_id"), T.agent.user);
	assert_string_equal(jstr(r.json, "assignee_id"), T.agent.user);
	assert_true(jnum(r.json, "number") >= 1);
	assert_int_equal((int)jnum(r.json, "version"), 1);
	assert_int_equal(strlen(jstr(r.json, "created_at")), 24);
	char *created = strdup(r.body);
	char tid[37];
	strcpy(tid, id);
	resp_free(&r);

	r = call("tickets.get", &T.admin, tid, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(hdr(&r, "etag"), "\"1\"");
	assert_string_equal(r.body, created);
	free(created);
	resp_free(&r);

	check(404, "tickets.get", &T.admin, "01900000-0000-7000-8000-00000000dead", NULL, NULL,
	    NULL, NULL);
	check(404, "tickets.get", &T.admin, "not-a-uuid", NULL, NULL, NULL, NULL);
	/* another tenant never sees it */
	check(404, "tickets.get", &T.other_admin, tid, NULL, NULL, NULL, NULL);
	/* no identity: 401 */
	check(401, "tickets.get", NULL, tid, NULL, NULL, NULL, NULL);
}

static void test_create_validation(void **state)
{
	char big[70000], body[72000], tags[2048];
	memset(big, 'x', 65537);
	big[65537] = '\0';
	resp r;
	r = call("tickets.create", &T.agent, NULL, NULL, "{}", NULL, NULL);
	expect_422(&r, "subject");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"\"}", NULL, NULL);
	expect_422(&r, "subject");
	memset(body, 0, sizeof(body));
	snprintf(body, sizeof(body), "{\"subject\":\"%.201s\"}", big);
	r = call("tickets.create", &T.agent, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "subject");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"description\":\"%s\"}", big);
	r = call("tickets.create", &T.agent, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "description");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"priority\":\"meh\"}",
	    NULL, NULL);
	expect_422(&r, "priority");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"subject2\":1}", NULL,
	    NULL);
	expect_422(&r, "subject2");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":5}", NULL, NULL);
	expect_422(&r, "subject");
	strcpy(tags, "{\"subject\":\"s\",\"tags\":[");
	for (int i = 0; i < 21; i++)
		strcat(tags, i > 0 ? ",\"t\"" : "\"t\"");
	strcat(tags, "]}");
	r = call("tickets.create", &T.agent, NULL, NULL, tags, NULL, NULL);
	expect_422(&r, "tags");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"tags\":[\"%.51s\"]}", big);
	r = call("tickets.create", &T.agent, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "tags");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"tags\":\"a\"}", NULL,
	    NULL);
	expect_422(&r, "tags");
	r = call(
	    "tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"tags\":[1]}", NULL, NULL);
	expect_422(&r, "tags");
	r = call("tickets.create", &T.agent, NULL, NULL,
	    "{\"subject\":\"s\",\"requester_id\":\"x\"}", NULL, NULL);
	expect_422(&r, "requester_id");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"assignee_id\":12}",
	    NULL, NULL);
	expect_422(&r, "assignee_id");
	r = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"s\",\"category\":\"\"}",
	    NULL, NULL);
	expect_422(&r, "category");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"requester_id\":\"%s\"}", T.agent.user);
	r = call("tickets.create", &T.cust, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "requester_id");
	snprintf(body, sizeof(body), "{\"subject\":\"s\",\"assignee_id\":\"%s\"}", T.agent.user);
	r = call("tickets.create", &T.cust, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "assignee_id");
	check(400, "tickets.create", &T.agent, NULL, NULL, "{\"subject\":", NULL, NULL);
	check(400, "tickets.create", &T.agent, NULL, NULL, "[1]", NULL, NULL);
	check(400, "tickets.create", &T.agent, NULL, NULL, NULL, NULL, NULL);
	/* nothing of the above was stored */
	assert_int_equal(
	    admin_count(
	        "SELECT count(*) FROM ticket.tickets WHERE tenant_id = $1 AND subject = 's'",
	        T.admin.tenant, NULL),
	    0);
}

static void test_customer_visibility(void **state)
{
	char mine[37], theirs[37], staff[37];
	create_ticket(&T.cust, "{\"subject\":\"my ticket\"}", mine);
	create_ticket(&T.cust2, "{\"subject\":\"their ticket\"}", theirs);
	create_ticket(&T.agent, "{\"subject\":\"staff ticket\"}", staff);
	resp r = call("tickets.get", &T.cust, mine, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(r.json, "requester_id"), T.cust.user);
	resp_free(&r);
	check(404, "tickets.get", &T.cust, theirs, NULL, NULL, NULL, NULL);
	check(404, "tickets.get", &T.cust, staff, NULL, NULL, NULL, NULL);
	r = call("tickets.list", &T.cust, NULL, "limit=100", NULL, NULL, NULL);
	expect_status(&r, 200);
	const cJSON *it;
	int n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		assert_string_equal(jstr(it, "requester_id"), T.cust.user);
		n++;
	}
	assert_true(n >= 1);
	resp_free(&r);
	check(403, "tickets.update", &T.cust, mine, NULL, "{\"subject\":\"x\"}", NULL, NULL);
	check(403, "tickets.delete", &T.agent, mine, NULL, NULL, NULL, NULL);
	check(403, "tickets.history", &T.cust, mine, NULL, NULL, NULL, NULL);
}

static void test_update_and_history(void **state)
{
	char id[37];
	create_ticket(&T.agent, "{\"subject\":\"to update\",\"tags\":[\"a\"]}", id);
	char body[256];
	snprintf(body, sizeof(body),
	    "{\"subject\":\"updated\",\"status\":\"open\",\"assignee_id\":\"%s\",\"tags\":[\"b\"]}",
	    T.agent.user);
	resp r = call("tickets.update", &T.agent, id, NULL, body, "if-match", "\"1\"");
	expect_status(&r, 200);
	assert_string_equal(hdr(&r, "etag"), "\"2\"");
	assert_string_equal(jstr(r.json, "subject"), "updated");
	assert_string_equal(jstr(r.json, "status"), "open");
	resp_free(&r);
	/* stale If-Match */
	check(412, "tickets.update", &T.agent, id, NULL, "{\"priority\":\"low\"}", "if-match",
	    "\"1\"");
	check(412, "tickets.update", &T.agent, id, NULL, "{\"priority\":\"low\"}", "if-match",
	    "garbage");
	/* forbidden moves */
	r = call("tickets.update", &T.agent, id, NULL, "{\"status\":\"new\"}", NULL, NULL);
	expect_422(&r, "status");
	r = call("tickets.update", &T.agent, id, NULL, "{\"status\":\"closed\"}", NULL, NULL);
	expect_422(&r, "status");
	r = call("tickets.update", &T.agent, id, NULL, "{\"status\":\"bogus\"}", NULL, NULL);
	expect_422(&r, "status");
	r = call("tickets.update", &T.agent, id, NULL, "{\"subject\":\"\"}", NULL, NULL);
	expect_422(&r, "subject");
	r = call("tickets.update", &T.agent, id, NULL, "{\"tags\":null}", NULL, NULL);
	expect_422(&r, "tags");
	/* allowed chain: open -> pending -> on_hold -> solved -> closed */
	const char *moves[] = { "pending", "on_hold", "solved", "closed" };
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "{\"status\":\"%s\"}", moves[i]);
		r = call("tickets.update", &T.admin, id, NULL, body, NULL, NULL);
		expect_status(&r, 200);
		assert_string_equal(jstr(r.json, "status"), moves[i]);
		if (strcmp(moves[i], "solved") == 0)
			assert_non_null(jstr(r.json, "solved_at"));
		resp_free(&r);
	}
	r = call("tickets.update", &T.admin, id, NULL, "{\"status\":\"open\"}", NULL, NULL);
	expect_422(&r, "status"); /* closed is final */
	/* a no-op keeps the version */
	r = call("tickets.update", &T.admin, id, NULL, "{\"subject\":\"updated\"}", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(hdr(&r, "etag"), "\"6\"");
	resp_free(&r);
	/* history: subject, status, assignee_id, tags, then 4 status moves */
	r = call("tickets.history", &T.agent, id, "limit=100", NULL, NULL, NULL);
	expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 8);
	int status_rows = 0;
	const cJSON *h;
	cJSON_ArrayForEach(h, items)
	{
		assert_string_equal(jstr(h, "actor_id"),
		    strcmp(jstr(h, "field"), "status") == 0 && status_rows > 0 ? T.admin.user
		                                                               : T.agent.user);
		assert_non_null(jstr(h, "at"));
		if (strcmp(jstr(h, "field"), "status") == 0)
			status_rows++;
	}
	assert_int_equal(status_rows, 5);
	resp_free(&r);
	/* the history pages with a cursor */
	r = call("tickets.history", &T.agent, id, "limit=5", NULL, NULL, NULL);
	expect_status(&r, 200);
	const char *cur = jstr(r.json, "next_cursor");
	assert_non_null(cur);
	char q[256];
	snprintf(q, sizeof(q), "limit=5&cursor=%s", cur);
	resp r2 = call("tickets.history", &T.agent, id, q, NULL, NULL, NULL);
	expect_status(&r2, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r2.json, "items")), 3);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r2.json, "next_cursor")));
	resp_free(&r2);
	resp_free(&r);
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.updated'"
	                " AND data->'ticket'->>'id' = $1",
	        id, NULL),
	    5);
}

static void test_delete(void **state)
{
	char id[37];
	create_ticket(&T.agent, "{\"subject\":\"to delete\"}", id);
	resp r = call("tickets.delete", &T.other_admin, id, NULL, NULL, NULL, NULL);
	expect_status(&r, 404);
	resp_free(&r);
	check(204, "tickets.delete", &T.admin, id, NULL, NULL, NULL, NULL);
	check(404, "tickets.get", &T.admin, id, NULL, NULL, NULL, NULL);
	check(404, "tickets.delete", &T.admin, id, NULL, NULL, NULL, NULL);
	check(404, "tickets.update", &T.admin, id, NULL, "{\"subject\":\"zombie\"}", NULL, NULL);
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.deleted'"
	                " AND data->>'id' = $1",
	        id, NULL),
	    1);
}

static void test_idempotency(void **state)
{
	char key[64];
	snprintf(key, sizeof(key), "idem-%d-%ld", (int)getpid(), (long)time(NULL));
	const char *body = "{\"subject\":\"idempotent\"}";
	resp a = call("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", key);
	expect_status(&a, 201);
	resp b = call("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", key);
	expect_status(&b, 201);
	assert_string_equal(a.body, b.body);
	assert_string_equal(hdr(&a, "location"), hdr(&b, "location"));
	assert_int_equal(admin_count("SELECT count(*) FROM ticket.tickets WHERE id = $1",
	                     jstr(a.json, "id"), NULL),
	    1);
	resp c = call("tickets.create", &T.agent, NULL, NULL, "{\"subject\":\"other\"}",
	    "idempotency-key", key);
	expect_422(&c, "Idempotency-Key");
	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	c = call("tickets.create", &T.agent, NULL, NULL, body, "idempotency-key", longkey);
	expect_422(&c, "Idempotency-Key");
	resp_free(&a);
	resp_free(&b);
}

/* Pages through the list with limit 2 and checks order and completeness. */
static void test_list_pagination_filters(void **state)
{
	who w;
	make_who(&w, NULL, "agent");
	char ids[7][37];
	for (int i = 0; i < 7; i++) {
		char body[128];
		snprintf(body, sizeof(body),
		    "{\"subject\":\"list %d zebra%s\",\"priority\":\"%s\",\"tags\":[\"t%d\"]}", i,
		    i == 3 ? " giraffe" : "", i % 2 ? "low" : "urgent", i % 3);
		create_ticket(&w, body, ids[i]);
	}
	char q[512] = "limit=2";
	int seen = 0;
	char prev[64] = "9999";
	for (int page = 0; page < 10; page++) {
		resp r = call("tickets.list", &w, NULL, q, NULL, NULL, NULL);
		expect_status(&r, 200);
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
		{
			char key[64];
			snprintf(key, sizeof(key), "%s%s", jstr(it, "created_at"), jstr(it, "id"));
			assert_true(strcmp(key, prev) < 0);
			strcpy(prev, key);
			seen++;
		}
		const char *cur = jstr(r.json, "next_cursor");
		if (cur == NULL) {
			resp_free(&r);
			break;
		}
		snprintf(q, sizeof(q), "limit=2&cursor=%s", cur);
		resp_free(&r);
	}
	assert_int_equal(seen, 7);
	struct {
		const char *q;
		int n;
	} cases[] = { { "priority=low", 3 }, { "priority=urgent&tag=t0", 2 }, { "q=giraffe", 1 },
		{ "q=zebra", 7 }, { "status=new&sort=created_at", 7 }, { "status=open", 0 },
		{ "sort=-updated_at", 7 }, { "sort=updated_at&limit=100", 7 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		resp r = call("tickets.list", &w, NULL, cases[i].q, NULL, NULL, NULL);
		expect_status(&r, 200);
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"))
		    != cases[i].n)
			fail_msg("%s: %s", cases[i].q, r.body);
		resp_free(&r);
	}
	const char *bad[][2] = { { "limit=0", "limit" }, { "limit=101", "limit" },
		{ "limit=x", "limit" }, { "sort=priority", "sort" }, { "cursor=bm9wZQ", "cursor" },
		{ "status=nope", "status" }, { "assignee_id=1", "assignee_id" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		resp r = call("tickets.list", &w, NULL, bad[i][0], NULL, NULL, NULL);
		expect_422(&r, bad[i][1]);
	}
}

static void test_comments(void **state)
{
	char id[37];
	create_ticket(&T.cust, "{\"subject\":\"need help\"}", id);
	resp r = call("comments.create", &T.cust, id, NULL, "{\"body\":\"hello?\"}", NULL, NULL);
	expect_status(&r, 201);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "public")));
	resp_free(&r);
	r = call("comments.create", &T.cust, id, NULL, "{\"body\":\"secret\",\"public\":false}",
	    NULL, NULL);
	expect_422(&r, "public");
	check(404, "comments.create", &T.cust2, id, NULL, "{\"body\":\"not mine\"}", NULL, NULL);
	r = call("comments.create", &T.agent, id, NULL, "{\"body\":\"\"}", NULL, NULL);
	expect_422(&r, "body");
	check(201, "comments.create", &T.agent, id, NULL,
	    "{\"body\":\"internal note\",\"public\":false}", NULL, NULL);
	r = call("tickets.get", &T.agent, id, NULL, NULL, NULL, NULL);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "first_response_at")));
	resp_free(&r);
	r = call("comments.create", &T.agent, id, NULL, "{\"body\":\"on it\"}", NULL, NULL);
	expect_status(&r, 201);
	char at[32];
	strcpy(at, jstr(r.json, "created_at"));
	resp_free(&r);
	r = call("tickets.get", &T.agent, id, NULL, NULL, NULL, NULL);
	assert_string_equal(jstr(r.json, "first_response_at"), at);
	resp_free(&r);
	r = call("comments.list", &T.cust, id, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	resp_free(&r);
	r = call("comments.list", &T.agent, id, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 3);
	resp_free(&r);
	check(404, "comments.list", &T.other_admin, id, NULL, NULL, NULL, NULL);
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'comment.added'"
	                " AND data->>'ticket_id' = $1",
	        id, NULL),
	    3);
}

typedef struct creator {
	who *w;
	int n, ok, invalid;
	int poison_at; /* index of the create whose subject is "poison", -1 for none */
} creator;

static void *creator_run(void *arg)
{
	creator *c = arg;
	for (int i = 0; i < c->n; i++) {
		const char *body = i == c->poison_at ? "{\"subject\":\"poison\"}"
		                                     : "{\"subject\":\"concurrent\"}";
		resp r = call("tickets.create", c->w, NULL, NULL, body, NULL, NULL);
		c->ok += r.status == 201;
		c->invalid += r.status == 422;
		resp_free(&r);
	}
	return NULL;
}

/* Runs nthreads x per creates for w; returns the 201 count (and 422s in *invalid). */
static int create_concurrently(who *w, int nthreads, int per, int poison_thread, int *invalid)
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

static long tenant_count(const char *sql, const who *w)
{
	return admin_count(sql, w->tenant, NULL);
}

static void test_concurrent_numbers(void **state)
{
	who w;
	int invalid = 0;
	make_who(&w, NULL, "agent");
	assert_int_equal(create_concurrently(&w, 20, 10, -1, &invalid), 200);
	assert_int_equal(invalid, 0);
	assert_int_equal(tenant_count("SELECT count(DISTINCT number) FROM ticket.tickets"
	                              " WHERE tenant_id = $1 AND number BETWEEN 1 AND 200",
	                     &w),
	    200);
	assert_int_equal(
	    tenant_count("SELECT max(number) FROM ticket.tickets WHERE tenant_id = $1", &w), 200);
	assert_int_equal(tenant_count("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
	                              " AND type = 'ticket.created'",
	                     &w),
	    200);
}

/* A create that fails in the database while grouped with others fails
 * alone: the others are retried and succeed, numbers stay gap-free. */
static void test_grouped_create_failure(void **state)
{
	who w;
	int invalid = 0;
	make_who(&w, NULL, "agent");
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "ALTER TABLE ticket.tickets ADD CONSTRAINT"
	                     " test_poison CHECK (subject <> 'poison') NOT VALID",
	                     0, NULL, NULL),
	    HD_OK);
	int ok = create_concurrently(&w, 20, 6, 7, &invalid);
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "ALTER TABLE ticket.tickets DROP CONSTRAINT"
	                     " test_poison",
	                     0, NULL, NULL),
	    HD_OK);
	assert_int_equal(ok, 119);
	assert_int_equal(invalid, 1);
	assert_int_equal(
	    tenant_count("SELECT max(number) FROM ticket.tickets WHERE tenant_id = $1", &w), 119);
	assert_int_equal(tenant_count("SELECT count(DISTINCT number) FROM ticket.tickets"
	                              " WHERE tenant_id = $1",
	                     &w),
	    119);
}

static void test_events_and_relay(void **state)
{
	who w, cust;
	make_who(&w, NULL, "agent");
	make_who(&cust, w.tenant, "customer");
	char id[37];
	create_ticket(&w, "{\"subject\":\"evented\"}", id);
	resp r = call("tickets.update", &w, id, NULL, "{\"status\":\"open\"}", NULL, NULL);
	resp_free(&r);
	/* events are numbered by the relay when it claims them: wait for both */
	const cJSON *items = NULL;
	for (int i = 0; i < 500; i++) {
		r = call(
		    "events.since", &w, NULL, NULL, "{\"after_seq\":0,\"limit\":10}", NULL, NULL);
		expect_status(&r, 200);
		items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
		if (cJSON_GetArraySize(items) == 2)
			break;
		resp_free(&r);
		usleep(10000);
	}
	assert_int_equal(cJSON_GetArraySize(items), 2);
	const cJSON *e0 = cJSON_GetArrayItem(items, 0), *e1 = cJSON_GetArrayItem(items, 1);
	assert_string_equal(jstr(e0, "type"), "ticket.created");
	assert_string_equal(jstr(e1, "type"), "ticket.updated");
	assert_string_equal(jstr(e0, "tenant_id"), w.tenant);
	assert_string_equal(jstr(e0, "actor"), w.user);
	assert_true(jnum(e1, "seq") > jnum(e0, "seq"));
	char q[64];
	snprintf(q, sizeof(q), "after_seq=%.0f", jnum(e0, "seq"));
	resp_free(&r);
	r = call("events.since", &w, NULL, q, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	resp_free(&r);
	r = call("events.since", &w, NULL, "after_seq=-1", NULL, NULL, NULL);
	expect_422(&r, "after_seq");
	check(403, "events.since", &cust, NULL, NULL, NULL, NULL, NULL);
	/* the relay publishes and marks them */
	for (int i = 0; i < 500; i++) {
		if (admin_count("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
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
	who w;
	make_who(&w, NULL, "admin");
	resp r = call("sla.put", &w, NULL, NULL,
	    "{\"targets\":{\"urgent\":{\"first_response_minutes\":30,\"resolution_minutes\":240}}}",
	    NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	r = call("sla.put", &w, NULL, NULL,
	    "{\"targets\":{\"urgent\":{\"first_response_minutes\":0}}}", NULL, NULL);
	expect_422(&r, "targets.urgent.first_response_minutes");
	r = call("sla.put", &w, NULL, NULL, "{\"targets\":{\"soon\":{}}}", NULL, NULL);
	expect_422(&r, "targets");
	r = call("sla.get", &w, NULL, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(
	    (int)jnum(cJSON_GetObjectItemCaseSensitive(
	                  cJSON_GetObjectItemCaseSensitive(r.json, "targets"), "urgent"),
	        "resolution_minutes"),
	    240);
	resp_free(&r);
	r = call("tickets.create", &w, NULL, NULL, "{\"subject\":\"sla\",\"priority\":\"urgent\"}",
	    NULL, NULL);
	expect_status(&r, 201);
	const cJSON *sla = cJSON_GetObjectItemCaseSensitive(r.json, "sla");
	assert_non_null(jstr(sla, "first_response_due"));
	assert_non_null(jstr(sla, "resolution_due"));
	char id[37];
	strcpy(id, jstr(r.json, "id"));
	resp_free(&r);
	/* move the due time into the past; the detector must report it once */
	assert_int_equal(admin_count("WITH u AS (UPDATE ticket.tickets SET first_response_due = "
	                             "now() - interval '1 minute'"
	                             " WHERE id = $1 RETURNING 1) SELECT count(*) FROM u",
	                     id, NULL),
	    1);
	for (int i = 0; i < 1000; i++) {
		if (admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'sla.breached'"
		                " AND sla_ticket_id = $1",
		        id, NULL)
		    == 1)
			break;
		usleep(10000);
	}
	/* running the detector again (as after a restart) adds nothing */
	assert_true(admin_count("SELECT ticket.sla_detect(1000)", NULL, NULL) >= 0);
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'sla.breached'"
	                " AND sla_ticket_id = $1",
	        id, NULL),
	    1);
	r = call("tickets.get", &w, id, NULL, NULL, NULL, NULL);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r.json, "sla"), "breached")));
	resp_free(&r);
}

/* The resolution clock pauses while pending/on_hold, and a paused ticket is
 * never reported as breached. */
static void test_sla_pause(void **state)
{
	who w;
	make_who(&w, NULL, "admin");
	resp r = call("sla.put", &w, NULL, NULL,
	    "{\"targets\":{\"normal\":{\"first_response_minutes\":60,\"resolution_minutes\":600}}}",
	    NULL, NULL);
	expect_status(&r, 200);
	resp_free(&r);
	char id[37];
	create_ticket(&w, "{\"subject\":\"pausable\"}", id);
	check(200, "tickets.update", &w, id, NULL, "{\"status\":\"pending\"}", NULL, NULL);
	/* 10 minutes "pass" while pending, and the due time is already over */
	assert_int_equal(
	    admin_count("WITH u AS (UPDATE ticket.tickets SET sla_paused_at = sla_paused_at"
	                " - interval '10 minutes', resolution_due = now() - interval '1 minute'"
	                " WHERE id = $1 RETURNING 1) SELECT count(*) FROM u",
	        id, NULL),
	    1);
	assert_true(admin_count("SELECT ticket.sla_detect(1000)", NULL, NULL) >= 0);
	assert_int_equal(admin_count("SELECT count(*) FROM ticket.outbox WHERE sla_ticket_id = $1"
	                             " AND sla_target = 'resolution'",
	                     id, NULL),
	    0);
	check(200, "tickets.update", &w, id, NULL, "{\"status\":\"open\"}", NULL, NULL);
	/* leaving pending moved the due time 10 minutes later: from -1 to about +9 */
	assert_int_equal(admin_count("SELECT round(extract(epoch FROM resolution_due - now()) / 60)"
	                             " FROM ticket.tickets WHERE id = $1",
	                     id, NULL),
	    9);
	assert_int_equal(
	    admin_count(
	        "SELECT count(*) FROM ticket.tickets WHERE id = $1 AND sla_paused_at IS NULL", id,
	        NULL),
	    1);
}

static void expect_text(const char *sql, const char *want)
{
	char *v = NULL;
	assert_int_equal(hd_db_exec_sync(T.admin_url, sql, 0, NULL, &v), HD_OK);
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
	who w;
	make_who(&w, NULL, "admin");
	const char *targets = "\"targets\":{\"normal\":{\"first_response_minutes\":60,"
	                      "\"resolution_minutes\":600}}";
	char body[512];
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"Mars/Olympus\",\"days\":{\"mon\":[[\"09:00\","
	    "\"17:00\"]]}}}",
	    targets);
	resp r = call("sla.put", &w, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "business_hours.timezone");
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"17:00\",\"09:00\"]]"
	    "}}}",
	    targets);
	r = call("sla.put", &w, NULL, NULL, body, NULL, NULL);
	expect_422(&r, "business_hours.days");
	snprintf(body, sizeof(body),
	    "{%s,\"business_hours\":{\"timezone\":\"UTC\",\"days\":{\"tue\":[[\"00:00\",\"24:00\"]]"
	    ","
	    "\"sat\":[[\"10:00\",\"11:00\"]]}}}",
	    targets);
	check(200, "sla.put", &w, NULL, NULL, body, NULL, NULL);
	char id[37];
	create_ticket(&w, "{\"subject\":\"business\"}", id);
	/* the due time is the business-hours one, not created_at + 60 minutes */
	const char *bh = "{\"timezone\":\"UTC\",\"days\":{\"tue\":[[\"00:00\",\"24:00\"]],"
	                 "\"sat\":[[\"10:00\",\"11:00\"]]}}";
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.tickets t WHERE t.id = $1"
	                " AND t.first_response_due = ticket.business_add(t.created_at, 60, $2)"
	                " AND t.resolution_due = ticket.business_add(t.created_at, 600, $2)",
	        id, bh),
	    1);
}

static void test_automations(void **state)
{
	who w, ag;
	make_who(&w, NULL, "admin");
	make_who(&ag, w.tenant, "agent");
	resp r = call("automations.create", &ag, NULL, NULL, "{}", NULL, NULL);
	expect_status(&r, 403);
	resp_free(&r);
	r = call("automations.create", &w, NULL, NULL,
	    "{\"event\":\"ticket.created\",\"actions\":[]}", NULL, NULL);
	expect_422(&r, "name");
	r = call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[{\"type\":\"explode\","
	    "\"value\":\"x\"}]}",
	    NULL, NULL);
	expect_422(&r, "actions[0].type");
	r = call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[{\"type\":\"notify_"
	    "webhook\",\"value\":\"http://x\"}]}",
	    NULL, NULL);
	expect_422(&r, "actions[0].value");
	r = call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"n\",\"event\":\"ticket.created\",\"actions\":[],\"conditions\":[{"
	    "\"field\":\"status\",\"op\":\"in\",\"value\":\"new\"}]}",
	    NULL, NULL);
	expect_422(&r, "conditions[0].value");
	r = call("automations.create", &w, NULL, NULL,
	    "{\"name\":\"outages\",\"event\":\"ticket.created\","
	    "\"conditions\":[{\"field\":\"subject\",\"op\":\"contains\",\"value\":\"outage\"},"
	    "{\"field\":\"priority\",\"op\":\"in\",\"value\":[\"low\",\"normal\"]}],"
	    "\"actions\":[{\"type\":\"set_priority\",\"value\":\"urgent\"},{\"type\":\"add_tag\","
	    "\"value\":\"outage\"},"
	    "{\"type\":\"notify_webhook\",\"value\":\"https://example.com/hook\"}]}",
	    NULL, NULL);
	expect_status(&r, 201);
	char rule[37];
	strcpy(rule, jstr(r.json, "id"));
	resp_free(&r);
	check(201, "automations.create", &w, NULL, NULL,
	    "{\"name\":\"solved\",\"event\":\"ticket.updated\",\"conditions\":[{\"field\":"
	    "\"status\",\"op\":\"eq\",\"value\":\"solved\"}],"
	    "\"actions\":[{\"type\":\"set_category\",\"value\":\"done\"}]}",
	    NULL, NULL);
	r = call(
	    "tickets.create", &ag, NULL, NULL, "{\"subject\":\"Big OUTAGE in Paris\"}", NULL, NULL);
	expect_status(&r, 201);
	assert_string_equal(jstr(r.json, "priority"), "urgent");
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "tags"), 0)->valuestring,
	    "outage");
	char id[37];
	strcpy(id, jstr(r.json, "id"));
	resp_free(&r);
	assert_int_equal(
	    admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'automation.webhook'"
	                " AND data->>'ticket_id' = $1",
	        id, NULL),
	    1);
	r = call("tickets.create", &ag, NULL, NULL, "{\"subject\":\"calm day\"}", NULL, NULL);
	assert_string_equal(jstr(r.json, "priority"), "normal");
	resp_free(&r);
	r = call("tickets.update", &ag, id, NULL, "{\"status\":\"solved\"}", NULL, NULL);
	expect_status(&r, 200);
	assert_string_equal(jstr(r.json, "category"), "done");
	resp_free(&r);
	r = call("tickets.history", &ag, id, NULL, NULL, NULL, NULL);
	const cJSON *last
	    = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.json, "items"), 1);
	assert_non_null(last);
	assert_string_equal(jstr(last, "field"), "category");
	assert_string_equal(jstr(last, "to"), "done");
	resp_free(&r);
	r = call("automations.list", &w, NULL, NULL, NULL, NULL, NULL);
	expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	resp_free(&r);
	r = call("automations.update", &w, rule, NULL, "{\"active\":false}", NULL, NULL);
	expect_status(&r, 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	assert_string_equal(jstr(r.json, "name"), "outages");
	resp_free(&r);
	r = call("tickets.create", &ag, NULL, NULL, "{\"subject\":\"another outage\"}", NULL, NULL);
	assert_string_equal(jstr(r.json, "priority"), "normal");
	resp_free(&r);
	check(204, "automations.delete", &w, rule, NULL, NULL, NULL, NULL);
	check(404, "automations.get", &w, rule, NULL, NULL, NULL, NULL);
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
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
