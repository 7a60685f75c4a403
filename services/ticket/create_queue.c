/* Group commit for ticket creation. A tenant's creates serialise on its
 * counter row, which stays locked until the commit's WAL flush; one create
 * per transaction therefore caps a tenant at one create per flush. Instead,
 * each worker keeps one lane per tenant (hashed): while a batch of the
 * tenant is in flight, new creates wait in the lane, and the next batch
 * sends up to TK_LANE_BATCH of them as statements of ONE transaction (one
 * round trip, one flush, numbers still gap-free). Requests are validated
 * before they are queued, so a statement failing (which fails its whole
 * batch, whose creates are then sent one by one) is as rare as a database
 * error or an attachment_ids claim refused. Lanes live on one worker thread. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "hd/log.h"
#include "ticket.h"

#define TK_LANES 64
#define TK_LANE_BATCH (HD_DB_MAX_STMTS - 1)

/* One validated create waiting for its batch. */
typedef struct tk_create {
	hd_rpc_request *req;
	const char *params[TK_CREATE_NPARAMS];
	cJSON *body; /* owned: the strings of params point into it */
	char *tags_json; /* owned */
	char id[37];
	char sentiment[TK_SENTIMENT_MAX];
	char attachment_ids[TK_ATTACH_IDS_MAX];
	struct tk_create *next;
} tk_create;

/* The creates of one tenant on this worker. */
typedef struct tk_lane {
	char tenant[37];
	bool busy;
	tk_create *head, *tail;
} tk_lane;

struct tk_create_queue {
	tk_lane lanes[TK_LANES];
	hd_daemon_worker *dw;
	int inflight; /* batches sent and not yet called back */
	bool closing; /* destroyed while batches were in flight: the last frees q */
};

/* A batch in flight. */
typedef struct tk_batch {
	tk_create_queue *q;
	tk_lane *lane; /* NULL when sent outside a lane */
	int n;
	tk_create *items[TK_LANE_BATCH];
} tk_batch;

hd_err tk_create_queue_create(tk_create_queue **out, hd_daemon_worker *dw)
{
	tk_create_queue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return HD_ERR_NOMEM;
	q->dw = dw;
	*out = q;
	return HD_OK;
}

static void tk_create_free(tk_create *c)
{
	cJSON_Delete(c->body);
	free(c->tags_json);
	free(c);
}

void tk_create_queue_destroy(tk_create_queue *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < TK_LANES; i++) {
		tk_create *c = q->lanes[i].head;
		while (c != NULL) {
			tk_create *next = c->next;
			hd_reply_problem_ex(c->req, 503, HD_TEXT_SHUTTING_DOWN, NULL, NULL,
			    "Retry-After", HD_RETRY_AFTER_S);
			tk_create_free(c);
			c = next;
		}
		q->lanes[i].head = q->lanes[i].tail = NULL;
	}
	if (q->inflight > 0)
		q->closing = true;
	else
		free(q);
}

static void tk_batch_send(tk_batch *b);

/* Starts the lane's next batch, or marks it idle. */
static void tk_lane_next(tk_create_queue *q, tk_lane *lane)
{
	if (lane->head == NULL) {
		lane->busy = false;
		return;
	}
	tk_batch *b = malloc(sizeof(*b));
	if (b == NULL) {
		lane->busy = false;
		return; /* retried when the next create arrives */
	}
	*b = (tk_batch) { .q = q, .lane = lane, .n = 0 };
	while (lane->head != NULL && b->n < TK_LANE_BATCH) {
		b->items[b->n++] = lane->head;
		lane->head = lane->head->next;
	}
	if (lane->head == NULL)
		lane->tail = NULL;
	tk_batch_send(b);
}

/* Sends c alone, outside any lane (a retry after its batch failed). */
static void tk_create_alone(tk_create_queue *q, tk_create *c)
{
	tk_batch *b = malloc(sizeof(*b));
	if (b == NULL) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		tk_create_free(c);
		return;
	}
	*b = (tk_batch) { .q = q, .lane = NULL, .n = 1, .items = { c } };
	tk_batch_send(b);
}

static void tk_batch_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_batch *b = arg;
	/* one statement failed and took the others down: retry them one by one,
	 * so each request gets its own outcome */
	bool retry = err != HD_OK && b->n > 1 && !b->q->closing && res != NULL
	    && hd_db_result_failed_stmt(res) >= 0;
	for (int i = 0; i < b->n; i++) {
		if (retry) {
			tk_create_alone(b->q, b->items[i]);
			continue;
		}
		tk_create_reply(b->items[i]->req, err, res, i);
		tk_create_free(b->items[i]);
	}
	if (err == HD_OK)
		tk_relay_wake();
	tk_create_queue *q = b->q;
	tk_lane *lane = b->lane;
	free(b);
	q->inflight--;
	if (q->closing) {
		if (q->inflight == 0)
			free(q);
		return;
	}
	if (lane != NULL)
		tk_lane_next(q, lane);
}

static void tk_batch_send(tk_batch *b)
{
	hd_db_stmt st[TK_LANE_BATCH];
	for (int i = 0; i < b->n; i++)
		st[i] = (hd_db_stmt) { tk_create_sql, TK_CREATE_NPARAMS, b->items[i]->params };
	const char *tenant = b->items[0]->params[0];
	b->q->inflight++;
	if (b->q->dw->db != NULL
	    && hd_db_run(b->q->dw->db, tenant, st, b->n, tk_batch_cb, b) == HD_OK)
		return;
	tk_batch_cb(HD_ERR_UNAVAILABLE, NULL, b);
}

void tk_create_submit(tk_create_queue *q, hd_rpc_request *req, const char *const *params,
    cJSON *body, char *tags_json)
{
	tk_create *c = malloc(sizeof(*c));
	tk_batch *b = NULL;
	if (c == NULL)
		goto nomem;
	memcpy(c->params, params, sizeof(c->params));
	c->req = req;
	c->body = body;
	c->tags_json = tags_json;
	c->next = NULL;
	strcpy(c->id, params[1]);
	c->params[1] = c->id;
	if (params[13] != NULL) { /* the sentiment: the caller's stack */
		snprintf(c->sentiment, sizeof c->sentiment, "%s", params[13]);
		c->params[13] = c->sentiment;
	}
	snprintf(c->attachment_ids, sizeof c->attachment_ids, "%s", params[14]); /* the stack too */
	c->params[14] = c->attachment_ids;
	const char *tenant = params[0];
	uint32_t h = 2166136261u;
	for (const char *s = tenant; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	tk_lane *lane = &q->lanes[h % TK_LANES];
	if (lane->busy && strcmp(lane->tenant, tenant) == 0) {
		if (lane->tail != NULL)
			lane->tail->next = c;
		else
			lane->head = c;
		lane->tail = c;
		return;
	}
	if ((b = malloc(sizeof(*b))) == NULL)
		goto nomem;
	*b = (tk_batch) { .q = q, .lane = NULL, .n = 1, .items = { c } };
	if (!lane->busy) { /* the lane is free: this tenant takes it */
		lane->busy = true;
		strcpy(lane->tenant, tenant);
		b->lane = lane;
	}
	tk_batch_send(b);
	return;
nomem:
	free(c);
	cJSON_Delete(body);
	free(tags_json);
	hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
}
