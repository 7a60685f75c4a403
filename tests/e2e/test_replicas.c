/* Replicas (issue 4): two hd-ticket daemons on two addresses behind one
 * gateway of this test (HD_TICKET_URL lists both). Concurrent GET
 * /v1/tickets/{id} load runs through that gateway; once both replicas have
 * served requests (their hd_rpc_requests_total), one is killed with SIGKILL
 * mid-load: no GET may fail (in-flight calls on the dead replica are retried
 * on the other one), and the survivor keeps serving. The same with SIGTERM (a
 * rolling update): the draining replica refuses new requests unrun and the
 * gateway sends them to the other one. Also checks
 * `--healthcheck` of the gateway and a daemon (0 when healthy, 1 when the
 * port does not answer) and hd_build_info in both /metrics.
 * Rollout (issue 19, docs/operations.md "Rollouts"): every replica of
 * hd-ticket and then of the gateway is replaced, one at a time, under steady
 * load, with 0 failed requests. This program plays Kubernetes: the load goes
 * to the gateways an "endpoints" thread finds ready (their /readyz, polled
 * every ENDPOINT_POLL_MS, so a stopping gateway keeps getting requests for up
 * to that long, like an endpoint still in kube-proxy's rules), a new replica
 * must have served before an old one gets SIGTERM (minReadySeconds), and
 * every gateway lists the old and the new hd-ticket addresses (what its
 * re-resolution sees while both run). HD_SHUTDOWN_DRAIN_S=2: each stopped
 * process must answer /readyz 503 and go on serving, then exit 0.
 * A disabled daemon (HD_<NAME>_URL empty): routes 503, the gateway ready.
 * Environment: see proc_e2e.h, plus HD_TEST_BASE_URL (the stack's gateway,
 * for the login and the ticket) and HD_TEST_DEMO_TENANT/EMAIL/PASSWORD. */
#include <pthread.h>
#include <stdatomic.h>
#include "proc_e2e.h"

#define LOAD_THREADS 8

/* A gateway the load may use while its /readyz says so. */
#define ENDPOINT_MAX 4
#define ENDPOINT_POLL_MS 100
typedef struct endpoint {
	char base[64];
	atomic_bool used; /* polled by the endpoints thread */
	atomic_bool ready; /* its last /readyz was 200 */
	atomic_long draining_seen; /* /readyz answers 503 while it ran */
} endpoint;

typedef struct load {
	char url[160]; /* what a GET reads; a path when endpoints are used */
	endpoint *endpoints; /* NULL: url is absolute */
	atomic_uint next; /* round robin over the ready endpoints */
	const char *token;
	atomic_bool stop;
	atomic_long ok, failed;
	atomic_long last_bad_status;
} load;

static char g_token_buf[4096];
static char g_ticket_id[64];
/* Logs in to the demo tenant and creates the ticket the load reads. */
static void ticket_setup(void)
{
	char *token = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
	assert_non_null(token);
	snprintf(g_token_buf, sizeof g_token_buf, "%s", token);
	free(token);
	httpc_resp r;
	assert_int_equal(httpc_call(&r, "POST", "/v1/tickets", g_token_buf,
	                     "{\"subject\":\"replicas e2e\"}", NULL, NULL),
	    0);
	assert_int_equal(r.status, 201);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r.json, "id");
	assert_true(cJSON_IsString(id));
	snprintf(g_ticket_id, sizeof g_ticket_id, "%s", id->valuestring);
	httpc_resp_free(&r);
}

/* tickets.get answered 200 by replica rp so far. */
static double replica_served(const replica *rp)
{
	return httpc_metric(
	    rp->metrics, "hd_rpc_requests_total{op=\"tickets.get\",status=\"200\"}");
}

/* The URL of the next GET: l->url, or it on the next ready endpoint. */
static const char *load_url(load *l, char *buf, size_t cap)
{
	if (l->endpoints == NULL)
		return l->url;
	for (int tries = 0; tries < ENDPOINT_MAX * 2; tries++) {
		endpoint *e = &l->endpoints[atomic_fetch_add(&l->next, 1) % ENDPOINT_MAX];
		if (atomic_load(&e->used) && atomic_load(&e->ready)) {
			snprintf(buf, cap, "%s%s", e->base, l->url);
			return buf;
		}
	}
	return NULL;
}

