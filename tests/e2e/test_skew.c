/* Version skew (issue 19, docs/operations.md "Version skew between
 * components (N−1)"): the previous release's binaries run against this
 * tree's, in both directions, the way a rollout mixes them:
 *  - behind a gateway of this tree, one hd-ticket of the previous release
 *    and one of this tree serve the same tenant side by side (HD_TICKET_URL
 *    lists both, on this tree's schema): a ticket's whole life — create,
 *    read, PATCH with If-Match, comment, list — succeeds every time, whichever
 *    replica answers, and both answered;
 *  - a gateway of the previous release, in front of this tree's daemons (the
 *    stack's), serves the same life: sign-in, tickets and comments.
 * tests/run.sh builds the previous release (the commit deploy/previous-release
 * names) into HD_TEST_PREV_BIN_DIR; without it the tests skip, saying so.
 * Environment: see proc_e2e.h, plus HD_TEST_BASE_URL and
 * HD_TEST_DEMO_TENANT/EMAIL/PASSWORD. */
#include "proc_e2e.h"

#define LIVES 12

static char g_token[4096];

/* base + path into buf. */
static const char *url_of(const char *base, const char *path, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s", base, path);
	return buf;
}

/* method base+path as the demo admin; fails unless the status is want;
 * returns the reply's "id" (or "") in id when asked. */
static void call_expect(const char *base, const char *method, const char *path, const char *body,
    const char *if_match, int want, char *id, size_t id_cap)
{
	char url[512], header[64];
	const char *headers[2] = { NULL, NULL };
	if (if_match != NULL) {
		snprintf(header, sizeof header, "If-Match: %s", if_match);
		headers[0] = header;
	}
	httpc_resp r;
	assert_int_equal(httpc_call(&r, method, url_of(base, path, url, sizeof url), g_token, body,
	                     NULL, headers),
	    0);
	if (r.status != want)
		fail_msg("%s %s: %ld, not %d: %.300s", method, url, r.status, want,
		    r.body != NULL ? r.body : "");
	if (id != NULL) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r.json, "id");
		snprintf(id, id_cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
	}
	httpc_resp_free(&r);
}

/* One ticket's life through the gateway at base. */
static void ticket_life(const char *base, int i)
{
	char id[64], path[160], body[160];
	snprintf(body, sizeof body, "{\"subject\":\"version skew %d\",\"priority\":\"low\"}", i);
	call_expect(base, "POST", "/v1/tickets", body, NULL, 201, id, sizeof id);
	assert_true(id[0] != '\0');
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	call_expect(base, "GET", path, NULL, NULL, 200, NULL, 0);
	call_expect(base, "PATCH", path, "{\"priority\":\"high\"}", "\"1\"", 200, NULL, 0);
	call_expect(base, "PATCH", path, "{\"priority\":\"low\"}", "\"1\"", 412, NULL, 0);
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", id);
	call_expect(
	    base, "POST", path, "{\"body\":\"a reply across versions\"}", NULL, 201, NULL, 0);
	call_expect(base, "GET", path, NULL, NULL, 200, NULL, 0);
	call_expect(base, "GET", "/v1/tickets?limit=5&sort=-created_at", NULL, NULL, 200, NULL, 0);
}

/* The previous release's binaries, or a skip that says why not. */
static const char *prev_bin_dir(void)
{
	const char *dir = getenv("HD_TEST_PREV_BIN_DIR");
	if (dir == NULL || dir[0] == '\0') {
		print_message("no previous release built (tests/run.sh builds the commit "
		              "deploy/previous-release names): skipped\n");
		skip();
	}
	return dir;
}

static void test_old_and_new_ticket_daemons_side_by_side(void **state)
{
	(void)state;
	const char *prev = prev_bin_dir();
	replica old_rp, new_rp;
	gateway g;
	char urls[256];
	stack_env_init();
	replica_ports(&old_rp);
	replica_ports(&new_rp);
	pe_bin_dir = prev;
	replica_spawn(&old_rp, "skew-ticket-prev", NULL);
	pe_bin_dir = NULL;
	replica_spawn(&new_rp, "skew-ticket-new", NULL);
	snprintf(urls, sizeof urls, "HD_TICKET_URL=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d",
	    old_rp.rpc_port, new_rp.rpc_port);
	gateway_start(&g, urls, NULL, "skew-gateway-new");
	for (int i = 0; i < LIVES; i++)
		ticket_life(g.base, i);
	double old_served = httpc_metric(old_rp.metrics, "hd_rpc_requests_total{");
	double new_served = httpc_metric(new_rp.metrics, "hd_rpc_requests_total{");
	print_message("version skew: the previous hd-ticket served %.0f calls, this tree's %.0f\n",
	    old_served, new_served);
	assert_true(old_served > 0 && new_served > 0);
	assert_int_equal(pe_stop(g.pid, SIGTERM), 0);
	assert_int_equal(pe_stop(old_rp.pid, SIGTERM), 0);
	assert_int_equal(pe_stop(new_rp.pid, SIGTERM), 0);
}

static void test_old_gateway_in_front_of_new_daemons(void **state)
{
	(void)state;
	const char *prev = prev_bin_dir();
	gateway g;
	char ticket_url[256];
	stack_env_init();
	/* the stack's daemons: their addresses come with the environment */
	snprintf(ticket_url, sizeof ticket_url, "HD_TICKET_URL=%s", httpc_env("HD_TICKET_URL"));
	pe_bin_dir = prev;
	gateway_start(&g, ticket_url, NULL, "skew-gateway-prev");
	pe_bin_dir = NULL;
	char url[160];
	httpc_resp r;
	snprintf(url, sizeof url, "%s/v1/auth/login", g.base);
	char body[512];
	snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}",
	    httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"));
	assert_int_equal(httpc_call(&r, "POST", url, NULL, body, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	for (int i = 0; i < LIVES; i++)
		ticket_life(g.base, 100 + i);
	assert_int_equal(pe_stop(g.pid, SIGTERM), 0);
}

static int setup(void **state)
{
	(void)state;
	char *token = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
	if (token == NULL)
		return -1;
	snprintf(g_token, sizeof g_token, "%s", token);
	free(token);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_and_new_ticket_daemons_side_by_side),
		cmocka_unit_test(test_old_gateway_in_front_of_new_daemons),
	};
	return cmocka_run_group_tests(tests, setup, pe_teardown);
}
