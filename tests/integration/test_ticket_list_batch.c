/* Integration tests of hd-ticket's shared list reads
 * (services/ticket/list_queue.c): tickets.list requests that meet on one
 * worker in one loop iteration and would send the very same statements with
 * the very same parameters share one execution and one page; any other list
 * runs on its own. Every list goes out in ONE NNG batch (proto/README.md,
 * Batches), interleaved with lists that differ from it in one thing only
 * (tenant, the customer asking, limit, status filter, sort, cursor), and
 * every part's reply must be byte for byte the reply the same request gets
 * when sent alone; the lone replies are checked first against the database
 * as the owner role (not the list path under test), and lists that differ
 * must have different pages, so a coalescing that ignored any parameter
 * would hand some caller another list's page. The daemon runs with one
 * worker (HD_WORKERS=1), so a batch, and batches in flight together, meet
 * on one loop. Env as test_ticket_get.c: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include <stdbool.h>
#include "batch_it.h"

#define NA 8 /* tickets of tenant A, from several requesters */
#define NB 4 /* tickets of tenant B */
#define FIRST 5 /* the limit of the common first page */

static struct {
	it_who admin, agent, agent2, cust, cust2; /* tenant A */
	it_who b_admin, b_agent; /* tenant B */
	char a[NA][37], b[NB][37];
	char first_last[37]; /* the last row of A's first page */
	char cursor_q[256]; /* A's second page: limit and cursor */
	char req_q[128]; /* A's first page of cust's tickets, asked by staff */
} U;

/* One list of a batch: who asks with which query, and the page it must get,
 * described independently of the daemon: status; for a 200 the tenant's
 * live tickets of requester (NULL: anyone) in state (NULL: any), ordered
 * by (created_at, id) ascending or not, after the row after (NULL: from
 * the start), at most limit. */
typedef struct list_case {
	const it_who *who;
	const char *query;
	int status;
	const char *requester, *state;
	bool asc;
	int limit;
	const char *after;
} list_case;

/* A reply as received (raw, freed with hd_rpc_free) and decoded. */
typedef struct page {
	char *raw;
	hd_reply r;
} page;

static int group_setup(void **state)
{
	(void)state;
	setenv("HD_WORKERS", "1", 1);
	it_who_make(&U.admin, NULL, "admin");
	it_who_make(&U.agent, U.admin.tenant, "agent");
	it_who_make(&U.agent2, U.admin.tenant, "agent");
	it_who_make(&U.cust, U.admin.tenant, "customer");
	it_who_make(&U.cust2, U.admin.tenant, "customer");
	it_who_make(&U.b_admin, NULL, "admin");
	it_who_make(&U.b_agent, U.b_admin.tenant, "agent");
	return it_daemon_start(&U.admin);
}

/* Seeds tenant A (tickets of the agents, of cust, of cust2 and one an agent
 * files for cust2; statuses open, pending and new in turn) and tenant B. */
static void tickets_make(void)
{
	static const char *const status[]
	    = { "{\"status\":\"open\"}", "{\"status\":\"pending\"}", NULL };
	const it_who *by[NA]
	    = { &U.agent, &U.cust, &U.agent, &U.cust2, &U.agent2, &U.cust, &U.cust2, &U.agent };
	char body[128];
	for (int i = 0; i < NA; i++) {
		if (i == NA - 1)
			snprintf(body, sizeof(body),
			    "{\"subject\":\"list a %d\",\"requester_id\":\"%s\"}", i, U.cust2.user);
		else
			snprintf(body, sizeof(body), "{\"subject\":\"list a %d\"}", i);
		it_ticket(by[i], body, U.a[i]);
		if (status[i % 3] != NULL)
			it_check(200, "tickets.update", &U.agent, U.a[i], status[i % 3]);
	}
	for (int i = 0; i < NB; i++)
		it_ticket(&U.b_agent, "{\"subject\":\"list b\"}", U.b[i]);
	assert_int_equal(it_admin_count("SELECT count(*) FROM ticket.tickets"
	                                " WHERE tenant_id = $1 AND requester_id = $2",
	                     U.admin.tenant, U.cust2.user),
	    3);
}

/* The page of c by the owner role: its ids joined by ',', limit + 1 rows
 * at most, so that one more than limit tells that a next page exists. */