static void *load_main(void *arg)
{
	load *l = arg;
	char buf[256];
	while (!atomic_load(&l->stop)) {
		httpc_resp r;
		const char *url = load_url(l, buf, sizeof buf);
		if (url == NULL) { /* no gateway ready: a failure too */
			atomic_fetch_add(&l->failed, 1);
			pe_sleep_ms(10);
			continue;
		}
		if (httpc_call(&r, "GET", url, l->token, NULL, NULL, NULL) != 0) {
			atomic_fetch_add(&l->failed, 1);
			atomic_store(&l->last_bad_status, 0);
		} else if (r.status == 200) {
			atomic_fetch_add(&l->ok, 1);
		} else {
			atomic_fetch_add(&l->failed, 1);
			atomic_store(&l->last_bad_status, r.status);
		}
		httpc_resp_free(&r);
	}
	return NULL;
}

/* Waits until both replicas served a few GETs (at most 10 s) while the load runs. */
#define SERVED_BEFORE_KILL 20

static void wait_both_served(const replica *a, const replica *b, double *na, double *nb)
{
	int64_t until = pe_now_ms() + 10000;
	do {
		pe_sleep_ms(100);
		*na = replica_served(a);
		*nb = replica_served(b);
	} while ((*na < SERVED_BEFORE_KILL || *nb < SERVED_BEFORE_KILL) && pe_now_ms() < until);
}

/* Runs the load, stops replica a with sig mid-load, checks no GET failed. */
static void replica_failover(int sig)
{
	stack_env_init();
	ticket_setup();
	replica a, b;
	replica_start(&a, "replica-ticket-a");
	replica_start(&b, "replica-ticket-b");
	char urls_env[128];
	snprintf(urls_env, sizeof urls_env, "HD_TICKET_URL=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d",
	    a.rpc_port, b.rpc_port);
	gateway g;
	gateway_start(&g, urls_env, NULL, "replica-gateway");

	static load l; /* outlives the threads; reset for each test */
	atomic_store(&l.stop, false);
	atomic_store(&l.ok, 0);
	atomic_store(&l.failed, 0);
	atomic_store(&l.last_bad_status, 0);
	snprintf(l.url, sizeof l.url, "%s/v1/tickets/%s", g.base, g_ticket_id);
	l.endpoints = NULL;
	l.token = g_token_buf;
	pthread_t th[LOAD_THREADS];
	for (int i = 0; i < LOAD_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, load_main, &l), 0);
	double na = 0, nb = 0;
	wait_both_served(&a, &b, &na, &nb);
	long ok_before = atomic_load(&l.ok);
	assert_int_equal(pe_stop(a.pid, sig), sig == SIGKILL ? 128 + SIGKILL : 0);
	pe_sleep_ms(1500);
	long ok_after_kill = atomic_load(&l.ok) - ok_before;
	atomic_store(&l.stop, true);
	for (int i = 0; i < LOAD_THREADS; i++)
		pthread_join(th[i], NULL);
	double nb_end = replica_served(&b);
	double retries = httpc_metric(g.metrics, "hd_upstream_retries_total");
	print_message("replicas (signal %d): a served %.0f, b %.0f before the stop; %ld ok, "
	              "%ld failed (last bad status %ld); %ld ok after the stop; %.0f retries\n",
	    sig, na, nb, atomic_load(&l.ok), atomic_load(&l.failed),
	    atomic_load(&l.last_bad_status), ok_after_kill, retries);

	assert_true(na >= SERVED_BEFORE_KILL && nb >= SERVED_BEFORE_KILL); /* spread over both */
	assert_int_equal(atomic_load(&l.failed), 0); /* no GET failed */
	assert_true(ok_after_kill > 50); /* the survivor kept serving */
	assert_true(nb_end > nb);
	assert_true(httpc_metric(g.metrics, "hd_build_info{service=\"gateway\"") == 1);
	assert_true(httpc_metric(b.metrics, "hd_build_info{service=\"ticket\"") == 1);

	/* --healthcheck: 0 against the live gateway and replica b, 1 against a */
	const char *gw_env[] = { g.port_env, NULL };
	assert_int_equal(pe_wait(pe_spawn("gateway", "--healthcheck", "replica-hc", gw_env)), 0);
	const char *b_env[] = { b.admin_env, NULL }, *a_env[] = { a.admin_env, NULL };
	assert_int_equal(pe_wait(pe_spawn("ticket", "--healthcheck", "replica-hc", b_env)), 0);
	assert_int_equal(pe_wait(pe_spawn("ticket", "--healthcheck", "replica-hc", a_env)), 1);

	assert_int_equal(pe_stop(g.pid, SIGTERM), 0);
	assert_int_equal(pe_stop(b.pid, SIGTERM), 0);
}

static void test_kill_one_replica_under_load(void **state)
{
	(void)state;
	replica_failover(SIGKILL);
}

static void test_drain_one_replica_under_load(void **state)
{
	(void)state;
	replica_failover(SIGTERM);
}

