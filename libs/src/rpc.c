/* Request/reply over NNG between the gateway and the daemons: the server
 * half (the client is rpc_client.c, batching on the client rpc_batch.c).
 *
 * Server (REP): nctx × (nng_ctx + nng_aio + state), as in NNG's demo/async.
 * A receive callback decodes the envelope and posts an hd_rpc_request to a
 * worker loop; the worker answers with hd_rpc_request_reply, which sends on
 * the same context, and the send completion re-arms the receive. A context is
 * busy until its reply is sent, so nctx bounds the requests in flight.
 * Malformed envelopes are answered at once with a 400 problem. A batch
 * (proto/README.md, Batches) runs on one worker and is answered in one
 * message. Stopping refuses new requests (503), drains, then tears NNG
 * down; a request whose worker answers after that only frees itself, and the
 * last one frees the server (so a slow handler never touches freed memory). */
#include "hd/rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/problem.h"
#include "hd/batch.h"
#include "hd/tls.h"
#include "nng_close.h"
#include "rpc_watchdog.h"

#define RPC_HEADROOM (64 * 1024)

/* Largest message accepted: the larger of the body limit and an attachment
 * (HD_MAX_UPLOAD_BYTES, as base64 in attachments.create: 4/3 of it), plus
 * room for the envelope header. */
static size_t rpc_max_msg(void)
{
	long body = 1048576, upload = 26214400;
	if (hd_config_int("HD_MAX_BODY_BYTES", 1, 1L << 30, &body) != HD_OK)
		body = 1048576;
	if (hd_config_int("HD_MAX_UPLOAD_BYTES", 1, 1L << 30, &upload) != HD_OK)
		upload = 26214400;
	upload = upload / 3 * 4 + 4;
	return (size_t)(upload > body ? upload : body) + RPC_HEADROOM;
}

/* ================================ server ================================ */

typedef enum rpc_ctx_state { RPC_CTX_RECV, RPC_CTX_SEND } rpc_ctx_state;

typedef struct rpc_ctx {
	hd_rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	rpc_ctx_state state;
} rpc_ctx;

struct hd_rpc_server {
	nng_socket sock;
	hd_rpc_listener listener; /* the watchdog, which stops first, makes it again */
	hd_rpc_watchdog *watchdog; /* NULL: HD_RPC_PROBE_MS=0 */
	atomic_uint pipes_added; /* pipes the socket took (the watchdog's proof) */
	rpc_ctx *ctxs;
	int nctx;
	hd_worker_pool *workers;
	hd_rpc_handler_cb handler;
	void *arg;
	atomic_bool stopping;
	atomic_int inflight;
	pthread_mutex_t mu; /* guards closed/torn_down against replies */
	bool closed; /* no more sends: NNG is being torn down */
	bool torn_down; /* NNG objects are gone; the last reply frees */
};

/* A batch received on one context (proto/README.md, Batches): its requests run on
 * one worker, their replies are kept in their slots until the last one, then
 * go back in one message. Only that worker touches it after the post. */
typedef struct rpc_batch {
	rpc_ctx *rc;
	nng_msg *msg; /* owns the bytes the requests' bodies point into */
	hd_worker *worker; /* runs every request of the batch */
	size_t n;
	size_t left; /* replies to come, plus one while the requests start */
	int counted; /* requests counted in srv->inflight */
	hd_rpc_request *req[HD_BATCH_MAX]; /* NULL: answered already (slot set) */
	char *slot[HD_BATCH_MAX]; /* encoded replies */
	size_t slot_len[HD_BATCH_MAX];
} rpc_batch;

struct hd_rpc_request {
	rpc_ctx *rc;
	nng_msg *msg; /* owns the bytes env.body points into; NULL in a batch */
	rpc_batch *batch; /* the batch it came in, or NULL */
	size_t slot; /* its place in the batch */
	hd_worker *worker;
	int64_t t0_ms;
	const char *op_label;
	hd_envelope env;
};

static void rpc_server_free(hd_rpc_server *srv);

