/* Request/reply over NNG between the gateway and the daemons: the client
 * half (the server is rpc.c).
 *
 * Client (REQ): one socket, one non-blocking dialer per address (per resolved
 * IP when the address names a host, re-resolved every HD_RPC_RESOLVE_MS for
 * Kubernetes headless services), resend disabled. Each call borrows a pooled
 * nng_ctx + nng_aio; pipe notifications keep a count of connected peers so a
 * call without any peer fails at once, and losing the last peer fails every
 * call in flight with HD_ERR_UNAVAILABLE instead of letting it hang.
 * Losing one replica: with resend disabled, NNG 1.5.2's REQ protocol keeps
 * each context on the list of the pipe its request went out on, and closing
 * that pipe fails those contexts (only those) with NNG_ECONNRESET, also when
 * the receive is posted after the close; that maps to HD_ERR_UNAVAILABLE, so
 * the gateway can retry idempotent calls on a replica still connected
 * (tests/unit/test_rpc.c: test_replica_loss_fails_only_its_calls). */
#include "hd/rpc.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "hd/config.h"
#include "hd/log.h"
#include "hd/batch.h"
#include "hd/tls.h"
#include "nng_close.h"
#include "rpc_client.h"

#define RPC_MAX_TARGETS 16
#define RPC_URL_MAX 300
#define RPC_PEER_MAX 64

typedef enum rpc_call_state { RPC_CALL_SEND, RPC_CALL_RECV } rpc_call_state;

/* One pooled request slot: a REQ context and its aio. */
typedef struct rpc_call {
	hd_rpc_client *c;
	nng_ctx ctx;
	nng_aio *aio;
	rpc_call_state state;
	bool busy;
	int64_t deadline_ms;
	hd_rpc_reply_cb cb; /* a copy of the reply (hd_rpc_client_call) */
	hd__rpc_msg_cb msg_cb; /* or the reply message itself (the batcher) */
	void *arg;
	struct rpc_call *next_free;
	struct rpc_call *next_all;
} rpc_call;

/* A dialer to one concrete address. */
typedef struct rpc_dialer {
	char url[RPC_URL_MAX];
	nng_dialer d;
	bool seen;
	struct rpc_dialer *next;
} rpc_dialer;

/* One configured address; named hosts are re-resolved into many dialers. */
typedef struct rpc_target {
	char url[RPC_URL_MAX];
	char host[256];
	char port[16];
	const char *scheme; /* "tcp://" or "tls+tcp://" (named targets) */
	bool named;
	rpc_dialer *dialers;
} rpc_target;

struct hd_rpc_client {
	nng_socket sock;
	char peer[RPC_PEER_MAX]; /* the name a tls+tcp:// server must carry; "": any */
	atomic_int npipes;
	pthread_mutex_t mu; /* guards the call pool and closing */
	pthread_cond_t cv;
	bool closing;
	rpc_call *free_calls;
	rpc_call *all_calls;
	rpc_target targets[RPC_MAX_TARGETS];
	int ntargets;
	bool resolver_running;
	pthread_t resolver;
	long resolve_ms;
};

static hd_err rpc_err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return HD_OK;
	case NNG_ETIMEDOUT:
		return HD_ERR_TIMEOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return HD_ERR_CLOSED;
	case NNG_ENOMEM:
		return HD_ERR_NOMEM;
	case NNG_EMSGSIZE:
		return HD_ERR_TOO_LARGE;
	default:
		return HD_ERR_UNAVAILABLE; /* connection reset, refused, aborted... */
	}
}

static void rpc_call_put(rpc_call *call)
{
	hd_rpc_client *c = call->c;
	pthread_mutex_lock(&c->mu);
	call->busy = false;
	call->cb = NULL;
	call->msg_cb = NULL;
	call->next_free = c->free_calls;
	c->free_calls = call;
	pthread_mutex_unlock(&c->mu);
}

/* Hands the outcome to the caller: the reply message as it is, or a
 * NUL-terminated copy (freed with hd_rpc_free). Takes msg. */
