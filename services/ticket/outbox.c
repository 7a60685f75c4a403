/* The outbox relay and events.since. The relay lives on worker 0's loop and
 * uses that worker's database: a round is one statement,
 * ticket.outbox_claim, which numbers the committed unpublished rows in commit
 * order (pub_seq, the events' "seq"), marks them and returns them; the relay
 * then publishes each on the bus. Rounds are started by tk_relay_wake()
 * after every committed write of this process (a flag keeps it to one post
 * per round), and by a 1 s timer that also covers rows of other replicas and
 * runs the SLA breach detector every few ticks. Pub/sub may drop (or a crash
 * may hit between claim and publish): consumers see the gap in "seq" and
 * fetch the missing events with events.since.
 * No LISTEN/NOTIFY: NOTIFY takes a database-wide lock from pre-commit
 * through the WAL flush, serialising the commits of every writer. */
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/bus.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "ticket.h"

#define TK_RELAY_BATCH 500
#define TK_RELAY_TICK_MS 1000
#define TK_SLA_EVERY_TICKS 5
#define TK_EVENTS_MAX 1000

static const char sql_claim[] = "SELECT type, event FROM ticket.outbox_claim($1)";
static const char sql_sla_detect[] = "SELECT ticket.sla_detect(1000)";
static const char sql_events_since[]
    = "SELECT ticket.event_json(o)::text, o.pub_seq FROM ticket.outbox o"
      " WHERE o.tenant_id = $1 AND o.pub_seq > $2::bigint ORDER BY o.pub_seq LIMIT $3";

/* The relay of this process (touched only on worker 0's thread, except
 * `posted`, which any thread may set). */
typedef struct tk_relay {
	hd_daemon_worker *dw;
	hd_bus_pub *pub;
	struct event *timer;
	atomic_bool posted; /* a wake is queued on worker 0 */
	bool busy; /* a round is in flight */
	bool again; /* woken while busy */
	bool stopping;
	int ticks;
} tk_relay;

static tk_relay tk_relay_state;

static void tk_relay_round(tk_relay *r);

static void tk_relay_idle(tk_relay *r, bool more)
{
	r->busy = false;
	if (!r->stopping && (more || r->again)) {
		r->again = false;
		tk_relay_round(r);
	}
}

/* Outbox lag (API.md /metrics): how long the oldest event of this round
 * waited between its transaction and the relay (its occurred_at is the
 * transaction's start), 0 when the round found nothing to publish. */
static void tk_relay_observe_lag(const char *first_event)
{
	double lag = 0;
	cJSON *ev = first_event != NULL ? cJSON_Parse(first_event) : NULL;
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(ev, "occurred_at");
	int64_t at_ms = 0;
	if (cJSON_IsString(at) && tk_ts_parse_ms(at->valuestring, &at_ms)) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		lag = now_ms > at_ms ? (double)(now_ms - at_ms) / 1000.0 : 0;
	}
	cJSON_Delete(ev);
	hd_metrics_set("hd_outbox_lag_seconds", NULL, lag);
}

static void tk_relay_claim_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_relay *r = arg;
	int rows = err == HD_OK ? hd_db_result_ntuples(res, 0) : 0;
	if (err != HD_OK)
		hd_log_warn("outbox relay: claiming events failed: %s", hd_strerror(err));
	else
		tk_relay_observe_lag(rows > 0 ? hd_db_result_value(res, 0, 0, 1) : NULL);
	for (int i = 0; i < rows && r->pub != NULL; i++) {
		const char *type = hd_db_result_value(res, 0, i, 0);
		const char *event = hd_db_result_value(res, 0, i, 1);
		if (type != NULL && event != NULL
		    && hd_bus_publish(r->pub, type, event, strlen(event)) != HD_OK)
			hd_log_warn(
			    "outbox relay: publish failed (consumers catch up with events.since)");
	}
	tk_relay_idle(r, rows == TK_RELAY_BATCH);
}

static void tk_relay_round(tk_relay *r)
{
	if (r->busy) {
		r->again = true;
		return;
	}
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", TK_RELAY_BATCH);
	const char *p[1] = { lim };
	hd_db_stmt st = { sql_claim, 1, p };
	if (hd_db_run(r->dw->db, NULL, &st, 1, tk_relay_claim_cb, r) == HD_OK)
		r->busy = true;
}

static void tk_relay_kick(void *arg)
{
	tk_relay *r = arg;
	atomic_store(&r->posted, false);
	if (!r->stopping)
		tk_relay_round(r);
}

void tk_relay_wake(void)
{
	tk_relay *r = &tk_relay_state;
	if (r->dw == NULL || atomic_exchange(&r->posted, true))
		return;
	if (hd_worker_post(r->dw->worker, tk_relay_kick, r) != HD_OK)
		atomic_store(&r->posted, false);
}