#define WANT_SQL(cmp, dir)                                                                         \
	"SELECT coalesce(string_agg(id::text, ',' ORDER BY created_at " dir ", id " dir "), '')"   \
	" FROM (SELECT t.id, t.created_at FROM ticket.tickets t"                                   \
	" WHERE t.tenant_id = $1::uuid AND t.deleted_at IS NULL"                                   \
	" AND ($2::uuid IS NULL OR t.requester_id = $2::uuid)"                                     \
	" AND ($3::text IS NULL OR t.status::text = $3::text)"                                     \
	" AND ($4::uuid IS NULL OR (t.created_at, t.id) " cmp                                      \
	" (SELECT c.created_at, c.id FROM ticket.tickets c WHERE c.id = $4::uuid))"                \
	" ORDER BY t.created_at " dir ", t.id " dir " LIMIT $5::int) s"

static char *want_ids(const list_case *c)
{
	char n[16], *ids = NULL;
	snprintf(n, sizeof(n), "%d", c->limit + 1);
	const char *p[5] = { c->who->tenant, c->requester, c->state, c->after, n };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     c->asc ? WANT_SQL(">", "ASC") : WANT_SQL("<", "DESC"), 5, p, &ids),
	    HD_OK);
	assert_non_null(ids);
	return ids;
}

/* The body of r, NUL-terminated (caller frees). */
static char *page_body(const hd_reply *r)
{
	char *body = strndup(r->body != NULL ? r->body : "", r->body_len);
	assert_non_null(body);
	return body;
}

/* Asserts that body (a 200 list) is c's page as the database has it: the
 * same ids in the same order, and a next cursor exactly when more rows
 * follow. part names the reply in failure messages. */
static void page_check_db(const list_case *c, const char *body, size_t part)
{
	char *want = want_ids(c), got[NA * 40 + 64] = "";
	cJSON *j = cJSON_Parse(body), *item;
	if (j == NULL)
		fail_msg("part %zu: body is not JSON: %s", part, body);
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(j, "items"))
	{
		const char *id = it_str(item, "id");
		assert_non_null(id);
		if (got[0] != '\0')
			strcat(got, ",");
		strcat(got, id);
	}
	int rows = want[0] != '\0' ? 1 : 0;
	char *cut = want;
	for (char *s = want; *s != '\0'; s++)
		if (*s == ',' && ++rows == c->limit + 1)
			cut = s;
	if (rows > c->limit)
		*cut = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("part %zu (%s as %s): ids %s, want %s", part, c->query, c->who->role, got,
		    want);
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
	if ((rows > c->limit) != (cJSON_IsString(next) != 0))
		fail_msg("part %zu (%s): %d rows at limit %d, next_cursor: %s", part, c->query,
		    rows, c->limit, body);
	cJSON_Delete(j);
	free(want);
}

/* Asserts that r answers c as the database has it: its status; a 422's
 * errors name limit, a 200 is c's page. */
static void page_check(const list_case *c, const hd_reply *r, size_t part)
{
	char *body = page_body(r);
	if (r->status != c->status)
		fail_msg("part %zu (%s as %s): expected %d, got %d: %s", part, c->query,
		    c->who->role, c->status, r->status, body);
	if (c->status != 200) {
		daemon_reply d = { .status = r->status, .body = body, .json = cJSON_Parse(body) };
		it_expect_422(&d, "limit"); /* frees body */
		return;
	}
	page_check_db(c, body, part);
	free(body);
}

/* Asserts that got is byte for byte want: status, headers and body. */
static void page_same(const page *want, const hd_reply *got, size_t part)
{
	const hd_reply *w = &want->r;
	bool same = got->status == w->status && got->nheaders == w->nheaders
	    && got->body_len == w->body_len && memcmp(got->body, w->body, w->body_len) == 0;
	for (size_t i = 0; same && i < w->nheaders; i++)
		same = strcmp(got->headers[i].name, w->headers[i].name) == 0
		    && strcmp(got->headers[i].value, w->headers[i].value) == 0;
	if (!same)
		fail_msg("part %zu: batched reply %d %.*s differs from the lone one %d %.*s", part,
		    got->status, (int)got->body_len, got->body, w->status, (int)w->body_len,
		    w->body);
}

static bool case_same(const list_case *a, const list_case *b)
{
#define SAME_STR(x, y) ((x) == (y) || ((x) != NULL && (y) != NULL && strcmp(x, y) == 0))
	return a->status == b->status && strcmp(a->who->tenant, b->who->tenant) == 0
	    && SAME_STR(a->requester, b->requester) && SAME_STR(a->state, b->state)
	    && a->asc == b->asc && a->limit == b->limit && SAME_STR(a->after, b->after);
#undef SAME_STR
}

static bit_req case_req(const list_case *c)
{
	return (bit_req) { "tickets.list", c->who, NULL, c->query };
}

