/* Identical lists, read once. The list requests a worker receives together
 * (one loop iteration) that would send the very same statements with the
 * very same parameters (tenant, the customer's own id for a customer, sort,
 * filters, cursor, limit) share one execution and one page written once:
 * many agents watching the same queue ask for the same first page. This is
 * not a cache: the statements are sent once the loop has nothing else to run
 * (hd_worker_idle), after every request they answer arrived, and nothing is
 * kept once they are answered. Lives on one worker thread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ticket.h"

#define TK_LIST_MAX_PARAMS 10
#define TK_LIST_STORE 1024

typedef struct tk_list_waiter {
	hd_rpc_request *req;
	struct tk_list_waiter *next;
} tk_list_waiter;

/* One distinct list: its statements, parameters copied, and who waits. */
typedef struct tk_list_read {
	hd_db_stmt stmts[2];
	int nstmts;
	int limit, ts_col;
	const char *params[2][TK_LIST_MAX_PARAMS]; /* point into store */
	uint32_t nulls; /* bit s * 16 + i: parameter i of statement s is NULL */
	size_t store_len;
	char store[TK_LIST_STORE]; /* the parameters, each NUL-terminated */
	tk_list_waiter *waiters;
	struct tk_list_read *next;
} tk_list_read;

struct tk_list_queue {
	hd_daemon_worker *dw;
	hd_worker_idle *flush;
	tk_list_read *pending;
};

static void tk_list_flush(void *arg);

hd_err tk_list_queue_create(tk_list_queue **out, hd_daemon_worker *dw)
{
	tk_list_queue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return HD_ERR_NOMEM;
	q->dw = dw;
	hd_err err = hd_worker_idle_create(&q->flush, dw->worker, tk_list_flush, q);
	if (err != HD_OK) {
		free(q);
		return err;
	}
	*out = q;
	return HD_OK;
}

/* Answers every waiter of r with status (a problem) and frees r. */
static void tk_list_read_fail(tk_list_read *r, int status, const char *detail)
{
	while (r->waiters != NULL) {
		tk_list_waiter *w = r->waiters;
		r->waiters = w->next;
		hd_daemon_reply_problem(w->req, status, detail, NULL);
		free(w);
	}
	free(r);
}

void tk_list_queue_destroy(tk_list_queue *q)
{
	if (q == NULL)
		return;
	hd_worker_idle_destroy(q->flush);
	while (q->pending != NULL) {
		tk_list_read *r = q->pending;
		q->pending = r->next;
		tk_list_read_fail(r, 503, "the service is shutting down");
	}
	free(q);
}

/* Copies stmts' parameters into r; false when they do not fit. */
static bool tk_list_read_fill(tk_list_read *r, const hd_db_stmt *stmts, int nstmts)
{
	r->nstmts = nstmts;
	for (int s = 0; s < nstmts; s++) {
		if (stmts[s].nparams > TK_LIST_MAX_PARAMS)
			return false;
		r->stmts[s] = (hd_db_stmt) { stmts[s].sql, stmts[s].nparams, r->params[s] };
		for (int i = 0; i < stmts[s].nparams; i++) {
			const char *v = stmts[s].params[i];
			if (v == NULL) {
				r->nulls |= UINT32_C(1) << (s * 16 + i);
				continue;
			}
			size_t n = strlen(v) + 1;
			if (n > sizeof(r->store) - r->store_len)
				return false;
			memcpy(r->store + r->store_len, v, n);
			r->params[s][i] = r->store + r->store_len;
			r->store_len += n;
		}
	}
	return true;
}

/* True when a and b send the same statements with the same parameters (the
 * statements are static strings: the same text is the same pointer). */
static bool tk_list_read_same(const tk_list_read *a, const tk_list_read *b)
{
	if (a->nstmts != b->nstmts || a->nulls != b->nulls || a->store_len != b->store_len)
		return false;
	for (int s = 0; s < a->nstmts; s++)
		if (a->stmts[s].sql != b->stmts[s].sql
		    || a->stmts[s].nparams != b->stmts[s].nparams)
			return false;
	return memcmp(a->store, b->store, a->store_len) == 0;
}

void tk_list_submit(tk_list_queue *q, hd_rpc_request *req, const hd_db_stmt *stmts, int nstmts,
    int limit, int ts_col)
{
	tk_list_read *r = calloc(1, sizeof(*r));
	tk_list_waiter *w = calloc(1, sizeof(*w));
	if (r == NULL || w == NULL || nstmts < 1 || nstmts > 2
	    || !tk_list_read_fill(r, stmts, nstmts)) {
		free(r);
		free(w);
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	r->limit = limit;
	r->ts_col = ts_col;
	w->req = req;
	for (tk_list_read *p = q->pending; p != NULL; p = p->next) {
		if (tk_list_read_same(p, r)) {
			w->next = p->waiters;
			p->waiters = w;
			free(r);
			return;
		}
	}
	r->waiters = w;
	r->next = q->pending;
	q->pending = r;
	hd_worker_idle_schedule(q->flush);
}

static void tk_list_read_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_list_read *r = arg;
	hd_buf b = { 0 };
	bool ok = err == HD_OK && tk_list_page_write(&b, r->limit, r->ts_col, res, r->nstmts - 1);
	while (r->waiters != NULL) {
		tk_list_waiter *w = r->waiters;
		r->waiters = w->next;
		if (err != HD_OK)
			hd_reply_db_error(w->req, err, res);
		else if (!ok)
			tk_ticket_json_failed(w->req);
		else
			hd_daemon_reply_json(w->req, 200, b.data, b.len, NULL);
		free(w);
	}
	hd_buf_free(&b);
	free(r);
}

static void tk_list_flush(void *arg)
{
	tk_list_queue *q = arg;
	while (q->pending != NULL) {
		tk_list_read *r = q->pending;
		q->pending = r->next;
		/* parameter 0 of the list statement is the tenant */
		const char *tenant = r->stmts[r->nstmts - 1].params[0];
		hd_err err = q->dw->db != NULL
		    ? hd_db_run(q->dw->db, tenant, r->stmts, r->nstmts, tk_list_read_cb, r)
		    : HD_ERR_UNAVAILABLE;
		if (err != HD_OK)
			tk_list_read_cb(HD_ERR_UNAVAILABLE, NULL, r);
	}
}
