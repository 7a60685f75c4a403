/* PostgreSQL for worker loops: libpq in non-blocking pipeline mode.
 *
 * An hd_db owns nconns connections on one event_base. hd_db_run() copies the
 * batch, picks the connection with the fewest batches in flight and writes
 * the whole batch at once: the prepares it still needs (first, so that an
 * error in a statement can never abort a prepare that later batches rely
 * on), the optional set_config of the tenant, each statement, then a
 * pipeline sync, which ends the implicit transaction. Results come back in
 * order: each connection keeps a FIFO of batches in flight and a step counter
 * that walks the commands of the head batch as PQgetResult() hands out their
 * results (a NULL ends one command, PGRES_PIPELINE_SYNC ends the batch).
 *
 * A connection that breaks fails every batch it held with HD_ERR_UNAVAILABLE
 * and reconnects after a backoff (100 ms doubling to 2 s). While no
 * connection is up, or every one holds the pipeline limit
 * (hd_db_set_pipeline_max; none by default), batches wait up to DB_WAIT_MS
 * for one, in order, then fail with HD_ERR_UNAVAILABLE; past
 * hd_db_set_wait_max waiting batches hd_db_run refuses at once: an overloaded
 * daemon answers 503 in bounded time instead of running, long after, the
 * queries of callers that gave up (docs/architecture.md, "Overload").
 * Callbacks run from the loop only, never from inside hd_db_run().
 *
 * The blocking helpers (migrations, one-off statements) are in db_sync.c. */
#include "hd/db.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "hd/log.h"

#define DB_WAIT_MS 2000 /* how long a batch waits for a connection */
#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 2000
#define DB_CONNECT_TIMEOUT_MS 5000
#define DB_MAX_CONNS 64
#define DB_MAX_PREPARED 512 /* distinct statements prepared; others run unnamed */
#define DB_MAX_STEPS (2 * HD_DB_MAX_STMTS + 2)

static const char db_tenant_sql[] = "SELECT set_config('app.tenant_id', $1, true)";

/* Per-connection state of one cached statement. */
enum { PREP_NONE, PREP_PENDING, PREP_READY };

enum { STEP_PREPARE, STEP_TENANT, STEP_STMT };

typedef struct db_step {
	uint8_t kind;
	int8_t stmt; /* caller's statement index, -1 for the tenant */
	int16_t prep; /* cache id, -1 when unnamed */
} db_step;

struct hd_db_result {
	int nstmts;
	PGresult *res[HD_DB_MAX_STMTS]; /* per statement, owned */
	int failed; /* failed statement, -1 if none */
	PGresult *err_res; /* the failing result (owned unless in res[]) */
	bool err_owned;
};

typedef struct db_batch {
	struct db_batch *next;
	hd_db_cb cb;
	void *arg;
	const char *tenant; /* into the batch's own allocation */
	int nstmts;
	hd_db_stmt stmts[HD_DB_MAX_STMTS];
	db_step steps[DB_MAX_STEPS];
	int nsteps;
	int rstep; /* step whose results are being read */
	bool failed; /* a step failed (first failure recorded) */
	struct timeval deadline; /* while waiting for a connection */
	hd_db_result result;
} db_batch;

typedef struct db_queue {
	db_batch *head, *tail;
	int count;
} db_queue;

enum { CONN_DOWN, CONN_CONNECTING, CONN_UP };

typedef struct db_conn {
	hd_db *db;
	int index;
	int state;
	bool broken; /* a send failed; torn down from the loop */
	PGconn *pg;
	struct event *io; /* connecting: one-shot; up: persistent read */
	struct event *wr; /* up: one-shot write when PQflush returned 1 */
	struct event *retry; /* backoff timer */
	int backoff_ms;
	uint8_t *prep; /* PREP_* per cache id */
	db_queue inflight;
} db_conn;

typedef struct db_cache_entry {
	const char *key; /* caller's pointer */
	char *sql; /* copy of the text */
	int id;
} db_cache_entry;

