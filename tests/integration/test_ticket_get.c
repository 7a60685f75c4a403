/* Integration tests of hd-ticket's gathered GET of one ticket
 * (services/ticket/get_queue.c): several tickets.get envelopes sent as ONE
 * NNG batch (proto/README.md, Batches) run on one worker in one go and are
 * answered by one statement per tenant; every part's reply must be the one
 * for its own request (status, id, number, ETag), whatever the tenant, the
 * caller's role, duplicates, misses and deletions around it. Expected values
 * come from the database as the owner role, not from the GET path under
 * test. The daemon runs with one worker (HD_WORKERS=1), so concurrent
 * batches meet on one loop. Env as test_ticket.c: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include "batch_it.h"

#define NA 5 /* agent-made tickets of tenant A in the mixed batch */
#define NB 3 /* tickets of tenant B */
#define NMANY 100 /* GETs of one tenant, beyond the 64 a statement takes */

static struct {
	it_who admin, agent, cust, cust2; /* tenant A */
	it_who b_agent; /* tenant B */
	char a[NA][37], mine[37], theirs[37], gone[37], b[NB][37];
	char many[NMANY][37];
} U;

/* One GET of a batch: who asks for which id, and the status it must get. */
typedef struct get_case {
	const it_who *who;
	const char *id;
	int status;
} get_case;

static int group_setup(void **state)
{
	(void)state;
	setenv("HD_WORKERS", "1", 1);
	it_who_make(&U.admin, NULL, "admin");
	it_who_make(&U.agent, U.admin.tenant, "agent");
	it_who_make(&U.cust, U.admin.tenant, "customer");
	it_who_make(&U.cust2, U.admin.tenant, "customer");
	it_who_make(&U.b_agent, NULL, "agent");
	return it_daemon_start(&U.admin);
}

/* The tickets.get requests of the n cases, in order, into reqs. */
static void get_reqs(const get_case *cases, size_t n, bit_req *reqs)
{
	assert_true(n > 0 && n <= HD_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		reqs[i] = (bit_req) { "tickets.get", cases[i].who, cases[i].id, NULL };
}

/* A ticket's number and version as stored. */
typedef struct stored {
	long number, version;
} stored;

/* Reads, in one query as the owner role (not through the GET path under
 * test), the stored number and version of the tickets of the n cases into
 * out (in case order; zeros for an id not stored). */
static void stored_load(const get_case *cases, size_t n, stored *out)
{
	char ids[HD_BATCH_MAX * 37 + 3], *rows = NULL, *save = NULL;
	size_t at = 0;
	ids[at++] = '{';
	for (size_t i = 0; i < n; i++)
		if (hd_uuid_valid(cases[i].id))
			at += (size_t)sprintf(ids + at, "%s%s", at > 1 ? "," : "", cases[i].id);
	sprintf(ids + at, "}");
	const char *p[1] = { ids };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "SELECT string_agg(id::text || ' ' || number || ' ' || version, ' ')"
	                     " FROM ticket.tickets WHERE id = ANY($1::uuid[])",
	                     1, p, &rows),
	    HD_OK);
	memset(out, 0, n * sizeof(*out));
	for (char *id = strtok_r(rows, " ", &save); id != NULL; id = strtok_r(NULL, " ", &save)) {
		char *num = strtok_r(NULL, " ", &save), *ver = strtok_r(NULL, " ", &save);
		assert_non_null(ver);
		for (size_t i = 0; i < n; i++)
			if (strcmp(cases[i].id, id) == 0)
				out[i] = (stored) { strtol(num, NULL, 10), strtol(ver, NULL, 10) };
	}
	free(rows);
}

/* Asserts that reply r answers c: its status; for a 200, the requested
 * ticket (id, and number and version as in want) with an ETag of its
 * version. part names the reply in failure messages. */