/* Sends each of the n cases alone (the plain path), checks its reply
 * against the database and keeps it in solo[i]; then asserts that cases
 * with different pages got different bytes (so that a page handed to the
 * wrong list shows) and cases with the same page the same bytes. */
static void solo_run(const list_case *cases, size_t n, page *solo)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		bit_req r = case_req(&cases[i]);
		bit_send_alone(&r, (int)i, &solo[i].raw, &len);
		assert_int_equal(hd_reply_decode(solo[i].raw, len, &solo[i].r), HD_OK);
		page_check(&cases[i], &solo[i].r, i);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++) {
			bool same = solo[i].r.body_len == solo[k].r.body_len
			    && memcmp(solo[i].r.body, solo[k].r.body, solo[i].r.body_len) == 0;
			if (same != case_same(&cases[i], &cases[k]))
				fail_msg("lone replies %zu and %zu: the same body is %s", i, k,
				    same ? "shared by different lists" : "not shared");
		}
}

static void solo_free(page *solo, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hd_rpc_free(solo[i].raw);
}

/* Sends the n cases as ONE batch (part i numbered i, as alone), checks
 * every part against the database and returns the raw batch reply (free
 * with hd_rpc_free) with its parts decoded into replies. */
static char *batch_run(const list_case *cases, size_t n, hd_reply *replies)
{
	bit_req reqs[HD_BATCH_MAX];
	size_t len = 0;
	char *raw = NULL;
	for (size_t i = 0; i < n; i++)
		reqs[i] = case_req(&cases[i]);
	bit_batch_send(reqs, n, &raw, &len);
	bit_batch_split(raw, len, replies, n);
	for (size_t i = 0; i < n; i++)
		page_check(&cases[i], &replies[i], i);
	return raw;
}

/* batch_run, and asserts that every part is byte for byte solo[i]. */
static void batch_check(const list_case *cases, size_t n, const page *solo)
{
	hd_reply replies[HD_BATCH_MAX];
	char *raw = batch_run(cases, n, replies);
	for (size_t i = 0; i < n; i++)
		page_same(&solo[i], &replies[i], i);
	hd_rpc_free(raw);
}

/* A's first page alone: checks it, keeps its last row and builds the query
 * of the page after it from its next_cursor. */
static void cursor_make(void)
{
	const list_case first = { &U.agent, "limit=5", 200, NULL, NULL, false, FIRST, NULL };
	daemon_reply r = it_call("tickets.list", &U.agent, NULL, first.query, NULL);
	it_expect_status(&r, 200);
	page_check_db(&first, r.body, 0);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), FIRST);
	strcpy(U.first_last, it_str(cJSON_GetArrayItem(items, FIRST - 1), "id"));
	const char *cur = it_str(r.json, "next_cursor");
	assert_non_null(cur);
	snprintf(U.cursor_q, sizeof(U.cursor_q), "limit=5&cursor=%s", cur);
	snprintf(U.req_q, sizeof(U.req_q), "limit=5&requester_id=%s", U.cust.user);
	daemon_reply_free(&r);
}

#define CASE_A(who, q)                                                                             \
	{                                                                                          \
		&(who), q, 200, NULL, NULL, false, FIRST, NULL                                     \
	}
#define CASE_OWN(who)                                                                              \
	{                                                                                          \
		&(who), "limit=5", 200, (who).user, NULL, false, FIRST, NULL                       \
	}

/* The mixed lists, interleaved: six identical first pages of A's agent,
 * the same list by a second agent, by B's agent, by each customer (their
 * own), by staff for one customer (the customer's own page), and lists of
 * A's agent that differ in limit, status (two of them), sort and cursor,
 * and a malformed one (422). */
