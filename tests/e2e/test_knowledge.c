/* End-to-end tests of the knowledge base over HTTP through the gateway
 * (docs/openapi.yaml, tags knowledge and help): every route with every role
 * (403 at the route table or in the daemon), ETag and If-Match, versions and
 * restore, search, feedback, the public help center without a token,
 * cross-tenant 404s (the demo tenant), and a ticket's suggestions with
 * hd-knowledge running, and search under overload (503 with Retry-After in
 * bounded time, then answers again), and the search result cache never
 * serving a reply older than the articles. Runs in a fresh tenant of its own, plus
 * a technician. */
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "tickets_e2e.h"

/* Concurrent searches of the overload test: more than the stack's
 * hd-knowledge has slots for (workers x HD_DB_CONNS x
 * HD_KNOWLEDGE_DB_PIPELINE; 1 x 2 x 2 by default). */
#define OVERLOAD_CLIENTS 24

/* Creates an article as token from body; copies its id. */
static void article_new(const char *token, const char *body, char id[37])
{
	httpc_resp r;
	long got = req(&r, "POST", "/v1/kb/articles", token, body);
	if (got != 201)
		fprintf(stderr, "POST /v1/kb/articles: %ld %s\n", got, r.body);
	assert_int_equal(got, 201);
	assert_string_equal(httpc_header(&r, "ETag"), "\"1\"");
	snprintf(id, 37, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
}

static void kb_path(char *path, size_t n, const char *id, const char *suffix)
{
	snprintf(path, n, "/v1/kb/articles/%s%s", id, suffix);
}

/* True when a list or search reply holds article id. */
static bool has_item(const httpc_resp *r, const char *id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, jitems(r))
	{
		if (strcmp(jstr(it, "id"), id) == 0)
			return true;
	}
	return false;
}

static void test_roles_and_cross_tenant(void **state)
{
	char id[37], draft[37], foreign[37], path[160];
	const char *body = "{\"title\":\"E2E role check\",\"body\":\"Roles.\"}";
	article_new(W.admin, body, id);
	article_new(W.agent, "{\"title\":\"E2E draft\",\"body\":\"Not yet.\"}", draft);
	article_new(W.demo, "{\"title\":\"Acme only\",\"body\":\"Acme.\",\"status\":\"published\"}",
	    foreign);
	expect(403, "POST", "/v1/kb/articles", W.cust1, body);
	expect(403, "POST", "/v1/kb/articles", W.tech, body);
	expect(401, "POST", "/v1/kb/articles", NULL, body);
	expect_invalid(
	    "POST", "/v1/kb/articles", W.agent, "{\"title\":\"\",\"body\":\"b\"}", "title");
	expect_invalid("POST", "/v1/kb/articles", W.agent,
	    "{\"title\":\"t\",\"body\":\"b\",\"locale\":\"??\"}", "locale");
	expect(200, "GET", "/v1/kb/articles", W.cust1, NULL);
	expect(200, "GET", "/v1/kb/articles", W.tech, NULL);
	expect(401, "GET", "/v1/kb/articles", NULL, NULL);
	kb_path(path, sizeof path, draft, "");
	expect(200, "GET", path, W.agent, NULL);
	expect(404, "GET", path, W.cust1, NULL);
	expect(404, "GET", path, W.tech, NULL);
	expect(403, "PATCH", path, W.cust1, "{\"title\":\"x\"}");
	expect(403, "DELETE", path, W.tech, NULL);
	kb_path(path, sizeof path, draft, "/versions");
	expect(200, "GET", path, W.agent, NULL);
	expect(403, "GET", path, W.cust1, NULL);
	kb_path(path, sizeof path, draft, "/versions/1/restore");
	expect(403, "POST", path, W.cust1, NULL);
	expect(200, "POST", path, W.admin, NULL);
	kb_path(path, sizeof path, draft, "/versions/0/restore");
	expect(404, "POST", path, W.admin, NULL);
	expect(404, "GET", "/v1/kb/articles/not-a-uuid", W.agent, NULL);
	/* the demo tenant's article does not exist here, and ours not there */
	const char *suffixes[] = { "", "/versions" };
	for (int i = 0; i < 2; i++) {
		kb_path(path, sizeof path, foreign, suffixes[i]);
		expect(404, "GET", path, W.admin, NULL);
		kb_path(path, sizeof path, id, suffixes[i]);
		expect(404, "GET", path, W.demo, NULL);
	}
	kb_path(path, sizeof path, id, "");
	expect(404, "PATCH", path, W.demo, "{\"title\":\"hijack\"}");
	expect(404, "DELETE", path, W.demo, NULL);
	kb_path(path, sizeof path, id, "/versions/1/restore");
	expect(404, "POST", path, W.demo, NULL);
	kb_path(path, sizeof path, foreign, "/feedback");
	expect(404, "POST", path, W.cust1, "{\"helpful\":true}");
	kb_path(path, sizeof path, id, "");
	expect(204, "DELETE", path, W.agent, NULL);
	expect(404, "GET", path, W.agent, NULL);
}

