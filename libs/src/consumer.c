/* Event consumers between daemons (hd/consumer.h has the contract,
 * libs/sql/consumer.sql the position table and its guard). A consumer's
 * state lives on worker 0's loop; the bus callback (an NNG thread) only
 * queues a copy of the event and wakes the loop. One batch (an event's
 * transaction, the position read) or one replay call is in flight at a
 * time, so events apply in seq order; while a run of a replay page is
 * being applied, the next page may be fetched (read-ahead, one call at a
 * time), so that the source's work overlaps the database's. */
#include "hd/consumer.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd/buf.h"
#include "hd/bus.h"
#include "hd/config.h"
#include "hd/envelope.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/outbox.h"
#include "hd/rfc3339.h"
#include "hd/rpc.h"
#include "hd/uuid.h"
#include "nng_close.h"

#define CS_INBOX_MAX 1024 /* events queued from the bus; past it: catch up */
#define CS_CALL_MS 5000 /* deadline of a replay call */
#define CS_NAME_MAX 63
/* Events in one run of a consumer without batch_sql: consume_run, then per
 * event its tenant's set_config and its effect, within HD_DB_MAX_STMTS. */
#define CS_EACH_RUN_MAX ((HD_DB_MAX_STMTS - 1) / 2)
#define CS_TENANT_SQL "SELECT set_config('app.tenant_id', $1, true)"

/* libs/sql/consumer.sql, consumer_002.sql and consumer_003.sql, compiled in
 * by libs/Makefile. */
extern const char hd_consumer_sql[];
extern const char hd_consumer_002_sql[];
extern const char hd_consumer_003_sql[];

const hd_db_shared_migration hd_consumer_migrations[] = {
	{ "hd_consumer_001", hd_consumer_sql },
	{ "hd_consumer_002", hd_consumer_002_sql },
	{ "hd_consumer_003", hd_consumer_003_sql },
	{ NULL, NULL },
};

#define CS_PARKED_METRIC "hd_consumer_parked_total"

typedef struct cs_msg {
	struct cs_msg *next;
	char json[];
} cs_msg;

typedef struct cs_state {
	const hd_consumer_spec *spec;
	char consume_sql[128];
	char run_sql[128];
	char position_sql[128];
	char park_sql[192];
	hd_daemon_worker *dw;
	hd_rpc_client *rpc;
	hd_bus_sub *sub;
	struct event *timer;
	atomic_bool running;
	atomic_bool posted; /* a wake-up is queued on the loop */
	pthread_mutex_t mu; /* guards the inbox */
	cs_msg *head, *tail;
	int inbox_len;
	bool overflow; /* the inbox dropped events */
	/* worker 0's thread only */
	int64_t last; /* the position applied */
	int64_t pending; /* the seq of the batch in flight */
	bool known; /* last was read from the database */
	bool busy; /* a batch or a replay call is in flight */
	bool catchup; /* page replay until level */
	bool failed; /* wait for the timer before trying again */
	bool fail_logged;
	cJSON *page; /* a replay reply being applied */
	int page_i;
	bool page_more;
	cJSON *ahead; /* the page after it, fetched while it applies */
	bool ahead_more;
	bool fetching; /* a read-ahead call is in flight */
	int64_t ahead_sent_ms;
	int64_t batch_off_until; /* one event at a time up to this seq (a run failed) */
	/* an event whose effect keeps failing with an error of its own
	 * (cs_error_is_the_events): parked after HD_CONSUMER_PARK_AFTER */
	int64_t poison_seq;
	int poison_failures;
	bool parking; /* the batch in flight parks poison_seq */
	char poison_state[6];
	char poison_error[256];
	int64_t replay_sent_ms; /* when the replay call in flight was sent */
	int64_t started_ms;
	_Atomic int64_t as_of_ms; /* hd_consumer_as_of_ms */
} cs_state;

#define CS_INIT                                                                                    \
	{                                                                                          \
		.mu = PTHREAD_MUTEX_INITIALIZER                                                    \
	}
static cs_state cs_all[HD_CONSUMER_MAX] = { CS_INIT, CS_INIT, CS_INIT, CS_INIT };
static atomic_int cs_count; /* read by hd_consumer_as_of_ms on any thread */

static void cs_pump(cs_state *c);
static int64_t cs_now_ms(void);

static bool cs_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	return n > 0 && n <= CS_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == n;
}

/* ---- inbox (any thread) ---- */

static void cs_kick(void *arg)
{
	cs_state *c = arg;
	atomic_store(&c->posted, false);
	cs_pump(c);
}

static void cs_wake(cs_state *c)
{
	if (!atomic_load(&c->running) || atomic_exchange(&c->posted, true))
		return;
	if (hd_worker_post(c->dw->worker, cs_kick, c) != HD_OK)
		atomic_store(&c->posted, false);
}