/* ---- rollout (issue 19) ---- */

#define DRAIN_ENV "HD_SHUTDOWN_DRAIN_S=2"

/* Polls every used endpoint's /readyz (a kubelet probe and the endpoints
 * controller in one) until the load stops. */
static void *endpoints_main(void *arg)
{
	load *l = arg;
	while (!atomic_load(&l->stop)) {
		for (int i = 0; i < ENDPOINT_MAX; i++) {
			endpoint *e = &l->endpoints[i];
			if (!atomic_load(&e->used))
				continue;
			char url[96];
			httpc_resp r;
			snprintf(url, sizeof url, "%s/readyz", e->base);
			int rc = httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL);
			atomic_store(&e->ready, rc == 0 && r.status == 200);
			if (rc == 0 && r.status == 503)
				atomic_fetch_add(&e->draining_seen, 1);
			httpc_resp_free(&r);
		}
		pe_sleep_ms(ENDPOINT_POLL_MS);
	}
	return NULL;
}

/* Waits up to ms for *flag to be true. */
static bool wait_flag(atomic_bool *flag, long ms)
{
	int64_t until = pe_now_ms() + ms;
	while (!atomic_load(flag) && pe_now_ms() < until)
		pe_sleep_ms(20);
	return atomic_load(flag);
}

/* Waits up to ms for replica rp to have served more than n GETs. */
static bool wait_served_over(const replica *rp, double n, long ms)
{
	int64_t until = pe_now_ms() + ms;
	while (replica_served(rp) <= n && pe_now_ms() < until)
		pe_sleep_ms(50);
	return replica_served(rp) > n;
}

/* Waits up to ms for url to answer status. */
static bool wait_status(const char *url, int status, long ms)
{
	int64_t until = pe_now_ms() + ms;
	for (;;) {
		httpc_resp r;
		bool hit
		    = httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL) == 0 && r.status == status;
		httpc_resp_free(&r);
		if (hit || pe_now_ms() >= until)
			return hit;
		pe_sleep_ms(20);
	}
}

/* One step of a rolling update of hd-ticket: fresh starts and serves, then
 * old gets SIGTERM, says not ready, serves on while it drains, exits 0. */
static void replica_replace(replica *old, replica *fresh, const char *logname)
{
	char ready[96];
	replica_spawn(fresh, logname, DRAIN_ENV);
	assert_true(wait_served_over(fresh, SERVED_BEFORE_KILL, 10000));
	assert_int_equal(kill(old->pid, SIGTERM), 0);
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/readyz", old->admin_port);
	assert_true(wait_status(ready, 503, 1500));
	assert_true(wait_served_over(old, replica_served(old), 1500));
	assert_int_equal(pe_stop(old->pid, 0), 0); /* no second signal: its own end */
}

/* One step of a rolling update of the gateways: fresh starts and its
 * endpoint is used once ready; then old gets SIGTERM, its /readyz must say
 * 503 (the endpoint leaves the load) and it exits 0 after its drain. */
static void gateway_replace(load *l, int old_i, int fresh_i, gateway *gws, const char *urls_env)
{
	char logname[32];
	endpoint *old = &l->endpoints[old_i], *fresh = &l->endpoints[fresh_i];
	snprintf(logname, sizeof logname, "rollout-gateway-%d", fresh_i);
	gateway_start(&gws[fresh_i], urls_env, DRAIN_ENV, logname);
	snprintf(fresh->base, sizeof fresh->base, "%s", gws[fresh_i].base);
	atomic_store(&fresh->used, true);
	assert_true(wait_flag(&fresh->ready, 5000));
	assert_int_equal(kill(gws[old_i].pid, SIGTERM), 0);
	int64_t until = pe_now_ms() + 1500;
	while (atomic_load(&old->draining_seen) == 0 && pe_now_ms() < until)
		pe_sleep_ms(20);
	assert_true(atomic_load(&old->draining_seen) > 0);
	assert_int_equal(pe_stop(gws[old_i].pid, 0), 0);
	atomic_store(&old->used, false);
}

