/* Integration tests of the plans of GET /v1/tickets at scale (issue 18,
 * docs/benchmarks.md "At scale"): a regression there is silent (the
 * answer stays right, only slow), so these pin the plans' shape. One tenant
 * gets 60,000 tickets in one generate_series INSERT with skewed values (no
 * on_hold ticket, no urgent pending one, a tag on 20 tickets and another on
 * every other one, a word in 12 descriptions and another in all), another
 * tenant 200 tickets that all carry the rare tag, then ANALYZE. Each case EXPLAINs the very
 * statement hd-ticket sends for its sort and filters (services/ticket/list_sql.h,
 * ticket_list_sql.c) as hd_app in the tenant, with the plan the daemon gets: with tag or q a custom
 * plan (its parameters bound), otherwise the cached generic plan (PREPARE under force_generic_plan,
 * EXPLAIN EXECUTE). Each names the index the plan must read, and for common values the one it must
 * not: a rare or absent tag or word reads its GIN index (a tag the one with the tenant, which
 * yields the tenant's rows only: sql/035_tenant_tags_idx.sql), a common one walks the sort order's
 * index; a status, a priority or both, an assignee, a requester read their own sorted index
 * (sql/011_list_indexes.sql, 001), and a generic plan never sorts (a Sort would read every matching
 * row whatever the page); the GIN indexes keep their pending lists small
 * (sql/015_gin_pending_limit.sql). The same lists then go through the daemon, whose pages must hold
 * exactly the rows the owner role counts. Env as test_ticket_get.c: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include <libpq-fe.h>
#include "ticket_it.h"
#include "../../services/ticket/list_sql.h"

#define SEEDED "60000"
#define SEEDED_PER_1000 "60" /* seeded tickets whose number % 1000 = 500 */
#define SEED_PEOPLE 20 /* the assignees and requesters the cases name */

static struct {
	it_who admin;
	char app_url[512]; /* hd_app in the tenant, as the daemon connects */
	it_who other; /* another tenant, whose tickets all carry the tag "rare" */
	char assignees[SEED_PEOPLE][40], requesters[SEED_PEOPLE][40]; /* seed's ids by number */
} U;

/* The tenant's tickets: number i, created one minute apart; statuses 60%
 * closed, 30% solved, 10% open or pending (never on_hold); priorities
 * urgent for 1 in 50 (never pending), else normal or low; tag "common" on
 * every other ticket, "rare" on 20 (i % 3000 = 11); "printer" in every
 * description, "zebra" in 12; requester k = i % 500 (120 tickets each);
 * assignee k = i % 20 unless i % 4 = 0 (unassigned), so assignee 0 has
 * none, assignee 1 has 3,000 (all closed), assignee 11 the 20 "rare". */
static const char seed_sql[]
    = "INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status,"
      " priority, tags, requester_id, assignee_id, created_at, updated_at)"
      " SELECT $1::uuid, gen_random_uuid(), i, 'Seeded ticket ' || i,"
      " 'The printer shows error E' || (i % 97) || CASE WHEN i % 5000 = 7 THEN ' zebra' ELSE ''"
      " END,"
      " CASE WHEN i % 10 < 6 THEN 'closed' WHEN i % 10 < 9 THEN 'solved'"
      " WHEN i % 20 = 9 THEN 'open' ELSE 'pending' END,"
      " CASE WHEN i % 50 = 3 THEN 'urgent' WHEN i % 3 = 0 THEN 'low' ELSE 'normal' END,"
      " CASE WHEN i % 3000 = 11 THEN ARRAY['rare'] WHEN i % 2 = 0 THEN ARRAY['common']"
      " ELSE '{}' END,"
      " md5($1 || (i % 500)::text)::uuid,"
      " CASE WHEN i % 4 <> 0 THEN md5('a' || (i % 20)::text)::uuid END, ts, ts"
      " FROM generate_series(1, " SEEDED ") i,"
      " LATERAL (SELECT date_trunc('milliseconds', now() - make_interval(mins => " SEEDED
      " - i)) AS ts) t";

