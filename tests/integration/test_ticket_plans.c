/* Integration tests of the plans of GET /v1/tickets at scale (issue 18,
 * docs/benchmarks.md "At scale"): a regression there is silent (the
 * answer stays right, only slow), so these pin the plans' shape. One tenant
 * gets 60,000 tickets in one generate_series INSERT with skewed values (no
 * on_hold ticket, no urgent pending one, a tag on 20 tickets and another on
 * every other one, a word in 12 descriptions and another in all), then
 * ANALYZE. Each case EXPLAINs the very statement hd-ticket sends
 * (services/ticket/list_sql.h) as hd_app in the tenant, with its parameters
 * bound, as the daemon's custom plans see them (ticket_list.c), and names
 * the index the plan must
 * read, and for common values the one it must not: a rare or absent tag or
 * word reads its GIN index, a common one walks the sort order's index; a
 * status, a priority or both read their own sorted index
 * (sql/011_list_indexes.sql). The same lists then go through the daemon,
 * whose pages must hold exactly the rows the owner role counts. Env as
 * test_ticket_get.c: HD_TEST_DATABASE_URL, HD_TEST_DATABASE_ADMIN_URL,
 * HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include "ticket_it.h"
#include "../../services/ticket/list_sql.h"

#define SEEDED "60000"

static struct {
	it_who admin;
	char app_url[512]; /* hd_app in the tenant, as the daemon connects */
} U;

/* The tenant's tickets: number i, created one minute apart; statuses 60%
 * closed, 30% solved, 10% open or pending (never on_hold); priorities
 * urgent for 1 in 50 (never pending), else normal or low; tag "common" on
 * every other ticket, "rare" on 20; "printer" in every description,
 * "zebra" in 12. */
static const char seed_sql[]
    = "INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status,"
      " priority, tags, requester_id, created_at, updated_at)"
      " SELECT $1::uuid, gen_random_uuid(), i, 'Seeded ticket ' || i,"
      " 'The printer shows error E' || (i % 97) || CASE WHEN i % 5000 = 7 THEN ' zebra' ELSE ''"
      " END,"
      " CASE WHEN i % 10 < 6 THEN 'closed' WHEN i % 10 < 9 THEN 'solved'"
      " WHEN i % 20 = 9 THEN 'open' ELSE 'pending' END,"
      " CASE WHEN i % 50 = 3 THEN 'urgent' WHEN i % 3 = 0 THEN 'low' ELSE 'normal' END,"
      " CASE WHEN i % 3000 = 11 THEN ARRAY['rare'] WHEN i % 2 = 0 THEN ARRAY['common']"
      " ELSE '{}' END,"
      " md5($1 || (i % 500)::text)::uuid, ts, ts"
      " FROM generate_series(1, " SEEDED ") i,"
      " LATERAL (SELECT date_trunc('milliseconds', now() - make_interval(mins => " SEEDED
      " - i)) AS ts) t";

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&U.admin, NULL, "admin");
	if (it_daemon_start(&U.admin) != 0)
		return -1;
	const char *p[1] = { U.admin.tenant };
	assert_int_equal(hd_db_exec_sync(IT.admin_url, seed_sql, 1, p, NULL), HD_OK);
	assert_int_equal(
	    hd_db_exec_sync(IT.admin_url, "ANALYZE ticket.tickets", 0, NULL, NULL), HD_OK);
	/* row-level security decides which conditions may use an index (a
	 * policy's condition goes first, and @> and @@ are not leakproof): the
	 * plans are those hd_app gets, in the tenant */
	const char *app = it_env("HD_TEST_DATABASE_URL");
	int n = snprintf(U.app_url, sizeof(U.app_url), "%s%coptions=-c%%20app.tenant_id%%3D%s", app,
	    strchr(app, '?') != NULL ? '&' : '?', U.admin.tenant);
	assert_true(n > 0 && (size_t)n < sizeof(U.app_url));
	return 0;
}

/* The sorts of the cases, and their statements. */
typedef enum { CREATED_DESC, CREATED_ASC, UPDATED_DESC } sort_kind;
static const struct {
	const char *name, *sql, *ts;
} sorts[] = {
	[CREATED_DESC] = { "-created_at", TK_LIST_SQL("created_at", "<", "DESC"), "created_at" },
	[CREATED_ASC] = { "created_at", TK_LIST_SQL("created_at", ">", "ASC"), "created_at" },
	[UPDATED_DESC] = { "-updated_at", TK_LIST_SQL("updated_at", "<", "DESC"), "updated_at" },
};

/* One list: its filters ($5..$10, NULL when absent), its sort, the index
 * its plan must read and one it must not (NULL: no such rule), and how many
 * of the tenant's tickets match. */
typedef struct plan_case {
	const char *status, *priority, *tag, *q;
	sort_kind sort;
	const char *index, *not_index;
	long matches;
} plan_case;