static void rpc_ctx_arm(rpc_ctx *rc)
{
	rc->state = RPC_CTX_RECV;
	nng_ctx_recv(rc->ctx, rc->aio);
}

/* Sends msg (taken; NULL when it could not be built) on rc (rc must be
 * idle); without a message, re-arms the receive. */
static void rpc_ctx_send_msg(rpc_ctx *rc, nng_msg *msg)
{
	if (msg == NULL) {
		hd_log_error("rpc: cannot build the reply message");
		rpc_ctx_arm(rc);
		return;
	}
	nng_aio_set_msg(rc->aio, msg);
	rc->state = RPC_CTX_SEND;
	nng_ctx_send(rc->ctx, rc->aio);
}

/* A message holding len bytes of buf (copied); NULL on failure. */
static nng_msg *rpc_msg_of(const char *buf, size_t len)
{
	nng_msg *msg = NULL;
	if (buf == NULL || nng_msg_alloc(&msg, len) != 0)
		return NULL;
	memcpy(nng_msg_body(msg), buf, len);
	return msg;
}

static void rpc_ctx_send_bytes(rpc_ctx *rc, const char *buf, size_t len)
{
	rpc_ctx_send_msg(rc, rpc_msg_of(buf, len));
}

/* Encodes r into a malloc'ed buffer; NULL (logged) when it cannot. */
static char *rpc_reply_bytes(const hd_reply *r, size_t *len)
{
	char *buf = NULL;
	hd_err err = hd_reply_encode(r, &buf, len);
	if (err != HD_OK) {
		hd_log_error("rpc: cannot encode reply: %s", hd_strerror(err));
		*len = 0;
		return NULL;
	}
	return buf;
}

/* The NNG message of r: its encoded head, then its body copied once,
 * straight from the handler's buffer (a download is not copied twice);
 * NULL (logged) when it cannot be built. */
static nng_msg *rpc_reply_msg(const hd_reply *r)
{
	size_t head_len = 0;
	char *head = NULL;
	hd_err err = hd_reply_encode_head(r, &head, &head_len);
	if (err != HD_OK) {
		hd_log_error("rpc: cannot encode reply: %s", hd_strerror(err));
		return NULL;
	}
	hd_batch_part part = { .data = head,
		.len = head_len,
		.tail = r->body_len ? r->body : NULL,
		.tail_len = r->body_len };
	nng_msg *msg = NULL;
	if (nng_msg_alloc(&msg, hd_batch_part_len(&part)) == 0)
		hd_batch_part_write(&part, nng_msg_body(msg));
	free(head);
	return msg;
}

/* A problem reply made by this layer (bad envelope, shutting down). A
 * refusal while draining carries HD_REPLY_DRAINING_HEADER, so the caller knows
 * the request was not run and may send it to another replica. */
static char *rpc_problem_bytes(hd_rpc_server *srv, int status, const char *detail, size_t *len)
{
	hd_reply r = { .version = HD_ENVELOPE_VERSION, .status = status };
	if (atomic_load(&srv->stopping))
		hd_reply_add_header(&r, HD_REPLY_DRAINING_HEADER, "1");
	size_t body_len = 0;
	char *body = hd_problem_json(status, detail, NULL, NULL, &body_len);
	r.body = body;
	r.body_len = body != NULL ? body_len : 0;
	char *buf = rpc_reply_bytes(&r, len);
	free(body);
	return buf;
}

/* Answers directly from the NNG thread. */
static void rpc_ctx_reply_problem(rpc_ctx *rc, int status, const char *detail)
{
	size_t len = 0;
	char *buf = rpc_problem_bytes(rc->srv, status, detail, &len);
	rpc_ctx_send_bytes(rc, buf, len);
	free(buf);
}

/* Sends msg (taken) on rc unless NNG is being torn down, and releases `counted`
 * in-flight requests; after a stop, the last release frees the server, so
 * the caller must not touch srv afterwards. */
