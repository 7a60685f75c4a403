/* Identical lists, read once. The list requests a worker receives together
 * (one loop iteration) whose pages depend on the same things (list_key.c:
 * the tenant, the caller's role, the caller's own id for a customer, and
 * the very same statements with the very same parameters: sort, filters,
 * cursor, limit) share one execution and one page written once:
 * many agents watching the same queue ask for the same first page. This is
 * not a cache: the statements are sent once the loop has nothing else to run
 * (hd_worker_idle), after every request they answer arrived, and nothing is
 * kept once they are answered. Lives on one worker thread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ticket.h"

typedef struct tk_list_waiter {
	hd_rpc_request *req;
	struct tk_list_waiter *next;
} tk_list_waiter;

/* One distinct list: what its page depends on, and who waits. */
typedef struct tk_list_read {
	tk_list_key key;
	int limit, ts_col;
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

void tk_list_submit(tk_list_queue *q, hd_rpc_request *req, const hd_caller *c,
    const hd_db_stmt *stmts, int nstmts, int limit, int ts_col)
{
	tk_list_read *r = calloc(1, sizeof(*r));
	tk_list_waiter *w = calloc(1, sizeof(*w));
	if (r == NULL || w == NULL || !tk_list_key_fill(&r->key, c, stmts, nstmts)) {
		free(r);
		free(w);
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	r->limit = limit;
	r->ts_col = ts_col;
	w->req = req;
	for (tk_list_read *p = q->pending; p != NULL; p = p->next) {
		if (tk_list_key_same(&p->key, &r->key)) {
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
	bool ok
	    = err == HD_OK && tk_list_page_write(&b, r->limit, r->ts_col, res, r->key.nstmts - 1);
	while (r->waiters != NULL) {
		tk_list_waiter *w = r->waiters;
		r->waiters = w->next;
		if (err != HD_OK)
			hd_reply_db_error(w->req, err, res);
		else if (!ok)
			tk_ticket_json_failed(w->req);
		else
			hd_daemon_reply_compact(w->req, 200, b.data, b.len, NULL);
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
		hd_err err = q->dw->db != NULL ? hd_db_run(q->dw->db, r->key.tenant, r->key.stmts,
		                 r->key.nstmts, tk_list_read_cb, r)
		                               : HD_ERR_UNAVAILABLE;
		if (err != HD_OK)
			tk_list_read_cb(HD_ERR_UNAVAILABLE, NULL, r);
	}
}