/* The other tenant's 200 tickets, every one tagged "rare" (the tenant's own
 * 20 are rarer): a tag index without the tenant finds them too. */
static const char other_sql[]
    = "INSERT INTO ticket.tickets (tenant_id, id, number, subject, description, status,"
      " priority, tags, requester_id, created_at, updated_at)"
      " SELECT $1::uuid, gen_random_uuid(), i, 'Other ticket ' || i, 'Another tenant',"
      " 'open', 'normal', ARRAY['rare'], md5($1 || i::text)::uuid, now(), now()"
      " FROM generate_series(1, 200) i";

/* The ids of the seed's assignees and requesters 0..SEED_PEOPLE-1. */
static void seed_people(void)
{
	for (int k = 0; k < SEED_PEOPLE; k++) {
		char num[16], *id = NULL;
		snprintf(num, sizeof(num), "%d", k);
		const char *pa[2] = { "a", num }, *pr[2] = { U.admin.tenant, num };
		assert_int_equal(
		    hd_db_exec_sync(IT.admin_url, "SELECT md5($1 || $2)::uuid::text", 2, pa, &id),
		    HD_OK);
		snprintf(U.assignees[k], sizeof(U.assignees[k]), "%s", id);
		free(id);
		assert_int_equal(
		    hd_db_exec_sync(IT.admin_url, "SELECT md5($1 || $2)::uuid::text", 2, pr, &id),
		    HD_OK);
		snprintf(U.requesters[k], sizeof(U.requesters[k]), "%s", id);
		free(id);
	}
}

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&U.admin, NULL, "admin");
	if (it_daemon_start(&U.admin) != 0)
		return -1;
	const char *p[1] = { U.admin.tenant };
	assert_int_equal(hd_db_exec_sync(IT.admin_url, seed_sql, 1, p, NULL), HD_OK);
	it_who_make(&U.other, NULL, "admin");
	const char *po[1] = { U.other.tenant };
	assert_int_equal(hd_db_exec_sync(IT.admin_url, other_sql, 1, po, NULL), HD_OK);
	seed_people();
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

/* The sorts of the cases. */
typedef enum { CREATED_DESC, CREATED_ASC, UPDATED_DESC } sort_kind;
static const struct {
	const char *name, *ts;
	tk_list_order order;
} sorts[] = {
	[CREATED_DESC] = { "-created_at", "created_at", TK_LIST_CREATED_DESC },
	[CREATED_ASC] = { "created_at", "created_at", TK_LIST_CREATED_ASC },
	[UPDATED_DESC] = { "-updated_at", "updated_at", TK_LIST_UPDATED_DESC },
};

#define NOONE (-1)

/* One list: its filters (NULL or NOONE when absent; assignee and requester
 * by the seed's number), its sort, the index its plan must read and the end
 * of the names of those it must not (NULL: no such rule; "tags_idx": neither
 * tag index), and how many of the tenant's tickets match. */
typedef struct plan_case {
	const char *status, *priority, *tag, *q;
	int assignee, requester;
	sort_kind sort;
	const char *index, *not_index;
	long matches;
} plan_case;