static size_t mixed_cases(list_case *out)
{
	const list_case cases[] = {
		CASE_A(U.agent, "limit=5"),
		CASE_A(U.b_agent, "limit=5"),
		CASE_OWN(U.cust),
		CASE_A(U.agent, "limit=5"),
		{ &U.agent, "limit=3", 200, NULL, NULL, false, 3, NULL },
		CASE_A(U.agent2, "limit=5"),
		CASE_OWN(U.cust2),
		CASE_A(U.agent, "limit=5"),
		{ &U.agent, "limit=5&status=open", 200, NULL, "open", false, FIRST, NULL },
		{ &U.agent, "limit=0", 422, NULL, NULL, false, 0, NULL },
		CASE_A(U.agent, "limit=5"),
		{ &U.agent, "limit=5&sort=created_at", 200, NULL, NULL, true, FIRST, NULL },
		CASE_A(U.b_agent, "limit=5"),
		{ &U.agent, U.cursor_q, 200, NULL, NULL, false, FIRST, U.first_last },
		CASE_A(U.agent, "limit=5"),
		{ &U.agent, U.req_q, 200, U.cust.user, NULL, false, FIRST, NULL },
		CASE_OWN(U.cust),
		{ &U.agent, "limit=5&status=pending", 200, NULL, "pending", false, FIRST, NULL },
		CASE_OWN(U.cust2),
		CASE_A(U.agent, "limit=5"),
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	memcpy(out, cases, sizeof(cases));
	return n;
}

/* Every kind of list in one batch: each part gets its own page. */
static void test_batch_mixed(void **state)
{
	(void)state;
	list_case cases[HD_BATCH_MAX];
	page solo[HD_BATCH_MAX];
	tickets_make();
	cursor_make();
	size_t n = mixed_cases(cases);
	solo_run(cases, n, solo);
	batch_check(cases, n, solo);
	batch_check(cases, n, solo); /* nothing changed: the same again */
	solo_free(solo, n);
}

/* The same batch of identical lists twice, a ticket created in between:
 * the second batch shows it (nothing is kept from one iteration to the
 * next), for staff and for the customer who filed it. */
static void test_batch_twice(void **state)
{
	(void)state;
	const list_case cases[] = {
		CASE_A(U.agent, "limit=5"),
		CASE_OWN(U.cust),
		CASE_A(U.agent, "limit=5"),
		CASE_A(U.agent2, "limit=5"),
		CASE_A(U.agent, "limit=5"),
		CASE_OWN(U.cust),
		CASE_A(U.agent, "limit=5"),
		CASE_A(U.agent2, "limit=5"),
		CASE_A(U.agent, "limit=5"),
		CASE_A(U.agent, "limit=5"),
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	page before[HD_BATCH_MAX], after[HD_BATCH_MAX];
	hd_reply replies[HD_BATCH_MAX];
	char fresh[37];
	solo_run(cases, n, before);
	batch_check(cases, n, before);
	it_ticket(&U.cust, "{\"subject\":\"fresh\"}", fresh);
	/* the batch right after the write, before any lone list */
	char *raw = batch_run(cases, n, replies);
	solo_run(cases, n, after);
	for (size_t i = 0; i < n; i++)
		page_same(&after[i], &replies[i], i);
	hd_rpc_free(raw);
	for (size_t i = 0; i < n; i++) {
		char *body = page_body(&after[i].r);
		cJSON *j = cJSON_Parse(body);
		assert_non_null(j);
		const char *top = it_str(
		    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "items"), 0), "id");
		if (top == NULL || strcmp(top, fresh) != 0)
			fail_msg("part %zu: the new ticket %s is not first: %s", i, fresh, body);
		assert_true(before[i].r.body_len != after[i].r.body_len
		    || memcmp(before[i].r.body, after[i].r.body, after[i].r.body_len) != 0);
		cJSON_Delete(j);
		free(body);
	}
	solo_free(before, n);
	solo_free(after, n);
}

/* Several batches of the mixed lists in flight at once, each in another
 * order: the lists of all of them that meet on the loop share reads across
 * batches, and every part still gets its own page. The malformed list is
 * left out (its problem names the request id, numbered by part). */
static void test_batches_in_flight(void **state)
{
	(void)state;
	enum { CALLS = 6 };
	list_case all[HD_BATCH_MAX], cases[HD_BATCH_MAX];
	page solo[HD_BATCH_MAX];
	bit_req reqs[CALLS][HD_BATCH_MAX];
	bit_call calls[CALLS];
	size_t n = 0, total = mixed_cases(all);
	for (size_t i = 0; i < total; i++)
		if (all[i].status == 200)
			cases[n++] = all[i];
	solo_run(cases, n, solo);
	for (size_t k = 0; k < CALLS; k++) {
		for (size_t i = 0; i < n; i++)
			reqs[k][i] = case_req(&cases[(i + k * 5) % n]);
		bit_call_start(&calls[k], reqs[k], n);
	}
	for (size_t k = 0; k < CALLS; k++) {
		hd_reply replies[HD_BATCH_MAX];
		size_t len = 0;
		char *raw = NULL;
		bit_call_finish(&calls[k], &raw, &len);
		bit_batch_split(raw, len, replies, n);
		for (size_t i = 0; i < n; i++)
			page_same(&solo[(i + k * 5) % n], &replies[i], k * 100 + i);
		hd_rpc_free(raw);
	}
	solo_free(solo, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_batch_twice),
		cmocka_unit_test(test_batches_in_flight),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