static const plan_case cases[] = {
	{ NULL, NULL, "rare", NULL, CREATED_DESC, "tickets_tags_idx", NULL, 20 },
	{ NULL, NULL, "nosuchtag", NULL, CREATED_DESC, "tickets_tags_idx", NULL, 0 },
	{ NULL, NULL, "common", NULL, CREATED_DESC, "tickets_created_idx", "tickets_tags_idx",
	    30000 },
	{ NULL, NULL, NULL, "zebra", CREATED_DESC, "tickets_search_idx", NULL, 12 },
	{ NULL, NULL, NULL, "zyxwvut", CREATED_ASC, "tickets_search_idx", NULL, 0 },
	{ NULL, NULL, NULL, "printer", CREATED_DESC, "tickets_created_idx", "tickets_search_idx",
	    60000 },
	{ "on_hold", NULL, NULL, NULL, CREATED_DESC, "tickets_status_created_idx", NULL, 0 },
	{ "open", NULL, NULL, NULL, CREATED_ASC, "tickets_status_created_idx", NULL, 3000 },
	{ "pending", NULL, NULL, NULL, UPDATED_DESC, "tickets_status_updated_idx", NULL, 3000 },
	{ "pending", "urgent", NULL, NULL, CREATED_DESC, "tickets_status_priority_idx", NULL, 0 },
	{ NULL, "urgent", NULL, NULL, CREATED_DESC, "tickets_priority_created_idx", NULL, 1200 },
};

/* The plan of c as JSON (EXPLAIN with the parameters bound: a custom plan),
 * first page, limit 25. Freed by the caller. */
static char *plan_of(const plan_case *c)
{
	char sql[4096], *plan = NULL;
	int n = snprintf(sql, sizeof(sql), "EXPLAIN (FORMAT JSON) %s", sorts[c->sort].sql);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	const char *p[10]
	    = { U.admin.tenant, "26", "infinity", "ffffffff-ffff-ffff-ffff-ffffffffffff", c->status,
		      c->priority, NULL, NULL, c->tag, c->q };
	if (c->sort == CREATED_ASC) {
		p[2] = "-infinity";
		p[3] = "00000000-0000-0000-0000-000000000000";
	}
	assert_int_equal(hd_db_exec_sync(U.app_url, sql, 10, p, &plan), HD_OK);
	assert_non_null(plan);
	return plan;
}

static const char *shown(const char *v)
{
	return v != NULL ? v : "-";
}

static bool plan_reads(const char *plan, const char *index)
{
	char name[96];
	snprintf(name, sizeof(name), "\"Index Name\": \"%s\"", index);
	return strstr(plan, name) != NULL;
}

static void test_plans_fit_the_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const plan_case *c = &cases[i];
		char *plan = plan_of(c);
		if (!plan_reads(plan, c->index))
			fail_msg(
			    "case %zu (status %s, priority %s, tag %s, q %s) does not read %s:\n%s",
			    i, shown(c->status), shown(c->priority), shown(c->tag), shown(c->q),
			    c->index, plan);
		if (c->not_index != NULL && plan_reads(plan, c->not_index))
			fail_msg("case %zu (tag %s, q %s) reads %s for a common value:\n%s", i,
			    shown(c->tag), shown(c->q), c->not_index, plan);
		free(plan);
	}
}

/* The unfiltered first page: the range scan of the sort order's index. */
static void test_plain_list_reads_the_sort_index(void **state)
{
	(void)state;
	char *plan = NULL;
	const char *p[4]
	    = { U.admin.tenant, "26", "infinity", "ffffffff-ffff-ffff-ffff-ffffffffffff" };
	assert_int_equal(
	    hd_db_exec_sync(U.app_url,
	        "EXPLAIN (FORMAT JSON) " TK_LIST_PLAIN_SQL("updated_at", "<", "DESC"), 4, p, &plan),
	    HD_OK);
	assert_true(plan_reads(plan, "tickets_updated_idx"));
	free(plan);
}

/* The query string of c for tickets.list, limit 100. */
static void case_query(const plan_case *c, char *q, size_t size)
{
	int n = snprintf(q, size, "limit=100&sort=%s%s%s%s%s%s%s%s%s", sorts[c->sort].name,
	    c->status != NULL ? "&status=" : "", c->status != NULL ? c->status : "",
	    c->priority != NULL ? "&priority=" : "", c->priority != NULL ? c->priority : "",
	    c->tag != NULL ? "&tag=" : "", c->tag != NULL ? c->tag : "", c->q != NULL ? "&q=" : "",
	    c->q != NULL ? c->q : "");
	assert_true(n > 0 && (size_t)n < size);
}

/* Through the daemon: a page holds min(100, matches) tickets, every one
 * matching, in the sort order, with a next cursor exactly when more match. */
static void test_pages_hold_the_matching_rows(void **state)
{
	(void)state;
	char q[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const plan_case *c = &cases[i];
		case_query(c, q, sizeof(q));
		daemon_reply r = it_call("tickets.list", &U.admin, NULL, q, NULL);
		it_expect_status(&r, 200);
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
		long want = c->matches < 100 ? c->matches : 100;
		if (cJSON_GetArraySize(items) != want)
			fail_msg("%s: %d items, want %ld", q, cJSON_GetArraySize(items), want);
		const cJSON *next = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
		assert_true(c->matches > 100 ? cJSON_IsString(next) : cJSON_IsNull(next));
		const char *prev = NULL;
		const cJSON *t;
		cJSON_ArrayForEach(t, items)
		{
			if (c->status != NULL)
				assert_string_equal(it_str(t, "status"), c->status);
			if (c->priority != NULL)
				assert_string_equal(it_str(t, "priority"), c->priority);
			const char *ts = it_str(t, sorts[c->sort].ts);
			if (prev != NULL)
				assert_true(c->sort == CREATED_ASC ? strcmp(prev, ts) < 0
				                                   : strcmp(prev, ts) > 0);
			prev = ts;
		}
		daemon_reply_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans_fit_the_values),
		cmocka_unit_test(test_plain_list_reads_the_sort_index),
		cmocka_unit_test(test_pages_hold_the_matching_rows),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
