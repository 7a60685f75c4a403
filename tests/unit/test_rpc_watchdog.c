/* Tests of the RPC listener's self-probe watchdog (libs/src/rpc_watchdog.c;
 * docs/operations.md, RPC listener watchdog): the address a probe dials;
 * over tls+tcp:// the daemon's own certificate gets through its listener
 * although HD_TLS_RPC_PEERS names only hd-gateway (no probe fails on an idle
 * server); and the defect it is for, reproduced: clients that dial and
 * vanish within 15 ms, mid-negotiation, until a self-probe fails; then,
 * with the churn over, a fresh client holding hd-gateway's certificate
 * goes unanswered (NNG 1.5.2's listener stopped for good); the watchdog
 * makes the listener again (hd_rpc_listener_restarts_total) and fresh
 * clients are answered. Certificates from
 * deploy/stack.sh tls-certs (openssl). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "hd/metrics.h"
#include "hd/rpc.h"
#include "hd/tls.h"
#include "../../libs/src/rpc_watchdog.h"
#include "../lib/freeport.h"
#include "nng_unit.h"
#include "../lib/tls_client.h"

#define CHURN_THREADS 4
#define CHURN_BUDGET_S 150 /* the stop came within 4-30 s here (2 vCPU) */
#define FRESH_MS 1500
#define STOPPED_MS 1000 /* well before the watchdog's third failed probe */
#define RESTART_MS 8000

/* LeakSanitizer (the ASan build): NNG 1.5.2 never frees the connections
 * that were half made when its listener stopped accepting (the transport
 * keeps them negotiated, waiting for an accept that never comes; closing the
 * listener does not free them: mbedtls_ssl_setup and the pipes' buffers,
 * from NNG's threads and from the churners' nng_dialer_start). That is the
 * defect this program reproduces on purpose, so its leaks inside libnng are
 * not reported here — in this program only, as tests/e2e/lsan-nng.supp does
 * for the gateways e2e tests start. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libnng.so.1\n";
}

/* ---- addresses ---- */

static void probe_is(const char *listen, int port, const char *want)
{
	char out[128];
	assert_true(hd__rpc_watchdog_probe_url(listen, port, out, sizeof out));
	assert_string_equal(out, want);
}

static void test_probe_url(void **state)
{
	(void)state;
	probe_is("tls+tcp://0.0.0.0:7101", 0, "tls+tcp://127.0.0.1:7101");
	probe_is("tcp://*:7101", 0, "tcp://127.0.0.1:7101");
	probe_is("tcp://:7101", 0, "tcp://127.0.0.1:7101");
	probe_is("tcp://[::]:7101", 0, "tcp://[::1]:7101");
	probe_is("tls+tcp://hd-auth:7101", 0, "tls+tcp://hd-auth:7101");
	probe_is("tcp://127.0.0.1:0", 40123, "tcp://127.0.0.1:40123");
	probe_is("ipc:///tmp/x.sock", 0, "ipc:///tmp/x.sock");
	char out[128], tiny[8];
	assert_true(hd__rpc_watchdog_bound_url("tcp://0.0.0.0:0", 5555, out, sizeof out));
	assert_string_equal(out, "tcp://0.0.0.0:5555");
	assert_false(hd__rpc_watchdog_probe_url("tcp://0.0.0.0:7101", 0, tiny, sizeof tiny));
	assert_false(hd__rpc_watchdog_probe_url(NULL, 0, out, sizeof out));
	assert_false(hd__rpc_watchdog_probe_url("tcp://nocolon", 0, out, sizeof out));
}

/* ---- the listener under churn ---- */

static char g_url[64];
static atomic_bool g_churn_stop;

static void handler(hd_rpc_request *req, void *arg)
{
	(void)arg;
	static const char body[] = "{}";
	hd_reply r = { .version = HD_ENVELOPE_VERSION,
		.status = 200,
		.body = body,
		.body_len = sizeof body - 1 };
	hd_rpc_request_reply(req, &r);
}

static double metric(const char *name)
{
	size_t len = 0;
	char *text = hd_metrics_render(&len);
	assert_non_null(text);
	double v = 0;
	char prefix[128];
	snprintf(prefix, sizeof prefix, "\n%s ", name);
	const char *at = strstr(text, prefix);
	if (at != NULL)
		v = strtod(at + strlen(prefix), NULL);
	free(text);
	return v;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec) { ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* A client that dials with this process's certificate and vanishes within
 * 15 ms, over and over: most go mid-handshake or before their SP header. */
static void *churn_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1u;
	while (!atomic_load(&g_churn_stop)) {
		nng_socket s;
		if (nng_req0_open(&s) != 0)
			return NULL;
		(void)hd_tls_dial(s, g_url, NULL, NULL);
		sleep_ms(rand_r(&seed) % 15);
		nng_close(s);
	}
	return NULL;
}