static void rpc_call_report(rpc_call *call, hd_err err, nng_msg *msg)
{
	if (call->msg_cb != NULL) {
		if (err != HD_OK || msg == NULL)
			call->msg_cb(err != HD_OK ? err : HD_ERR_NOMEM, NULL, NULL, 0, call->arg);
		else
			call->msg_cb(HD_OK, msg, nng_msg_body(msg), nng_msg_len(msg), call->arg);
		return;
	}
	if (err != HD_OK || msg == NULL) {
		call->cb(err != HD_OK ? err : HD_ERR_NOMEM, NULL, 0, call->arg);
		return;
	}
	size_t len = nng_msg_len(msg);
	char *raw = malloc(len + 1);
	if (raw == NULL) {
		nng_msg_free(msg);
		call->cb(HD_ERR_NOMEM, NULL, 0, call->arg);
		return;
	}
	memcpy(raw, nng_msg_body(msg), len);
	raw[len] = '\0';
	nng_msg_free(msg);
	call->cb(HD_OK, raw, len, call->arg);
}

/* Reports the outcome, then returns the slot to the pool. */
static void rpc_call_finish(rpc_call *call, hd_err err, nng_msg *msg)
{
	rpc_call_report(call, err, msg);
	rpc_call_put(call);
}

static void rpc_call_cb(void *arg)
{
	rpc_call *call = arg;
	int rv = nng_aio_result(call->aio);
	if (call->state == RPC_CALL_SEND) {
		if (rv != 0) {
			/* never sent and still no peer: a link that did not come up */
			bool no_link = rv == NNG_ETIMEDOUT && atomic_load(&call->c->npipes) <= 0;
			nng_msg_free(nng_aio_get_msg(call->aio));
			rpc_call_finish(
			    call, no_link ? HD_ERR_UNAVAILABLE : rpc_err_from_nng(rv), NULL);
			return;
		}
		int64_t left = call->deadline_ms - hd_now_ms();
		call->state = RPC_CALL_RECV;
		nng_aio_set_timeout(call->aio, (nng_duration)(left > 0 ? left : 1));
		nng_ctx_recv(call->ctx, call->aio);
		return;
	}
	if (rv != 0) {
		rpc_call_finish(call, rpc_err_from_nng(rv), NULL);
		return;
	}
	nng_msg *msg = nng_aio_get_msg(call->aio);
	nng_aio_set_msg(call->aio, NULL);
	rpc_call_finish(call, HD_OK, msg);
}

/* Takes a free slot or creates one; NULL on allocation failure or closing. */
static rpc_call *rpc_call_get(hd_rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	rpc_call *call = c->closing ? NULL : c->free_calls;
	if (call != NULL) {
		c->free_calls = call->next_free;
		call->busy = true;
	}
	bool closing = c->closing;
	pthread_mutex_unlock(&c->mu);
	if (call != NULL || closing)
		return call;
	call = calloc(1, sizeof *call);
	if (call == NULL)
		return NULL;
	call->c = c;
	if (nng_aio_alloc(&call->aio, rpc_call_cb, call) != 0)
		goto fail;
	if (nng_ctx_open(&call->ctx, c->sock) != 0)
		goto fail_aio;
	pthread_mutex_lock(&c->mu);
	call->busy = true;
	call->next_all = c->all_calls;
	c->all_calls = call;
	pthread_mutex_unlock(&c->mu);
	return call;
fail_aio:
	nng_aio_free(call->aio);
fail:
	free(call);
	return NULL;
}

/* Sends m (taken) on a pooled slot; the reply goes to cb or msg_cb. */
static hd_err rpc_client_send(hd_rpc_client *c, nng_msg *m, int timeout_ms, hd_rpc_reply_cb cb,
    hd__rpc_msg_cb msg_cb, void *arg)
{
	rpc_call *call = rpc_call_get(c);
	if (call == NULL) {
		nng_msg_free(m);
		return HD_ERR_NOMEM;
	}
	call->cb = cb;
	call->msg_cb = msg_cb;
	call->arg = arg;
	call->state = RPC_CALL_SEND;
	call->deadline_ms = hd_now_ms() + timeout_ms;
	nng_aio_set_msg(call->aio, m);
	nng_aio_set_timeout(call->aio, timeout_ms);
	nng_ctx_send(call->ctx, call->aio);
	return HD_OK;
}

/* A message holding msg's bytes (data, then tail), copied once; NULL on
 * allocation failure. */