struct hd_db {
	struct event_base *base;
	char *url;
	int nconns;
	int pipeline_max; /* batches in flight per connection; 0: no limit */
	int wait_max; /* batches in db->waiting; 0: no cap */
	db_conn *conns;
	db_queue waiting; /* no connection up yet, or every one full */
	struct event *wait_timer;
	struct event *deferred; /* tears down connections marked broken */
	bool closing;
	db_cache_entry *cache; /* open addressing, 2 * DB_MAX_PREPARED slots */
	int ncached;
};

#define DB_CACHE_SLOTS (2 * DB_MAX_PREPARED)

static void db_conn_start(db_conn *c);
static void db_dispatch_waiting(hd_db *db);

/* ---- small helpers ----------------------------------------------------- */

static void db_queue_push(db_queue *q, db_batch *b)
{
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	q->count++;
}

static db_batch *db_queue_pop(db_queue *q)
{
	db_batch *b = q->head;

	if (b) {
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
		q->count--;
	}
	return b;
}

static void db_ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

hd_err hd_db_err_from_sqlstate(const char *state)
{
	if (state == NULL || strlen(state) != 5)
		return HD_ERR_INTERNAL;
	if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
		return HD_ERR_BUSY;
	if (!strcmp(state, "23505") || !strcmp(state, "23503"))
		return HD_ERR_CONFLICT;
	if (!strcmp(state, "23502") || !strcmp(state, "23514") || !strncmp(state, "22", 2))
		return HD_ERR_VALIDATION;
	if (!strcmp(state, "42501"))
		return HD_ERR_FORBIDDEN;
	if (!strcmp(state, "57014"))
		return HD_ERR_TIMEOUT;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strcmp(state, "53300"))
		return HD_ERR_UNAVAILABLE;
	return HD_ERR_INTERNAL;
}

/* ---- prepared statement cache ----------------------------------------- */

static size_t db_cache_hash(const char *key)
{
	uintptr_t h = (uintptr_t)key;

	h ^= h >> 17;
	h *= (uintptr_t)0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) % DB_CACHE_SLOTS;
}

/* Returns the cache id of sql (adding it), or -1 when the cache is full. */
static int db_cache_id(hd_db *db, const char *sql)
{
	size_t i = db_cache_hash(sql);

	for (;; i = (i + 1) % DB_CACHE_SLOTS) {
		db_cache_entry *e = &db->cache[i];
		if (e->key == NULL)
			break;
		if (e->key == sql && strcmp(e->sql, sql) == 0)
			return e->id;
	}
	if (db->ncached >= DB_MAX_PREPARED)
		return -1;
	char *copy = strdup(sql);
	if (copy == NULL)
		return -1;
	db->cache[i] = (db_cache_entry) { sql, copy, db->ncached };
	return db->ncached++;
}

/* ---- batch completion -------------------------------------------------- */

static void db_result_clear(hd_db_result *r)
{
	for (int i = 0; i < r->nstmts; i++)
		PQclear(r->res[i]);
	if (r->err_owned)
		PQclear(r->err_res);
}

/* Calls the batch's callback and frees it. */
static void db_batch_finish(db_batch *b, hd_err err)
{
	if (err != HD_OK && b->result.err_res == NULL && b->result.failed < 0) {
		/* no server error to report: drop partial results */
		for (int i = 0; i < b->result.nstmts; i++) {
			PQclear(b->result.res[i]);
			b->result.res[i] = NULL;
		}
	}
	b->cb(err, &b->result, b->arg);
	db_result_clear(&b->result);
	free(b);
}

static void db_queue_fail(db_queue *q, hd_err err)
{
	db_queue local = *q;
	db_batch *b;

	*q = (db_queue) { 0 };
	while ((b = db_queue_pop(&local)) != NULL) {
		b->result.failed = -1;
		if (b->result.err_owned)
			PQclear(b->result.err_res);
		b->result.err_res = NULL;
		b->result.err_owned = false;
		db_batch_finish(b, err);
	}
}

