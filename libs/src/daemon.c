/* The skeleton every daemon runs (hd_daemon_main): configuration and logs,
 * `--migrate` / `--version` / `--healthcheck` (a container probe: GET
 * /healthz on the admin port, exit 0 on 2xx), a CPU pool, worker loops that own the database
 * and Redis clients, the RPC server dispatching envelope.op through the
 * spec's table, and on the main libevent loop an admin HTTP port (/healthz,
 * /readyz, /metrics) and SIGTERM/SIGINT. Stopping drains the RPC server
 * (5 s), then the pools, then the service's own stop hook; before that, a
 * daemon with an RPC server drains for HD_SHUTDOWN_DRAIN_S (/readyz 503,
 * still serving) so that a rollout loses no request.
 * Readiness: each worker probes its own clients on its own thread every
 * 500 ms and publishes the result in atomics the admin handler reads. */
#include "hd/daemon.h"
#include "hd/json.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "hd/admin.h"
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/consumer.h"
#include "hd/idem.h"
#include "hd/outbox.h"
#include "nng_close.h"

#define DAEMON_DRAIN_MS 5000
#define DAEMON_PROBE_MS 500
#define DAEMON_HEALTHCHECK_MS 2000

/* Per-worker state; dw first so the worker's data pointer is an hd_daemon_worker. */
typedef struct daemon_worker {
	hd_daemon_worker dw;
	struct event *probe;
	atomic_bool db_ok, redis_ok;
	bool outbox; /* this worker runs the outbox relay */
	bool consumers; /* this worker runs the event consumers */
} daemon_worker;

typedef struct daemon_state {
	const hd_daemon_spec *spec;
	struct event_base *base;
	hd_worker_pool *workers;
	hd_rpc_server *rpc;
	hd_admin_spec admin_spec;
	hd_admin *admin;
	struct event *sigterm, *sigint;
	struct event *drain_timer; /* the end of the rollout drain */
	bool draining; /* SIGTERM came: /readyz 503, requests still served */
	long drain_s; /* HD_SHUTDOWN_DRAIN_S */
} daemon_state;

static hd_cpu_pool *g_cpu_pool;

hd_cpu_pool *hd_daemon_cpu_pool(void)
{
	return g_cpu_pool;
}

static long daemon_setting_int(const char *name, long min, long max, long fallback)
{
	long v = fallback;
	return hd_config_int(name, min, max, &v) == HD_OK ? v : -1;
}

/* ---- workers ---- */

static void daemon_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_worker *w = arg;
	atomic_store(&w->db_ok, w->dw.db == NULL || hd_db_ready(w->dw.db));
	atomic_store(&w->redis_ok, w->dw.redis == NULL || hd_redis_ready(w->dw.redis));
}

/* Frees what a worker owns; the service's own fini runs when its init succeeded. */
static void daemon_worker_free(
    hd_worker *wk, daemon_worker *w, const hd_daemon_spec *spec, bool service_started)
{
	if (service_started && spec->worker_fini != NULL)
		spec->worker_fini(&w->dw);
	if (w->consumers)
		hd_consumer_stop_all();
	if (w->outbox)
		hd_outbox_stop();
	if (w->probe != NULL)
		event_free(w->probe);
	hd_redis_destroy(w->dw.redis);
	hd_db_destroy(w->dw.db);
	hd_worker_set_data(wk, NULL);
	free(w);
}

static void daemon_worker_fini(hd_worker *wk, void *arg)
{
	daemon_worker *w = hd_worker_data(wk);
	if (w != NULL)
		daemon_worker_free(wk, w, ((daemon_state *)arg)->spec, true);
}