static nng_msg *rpc_msg_of_part(const hd_batch_part *msg)
{
	nng_msg *m = NULL;
	if (nng_msg_alloc(&m, hd_batch_part_len(msg)) != 0)
		return NULL;
	hd_batch_part_write(msg, nng_msg_body(m));
	return m;
}

/* hd_rpc_client_call and hd_rpc_client_call_wait: without a peer, fails at
 * once unless wait_link (then REQ keeps the request until a pipe comes up
 * or the send times out, rpc_call_cb). */
static hd_err rpc_client_call_part(hd_rpc_client *c, const hd_batch_part *msg, int timeout_ms,
    bool wait_link, hd_rpc_reply_cb cb, void *arg)
{
	if (c == NULL || (msg->data == NULL && msg->len > 0)
	    || (msg->tail == NULL && msg->tail_len > 0) || timeout_ms <= 0 || cb == NULL)
		return HD_ERR_INVALID;
	if (!wait_link && atomic_load(&c->npipes) <= 0)
		return HD_ERR_UNAVAILABLE;
	nng_msg *m = rpc_msg_of_part(msg);
	if (m == NULL)
		return HD_ERR_NOMEM;
	return rpc_client_send(c, m, timeout_ms, cb, NULL, arg);
}

hd_err hd_rpc_client_call(
    hd_rpc_client *c, const char *msg, size_t len, int timeout_ms, hd_rpc_reply_cb cb, void *arg)
{
	hd_batch_part part = { .data = msg, .len = len };
	return rpc_client_call_part(c, &part, timeout_ms, false, cb, arg);
}

hd_err hd_rpc_client_call_wait(
    hd_rpc_client *c, const char *msg, size_t len, int timeout_ms, hd_rpc_reply_cb cb, void *arg)
{
	hd_batch_part part = { .data = msg, .len = len };
	return rpc_client_call_part(c, &part, timeout_ms, true, cb, arg);
}

hd_err hd_rpc_client_call_wait_part(
    hd_rpc_client *c, const hd_batch_part *msg, int timeout_ms, hd_rpc_reply_cb cb, void *arg)
{
	if (msg == NULL)
		return HD_ERR_INVALID;
	return rpc_client_call_part(c, msg, timeout_ms, true, cb, arg);
}

hd_err hd__rpc_client_call_parts(hd_rpc_client *c, const hd_batch_part *parts, size_t n, bool batch,
    int timeout_ms, hd__rpc_msg_cb cb, void *arg)
{
	if (c == NULL || parts == NULL || n == 0 || n > HD_BATCH_MAX || (n > 1 && !batch)
	    || timeout_ms <= 0 || cb == NULL)
		return HD_ERR_INVALID;
	if (atomic_load(&c->npipes) <= 0)
		return HD_ERR_UNAVAILABLE;
	size_t size = batch ? hd_batch_size(parts, n) : hd_batch_part_len(&parts[0]);
	if (batch && size == 0)
		return HD_ERR_INVALID;
	nng_msg *m = NULL;
	if (nng_msg_alloc(&m, size) != 0)
		return HD_ERR_NOMEM;
	if (batch)
		hd_batch_write(parts, n, nng_msg_body(m));
	else
		hd_batch_part_write(&parts[0], nng_msg_body(m));
	return rpc_client_send(c, m, timeout_ms, NULL, cb, arg);
}

void hd__rpc_msg_free(void *msg)
{
	nng_msg_free(msg);
}

void hd_rpc_free(char *raw)
{
	free(raw);
}

bool hd_rpc_client_connected(const hd_rpc_client *c)
{
	return c != NULL && atomic_load(&((hd_rpc_client *)c)->npipes) > 0;
}

/* Fails every call in flight: the last peer is gone and, with resend off,
 * its requests would otherwise wait for their deadline. */
static void rpc_client_abort_all(hd_rpc_client *c)
{
	pthread_mutex_lock(&c->mu);
	for (rpc_call *call = c->all_calls; call != NULL; call = call->next_all)
		if (call->busy)
			nng_aio_abort(call->aio, NNG_ECONNRESET);
	pthread_mutex_unlock(&c->mu);
}

static void rpc_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	hd_rpc_client *c = arg;
	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&c->npipes, 1);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		if (atomic_fetch_sub(&c->npipes, 1) == 1)
			rpc_client_abort_all(c);
	}
}

