/* Integration tests of Idempotency-Key on hd-ticket's creates other than
 * tickets.create (comments, time entries, satisfaction, automations), over
 * its real NNG interface (ticket_it.h) against the test PostgreSQL: a replay
 * returns the first reply and changes nothing more, another body or another
 * ticket is 422, an expired key runs again. A key belongs to the tenant, the
 * caller and the route: reused on another route or by another user of the
 * tenant it gets its own result.
 * Env as test_ticket_more.c. */
#include <pthread.h>
#include "ticket_it.h"

/* A valid automation other than the ones test_automations posts. */
#define RULE                                                                                       \
	"{\"name\":\"other\",\"event\":\"ticket.created\","                                        \
	"\"actions\":[{\"type\":\"add_tag\",\"value\":\"x\"}]}"

static struct {
	it_who admin, agent, cust;
	char url[1024]; /* owner role with app.tenant_id set (RLS lets it see the tenant) */
} U;

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&U.admin, NULL, "admin");
	it_who_make(&U.agent, U.admin.tenant, "agent");
	it_who_make(&U.cust, U.admin.tenant, "customer");
	int rc = it_daemon_start(&U.admin);
	snprintf(U.url, sizeof(U.url), "%s%coptions=-c%%20app.tenant_id%%3D%s", IT.admin_url,
	    strchr(IT.admin_url, '?') != NULL ? '&' : '?', U.admin.tenant);
	return rc;
}

/* Fills e: op as w on path id with body and Idempotency-Key key (no cmocka
 * asserts: threads use it too); false when it does not fit. */
static bool kenv(hd_envelope *e, const char *op, const it_who *w, const char *id, const char *body,
    const char *key)
{
	struct timespec ts;
	memset(e, 0, sizeof(*e));
	e->version = HD_ENVELOPE_VERSION;
	snprintf(e->op, sizeof(e->op), "%s", op);
	snprintf(e->request_id, sizeof(e->request_id), "idem-%s", op);
	strcpy(e->tenant_id, w->tenant);
	strcpy(e->user_id, w->user);
	snprintf(e->role, sizeof(e->role), "%s", w->role);
	clock_gettime(CLOCK_REALTIME, &ts);
	e->deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	e->body = body;
	e->body_len = strlen(body);
	return (id == NULL || hd_envelope_add_param(e, "id", id) == HD_OK)
	    && hd_envelope_add_header(e, "idempotency-key", key) == HD_OK;
}

/* Calls op as w on path id with body and Idempotency-Key key. */
static daemon_reply kcall(
    const char *op, const it_who *w, const char *id, const char *body, const char *key)
{
	hd_envelope e;
	daemon_reply r;
	assert_true(kenv(&e, op, w, id, body, key));
	assert_int_equal(daemon_child_call(IT.client, &e, 10000, &r), HD_OK);
	return r;
}

/* Calls and asserts a 422 naming Idempotency-Key. */
static void k422(const char *op, const it_who *w, const char *id, const char *body, const char *key)
{
	daemon_reply r = kcall(op, w, id, body, key);
	if (r.status != 422 || strstr(r.body, "Idempotency-Key") == NULL)
		fail_msg(
		    "%s: expected a 422 naming Idempotency-Key, got %d: %s", op, r.status, r.body);
	daemon_reply_free(&r);
}

static void same_header(const daemon_reply *a, const daemon_reply *b, const char *name)
{
	const char *x = daemon_reply_header(a, name), *y = daemon_reply_header(b, name);
	if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
		fail_msg("%s differs: %s / %s", name, x != NULL ? x : "-", y != NULL ? y : "-");
}

/* Posts body twice with key; asserts 201, the same reply both times, and
 * returns the first (caller frees). */
static daemon_reply twice(
    const char *op, const it_who *w, const char *id, const char *body, const char *key)
{
	daemon_reply a = kcall(op, w, id, body, key);
	daemon_reply b = kcall(op, w, id, body, key);
	it_expect_status(&a, 201);
	it_expect_status(&b, 201);
	assert_string_equal(a.body, b.body);
	same_header(&a, &b, "location");
	same_header(&a, &b, "etag");
	daemon_reply_free(&b);
	return a;
}

/* Counts with sql ($1, $2) as the owner inside the test tenant. */
static long count(const char *sql, const char *p1, const char *p2)
{
	return it_count_at(U.url, sql, p1, p2);
}

/* Moves key's stored reply of op 25 hours back. */
static void expire(const char *key, const char *op)
{
	assert_int_equal(count("WITH u AS (UPDATE ticket.idempotency_keys SET created_at = now()"
	                       " - interval '25 hours' WHERE key = $1 AND op = $2 RETURNING 1)"
	                       " SELECT count(*) FROM u",
	                     key, op),
	    1);
}

/* Calls and asserts a 201: the key is another route's or caller's. */
static void k201(const char *op, const it_who *w, const char *id, const char *body, const char *key)
{
	daemon_reply r = kcall(op, w, id, body, key);
	it_expect_status(&r, 201);
	daemon_reply_free(&r);
}