/* ---- connection life --------------------------------------------------- */

static void db_conn_close(db_conn *c)
{
	if (c->io) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->wr) {
		event_free(c->wr);
		c->wr = NULL;
	}
	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	c->broken = false;
	if (c->prep)
		memset(c->prep, PREP_NONE, DB_MAX_PREPARED);
}

static void db_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	db_conn_start(arg);
}

/* Closes c, fails what it held and schedules a reconnect with backoff. */
static void db_conn_fail(db_conn *c, const char *why)
{
	hd_db *db = c->db;
	struct timeval tv = { c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000 };

	char msg[256];
	size_t n = 0;

	snprintf(msg, sizeof(msg), "%s", why);
	for (; msg[n] != '\0'; n++) /* libpq messages span lines */
		if (msg[n] == '\n' || msg[n] == '\t')
			msg[n] = ' ';
	while (n > 0 && msg[n - 1] == ' ')
		n--;
	msg[n] = '\0';
	hd_log_warn("db: connection %d lost (%s), retrying in %d ms", c->index, msg, c->backoff_ms);
	c->state = CONN_DOWN;
	db_conn_close(c);
	evtimer_add(c->retry, &tv);
	c->backoff_ms
	    = c->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : c->backoff_ms * 2;
	db_queue_fail(&c->inflight, db->closing ? HD_ERR_CLOSED : HD_ERR_UNAVAILABLE);
}

static void db_conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	db_conn *c = arg;
	int rc = PQflush(c->pg);

	if (rc < 0)
		db_conn_fail(c, "flush");
	else if (rc == 1)
		event_add(c->wr, NULL);
}

/* Marks c broken; the deferred event tears it down from the loop. */
static void db_conn_mark_broken(db_conn *c)
{
	c->broken = true;
	event_active(c->db->deferred, EV_TIMEOUT, 0);
}

static void db_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_db *db = arg;

	for (int i = 0; i < db->nconns; i++)
		if (db->conns[i].broken)
			db_conn_fail(&db->conns[i], PQerrorMessage(db->conns[i].pg));
}

static void db_conn_read_cb(evutil_socket_t fd, short what, void *arg);

/* The connection finished its handshake: switch to pipeline mode. */
static void db_conn_up(db_conn *c)
{
	event_free(c->io);
	c->io = NULL;
	if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1)
		goto fail;
	c->io = event_new(c->db->base, PQsocket(c->pg), EV_READ | EV_PERSIST, db_conn_read_cb, c);
	c->wr = event_new(c->db->base, PQsocket(c->pg), EV_WRITE, db_conn_write_cb, c);
	if (c->io == NULL || c->wr == NULL || event_add(c->io, NULL) != 0)
		goto fail;
	c->state = CONN_UP;
	c->backoff_ms = DB_BACKOFF_MIN_MS;
	db_dispatch_waiting(c->db);
	return;
fail:
	db_conn_fail(c, "pipeline mode");
}

static void db_conn_poll_cb(evutil_socket_t fd, short what, void *arg);

/* Drives PQconnectPoll one step and waits on what it asks for. */
static void db_conn_poll(db_conn *c, PostgresPollingStatusType st)
{
	struct timeval tv = { DB_CONNECT_TIMEOUT_MS / 1000, 0 };
	short ev;

	if (st == PGRES_POLLING_OK) {
		db_conn_up(c);
		return;
	}
	if (st == PGRES_POLLING_FAILED) {
		db_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
	if (c->io)
		event_free(c->io);
	c->io = event_new(c->db->base, PQsocket(c->pg), ev, db_conn_poll_cb, c);
	if (c->io == NULL || event_add(c->io, &tv) != 0)
		db_conn_fail(c, "event");
}

static void db_conn_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	db_conn *c = arg;

	if (what & EV_TIMEOUT) {
		db_conn_fail(c, "connect timeout");
		return;
	}
	db_conn_poll(c, PQconnectPoll(c->pg));
}