static void test_if_match_versions(void **state)
{
	char id[37], path[160];
	httpc_resp r;
	article_new(W.agent, "{\"title\":\"E2E fonts\",\"body\":\"Install fonts.\"}", id);
	kb_path(path, sizeof path, id, "");
	assert_int_equal(req_h(&r, "PATCH", path, W.agent, "{\"body\":\"Install the fonts.\"}",
	                     "If-Match: \"1\""),
	    200);
	assert_string_equal(httpc_header(&r, "ETag"), "\"2\"");
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.admin, "{\"body\":\"Lost update\"}", "If-Match: \"1\""),
	    412);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
	kb_path(path, sizeof path, id, "/versions/1/restore");
	assert_int_equal(req_h(&r, "POST", path, W.agent, NULL, "If-Match: \"2\""), 200);
	assert_int_equal(jnum(r.json, "version"), 3);
	assert_string_equal(jstr(r.json, "body"), "Install fonts.");
	httpc_resp_free(&r);
	kb_path(path, sizeof path, id, "/versions");
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 3);
	httpc_resp_free(&r);
}

static void test_search_and_feedback(void **state)
{
	char id[37], path[160];
	httpc_resp r;
	article_new(W.agent,
	    "{\"title\":\"Scanner jams\",\"body\":\"Open tray B and clear the paper.\","
	    "\"tags\":[\"hardware\"],\"status\":\"published\"}",
	    id);
	assert_int_equal(req(&r, "GET", "/v1/kb/search?q=scanners", W.cust1, NULL), 200);
	assert_true(has_item(&r, id));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/kb/search?q=scnaner", W.tech, NULL), 200);
	assert_true(has_item(&r, id));
	assert_true(cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(jitems(&r), 0), "fuzzy")));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/kb/search?q=scanners", W.demo, NULL), 200);
	assert_false(has_item(&r, id));
	httpc_resp_free(&r);
	expect_invalid("GET", "/v1/kb/search", W.cust1, NULL, "q");
	expect_invalid("GET", "/v1/kb/search?q=x&sort=new", W.cust1, NULL, "sort");
	expect(401, "GET", "/v1/kb/search?q=x", NULL, NULL);
	kb_path(path, sizeof path, id, "/feedback");
	expect(204, "POST", path, W.cust1, "{\"helpful\":true}");
	expect(204, "POST", path, W.tech, "{\"helpful\":false}");
	expect_invalid("POST", path, W.cust2, "{\"helpful\":\"yes\"}", "helpful");
	expect(401, "POST", path, NULL, "{\"helpful\":true}");
	kb_path(path, sizeof path, id, "");
	assert_int_equal(req(&r, "GET", path, W.cust2, NULL), 200);
	assert_int_equal(jnum(r.json, "helpful"), 1);
	assert_int_equal(jnum(r.json, "not_helpful"), 1);
	httpc_resp_free(&r);
}

/* GET /v1/kb/search?q=q as token: whether the reply lists article id. */
static bool search_finds(const char *token, const char *q, const char *id)
{
	char path[200];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/kb/search?q=%s", q);
	assert_int_equal(req(&r, "GET", path, token, NULL), 200);
	bool found = has_item(&r, id);
	httpc_resp_free(&r);
	return found;
}