static hd_err daemon_worker_init(hd_worker *wk, void *arg)
{
	const hd_daemon_spec *spec = ((daemon_state *)arg)->spec;
	struct event_base *base = hd_worker_base(wk);
	daemon_worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return HD_ERR_NOMEM;
	w->dw.worker = wk;
	hd_worker_set_data(wk, w);
	hd_err err = HD_OK;
	long conns = daemon_setting_int("HD_DB_CONNS", 1, 64, 2);
	if (conns < 0)
		err = HD_ERR_INVALID;
	if (err == HD_OK && spec->use_db)
		err = hd_db_create(&w->dw.db, base, hd_config_str("HD_DATABASE_URL"), (int)conns);
	long wait_max = daemon_setting_int("HD_DB_WAIT_MAX", 0, 1000000, 1024);
	if (wait_max < 0)
		err = HD_ERR_INVALID;
	if (err == HD_OK && spec->use_db)
		hd_db_set_wait_max(w->dw.db, (int)wait_max);
	if (err == HD_OK && spec->use_db && spec->db_pipeline_setting != NULL) {
		long depth = daemon_setting_int(spec->db_pipeline_setting, 0, 1000, 0);
		if (depth < 0)
			err = HD_ERR_INVALID;
		else
			hd_db_set_pipeline_max(w->dw.db, (int)depth);
	}
	if (err == HD_OK && spec->use_redis)
		err = hd_redis_create(&w->dw.redis, base, hd_config_str("HD_REDIS_URL"));
	if (err == HD_OK && spec->outbox && hd_worker_index(wk) == 0) {
		err = hd_outbox_start(&w->dw);
		w->outbox = err == HD_OK;
	}
	if (err == HD_OK && spec->consumers != NULL && hd_worker_index(wk) == 0) {
		w->consumers = true;
		for (const hd_consumer_spec *cs = spec->consumers;
		     err == HD_OK && cs->source != NULL; cs++)
			err = hd_consumer_start(cs, spec->schema, &w->dw);
	}
	if (err == HD_OK && spec->worker_init != NULL)
		err = spec->worker_init(&w->dw);
	bool service_ok = err == HD_OK;
	if (err == HD_OK) {
		struct timeval tv = { 0, DAEMON_PROBE_MS * 1000 };
		w->probe = event_new(base, -1, EV_PERSIST, daemon_probe_cb, w);
		if (w->probe == NULL || event_add(w->probe, &tv) != 0)
			err = HD_ERR_NOMEM;
		daemon_probe_cb(-1, 0, w);
	}
	if (err != HD_OK) {
		hd_log_error("worker %d: start failed: %s", hd_worker_index(wk), hd_strerror(err));
		daemon_worker_free(wk, w, spec, service_ok);
	}
	return err;
}

/* ---- RPC dispatch ---- */

static void daemon_dispatch(hd_rpc_request *req, void *arg)
{
	const hd_daemon_spec *spec = arg;
	const hd_envelope *env = hd_rpc_request_envelope(req);
	daemon_worker *w = hd_worker_data(hd_rpc_request_worker(req));
	hd_log_set_request_id(env->request_id[0] != '\0' ? env->request_id : NULL);
	const hd_daemon_op *op = spec->ops;
	while (op != NULL && op->name != NULL && strcmp(op->name, env->op) != 0)
		op++;
	if (op == NULL || op->name == NULL) {
		hd_log_warn("unknown operation %s", env->op);
		hd_daemon_reply_problem(req, 404, "unknown operation", NULL);
	} else {
		hd_rpc_request_set_op_label(req, op->name);
		op->handle(req, &w->dw);
	}
	hd_log_set_request_id(NULL);
}

/* Replies json[0..len) with the NULL-ended name/value header pairs of ap. */
static void daemon_reply(hd_rpc_request *req, int status, const char *json, size_t len, va_list ap)
{
	hd_reply r = { .version = HD_ENVELOPE_VERSION,
		.status = status,
		.body = json,
		.body_len = json != NULL ? len : 0 };
	for (const char *name = va_arg(ap, const char *); name != NULL;
	     name = va_arg(ap, const char *)) {
		const char *value = va_arg(ap, const char *);
		if (value != NULL && hd_reply_add_header(&r, name, value) != HD_OK)
			hd_log_error("reply header %s dropped: too many or too long", name);
	}
	hd_rpc_request_reply(req, &r);
}

