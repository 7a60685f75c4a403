/* hd-gateway: reads its settings, loads the token keys, opens one client per
 * service, starts HD_HTTP_THREADS loops sharing the port, and on SIGTERM or
 * SIGINT first drains (HD_SHUTDOWN_DRAIN_S: /readyz 503, still serving),
 * then stops accepting, lets in-flight requests finish (bounded by the
 * upstream deadline), then closes everything in reverse order.
 * `hd-gateway --version` prints its version like every daemon;
 * `--healthcheck` probes /healthz on HD_HTTP_PORT (container HEALTHCHECK) and
 * exits 0 when healthy. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/thread.h>
#include "hd/config.h"
#include "hd/daemon.h"
#include "hd/log.h"
#include "hd/batch.h"
#include "hd/metrics.h"
#include "gateway.h"

static hd_err config_load(gw_config *cfg)
{
	hd_err err = HD_OK;
	snprintf(cfg->bind, sizeof(cfg->bind), "%s", hd_config_str("HD_HTTP_BIND"));
	snprintf(cfg->redis_url, sizeof(cfg->redis_url), "%s", hd_config_str("HD_REDIS_URL"));
	if (hd_config_int("HD_HTTP_PORT", 1, 65535, &cfg->port) != HD_OK
	    || hd_config_int("HD_HTTP_THREADS", 1, 256, &cfg->threads) != HD_OK
	    || hd_config_int("HD_MAX_BODY_BYTES", 1, 64L * 1024 * 1024, &cfg->max_body) != HD_OK
	    || hd_config_int("HD_MAX_UPLOAD_BYTES", 1, 1L << 30, &cfg->max_upload) != HD_OK
	    || hd_config_int("HD_UPSTREAM_TIMEOUT_MS", 10, 600000, &cfg->upstream_timeout_ms)
	        != HD_OK
	    || hd_config_int("HD_RATE_LIMIT_PER_MIN", 1, 100000000, &cfg->rate_limit) != HD_OK
	    || hd_config_int("HD_LOGIN_IP_LIMIT", 1, 100000000, &cfg->login_ip_limit) != HD_OK
	    || hd_config_int("HD_RPC_BATCH_MAX", 1, HD_BATCH_MAX, &cfg->rpc_batch_max) != HD_OK
	    || hd_config_int("HD_HTTP_WRITE_TIMEOUT_MS", 100, 600000, &cfg->write_timeout_ms)
	        != HD_OK
	    || hd_config_int("HD_HTTP_REQUEST_TIMEOUT_MS", 100, 600000, &cfg->request_timeout_ms)
	        != HD_OK
	    || hd_config_int("HD_HTTP_MAX_CONNS", 1, 10000000, &cfg->max_conns) != HD_OK
	    || hd_config_int("HD_SSE_HEARTBEAT_MS", 10, 3600000, &cfg->sse_heartbeat_ms) != HD_OK
	    || hd_config_int("HD_SSE_BUFFER_BYTES", 1024, 1L << 30, &cfg->sse_buffer_bytes) != HD_OK
	    || hd_config_int("HD_SSE_MAX_PER_USER", 1, 10000000, &cfg->sse_max_per_user) != HD_OK
	    || hd_config_int("HD_SSE_TICKET_TTL_S", 1, 3600, &cfg->sse_ticket_ttl_s) != HD_OK
	    || hd_config_int("HD_HTTP_MAX_CONNS_PER_ADDR", 0, 10000000, &cfg->max_conns_per_addr)
	        != HD_OK
	    || hd_config_int(
	           "HD_HTTP_LOOP_BUFFER_BYTES", 1L << 20, 1L << 40, &cfg->loop_buffer_bytes)
	        != HD_OK
	    || hd_config_int("HD_SHUTDOWN_DRAIN_S", 0, 3600, &cfg->drain_s) != HD_OK)
		err = HD_ERR_INVALID;
	if (!gw_proxies_parse(&cfg->proxies, hd_config_str("HD_TRUSTED_PROXIES"))) {
		hd_log_error("HD_TRUSTED_PROXIES: not a comma-separated list of at most %d CIDRs",
		    GW_PROXY_MAX);
		err = HD_ERR_INVALID;
	}
	return err;
}

/* Waits up to ms for the in-flight requests to be answered. */
static void drain(gw *g, long ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (long waited = 0; waited < ms && atomic_load(&g->inflight) > 0; waited += 10)
		nanosleep(&tick, NULL);
	if (atomic_load(&g->inflight) > 0)
		hd_log_warn("shutting down with %d requests in flight", atomic_load(&g->inflight));
}

/* Posts fn to every loop. */
static void loops_post(gw *g, void (*fn)(void *))
{
	for (int i = 0; i < hd_worker_pool_size(g->pool); i++) {
		hd_worker *w = hd_worker_pool_get(g->pool, i);
		hd_worker_post(w, fn, w);
	}
}

/* The rollout drain (docs/operations.md, Rollouts): /readyz answers 503 and
 * requests are served on for HD_SHUTDOWN_DRAIN_S, while the endpoint leaves
 * the Service and the load balancers; a second signal cuts it short. */
static void serve_drain(gw *g, const sigset_t *set)
{
	struct timespec left = { g->cfg.drain_s, 0 };
	atomic_store(&g->draining, true);
	if (g->cfg.drain_s == 0)
		return;
	loops_post(g, gw_loop_drain_start);
	hd_log_info("not ready; serving on for %ld s (HD_SHUTDOWN_DRAIN_S)", g->cfg.drain_s);
	int64_t until = hd_now_ms() + g->cfg.drain_s * 1000;
	while (sigtimedwait(set, NULL, &left) < 0 && errno == EINTR) {
		int64_t ms = until - hd_now_ms();
		if (ms <= 0)
			break;
		left = (struct timespec) { ms / 1000, (ms % 1000) * 1000000L };
	}
}

