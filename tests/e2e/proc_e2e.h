/* Helpers for end-to-end programs that run daemons of their own next to the
 * stack the runner started (test_replicas.c, test_compat.c, test_skew.c): free
 * ports, a binary of HD_TEST_BIN_DIR spawned with the stack's settings plus
 * overrides, replicas of hd-ticket and gateways on free ports,
 * readiness over HTTP, Prometheus scraping, and hand-built envelopes. Logs go
 * to HD_TEST_STACK_DIR/log/ so tests/run.sh checks them for sanitizer
 * reports. Each program includes this once; everything is static inline.
 * Environment: HD_TEST_BIN_DIR, HD_TEST_ROOT, HD_TEST_STACK_DIR,
 * HD_TEST_DATABASE_URL, HD_TEST_DATABASE_ADMIN_URL, HD_TEST_REDIS_URL and the
 * stack's own HD_* settings (exported by the runner). */
#ifndef HD_TEST_PROC_E2E_H
#define HD_TEST_PROC_E2E_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "freeport.h"
#include "httpc.h"

extern char **environ;

#define PE_MAX_ENV 512
#define PE_MAX_PROCS 16

/* Processes started and not yet reaped, so a failed test leaves none behind. */
static pid_t pe_procs[PE_MAX_PROCS];

static inline void pe_track(pid_t pid, bool add)
{
	for (int i = 0; i < PE_MAX_PROCS; i++) {
		if (add && pe_procs[i] == 0) {
			pe_procs[i] = pid;
			return;
		}
		if (!add && pe_procs[i] == pid) {
			pe_procs[i] = 0;
			return;
		}
	}
}