static void test_rollout_under_load(void **state)
{
	(void)state;
	stack_env_init();
	ticket_setup();
	replica r[4];
	char urls_env[200];
	for (int i = 0; i < 4; i++)
		replica_ports(&r[i]);
	snprintf(urls_env, sizeof urls_env,
	    "HD_TICKET_URL=tcp://127.0.0.1:%d,tcp://127.0.0.1:%d,tcp://127.0.0.1:%d,"
	    "tcp://127.0.0.1:%d",
	    r[0].rpc_port, r[1].rpc_port, r[2].rpc_port, r[3].rpc_port);
	replica_spawn(&r[0], "rollout-ticket-0", DRAIN_ENV);
	replica_spawn(&r[1], "rollout-ticket-1", DRAIN_ENV);

	static endpoint eps[ENDPOINT_MAX];
	static load l;
	gateway g[ENDPOINT_MAX];
	for (int i = 0; i < 2; i++) {
		char logname[32];
		snprintf(logname, sizeof logname, "rollout-gateway-%d", i);
		gateway_start(&g[i], urls_env, DRAIN_ENV, logname);
		snprintf(eps[i].base, sizeof eps[i].base, "%s", g[i].base);
		atomic_store(&eps[i].used, true);
	}
	atomic_store(&l.stop, false);
	atomic_store(&l.ok, 0);
	atomic_store(&l.failed, 0);
	l.endpoints = eps;
	l.token = g_token_buf;
	snprintf(l.url, sizeof l.url, "/v1/tickets/%s", g_ticket_id);
	pthread_t poller, th[LOAD_THREADS];
	assert_int_equal(pthread_create(&poller, NULL, endpoints_main, &l), 0);
	assert_true(wait_flag(&eps[0].ready, 5000) && wait_flag(&eps[1].ready, 5000));
	for (int i = 0; i < LOAD_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, load_main, &l), 0);

	replica_replace(&r[0], &r[2], "rollout-ticket-2");
	replica_replace(&r[1], &r[3], "rollout-ticket-3");
	gateway_replace(&l, 0, 2, g, urls_env);
	gateway_replace(&l, 1, 3, g, urls_env);
	long ok_rolled = atomic_load(&l.ok);
	int64_t until = pe_now_ms() + 5000;
	while (atomic_load(&l.ok) < ok_rolled + 100 && pe_now_ms() < until)
		pe_sleep_ms(20);
	atomic_store(&l.stop, true);
	for (int i = 0; i < LOAD_THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_join(poller, NULL);
	print_message("rollout: %ld ok, %ld failed (last bad status %ld); gateway /readyz 503 "
	              "seen %ld and %ld times while draining\n",
	    atomic_load(&l.ok), atomic_load(&l.failed), atomic_load(&l.last_bad_status),
	    atomic_load(&eps[0].draining_seen), atomic_load(&eps[1].draining_seen));
	assert_int_equal(atomic_load(&l.failed), 0);
	assert_true(atomic_load(&l.ok) >= ok_rolled + 100); /* the new ones serve */
	for (int i = 2; i < 4; i++) { /* SIGTERM all, then wait: one drain, not four */
		kill(g[i].pid, SIGTERM);
		kill(r[i].pid, SIGTERM);
	}
	for (int i = 2; i < 4; i++) {
		assert_int_equal(pe_stop(g[i].pid, 0), 0);
		assert_int_equal(pe_stop(r[i].pid, 0), 0);
	}
}

/* A daemon disabled in the chart's values (daemons.field.enabled: false
 * renders HD_FIELD_URL=""): the gateway is ready, answers the field routes
 * 503 problem+json naming the service, and serves the rest. */
static void test_disabled_service(void **state)
{
	(void)state;
	stack_env_init();
	ticket_setup();
	char ticket_env[160], url[256];
	snprintf(ticket_env, sizeof ticket_env, "HD_TICKET_URL=%s", httpc_env("HD_TICKET_URL"));
	gateway g;
	gateway_start(&g, ticket_env, "HD_FIELD_URL=", "disabled-gateway"); /* ready */
	httpc_resp r;
	snprintf(url, sizeof url, "%s/v1/technicians", g.base);
	assert_int_equal(httpc_call(&r, "GET", url, g_token_buf, NULL, NULL, NULL), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(httpc_header(&r, "Content-Type"), "application/problem+json"));
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(r.json, "detail");
	assert_true(cJSON_IsString(detail));
	assert_non_null(strstr(detail->valuestring, "field service is disabled"));
	httpc_resp_free(&r);
	snprintf(url, sizeof url, "%s/v1/tickets/%s", g.base, g_ticket_id);
	assert_int_equal(httpc_call(&r, "GET", url, g_token_buf, NULL, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	assert_true(
	    httpc_metric(g.metrics, "hd_upstream_errors_total{service=\"field\",kind=\"disabled\"")
	    == 1);
	assert_int_equal(pe_stop(g.pid, SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_one_replica_under_load),
		cmocka_unit_test(test_drain_one_replica_under_load),
		cmocka_unit_test(test_rollout_under_load),
		cmocka_unit_test(test_disabled_service),
	};
	return cmocka_run_group_tests(tests, NULL, pe_teardown);
}