static void rpc_server_answer(hd_rpc_server *srv, rpc_ctx *rc, nng_msg *msg, int counted)
{
	pthread_mutex_lock(&srv->mu);
	if (!srv->closed)
		rpc_ctx_send_msg(rc, msg);
	else if (msg != NULL)
		nng_msg_free(msg);
	int left = atomic_fetch_sub(&srv->inflight, counted) - counted;
	bool last = srv->torn_down && left == 0;
	pthread_mutex_unlock(&srv->mu);
	if (last)
		rpc_server_free(srv);
}

static void rpc_request_run(void *arg)
{
	hd_rpc_request *req = arg;
	hd_rpc_server *srv = req->rc->srv;
	srv->handler(req, srv->arg);
}

/* Counts n requests in flight unless stopping; false when stopping. Under
 * the lock, so a stop either sees them in flight or they are refused. */
static bool rpc_server_enter(hd_rpc_server *srv, int n)
{
	pthread_mutex_lock(&srv->mu);
	bool stopping = atomic_load(&srv->stopping);
	if (!stopping)
		atomic_fetch_add(&srv->inflight, n);
	pthread_mutex_unlock(&srv->mu);
	return !stopping;
}

/* A request for env (decoded in place); NULL when the envelope is malformed. */
static hd_rpc_request *rpc_request_new(rpc_ctx *rc, const char *buf, size_t len, hd_worker *w)
{
	hd_rpc_request *req = calloc(1, sizeof *req);
	if (req == NULL)
		return NULL;
	if (hd_envelope_decode(buf, len, &req->env) != HD_OK) {
		free(req);
		return NULL;
	}
	req->rc = rc;
	req->t0_ms = hd_now_ms();
	req->op_label = "unknown";
	req->worker = w;
	return req;
}

static void rpc_ctx_dispatch_batch(rpc_ctx *rc, nng_msg *msg);

/* Turns a received message into a request on a worker (or a direct reply). */
static void rpc_ctx_dispatch(rpc_ctx *rc, nng_msg *msg)
{
	hd_rpc_server *srv = rc->srv;
	if (hd_batch_is(nng_msg_body(msg), nng_msg_len(msg))) {
		rpc_ctx_dispatch_batch(rc, msg);
		return;
	}
	hd_rpc_request *req = rpc_request_new(
	    rc, nng_msg_body(msg), nng_msg_len(msg), hd_worker_pool_next(srv->workers));
	if (req == NULL) {
		nng_msg_free(msg);
		rpc_ctx_reply_problem(rc, 400, "malformed request envelope");
		return;
	}
	if (!rpc_server_enter(srv, 1)) {
		free(req);
		nng_msg_free(msg);
		rpc_ctx_reply_problem(rc, 503, "the service is shutting down");
		return;
	}
	req->msg = msg;
	if (hd_worker_post(req->worker, rpc_request_run, req) != HD_OK) {
		atomic_fetch_sub(&srv->inflight, 1);
		nng_msg_free(msg);
		free(req);
		rpc_ctx_reply_problem(rc, 503, "no worker available");
	}
}

/* Drops one pending reply; the last sends the batch and frees it. */
static void rpc_batch_release(rpc_batch *b)
{
	if (--b->left > 0)
		return;
	hd_batch_part parts[HD_BATCH_MAX];
	for (size_t i = 0; i < b->n; i++)
		parts[i] = (hd_batch_part) { .data = b->slot[i],
			.len = b->slot[i] != NULL ? b->slot_len[i] : 0 };
	/* written straight into the message: a batch of list pages is large */
	size_t len = hd_batch_size(parts, b->n);
	nng_msg *msg = NULL;
	if (len == 0 || nng_msg_alloc(&msg, len) != 0)
		msg = NULL;
	else
		hd_batch_write(parts, b->n, nng_msg_body(msg));
	rpc_server_answer(b->rc->srv, b->rc, msg, b->counted);
	for (size_t i = 0; i < b->n; i++)
		free(b->slot[i]);
	nng_msg_free(b->msg);
	free(b);
}

