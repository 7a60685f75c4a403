/* The event bus over NNG pub/sub. The forwarder is a raw SUB socket that
 * publishers dial and a raw PUB socket that subscribers dial, joined by a
 * receive-send loop in its own thread (it ends when the sockets close),
 * which counts what it forwarded and what it dropped for want of a
 * subscriber; hd_bus_forwarder_running() says whether the loop still runs
 * (hd-bus's /healthz, docs/operations.md "The bus").
 * Publishers send "type\0json" without blocking; subscribers filter by topic
 * prefix in NNG and receive on one aio loop. Delivery is best effort: a slow
 * subscriber loses messages silently, so consumers rely on the outbox seq and
 * events.since to catch up (proto/README.md). */
#include "hd/bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>

#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/tls.h"
#include "nng_close.h"
#include "rpc_watchdog.h"

#define BUS_MAX_TYPE 64
#define BUS_HEADROOM 1024
/* Queue depth (messages) per pipe: bursts up to this size are not dropped. */
#define BUS_QUEUE 1024
/* The name the forwarder's certificate carries (hd/tls.h). */
#define BUS_PEER "hd-bus"

/* Largest event accepted: the body limit plus the topic. */
static size_t bus_max_msg(void)
{
	long body = 1048576;
	if (hd_config_int("HD_MAX_BODY_BYTES", 1, 1L << 30, &body) != HD_OK)
		body = 1048576;
	return (size_t)body + BUS_HEADROOM;
}

/* ---- forwarder ---- */

/* The pipes of one socket: connected now, and taken in all (the proof its
 * listener's watchdog looks for, rpc_watchdog.h). */
typedef struct bus_pipes {
	atomic_int live;
	atomic_uint added;
} bus_pipes;

/* One listening side of the forwarder, watched like a daemon's RPC listener
 * (NNG 1.5.2 can stop it for good: docs/operations.md, RPC listener watchdog). */
typedef struct bus_side {
	nng_socket sock;
	hd_rpc_listener listener;
	hd_rpc_watchdog *watchdog;
	bus_pipes pipes;
} bus_side;

struct hd_bus_forwarder {
	bus_side in; /* raw SUB: publishers dial it */
	bus_side out; /* raw PUB: subscribers dial it */
	pthread_t thread;
	atomic_bool running; /* the forwarding loop has not ended */
};

/* Counts the pipes of a socket in *arg (bus_pipes) as they come and go. */
static void bus_pipe_count_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	bus_pipes *p = arg;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&p->live, 1);
		atomic_fetch_add(&p->added, 1);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&p->live, 1);
	}
}

static int bus_pipe_count(nng_socket sock, bus_pipes *p)
{
	int rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, bus_pipe_count_cb, p);
	return rv != 0 ? rv : nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, bus_pipe_count_cb, p);
}

/* Listens on url (every component of HD_TLS_BUS_PEERS), watched by a
 * watchdog that dials with protocol probe. */
static int bus_side_listen(bus_side *s, const char *url, int (*probe)(nng_socket *))
{
	int rv = hd__rpc_listener_open(&s->listener, s->sock, url, hd_tls_bus_peers());
	if (rv != 0)
		return rv;
	if (hd__rpc_listener_watch(&s->listener, &s->watchdog, probe, &s->pipes.added) != HD_OK) {
		hd__rpc_listener_close(&s->listener);
		return NNG_EINVAL;
	}
	return 0;
}

/* Hands one message from the publishers' side to the subscribers'; returns
 * NNG's error when the forwarder must stop. */
static int bus_forward_one(hd_bus_forwarder *f)
{
	nng_msg *msg = NULL;
	int rv = nng_recvmsg(f->in.sock, &msg, 0);
	if (rv != 0)
		return rv;
	if (atomic_load(&f->out.pipes.live) <= 0) {
		nng_msg_free(msg); /* PUB would drop it silently */
		hd_metrics_add("hd_bus_dropped_total", "reason=\"no_subscriber\"", 1);
		return 0;
	}
	if ((rv = nng_sendmsg(f->out.sock, msg, 0)) != 0) {
		nng_msg_free(msg); /* still ours when the send failed */
		hd_metrics_add("hd_bus_dropped_total", "reason=\"send_failed\"", 1);
		return rv == NNG_ECLOSED ? rv : 0;
	}
	hd_metrics_add("hd_bus_forwarded_total", NULL, 1);
	return 0;
}

