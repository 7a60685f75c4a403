/* Helpers for end-to-end programs that run daemons of their own next to the
 * stack the runner started (test_replicas.c, test_compat.c): free ports, a
 * binary of HD_TEST_BIN_DIR spawned with the stack's settings plus overrides,
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

/* Starts HD_TEST_BIN_DIR/hd-<name> (argument arg, may be NULL) in
 * HD_TEST_ROOT with this environment plus overrides ("NAME=value",
 * NULL-ended); output appended to HD_TEST_STACK_DIR/log/<logname>.log. */
static inline pid_t pe_spawn(
    const char *name, const char *arg, const char *logname, const char *const *overrides)
{
	char bin[512], log[512];
	const char *envp[PE_MAX_ENV];
	size_t n = 0;
	snprintf(bin, sizeof bin, "%s/hd-%s", httpc_env("HD_TEST_BIN_DIR"), name);
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