static void cs_bus_cb(const char *type, const char *json, size_t len, void *arg)
{
	cs_state *c = arg;
	cs_msg *m = malloc(sizeof(*m) + len + 1);
	(void)type;
	if (m != NULL) {
		memcpy(m->json, json, len);
		m->json[len] = '\0';
		m->next = NULL;
	}
	pthread_mutex_lock(&c->mu);
	if (m == NULL || c->inbox_len >= CS_INBOX_MAX) {
		c->overflow = true;
		free(m);
	} else {
		if (c->tail != NULL)
			c->tail->next = m;
		else
			c->head = m;
		c->tail = m;
		c->inbox_len++;
	}
	pthread_mutex_unlock(&c->mu);
	cs_wake(c);
}

/* Takes the oldest queued event (NULL: none); *overflow tells whether the
 * inbox dropped some since the last call. */
static cs_msg *cs_pop(cs_state *c, bool *overflow)
{
	pthread_mutex_lock(&c->mu);
	cs_msg *m = c->head;
	if (m != NULL) {
		c->head = m->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->inbox_len--;
	}
	*overflow = c->overflow;
	c->overflow = false;
	pthread_mutex_unlock(&c->mu);
	return m;
}

/* ---- failures ---- */

static void cs_fail(cs_state *c, const char *what, const char *detail)
{
	if (!c->fail_logged)
		hd_log_warn("consumer of %s: %s failed (%s); retrying every %d ms", c->spec->source,
		    what, detail, HD_CONSUMER_CATCHUP_MS);
	c->fail_logged = true;
	c->failed = true;
	c->catchup = true;
	cJSON_Delete(c->page);
	c->page = NULL;
	cJSON_Delete(c->ahead);
	c->ahead = NULL;
}

/* ---- the position ---- */

static void cs_position_cb(hd_err err, const hd_db_result *res, void *arg)
{
	cs_state *c = arg;
	c->busy = false;
	if (!atomic_load(&c->running))
		return;
	if (err != HD_OK) {
		cs_fail(c, "reading the position", hd_strerror(err));
		return;
	}
	const char *v = hd_db_result_ntuples(res, 0) > 0 ? hd_db_result_value(res, 0, 0, 0) : NULL;
	c->last = v != NULL ? strtoll(v, NULL, 10) : 0;
	c->known = true;
	c->catchup = true;
	cs_pump(c);
}

static void cs_load_position(cs_state *c)
{
	const char *p[1] = { c->spec->source };
	hd_db_stmt st = { c->position_sql, 1, p };
	if (hd_db_run(c->dw->db, NULL, &st, 1, cs_position_cb, c) == HD_OK)
		c->busy = true;
	else
		cs_fail(c, "reading the position", "database");
}

/* ---- applying one event ---- */

typedef enum { CS_STARTED, CS_SKIPPED, CS_GAP } cs_offer_outcome;

/* Whether a failed effect's error comes from the event itself, so that it
 * would fail the same way forever: a data exception (22), an integrity
 * violation (23) or an error a function raised (P0). Not a database that is
 * down, a deadlock, a timeout or a missing privilege (docs/operations.md,
 * "Parked events"). */
static bool cs_error_is_the_events(hd_err err, const hd_db_result *res)
{
	const char *state = res != NULL ? hd_db_result_sqlstate(res) : "";
	return (err == HD_ERR_VALIDATION || err == HD_ERR_CONFLICT || err == HD_ERR_INTERNAL)
	    && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0
	        || strncmp(state, "P0", 2) == 0);
}

/* Counts a failure of the single event in flight; after
 * HD_CONSUMER_PARK_AFTER in a row of its own kind, its next offer parks it. */
static void cs_poison_count(cs_state *c, hd_err err, const hd_db_result *res)
{
	if (c->pending != c->last + 1 || !cs_error_is_the_events(err, res)) {
		c->poison_seq = 0;
		return;
	}
	if (c->poison_seq != c->pending) {
		c->poison_seq = c->pending;
		c->poison_failures = 0;
	}
	c->poison_failures++;
	snprintf(c->poison_state, sizeof c->poison_state, "%s", hd_db_result_sqlstate(res));
	snprintf(c->poison_error, sizeof c->poison_error, "%s", hd_db_result_message(res));
}

static void cs_parked(cs_state *c)
{
	char labels[96];
	snprintf(labels, sizeof labels, "source=\"%s\"", c->spec->source);
	hd_metrics_add(CS_PARKED_METRIC, labels, 1);
	hd_log_error("consumer of %s: event %lld parked after %d failures (%s %s); it is kept "
	             "in consumer_parked (docs/operations.md, \"Parked events\")",
	    c->spec->source, (long long)c->pending, c->poison_failures, c->poison_state,
	    c->poison_error);
	c->poison_seq = 0;
}

