/* The self-probe watchdog of a daemon's RPC listener (rpc_watchdog.h).
 *
 * Why: NNG 1.5.2 reads a failure of a connection that is still negotiating
 * (a client that vanished mid-handshake: a write's EPIPE turns into
 * NNG_ECLOSED) as "this listener was closed" and never accepts again; the
 * pipes it has keep working, so the daemon looks alive while every fresh
 * client (a restarted gateway, a new replica's dialer) is connected by the
 * kernel and never answered (docs/architecture.md, "A peer's close must
 * never read as closed"; fixed upstream in NNG 1.6.0). Nothing inside the
 * process sees it happen, so the watchdog looks from outside: a thread
 * that dials the listener like a fresh client, on a socket of its own, and
 * counts a probe as good once the listened socket took a new pipe (TCP
 * accept, TLS handshake with this process's certificate, SP header, and the
 * socket's own accept, which is what stops): the listener's whole accept
 * path, and nothing that a busy server could delay (no request waits for a
 * free context). After HD_RPC_PROBE_FAILURES bad probes in a row it closes
 * the listener (and the pipes it made) and listens again on the same
 * address; while that fails the daemon answers /readyz 503. */
#include "rpc_watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/tls.h"
#include "nng_close.h"

#define WATCHDOG_POLL_MS 10

struct hd_rpc_watchdog {
	char probe_url[256];
	int (*open)(nng_socket *);
	const atomic_uint *accepted; /* pipes the listened socket took */
	hd_rpc_watchdog_relisten_fn relisten;
	void *arg;
	long interval_ms, timeout_ms, failures_max;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC: stop, or a probe's pipe came */
	bool stopping;
	atomic_bool listening;
};

/* ---- addresses ---- */

typedef struct url_parts {
	const char *scheme_end; /* points at "://" */
	const char *host; /* after "://" */
	size_t host_len;
	const char *port; /* after the last ':' of the authority */
} url_parts;

typedef enum url_kind { URL_BAD, URL_OTHER, URL_TCP } url_kind;

/* Splits a tcp:// or tls+tcp:// url (URL_TCP; URL_BAD without a port);
 * URL_OTHER for other schemes (ipc://, inproc://). */
static url_kind url_split(const char *url, url_parts *p)
{
	const char *sep = strstr(url, "://");
	if (sep == NULL)
		return URL_BAD;
	size_t scheme_len = (size_t)(sep - url);
	if (!(scheme_len == 3 && strncmp(url, "tcp", 3) == 0)
	    && !(scheme_len == 7 && strncmp(url, "tls+tcp", 7) == 0))
		return URL_OTHER;
	p->scheme_end = sep;
	p->host = sep + 3;
	const char *colon = strrchr(p->host, ':');
	const char *bracket = strchr(p->host, ']');
	if (colon == NULL || (bracket != NULL && colon < bracket))
		return URL_BAD;
	p->host_len = (size_t)(colon - p->host);
	p->port = colon + 1;
	return URL_TCP;
}

/* Copies url as it is. */
static bool url_copy(const char *url, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s", url);
	return n > 0 && (size_t)n < cap;
}

static bool host_is_wildcard(const char *host, size_t len)
{
	static const char *const any[] = { "", "*", "0.0.0.0", "[::]" };
	for (size_t i = 0; i < sizeof any / sizeof any[0]; i++)
		if (len == strlen(any[i]) && strncmp(host, any[i], len) == 0)
			return true;
	return false;
}

/* Writes scheme://host:port (port 0: url's own) into out. */
static bool url_join(const char *url, const url_parts *p, const char *host, size_t host_len,
    int port, char *out, size_t cap)
{
	int n = port > 0 ? snprintf(out, cap, "%.*s://%.*s:%d", (int)(p->scheme_end - url), url,
	            (int)host_len, host, port)
	                 : snprintf(out, cap, "%.*s://%.*s:%s", (int)(p->scheme_end - url), url,
	                     (int)host_len, host, p->port);
	return n > 0 && (size_t)n < cap;
}

bool hd__rpc_watchdog_bound_url(const char *url, int port, char *out, size_t cap)
{
	url_parts p;
	url_kind kind = url != NULL ? url_split(url, &p) : URL_BAD;
	if (kind != URL_TCP)
		return kind == URL_OTHER && url_copy(url, out, cap);
	return url_join(url, &p, p.host, p.host_len, port, out, cap);
}