static inline int64_t pe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void pe_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A TCP port on 127.0.0.1 nobody listens on right now and that this program
 * was not given lately (ports picked ahead of the processes that bind them,
 * e.g. a gateway's list of replicas yet to start, must differ); fails the
 * test when none can be had. */
#define PE_RECENT_PORTS 64
static inline int pe_free_port(void)
{
	static int recent[PE_RECENT_PORTS];
	static unsigned next;
	for (int tries = 0; tries < 100; tries++) {
		int port = freeport_get();
		assert_true(port > 0);
		bool seen = false;
		for (int i = 0; i < PE_RECENT_PORTS && !seen; i++)
			seen = recent[i] == port;
		if (!seen) {
			recent[next++ % PE_RECENT_PORTS] = port;
			return port;
		}
	}
	fail_msg("no free port that was not handed out lately");
	return -1;
}

/* True when env entry e ("NAME=value") sets a name one of overrides sets. */
static inline bool pe_overridden(const char *e, const char *const *overrides)
{
	size_t n = strcspn(e, "=");
	for (size_t i = 0; overrides[i] != NULL; i++)
		if (strncmp(overrides[i], e, n) == 0 && overrides[i][n] == '=')
			return true;
	return false;
}

/* The folder pe_spawn takes binaries from: NULL is HD_TEST_BIN_DIR (this
 * tree's); test_skew.c points it at the previous release's for a while. */
static const char *pe_bin_dir;

/* Starts <pe_bin_dir>/hd-<name> (argument arg, may be NULL) in
 * HD_TEST_ROOT with this environment plus overrides ("NAME=value",
 * NULL-ended); output appended to HD_TEST_STACK_DIR/log/<logname>.log. */
static inline pid_t pe_spawn(
    const char *name, const char *arg, const char *logname, const char *const *overrides)
{
	char bin[512], log[512];
	const char *envp[PE_MAX_ENV];
	size_t n = 0;
	snprintf(bin, sizeof bin, "%s/hd-%s",
	    pe_bin_dir != NULL ? pe_bin_dir : httpc_env("HD_TEST_BIN_DIR"), name);
	snprintf(log, sizeof log, "%s/log/%s.log", httpc_env("HD_TEST_STACK_DIR"), logname);
	for (char **e = environ; *e != NULL && n < PE_MAX_ENV - 64; e++)
		if (!pe_overridden(*e, overrides))
			envp[n++] = *e;
	for (size_t i = 0; overrides[i] != NULL && n < PE_MAX_ENV - 1; i++)
		envp[n++] = overrides[i];
	envp[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, httpc_env("HD_TEST_ROOT"));
	char *argv[] = { bin, (char *)arg, NULL };
	pid_t pid = -1;
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, (char **)envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fail_msg("cannot start %s: %s", bin, strerror(rc));
	pe_track(pid, true);
	return pid;
}

/* Waits for pid's exit; returns its exit status (128 + signal when killed). */
static inline int pe_wait(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pe_track(pid, false);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Sends sig to pid and reaps it. A process still running after
 * PE_STOP_WAIT_MS is SIGKILLed and reported as -2, so a daemon that does
 * not stop fails the test instead of hanging it. */
#define PE_STOP_WAIT_MS 30000
static inline int pe_stop(pid_t pid, int sig)
{
	if (pid <= 0)
		return -1;
	kill(pid, sig);
	int64_t until = pe_now_ms() + PE_STOP_WAIT_MS;
	int st = 0;
	while (pe_now_ms() < until) {
		pid_t got = waitpid(pid, &st, WNOHANG);
		if (got == pid) {
			pe_track(pid, false);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		if (got < 0 && errno != EINTR)
			return -1;
		pe_sleep_ms(20);
	}
	fprintf(stderr, "pid %d did not stop within %d ms after signal %d\n", (int)pid,
	    PE_STOP_WAIT_MS, sig);
	kill(pid, SIGKILL);
	pe_wait(pid);
	return -2;
}

/* Group teardown: kills (SIGKILL) and reaps what a failed test left running. */
static inline int pe_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < PE_MAX_PROCS; i++)
		if (pe_procs[i] > 0)
			pe_stop(pe_procs[i], SIGKILL);
	return 0;
}

/* Polls url until it answers 200 (true) or timeout_ms passes; fails the
 * test at once when pid exited. */
static inline bool pe_wait_ready(const char *url, pid_t pid, int timeout_ms)
{
	int64_t until = pe_now_ms() + timeout_ms;
	while (pe_now_ms() < until) {
		httpc_resp r;
		int st = 0;
		/* the response is filled (and must be freed) even on a transport error */
		bool ok
		    = httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL) == 0 && r.status == 200;
		httpc_resp_free(&r);
		if (ok)
			return true;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pe_track(pid, false);
			fail_msg("%s: its daemon exited during start-up", url);
		}
		pe_sleep_ms(50);
	}
	return false;
}

/* ---- replicas of hd-ticket and gateways of a test's own ---- */

typedef struct replica {
	pid_t pid;
	int rpc_port, admin_port;
	char url_env[96], admin_env[64], metrics[96];
} replica;

static char g_db_env[600], g_dbadmin_env[600], g_redis_env[600];

/* The stack's settings a daemon started here needs beyond the environment. */
static inline void stack_env_init(void)
{
	snprintf(
	    g_db_env, sizeof g_db_env, "HD_DATABASE_URL=%s", httpc_env("HD_TEST_DATABASE_URL"));
	snprintf(g_dbadmin_env, sizeof g_dbadmin_env, "HD_DATABASE_ADMIN_URL=%s",
	    httpc_env("HD_TEST_DATABASE_ADMIN_URL"));
	snprintf(
	    g_redis_env, sizeof g_redis_env, "HD_REDIS_URL=%s", httpc_env("HD_TEST_REDIS_URL"));
}