static void cs_applied_cb(hd_err err, const hd_db_result *res, void *arg)
{
	cs_state *c = arg;
	bool parking = c->parking;
	c->busy = false;
	c->parking = false;
	if (!atomic_load(&c->running))
		return;
	if (err == HD_OK) {
		c->last = c->pending;
		c->fail_logged = false;
		if (parking)
			cs_parked(c);
	} else if (res != NULL && strcmp(hd_db_result_sqlstate(res), "HDC01") == 0) {
		c->known = false; /* another replica moved the position: read it again */
	} else {
		if (!parking)
			cs_poison_count(c, err, res);
		/* a run that failed (whichever event): one at a time past it */
		if (c->pending > c->last + 1)
			c->batch_off_until = c->pending;
		cs_fail(c, "applying an event",
		    res != NULL && hd_db_result_message(res)[0] != '\0' ? hd_db_result_message(res)
		                                                        : hd_strerror(err));
		return;
	}
	cs_pump(c);
}

static const char *cs_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool hd_consumer_event_read(const cJSON *obj, hd_consumer_event *ev)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(obj, "seq");
	const cJSON *actor = cJSON_GetObjectItemCaseSensitive(obj, "actor");
	ev->type = cs_str(obj, "type");
	ev->tenant_id = cs_str(obj, "tenant_id");
	ev->id = cs_str(obj, "id");
	ev->actor = cs_str(obj, "actor");
	ev->occurred_at = cs_str(obj, "occurred_at");
	long long at_ms = 0;
	if (ev->occurred_at != NULL && !hd_time_parse(ev->occurred_at, &at_ms))
		ev->occurred_at = NULL; /* not a reason to drop the event */
	ev->data = cJSON_GetObjectItemCaseSensitive(obj, "data");
	size_t type_len = ev->type != NULL ? strlen(ev->type) : 0;
	if (!cJSON_IsNumber(seq)
	    || !(seq->valuedouble >= 1 && seq->valuedouble <= 9007199254740992.0)
	    || seq->valuedouble != (double)(int64_t)seq->valuedouble || type_len == 0
	    || type_len > 64 || !hd_uuid_valid(ev->tenant_id) || !hd_uuid_valid(ev->id)
	    || !cJSON_IsObject(ev->data)
	    || !(actor == NULL || cJSON_IsNull(actor) || hd_uuid_valid(ev->actor)))
		return false;
	ev->seq = (int64_t)seq->valuedouble;
	return true;
}

/* Applies ev when it is the next one, drops it when applied already, tells
 * a gap when it is further on. */
static void cs_malformed(const cs_state *c)
{
	hd_log_warn("consumer of %s: an event without a well-formed seq, type, tenant_id, id, "
	            "actor or data was dropped",
	    c->spec->source);
}

static cs_offer_outcome cs_offer(cs_state *c, const cJSON *obj)
{
	hd_consumer_event ev;
	if (!hd_consumer_event_read(obj, &ev)) {
		cs_malformed(c);
		return CS_SKIPPED;
	}
	hd_consumer_seq place = hd_consumer_seq_place(c->last, ev.seq);
	if (place != HD_CONSUMER_SEQ_NEXT)
		return place == HD_CONSUMER_SEQ_SEEN ? CS_SKIPPED : CS_GAP;
	char *data_text = cJSON_PrintUnformatted(ev.data);
	char seq_text[24];
	snprintf(seq_text, sizeof(seq_text), "%lld", (long long)ev.seq);
	const char *cp[2] = { c->spec->source, seq_text };
	const char *ep[7]
	    = { ev.tenant_id, ev.type, data_text, ev.id, seq_text, ev.actor, ev.occurred_at };
	const char *effect = c->spec->effect_sql(ev.type);
	hd_db_stmt st[2]
	    = { { c->consume_sql, 2, cp }, { effect, c->spec->effect_occurred_at ? 7 : 6, ep } };
	int nst = effect != NULL ? 2 : 1;
	char failures[16];
	const char *pp[11] = { c->spec->source, seq_text, ev.tenant_id, ev.id, ev.type, ev.actor,
		data_text, ev.occurred_at, c->poison_state, c->poison_error, failures };
	c->parking = ev.seq == c->poison_seq && c->poison_failures >= HD_CONSUMER_PARK_AFTER;
	if (c->parking) {
		snprintf(failures, sizeof failures, "%d", c->poison_failures);
		st[0] = (hd_db_stmt) { c->park_sql, 11, pp };
		nst = 1;
	}
	c->pending = ev.seq;
	hd_err err = data_text != NULL
	    ? hd_db_run(c->dw->db, ev.tenant_id, st, nst, cs_applied_cb, c)
	    : HD_ERR_NOMEM;
	cJSON_free(data_text);
	if (err != HD_OK) {
		c->parking = false;
		cs_fail(c, "queueing an event", hd_strerror(err));
		return CS_SKIPPED;
	}
	c->busy = true;
	return CS_STARTED;
}

/* ---- catching up ---- */

typedef struct cs_reply {
	cs_state *c;
	bool ahead; /* a read-ahead call */
	int64_t sent_ms;
	hd_err err;
	char *raw;
	size_t raw_len;
} cs_reply;