static void key_make(char *key, size_t n, const char *what)
{
	char u[37];
	assert_int_equal(hd_uuid_v7(u), HD_OK);
	snprintf(key, n, "%s-%s", what, u);
}

static void test_comments(void **state)
{
	char t[37], t2[37], key[64];
	const char *body = "{\"body\":\"once only\"}";
	it_ticket(&U.cust, "{\"subject\":\"idem comments\"}", t);
	it_ticket(&U.cust, "{\"subject\":\"idem comments 2\"}", t2);
	key_make(key, sizeof(key), "c");
	daemon_reply a = twice("comments.create", &U.agent, t, body, key);
	const char *id = it_str(a.json, "id");
	assert_non_null(id);
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.comments WHERE ticket_id = $1", t, NULL), 1);
	assert_int_equal(count("SELECT count(*) FROM ticket.outbox WHERE type = 'comment.added'"
	                       " AND data->>'id' = $1",
	                     id, NULL),
	    1);
	k422("comments.create", &U.agent, t, "{\"body\":\"another\"}", key);
	k422("comments.create", &U.agent, t2, body, key);
	k201("time_entries.create", &U.agent, t, "{\"minutes\":5}", key);
	k201("tickets.create", &U.agent, NULL, "{\"subject\":\"x\"}", key);
	expire(key, "comments.create");
	daemon_reply c = kcall("comments.create", &U.agent, t, body, key);
	it_expect_status(&c, 201);
	assert_string_not_equal(it_str(c.json, "id"), id);
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.comments WHERE ticket_id = $1", t, NULL), 2);
	daemon_reply_free(&c);
	daemon_reply_free(&a);
}

static void test_time_entries(void **state)
{
	char t[37], t2[37], key[64];
	const char *body = "{\"minutes\":15}";
	it_ticket(&U.agent, "{\"subject\":\"idem time\"}", t);
	it_ticket(&U.agent, "{\"subject\":\"idem time 2\"}", t2);
	key_make(key, sizeof(key), "t");
	daemon_reply a = twice("time_entries.create", &U.agent, t, body, key);
	daemon_reply_free(&a);
	const char *sum = "SELECT time_spent_minutes FROM ticket.tickets WHERE id = $1";
	assert_int_equal(count(sum, t, NULL), 15);
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.time_entries WHERE ticket_id = $1", t, NULL), 1);
	assert_int_equal(count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.updated'"
	                       " AND data->'ticket'->>'id' = $1",
	                     t, NULL),
	    1);
	k422("time_entries.create", &U.agent, t, "{\"minutes\":16}", key);
	k422("time_entries.create", &U.agent, t2, body, key);
	k201("comments.create", &U.agent, t, "{\"body\":\"x\"}", key);
	expire(key, "time_entries.create");
	a = kcall("time_entries.create", &U.agent, t, body, key);
	it_expect_status(&a, 201);
	daemon_reply_free(&a);
	assert_int_equal(count(sum, t, NULL), 30);
}

static void test_satisfaction(void **state)
{
	char t[37], t2[37], key[64];
	const char *body = "{\"rating\":\"good\"}";
	it_ticket(&U.cust, "{\"subject\":\"idem rating\"}", t);
	it_ticket(&U.cust, "{\"subject\":\"idem rating 2\"}", t2);
	it_check(200, "tickets.update", &U.agent, t, "{\"status\":\"solved\"}");
	it_check(200, "tickets.update", &U.agent, t2, "{\"status\":\"solved\"}");
	key_make(key, sizeof(key), "s");
	daemon_reply a = twice("satisfaction.create", &U.cust, t, body, key);
	daemon_reply_free(&a);
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.satisfaction WHERE ticket_id = $1", t, NULL), 1);
	assert_int_equal(count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.updated'"
	                       " AND data->'ticket'->>'id' = $1"
	                       " AND (data->'changes')::jsonb ? 'satisfaction'",
	                     t, NULL),
	    1);
	k422("satisfaction.create", &U.cust, t, "{\"rating\":\"bad\"}", key);
	k422("satisfaction.create", &U.cust, t2, body, key);
	/* once expired, the key runs again: the ticket is already rated */
	expire(key, "satisfaction.create");
	a = kcall("satisfaction.create", &U.cust, t, body, key);
	it_expect_status(&a, 409);
	daemon_reply_free(&a);
}

static void test_automations(void **state)
{
	char key[64], body[160];
	key_make(key, sizeof(key), "a");
	snprintf(body, sizeof(body),
	    "{\"name\":\"%s\",\"event\":\"ticket.created\","
	    "\"actions\":[{\"type\":\"add_tag\",\"value\":\"idem\"}]}",
	    key);
	daemon_reply a = twice("automations.create", &U.admin, NULL, body, key);
	daemon_reply_free(&a);
	const char *n = "SELECT count(*) FROM ticket.automations WHERE name = $1";
	assert_int_equal(count(n, key, NULL), 1);
	k422("automations.create", &U.admin, NULL, RULE, key);
	k201("tickets.create", &U.admin, NULL, "{\"subject\":\"x\"}", key);
	expire(key, "automations.create");
	a = kcall("automations.create", &U.admin, NULL, body, key);
	it_expect_status(&a, 201);
	daemon_reply_free(&a);
	assert_int_equal(count(n, key, NULL), 2);
}