static void db_conn_start(db_conn *c)
{
	c->state = CONN_CONNECTING;
	c->pg = PQconnectStart(c->db->url);
	if (c->pg == NULL) {
		db_conn_fail(c, "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		db_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	PQsetNoticeProcessor(c->pg, db_ignore_notice, NULL);
	db_conn_poll(c, PGRES_POLLING_WRITING);
}

/* ---- read side --------------------------------------------------------- */

/* Records the first failure of batch b. */
static void db_batch_record_error(db_batch *b, int stmt, PGresult *res, bool owned)
{
	if (b->failed) {
		if (owned)
			PQclear(res);
		return;
	}
	b->failed = true;
	b->result.failed = stmt;
	b->result.err_res = res;
	b->result.err_owned = owned;
}

/* Takes one non-NULL, non-sync result of the head batch's current step. */
static void db_batch_take(db_conn *c, db_batch *b, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	bool aborted = st == PGRES_PIPELINE_ABORTED;
	const db_step *s = b->rstep < b->nsteps ? &b->steps[b->rstep] : NULL;

	if (s == NULL) { /* an error at commit, before the sync */
		db_batch_record_error(b, -1, res, true);
		return;
	}
	if (s->kind == STEP_PREPARE)
		c->prep[s->prep] = st == PGRES_COMMAND_OK ? PREP_READY : PREP_NONE;
	if (s->kind == STEP_STMT) {
		PQclear(b->result.res[s->stmt]);
		b->result.res[s->stmt] = res;
		if (!ok && !aborted)
			db_batch_record_error(b, s->stmt, res, false);
		return;
	}
	if (!ok && !aborted)
		db_batch_record_error(b, s->stmt, res, true);
	else
		PQclear(res);
}

/* The sync of the head batch arrived: pop it and call back. */
static void db_batch_complete(db_conn *c)
{
	db_batch *b = db_queue_pop(&c->inflight);
	hd_err err = HD_OK;

	if (b->failed) {
		const char *state = b->result.err_res
		    ? PQresultErrorField(b->result.err_res, PG_DIAG_SQLSTATE)
		    : NULL;
		err = hd_db_err_from_sqlstate(state);
	} else if (b->rstep < b->nsteps) {
		err = HD_ERR_INTERNAL; /* results missing: protocol surprise */
	}
	db_batch_finish(b, err);
	if (c->db->pipeline_max > 0)
		db_dispatch_waiting(c->db); /* a slot is free */
}

/* Reads what is available; returns false when c was failed. */
static bool db_conn_read(db_conn *c)
{
	if (PQconsumeInput(c->pg) == 0)
		return false;
	int idle = 0; /* NULLs seen while only the sync was due */

	while (c->inflight.head != NULL && !c->broken && PQstatus(c->pg) == CONNECTION_OK
	    && !PQisBusy(c->pg)) {
		db_batch *b = c->inflight.head;
		PGresult *res = PQgetResult(c->pg);
		if (res == NULL) {
			if (b->rstep < b->nsteps)
				b->rstep++;
			else if (++idle > 1)
				break; /* nothing more until the sync arrives */
			continue;
		}
		idle = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			db_batch_complete(c);
			continue;
		}
		db_batch_take(c, b, res);
	}
	return PQstatus(c->pg) != CONNECTION_BAD;
}

static void db_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	db_conn *c = arg;

	if (!db_conn_read(c))
		db_conn_fail(c, PQerrorMessage(c->pg));
}

/* ---- write side -------------------------------------------------------- */

static void db_stmt_name(char *buf, size_t size, int id)
{
	snprintf(buf, size, "s%d", id);
}