static void *bus_forwarder_main(void *arg)
{
	hd_bus_forwarder *f = arg;
	int rv;
	while ((rv = bus_forward_one(f)) == 0)
		;
	if (rv != NNG_ECLOSED)
		hd_log_error("bus: forwarder stopped: %s", nng_strerror(rv));
	atomic_store(&f->running, false);
	return NULL;
}

bool hd_bus_forwarder_running(const hd_bus_forwarder *f)
{
	return f != NULL && atomic_load(&((hd_bus_forwarder *)f)->running);
}

bool hd_bus_forwarder_listening(const hd_bus_forwarder *f)
{
	return f != NULL && hd__rpc_watchdog_listening(f->in.watchdog)
	    && hd__rpc_watchdog_listening(f->out.watchdog);
}

static void bus_forwarder_metrics(void)
{
	hd_metrics_describe("hd_bus_forwarded_total", "counter",
	    "Events the forwarder passed from publishers to subscribers");
	hd_metrics_describe("hd_bus_dropped_total", "counter",
	    "Events the forwarder dropped: no subscriber connected, or the send failed");
}

hd_err hd_bus_forwarder_start(hd_bus_forwarder **out, const char *sub_url, const char *pub_url)
{
	if (sub_url == NULL || pub_url == NULL || *sub_url == '\0' || *pub_url == '\0')
		return HD_ERR_INVALID;
	hd_bus_forwarder *f = calloc(1, sizeof *f);
	if (f == NULL)
		return HD_ERR_NOMEM;
	int rv;
	const char *op = "nng_sub0_open_raw";
	if ((rv = nng_sub0_open_raw(&f->in.sock)) != 0)
		goto fail;
	op = "nng_pub0_open_raw";
	if ((rv = nng_pub0_open_raw(&f->out.sock)) != 0)
		goto fail_in;
	op = "socket options";
	if ((rv = bus_pipe_count(f->in.sock, &f->in.pipes)) != 0
	    || (rv = bus_pipe_count(f->out.sock, &f->out.pipes)) != 0
	    || (rv = nng_socket_set_size(f->in.sock, NNG_OPT_RECVMAXSZ, bus_max_msg())) != 0
	    || (rv = nng_socket_set_int(f->in.sock, NNG_OPT_RECVBUF, BUS_QUEUE)) != 0
	    || (rv = nng_socket_set_int(f->out.sock, NNG_OPT_SENDBUF, BUS_QUEUE)) != 0)
		goto fail_out;
	op = sub_url;
	if ((rv = bus_side_listen(&f->in, sub_url, nng_pub0_open)) != 0)
		goto fail_out;
	op = pub_url;
	if ((rv = bus_side_listen(&f->out, pub_url, nng_sub0_open)) != 0)
		goto fail_out;
	bus_forwarder_metrics();
	atomic_store(&f->running, true);
	op = "pthread_create";
	if ((rv = pthread_create(&f->thread, NULL, bus_forwarder_main, f)) != 0)
		goto fail_out;
	*out = f;
	return HD_OK;
fail_out:
	hd__rpc_watchdog_stop(f->in.watchdog);
	hd__rpc_watchdog_stop(f->out.watchdog);
	nng_close(f->out.sock);
fail_in:
	nng_close(f->in.sock);
fail:
	hd_log_error("bus: forwarder start failed at %s: %s", op,
	    rv > 0 && rv < 1000 ? nng_strerror(rv) : "error");
	free(f);
	return rv == NNG_EADDRINUSE ? HD_ERR_UNAVAILABLE : HD_ERR_IO;
}

void hd_bus_forwarder_stop(hd_bus_forwarder *f)
{
	if (f == NULL)
		return;
	hd__rpc_watchdog_stop(f->in.watchdog);
	hd__rpc_watchdog_stop(f->out.watchdog);
	nng_close(f->in.sock);
	nng_close(f->out.sock);
	pthread_join(f->thread, NULL);
	free(f);
}