/* Answers slot i with a problem made here. */
static void rpc_batch_refuse(rpc_batch *b, size_t i, int status, const char *detail)
{
	b->slot[i] = rpc_problem_bytes(b->rc->srv, status, detail, &b->slot_len[i]);
}

static void rpc_batch_run(void *arg)
{
	rpc_batch *b = arg;
	hd_rpc_server *srv = b->rc->srv;
	for (size_t i = 0; i < b->n; i++)
		if (b->req[i] != NULL)
			srv->handler(b->req[i], srv->arg); /* may answer (and free) at once */
	rpc_batch_release(b);
}

/* Decodes every request of the batch; those that cannot run are answered in
 * their slot. Returns how many will run. */
static size_t rpc_batch_prepare(rpc_batch *b, const hd_batch_part *parts, bool accepted)
{
	size_t runnable = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (!accepted) {
			rpc_batch_refuse(b, i, 503, "the service is shutting down");
			continue;
		}
		hd_rpc_request *req
		    = rpc_request_new(b->rc, parts[i].data, parts[i].len, b->worker);
		if (req == NULL) {
			rpc_batch_refuse(b, i, 400, "malformed request envelope");
			continue;
		}
		req->batch = b;
		req->slot = i;
		b->req[i] = req;
		runnable++;
	}
	return runnable;
}

/* A batch: every request goes to one worker in one post (one hand-off). */
static void rpc_ctx_dispatch_batch(rpc_ctx *rc, nng_msg *msg)
{
	hd_rpc_server *srv = rc->srv;
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	rpc_batch *b = NULL;
	if (hd_batch_decode(nng_msg_body(msg), nng_msg_len(msg), parts, HD_BATCH_MAX, &n) != HD_OK
	    || (b = calloc(1, sizeof *b)) == NULL) {
		nng_msg_free(msg);
		rpc_ctx_reply_problem(rc, 400, "malformed request batch");
		return;
	}
	hd_metrics_add("hd_rpc_batches_total", NULL, 1);
	hd_metrics_add("hd_rpc_batched_requests_total", NULL, (double)n);
	b->rc = rc;
	b->msg = msg;
	b->n = n;
	b->left = 1;
	b->worker = hd_worker_pool_next(srv->workers);
	bool accepted = rpc_server_enter(srv, (int)n);
	b->counted = accepted ? (int)n : 0;
	size_t runnable = rpc_batch_prepare(b, parts, accepted);
	if (runnable == 0) {
		rpc_batch_release(b);
		return;
	}
	b->left += runnable;
	if (hd_worker_post(b->worker, rpc_batch_run, b) == HD_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (b->req[i] == NULL)
			continue;
		free(b->req[i]);
		b->req[i] = NULL;
		rpc_batch_refuse(b, i, 503, "no worker available");
	}
	b->left = 1;
	rpc_batch_release(b);
}

static void rpc_ctx_cb(void *arg)
{
	rpc_ctx *rc = arg;
	int rv = nng_aio_result(rc->aio);
	bool stop = rv == NNG_ECLOSED || rv == NNG_ECANCELED;
	if (rc->state == RPC_CTX_SEND) {
		if (rv != 0) { /* the message is still ours */
			nng_msg_free(nng_aio_get_msg(rc->aio));
			nng_aio_set_msg(rc->aio, NULL);
		}
		if (!stop) /* while stopping, requests still arrive and get a 503 */
			rpc_ctx_arm(rc);
		return;
	}
	if (rv != 0) {
		if (!stop) {
			hd_log_warn("rpc: receive failed: %s", nng_strerror(rv));
			rpc_ctx_arm(rc);
		}
		return;
	}
	nng_msg *msg = nng_aio_get_msg(rc->aio);
	nng_aio_set_msg(rc->aio, NULL);
	rpc_ctx_dispatch(rc, msg);
}

static void rpc_server_free(hd_rpc_server *srv)
{
	pthread_mutex_destroy(&srv->mu);
	free(srv->ctxs);
	free(srv);
}