/* PATCHes article id as the agent with body, If-Match version. */
static void article_patch(const char *id, const char *body, int version)
{
	char path[160], if_match[32];
	httpc_resp r;
	kb_path(path, sizeof path, id, "");
	snprintf(if_match, sizeof if_match, "If-Match: \"%d\"", version);
	assert_int_equal(req_h(&r, "PATCH", path, W.agent, body, if_match), 200);
	httpc_resp_free(&r);
}

/* The search result cache over HTTP (docs/architecture.md, "Knowledge
 * search cache"): each search is asked twice, so the second is answered
 * from the cache when there is one; a publish, a PATCH, a restore and an
 * archive are seen by the very next search, and staff's reply with a
 * draft is never a customer's. */
static void test_search_cache_exact(void **state)
{
	char id[37], path[160];
	httpc_resp r;
	const char *q = "Wombat%20%20defrost";
	article_new(W.agent, "{\"title\":\"Wombat defrost\",\"body\":\"Hold the button.\"}", id);
	for (int i = 0; i < 2; i++) {
		assert_true(search_finds(W.agent, q, id));
		assert_false(search_finds(W.cust1, q, id));
	}
	article_patch(id, "{\"status\":\"published\"}", 1);
	for (int i = 0; i < 2; i++)
		assert_true(search_finds(W.cust1, q, id));
	article_patch(id, "{\"title\":\"Koala thaw\"}", 2);
	for (int i = 0; i < 2; i++)
		assert_false(search_finds(W.cust1, q, id));
	kb_path(path, sizeof path, id, "/versions/1/restore");
	assert_int_equal(req_h(&r, "POST", path, W.agent, NULL, "If-Match: \"3\""), 200);
	httpc_resp_free(&r);
	assert_true(search_finds(W.cust1, q, id));
	article_patch(id, "{\"status\":\"archived\"}", 4);
	for (int i = 0; i < 2; i++) {
		assert_false(search_finds(W.cust1, q, id));
		assert_false(search_finds(W.demo, q, id));
	}
}

static void test_help_center(void **state)
{
	char pub[37], draft[37], path[200];
	httpc_resp r;
	article_new(W.agent,
	    "{\"title\":\"Opening hours\",\"body\":\"We answer from nine to five.\",\"status\":"
	    "\"published\"}",
	    pub);
	article_new(W.agent, "{\"title\":\"Opening soon\",\"body\":\"Draft hours.\"}", draft);
	snprintf(path, sizeof path, "/v1/help/%s/articles", W.slug);
	expect(404, "GET", path, NULL, NULL);
	expect(403, "PUT", "/v1/kb/settings", W.agent, "{\"public\":true}");
	expect(403, "GET", "/v1/kb/settings", W.cust1, NULL);
	expect_invalid("PUT", "/v1/kb/settings", W.admin, "{\"public\":1}", "public");
	expect(200, "PUT", "/v1/kb/settings", W.admin, "{\"public\":true}");
	assert_int_equal(req(&r, "GET", "/v1/kb/settings", W.agent, NULL), 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "public")));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", path, NULL, NULL), 200);
	assert_true(has_item(&r, pub));
	assert_false(has_item(&r, draft));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/help/%s/articles/%s", W.slug, pub);
	expect(200, "GET", path, NULL, NULL);
	snprintf(path, sizeof path, "/v1/help/%s/articles/%s", W.slug, draft);
	expect(404, "GET", path, NULL, NULL);
	snprintf(path, sizeof path, "/v1/help/%s/search?q=hours", W.slug);
	assert_int_equal(req(&r, "GET", path, NULL, NULL), 200);
	assert_true(has_item(&r, pub));
	assert_false(has_item(&r, draft));
	httpc_resp_free(&r);
	/* the demo tenant never opened its help center; shapes that are no slug */
	snprintf(path, sizeof path, "/v1/help/%s/search?q=hours", httpc_env("HD_TEST_DEMO_TENANT"));
	expect(404, "GET", path, NULL, NULL);
	snprintf(
	    path, sizeof path, "/v1/help/%s/articles/%s", httpc_env("HD_TEST_DEMO_TENANT"), pub);
	expect(404, "GET", path, NULL, NULL);
	expect(404, "GET", "/v1/help/NOT_A_SLUG/articles", NULL, NULL);
	expect(200, "PUT", "/v1/kb/settings", W.admin, "{\"public\":false}");
	snprintf(path, sizeof path, "/v1/help/%s/articles/%s", W.slug, pub);
	expect(404, "GET", path, NULL, NULL);
}

