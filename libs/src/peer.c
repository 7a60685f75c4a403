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

hd_err hd_peer_call(hd_rpc_client *c, hd_rpc_request *req, const char *op, const char *id,
    const char *body, long timeout_ms, hd_peer_cb cb, void *arg)
{
	const hd_envelope *in = hd_rpc_request_envelope(req);
	hd_envelope *e = calloc(1, sizeof(*e));
	char *msg = NULL;
	size_t len = 0;
	long setting = 2000;
	if (e == NULL)
		return HD_ERR_NOMEM;
	if (timeout_ms > 0)
		setting = timeout_ms;
	else
		(void)hd_config_int("HD_PEER_TIMEOUT_MS", 1, 600000, &setting);
	int timeout = hd_peer_timeout_ms(in->deadline_ms, peer_now_ms(), setting);
	e->version = HD_ENVELOPE_VERSION;
	memcpy(e->op, op, strnlen(op, sizeof(e->op) - 1));
	memcpy(e->request_id, in->request_id, sizeof(e->request_id));
	memcpy(e->tenant_id, in->tenant_id, sizeof(e->tenant_id));
	memcpy(e->user_id, in->user_id, sizeof(e->user_id));
	memcpy(e->role, in->role, sizeof(e->role));
	memcpy(e->token_id, in->token_id, sizeof(e->token_id));
	e->token_exp = in->token_exp;
	e->deadline_ms = peer_now_ms() + timeout;
	e->body = body;
	e->body_len = body != NULL ? strlen(body) : 0;
	hd_err err = id != NULL ? hd_envelope_add_param(e, "id", id) : HD_OK;
	if (err == HD_OK)
		err = hd_envelope_encode(e, &msg, &len);
	free(e);
	if (err != HD_OK)
		return err;
	peer_call *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		free(msg);
		return HD_ERR_NOMEM;
	}
	pc->worker = hd_rpc_request_worker(req);
	pc->cb = cb;
	pc->arg = arg;
	err = hd_rpc_client_call(c, msg, len, timeout, peer_replied, pc);
	free(msg);
	if (err != HD_OK)
		free(pc);
	return err;
}