/* ---- addresses and name resolution ---- */

/* Splits "tcp://host:port" into t; named is true for a DNS name. */
static void rpc_target_parse(rpc_target *t)
{
	const char *rest = NULL;
	t->named = false;
	t->scheme = hd_tls_url(t->url) ? "tls+tcp://" : "tcp://";
	if (strncmp(t->url, t->scheme, strlen(t->scheme)) == 0)
		rest = t->url + strlen(t->scheme);
	if (rest == NULL || *rest == '[')
		return; /* other transports and IPv6 literals are dialed as given */
	const char *colon = strrchr(rest, ':');
	size_t hl = colon != NULL ? (size_t)(colon - rest) : 0;
	if (colon == NULL || hl == 0 || hl >= sizeof t->host || strlen(colon + 1) >= sizeof t->port)
		return;
	memcpy(t->host, rest, hl);
	t->host[hl] = '\0';
	snprintf(t->port, sizeof t->port, "%s", colon + 1);
	struct in_addr a4;
	t->named = inet_pton(AF_INET, t->host, &a4) != 1 && strcmp(t->host, "*") != 0;
}

static hd_err rpc_dialer_add(hd_rpc_client *c, rpc_dialer **list, const char *url)
{
	rpc_dialer *d = calloc(1, sizeof *d);
	if (d == NULL)
		return HD_ERR_NOMEM;
	snprintf(d->url, sizeof d->url, "%s", url);
	int rv = hd_tls_dial(c->sock, url, c->peer[0] != '\0' ? c->peer : NULL, &d->d);
	if (rv != 0) {
		hd_log_error("rpc: cannot dial %s: %s", url, nng_strerror(rv));
		free(d);
		return HD_ERR_INVALID;
	}
	d->seen = true;
	d->next = *list;
	*list = d;
	return HD_OK;
}

/* Formats one resolved address as a URL of scheme. */
static void rpc_addr_url(
    const struct addrinfo *ai, const char *scheme, const char *port, char *url, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (ai->ai_family == AF_INET) {
		inet_ntop(
		    AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof ip);
		snprintf(url, cap, "%s%s:%s", scheme, ip, port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip,
		    sizeof ip);
		snprintf(url, cap, "%s[%s]:%s", scheme, ip, port);
	}
}

/* Resolves t->host and makes its dialers match the addresses found. */
static void rpc_target_refresh(hd_rpc_client *c, rpc_target *t)
{
	struct addrinfo hints
	    = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0) {
		hd_log_warn("rpc: cannot resolve %s: %s", t->host, gai_strerror(rc));
		return; /* keep the dialers we have */
	}
	for (rpc_dialer *d = t->dialers; d != NULL; d = d->next)
		d->seen = false;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		char url[RPC_URL_MAX];
		rpc_addr_url(ai, t->scheme, t->port, url, sizeof url);
		rpc_dialer *d = t->dialers;
		while (d != NULL && strcmp(d->url, url) != 0)
			d = d->next;
		if (d != NULL)
			d->seen = true;
		else if (rpc_dialer_add(c, &t->dialers, url) == HD_OK)
			hd_log_info("rpc: %s resolved to new address %s", t->url, url);
	}
	freeaddrinfo(res);
	for (rpc_dialer **pp = &t->dialers; *pp != NULL;) {
		rpc_dialer *d = *pp;
		if (d->seen) {
			pp = &d->next;
			continue;
		}
		hd_log_info("rpc: %s no longer resolves to %s", t->url, d->url);
		nng_dialer_close(d->d);
		*pp = d->next;
		free(d);
	}
}