/* With hd-knowledge running, a ticket's suggestions name the published
 * article that matches it, and are not degraded. */
static void test_ticket_suggestions(void **state)
{
	char article[37], ticket[37], path[128];
	httpc_resp r;
	article_new(W.agent,
	    "{\"title\":\"Keyboard unresponsive\",\"body\":\"Replug the keyboard receiver.\","
	    "\"status\":\"published\"}",
	    article);
	ticket_new_id(W.cust1, "my keyboard is unresponsive", ticket);
	tk_path(path, sizeof path, ticket, "/suggestions");
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	const cJSON *articles = cJSON_GetObjectItemCaseSensitive(r.json, "articles");
	assert_true(cJSON_IsArray(articles));
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "degraded"));
	assert_string_equal(jstr(cJSON_GetArrayItem(articles, 0), "id"), article);
	httpc_resp_free(&r);
}

/* What each search of the overload test got, by its number: the status,
 * whether a 503 was a problem with Retry-After, and how long it took. */
static long overload_status[OVERLOAD_CLIENTS];
static bool overload_problem_retry[OVERLOAD_CLIENTS];
static double overload_seconds[OVERLOAD_CLIENTS];

static void *search_run(void *arg)
{
	const size_t n = (size_t)(uintptr_t)arg;
	const double t0 = httpc_now_s();
	httpc_resp r;
	overload_status[n] = -1;
	if (httpc_call(&r, "GET", "/v1/kb/search?q=printer%20network", W.agent, NULL, NULL, NULL)
	    != 0)
		return NULL;
	overload_seconds[n] = httpc_now_s() - t0;
	overload_status[n] = r.status;
	const char *type = httpc_header(&r, "Content-Type");
	overload_problem_retry[n] = type != NULL && strstr(type, "application/problem+json") != NULL
	    && httpc_header(&r, "Retry-After") != NULL;
	httpc_resp_free(&r);
	return NULL;
}

/* Degrading gracefully (docs/architecture.md, "Knowledge search",
 * Overload): while a lock keeps every search in PostgreSQL, hd-knowledge
 * runs as many as it has slots for and makes the rest wait at most 2 s,
 * then answers them 503 with Retry-After as a problem, well before the
 * gateway's 5 s (no 504); once the database answers again, the searches
 * that held the slots finish with 200 and a new one is answered. */
static void test_search_overload_503(void **state)
{
	pthread_t th[OVERLOAD_CLIENTS];
	PGconn *db = PQconnectdb(httpc_env("HD_TEST_DATABASE_SUPER_URL"));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	PGresult *res = PQexec(db, "BEGIN; LOCK TABLE knowledge.articles IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	for (int i = 0; i < OVERLOAD_CLIENTS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, search_run, (void *)(uintptr_t)i), 0);
	sleep(3); /* past the 2 s the waiting searches are given */
	res = PQexec(db, "COMMIT");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(db);
	int ok = 0, overloaded = 0;
	for (int i = 0; i < OVERLOAD_CLIENTS; i++) {
		pthread_join(th[i], NULL);
		if (overload_status[i] != 200 && overload_status[i] != 503)
			fprintf(stderr, "search %d: %ld\n", i, overload_status[i]);
		assert_true(overload_status[i] == 200 || overload_status[i] == 503);
		if (overload_status[i] == 503) {
			assert_true(overload_problem_retry[i]);
			assert_true(overload_seconds[i] < 4.5);
			overloaded++;
		} else {
			ok++;
		}
	}
	assert_true(overloaded > 0);
	assert_true(ok > 0);
	expect(200, "GET", "/v1/kb/search?q=printer", W.agent, NULL);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("kbe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_and_cross_tenant),
		cmocka_unit_test(test_if_match_versions),
		cmocka_unit_test(test_search_and_feedback),
		cmocka_unit_test(test_search_cache_exact),
		cmocka_unit_test(test_help_center),
		cmocka_unit_test(test_ticket_suggestions),
		cmocka_unit_test(test_search_overload_503),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