static void cs_replied_on_loop(void *arg)
{
	cs_reply *r = arg;
	cs_state *c = r->c;
	if (r->ahead)
		c->fetching = false;
	else
		c->busy = false;
	cJSON *body = hd_consumer_replay_page(r->err, r->raw, r->raw_len);
	bool is_page = body != NULL;
	bool more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "more"));
	if (r->ahead && c->page != NULL && atomic_load(&c->running) && is_page) {
		c->ahead = body; /* applied after the page being applied */
		c->ahead_more = more;
		c->ahead_sent_ms = r->sent_ms;
		body = NULL;
	} else if (r->ahead && !is_page) {
		/* a failed read-ahead: the page's end asks again, as without one */
		if (c->page == NULL)
			c->catchup = true;
	} else if (atomic_load(&c->running) && is_page) {
		/* (checked event by event: a page that does not follow the
		 * position is skipped or shows a gap, like any other) */
		c->page = body;
		c->page_i = 0;
		c->page_more = more;
		c->replay_sent_ms = r->sent_ms;
		body = NULL;
	} else if (atomic_load(&c->running)) {
		cs_fail(c, c->spec->replay_op, r->err != HD_OK ? hd_strerror(r->err) : "bad reply");
	}
	cJSON_Delete(body);
	hd_rpc_free(r->raw);
	free(r);
	if (atomic_load(&c->running))
		cs_pump(c);
}

/* On an NNG thread: hands the reply to the loop. */
static void cs_replied(hd_err err, char *raw, size_t raw_len, void *arg)
{
	cs_reply *r = arg;
	r->err = err;
	r->raw = raw;
	r->raw_len = raw_len;
	/* stopping (hd_rpc_client_close ends the call): the loop may not run again */
	if (!atomic_load(&r->c->running)
	    || hd_worker_post(r->c->dw->worker, cs_replied_on_loop, r) != HD_OK) {
		hd_rpc_free(raw);
		free(r);
	}
}

static int64_t cs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks the source for the events after after_seq: a catch-up call (the
 * consumer is busy until it answers) or a read-ahead one (ahead). */
static void cs_replay_call(cs_state *c, int64_t after_seq, bool ahead)
{
	cs_reply *r = calloc(1, sizeof(*r));
	char request_id[96], *msg = NULL;
	size_t len = 0;
	hd_err err = r != NULL ? HD_OK : HD_ERR_NOMEM;
	if (err == HD_OK) {
		snprintf(request_id, sizeof(request_id), "consumer-%s", c->spec->source);
		r->sent_ms = cs_now_ms();
		r->ahead = ahead;
		int limit = c->spec->page_limit;
		if (limit < 1 || limit > HD_CONSUMER_PAGE_MAX)
			limit = HD_CONSUMER_PAGE;
		err = hd_consumer_replay_encode(c->spec->replay_op, request_id, NULL, after_seq,
		    limit, r->sent_ms + CS_CALL_MS, &msg, &len);
	}
	if (err == HD_OK) {
		r->c = c;
		err = hd_rpc_client_call(c->rpc, msg, len, CS_CALL_MS, cs_replied, r);
	}
	free(msg);
	if (err != HD_OK) {
		free(r);
		if (!ahead)
			cs_fail(c, c->spec->replay_op, hd_strerror(err));
		return;
	}
	if (ahead)
		c->fetching = true;
	else
		c->busy = true;
}

static void cs_replay(cs_state *c)
{
	cs_replay_call(c, c->last, false);
}

/* While a run of the page applies: fetches the page after it, when the
 * source said there is more and no read-ahead is in flight or held. */
static void cs_read_ahead(cs_state *c)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(c->page, "items");
	hd_consumer_event ev;
	if (!c->page_more || c->fetching || c->ahead != NULL
	    || !hd_consumer_event_read(
	        cJSON_GetArrayItem(items, cJSON_GetArraySize(items) - 1), &ev))
		return;
	cs_replay_call(c, ev.seq, true);
}

/* Sets the spec's lag gauge: how long ago the figures were last level. */
static void cs_lag_set(cs_state *c)
{
	char labels[96];
	if (c->spec->lag_metric == NULL)
		return;
	int64_t as_of = atomic_load(&c->as_of_ms);
	int64_t lag_ms = cs_now_ms() - (as_of > 0 ? as_of : c->started_ms);
	snprintf(labels, sizeof labels, "source=\"%s\"", c->spec->source);
	hd_metrics_set(c->spec->lag_metric, labels, lag_ms > 0 ? (double)lag_ms / 1000.0 : 0);
}

/* Starts the spec's batch_sql over the JSON array of events in b (freed),
 * the last of them being seq last; false when it could not be queued. */
static bool cs_run_start(cs_state *c, hd_buf *b, int64_t last)
{
	const char *p[2] = { c->spec->source, b->data };
	hd_db_stmt st = { c->spec->batch_sql, 2, p };
	hd_err err
	    = b->failed ? HD_ERR_NOMEM : hd_db_run(c->dw->db, NULL, &st, 1, cs_applied_cb, c);
	hd_buf_free(b);
	if (err != HD_OK) {
		cs_fail(c, "queueing a run of events", hd_strerror(err));
		return false;
	}
	c->pending = last;
	c->busy = true;
	return true;
}