void hd_daemon_reply_json(hd_rpc_request *req, int status, const char *json, size_t len, ...)
{
	/* Compact JSON everywhere: replies built by PostgreSQL carry " : " and
	 * ", " (json_build_object). */
	char *compact = NULL;
	size_t clen = json != NULL ? hd_json_compact_len(json, len) : len;
	if (clen < len && (compact = malloc(clen > 0 ? clen : 1)) != NULL) {
		len = hd_json_compact(compact, json, len);
		json = compact;
	}
	va_list ap;
	va_start(ap, len);
	daemon_reply(req, status, json, len, ap);
	va_end(ap);
	free(compact);
}

void hd_daemon_reply_compact(hd_rpc_request *req, int status, const char *json, size_t len, ...)
{
	va_list ap;
	va_start(ap, len);
	daemon_reply(req, status, json, len, ap);
	va_end(ap);
}

void hd_daemon_reply_problem(
    hd_rpc_request *req, int status, const char *detail, const hd_field_errors *errs)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	size_t len = 0;
	char *body = hd_problem_json(
	    status, detail, env->request_id[0] ? env->request_id : NULL, errs, &len);
	static const char fallback[] = "{\"title\":\"Internal Server Error\",\"status\":500}";
	if (body == NULL)
		hd_daemon_reply_json(req, 500, fallback, sizeof fallback - 1, NULL);
	else
		hd_daemon_reply_json(req, status, body, len, NULL);
	free(body);
}

/* ---- admin HTTP (hd/admin.h) ---- */

/* Ready when every worker's last probe reached its database and Redis, and
 * the RPC listener takes connections (hd_rpc_server_listening). */
static bool daemon_ready(void *ctx, char *failing, size_t cap)
{
	const daemon_state *d = ctx;
	bool db_ok = true, redis_ok = true;
	if (d->draining) {
		snprintf(failing, cap, "\"draining\"");
		return false;
	}
	for (int i = 0; d->workers != NULL && i < hd_worker_pool_size(d->workers); i++) {
		daemon_worker *w = hd_worker_data(hd_worker_pool_get(d->workers, i));
		db_ok = db_ok && w != NULL && atomic_load(&w->db_ok);
		redis_ok = redis_ok && w != NULL && atomic_load(&w->redis_ok);
	}
	bool rpc_ok = hd_rpc_server_listening(d->rpc);
	snprintf(failing, cap, "%s%s%s%s%s", db_ok ? "" : "\"postgres\"",
	    !db_ok && !redis_ok ? "," : "", redis_ok ? "" : "\"redis\"",
	    rpc_ok || (db_ok && redis_ok) ? "" : ",", rpc_ok ? "" : "\"rpc_listener\"");
	return db_ok && redis_ok && rpc_ok;
}

static hd_err daemon_http_start(daemon_state *d)
{
	d->admin_spec = (hd_admin_spec) {
		.service = d->spec->name,
		.version = d->spec->version,
		.port_setting = d->spec->admin_port_setting,
		.ready = daemon_ready,
		.ready_ctx = d,
		.alive = d->spec->alive,
	};
	hd_admin_build_info(d->spec->name, d->spec->version);
	return hd_admin_start(&d->admin, d->base, &d->admin_spec);
}

/* ---- lifecycle ---- */

static void daemon_drain_end_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_state *d = arg;
	event_base_loopbreak(d->base);
}

/* The rollout drain (docs/operations.md, Rollouts): on the first signal a
 * daemon with an RPC server answers /readyz 503 and serves on for
 * HD_SHUTDOWN_DRAIN_S, while the gateways re-resolve its Service without it;
 * a second signal, or no drain time, stops at once. */
static void daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	daemon_state *d = arg;
	if (d->draining || d->rpc == NULL || d->drain_s == 0) {
		hd_log_info("signal %d: stopping", (int)sig);
		event_base_loopbreak(d->base);
		return;
	}
	struct timeval tv = { d->drain_s, 0 };
	d->draining = true;
	d->drain_timer = evtimer_new(d->base, daemon_drain_end_cb, d);
	if (d->drain_timer == NULL || evtimer_add(d->drain_timer, &tv) != 0) {
		event_base_loopbreak(d->base);
		return;
	}
	hd_log_info("signal %d: not ready; serving on for %ld s (HD_SHUTDOWN_DRAIN_S)", (int)sig,
	    d->drain_s);
}