/* ---- publisher ---- */

struct hd_bus_pub {
	nng_socket sock;
	bus_pipes peers; /* connected forwarders (0 or 1) */
};

/* Dials url without blocking, reconnecting quickly while the peer is away. */
static hd_err bus_dial(nng_socket sock, const char *url)
{
	int rv;
	if ((rv = nng_socket_set_ms(sock, NNG_OPT_RECONNMINT, 50)) != 0
	    || (rv = nng_socket_set_ms(sock, NNG_OPT_RECONNMAXT, 1000)) != 0
	    || (rv = hd_tls_dial(sock, url, BUS_PEER, NULL)) != 0) {
		hd_log_error("bus: cannot dial %s: %s", url, nng_strerror(rv));
		return HD_ERR_INVALID;
	}
	return HD_OK;
}

/* Counts one event of type in metric name (docs/openapi.yaml: bus events published and
 * consumed). The label is the type when it is a plain event name
 * ([a-z0-9._], as events.def has them), else "other", so a stray message
 * cannot break the metrics text or mint unbounded series. */
static void bus_count(const char *name, const char *type, size_t len)
{
	char labels[BUS_MAX_TYPE + 16];
	bool plain = len > 0 && len <= BUS_MAX_TYPE;
	for (size_t i = 0; plain && i < len; i++)
		plain = (type[i] >= 'a' && type[i] <= 'z') || (type[i] >= '0' && type[i] <= '9')
		    || type[i] == '.' || type[i] == '_';
	snprintf(
	    labels, sizeof labels, "type=\"%.*s\"", plain ? (int)len : 5, plain ? type : "other");
	hd_metrics_add(name, labels, 1);
}

hd_err hd_bus_pub_open(hd_bus_pub **out, const char *url)
{
	if (url == NULL || *url == '\0')
		return HD_ERR_INVALID;
	hd_bus_pub *p = calloc(1, sizeof *p);
	if (p == NULL)
		return HD_ERR_NOMEM;
	hd_metrics_describe(
	    "hd_bus_events_published_total", "counter", "Events handed to the bus, by type");
	hd_metrics_describe("hd_bus_publish_failures_total", "counter",
	    "Events the bus did not take (no forwarder, queue full), by type");
	hd_metrics_describe("hd_bus_publish_unconnected_total", "counter",
	    "Events published while no forwarder was connected (NNG drops them), by type");
	if (nng_pub0_open(&p->sock) != 0) {
		free(p);
		return HD_ERR_IO;
	}
	hd_err err = HD_ERR_IO;
	if (nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, BUS_QUEUE) == 0
	    && bus_pipe_count(p->sock, &p->peers) == 0)
		err = bus_dial(p->sock, url);
	if (err != HD_OK) {
		nng_close(p->sock);
		free(p);
		return err;
	}
	*out = p;
	return HD_OK;
}

void hd_bus_pub_close(hd_bus_pub *p)
{
	if (p == NULL)
		return;
	if (hd_nng_close(p->sock))
		free(p);
}

hd_err hd_bus_publish(hd_bus_pub *p, const char *type, const char *json, size_t len)
{
	size_t tl = type != NULL ? strnlen(type, BUS_MAX_TYPE + 1) : 0;
	if (p == NULL || tl == 0 || tl > BUS_MAX_TYPE || (json == NULL && len > 0))
		return HD_ERR_INVALID;
	if (len + tl + 1 > bus_max_msg())
		return HD_ERR_TOO_LARGE;
	nng_msg *msg = NULL;
	if (nng_msg_alloc(&msg, 0) != 0)
		return HD_ERR_NOMEM;
	if (nng_msg_append(msg, type, tl + 1) != 0 || nng_msg_append(msg, json, len) != 0) {
		nng_msg_free(msg);
		return HD_ERR_NOMEM;
	}
	int rv = nng_sendmsg(p->sock, msg, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		nng_msg_free(msg); /* still ours when the send failed */
		bus_count("hd_bus_publish_failures_total", type, tl);
		return rv == NNG_ECLOSED ? HD_ERR_CLOSED : HD_ERR_UNAVAILABLE;
	}
	bus_count("hd_bus_events_published_total", type, tl);
	if (atomic_load(&p->peers.live) <= 0) /* sent into the void: the outbox replays it */
		bus_count("hd_bus_publish_unconnected_total", type, tl);
	return HD_OK;
}