/* Adds a prepare step for sql when c does not have it yet; returns its id. */
static int db_send_prepare(
    db_conn *c, db_batch *b, const char *sql, int nparams, int stmt, bool *ok)
{
	int id = db_cache_id(c->db, sql);
	char name[16];

	if (id < 0 || c->prep[id] != PREP_NONE)
		return id;
	db_stmt_name(name, sizeof(name), id);
	if (!PQsendPrepare(c->pg, name, sql, nparams, NULL))
		*ok = false;
	c->prep[id] = PREP_PENDING;
	b->steps[b->nsteps++] = (db_step) { STEP_PREPARE, (int8_t)stmt, (int16_t)id };
	return id;
}

static int db_send_one(db_conn *c, const char *sql, int id, int nparams, const char *const *params)
{
	char name[16];

	if (id < 0)
		return PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	db_stmt_name(name, sizeof(name), id);
	return PQsendQueryPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
}

/* Writes batch b on c; a failed write marks c broken (b fails from the loop). */
static void db_conn_send(db_conn *c, db_batch *b)
{
	int ids[HD_DB_MAX_STMTS], tenant_id = -1;
	bool ok = true;
	int rc;

	b->nsteps = 0;
	if (b->tenant)
		tenant_id = db_send_prepare(c, b, db_tenant_sql, 1, -1, &ok);
	for (int i = 0; i < b->nstmts; i++)
		ids[i] = db_send_prepare(c, b, b->stmts[i].sql, b->stmts[i].nparams, i, &ok);
	if (b->tenant) {
		ok = ok && db_send_one(c, db_tenant_sql, tenant_id, 1, &b->tenant);
		b->steps[b->nsteps++] = (db_step) { STEP_TENANT, -1, (int16_t)tenant_id };
	}
	for (int i = 0; i < b->nstmts; i++) {
		const hd_db_stmt *s = &b->stmts[i];
		ok = ok && db_send_one(c, s->sql, ids[i], s->nparams, s->params);
		b->steps[b->nsteps++] = (db_step) { STEP_STMT, (int8_t)i, (int16_t)ids[i] };
	}
	ok = ok && PQpipelineSync(c->pg);
	db_queue_push(&c->inflight, b);
	rc = ok ? PQflush(c->pg) : -1;
	if (rc < 0)
		db_conn_mark_broken(c);
	else if (rc == 1)
		event_add(c->wr, NULL);
}

/* Returns the up connection with the fewest batches in flight, or NULL
 * (none up, or every one at the pipeline limit). */
static db_conn *db_pick(hd_db *db)
{
	db_conn *best = NULL;

	for (int i = 0; i < db->nconns; i++) {
		db_conn *c = &db->conns[i];
		if (c->state != CONN_UP || c->broken
		    || (db->pipeline_max > 0 && c->inflight.count >= db->pipeline_max))
			continue;
		if (best == NULL || c->inflight.count < best->inflight.count)
			best = c;
	}
	return best;
}

static void db_dispatch_waiting(hd_db *db)
{
	db_conn *c;

	while (db->waiting.head != NULL && (c = db_pick(db)) != NULL)
		db_conn_send(c, db_queue_pop(&db->waiting));
	if (db->waiting.head == NULL)
		evtimer_del(db->wait_timer);
}

/* Fails the waiting batches whose deadline passed; re-arms for the rest. */
static void db_wait_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_db *db = arg;
	struct timeval now, left;

	event_base_gettimeofday_cached(db->base, &now);
	while (db->waiting.head != NULL && !timercmp(&db->waiting.head->deadline, &now, >)) {
		db_queue expired = { 0 };
		db_queue_push(&expired, db_queue_pop(&db->waiting));
		db_queue_fail(&expired, HD_ERR_UNAVAILABLE);
	}
	if (db->waiting.head != NULL) {
		timersub(&db->waiting.head->deadline, &now, &left);
		evtimer_add(db->wait_timer, &left);
	}
}

static void db_wait(hd_db *db, db_batch *b)
{
	struct timeval now, wait = { DB_WAIT_MS / 1000, (DB_WAIT_MS % 1000) * 1000 };

	event_base_gettimeofday_cached(db->base, &now);
	timeradd(&now, &wait, &b->deadline);
	db_queue_push(&db->waiting, b);
	if (!evtimer_pending(db->wait_timer, NULL))
		evtimer_add(db->wait_timer, &wait);
}