static hd_err daemon_signals_start(daemon_state *d)
{
	signal(SIGPIPE, SIG_IGN);
	if ((d->drain_s = daemon_setting_int("HD_SHUTDOWN_DRAIN_S", 0, 3600, 5)) < 0)
		return HD_ERR_INVALID;
	d->sigterm = evsignal_new(d->base, SIGTERM, daemon_signal_cb, d);
	d->sigint = evsignal_new(d->base, SIGINT, daemon_signal_cb, d);
	if (d->sigterm == NULL || d->sigint == NULL || event_add(d->sigterm, NULL) != 0
	    || event_add(d->sigint, NULL) != 0)
		return HD_ERR_INTERNAL;
	return HD_OK;
}

static hd_err daemon_pools_start(daemon_state *d)
{
	long cpu = daemon_setting_int("HD_CPU_THREADS", 1, 256, 2);
	long nworkers = daemon_setting_int("HD_WORKERS", 1, 256, 1);
	if (cpu < 0 || nworkers < 0)
		return HD_ERR_INVALID;
	hd_err err = hd_cpu_pool_create(&g_cpu_pool, (int)cpu);
	if (err != HD_OK)
		return err;
	return hd_worker_pool_create(
	    &d->workers, (int)nworkers, daemon_worker_init, daemon_worker_fini, d);
}

static hd_err daemon_rpc_start(daemon_state *d)
{
	if (d->spec->listen_url_setting == NULL)
		return HD_OK; /* a daemon without operations (the bus forwarder) */
	long nctx = daemon_setting_int("HD_RPC_CONTEXTS", 1, 4096, 64);
	if (nctx < 0)
		return HD_ERR_INVALID;
	const char *url = hd_config_str(d->spec->listen_url_setting);
	hd_err err = hd_rpc_server_start(
	    &d->rpc, url, (int)nctx, d->workers, daemon_dispatch, (void *)d->spec);
	if (err == HD_OK)
		hd_log_info("rpc: listening on %s", url);
	return err;
}

static int daemon_run(const hd_daemon_spec *spec)
{
	daemon_state d = { .spec = spec };
	bool started = false;
	int code = 1;
	const char *step = "event_base_new";
	evthread_use_pthreads();
	if ((d.base = event_base_new()) == NULL)
		goto out;
	step = "signals";
	if (daemon_signals_start(&d) != HD_OK)
		goto out;
	step = "outbox";
	if (spec->outbox && (!spec->use_db || hd_outbox_init(spec->schema) != HD_OK))
		goto out;
	step = "worker pools";
	if (daemon_pools_start(&d) != HD_OK)
		goto out;
	step = "service start";
	if (spec->start != NULL && spec->start() != HD_OK)
		goto out;
	started = true;
	step = "rpc server";
	if (daemon_rpc_start(&d) != HD_OK)
		goto out;
	step = "admin http";
	if (daemon_http_start(&d) != HD_OK)
		goto out;
	hd_log_info("%s %s started", spec->name, spec->version != NULL ? spec->version : "");
	event_base_dispatch(d.base);
	code = 0;
	step = NULL;
out:
	if (step != NULL)
		hd_log_error("start-up failed at %s", step);
	hd_rpc_server_stop(d.rpc, DAEMON_DRAIN_MS);
	hd_admin_free(d.admin);
	hd_cpu_pool_destroy(g_cpu_pool);
	g_cpu_pool = NULL;
	hd_worker_pool_destroy(d.workers);
	if (started && spec->stop != NULL)
		spec->stop();
	if (d.sigterm != NULL)
		event_free(d.sigterm);
	if (d.sigint != NULL)
		event_free(d.sigint);
	if (d.drain_timer != NULL)
		event_free(d.drain_timer);
	if (d.base != NULL)
		event_base_free(d.base);
	hd_log_info("%s stopped", spec->name);
	return code;
}