/* ---- subscriber ---- */

struct hd_bus_sub {
	nng_socket sock;
	nng_aio *aio;
	hd_bus_event_cb cb;
	void *arg;
};

/* Splits "type\0json" and hands it to the callback; drops malformed ones. */
static void bus_sub_deliver(hd_bus_sub *s, nng_msg *msg)
{
	/* a NUL after the JSON lets callbacks treat it as a C string */
	if (nng_msg_append(msg, "", 1) != 0)
		return;
	const char *body = nng_msg_body(msg);
	size_t len = nng_msg_len(msg) - 1;
	const char *nul = memchr(body, '\0', len);
	if (nul == NULL || nul == body || (size_t)(nul - body) > BUS_MAX_TYPE) {
		hd_log_warn("bus: dropped a message without a valid topic");
		return;
	}
	size_t off = (size_t)(nul - body) + 1;
	bus_count("hd_bus_events_consumed_total", body, off - 1);
	s->cb(body, body + off, len - off, s->arg);
}

static void bus_sub_cb(void *arg)
{
	hd_bus_sub *s = arg;
	int rv = nng_aio_result(s->aio);
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv == 0) {
		nng_msg *msg = nng_aio_get_msg(s->aio);
		nng_aio_set_msg(s->aio, NULL);
		bus_sub_deliver(s, msg);
		nng_msg_free(msg);
	} else {
		hd_log_warn("bus: receive failed: %s", nng_strerror(rv));
	}
	nng_recv_aio(s->sock, s->aio);
}

/* Subscribes to each comma-separated prefix ("" or an empty list: all). */
static hd_err bus_sub_subscribe(nng_socket sock, const char *prefixes)
{
	const char *p = prefixes != NULL ? prefixes : "";
	bool any = false;
	do {
		size_t n = strcspn(p, ",");
		if (n > 0 || !any) {
			if (n > BUS_MAX_TYPE
			    || nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, p, n) != 0)
				return HD_ERR_INVALID;
			any = true;
		}
		p += n;
	} while (*p++ == ',');
	return HD_OK;
}

hd_err hd_bus_sub_open(
    hd_bus_sub **out, const char *url, const char *prefixes, hd_bus_event_cb cb, void *arg)
{
	if (url == NULL || *url == '\0' || cb == NULL)
		return HD_ERR_INVALID;
	hd_bus_sub *s = calloc(1, sizeof *s);
	if (s == NULL)
		return HD_ERR_NOMEM;
	s->cb = cb;
	s->arg = arg;
	hd_metrics_describe("hd_bus_events_consumed_total", "counter",
	    "Events received from the bus by this process's subscribers, by type");
	hd_err err = HD_ERR_IO;
	if (nng_sub0_open(&s->sock) != 0)
		goto fail;
	if (nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, bus_max_msg()) != 0
	    || nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, BUS_QUEUE) != 0)
		goto fail_sock;
	if ((err = bus_sub_subscribe(s->sock, prefixes)) != HD_OK)
		goto fail_sock;
	err = HD_ERR_NOMEM;
	if (nng_aio_alloc(&s->aio, bus_sub_cb, s) != 0)
		goto fail_sock;
	if ((err = bus_dial(s->sock, url)) != HD_OK)
		goto fail_aio;
	nng_recv_aio(s->sock, s->aio);
	*out = s;
	return HD_OK;
fail_aio:
	nng_aio_free(s->aio);
fail_sock:
	nng_close(s->sock);
fail:
	free(s);
	return err;
}

void hd_bus_sub_close(hd_bus_sub *s)
{
	/* once an NNG close hung (nng_close.h), stopping the aio would hang
	 * this process's exit too: left to the process exit, as the RPC
	 * client does (hd_rpc_client_close) */
	if (s == NULL || hd_nng_wedged())
		return;
	nng_aio_stop(s->aio);
	if (!hd_nng_close_bounded(s->sock))
		return; /* NNG is stuck: left to the process exit */
	nng_aio_free(s->aio);
	free(s);
}