/* The texts of one event of a run, for its effect's parameters. */
typedef struct cs_run_event {
	hd_consumer_event ev;
	char seq[24];
	char *data;
	const char *params[7];
} cs_run_event;

/* Fills the statements of a run of n events (read into e) without
 * batch_sql: consume_run over them (its parameters in rp), then each
 * event's effect, preceded by set_config when its tenant is not the one
 * before it (the first one's is hd_db_run's). Returns how many. */
static int cs_each_run_stmts(
    const cs_state *c, cs_run_event *e, int n, const char *rp[3], hd_db_stmt *st)
{
	int nst = 0;
	const char *tenant = e[0].ev.tenant_id; /* the one set */
	rp[0] = c->spec->source;
	rp[1] = e[0].seq;
	rp[2] = e[n - 1].seq;
	st[nst++] = (hd_db_stmt) { c->run_sql, 3, rp };
	for (int i = 0; i < n; i++) {
		const char *effect = c->spec->effect_sql(e[i].ev.type);
		if (effect == NULL)
			continue;
		if (strcmp(e[i].ev.tenant_id, tenant) != 0)
			st[nst++] = (hd_db_stmt) { CS_TENANT_SQL, 1, &e[i].ev.tenant_id };
		tenant = e[i].ev.tenant_id;
		st[nst++]
		    = (hd_db_stmt) { effect, c->spec->effect_occurred_at ? 7 : 6, e[i].params };
	}
	return nst;
}

/* Applies events objs[0..n) (consecutive, the first the next one, n at
 * most CS_EACH_RUN_MAX) in one transaction for a consumer without
 * batch_sql: the position written once, then each event's effect in its
 * tenant, in seq order; false when it could not be queued. */
static bool cs_each_run_start(cs_state *c, const cJSON *const *objs, int n)
{
	cs_run_event e[CS_EACH_RUN_MAX] = { { .data = NULL } };
	hd_db_stmt st[HD_DB_MAX_STMTS];
	const char *rp[3];
	bool ok = true;
	for (int i = 0; i < n; i++) {
		ok = hd_consumer_event_read(objs[i], &e[i].ev) && ok;
		e[i].data = cJSON_PrintUnformatted(e[i].ev.data);
		ok = ok && e[i].data != NULL;
		snprintf(e[i].seq, sizeof e[i].seq, "%lld", (long long)e[i].ev.seq);
		const char *ep[7] = { e[i].ev.tenant_id, e[i].ev.type, e[i].data, e[i].ev.id,
			e[i].seq, e[i].ev.actor, e[i].ev.occurred_at };
		memcpy(e[i].params, ep, sizeof ep);
	}
	hd_err err = ok ? hd_db_run(c->dw->db, e[0].ev.tenant_id, st,
	                 cs_each_run_stmts(c, e, n, rp, st), cs_applied_cb, c)
	                : HD_ERR_NOMEM;
	for (int i = 0; i < n; i++)
		cJSON_free(e[i].data);
	if (err != HD_OK) {
		cs_fail(c, "queueing a run of events", hd_strerror(err));
		return false;
	}
	c->pending = e[n - 1].ev.seq;
	c->busy = true;
	return true;
}

/* The most events one run may take: a page's with batch_sql, else what
 * fits in one hd_db_run. */
static int cs_run_max(const cs_state *c)
{
	return c->spec->batch_sql != NULL ? HD_CONSUMER_PAGE_MAX : CS_EACH_RUN_MAX;
}

/* Applies the page's next events that follow the position, up to the
 * first gap or malformed one, in one transaction (the spec's batch_sql, or
 * cs_each_run_start); true when such a run (of two events or more) was
 * started. */
static bool cs_page_run(cs_state *c)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(c->page, "items");
	int n = cJSON_GetArraySize(items), first = c->page_i, end = first;
	int64_t next = c->last + 1;
	hd_consumer_event ev;
	const cJSON *run[CS_EACH_RUN_MAX];
	if (c->last < c->batch_off_until)
		return false;
	/* (walked by links: cJSON_GetArrayItem counts from the head each time) */
	const cJSON *head = cJSON_GetArrayItem(items, first), *obj = head;
	for (; end < n && end - first < cs_run_max(c) && obj != NULL;
	     end++, next++, obj = obj->next) {
		if (!hd_consumer_event_read(obj, &ev) || ev.seq != next)
			break;
		if (c->spec->batch_sql == NULL)
			run[end - first] = obj;
	}
	if (end - first < 2)
		return false;
	bool started;
	if (c->spec->batch_sql == NULL) {
		started = cs_each_run_start(c, run, end - first);
	} else {
		hd_buf b = { 0 };
		hd_buf_puts(&b, "[");
		obj = head;
		for (int i = first; i < end; i++, obj = obj->next) {
			char *text = cJSON_PrintUnformatted(obj);
			hd_buf_puts(&b, i > first ? "," : "");
			hd_buf_puts(&b, text != NULL ? text : "");
			b.failed = b.failed || text == NULL;
			cJSON_free(text);
		}
		hd_buf_puts(&b, "]");
		started = cs_run_start(c, &b, next - 1);
	}
	if (!started)
		return false;
	c->page_i = end;
	cs_read_ahead(c);
	return true;
}

