/* Client-side batching (hd/rpc.h, proto/README.md, Batches).
 *
 * Every trip through NNG costs several hand-offs between its threads and
 * ours; under load they, not the work, bound a request. A batcher belongs to
 * one event loop: calls made while the loop is busy wait in `pending`, and one
 * event at HD_WORKER_PRIORITY_IDLE sends them together once the loop has
 * nothing else to run, so a quiet loop sends each call at once and a busy one
 * sends one message for many calls. The batch in flight carries its callers'
 * callbacks; its reply goes back to the loop in one post (one wake-up for the
 * whole batch) and is split there into one reply per caller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd/batch.h"
#include "hd/log.h"
#include "hd/rpc.h"

typedef struct rpc_batch_call {
	char *msg; /* owned */
	size_t len;
	int64_t deadline_ms;
	hd_rpc_reply_cb cb;
	void *arg;
} rpc_batch_call;

/* A batch on the wire: whom to answer, in order. */
typedef struct rpc_batch_sent {
	hd_worker *loop; /* where the answers are handed out */
	hd_err err;
	char *raw; /* the reply (hd_rpc_free) */
	size_t len;
	size_t n;
	hd_rpc_reply_cb cb[HD_BATCH_MAX];
	void *arg[HD_BATCH_MAX];
} rpc_batch_sent;

struct hd_rpc_batcher {
	hd_rpc_client *client;
	hd_worker *loop;
	hd_worker_idle *flush; /* sends what the loop gathered */
	size_t max_parts;
	size_t max_bytes; /* of one batch message */
	rpc_batch_call pending[HD_BATCH_MAX];
	size_t npending;
	size_t pending_bytes; /* as encoded */
};

/* Runs on the batcher's loop: one reply per caller, in order. A reply that
 * is not a batch of the right size gives every caller an empty (malformed)
 * reply. */
static void batch_deliver(void *arg)
{
	rpc_batch_sent *sent = arg;
	hd_err err = sent->err;
	char *raw = sent->raw;
	size_t len = sent->len;
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	bool whole = err == HD_OK && hd_batch_decode(raw, len, parts, HD_BATCH_MAX, &n) == HD_OK
	    && n == sent->n;
	if (err == HD_OK && !whole)
		hd_log_warn("rpc: a batch of %zu got a malformed reply", sent->n);
	for (size_t i = 0; i < sent->n; i++) {
		if (err != HD_OK) {
			sent->cb[i](err, NULL, 0, sent->arg[i]);
			continue;
		}
		size_t part_len = whole ? parts[i].len : 0;
		char *copy = malloc(part_len + 1);
		if (copy == NULL) {
			sent->cb[i](HD_ERR_NOMEM, NULL, 0, sent->arg[i]);
			continue;
		}
		if (part_len > 0)
			memcpy(copy, parts[i].data, part_len);
		copy[part_len] = '\0';
		sent->cb[i](HD_OK, copy, part_len, sent->arg[i]);
	}
	hd_rpc_free(raw);
	free(sent);
}

/* Runs on an NNG thread: the whole batch goes back to its loop in one post. */
static void batch_reply_cb(hd_err err, char *raw, size_t len, void *arg)
{
	rpc_batch_sent *sent = arg;
	sent->err = err;
	sent->raw = raw;
	sent->len = len;
	if (hd_worker_post(sent->loop, batch_deliver, sent) != HD_OK) {
		hd_log_error("rpc: cannot hand a batch reply back to its loop");
		hd_rpc_free(raw);
		free(sent);
	}
}

/* Sends the n > 1 pending calls as one batch; on failure, returns the error
 * with no callback run. */
