/* Daemons as child processes for integration tests: free ports, the binary
 * path from HD_TEST_BIN_DIR, spawning with stderr appended to a log file,
 * stopping with a signal, scanning the log for sanitizer reports, and one
 * blocking NNG request (envelope in, decoded reply out) as the gateway
 * sends it. The daemon's settings are the test's environment (setenv before
 * spawning). No cmocka here: callers assert on the results.
 * daemon_child_call_raw is static inline so that programs which do not link
 * daemon_child.c (the end-to-end ones, test_compat.c) share it too. */
#ifndef HD_TEST_DAEMON_CHILD_H
#define HD_TEST_DAEMON_CHILD_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>
#include "hd/envelope.h"
#include "hd/err.h"
#include "hd/rpc.h"

/* A child daemon: its pid (0 when not running) and its stderr log. */
typedef struct daemon_child {
	pid_t pid;
	char bin[512];
	char log[256];
} daemon_child;

/* A decoded reply (body_len bytes of body, NUL-terminated; json parsed or NULL). */
typedef struct daemon_reply {
	int status;
	char *body;
	size_t body_len;
	cJSON *json;
	char headers[HD_ENVELOPE_MAX_HEADERS][2][512];
	size_t nheaders;
} daemon_reply;

/* Returns a free TCP port on 127.0.0.1, or -1. */
int daemon_child_free_port(void);

/* Sets environment variable name to fmt (one %d) with a free port, and
 * copies the value to out (out_len bytes) unless out is NULL. Returns the
 * port, or -1. */
int daemon_child_port_env(const char *name, const char *fmt, char *out, size_t out_len);

/* Fills c for binary name (e.g. "hd-ticket") from HD_TEST_BIN_DIR (default
 * ../../build/bin) with a fresh log /tmp/<name>-it-<pid>.log (truncated);
 * sets HD_STORAGE_DIR to /tmp/hd-test-attachments unless it is set. */
void daemon_child_init(daemon_child *c, const char *name);
/* Starts the binary with arg (NULL: serve); stdout goes to /dev/null and
 * stderr is appended to the log. Returns 0, or -1. */
int daemon_child_spawn(daemon_child *c, const char *arg);
/* Runs the binary with arg to its end; returns its exit code, or -1. */
int daemon_child_run(daemon_child *c, const char *arg);
/* True while the child runs (reaps it when it exited). */
bool daemon_child_alive(daemon_child *c);
/* Sends sig and waits; returns the wait status, or -1 when not running. */
int daemon_child_stop(daemon_child *c, int sig);
/* True when the log has no "Sanitizer" / "runtime error" line (hits are
 * printed to stderr). */
bool daemon_child_log_clean(const daemon_child *c);
/* Removes the log unless HD_TEST_KEEP_LOGS is set. */
void daemon_child_log_remove(const daemon_child *c);

/* One blocking call's state: the reply callback fills it and wakes the
 * caller. */
typedef struct daemon_call_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	hd_err err;
	char *raw;
	size_t len;
} daemon_call_wait;

static inline void daemon_call_wait_cb(hd_err err, char *raw, size_t len, void *arg)
{
	daemon_call_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	w->err = err;
	w->raw = raw;
	w->len = len;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Sends msg (len bytes, an encoded request envelope, kept by the caller)
 * over client and waits for the reply (at most timeout_ms). Returns HD_OK
 * with the raw reply in *raw / *raw_len (free with hd_rpc_free), or the
 * transport error. Any thread. */
static inline hd_err daemon_child_call_raw(
    hd_rpc_client *client, const char *msg, size_t len, int timeout_ms, char **raw, size_t *raw_len)
{
	daemon_call_wait w = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	hd_err err = hd_rpc_client_call(client, msg, len, timeout_ms, daemon_call_wait_cb, &w);

	*raw = NULL;
	*raw_len = 0;
	if (err != HD_OK)
		return err;
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	if (w.err == HD_OK) {
		*raw = w.raw;
		*raw_len = w.len;
	}
	return w.err;
}

/* Sends e over client and waits for the reply (at most timeout_ms). Returns
 * HD_OK with *out filled (free with daemon_reply_free), or the transport
 * error of hd_rpc_client_call. Any thread. */
hd_err daemon_child_call(
    hd_rpc_client *client, const hd_envelope *e, int timeout_ms, daemon_reply *out);
/* The value of header name (case-insensitive), or NULL. */
const char *daemon_reply_header(const daemon_reply *r, const char *name);
void daemon_reply_free(daemon_reply *r);

#endif
