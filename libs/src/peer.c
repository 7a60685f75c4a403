/* Calls between daemons (hd/peer.h): the envelope of the request being
 * served, narrowed to the caller's identity, sent to the peer with a
 * deadline; its reply is handed from the NNG thread to the worker loop. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/peer.h"

typedef struct peer_call {
	hd_worker *worker;
	hd_peer_cb cb;
	void *arg;
	hd_err err;
	char *raw;
	size_t raw_len;
} peer_call;

int hd_peer_timeout_ms(int64_t deadline_ms, int64_t now_ms, long setting_ms)
{
	int64_t t = setting_ms > 0 ? setting_ms : 1;
	if (deadline_ms > 0 && deadline_ms - now_ms < t)
		t = deadline_ms - now_ms;
	if (t < 1)
		t = 1;
	return t > 3600000 ? 3600000 : (int)t;
}

/* On the worker: decodes the reply and calls back. */
static void peer_deliver(void *arg)
{
	peer_call *pc = arg;
	hd_reply r;
	if (pc->err == HD_OK && hd_reply_decode(pc->raw, pc->raw_len, &r) != HD_OK)
		pc->err = HD_ERR_INVALID;
	if (pc->err != HD_OK) {
		pc->cb(pc->err, 0, "", pc->arg);
	} else {
		char *body = malloc(r.body_len + 1);
		if (body == NULL) {
			pc->cb(HD_ERR_NOMEM, 0, "", pc->arg);
		} else {
			memcpy(body, r.body, r.body_len);
			body[r.body_len] = '\0';
			pc->cb(HD_OK, r.status, body, pc->arg);
			free(body);
		}
	}
	hd_rpc_free(pc->raw);
	free(pc);
}

/* On an NNG thread: hands the outcome to the worker. */
static void peer_replied(hd_err err, char *raw, size_t raw_len, void *arg)
{
	peer_call *pc = arg;
	pc->err = err;
	pc->raw = raw;
	pc->raw_len = raw_len;
	if (hd_worker_post(pc->worker, peer_deliver, pc) != HD_OK) {
		/* the worker is gone (shutdown): nobody is left to answer */
		hd_log_warn("peer reply dropped: worker stopped");
		hd_rpc_free(raw);
		free(pc);
	}
}

static int64_t peer_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long peer_setting_ms(long timeout_ms)
{
	long setting = 2000;
	if (timeout_ms > 0)
		return timeout_ms;
	(void)hd_config_int("HD_PEER_TIMEOUT_MS", 1, 600000, &setting);
	return setting;
}

/* Sends e (op and caller filled in; e is the caller's) with path id, its
 * deadline timeout ms from now; the reply goes to worker. */
static hd_err peer_send(hd_rpc_client *c, hd_worker *worker, hd_envelope *e, const char *id,
    int timeout, hd_peer_cb cb, void *arg)
{
	char *msg = NULL;
	size_t len = 0;
	e->version = HD_ENVELOPE_VERSION;
	e->deadline_ms = peer_now_ms() + timeout;
	hd_err err = id != NULL ? hd_envelope_add_param(e, "id", id) : HD_OK;
	if (err == HD_OK) /* the body follows, copied once into the message */
		err = hd_envelope_encode_head(e, &msg, &len);
	if (err != HD_OK)
		return err;
	peer_call *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		free(msg);
		return HD_ERR_NOMEM;
	}
	pc->worker = worker;
	pc->cb = cb;
	pc->arg = arg;
	hd_batch_part whole = { .data = msg,
		.len = len,
		.tail = e->body_len ? e->body : NULL,
		.tail_len = e->body_len };
	err = hd_rpc_client_call_wait_part(c, &whole, timeout, peer_replied, pc);
	free(msg);
	if (err != HD_OK)
		free(pc);
	return err;
}

/* Copies src into dst (size bytes) when it fits; false otherwise. */
static bool peer_copy(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	if (n >= size)
		return false;
	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
	return true;
}

hd_err hd_peer_call(hd_rpc_client *c, hd_rpc_request *req, const char *op, const char *id,
    const char *body, long timeout_ms, hd_peer_cb cb, void *arg)
{
	const hd_envelope *in = hd_rpc_request_envelope(req);
	hd_envelope *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return HD_ERR_NOMEM;
	int timeout
	    = hd_peer_timeout_ms(in->deadline_ms, peer_now_ms(), peer_setting_ms(timeout_ms));
	memcpy(e->op, op, strnlen(op, sizeof(e->op) - 1));
	memcpy(e->request_id, in->request_id, sizeof(e->request_id));
	memcpy(e->tenant_id, in->tenant_id, sizeof(e->tenant_id));
	memcpy(e->user_id, in->user_id, sizeof(e->user_id));
	memcpy(e->role, in->role, sizeof(e->role));
	memcpy(e->token_id, in->token_id, sizeof(e->token_id));
	e->token_exp = in->token_exp;
	e->body = body;
	e->body_len = body != NULL ? strlen(body) : 0;
	hd_err err = peer_send(c, hd_rpc_request_worker(req), e, id, timeout, cb, arg);
	free(e);
	return err;
}

hd_err hd_peer_call_as(hd_rpc_client *c, hd_worker *worker, const hd_peer_actor *actor,
    const char *op, const char *id, const char *body, long timeout_ms, hd_peer_cb cb, void *arg)
{
	hd_envelope *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return HD_ERR_NOMEM;
	hd_err err = HD_ERR_INVALID;
	if (peer_copy(e->op, sizeof(e->op), op)
	    && peer_copy(e->request_id, sizeof(e->request_id), actor->request_id)
	    && peer_copy(e->tenant_id, sizeof(e->tenant_id), actor->tenant_id)
	    && peer_copy(e->user_id, sizeof(e->user_id), actor->user_id)
	    && peer_copy(e->role, sizeof(e->role), actor->role)) {
		e->body = body;
		e->body_len = body != NULL ? strlen(body) : 0;
		err = actor->idempotency_key != NULL
		    ? hd_envelope_add_header(e, "idempotency-key", actor->idempotency_key)
		    : HD_OK;
		if (err == HD_OK)
			err = peer_send(c, worker, e, id,
			    hd_peer_timeout_ms(0, peer_now_ms(), peer_setting_ms(timeout_ms)), cb,
			    arg);
	}
	free(e);
	return err;
}