/* Offers the next event of the replay page; true when one was started. */
static bool cs_page_next(cs_state *c)
{
	if (cs_page_run(c))
		return true;
	if (c->failed)
		return false;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(c->page, "items");
	const cJSON *ev = cJSON_GetArrayItem(items, c->page_i++);
	cs_offer_outcome o = ev != NULL ? cs_offer(c, ev) : CS_GAP;
	if (ev == NULL && !c->page_more) {
		/* level with the source as of the call: every event it had is applied */
		atomic_store(&c->as_of_ms, c->replay_sent_ms);
		cs_lag_set(c);
	}
	if (o == CS_GAP) {
		/* the page ended (or skipped ahead: ask again from the position) */
		c->catchup = ev != NULL || c->page_more;
		cJSON_Delete(c->page);
		c->page = NULL;
		if (ev == NULL && c->ahead != NULL) { /* the read-ahead page follows */
			c->page = c->ahead;
			c->page_i = 0;
			c->page_more = c->ahead_more;
			c->replay_sent_ms = c->ahead_sent_ms;
			c->ahead = NULL;
			c->catchup = false;
		} else if (ev == NULL && c->fetching) {
			c->catchup = false; /* its reply becomes the page (cs_replied_on_loop) */
		}
	}
	return o == CS_STARTED;
}

/* ---- live runs ---- */

