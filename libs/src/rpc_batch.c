/* Client-side batching (hd/rpc.h, proto/README.md, Batches).
 *
 * Every trip through NNG costs several hand-offs between its threads and
 * ours; under load they, not the work, bound a request. A batcher belongs to
 * one event loop: calls made while the loop is busy wait in `pending`, and one
 * event at HD_WORKER_PRIORITY_IDLE sends them together once the loop has
 * nothing else to run, so a quiet loop sends each call at once and a busy one
 * sends one message for many calls.
 *
 * The reply path is one hand-off and no copy: the message on the wire (a
 * lone call or a batch) carries its callers' callbacks; NNG's thread posts
 * its reply message, as NNG received it, to the loop once; there the batch
 * is split (pointers into the message, hd_batch_decode) and each caller's
 * callback runs with its part, borrowed, before the message is freed. A
 * callback may keep the reply message past its return
 * (hd_rpc_batch_reply_keep): the message is then freed by the last of the
 * loop and the keepers to let go of it, so a large reply body can be
 * written to a socket from where NNG received it, never copied. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd/batch.h"
#include "hd/log.h"
#include "hd/rpc.h"
#include "rpc_client.h"

typedef struct rpc_batch_call {
	hd_batch_part msg; /* the caller's bytes, valid until its callback */
	int64_t deadline_ms;
	hd_rpc_batch_reply_cb cb;
	void *arg;
} rpc_batch_call;

typedef struct rpc_batch_to {
	hd_rpc_batch_reply_cb cb;
	void *arg;
} rpc_batch_to;