#define RACERS 8

/* One of RACERS concurrent comments.create calls with the same key. */
typedef struct racer {
	const char *ticket, *key;
	pthread_barrier_t *go;
	int status; /* -1: no envelope, -2: transport error */
	char *body; /* malloc'ed */
} racer;

static void *racer_run(void *arg)
{
	racer *r = arg;
	hd_envelope e;
	daemon_reply rep;
	bool ok = kenv(&e, "comments.create", &U.agent, r->ticket, "{\"body\":\"raced\"}", r->key);
	pthread_barrier_wait(r->go);
	r->status = -1;
	if (ok && daemon_child_call(IT.client, &e, 10000, &rep) != HD_OK)
		r->status = -2;
	else if (ok) {
		r->status = rep.status;
		r->body = rep.body != NULL ? strdup(rep.body) : NULL;
		daemon_reply_free(&rep);
	}
	return NULL;
}

/* Requests racing with one key: one comment, and every caller gets its
 * reply (the later ones a replay), none a 404/409/500. */
static void test_concurrent_same_key(void **state)
{
	char t[37], key[64];
	it_ticket(&U.cust, "{\"subject\":\"idem race\"}", t);
	key_make(key, sizeof(key), "race");
	pthread_barrier_t go;
	pthread_t th[RACERS];
	racer rs[RACERS];
	pthread_barrier_init(&go, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		rs[i] = (racer) { .ticket = t, .key = key, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &rs[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < RACERS; i++) {
		if (rs[i].status != 201)
			fail_msg(
			    "racer %d got %d: %s", i, rs[i].status, rs[i].body ? rs[i].body : "");
		assert_non_null(rs[i].body);
		assert_string_equal(rs[i].body, rs[0].body);
	}
	for (int i = 0; i < RACERS; i++)
		free(rs[i].body);
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.comments WHERE ticket_id = $1", t, NULL), 1);
}

static void test_ticket_key_elsewhere(void **state)
{
	char key[64];
	const char *body = "{\"subject\":\"idem ticket\"}";
	key_make(key, sizeof(key), "k");
	daemon_reply a = twice("tickets.create", &U.agent, NULL, body, key);
	assert_non_null(daemon_reply_header(&a, "location"));
	assert_string_equal(daemon_reply_header(&a, "etag"), "\"1\"");
	/* the key is tickets.create's: comments.create under it is its own */
	k201("comments.create", &U.agent, it_str(a.json, "id"), "{\"body\":\"x\"}", key);
	/* the owner sees every tenant's tickets (the relay policy): scoped here */
	assert_int_equal(count("SELECT count(*) FROM ticket.tickets WHERE subject = $1"
	                       " AND tenant_id = $2",
	                     "idem ticket", U.agent.tenant),
	    1);
	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	k422("comments.create", &U.agent, it_str(a.json, "id"), "{\"body\":\"x\"}", longkey);
	daemon_reply_free(&a);
}

/* Two users of one tenant with one key: each gets their own result, and
 * each retry replays the caller's own reply (tickets.create and a comment). */
static void test_second_user_same_key(void **state)
{
	char key[64], t[37];
	const char *body = "{\"subject\":\"idem two users\"}";
	key_make(key, sizeof(key), "two");
	daemon_reply a = twice("tickets.create", &U.agent, NULL, body, key);
	daemon_reply b = twice("tickets.create", &U.admin, NULL, body, key);
	assert_string_not_equal(it_str(a.json, "id"), it_str(b.json, "id"));
	assert_string_not_equal(
	    daemon_reply_header(&a, "location"), daemon_reply_header(&b, "location"));
	assert_int_equal(count("SELECT count(*) FROM ticket.tickets WHERE subject = $1"
	                       " AND tenant_id = $2",
	                     "idem two users", U.agent.tenant),
	    2);
	daemon_reply_free(&a);
	daemon_reply_free(&b);

	it_ticket(&U.cust, "{\"subject\":\"idem two users comments\"}", t);
	key_make(key, sizeof(key), "twoc");
	a = twice("comments.create", &U.agent, t, "{\"body\":\"same\"}", key);
	b = twice("comments.create", &U.admin, t, "{\"body\":\"same\"}", key);
	assert_string_not_equal(it_str(a.json, "id"), it_str(b.json, "id"));
	assert_int_equal(
	    count("SELECT count(*) FROM ticket.comments WHERE ticket_id = $1", t, NULL), 2);
	/* the other user's key with another body: that user's 422 */
	k422("comments.create", &U.admin, t, "{\"body\":\"other\"}", key);
	daemon_reply_free(&a);
	daemon_reply_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_time_entries),
		cmocka_unit_test(test_satisfaction),
		cmocka_unit_test(test_automations),
		cmocka_unit_test(test_ticket_key_elsewhere),
		cmocka_unit_test(test_concurrent_same_key),
		cmocka_unit_test(test_second_user_same_key),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