static int cs_inbox_count(cs_state *c)
{
	pthread_mutex_lock(&c->mu);
	int n = c->inbox_len;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* The events of a live run being gathered: with batch_sql their JSON array
 * (text), else the parsed events (at most CS_EACH_RUN_MAX). */
typedef struct cs_live_run {
	hd_buf text;
	cJSON *objs[CS_EACH_RUN_MAX];
	int n;
} cs_live_run;

/* Takes the events the bus queued while a transaction was in flight, when
 * there are two or more: the ones that follow the position go in one run,
 * one transaction, as replay pages do (under a steady stream of events a
 * consumer then pays one transaction per run, not per event;
 * docs/architecture.md, "Event consumers"): the spec's batch_sql, or each
 * event's effect after one consume_run (cs_each_run_start). It stops at a
 * gap (then a catch-up) or at cs_run_max events; events seen already and
 * malformed ones are dropped as cs_offer drops them. False when it took
 * nothing (fewer than two queued, or one event at a time after a failed
 * run). */
static bool cs_inbox_run(cs_state *c)
{
	if (c->last < c->batch_off_until || cs_inbox_count(c) < 2)
		return false;
	cs_live_run run = { .n = 0 };
	int64_t next = c->last + 1;
	bool overflow = false;
	hd_buf_puts(&run.text, "[");
	while (next - c->last <= cs_run_max(c) && !c->catchup) {
		cs_msg *m = cs_pop(c, &overflow);
		c->catchup = overflow;
		if (m == NULL)
			break;
		cJSON *obj = cJSON_Parse(m->json);
		hd_consumer_event ev;
		hd_consumer_seq place = HD_CONSUMER_SEQ_SEEN;
		if (obj != NULL && hd_consumer_event_read(obj, &ev))
			place = hd_consumer_seq_place(next - 1, ev.seq);
		else
			cs_malformed(c);
		if (place == HD_CONSUMER_SEQ_NEXT && c->spec->batch_sql == NULL) {
			run.objs[run.n++] = obj;
			obj = NULL;
		} else if (place == HD_CONSUMER_SEQ_NEXT) {
			hd_buf_puts(&run.text, next > c->last + 1 ? "," : "");
			hd_buf_puts(&run.text, m->json);
		}
		next += place == HD_CONSUMER_SEQ_NEXT;
		c->catchup = c->catchup || place == HD_CONSUMER_SEQ_GAP;
		cJSON_Delete(obj);
		free(m);
	}
	hd_buf_puts(&run.text, "]");
	if (next == c->last + 1) {
		hd_buf_free(&run.text);
		return true; /* only seen or malformed ones, or a gap first */
	}
	if (c->spec->batch_sql != NULL) {
		cs_run_start(c, &run.text, next - 1);
		return true;
	}
	hd_buf_free(&run.text);
	if (run.n == 1) /* (fewer arrived than counted: a drop-out of the inbox) */
		cs_offer(c, run.objs[0]);
	else
		cs_each_run_start(c, (const cJSON *const *)run.objs, run.n);
	for (int i = 0; i < run.n; i++)
		cJSON_Delete(run.objs[i]);
	return true;
}

/* ---- the loop ---- */

static void cs_pump(cs_state *c)
{
	while (atomic_load(&c->running) && !c->busy && !c->failed) {
		if (!c->known) {
			cs_load_position(c);
			continue;
		}
		if (c->page != NULL) {
			if (cs_page_next(c))
				return;
			continue;
		}
		if (c->fetching)
			return; /* the read-ahead reply comes first (then a catch-up, if need be) */
		if (c->catchup) {
			cs_replay(c);
			continue;
		}
		if (cs_inbox_run(c))
			continue;
		bool overflow;
		cs_msg *m = cs_pop(c, &overflow);
		cJSON *ev = m != NULL ? cJSON_Parse(m->json) : NULL;
		free(m);
		if (overflow || (ev != NULL && cs_offer(c, ev) == CS_GAP))
			c->catchup = true;
		cJSON_Delete(ev);
		if (m == NULL && !overflow)
			return;
	}
}

static void cs_tick(evutil_socket_t fd, short what, void *arg)
{
	cs_state *c = arg;
	(void)fd;
	(void)what;
	c->failed = false;
	if (!c->busy && c->page == NULL)
		c->catchup = true;
	cs_lag_set(c);
	cs_pump(c);
}

hd_err hd_consumer_start(const hd_consumer_spec *spec, const char *schema, hd_daemon_worker *dw)
{
	struct timeval tv
	    = { HD_CONSUMER_CATCHUP_MS / 1000, (HD_CONSUMER_CATCHUP_MS % 1000) * 1000 };
	if (spec == NULL || !cs_name_ok(spec->source) || !cs_name_ok(schema) || dw == NULL
	    || dw->db == NULL || spec->effect_sql == NULL || spec->replay_op == NULL
	    || spec->prefixes == NULL || spec->url_setting == NULL || cs_count >= HD_CONSUMER_MAX)
		return HD_ERR_INVALID;
	cs_state *c = &cs_all[cs_count];
	c->spec = spec;
	c->dw = dw;
	c->known = c->busy = c->catchup = c->failed = c->fail_logged = c->fetching = false;
	c->last = c->batch_off_until = c->poison_seq = 0;
	c->parking = false;
	c->started_ms = cs_now_ms();
	atomic_store(&c->as_of_ms, 0);
	if (spec->lag_metric != NULL)
		hd_metrics_describe(spec->lag_metric, "gauge",
		    "seconds the figures trail the source's events (0: level at the last "
		    "catch-up)");
	snprintf(c->consume_sql, sizeof(c->consume_sql), "SELECT \"%s\".consume($1, $2::bigint)",
	    schema);
	snprintf(c->run_sql, sizeof(c->run_sql),
	    "SELECT \"%s\".consume_run($1, $2::bigint, $3::bigint)", schema);
	snprintf(c->position_sql, sizeof(c->position_sql),
	    "SELECT last_seq FROM \"%s\".consumed WHERE source = $1", schema);
	snprintf(c->park_sql, sizeof(c->park_sql),
	    "SELECT \"%s\".consume_parked($1, $2::bigint, $3::uuid, $4::uuid, $5::text, $6::uuid,"
	    " $7::json, $8::text, $9::text, $10::text, $11::int)",
	    schema);
	hd_metrics_describe(CS_PARKED_METRIC, "counter",
	    "events whose effect kept failing with an error of their own, kept aside "
	    "(docs/operations.md, Parked events)");
	const char *step = spec->url_setting;
	char peer[72]; /* over mutual TLS the source's certificate names hd-<source> */
	snprintf(peer, sizeof peer, "hd-%s", spec->source);
	if (hd_rpc_client_open_peer(&c->rpc, hd_config_str(spec->url_setting), peer) != HD_OK)
		goto fail;
	step = "timer";
	c->timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, cs_tick, c);
	if (c->timer == NULL || event_add(c->timer, &tv) != 0)
		goto fail;
	atomic_store(&c->running, true);
	step = "HD_BUS_SUB_URL";
	if (hd_bus_sub_open(&c->sub, hd_config_str("HD_BUS_SUB_URL"), spec->prefixes, cs_bus_cb, c)
	    != HD_OK)
		goto fail;
	cs_count++;
	cs_pump(c);
	return HD_OK;
fail:
	hd_log_error("consumer of %s: %s setup failed", spec->source, step);
	atomic_store(&c->running, false);
	if (c->timer != NULL)
		event_free(c->timer);
	c->timer = NULL;
	hd_rpc_client_close(c->rpc);
	c->rpc = NULL;
	return HD_ERR_INTERNAL;
}

void hd_consumer_stop_all(void)
{
	for (int i = 0; i < cs_count; i++) {
		cs_state *c = &cs_all[i];
		bool overflow;
		atomic_store(&c->running, false);
		event_free(c->timer);
		c->timer = NULL;
		/* once an NNG close hung (nng_close.h), closing these would hang too:
		 * they stay reachable from here and are left to the process exit */
		if (!hd_nng_wedged()) {
			hd_bus_sub_close(c->sub);
			c->sub = NULL;
			hd_rpc_client_close(c->rpc);
			c->rpc = NULL;
		}
		cJSON_Delete(c->page);
		c->page = NULL;
		cJSON_Delete(c->ahead);
		c->ahead = NULL;
		for (cs_msg *m = cs_pop(c, &overflow); m != NULL; m = cs_pop(c, &overflow))
			free(m);
	}
	cs_count = 0;
}