static void check_reply(const get_case *c, const stored *want, const hd_reply *r, size_t part)
{
	char *body = strndup(r->body != NULL ? r->body : "", r->body_len);
	assert_non_null(body);
	if (r->status != c->status)
		fail_msg("part %zu (%s as %s): expected %d, got %d: %s", part, c->id, c->who->role,
		    c->status, r->status, body);
	cJSON *j = cJSON_Parse(body);
	if (j == NULL)
		fail_msg("part %zu: body is not JSON: %s", part, body);
	if (c->status != 200) {
		assert_int_equal(it_num(j, "status"), c->status);
		cJSON_Delete(j);
		free(body);
		return;
	}
	const char *id = it_str(j, "id");
	if (id == NULL || strcmp(id, c->id) != 0)
		fail_msg("part %zu: asked for %s, got %s", part, c->id, body);
	long version = it_num(j, "version");
	if (it_num(j, "number") != want->number || version != want->version)
		fail_msg("part %zu (%s): number/version %ld/%ld, stored %ld/%ld", part, c->id,
		    it_num(j, "number"), version, want->number, want->version);
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%ld\"", version);
	const char *got = bit_reply_header(r, "etag");
	if (got == NULL || strcmp(got, etag) != 0)
		fail_msg(
		    "part %zu (%s): etag %s, want %s", part, c->id, got ? got : "(none)", etag);
	cJSON_Delete(j);
	free(body);
}

/* Asserts that the batch reply raw answers the n cases, part i case i. */
static void check_batch_reply(const get_case *cases, size_t n, const char *raw, size_t len)
{
	hd_reply replies[HD_BATCH_MAX];
	stored want[HD_BATCH_MAX];
	stored_load(cases, n, want);
	bit_batch_split(raw, len, replies, n);
	for (size_t i = 0; i < n; i++)
		check_reply(&cases[i], &want[i], &replies[i], i);
}

/* Sends the n GETs of cases as one batch and checks every reply. */
static void batch_run(const get_case *cases, size_t n)
{
	bit_req reqs[HD_BATCH_MAX];
	size_t raw_len = 0;
	char *raw = NULL;
	get_reqs(cases, n, reqs);
	bit_batch_send(reqs, n, &raw, &raw_len);
	check_batch_reply(cases, n, raw, raw_len);
	hd_rpc_free(raw);
}

/* Updates ticket id times times as the agent (each bumps its version). */
static void bump(const char *id, int times)
{
	char body[64];
	for (int i = 0; i < times; i++) {
		snprintf(body, sizeof(body), "{\"subject\":\"edit %d\"}", i);
		it_check(200, "tickets.update", &U.agent, id, body);
	}
}

static void mixed_tickets_make(void)
{
	for (int i = 0; i < NA; i++) {
		it_ticket(&U.agent, "{\"subject\":\"gathered a\"}", U.a[i]);
		bump(U.a[i], i); /* versions 1..NA: a swapped reply shows */
	}
	it_ticket(&U.cust, "{\"subject\":\"my own\"}", U.mine);
	it_ticket(&U.cust2, "{\"subject\":\"someone else's\"}", U.theirs);
	it_ticket(&U.agent, "{\"subject\":\"to delete\"}", U.gone);
	it_check(204, "tickets.delete", &U.admin, U.gone, NULL);
	for (int i = 0; i < NB; i++)
		it_ticket(&U.b_agent, "{\"subject\":\"gathered b\"}", U.b[i]);
	/* a soft-deleted row is still there: only the filter hides it */
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.tickets"
	                                " WHERE id = $1 AND deleted_at IS NOT NULL",
	                     U.gone, NULL),
	    1);
}

/* One batch of every kind of GET, tenants interleaved, in the brief's
 * order; run twice, with a version bump in between (no stale reply). */