static bool fresh_gateway_answered(int ms)
{
	char ca[128], crt[128], key[128];
	snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
	snprintf(crt, sizeof crt, "%s/gateway.pem", g_dir);
	snprintf(key, sizeof key, "%s/gateway.key", g_dir);
	return tls_client_answered(g_url, tls_client_config(ca, crt, key), ms);
}

static void certs_and_settings(void)
{
	char cmd[256], path[128];
	snprintf(
	    cmd, sizeof cmd, "../../deploy/stack.sh tls-certs '%s' auth gateway >/dev/null", g_dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/ca.pem", g_dir);
	setenv("HD_TLS_CA_FILE", path, 1);
	snprintf(path, sizeof path, "%s/auth.pem", g_dir);
	setenv("HD_TLS_CERT_FILE", path, 1);
	snprintf(path, sizeof path, "%s/auth.key", g_dir);
	setenv("HD_TLS_KEY_FILE", path, 1);
	setenv("HD_TLS_RPC_PEERS", "hd-gateway", 1); /* not hd-auth: the probe is let in as self */
	/* a probe every 1.5 s once failing: the first failure stops the churn,
	 * and the test sees the stop before the third makes the listener again */
	setenv("HD_RPC_PROBE_MS", "1000", 1);
	setenv("HD_RPC_PROBE_TIMEOUT_MS", "500", 1);
	setenv("HD_RPC_PROBE_FAILURES", "3", 1);
	int port = freeport_get();
	assert_true(port > 0);
	snprintf(g_url, sizeof g_url, "tls+tcp://127.0.0.1:%d", port);
}

/* Runs the churners until a self-probe fails (or the budget ends) and
 * waits for them to finish; false when the budget ended. */
static bool churn_until_probe_fails(time_t until)
{
	pthread_t th[CHURN_THREADS];
	double failures = metric("hd_rpc_listener_probe_failures_total");
	atomic_store(&g_churn_stop, false);
	for (uintptr_t i = 0; i < CHURN_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn_main, (void *)i), 0);
	while (metric("hd_rpc_listener_probe_failures_total") == failures && time(NULL) < until)
		sleep_ms(20);
	atomic_store(&g_churn_stop, true);
	for (int i = 0; i < CHURN_THREADS; i++)
		pthread_join(th[i], NULL);
	return time(NULL) < until;
}

/* Waits up to ms for the watchdog's first restart. */
static bool restarted_within(long ms)
{
	for (long waited = 0; waited < ms; waited += 50) {
		if (metric("hd_rpc_listener_restarts_total") >= 1)
			return true;
		sleep_ms(50);
	}
	return false;
}

static void test_listener_made_again_after_churn(void **state)
{
	(void)state;
	certs_and_settings();
	hd_worker_pool *pool = NULL;
	hd_rpc_server *srv = NULL;
	assert_int_equal(hd_worker_pool_create(&pool, 1, NULL, NULL, NULL), HD_OK);
	assert_int_equal(hd_rpc_server_start(&srv, g_url, 8, pool, handler, NULL), HD_OK);
	/* idle: the self-probes (hd-auth's certificate) get through */
	sleep_ms(2500);
	assert_true(fresh_gateway_answered(FRESH_MS));
	assert_true(metric("hd_rpc_listener_probe_failures_total") == 0);
	assert_true(hd_rpc_server_listening(srv));

	/* churn until a probe fails, then quiet: a fresh client unanswered is
	 * the stop reproduced (a probe that only timed out under the churn's
	 * load is answered: churn again) */
	time_t t0 = time(NULL), until = t0 + CHURN_BUDGET_S;
	bool stopped = false;
	while (!stopped && churn_until_probe_fails(until))
		stopped = !fresh_gateway_answered(STOPPED_MS);
	fprintf(stderr, "churn: %ld s, listener %s\n", (long)(time(NULL) - t0),
	    stopped ? "stopped" : "never stopped");
	if (!stopped) {
		hd_rpc_server_stop(srv, 1000);
		hd_worker_pool_destroy(pool);
		skip(); /* NNG did not stop its listener within the budget (a newer NNG?) */
	}
	/* the watchdog makes it again, and fresh clients are answered */
	assert_true(restarted_within(RESTART_MS));
	bool answered = false;
	for (int i = 0; i < 5 && !answered; i++)
		answered = fresh_gateway_answered(FRESH_MS);
	assert_true(answered);
	assert_true(hd_rpc_server_listening(srv));
	hd_rpc_server_stop(srv, 1000);
	hd_worker_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_url),
		cmocka_unit_test(test_listener_made_again_after_churn),
	};
	NNG_UNIT_MAIN_RUN(tests);
}