bool hd__rpc_watchdog_probe_url(const char *url, int port, char *out, size_t cap)
{
	url_parts p;
	url_kind kind = url != NULL ? url_split(url, &p) : URL_BAD;
	if (kind != URL_TCP)
		return kind == URL_OTHER && url_copy(url, out, cap);
	if (!host_is_wildcard(p.host, p.host_len))
		return url_join(url, &p, p.host, p.host_len, port, out, cap);
	const char *loopback
	    = p.host_len == 4 && strncmp(p.host, "[::]", 4) == 0 ? "[::1]" : "127.0.0.1";
	return url_join(url, &p, loopback, strlen(loopback), port, out, cap);
}

/* ---- probing ---- */

static struct timespec watchdog_deadline(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Waits until the listened socket took a pipe after `before`, a stop, or
 * timeout_ms; looks every WATCHDOG_POLL_MS. */
static bool watchdog_wait_accept(hd_rpc_watchdog *w, unsigned before)
{
	struct timespec until = watchdog_deadline(w->timeout_ms);
	bool accepted = false;
	pthread_mutex_lock(&w->mu);
	while (!(accepted = atomic_load(w->accepted) != before) && !w->stopping) {
		struct timespec tick = watchdog_deadline(WATCHDOG_POLL_MS);
		bool last = tick.tv_sec > until.tv_sec
		    || (tick.tv_sec == until.tv_sec && tick.tv_nsec >= until.tv_nsec);
		pthread_cond_timedwait(&w->cv, &w->mu, last ? &until : &tick);
		if (last) {
			accepted = atomic_load(w->accepted) != before;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return accepted;
}

/* One probe: a fresh socket dials the listener; true when the listened
 * socket took a pipe (this one, or any other client's) in time. The
 * prober's own pipe is no proof: NNG's transport finishes the SP header
 * with a client even when the socket above no longer accepts, and such a
 * client then waits for answers forever. */
static bool watchdog_probe(hd_rpc_watchdog *w)
{
	nng_socket sock;
	int rv = w->open(&sock);
	if (rv != 0) {
		hd_log_warn("rpc watchdog: cannot open a probe socket: %s", nng_strerror(rv));
		return false;
	}
	unsigned before = atomic_load(w->accepted);
	bool accepted = false;
	rv = hd_tls_dial(sock, w->probe_url, NULL, NULL);
	if (rv == 0)
		accepted = watchdog_wait_accept(w, before);
	else
		hd_log_warn("rpc watchdog: cannot dial %s: %s", w->probe_url, nng_strerror(rv));
	hd_nng_close_bounded(sock);
	return accepted;
}

/* After failures_max bad probes: makes the listener again. */
static void watchdog_restart(hd_rpc_watchdog *w, long failures)
{
	hd_log_warn("rpc watchdog: %ld probes of %s in a row got no connection; making the "
	            "listener again (NNG 1.5.2 stops accepting after a client vanishes "
	            "mid-negotiation; docs/operations.md, RPC listener watchdog)",
	    failures, w->probe_url);
	int rv = w->relisten(w->arg);
	if (rv != 0) {
		hd_log_error("rpc watchdog: listening again on %s failed: %s; /readyz is 503 "
		             "until it works",
		    w->probe_url, nng_strerror(rv));
		atomic_store(&w->listening, false);
		return;
	}
	hd_metrics_add("hd_rpc_listener_restarts_total", NULL, 1);
	atomic_store(&w->listening, true);
}

/* Sleeps interval_ms unless stopped; false once stopping. */
static bool watchdog_sleep(hd_rpc_watchdog *w)
{
	struct timespec until = watchdog_deadline(w->interval_ms);
	pthread_mutex_lock(&w->mu);
	while (!w->stopping && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0) { }
	bool go_on = !w->stopping;
	pthread_mutex_unlock(&w->mu);
	return go_on;
}

static void *watchdog_main(void *arg)
{
	hd_rpc_watchdog *w = arg;
	long failures = 0;
	while (watchdog_sleep(w)) {
		if (watchdog_probe(w)) {
			failures = 0;
			continue;
		}
		if (hd_nng_wedged())
			break; /* NNG's core is stuck: nothing to probe with */
		hd_metrics_add("hd_rpc_listener_probe_failures_total", NULL, 1);
		if (++failures < w->failures_max)
			continue;
		watchdog_restart(w, failures);
		failures = 0;
	}
	return NULL;
}

/* ---- lifecycle ---- */

static hd_err watchdog_settings(hd_rpc_watchdog *w)
{
	w->interval_ms = 5000;
	w->timeout_ms = 2000;
	w->failures_max = 3;
	if (hd_config_int("HD_RPC_PROBE_MS", 0, 3600000, &w->interval_ms) != HD_OK
	    || hd_config_int("HD_RPC_PROBE_TIMEOUT_MS", 10, 60000, &w->timeout_ms) != HD_OK
	    || hd_config_int("HD_RPC_PROBE_FAILURES", 1, 100, &w->failures_max) != HD_OK)
		return HD_ERR_INVALID;
	return HD_OK;
}

static void watchdog_free(hd_rpc_watchdog *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static hd_err watchdog_sync_init(hd_rpc_watchdog *w)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return HD_ERR_NOMEM;
	int rv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rv == 0)
		rv = pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (rv != 0)
		return HD_ERR_NOMEM;
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		pthread_cond_destroy(&w->cv);
		return HD_ERR_NOMEM;
	}
	return HD_OK;
}

hd_err hd__rpc_watchdog_start(hd_rpc_watchdog **out, const char *probe_url,
    int (*open)(nng_socket *), const atomic_uint *accepted, hd_rpc_watchdog_relisten_fn relisten,
    void *arg)
{
	*out = NULL;
	hd_rpc_watchdog *w = calloc(1, sizeof *w);
	if (w == NULL)
		return HD_ERR_NOMEM;
	hd_err err = watchdog_settings(w);
	int n = snprintf(w->probe_url, sizeof w->probe_url, "%s", probe_url);
	bool off = err == HD_OK && w->interval_ms == 0;
	if (err == HD_OK && (n <= 0 || (size_t)n >= sizeof w->probe_url))
		err = HD_ERR_INVALID;
	if (err != HD_OK || off) {
		free(w);
		return err;
	}
	if (watchdog_sync_init(w) != HD_OK) {
		free(w);
		return HD_ERR_NOMEM;
	}
	w->open = open;
	w->accepted = accepted;
	w->relisten = relisten;
	w->arg = arg;
	atomic_init(&w->listening, true);
	hd_metrics_describe("hd_rpc_listener_restarts_total", "counter",
	    "times the RPC listener was made again after its self-probes failed "
	    "(docs/operations.md, RPC listener watchdog)");
	hd_metrics_describe("hd_rpc_listener_probe_failures_total", "counter",
	    "self-probes of the RPC listener that got no connection in time");
	if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
		watchdog_free(w);
		return HD_ERR_NOMEM;
	}
	*out = w;
	return HD_OK;
}