static void test_batch_mixed(void **state)
{
	(void)state;
	char missing[37];
	assert_int_equal(hd_uuid_v7(missing), HD_OK);
	mixed_tickets_make();
	const get_case cases[] = {
		{ &U.agent, U.a[0], 200 },
		{ &U.agent, U.a[1], 200 },
		{ &U.agent, U.a[2], 200 },
		{ &U.agent, U.a[3], 200 },
		{ &U.agent, U.a[4], 200 },
		{ &U.agent, U.a[3], 200 }, /* the same ticket twice */
		{ &U.agent, U.a[3], 200 },
		{ &U.agent, missing, 404 },
		{ &U.agent, U.gone, 404 }, /* soft-deleted */
		{ &U.cust, U.mine, 200 },
		{ &U.cust, U.theirs, 404 }, /* another requester's */
		{ &U.b_agent, U.b[0], 200 },
		{ &U.agent, U.theirs, 200 }, /* the same row, staff sees it */
		{ &U.b_agent, U.b[1], 200 },
		{ &U.agent, U.mine, 200 },
		{ &U.b_agent, U.b[2], 200 },
		{ &U.agent, U.b[0], 404 }, /* cross tenant */
		{ &U.cust, U.a[0], 404 }, /* requested by the agent */
		{ &U.b_agent, U.a[1], 404 }, /* cross tenant, the other way */
		{ &U.agent, "not-a-uuid", 404 }, /* answered at once, not gathered */
		{ &U.cust2, U.theirs, 200 },
		{ &U.cust2, U.mine, 404 },
		{ &U.b_agent, U.b[0], 200 },
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	batch_run(cases, n);
	bump(U.a[3], 2);
	bump(U.theirs, 1);
	batch_run(cases, n);
	/* the customer's own view outside a batch agrees */
	it_check(200, "tickets.get", &U.cust, U.mine, NULL);
	it_check(404, "tickets.get", &U.cust, U.theirs, NULL);
}

/* A batch of GETs in flight: its cases and the call. */
typedef struct batch_call {
	const get_case *cases;
	size_t n;
	bit_call call;
} batch_call;

static void batch_call_start(batch_call *b)
{
	bit_req reqs[HD_BATCH_MAX];
	get_reqs(b->cases, b->n, reqs);
	bit_call_start(&b->call, reqs, b->n);
}

static void batch_call_finish(batch_call *b)
{
	size_t raw_len = 0;
	char *raw = NULL;
	bit_call_finish(&b->call, &raw, &raw_len);
	check_batch_reply(b->cases, b->n, raw, raw_len);
	hd_rpc_free(raw);
}

/* NMANY GETs of one tenant. A batch carries at most HD_BATCH_MAX (64)
 * parts, as many as one statement takes, so each round goes as a full batch
 * of 64 and one of the rest; the rounds (ids shifted in each) are all sent
 * at once to the one worker, which gathers the batches that meet in one
 * loop iteration: more GETs than a statement holds. */
static void test_batch_hundred(void **state)
{
	(void)state;
	enum { ROUNDS = 8 };
	static get_case cases[ROUNDS][NMANY];
	static batch_call calls[ROUNDS][2];
	for (int i = 0; i < NMANY; i++) {
		it_ticket(&U.agent, "{\"subject\":\"many\"}", U.many[i]);
		if (i % 7 == 0)
			bump(U.many[i], 1 + i % 3);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < NMANY; i++)
			cases[r][i] = (get_case) { &U.agent, U.many[(i + r * 37) % NMANY], 200 };
		calls[r][0] = (batch_call) { .cases = cases[r], .n = HD_BATCH_MAX };
		calls[r][1]
		    = (batch_call) { .cases = cases[r] + HD_BATCH_MAX, .n = NMANY - HD_BATCH_MAX };
	}
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 2; k++)
			batch_call_start(&calls[r][k]);
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 2; k++)
			batch_call_finish(&calls[r][k]);
}

/* A lone GET (a plain envelope, not a batch) is answered at once, right. */
static void test_lone_get(void **state)
{
	(void)state;
	char id[37], missing[37];
	it_ticket(&U.cust, "{\"subject\":\"alone\"}", id);
	bump(id, 2);
	daemon_reply r = it_call("tickets.get", &U.cust, id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_string_equal(it_str(r.json, "id"), id);
	assert_int_equal(it_num(r.json, "number"),
	    it_admin_count("SELECT number FROM ticket.tickets WHERE id = $1", id, NULL));
	assert_int_equal(it_num(r.json, "version"), 3);
	assert_string_equal(it_header(&r, "etag"), "\"3\"");
	daemon_reply_free(&r);
	assert_int_equal(hd_uuid_v7(missing), HD_OK);
	it_check(404, "tickets.get", &U.agent, missing, NULL);
	it_check(404, "tickets.get", &U.cust2, id, NULL);
	it_check(404, "tickets.get", &U.b_agent, id, NULL);
	it_check(200, "tickets.get", &U.agent, id, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lone_get),
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_hundred),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