static const plan_case cases[] = {
	{ NULL, NULL, "rare", NULL, NOONE, NOONE, CREATED_DESC, "tickets_tenant_tags_idx", NULL,
	    20 },
	{ NULL, NULL, "nosuchtag", NULL, NOONE, NOONE, CREATED_DESC, "tickets_tenant_tags_idx",
	    NULL, 0 },
	{ NULL, NULL, "common", NULL, NOONE, NOONE, CREATED_DESC, "tickets_created_idx", "tags_idx",
	    30000 },
	{ NULL, NULL, NULL, "zebra", NOONE, NOONE, CREATED_DESC, "tickets_search_idx", NULL, 12 },
	{ NULL, NULL, NULL, "zyxwvut", NOONE, NOONE, CREATED_ASC, "tickets_search_idx", NULL, 0 },
	{ NULL, NULL, NULL, "printer", NOONE, NOONE, CREATED_DESC, "tickets_created_idx",
	    "tickets_search_idx", 60000 },
	{ NULL, NULL, "rare", NULL, 11, NOONE, CREATED_DESC, "tickets_tenant_tags_idx", NULL, 20 },
	{ NULL, NULL, NULL, NULL, NOONE, NOONE, UPDATED_DESC, "tickets_updated_idx", NULL, 60000 },
	{ "on_hold", NULL, NULL, NULL, NOONE, NOONE, CREATED_DESC, "tickets_status_created_idx",
	    NULL, 0 },
	{ "open", NULL, NULL, NULL, NOONE, NOONE, CREATED_ASC, "tickets_status_created_idx", NULL,
	    3000 },
	{ "pending", NULL, NULL, NULL, NOONE, NOONE, UPDATED_DESC, "tickets_status_updated_idx",
	    NULL, 3000 },
	{ "pending", "urgent", NULL, NULL, NOONE, NOONE, CREATED_DESC,
	    "tickets_status_priority_idx", NULL, 0 },
	{ NULL, "urgent", NULL, NULL, NOONE, NOONE, CREATED_DESC, "tickets_priority_created_idx",
	    NULL, 1200 },
	{ NULL, NULL, NULL, NULL, 1, NOONE, CREATED_DESC, "tickets_assignee_idx", NULL, 3000 },
	{ NULL, NULL, NULL, NULL, 0, NOONE, CREATED_ASC, "tickets_assignee_idx", NULL, 0 },
	{ NULL, NULL, NULL, NULL, NOONE, 7, CREATED_DESC, "tickets_requester_idx", NULL, 120 },
	{ "solved", NULL, NULL, NULL, NOONE, 7, CREATED_DESC, "tickets_requester_idx", NULL, 120 },
	{ "open", NULL, NULL, NULL, 1, NOONE, CREATED_DESC, NULL, NULL, 0 },
};

/* Case c's filter values, in tk_list_filter order. */
static void case_filters(const plan_case *c, const char *f[TK_LIST_NFILTERS])
{
	f[0] = c->status;
	f[1] = c->priority;
	f[2] = c->assignee != NOONE ? U.assignees[c->assignee] : NULL;
	f[3] = c->requester != NOONE ? U.requesters[c->requester] : NULL;
	f[4] = c->tag;
	f[5] = c->q;
}

/* The generic plan of sql as JSON: what a prepared statement run under
 * force_generic_plan (tk_list_mode_sql) executes with parameters p. */
static char *generic_plan_of(const char *sql, const char *const *p, int np)
{
	PGconn *pg = PQconnectdb(U.app_url);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *r = PQexec(pg, "SET plan_cache_mode = force_generic_plan");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQprepare(pg, "list", sql, np, NULL);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* EXECUTE's arguments of a utility statement cannot be bound: literals,
	 * quoted by libpq */
	char ex[1024] = "EXPLAIN (FORMAT JSON) EXECUTE list(";
	for (int i = 0; i < np; i++) {
		char *lit = PQescapeLiteral(pg, p[i], strlen(p[i]));
		assert_non_null(lit);
		size_t len = strlen(ex);
		int w = snprintf(ex + len, sizeof(ex) - len, "%s%s", i > 0 ? ", " : "", lit);
		assert_true(w > 0 && (size_t)w < sizeof(ex) - len);
		PQfreemem(lit);
	}
	strcat(ex, ")");
	r = PQexec(pg, ex);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", ex, PQresultErrorMessage(r));
	char *plan = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(pg);
	assert_non_null(plan);
	return plan;
}

/* The plan of c as JSON, first page, limit 25, as the daemon gets it:
 * custom (the parameters bound) with tag or q, generic otherwise; a custom
 * plan run too when analyze. Freed by the caller. */