static void serve(gw *g)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	hd_log_info("listening on %s:%ld with %ld loops", g->cfg.bind, g->cfg.port, g->cfg.threads);
	sigwait(&set, &sig);
	hd_log_info("signal %d: draining", sig);
	serve_drain(g, &set);
	loops_post(g, gw_loop_stop_accepting);
	drain(g, g->cfg.upstream_timeout_ms + 1000);
}

/* Has every loop stop calling the daemons (gw_loop_detach) and waits for
 * them, so that the service clients close with no call starting meanwhile. */
static void detach_loops(gw *g)
{
	int n = hd_worker_pool_size(g->pool), posted = 0;
	for (int i = 0; i < n; i++) {
		hd_worker *w = hd_worker_pool_get(g->pool, i);
		posted += hd_worker_post(w, gw_loop_detach, w) == HD_OK;
	}
	pthread_mutex_lock(&g->detach_mu);
	while (g->detached_loops < posted)
		pthread_cond_wait(&g->detach_cv, &g->detach_mu);
	pthread_mutex_unlock(&g->detach_mu);
}

/* The admin port (HD_GATEWAY_ADMIN_PORT): /healthz, /readyz and /metrics on
 * a loop of its own; /metrics never on the public port (docs/gateway.md).
 * Ready here: a connection to every daemon (the public /readyz also asks
 * each loop's Redis, which only that loop's thread may read). */
static bool admin_ready(void *ctx, char *failing, size_t cap)
{
	const gw *g = ctx;
	size_t used = 0;
	failing[0] = '\0';
	if (atomic_load(&g->draining)) {
		snprintf(failing, cap, "\"draining\"");
		return false;
	}
	for (int i = 0; i < GW_SVC__COUNT; i++)
		if (!gw_upstream_ready(g, (gw_service)i) && used < cap)
			used += (size_t)snprintf(failing + used, cap - used, "%s\"%s\"",
			    used ? "," : "", gw_service_name((gw_service)i));
	return used == 0;
}

static hd_err admin_init_cb(hd_worker *w, void *arg)
{
	gw *g = arg;
	g->admin_spec = (hd_admin_spec) {
		.service = "gateway",
		.version = GW_VERSION,
		.port_setting = "HD_GATEWAY_ADMIN_PORT",
		.ready = admin_ready,
		.ready_ctx = g,
	};
	return hd_admin_start(&g->admin, hd_worker_base(w), &g->admin_spec);
}

static void admin_fini_cb(hd_worker *w, void *arg)
{
	(void)w;
	gw *g = arg;
	hd_admin_free(g->admin);
	g->admin = NULL;
}

static int healthcheck(void)
{
	long port = 0;
	if (hd_config_int("HD_HTTP_PORT", 1, 65535, &port) != HD_OK)
		return 1;
	return hd_daemon_healthcheck(port);
}

int main(int argc, char **argv)
{
	static gw g;
	pthread_mutex_init(&g.detach_mu, NULL);
	pthread_cond_init(&g.detach_cv, NULL);
	sigset_t set;
	int rc = 1;
	const char *step;

	hd_log_init("gateway", hd_config_str("HD_LOG_LEVEL"));
	hd_daemon_tune_malloc();
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("hd-gateway %s\n", GW_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--healthcheck") == 0)
		return healthcheck();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--version | --healthcheck]\n", argv[0]);
		return 2;
	}
	step = "configuration";
	if (config_load(&g.cfg) != HD_OK
	    || !gw_cors_init(&g.cors, hd_config_str("HD_CORS_ORIGINS")))
		goto fail;
	step = "token keys";
	if (hd_jwt_keys_load(&g.keys, false) != HD_OK)
		goto fail;
	step = "jwks";
	if (hd_jwt_jwks_json(&g.keys, &g.jwks) != HD_OK)
		goto fail_keys;
	g.jwks_len = strlen(g.jwks);
	step = "web console";
	if (gw_web_load(&g.web) != HD_OK)
		goto fail_jwks;
	gw_metrics_declare();
	hd_admin_build_info("gateway", GW_VERSION);
	gw_openapi_init();
	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the loops inherit the mask */
	step = "service clients";
	if (gw_upstream_open(&g) != HD_OK)
		goto fail_jwks;
	step = "admin port";
	if (hd_worker_pool_create(&g.admin_pool, 1, admin_init_cb, admin_fini_cb, &g) != HD_OK)
		goto fail_upstream;
	step = "http loops";
	if (hd_worker_pool_create(&g.pool, (int)g.cfg.threads, gw_loop_init_cb, gw_loop_fini_cb, &g)
	    != HD_OK)
		goto fail_admin;
	serve(&g);
	rc = 0;
	detach_loops(&g);
	/* Late replies are answered by the loops before they stop. */
	gw_upstream_close(&g);
	hd_worker_pool_destroy(g.pool);
	hd_worker_pool_destroy(g.admin_pool);
	goto fail_jwks;
fail_admin:
	hd_worker_pool_destroy(g.admin_pool);
fail_upstream:
	gw_upstream_close(&g);
fail_jwks:
	gw_static_free(&g.web);
	free(g.jwks);
fail_keys:
	hd_jwt_keys_fini(&g.keys);
fail:
	if (rc != 0)
		hd_log_error("start-up failed: %s", step);
	else
		hd_log_info("stopped");
	return rc;
}