static hd_err batch_send_many(hd_rpc_batcher *b, int64_t now)
{
	hd_batch_part parts[HD_BATCH_MAX];
	rpc_batch_sent *sent = malloc(sizeof *sent);
	int64_t deadline = INT64_MAX;
	char *buf = NULL;
	size_t len = 0;
	if (sent == NULL)
		return HD_ERR_NOMEM;
	sent->loop = b->loop;
	sent->n = b->npending;
	for (size_t i = 0; i < b->npending; i++) {
		parts[i] = (hd_batch_part) { b->pending[i].msg, b->pending[i].len };
		sent->cb[i] = b->pending[i].cb;
		sent->arg[i] = b->pending[i].arg;
		if (b->pending[i].deadline_ms < deadline)
			deadline = b->pending[i].deadline_ms;
	}
	hd_err err = hd_batch_encode(parts, b->npending, &buf, &len);
	if (err == HD_OK) {
		int64_t left = deadline - now;
		err = hd_rpc_client_call(
		    b->client, buf, len, left > 0 ? (int)left : 1, batch_reply_cb, sent);
	}
	free(buf);
	if (err != HD_OK)
		free(sent);
	return err;
}

/* Sends everything pending (one plain call, or one batch). */
static void batch_flush(void *arg)
{
	hd_rpc_batcher *b = arg;
	if (b->npending == 0)
		return;
	int64_t now = hd_now_ms();
	hd_err err;
	if (b->npending == 1) {
		rpc_batch_call *call = &b->pending[0];
		int64_t left = call->deadline_ms - now;
		err = hd_rpc_client_call(
		    b->client, call->msg, call->len, left > 0 ? (int)left : 1, call->cb, call->arg);
	} else {
		err = batch_send_many(b, now);
	}
	for (size_t i = 0; i < b->npending; i++) {
		if (err != HD_OK)
			b->pending[i].cb(err, NULL, 0, b->pending[i].arg);
		free(b->pending[i].msg);
	}
	b->npending = 0;
	b->pending_bytes = HD_BATCH_PREAMBLE;
}

hd_err hd_rpc_batcher_new(hd_rpc_batcher **out, hd_rpc_client *c, hd_worker *w, int max_parts)
{
	if (out == NULL || c == NULL || w == NULL || max_parts < 1 || max_parts > HD_BATCH_MAX)
		return HD_ERR_INVALID;
	hd_rpc_batcher *b = calloc(1, sizeof *b);
	if (b == NULL)
		return HD_ERR_NOMEM;
	b->client = c;
	b->loop = w;
	b->max_parts = (size_t)max_parts;
	b->max_bytes = hd_rpc_max_message();
	b->pending_bytes = HD_BATCH_PREAMBLE;
	if (hd_worker_idle_create(&b->flush, w, batch_flush, b) != HD_OK) {
		free(b);
		return HD_ERR_NOMEM;
	}
	*out = b;
	return HD_OK;
}

void hd_rpc_batcher_free(hd_rpc_batcher *b)
{
	if (b == NULL)
		return;
	hd_worker_idle_destroy(b->flush);
	for (size_t i = 0; i < b->npending; i++) {
		b->pending[i].cb(HD_ERR_CLOSED, NULL, 0, b->pending[i].arg);
		free(b->pending[i].msg);
	}
	free(b);
}

hd_err hd_rpc_batcher_call(
    hd_rpc_batcher *b, const char *msg, size_t len, int timeout_ms, hd_rpc_reply_cb cb, void *arg)
{
	if (b == NULL || (msg == NULL && len > 0) || timeout_ms <= 0 || cb == NULL)
		return HD_ERR_INVALID;
	size_t size = HD_BATCH_PART_HEADER + len;
	if (b->max_parts == 1 || HD_BATCH_PREAMBLE + size > b->max_bytes) /* alone */
		return hd_rpc_client_call(b->client, msg, len, timeout_ms, cb, arg);
	if (!hd_rpc_client_connected(b->client))
		return HD_ERR_UNAVAILABLE;
	if (b->pending_bytes + size > b->max_bytes)
		batch_flush(b);
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return HD_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, msg, len);
	b->pending[b->npending++]
	    = (rpc_batch_call) { copy, len, hd_now_ms() + timeout_ms, cb, arg };
	b->pending_bytes += size;
	if (b->npending >= b->max_parts)
		batch_flush(b);
	else if (b->npending == 1)
		hd_worker_idle_schedule(b->flush);
	return HD_OK;
}