/* Picks replica rp's ports (before its address goes into a gateway's list). */
static inline void replica_ports(replica *rp)
{
	rp->rpc_port = pe_free_port();
	rp->admin_port = pe_free_port();
	snprintf(rp->url_env, sizeof rp->url_env, "HD_TICKET_URL=tcp://127.0.0.1:%d", rp->rpc_port);
	snprintf(rp->admin_env, sizeof rp->admin_env, "HD_TICKET_ADMIN_PORT=%d", rp->admin_port);
	snprintf(rp->metrics, sizeof rp->metrics, "http://127.0.0.1:%d/metrics", rp->admin_port);
}

/* Starts hd-ticket on rp's ports (extra: one more "NAME=value" or NULL) and
 * waits for its /readyz. */
static inline void replica_spawn(replica *rp, const char *logname, const char *extra)
{
	const char *env[]
	    = { rp->url_env, rp->admin_env, g_db_env, g_dbadmin_env, g_redis_env, extra, NULL };
	rp->pid = pe_spawn("ticket", NULL, logname, env);
	char ready[96];
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/readyz", rp->admin_port);
	assert_true(pe_wait_ready(ready, rp->pid, 20000));
}

static inline void replica_start(replica *rp, const char *logname)
{
	replica_ports(rp);
	replica_spawn(rp, logname, NULL);
}

typedef struct gateway {
	pid_t pid;
	char port_env[48], base[64], metrics[96];
} gateway;

/* Starts a gateway of this test on free ports, its hd-ticket addresses in
 * urls_env ("HD_TICKET_URL=..."), extra one more "NAME=value" or NULL, and
 * waits for its /readyz. */
static inline void gateway_start(
    gateway *g, const char *urls_env, const char *extra, const char *logname)
{
	int http_port = pe_free_port(), admin_port = pe_free_port();
	char admin_env[48], ready[96];
	/* NNG 1.5.2 may drop a request held for the pipe that dies: see the file */
	static char lsan_env[600];
	snprintf(lsan_env, sizeof lsan_env,
	    "LSAN_OPTIONS=print_suppressions=0:suppressions=%s/tests/e2e/lsan-nng.supp",
	    httpc_env("HD_TEST_ROOT"));
	snprintf(g->port_env, sizeof g->port_env, "HD_HTTP_PORT=%d", http_port);
	snprintf(admin_env, sizeof admin_env, "HD_GATEWAY_ADMIN_PORT=%d", admin_port);
	snprintf(g->base, sizeof g->base, "http://127.0.0.1:%d", http_port);
	snprintf(ready, sizeof ready, "%s/readyz", g->base);
	snprintf(g->metrics, sizeof g->metrics, "http://127.0.0.1:%d/metrics", admin_port);
	const char *env[] = { g->port_env, admin_env, urls_env, g_redis_env,
		"HD_RATE_LIMIT_PER_MIN=100000000", lsan_env, extra, NULL };
	g->pid = pe_spawn("gateway", NULL, logname, env);
	assert_true(pe_wait_ready(ready, g->pid, 20000));
}

/* Builds a request or reply envelope by hand: preamble, the JSON header as
 * given (so a test can add fields this tree does not know), then body.
 * Returns a malloc'ed buffer and its length in *len. */
static inline char *pe_envelope(const char *header_json, const char *body, size_t *len)
{
	size_t hl = strlen(header_json), bl = body != NULL ? strlen(body) : 0;
	char *buf = malloc(8 + hl + bl + 1);
	assert_non_null(buf);
	buf[0] = 'H';
	buf[1] = 'D';
	buf[2] = 1; /* HD_ENVELOPE_VERSION, the wire format this tree speaks */
	buf[3] = 0;
	buf[4] = (char)((hl >> 24) & 0xff);
	buf[5] = (char)((hl >> 16) & 0xff);
	buf[6] = (char)((hl >> 8) & 0xff);
	buf[7] = (char)(hl & 0xff);
	memcpy(buf + 8, header_json, hl);
	if (bl > 0)
		memcpy(buf + 8 + hl, body, bl);
	*len = 8 + hl + bl;
	return buf;
}

#endif