/* ---- public ------------------------------------------------------------ */

/* Copies the batch (statements, parameters, tenant) into one allocation. */
static db_batch *db_batch_copy(const char *tenant, const hd_db_stmt *stmts, int nstmts)
{
	size_t nptr = 0, bytes = tenant ? strlen(tenant) + 1 : 0;

	for (int i = 0; i < nstmts; i++) {
		nptr += (size_t)stmts[i].nparams;
		for (int j = 0; j < stmts[i].nparams; j++)
			bytes += stmts[i].params[j] ? strlen(stmts[i].params[j]) + 1 : 0;
	}
	db_batch *b = malloc(sizeof(*b) + nptr * sizeof(char *) + bytes);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	const char **ptrs = (const char **)(b + 1);
	char *text = (char *)(ptrs + nptr);
	if (tenant) {
		b->tenant = memcpy(text, tenant, strlen(tenant) + 1);
		text += strlen(tenant) + 1;
	}
	for (int i = 0; i < nstmts; i++) {
		b->stmts[i] = (hd_db_stmt) { stmts[i].sql, stmts[i].nparams, ptrs };
		for (int j = 0; j < stmts[i].nparams; j++) {
			const char *p = stmts[i].params[j];
			*ptrs++ = p ? memcpy(text, p, strlen(p) + 1) : NULL;
			text += p ? strlen(p) + 1 : 0;
		}
	}
	b->nstmts = nstmts;
	b->result.nstmts = nstmts;
	b->result.failed = -1;
	return b;
}

static bool db_stmts_valid(const hd_db_stmt *stmts, int nstmts)
{
	if (stmts == NULL || nstmts < 1 || nstmts > HD_DB_MAX_STMTS)
		return false;
	for (int i = 0; i < nstmts; i++) {
		if (stmts[i].sql == NULL || stmts[i].nparams < 0
		    || stmts[i].nparams > HD_DB_MAX_PARAMS
		    || (stmts[i].nparams > 0 && stmts[i].params == NULL))
			return false;
	}
	return true;
}

hd_err hd_db_run(
    hd_db *db, const char *tenant_id, const hd_db_stmt *stmts, int nstmts, hd_db_cb cb, void *arg)
{
	db_batch *b;
	db_conn *c;

	if (db == NULL || cb == NULL || !db_stmts_valid(stmts, nstmts))
		return HD_ERR_INVALID;
	if (db->closing)
		return HD_ERR_CLOSED;
	c = db->waiting.head == NULL ? db_pick(db) : NULL;
	if (c == NULL && db->wait_max > 0 && db->waiting.count >= db->wait_max)
		return HD_ERR_UNAVAILABLE;
	b = db_batch_copy(tenant_id, stmts, nstmts);
	if (b == NULL)
		return HD_ERR_NOMEM;
	b->cb = cb;
	b->arg = arg;
	if (c != NULL)
		db_conn_send(c, b);
	else
		db_wait(db, b);
	return HD_OK;
}

void hd_db_set_pipeline_max(hd_db *db, int max)
{
	if (db != NULL && max >= 0)
		db->pipeline_max = max;
}

void hd_db_set_wait_max(hd_db *db, int max)
{
	if (db != NULL && max >= 0)
		db->wait_max = max;
}

bool hd_db_ready(const hd_db *db)
{
	for (int i = 0; db != NULL && i < db->nconns; i++)
		if (db->conns[i].state == CONN_UP && !db->conns[i].broken)
			return true;
	return false;
}

