/* Daemon-to-daemon calls (hd/peer.h): an envelope made from the served
 * request's, sent with hd_rpc_client_call, the reply handed back to the
 * request's worker with hd_worker_post. */
#include "hd/peer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/envelope.h"
#include "hd/log.h"
#include "hd/worker.h"

struct hd_peer {
	hd_rpc_client *client;
};

/* One call in flight: its outcome travels from the NNG thread to the worker. */
typedef struct peer_call {
	hd_worker *worker;
	hd_peer_cb cb;
	void *arg;
	hd_err err;
	char *raw;
	size_t len;
} peer_call;

hd_err hd_peer_open(hd_peer **out, const char *urls)
{
	hd_peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return HD_ERR_NOMEM;
	hd_err err = hd_rpc_client_open(&p->client, urls);
	if (err != HD_OK) {
		free(p);
		return err;
	}
	*out = p;
	return HD_OK;
}

void hd_peer_close(hd_peer *p)
{
	if (p == NULL)
		return;
	hd_rpc_client_close(p->client);
	free(p);
}

static int64_t peer_epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* On the request's worker: decodes the reply and tells the caller. */
static void peer_deliver(void *arg)
{
	peer_call *call = arg;
	hd_reply rep;
	memset(&rep, 0, sizeof(rep));
	if (call->err == HD_OK) {
		hd_err err = hd_reply_decode(call->raw, call->len, &rep);
		if (err != HD_OK)
			call->err = err;
	}
	if (call->err == HD_OK) {
		/* the body is the tail of raw, which hd_rpc_client_call NUL-terminated */
		call->cb(
		    HD_OK, rep.status, rep.body != NULL ? rep.body : "", rep.body_len, call->arg);
	} else {
		call->cb(call->err, 0, "", 0, call->arg);
	}
	hd_rpc_free(call->raw);
	free(call);
}

/* On an NNG thread: hand the outcome to the worker. */
static void peer_replied(hd_err err, char *raw, size_t len, void *arg)
{
	peer_call *call = arg;
	call->err = err;
	call->raw = err == HD_OK ? raw : NULL;
	call->len = err == HD_OK ? len : 0;
	if (err != HD_OK && raw != NULL)
		hd_rpc_free(raw);
	if (hd_worker_post(call->worker, peer_deliver, call) != HD_OK) {
		/* the worker is stopping: its requests are dropped with it */
		hd_log_error("peer: reply could not reach its worker");
		hd_rpc_free(call->raw);
		free(call);
	}
}

/* The peer's envelope: op, body and the identity of req's caller. */
static void peer_envelope(
    hd_envelope *e, const hd_envelope *from, const char *op, const char *body, int timeout_ms)
{
	memset(e, 0, sizeof(*e));
	e->version = HD_ENVELOPE_VERSION;
	snprintf(e->op, sizeof(e->op), "%s", op);
	memcpy(e->request_id, from->request_id, sizeof(e->request_id));
	memcpy(e->tenant_id, from->tenant_id, sizeof(e->tenant_id));
	memcpy(e->user_id, from->user_id, sizeof(e->user_id));
	memcpy(e->role, from->role, sizeof(e->role));
	memcpy(e->client_ip, from->client_ip, sizeof(e->client_ip));
	e->deadline_ms = peer_epoch_ms() + timeout_ms;
	if (from->deadline_ms > 0 && from->deadline_ms < e->deadline_ms)
		e->deadline_ms = from->deadline_ms;
	e->body = body;
	e->body_len = strlen(body);
}

hd_err hd_peer_call(hd_peer *p, hd_rpc_request *req, const char *op, const char *body,
    int timeout_ms, hd_peer_cb cb, void *arg)
{
	hd_envelope e;
	char *msg = NULL;
	size_t len = 0;
	peer_envelope(&e, hd_rpc_request_envelope(req), op, body, timeout_ms);
	int64_t left = e.deadline_ms - peer_epoch_ms();
	if (left <= 0)
		return HD_ERR_TIMEOUT;
	hd_err err = hd_envelope_encode(&e, &msg, &len);
	if (err != HD_OK)
		return err;
	peer_call *call = calloc(1, sizeof(*call));
	if (call == NULL) {
		free(msg);
		return HD_ERR_NOMEM;
	}
	*call = (peer_call) { hd_rpc_request_worker(req), cb, arg, HD_OK, NULL, 0 };
	err = hd_rpc_client_call(p->client, msg, len, (int)left, peer_replied, call);
	free(msg);
	if (err != HD_OK)
		free(call);
	return err;
}