static void rpc_pipe_added_cb(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	(void)pipe;
	(void)ev;
	atomic_fetch_add(&((hd_rpc_server *)arg)->pipes_added, 1);
}

/* Opens the REP socket, its contexts and the listener. */
static hd_err rpc_server_open(hd_rpc_server *srv, const char *url)
{
	int rv;
	const char *op = "nng_rep0_open";
	if ((rv = nng_rep0_open(&srv->sock)) != 0)
		goto fail;
	op = "nng_pipe_notify";
	if ((rv = nng_pipe_notify(srv->sock, NNG_PIPE_EV_ADD_POST, rpc_pipe_added_cb, srv)) != 0)
		goto fail_sock;
	op = "recvmaxsz";
	if ((rv = nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, rpc_max_msg())) != 0)
		goto fail_sock;
	for (int i = 0; i < srv->nctx; i++) {
		rpc_ctx *rc = &srv->ctxs[i];
		rc->srv = srv;
		op = "nng_aio_alloc";
		if ((rv = nng_aio_alloc(&rc->aio, rpc_ctx_cb, rc)) != 0)
			goto fail_sock;
		op = "nng_ctx_open";
		if ((rv = nng_ctx_open(&rc->ctx, srv->sock)) != 0)
			goto fail_sock;
	}
	op = "nng_listen";
	if ((rv = hd__rpc_listener_open(&srv->listener, srv->sock, url, hd_tls_rpc_peers())) != 0)
		goto fail_sock;
	return HD_OK;
fail_sock:
	nng_close(srv->sock);
	for (int i = 0; i < srv->nctx; i++)
		nng_aio_free(srv->ctxs[i].aio); /* NULL ok */
fail:
	hd_log_error("rpc: %s on %s failed: %s", op, url, nng_strerror(rv));
	return rv == NNG_EADDRINUSE ? HD_ERR_UNAVAILABLE : HD_ERR_IO;
}

hd_err hd_rpc_server_start(hd_rpc_server **out, const char *url, int nctx, hd_worker_pool *workers,
    hd_rpc_handler_cb handler, void *arg)
{
	if (url == NULL || *url == '\0' || nctx < 1 || nctx > 4096 || workers == NULL
	    || handler == NULL)
		return HD_ERR_INVALID;
	hd_rpc_server *srv = calloc(1, sizeof *srv);
	if (srv == NULL)
		return HD_ERR_NOMEM;
	srv->ctxs = calloc((size_t)nctx, sizeof *srv->ctxs);
	if (srv->ctxs == NULL) {
		free(srv);
		return HD_ERR_NOMEM;
	}
	srv->nctx = nctx;
	srv->workers = workers;
	srv->handler = handler;
	srv->arg = arg;
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->pipes_added, 0);
	pthread_mutex_init(&srv->mu, NULL);
	hd_err err = rpc_server_open(srv, url);
	if (err != HD_OK) {
		rpc_server_free(srv);
		return err;
	}
	hd_metrics_describe(
	    "hd_rpc_requests_total", "counter", "RPC requests answered, by operation and status");
	hd_metrics_describe(
	    "hd_rpc_request_duration_seconds", "histogram", "RPC request latency in the daemon");
	hd_metrics_describe("hd_rpc_batches_total", "counter",
	    "NNG messages that carried a batch of requests (proto/README.md, Batches)");
	hd_metrics_describe(
	    "hd_rpc_batched_requests_total", "counter", "Requests that arrived in a batch");
	for (int i = 0; i < nctx; i++)
		rpc_ctx_arm(&srv->ctxs[i]);
	err = hd__rpc_listener_watch(
	    &srv->listener, &srv->watchdog, nng_req0_open, &srv->pipes_added);
	if (err != HD_OK) {
		hd_rpc_server_stop(srv, 0);
		return err;
	}
	*out = srv;
	return HD_OK;
}

bool hd_rpc_server_listening(const hd_rpc_server *srv)
{
	return srv == NULL || hd__rpc_watchdog_listening(srv->watchdog);
}