/* HD_<NAME>_SQL_DIR, else the spec's default folder. */
static const char *daemon_sql_dir(const hd_daemon_spec *spec, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "HD_%s_SQL_DIR", spec->name);
	for (int i = 3; i < n && (size_t)i < cap; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	const char *dir = hd_config_str(buf);
	return *dir != '\0' ? dir : spec->sql_dir;
}

/* Room for the shared migrations a daemon may turn on (hd_outbox_, hd_idem_
 * and hd_consumer_migrations) and the NULL version ending them. */
#define DAEMON_SHARED_MAX 24

/* Appends list (ended by a NULL version) to shared[*n], keeping the last
 * slot for the end; false when it does not fit. */
static bool daemon_shared_add(
    hd_db_shared_migration *shared, size_t *n, const hd_db_shared_migration *list)
{
	for (size_t i = 0; list[i].version != NULL; i++) {
		if (*n + 1 >= DAEMON_SHARED_MAX)
			return false;
		shared[(*n)++] = list[i];
	}
	return true;
}

static int daemon_migrate(const hd_daemon_spec *spec)
{
	char name[64];
	if (spec->schema == NULL) {
		hd_log_info("%s has no database schema: nothing to migrate", spec->name);
		return 0;
	}
	const char *dir = daemon_sql_dir(spec, name, sizeof name);
	/* what the spec turns on, ended by a NULL version */
	hd_db_shared_migration shared[DAEMON_SHARED_MAX] = { { NULL, NULL } };
	size_t n = 0;
	if ((spec->outbox && !daemon_shared_add(shared, &n, hd_outbox_migrations))
	    || (spec->idempotency && !daemon_shared_add(shared, &n, hd_idem_migrations))
	    || (spec->consumers != NULL
	        && !daemon_shared_add(shared, &n, hd_consumer_migrations))) {
		hd_log_error("migrations: more than %d shared migrations (DAEMON_SHARED_MAX)",
		    DAEMON_SHARED_MAX - 1);
		return 1;
	}
	/* a database that is not reachable yet (a container started with it, its
	 * name not in DNS yet) is waited for: migrations are idempotent */
	long wait_s = 60;
	if (hd_config_int("HD_MIGRATE_WAIT_S", 0, 3600, &wait_s) != HD_OK)
		return 1;
	int64_t deadline = hd_now_ms() + wait_s * 1000;
	hd_err err;
	while ((err = hd_db_migrate_ex(hd_config_str("HD_DATABASE_ADMIN_URL"), spec->schema, dir,
	            n > 0 ? shared : NULL))
	        == HD_ERR_UNAVAILABLE
	    && hd_now_ms() < deadline) {
		hd_log_warn("migrations: the database is not reachable yet; trying again in 1 s");
		sleep(1);
	}
	if (err != HD_OK) {
		hd_log_error("migrations from %s failed: %s", dir, hd_strerror(err));
		return 1;
	}
	hd_log_info("migrations from %s applied", dir);
	return 0;
}

/* ---- --healthcheck ---- */