static void *rpc_resolver_main(void *arg)
{
	hd_rpc_client *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->closing) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += c->resolve_ms / 1000;
		ts.tv_nsec += (c->resolve_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		if (c->closing)
			break;
		pthread_mutex_unlock(&c->mu);
		for (int i = 0; i < c->ntargets; i++)
			if (c->targets[i].named)
				rpc_target_refresh(c, &c->targets[i]);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Parses the comma-separated list and dials every address. */
static hd_err rpc_client_dial_all(hd_rpc_client *c, const char *urls)
{
	const char *p = urls;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m > 0) {
			if (c->ntargets == RPC_MAX_TARGETS || m >= RPC_URL_MAX)
				return HD_ERR_INVALID;
			rpc_target *t = &c->targets[c->ntargets++];
			memcpy(t->url, p, m);
			t->url[m] = '\0';
			rpc_target_parse(t);
			if (t->named)
				rpc_target_refresh(c, t);
			else if (rpc_dialer_add(c, &t->dialers, t->url) != HD_OK)
				return HD_ERR_INVALID;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return c->ntargets > 0 ? HD_OK : HD_ERR_INVALID;
}

static hd_err rpc_client_socket(hd_rpc_client *c)
{
	int rv;
	if ((rv = nng_req0_open(&c->sock)) != 0)
		return HD_ERR_IO;
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0
	    || (rv = nng_socket_set_size(
	            c->sock, NNG_OPT_RECVMAXSZ, hd_rpc_max_message() * HD_BATCH_MAX))
	        != 0
	    || (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50)) != 0
	    || (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000)) != 0
	    || (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, rpc_pipe_cb, c)) != 0
	    || (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, rpc_pipe_cb, c)) != 0) {
		hd_log_error("rpc: client socket setup failed: %s", nng_strerror(rv));
		nng_close(c->sock);
		return HD_ERR_IO;
	}
	return HD_OK;
}

static bool rpc_client_has_names(const hd_rpc_client *c)
{
	for (int i = 0; i < c->ntargets; i++)
		if (c->targets[i].named)
			return true;
	return false;
}

hd_err hd_rpc_client_open(hd_rpc_client **out, const char *urls)
{
	return hd_rpc_client_open_peer(out, urls, NULL);
}

hd_err hd_rpc_client_open_peer(hd_rpc_client **out, const char *urls, const char *peer)
{
	if (urls == NULL || *urls == '\0' || (peer != NULL && strlen(peer) >= RPC_PEER_MAX))
		return HD_ERR_INVALID;
	hd_rpc_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return HD_ERR_NOMEM;
	snprintf(c->peer, sizeof c->peer, "%s", peer != NULL ? peer : "");
	atomic_init(&c->npipes, 0);
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (hd_config_int("HD_RPC_RESOLVE_MS", 100, 3600000, &c->resolve_ms) != HD_OK)
		c->resolve_ms = 5000;
	hd_err err = rpc_client_socket(c);
	if (err != HD_OK)
		goto fail;
	err = rpc_client_dial_all(c, urls);
	if (err != HD_OK)
		goto fail_dial;
	if (rpc_client_has_names(c)) {
		if (pthread_create(&c->resolver, NULL, rpc_resolver_main, c) != 0) {
			err = HD_ERR_NOMEM;
			goto fail_dial;
		}
		c->resolver_running = true;
	}
	*out = c;
	return HD_OK;
fail_dial:
	hd_rpc_client_close(c);
	return err;
fail:
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	return err;
}

void hd_rpc_client_close(hd_rpc_client *c)
{
	/* once an NNG close hung (nng_close.h), stopping its aios or closing
	 * would hang this process's exit too: left to the process exit */
	if (c == NULL || hd_nng_wedged())
		return;
	pthread_mutex_lock(&c->mu);
	c->closing = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->resolver_running)
		pthread_join(c->resolver, NULL);
	/* calls in flight complete with HD_ERR_CLOSED: through their callback
	 * (canceled), or here when nng_aio_stop made a restart fail silently */
	for (rpc_call *call = c->all_calls; call != NULL; call = call->next_all) {
		nng_aio_stop(call->aio);
		if (call->busy) {
			nng_msg_free(nng_aio_get_msg(call->aio));
			nng_aio_set_msg(call->aio, NULL);
			call->busy = false;
			rpc_call_report(call, HD_ERR_CLOSED, NULL);
		}
	}
	if (!hd_nng_close_bounded(c->sock))
		return; /* NNG is stuck: what it may still touch stays */
	for (rpc_call *call = c->all_calls, *next; call != NULL; call = next) {
		next = call->next_all;
		nng_aio_free(call->aio);
		free(call);
	}
	for (int i = 0; i < c->ntargets; i++) {
		for (rpc_dialer *d = c->targets[i].dialers, *next; d != NULL; d = next) {
			next = d->next;
			free(d);
		}
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