int64_t hd_consumer_as_of_ms(const char *source)
{
	for (int i = 0; i < cs_count; i++)
		if (source != NULL && strcmp(cs_all[i].spec->source, source) == 0)
			return atomic_load(&cs_all[i].as_of_ms);
	return 0;
}

/* ---- hd-<daemon> --replay-parked ---- */

/* Runs one statement on pg; true when it succeeded. *out keeps the result
 * when asked (PQclear it), else it is cleared. */
static bool cs_sync(PGconn *pg, const char *sql, int n, const char *const *p, PGresult **out)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok) /* not the DETAIL, which may quote the event's data */
		hd_log_warn("--replay-parked: %s (%s)",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
		    PQresultErrorField(res, PG_DIAG_SQLSTATE));
	if (out != NULL && ok)
		*out = res;
	else
		PQclear(res);
	return ok;
}

/* Applies the parked event of row 0 of next (seq, tenant_id, event_id, type,
 * actor_id, data, occurred_at) in the open transaction and deletes it; true when done. */
static bool cs_replay_one(
    PGconn *pg, const hd_consumer_spec *spec, const char *delete_sql, const PGresult *next)
{
	const char *seq = PQgetvalue(next, 0, 0), *tenant = PQgetvalue(next, 0, 1);
	const char *type = PQgetvalue(next, 0, 3);
	const char *tp[1] = { tenant };
	const char *ep[7] = { tenant, type, PQgetvalue(next, 0, 5), PQgetvalue(next, 0, 2), seq,
		PQgetisnull(next, 0, 4) ? NULL : PQgetvalue(next, 0, 4),
		PQgetisnull(next, 0, 6) ? NULL : PQgetvalue(next, 0, 6) };
	const char *dp[2] = { spec->source, seq };
	const char *effect = spec->effect_sql(type);
	return cs_sync(pg, "SELECT set_config('app.tenant_id', $1, true)", 1, tp, NULL)
	    && (effect == NULL || cs_sync(pg, effect, spec->effect_occurred_at ? 7 : 6, ep, NULL))
	    && cs_sync(pg, delete_sql, 2, dp, NULL);
}

/* Replays the parked events of one source in seq order; counts them. */
static void cs_replay_source(
    PGconn *pg, const hd_consumer_spec *spec, const char *schema, int *done, int *failed)
{
	char next_sql[256], delete_sql[160], after[24] = "0";
	snprintf(next_sql, sizeof next_sql,
	    "SELECT seq, tenant_id, event_id, type, actor_id, data, occurred_at"
	    " FROM \"%s\".consumer_parked"
	    " WHERE source = $1 AND seq > $2::bigint ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED",
	    schema);
	snprintf(delete_sql, sizeof delete_sql,
	    "DELETE FROM \"%s\".consumer_parked WHERE source = $1 AND seq = $2::bigint", schema);
	for (;;) {
		const char *np[2] = { spec->source, after };
		PGresult *next = NULL;
		if (!cs_sync(pg, "BEGIN", 0, NULL, NULL) || !cs_sync(pg, next_sql, 2, np, &next)) {
			(*failed)++;
			return;
		}
		if (PQntuples(next) == 0) {
			PQclear(next);
			cs_sync(pg, "COMMIT", 0, NULL, NULL);
			return;
		}
		snprintf(after, sizeof after, "%s", PQgetvalue(next, 0, 0));
		bool ok = cs_replay_one(pg, spec, delete_sql, next)
		    && cs_sync(pg, "COMMIT", 0, NULL, NULL);
		hd_log_fields(ok ? HD_LOG_INFO : HD_LOG_WARN,
		    ok ? "parked event applied" : "parked event still fails: kept", "source",
		    spec->source, "seq", after, "type", PQgetvalue(next, 0, 3), NULL);
		PQclear(next);
		if (!ok)
			cs_sync(pg, "ROLLBACK", 0, NULL, NULL);
		*(ok ? done : failed) += 1;
	}
}

int hd_consumer_replay_parked(const hd_consumer_spec *specs, const char *schema, const char *url)
{
	int done = 0, failed = 0;
	if (specs == NULL || !cs_name_ok(schema))
		return 2;
	PGconn *pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK) {
		hd_log_error("--replay-parked: cannot connect: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	for (const hd_consumer_spec *s = specs; s->source != NULL; s++)
		cs_replay_source(pg, s, schema, &done, &failed);
	PQfinish(pg);
	hd_log_info("--replay-parked: %d applied, %d still failing (kept)", done, failed);
	return failed > 0 ? 1 : 0;
}
