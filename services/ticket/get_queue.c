/* Reads of one ticket, gathered. The GETs a worker receives together (the
 * gateway sends concurrent GETs as one NNG batch, run in one loop iteration)
 * are answered by ONE statement per tenant, `t.id = ANY($2)`, in one implicit
 * transaction, instead of a set_config, a statement and a transaction each.
 * They are sent once the worker's loop has nothing else to run
 * (hd_worker_idle), so a lone GET waits for nothing. A customer sees only
 * the tickets they requested: that is checked per request on the row, as the
 * single-ticket statement did in SQL (404 either way). Lives on one worker
 * thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ticket.h"

#define TK_GET_BATCH_MAX 64

static const char tk_get_sql[] = "SELECT " TK_TICKET_COLS " FROM ticket.tickets t"
                                 " WHERE t.tenant_id = $1 AND t.id = ANY($2::uuid[])"
                                 " AND t.deleted_at IS NULL";

/* One GET waiting for its statement. */
typedef struct tk_get {
	hd_rpc_request *req;
	char tenant[37];
	char id[37];
	char customer[37]; /* the caller when a customer, else "" */
	struct tk_get *next;
} tk_get;

struct tk_get_queue {
	hd_daemon_worker *dw;
	hd_worker_idle *flush;
	tk_get *head, *tail;
};

/* A tenant's GETs in one statement. */
typedef struct tk_get_batch {
	int n;
	tk_get *items[TK_GET_BATCH_MAX];
} tk_get_batch;

static void tk_get_flush(void *arg);

hd_err tk_get_queue_create(tk_get_queue **out, hd_daemon_worker *dw)
{
	tk_get_queue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return HD_ERR_NOMEM;
	q->dw = dw;
	hd_err err = hd_worker_idle_create(&q->flush, dw->worker, tk_get_flush, q);
	if (err != HD_OK) {
		free(q);
		return err;
	}
	*out = q;
	return HD_OK;
}

void tk_get_queue_destroy(tk_get_queue *q)
{
	if (q == NULL)
		return;
	hd_worker_idle_destroy(q->flush);
	while (q->head != NULL) {
		tk_get *g = q->head;
		q->head = g->next;
		hd_reply_problem_ex(g->req, 503, HD_TEXT_SHUTTING_DOWN, NULL, NULL, "Retry-After",
		    HD_RETRY_AFTER_S);
		free(g);
	}
	free(q);
}

void tk_get_submit(tk_get_queue *q, hd_rpc_request *req, const char *tenant_id, const char *id,
    const char *customer_id)
{
	tk_get *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	g->req = req;
	snprintf(g->tenant, sizeof(g->tenant), "%s", tenant_id);
	snprintf(g->id, sizeof(g->id), "%s", id);
	snprintf(g->customer, sizeof(g->customer), "%s", customer_id ? customer_id : "");
	if (q->tail != NULL)
		q->tail->next = g;
	else
		q->head = g;
	q->tail = g;
	hd_worker_idle_schedule(q->flush);
}

/* The row of res holding ticket id, or -1. */
static int tk_get_row(const hd_db_result *res, const char *id)
{
	for (int r = 0; r < hd_db_result_ntuples(res, 0); r++) {
		const char *v = hd_db_result_value(res, 0, r, TK_TICKET_COL_ID);
		if (v != NULL && strcasecmp(v, id) == 0)
			return r;
	}
	return -1;
}

/* 200 with the ticket and its ETag, or 404. */
static void tk_get_answer(const tk_get *g, const hd_db_result *res)
{
	int row = tk_get_row(res, g->id);
	const char *requester
	    = row >= 0 ? hd_db_result_value(res, 0, row, TK_TICKET_COL_REQUESTER) : NULL;
	if (row < 0
	    || (g->customer[0] != '\0'
	        && (requester == NULL || strcasecmp(requester, g->customer) != 0))) {
		hd_reply_not_found(g->req, "ticket");
		return;
	}
	const char *version = hd_db_result_value(res, 0, row, TK_TICKET_COL_VERSION);
	hd_buf b = { 0 };
	if (version == NULL || !tk_ticket_json_row(&b, res, 0, row)) {
		hd_buf_free(&b);
		tk_ticket_json_failed(g->req);
		return;
	}
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%s\"", version);
	hd_daemon_reply_compact(g->req, 200, b.data, b.len, "etag", etag, NULL);
	hd_buf_free(&b);
}

static void tk_get_batch_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_get_batch *batch = arg;
	for (int i = 0; i < batch->n; i++) {
		if (err != HD_OK)
			hd_reply_db_error(batch->items[i]->req, err, res);
		else
			tk_get_answer(batch->items[i], res);
		free(batch->items[i]);
	}
	free(batch);
}

/* Takes from the queue up to TK_GET_BATCH_MAX GETs of the first one's
 * tenant, in their order. */
static tk_get_batch *tk_get_take(tk_get_queue *q)
{
	tk_get_batch *batch = calloc(1, sizeof(*batch));
	if (batch == NULL)
		return NULL;
	const char *tenant = q->head->tenant;
	tk_get **link = &q->head, *last = NULL;
	while (*link != NULL && batch->n < TK_GET_BATCH_MAX) {
		tk_get *g = *link;
		if (strcmp(g->tenant, tenant) != 0) {
			last = g;
			link = &g->next;
			continue;
		}
		*link = g->next;
		g->next = NULL;
		batch->items[batch->n++] = g;
	}
	if (*link == NULL)
		q->tail = last;
	else
		for (q->tail = *link; q->tail->next != NULL; q->tail = q->tail->next)
			;
	return batch;
}

/* The ids as a PostgreSQL array literal: "{id,id,...}" (ids are UUIDs). */
static void tk_get_ids(const tk_get_batch *batch, char *out)
{
	size_t at = 0;
	out[at++] = '{';
	for (int i = 0; i < batch->n; i++) {
		if (i > 0)
			out[at++] = ',';
		size_t n = strlen(batch->items[i]->id);
		memcpy(out + at, batch->items[i]->id, n);
		at += n;
	}
	out[at++] = '}';
	out[at] = '\0';
}

static void tk_get_send(tk_get_queue *q, tk_get_batch *batch)
{
	char ids[TK_GET_BATCH_MAX * 37 + 3];
	tk_get_ids(batch, ids);
	const char *tenant = batch->items[0]->tenant;
	const char *p[2] = { tenant, ids };
	hd_db_stmt st = { tk_get_sql, 2, p };
	hd_err err = q->dw->db != NULL
	    ? hd_db_run(q->dw->db, tenant, &st, 1, tk_get_batch_cb, batch)
	    : HD_ERR_UNAVAILABLE;
	if (err != HD_OK)
		tk_get_batch_cb(HD_ERR_UNAVAILABLE, NULL, batch);
}

static void tk_get_flush(void *arg)
{
	tk_get_queue *q = arg;
	while (q->head != NULL) {
		tk_get_batch *batch = tk_get_take(q);
		if (batch == NULL) {
			/* out of memory: answer them rather than keep them waiting */
			tk_get *g = q->head;
			q->head = g->next;
			if (q->head == NULL)
				q->tail = NULL;
			hd_reply_problem(g->req, 500, HD_TEXT_INTERNAL);
			free(g);
			continue;
		}
		tk_get_send(q, batch);
	}
}