static void tk_relay_sla_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_relay *r = arg;
	const char *n = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (err != HD_OK)
		hd_log_warn("SLA detector failed: %s", hd_strerror(err));
	else if (n != NULL && strcmp(n, "0") != 0 && !r->stopping)
		tk_relay_round(r);
}

static void tk_relay_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	tk_relay *r = arg;
	(void)fd;
	(void)what;
	if (r->stopping)
		return;
	tk_relay_round(r);
	if (++r->ticks % TK_SLA_EVERY_TICKS == 0) {
		hd_db_stmt st = { sql_sla_detect, 0, NULL };
		if (hd_db_run(r->dw->db, NULL, &st, 1, tk_relay_sla_cb, r) != HD_OK)
			hd_log_warn("SLA detector could not run");
	}
}

hd_err tk_relay_start(hd_daemon_worker *dw)
{
	tk_relay *r = &tk_relay_state;
	const char *step = "bus";
	struct timeval tv = { TK_RELAY_TICK_MS / 1000, (TK_RELAY_TICK_MS % 1000) * 1000 };
	if (dw->db == NULL)
		return HD_ERR_INVALID;
	r->dw = dw;
	r->stopping = false;
	hd_metrics_describe("hd_outbox_lag_seconds", "gauge",
	    "Age of the oldest event the outbox relay published in its last round (0: none "
	    "waiting)");
	if (hd_bus_pub_open(&r->pub, hd_config_str("HD_BUS_PUB_URL")) != HD_OK)
		goto fail_bus;
	step = "timer";
	r->timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, tk_relay_tick_cb, r);
	if (r->timer == NULL || event_add(r->timer, &tv) != 0)
		goto fail_timer;
	return HD_OK;
fail_timer:
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
	hd_bus_pub_close(r->pub);
	r->pub = NULL;
fail_bus:
	hd_log_error("outbox relay: %s setup failed", step);
	r->dw = NULL;
	return HD_ERR_INTERNAL;
}

void tk_relay_stop(void)
{
	tk_relay *r = &tk_relay_state;
	r->stopping = true;
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
	hd_bus_pub_close(r->pub);
	r->pub = NULL;
}

static const char *const tk_events_params[] = { "after_seq", "limit", NULL };

/* Reads after_seq and limit from the JSON body, else from the query. */
static void tk_events_args(
    hd_rpc_request *req, int64_t *after, int64_t *limit, hd_field_errors *errs, bool *bad_body)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	if (e->body_len > 0) {
		cJSON *body = NULL;
		if (!hd_req_body(req, NULL, &body)) {
			*bad_body = true;
			return;
		}
		hd_json_get_int(body, "after_seq", false, 0, INT64_MAX, after, errs);
		hd_json_get_int(body, "limit", false, 1, TK_EVENTS_MAX, limit, errs);
		cJSON_Delete(body);
		return;
	}
	hd_query q;
	if (!hd_req_query(req, tk_events_params, &q)) {
		*bad_body = true;
		return;
	}
	const char *a = hd_query_get(&q, "after_seq"), *l = hd_query_get(&q, "limit");
	char *end;
	if (a != NULL && (*a == '\0' || (*after = strtoll(a, &end, 10)) < 0 || *end != '\0'))
		hd_field_errors_add(errs, "after_seq", "must be a non-negative integer");
	if (l != NULL
	    && (*l == '\0' || (*limit = strtoll(l, &end, 10)) < 1 || *limit > TK_EVENTS_MAX
	        || *end != '\0'))
		hd_field_errors_add(errs, "limit", "must be an integer from 1 to 1000");
}

typedef struct tk_events_req {
	hd_rpc_request *req;
	int limit;
} tk_events_req;

static void tk_events_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_events_req *er = arg;
	if (err != HD_OK) {
		hd_reply_db_error(er->req, err, res);
	} else {
		int rows = hd_db_result_ntuples(res, 0);
		const char *last = rows > 0 ? hd_db_result_value(res, 0, rows - 1, 1) : NULL;
		char tail[64];
		snprintf(tail, sizeof(tail), "\"last_seq\":%s,\"more\":%s",
		    last != NULL ? last : "null", rows >= er->limit ? "true" : "false");
		hd_reply_items(er->req, res, 0, rows, tail);
	}
	free(er);
}

void tk_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	int64_t after = 0, limit = 100;
	hd_field_errors errs = { .count = 0 };
	bool bad = false;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return;
	tk_events_args(req, &after, &limit, &errs, &bad);
	if (bad || hd_reply_invalid(req, &errs))
		return;
	tk_events_req *er = malloc(sizeof(*er));
	if (er == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*er = (tk_events_req) { req, (int)limit };
	char a[24], l[24];
	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%lld", (long long)limit);
	const char *p[3] = { c.tenant_id, a, l };
	hd_db_stmt st = { sql_events_since, 3, p };
	if (hd_db_run(dw->db, c.tenant_id, &st, 1, tk_events_cb, er) != HD_OK) {
		free(er);
		hd_reply_db_error(req, HD_ERR_UNAVAILABLE, NULL);
	}
}