/* Waits for events on fd until deadline; true when they came. */
static bool daemon_poll(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	for (;;) {
		int64_t left = deadline - hd_now_ms();
		if (left <= 0)
			return false;
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* Connects fd to 127.0.0.1:port before deadline. */
static bool daemon_probe_connect(int fd, long port, int64_t deadline)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int err = 0;
	socklen_t elen = sizeof err;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return true;
	if (errno != EINPROGRESS || !daemon_poll(fd, POLLOUT, deadline))
		return false;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0;
}

/* Sends GET /healthz and reads the status line; returns the status or 0. */
static int daemon_probe_status(int fd, int64_t deadline)
{
	static const char req[]
	    = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	char buf[64] = "";
	size_t got = 0;
	if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
		return 0;
	while (got < sizeof buf - 1 && memchr(buf, '\n', got) == NULL) {
		if (!daemon_poll(fd, POLLIN, deadline))
			return 0;
		ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %3d", &status) != 1)
		return 0;
	return status;
}

int hd_daemon_healthcheck(long port)
{
	if (port < 1 || port > 65535) {
		fprintf(stderr, "healthcheck: no valid port\n");
		return 1;
	}
	int64_t deadline = hd_now_ms() + DAEMON_HEALTHCHECK_MS;
	int status = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (daemon_probe_connect(fd, port, deadline))
		status = daemon_probe_status(fd, deadline);
	close(fd);
out:
	if (status >= 200 && status < 300)
		return 0;
	fprintf(stderr, "healthcheck: http://127.0.0.1:%ld/healthz %s (status %d)\n", port,
	    status == 0 ? "did not answer" : "is unhealthy", status);
	return 1;
}

static int daemon_healthcheck_cmd(const hd_daemon_spec *spec)
{
	long port = daemon_setting_int(spec->admin_port_setting, 1, 65535, 0);
	return hd_daemon_healthcheck(port);
}

void hd_daemon_tune_malloc(void)
{
	long trim = 8L << 20;
	if (hd_config_int("HD_MALLOC_TRIM_BYTES", 128L << 10, 1L << 30, &trim) != HD_OK)
		trim = 8L << 20;
	/* fixed values also stop glibc's own threshold adjustment */
	mallopt(M_MMAP_THRESHOLD, 2 << 20);
	mallopt(M_TRIM_THRESHOLD, (int)trim);
}

/* LeakSanitizer (the ASan build only reads this; every daemon, the bus
 * included, links this file): NNG 1.5.2 never frees the connections half
 * made on a listener that stopped or was made again by the watchdog, nor a
 * TLS connection cut mid-handshake (its mbed TLS context), so leaks inside
 * libnng are not reported (docs/architecture.md, "A peer's close must never
 * read as closed"); the e2e tests do the same for the gateways they start
 * (tests/e2e/lsan-nng.supp). The price: a message our code took from NNG
 * and never freed would not be reported either. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libnng.so.1\n";
}

/* Runs the spec's maintenance command flag; -1 when it has none of that name. */
static int daemon_command(const hd_daemon_spec *spec, const char *flag)
{
	for (const hd_daemon_command *c = spec->commands; c != NULL && c->flag != NULL; c++) {
		if (strcmp(c->flag, flag) != 0)
			continue;
		if (c->sql == NULL)
			return c->run(hd_config_str("HD_DATABASE_ADMIN_URL"));
		hd_err err = hd_db_exec_sync(
		    hd_config_str("HD_DATABASE_ADMIN_URL"), c->sql, 0, NULL, NULL);
		if (err != HD_OK) {
			hd_log_error("%s failed: %s", flag, hd_strerror(err));
			return 1;
		}
		hd_log_info("%s done", flag);
		return 0;
	}
	return -1;
}

int hd_daemon_main(const hd_daemon_spec *spec, int argc, char **argv)
{
	hd_log_init(spec->name, hd_config_str("HD_LOG_LEVEL"));
	hd_daemon_tune_malloc();
	hd_reply_set_constraints(spec->constraints);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("hd-%s %s\n", spec->name, spec->version != NULL ? spec->version : "");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--migrate") == 0)
		return daemon_migrate(spec);
	if (argc == 2 && strcmp(argv[1], "--healthcheck") == 0)
		return daemon_healthcheck_cmd(spec);
	if (argc == 2 && spec->consumers != NULL && strcmp(argv[1], "--replay-parked") == 0)
		return hd_consumer_replay_parked(
		    spec->consumers, spec->schema, hd_config_str("HD_DATABASE_ADMIN_URL"));
	int rc = argc == 2 ? daemon_command(spec, argv[1]) : -1;
	if (rc >= 0)
		return rc;
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--migrate | --version | --healthcheck%s", argv[0],
		    spec->consumers != NULL ? " | --replay-parked" : "");
		for (const hd_daemon_command *c = spec->commands; c != NULL && c->flag != NULL; c++)
			fprintf(stderr, " | %s", c->flag);
		fprintf(stderr, "]\n");
		return 2;
	}
	rc = daemon_run(spec);
	if (hd_nng_wedged()) {
		/* NNG's core is stuck in a close (nng_close.h): exit without running
		 * exit handlers, which could touch it; the kernel frees the rest. */
		hd_log_warn("stopped with NNG stuck in a socket close; exiting at once");
		_exit(rc);
	}
	return rc;
}