static char *plan_of(const plan_case *c, bool analyze, bool *generic)
{
	char sql[4096], *plan = NULL;
	const char *head[TK_LIST_HEAD_PARAMS]
	    = { U.admin.tenant, "26", "infinity", "ffffffff-ffff-ffff-ffff-ffffffffffff" };
	if (c->sort == CREATED_ASC) {
		head[2] = "-infinity";
		head[3] = "00000000-0000-0000-0000-000000000000";
	}
	const char *f[TK_LIST_NFILTERS], *p[TK_LIST_HEAD_PARAMS + TK_LIST_NFILTERS];
	int np;
	case_filters(c, f);
	unsigned set = tk_list_bind(head, f, p, &np);
	const char *list = tk_list_sql(sorts[c->sort].order, set);
	assert_non_null(list);
	*generic = strstr(tk_list_mode_sql(set), "force_generic_plan") != NULL;
	if (*generic)
		return generic_plan_of(list, p, np);
	int n = snprintf(
	    sql, sizeof(sql), "EXPLAIN (%sFORMAT JSON) %s", analyze ? "ANALYZE, " : "", list);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	assert_int_equal(hd_db_exec_sync(U.app_url, sql, np, p, &plan), HD_OK);
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

/* Whether the plan reads an index whose name ends with suffix (an index's
 * name is the only value of the plan that ends so). */
static bool plan_reads_any(const char *plan, const char *suffix)
{
	char end[96];
	snprintf(end, sizeof(end), "%s\"", suffix);
	return strstr(plan, end) != NULL;
}

static void test_plans_fit_the_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const plan_case *c = &cases[i];
		bool generic;
		char *plan = plan_of(c, false, &generic);
		if (c->index != NULL && !plan_reads(plan, c->index))
			fail_msg("case %zu (status %s, priority %s, tag %s, q %s) does not read "
			         "%s:\n%s",
			    i, shown(c->status), shown(c->priority), shown(c->tag), shown(c->q),
			    c->index, plan);
		if (c->not_index != NULL && plan_reads_any(plan, c->not_index))
			fail_msg("case %zu (tag %s, q %s) reads %s for a common value:\n%s", i,
			    shown(c->tag), shown(c->q), c->not_index, plan);
		/* a generic plan is the same for every value: it must stop at the page */
		if (generic && strstr(plan, "\"Node Type\": \"Sort\"") != NULL)
			fail_msg("case %zu: the generic plan sorts:\n%s", i, plan);
		free(plan);
	}
}

/* The node of a JSON plan (from node down) that reads index, or NULL. */
static const cJSON *node_reading(const cJSON *node, const char *index)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(node, "Index Name");
	if (cJSON_IsString(name) && strcmp(name->valuestring, index) == 0)
		return node;
	const cJSON *child;
	cJSON_ArrayForEach(child, cJSON_GetObjectItemCaseSensitive(node, "Plans"))
	{
		const cJSON *found = node_reading(child, index);
		if (found != NULL)
			return found;
	}
	return NULL;
}

/* A rare tag's index scan yields the tenant's 20 tickets only, not the other
 * tenant's 200 with the same tag, which the table would then be read for
 * (sql/035_tenant_tags_idx.sql). */
static void test_a_rare_tag_reads_its_tenant_only(void **state)
{
	(void)state;
	const plan_case *rare = &cases[0];
	assert_string_equal(rare->tag, "rare");
	bool generic;
	char *text = plan_of(rare, true, &generic);
	assert_false(generic);
	cJSON *plan = cJSON_Parse(text);
	assert_non_null(plan);
	const cJSON *scan
	    = node_reading(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(plan, 0), "Plan"),
	        "tickets_tenant_tags_idx");
	if (scan == NULL)
		fail_msg("the rare tag does not read tickets_tenant_tags_idx:\n%s", text);
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(scan, "Actual Rows");
	assert_true(cJSON_IsNumber(rows));
	if (rows->valuedouble != (double)rare->matches)
		fail_msg("the tag index yielded %.0f rows, want the tenant's %ld:\n%s",
		    rows->valuedouble, rare->matches, text);
	cJSON_Delete(plan);
	free(text);
}

