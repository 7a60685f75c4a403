/* Helpers for integration programs that send hd-ticket several requests as
 * ONE NNG batch message ("HB", proto/README.md, Batches) and read each
 * part's reply (test_ticket_get.c, test_ticket_list_batch.c): encoding one
 * request envelope, a whole batch of them, sending it (blocking, or started
 * now and finished later so several batches are in flight at once), and
 * splitting the batch reply into its decoded parts. Needs ticket_it.h (the
 * caller identity and the client in IT); all functions are static inline so
 * a program may leave some unused. */
#ifndef HD_TEST_BATCH_IT_H
#define HD_TEST_BATCH_IT_H
#include <strings.h>
#include "hd/batch.h"
#include "ticket_it.h"

#define BIT_TIMEOUT_MS 20000

/* One request of a batch: op as who, with an optional path id and query
 * string (NULL: none). */
typedef struct bit_req {
	const char *op;
	const it_who *who;
	const char *id;
	const char *query;
} bit_req;

/* Encodes r as an envelope into *msg (caller frees); n numbers its request
 * id, so the same (r, n) always gives the same bytes but the deadline. */
static inline void bit_encode(const bit_req *r, int n, char **msg, size_t *len)
{
	hd_envelope e;
	struct timespec ts;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "%s", r->op);
	snprintf(e.request_id, sizeof(e.request_id), "test-batch-%d", n);
	strcpy(e.tenant_id, r->who->tenant);
	strcpy(e.user_id, r->who->user);
	snprintf(e.role, sizeof(e.role), "%s", r->who->role);
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + BIT_TIMEOUT_MS;
	if (r->query != NULL)
		assert_true(
		    (size_t)snprintf(e.query, sizeof(e.query), "%s", r->query) < sizeof(e.query));
	if (r->id != NULL)
		assert_int_equal(hd_envelope_add_param(&e, "id", r->id), HD_OK);
	assert_int_equal(hd_envelope_encode(&e, msg, len), HD_OK);
}

/* The batch message of the n requests of reqs, part i numbered i
 * (malloc'ed, caller frees). */
static inline char *bit_batch_encode(const bit_req *reqs, size_t n, size_t *len)
{
	hd_batch_part parts[HD_BATCH_MAX];
	char *msgs[HD_BATCH_MAX];
	assert_true(n > 0 && n <= HD_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t l = 0;
		bit_encode(&reqs[i], (int)i, &msgs[i], &l);
		parts[i] = (hd_batch_part) { .data = msgs[i], .len = l };
	}
	*len = hd_batch_size(parts, n);
	assert_true(*len > 0);
	char *buf = malloc(*len);
	assert_non_null(buf);
	hd_batch_write(parts, n, buf);
	for (size_t i = 0; i < n; i++)
		free(msgs[i]);
	return buf;
}

/* Asserts that raw (len bytes) is a batch reply of exactly n parts and
 * decodes part i into out[i] (pointing into raw, which must outlive it). */
static inline void bit_batch_split(const char *raw, size_t len, hd_reply *out, size_t n)
{
	hd_batch_part parts[HD_BATCH_MAX];
	size_t got = 0;
	assert_true(hd_batch_is(raw, len));
	assert_int_equal(hd_batch_decode(raw, len, parts, HD_BATCH_MAX, &got), HD_OK);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		if (hd_reply_decode(parts[i].data, parts[i].len, &out[i]) != HD_OK)
			fail_msg("part %zu: reply does not decode", i);
}

/* Sends the n requests of reqs as one batch and waits; the raw batch reply
 * goes to *raw / *raw_len (free with hd_rpc_free). */
static inline void bit_batch_send(const bit_req *reqs, size_t n, char **raw, size_t *raw_len)
{
	size_t len = 0;
	char *msg = bit_batch_encode(reqs, n, &len);
	assert_int_equal(
	    daemon_child_call_raw(IT.client, msg, len, BIT_TIMEOUT_MS, raw, raw_len), HD_OK);
	free(msg);
}

/* Sends r (numbered n) alone, as a plain envelope, and waits; the raw reply
 * goes to *raw / *raw_len (free with hd_rpc_free). */
static inline void bit_send_alone(const bit_req *r, int n, char **raw, size_t *raw_len)
{
	size_t len = 0;
	char *msg = NULL;
	bit_encode(r, n, &msg, &len);
	assert_int_equal(
	    daemon_child_call_raw(IT.client, msg, len, BIT_TIMEOUT_MS, raw, raw_len), HD_OK);
	free(msg);
}

/* The value of reply header name (case-insensitive), or NULL. */
static inline const char *bit_reply_header(const hd_reply *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* A batch in flight: its message and the wait for its reply. */
typedef struct bit_call {
	char *msg;
	size_t len;
	daemon_call_wait w;
} bit_call;

/* Sends the n requests of reqs as one batch without waiting. */
static inline void bit_call_start(bit_call *b, const bit_req *reqs, size_t n)
{
	b->msg = bit_batch_encode(reqs, n, &b->len);
	b->w = (daemon_call_wait) { .mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER };
	assert_int_equal(hd_rpc_client_call(
	                     IT.client, b->msg, b->len, BIT_TIMEOUT_MS, daemon_call_wait_cb, &b->w),
	    HD_OK);
}

/* Waits for b's reply: the raw batch reply goes to *raw / *raw_len (free
 * with hd_rpc_free). */
static inline void bit_call_finish(bit_call *b, char **raw, size_t *raw_len)
{
	pthread_mutex_lock(&b->w.mu);
	while (!b->w.done)
		pthread_cond_wait(&b->w.cv, &b->w.mu);
	pthread_mutex_unlock(&b->w.mu);
	free(b->msg);
	b->msg = NULL;
	assert_int_equal(b->w.err, HD_OK);
	*raw = b->w.raw;
	*raw_len = b->w.len;
}

#endif