int hd_rpc_server_inflight(const hd_rpc_server *srv)
{
	return atomic_load(&((hd_rpc_server *)srv)->inflight);
}

void hd_rpc_server_stop(hd_rpc_server *srv, int drain_ms)
{
	if (srv == NULL)
		return;
	/* New requests get a 503 from now on. The listener stays open while
	 * draining: closing it would also close its pipes and lose the replies. */
	hd__rpc_watchdog_stop(srv->watchdog);
	srv->watchdog = NULL;
	pthread_mutex_lock(&srv->mu);
	atomic_store(&srv->stopping, true);
	pthread_mutex_unlock(&srv->mu);
	int64_t until = hd_now_ms() + (drain_ms > 0 ? drain_ms : 0);
	while (atomic_load(&srv->inflight) > 0 && hd_now_ms() < until)
		nanosleep(&(struct timespec) { .tv_nsec = 2000000 }, NULL);
	pthread_mutex_lock(&srv->mu);
	srv->closed = true;
	pthread_mutex_unlock(&srv->mu);
	/* Drained: the listener and its pipes go first, which aborts whatever is
	 * still queued on them, so no context waits on a pipe while the socket
	 * closes (NNG 1.5.2 can hang in nng_close otherwise). */
	hd__rpc_listener_close(&srv->listener);
	for (int i = 0; i < srv->nctx; i++) {
		/* a send started while stopping fails silently: the message is ours */
		nng_aio_stop(srv->ctxs[i].aio);
		nng_msg_free(nng_aio_get_msg(srv->ctxs[i].aio));
		nng_aio_set_msg(srv->ctxs[i].aio, NULL);
	}
	for (int i = 0; i < srv->nctx; i++)
		nng_ctx_close(srv->ctxs[i].ctx);
	if (!hd_nng_close_bounded(srv->sock)) {
		hd_log_warn("rpc: the socket did not close in time; left to the process exit");
		return; /* NNG may still touch the contexts: free nothing */
	}
	for (int i = 0; i < srv->nctx; i++)
		nng_aio_free(srv->ctxs[i].aio);
	pthread_mutex_lock(&srv->mu);
	srv->torn_down = true;
	int left = atomic_load(&srv->inflight);
	pthread_mutex_unlock(&srv->mu);
	if (left > 0)
		hd_log_warn("rpc: stopped with %d request(s) still in flight", left);
	else
		rpc_server_free(srv);
}

const hd_envelope *hd_rpc_request_envelope(const hd_rpc_request *req)
{
	return &req->env;
}

hd_worker *hd_rpc_request_worker(const hd_rpc_request *req)
{
	return req->worker;
}

void hd_rpc_request_set_op_label(hd_rpc_request *req, const char *label)
{
	req->op_label = label;
}

static void rpc_request_observe(const hd_rpc_request *req, int status)
{
	char labels[128];
	double secs = (double)(hd_now_ms() - req->t0_ms) / 1000.0;
	snprintf(labels, sizeof labels, "op=\"%s\",status=\"%d\"", req->op_label, status);
	hd_metrics_add("hd_rpc_requests_total", labels, 1);
	snprintf(labels, sizeof labels, "op=\"%s\"", req->op_label);
	hd_metrics_observe("hd_rpc_request_duration_seconds", labels, secs);
}

void hd_rpc_request_reply(hd_rpc_request *req, const hd_reply *reply)
{
	rpc_request_observe(req, reply->status);
	rpc_batch *b = req->batch;
	if (b != NULL) {
		b->slot[req->slot] = rpc_reply_bytes(reply, &b->slot_len[req->slot]);
		free(req);
		rpc_batch_release(b);
		return;
	}
	nng_msg *msg = req->msg;
	rpc_server_answer(req->rc->srv, req->rc, rpc_reply_msg(reply), 1);
	nng_msg_free(msg);
	free(req);
}

size_t hd_rpc_max_message(void)
{
	return rpc_max_msg();
}