/* A message on the wire: whom to answer, in order. */
typedef struct rpc_batch_sent {
	hd_worker *loop; /* where the answers are handed out */
	hd_err err;
	void *msg; /* the reply (hd__rpc_msg_free) */
	const char *data; /* its bytes */
	size_t len;
	bool batch; /* sent as a batch, else one plain envelope */
	atomic_int refs; /* the loop's, plus one per hd_rpc_batch_reply_keep */
	size_t n;
	rpc_batch_to to[]; /* n */
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

/* The reply being handed out on this thread (hd_rpc_batch_reply_keep). */
static _Thread_local rpc_batch_sent *delivering;

/* Drops one hold on sent; the last frees the reply message and sent. */
static void sent_release(rpc_batch_sent *sent)
{
	if (atomic_fetch_sub(&sent->refs, 1) != 1)
		return;
	if (sent->msg != NULL)
		hd__rpc_msg_free(sent->msg);
	free(sent);
}

hd_rpc_reply_hold *hd_rpc_batch_reply_keep(void)
{
	rpc_batch_sent *sent = delivering;
	if (sent == NULL || sent->err != HD_OK || sent->msg == NULL)
		return NULL;
	atomic_fetch_add(&sent->refs, 1);
	return (hd_rpc_reply_hold *)sent;
}

void hd_rpc_batch_reply_release(hd_rpc_reply_hold *hold)
{
	if (hold != NULL)
		sent_release((rpc_batch_sent *)hold);
}

/* Runs on the batcher's loop: one reply per caller, in order, each a part
 * of the one reply message. A reply that is not a batch of the right size
 * gives every caller an empty (malformed) reply. */
static void batch_deliver(void *arg)
{
	rpc_batch_sent *sent = arg;
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	bool whole = sent->err == HD_OK
	    && (!sent->batch
	        || (hd_batch_decode(sent->data, sent->len, parts, HD_BATCH_MAX, &n) == HD_OK
	            && n == sent->n));
	if (sent->err == HD_OK && !whole)
		hd_log_warn("rpc: a batch of %zu got a malformed reply", sent->n);
	if (sent->err == HD_OK && !sent->batch)
		parts[0] = (hd_batch_part) { sent->data, sent->len, NULL, 0 };
	rpc_batch_sent *outer = delivering; /* a callback may deliver another */
	delivering = sent;
	for (size_t i = 0; i < sent->n; i++) {
		if (sent->err != HD_OK)
			sent->to[i].cb(sent->err, NULL, 0, sent->to[i].arg);
		else if (!whole)
			sent->to[i].cb(HD_OK, "", 0, sent->to[i].arg);
		else
			sent->to[i].cb(HD_OK, parts[i].data, parts[i].len, sent->to[i].arg);
	}
	delivering = outer;
	sent_release(sent);
}

/* Runs on an NNG thread: record, and hand the whole message back to the
 * loop in one post. */
static void batch_reply_cb(hd_err err, void *msg, const char *data, size_t len, void *arg)
{
	rpc_batch_sent *sent = arg;
	sent->err = err;
	sent->msg = msg;
	sent->data = data;
	sent->len = len;
	if (hd_worker_post(sent->loop, batch_deliver, sent) != HD_OK) {
		hd_log_error("rpc: cannot hand a reply back to its loop");
		if (msg != NULL)
			hd__rpc_msg_free(msg);
		free(sent);
	}
}

/* Sends n calls as one message (a batch when batch, else calls[0] alone).
 * HD_OK: every callback will run on the loop. Otherwise none ran. */
static hd_err batch_send(
    hd_rpc_batcher *b, const rpc_batch_call *calls, size_t n, bool batch, int64_t now)
{
	hd_batch_part parts[HD_BATCH_MAX];
	rpc_batch_sent *sent = malloc(offsetof(rpc_batch_sent, to) + n * sizeof(rpc_batch_to));
	int64_t deadline = INT64_MAX;
	if (sent == NULL)
		return HD_ERR_NOMEM;
	*sent = (rpc_batch_sent) { .loop = b->loop, .batch = batch, .n = n };
	atomic_init(&sent->refs, 1);
	for (size_t i = 0; i < n; i++) {
		parts[i] = calls[i].msg;
		sent->to[i] = (rpc_batch_to) { calls[i].cb, calls[i].arg };
		if (calls[i].deadline_ms < deadline)
			deadline = calls[i].deadline_ms;
	}
	int64_t left = deadline - now;
	hd_err err = hd__rpc_client_call_parts(b->client, parts, n, batch,
	    left > INT32_MAX ? INT32_MAX
	        : left > 0   ? (int)left
	                     : 1,
	    batch_reply_cb, sent);
	if (err != HD_OK)
		free(sent);
	return err;
}

/* Sends everything pending (one plain call, or one batch). If it cannot be
 * sent, the callers hear it from the loop, like any other outcome, so that
 * no callback runs inside hd_rpc_batcher_call. */
static void batch_flush(void *arg)
{
	hd_rpc_batcher *b = arg;
	size_t n = b->npending;
	if (n == 0)
		return;
	b->npending = 0;
	b->pending_bytes = HD_BATCH_PREAMBLE;
	hd_err err = batch_send(b, b->pending, n, n > 1, hd_now_ms());
	if (err == HD_OK)
		return;
	rpc_batch_sent *failed = malloc(offsetof(rpc_batch_sent, to) + n * sizeof(rpc_batch_to));
	if (failed != NULL) {
		*failed = (rpc_batch_sent) { .loop = b->loop, .err = err, .n = n };
		atomic_init(&failed->refs, 1);
		for (size_t i = 0; i < n; i++)
			failed->to[i] = (rpc_batch_to) { b->pending[i].cb, b->pending[i].arg };
		if (hd_worker_post(b->loop, batch_deliver, failed) == HD_OK)
			return;
		batch_deliver(failed); /* a stopping loop: answer now, on its thread */
		return;
	}
	rpc_batch_to to[HD_BATCH_MAX]; /* the callbacks may call the batcher again */
	for (size_t i = 0; i < n; i++)
		to[i] = (rpc_batch_to) { b->pending[i].cb, b->pending[i].arg };
	for (size_t i = 0; i < n; i++)
		to[i].cb(err, NULL, 0, to[i].arg);
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
	size_t n = b->npending;
	b->npending = 0;
	for (size_t i = 0; i < n; i++)
		b->pending[i].cb(HD_ERR_CLOSED, NULL, 0, b->pending[i].arg);
	free(b);
}

/* True when msg is a request a batcher can take. */
static bool batch_call_valid(
    const hd_rpc_batcher *b, const hd_batch_part *msg, int timeout_ms, hd_rpc_batch_reply_cb cb)
{
	return b != NULL && msg != NULL && !(msg->data == NULL && msg->len > 0)
	    && !(msg->tail == NULL && msg->tail_len > 0) && timeout_ms > 0 && cb != NULL;
}

hd_err hd_rpc_batcher_call_alone(hd_rpc_batcher *b, const hd_batch_part *msg, int timeout_ms,
    hd_rpc_batch_reply_cb cb, void *arg)
{
	if (!batch_call_valid(b, msg, timeout_ms, cb))
		return HD_ERR_INVALID;
	int64_t now = hd_now_ms();
	rpc_batch_call call = { *msg, now + timeout_ms, cb, arg };
	return batch_send(b, &call, 1, false, now);
}

hd_err hd_rpc_batcher_call(hd_rpc_batcher *b, const hd_batch_part *msg, int timeout_ms,
    hd_rpc_batch_reply_cb cb, void *arg)
{
	if (!batch_call_valid(b, msg, timeout_ms, cb))
		return HD_ERR_INVALID;
	size_t size = HD_BATCH_PART_HEADER + hd_batch_part_len(msg);
	if (b->max_parts == 1 || HD_BATCH_PREAMBLE + size > b->max_bytes) /* alone */
		return hd_rpc_batcher_call_alone(b, msg, timeout_ms, cb, arg);
	if (!hd_rpc_client_connected(b->client))
		return HD_ERR_UNAVAILABLE;
	if (b->pending_bytes + size > b->max_bytes)
		batch_flush(b);
	b->pending[b->npending++] = (rpc_batch_call) { *msg, hd_now_ms() + timeout_ms, cb, arg };
	b->pending_bytes += size;
	if (b->npending >= b->max_parts)
		batch_flush(b);
	else if (b->npending == 1)
		hd_worker_idle_schedule(b->flush);
	return HD_OK;
}