void hd__rpc_watchdog_stop(hd_rpc_watchdog *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	watchdog_free(w);
}

bool hd__rpc_watchdog_listening(const hd_rpc_watchdog *w)
{
	return w == NULL || atomic_load(&((hd_rpc_watchdog *)w)->listening);
}

/* ---- a listener made again ---- */

int hd__rpc_listener_open(hd_rpc_listener *l, nng_socket sock, const char *url, const char *allowed)
{
	l->sock = sock;
	l->allowed = allowed;
	int rv = hd_tls_listen(sock, url, allowed, &l->listener);
	if (rv != 0)
		return rv;
	int port = 0; /* an ipc:// listener has none */
	(void)nng_listener_get_int(l->listener, NNG_OPT_TCP_BOUND_PORT, &port);
	if (!hd__rpc_watchdog_bound_url(url, port, l->url, sizeof l->url)) {
		nng_listener_close(l->listener);
		return NNG_EINVAL;
	}
	return 0;
}

/* The watchdog's remedy: closes the listener that stopped accepting (and
 * the pipes it made: their peers dial again) and listens again where it did. */
static int rpc_listener_reopen(void *arg)
{
	hd_rpc_listener *l = arg;
	nng_listener_close(l->listener);
	return hd_tls_listen(l->sock, l->url, l->allowed, &l->listener);
}

hd_err hd__rpc_listener_watch(hd_rpc_listener *l, hd_rpc_watchdog **out, int (*open)(nng_socket *),
    const atomic_uint *accepted)
{
	char probe[256];
	*out = NULL;
	if (!hd__rpc_watchdog_probe_url(l->url, 0, probe, sizeof probe))
		return HD_ERR_INVALID;
	return hd__rpc_watchdog_start(out, probe, open, accepted, rpc_listener_reopen, l);
}

void hd__rpc_listener_close(hd_rpc_listener *l)
{
	nng_listener_close(l->listener);
}