/* Every search reads the GIN indexes' whole pending list: both keep it
 * small (sql/015_gin_pending_limit.sql). */
static void test_gin_pending_lists_stay_small(void **state)
{
	(void)state;
	static const char *const indexes[] = { "tickets_tenant_tags_idx", "tickets_search_idx" };
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		char *opts = NULL;
		const char *p[1] = { indexes[i] };
		assert_int_equal(
		    hd_db_exec_sync(IT.admin_url,
		        "SELECT array_to_string(reloptions, ',') FROM pg_class"
		        " WHERE relname = $1 AND relnamespace = 'ticket'::regnamespace",
		        1, p, &opts),
		    HD_OK);
		if (opts == NULL || strstr(opts, "gin_pending_list_limit=256") == NULL)
			fail_msg("%s: reloptions %s", indexes[i], opts != NULL ? opts : "(none)");
		free(opts);
	}
}

/* An update keeps the ticket on its page (sql/034_tickets_fillfactor.sql):
 * the seed's pages keep a tenth free, so the new row version fits beside the
 * old one (HOT when no indexed column changes, as here) instead of going to
 * whichever page the free space map names. With a full page (fillfactor 100)
 * it would move. The update writes the same values: the lists' matches stay. */
static void test_an_update_stays_on_its_page(void **state)
{
	(void)state;
	char *moved = NULL;
	const char *p[1] = { U.admin.tenant };
	assert_int_equal(
	    hd_db_exec_sync(IT.admin_url,
	        "WITH o AS (SELECT id, (ctid::text::point)[0] AS page FROM ticket.tickets"
	        " WHERE tenant_id = $1 AND number % 1000 = 500),"
	        " u AS (UPDATE ticket.tickets t SET updated_at = t.updated_at FROM o"
	        " WHERE t.tenant_id = $1 AND t.id = o.id"
	        " RETURNING o.page AS before, (t.ctid::text::point)[0] AS after)"
	        " SELECT count(*) || ' of ' || (SELECT count(*) FROM o)"
	        " FROM u WHERE after <> before",
	        1, p, &moved),
	    HD_OK);
	assert_non_null(moved);
	assert_string_equal(moved, "0 of " SEEDED_PER_1000);
	free(moved);
}

/* The query string of c for tickets.list, limit 100. */
static void case_query(const plan_case *c, char *q, size_t size)
{
	const char *f[TK_LIST_NFILTERS];
	case_filters(c, f);
	int n = snprintf(q, size, "limit=100&sort=%s%s%s%s%s%s%s%s%s%s%s%s%s", sorts[c->sort].name,
	    c->status != NULL ? "&status=" : "", c->status != NULL ? c->status : "",
	    c->priority != NULL ? "&priority=" : "", c->priority != NULL ? c->priority : "",
	    c->tag != NULL ? "&tag=" : "", c->tag != NULL ? c->tag : "", c->q != NULL ? "&q=" : "",
	    c->q != NULL ? c->q : "", f[2] != NULL ? "&assignee_id=" : "", f[2] != NULL ? f[2] : "",
	    f[3] != NULL ? "&requester_id=" : "", f[3] != NULL ? f[3] : "");
	assert_true(n > 0 && (size_t)n < size);
}

/* Through the daemon: a page holds min(100, matches) tickets, every one
 * matching, in the sort order, with a next cursor exactly when more match. */
static void test_pages_hold_the_matching_rows(void **state)
{
	(void)state;
	char q[512];
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
			if (c->assignee != NOONE)
				assert_string_equal(
				    it_str(t, "assignee_id"), U.assignees[c->assignee]);
			if (c->requester != NOONE)
				assert_string_equal(
				    it_str(t, "requester_id"), U.requesters[c->requester]);
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
		cmocka_unit_test(test_a_rare_tag_reads_its_tenant_only),
		cmocka_unit_test(test_gin_pending_lists_stay_small),
		cmocka_unit_test(test_an_update_stays_on_its_page),
		cmocka_unit_test(test_pages_hold_the_matching_rows),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