static hd_err db_conns_init(hd_db *db)
{
	db->conns = calloc((size_t)db->nconns, sizeof(*db->conns));
	if (db->conns == NULL)
		return HD_ERR_NOMEM;
	for (int i = 0; i < db->nconns; i++) {
		db_conn *c = &db->conns[i];
		c->db = db;
		c->index = i;
		c->backoff_ms = DB_BACKOFF_MIN_MS;
		c->prep = calloc(DB_MAX_PREPARED, 1);
		c->retry = evtimer_new(db->base, db_retry_cb, c);
		if (c->prep == NULL || c->retry == NULL)
			return HD_ERR_NOMEM;
	}
	return HD_OK;
}

hd_err hd_db_create(hd_db **out, struct event_base *base, const char *url, int nconns)
{
	hd_db *db;

	if (out == NULL || base == NULL || url == NULL || nconns < 1 || nconns > DB_MAX_CONNS)
		return HD_ERR_INVALID;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return HD_ERR_NOMEM;
	db->base = base;
	db->nconns = nconns;
	db->url = strdup(url);
	db->cache = calloc(DB_CACHE_SLOTS, sizeof(*db->cache));
	db->wait_timer = evtimer_new(base, db_wait_timer_cb, db);
	db->deferred = event_new(base, -1, 0, db_deferred_cb, db);
	if (db->url == NULL || db->cache == NULL || db->wait_timer == NULL || db->deferred == NULL
	    || db_conns_init(db) != HD_OK) {
		hd_db_destroy(db);
		return HD_ERR_NOMEM;
	}
	for (int i = 0; i < nconns; i++)
		db_conn_start(&db->conns[i]);
	*out = db;
	return HD_OK;
}

void hd_db_destroy(hd_db *db)
{
	if (db == NULL)
		return;
	db->closing = true;
	for (int i = 0; db->conns && i < db->nconns; i++) {
		db_conn *c = &db->conns[i];
		db_conn_close(c);
		db_queue_fail(&c->inflight, HD_ERR_CLOSED);
		if (c->retry)
			event_free(c->retry);
		free(c->prep);
	}
	db_queue_fail(&db->waiting, HD_ERR_CLOSED);
	if (db->wait_timer)
		event_free(db->wait_timer);
	if (db->deferred)
		event_free(db->deferred);
	for (int i = 0; db->cache && i < DB_CACHE_SLOTS; i++)
		free(db->cache[i].sql);
	free(db->cache);
	free(db->conns);
	free(db->url);
	free(db);
}

/* ---- results ----------------------------------------------------------- */

static const PGresult *db_result_get(const hd_db_result *r, int stmt)
{
	if (r == NULL || stmt < 0 || stmt >= r->nstmts)
		return NULL;
	return r->res[stmt];
}

int hd_db_result_nstmts(const hd_db_result *res)
{
	return res ? res->nstmts : 0;
}

int hd_db_result_ntuples(const hd_db_result *res, int stmt)
{
	const PGresult *r = db_result_get(res, stmt);

	return r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
}

int hd_db_result_nfields(const hd_db_result *res, int stmt)
{
	const PGresult *r = db_result_get(res, stmt);

	return r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQnfields(r) : 0;
}

const char *hd_db_result_value(const hd_db_result *res, int stmt, int row, int col)
{
	const PGresult *r = db_result_get(res, stmt);

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || row < 0 || col < 0
	    || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

int hd_db_result_failed_stmt(const hd_db_result *res)
{
	return res ? res->failed : -1;
}

static const char *db_result_error_field(const hd_db_result *res, int field)
{
	const char *v = res && res->err_res ? PQresultErrorField(res->err_res, field) : NULL;

	return v ? v : "";
}

const char *hd_db_result_sqlstate(const hd_db_result *res)
{
	return db_result_error_field(res, PG_DIAG_SQLSTATE);
}

const char *hd_db_result_constraint(const hd_db_result *res)
{
	return db_result_error_field(res, PG_DIAG_CONSTRAINT_NAME);
}

const char *hd_db_result_message(const hd_db_result *res)
{
	return db_result_error_field(res, PG_DIAG_MESSAGE_PRIMARY);
}
