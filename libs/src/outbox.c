/* The outbox relay and events.since of one daemon's schema (hd/outbox.h has
 * the contract, libs/sql/outbox.sql the table it works on). The relay lives
 * on worker 0's loop; its statements and events.since's are built once by
 * hd_outbox_init for the schema and stay valid for the process (hd_db keys
 * its prepared statements by the SQL pointer). */
#include "hd/outbox.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hd/bus.h"
#include "hd/caller.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/page.h"
#include "hd/query.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"

#define OB_BATCH 500
#define OB_TICK_MS 1000
#define OB_EVENTS_MAX 1000
#define OB_EVENTS_DEFAULT 100
#define OB_SCHEMA_MAX 63

/* libs/sql/outbox.sql and outbox_002.sql, compiled in by libs/Makefile. */
extern const char hd_outbox_sql[];
extern const char hd_outbox_002_sql[];
extern const char hd_outbox_003_sql[];
extern const char hd_outbox_004_sql[];

const hd_db_shared_migration hd_outbox_migrations[] = {
	{ "hd_outbox_001", hd_outbox_sql },
	{ "hd_outbox_002", hd_outbox_002_sql },
	{ "hd_outbox_003", hd_outbox_003_sql },
	{ "hd_outbox_004", hd_outbox_004_sql },
	{ NULL, NULL },
};

/* The schema's statements (hd_outbox_init). */
static char ob_sql_claim[128];
static char ob_sql_events_since[384];
static char ob_sql_events_replay[128];

/* The relay of this process (touched only on worker 0's thread, except
 * `posted` and `dw`, which any thread may read). */
typedef struct ob_relay {
	_Atomic(hd_daemon_worker *) dw;
	/* the relay's own connection, as hd_relay (HD_RELAY_DATABASE_URL): the
	 * only role that may run outbox_claim; request handlers' hd_app may not */
	hd_db *db;
	hd_bus_pub *pub;
	struct event *timer;
	atomic_bool posted; /* a wake is queued on worker 0 */
	bool busy; /* a round is in flight */
	bool again; /* woken while busy */
	bool stopping;
} ob_relay;

static ob_relay ob_state;

hd_err hd_outbox_init(const char *schema)
{
	size_t n = schema != NULL ? strlen(schema) : 0;
	if (n == 0 || n > OB_SCHEMA_MAX || strspn(schema, "abcdefghijklmnopqrstuvwxyz_") != n)
		return HD_ERR_INVALID;
	/* The name is [a-z_]+: quoting it is wrapping it in double quotes. */
	snprintf(ob_sql_claim, sizeof(ob_sql_claim),
	    "SELECT type, event FROM \"%s\".outbox_claim($1)", schema);
	snprintf(ob_sql_events_since, sizeof(ob_sql_events_since),
	    "SELECT \"%s\".event_json(o)::text, o.pub_seq FROM \"%s\".outbox o"
	    " WHERE o.tenant_id = $1 AND o.pub_seq > $2::bigint ORDER BY o.pub_seq LIMIT $3",
	    schema, schema);
	snprintf(ob_sql_events_replay, sizeof(ob_sql_events_replay),
	    "SELECT event, pub_seq FROM \"%s\".outbox_replay($1::bigint, $2::integer)", schema);
	return HD_OK;
}

/* ---- relay ---- */

static void ob_round(ob_relay *r);

static void ob_idle(ob_relay *r, bool more)
{
	r->busy = false;
	if (!r->stopping && (more || r->again)) {
		r->again = false;
		ob_round(r);
	}
}

/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" (what <schema>.ts writes) into
 * milliseconds since 1970; false when it is not that shape. */
static bool ob_ts_parse_ms(const char *ts, int64_t *epoch_ms)
{
	static const char shape[] = "0000-00-00T00:00:00.000Z";
	int y, mo, d, h, mi, s, ms;
	if (ts == NULL || strlen(ts) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == '0' ? !(ts[i] >= '0' && ts[i] <= '9') : ts[i] != shape[i])
			return false;
	if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &y, &mo, &d, &h, &mi, &s, &ms) != 7 || y < 1
	    || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
		return false;
	/* days from civil (Howard Hinnant's algorithm) */
	int64_t yy = mo <= 2 ? y - 1 : y;
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	*epoch_ms = ((days * 86400 + h * 3600 + mi * 60 + s) * 1000) + ms;
	return true;
}

/* Outbox lag (/metrics): how long the oldest event of this round waited
 * between its transaction and the relay (its occurred_at is the
 * transaction's start), 0 when the round found nothing to publish. */
static void ob_observe_lag(const char *first_event)
{
	double lag = 0;
	cJSON *ev = first_event != NULL ? cJSON_Parse(first_event) : NULL;
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(ev, "occurred_at");
	int64_t at_ms = 0;
	if (cJSON_IsString(at) && ob_ts_parse_ms(at->valuestring, &at_ms)) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		lag = now_ms > at_ms ? (double)(now_ms - at_ms) / 1000.0 : 0;
	}
	cJSON_Delete(ev);
	hd_metrics_set("hd_outbox_lag_seconds", NULL, lag);
}

static void ob_claim_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ob_relay *r = arg;
	int rows = err == HD_OK ? hd_db_result_ntuples(res, 0) : 0;
	if (err != HD_OK && !r->stopping)
		hd_log_warn("outbox relay: claiming events failed: %s", hd_strerror(err));
	else
		ob_observe_lag(rows > 0 ? hd_db_result_value(res, 0, 0, 1) : NULL);
	for (int i = 0; i < rows && r->pub != NULL; i++) {
		const char *type = hd_db_result_value(res, 0, i, 0);
		const char *event = hd_db_result_value(res, 0, i, 1);
		if (type != NULL && event != NULL
		    && hd_bus_publish(r->pub, type, event, strlen(event)) != HD_OK)
			hd_log_warn(
			    "outbox relay: publish failed (consumers catch up with events.since)");
	}
	ob_idle(r, rows == OB_BATCH);
}

static void ob_round(ob_relay *r)
{
	hd_daemon_worker *dw = atomic_load(&r->dw);
	if (r->busy) {
		r->again = true;
		return;
	}
	char lim[16];
	snprintf(lim, sizeof(lim), "%d", OB_BATCH);
	const char *p[1] = { lim };
	hd_db_stmt st = { ob_sql_claim, 1, p };
	if (dw != NULL && hd_db_run(r->db, NULL, &st, 1, ob_claim_cb, r) == HD_OK)
		r->busy = true;
}

static void ob_kick(void *arg)
{
	ob_relay *r = arg;
	atomic_store(&r->posted, false);
	if (!r->stopping)
		ob_round(r);
}

void hd_outbox_wake(void)
{
	ob_relay *r = &ob_state;
	hd_daemon_worker *dw = atomic_load(&r->dw);
	if (dw == NULL || atomic_exchange(&r->posted, true))
		return;
	if (hd_worker_post(dw->worker, ob_kick, r) != HD_OK)
		atomic_store(&r->posted, false);
}

static void ob_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	ob_relay *r = arg;
	(void)fd;
	(void)what;
	if (!r->stopping)
		ob_round(r);
}

hd_err hd_outbox_start(hd_daemon_worker *dw)
{
	ob_relay *r = &ob_state;
	const char *step = "bus";
	struct timeval tv = { OB_TICK_MS / 1000, (OB_TICK_MS % 1000) * 1000 };
	if (dw == NULL || dw->db == NULL || ob_sql_claim[0] == '\0')
		return HD_ERR_INVALID;
	r->stopping = false;
	r->busy = r->again = false;
	atomic_store(&r->posted, false);
	hd_metrics_describe("hd_outbox_lag_seconds", "gauge",
	    "Age of the oldest event the outbox relay published in its last round (0: none "
	    "waiting)");
	if (hd_bus_pub_open(&r->pub, hd_config_str("HD_BUS_PUB_URL")) != HD_OK)
		goto fail_bus;
	step = "database (HD_RELAY_DATABASE_URL)";
	if (hd_db_create(
	        &r->db, hd_worker_base(dw->worker), hd_config_str("HD_RELAY_DATABASE_URL"), 1)
	    != HD_OK)
		goto fail_timer;
	step = "timer";
	r->timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, ob_tick_cb, r);
	if (r->timer == NULL || event_add(r->timer, &tv) != 0)
		goto fail_timer;
	atomic_store(&r->dw, dw);
	return HD_OK;
fail_timer:
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
	hd_db_destroy(r->db);
	r->db = NULL;
	hd_bus_pub_close(r->pub);
	r->pub = NULL;
fail_bus:
	hd_log_error("outbox relay: %s setup failed", step);
	return HD_ERR_INTERNAL;
}

void hd_outbox_stop(void)
{
	ob_relay *r = &ob_state;
	r->stopping = true;
	atomic_store(&r->dw, NULL);
	if (r->timer != NULL)
		event_free(r->timer);
	r->timer = NULL;
	hd_db_destroy(r->db); /* a claim in flight ends HD_ERR_CLOSED: rolled back */
	r->db = NULL;
	hd_bus_pub_close(r->pub);
	r->pub = NULL;
}

/* ---- events.since ---- */

/* Reads after_seq and limit from the JSON body, else from the query; false
 * after replying to a malformed body or query. */
static bool ob_events_args(
    hd_rpc_request *req, int64_t *after, int64_t *limit, hd_field_errors *errs)
{
	static const char *const known[] = { "after_seq", "limit", NULL };
	const hd_envelope *e = hd_rpc_request_envelope(req);
	if (e->body_len > 0) {
		cJSON *body = NULL;
		if (!hd_req_body(req, known, &body))
			return false;
		hd_json_get_int(body, "after_seq", false, 0, INT64_MAX, after, errs);
		hd_json_get_int(body, "limit", false, 1, OB_EVENTS_MAX, limit, errs);
		cJSON_Delete(body);
		return true;
	}
	hd_query q;
	if (!hd_req_query(req, known, &q))
		return false;
	const char *a = hd_query_get(&q, "after_seq"), *l = hd_query_get(&q, "limit");
	char *end;
	if (a != NULL && (*a == '\0' || (*after = strtoll(a, &end, 10)) < 0 || *end != '\0'))
		hd_field_errors_add(errs, "after_seq", "must be a non-negative integer");
	if (l != NULL
	    && (*l == '\0' || (*limit = strtoll(l, &end, 10)) < 1 || *limit > OB_EVENTS_MAX
	        || *end != '\0'))
		hd_field_errors_add(errs, "limit", "must be an integer from 1 to 1000");
	return true;
}

typedef struct ob_events_req {
	hd_rpc_request *req;
	int limit;
} ob_events_req;

/* Replies {"items":[column 0 of every row],"last_seq":...,"more":...}. */
static void ob_events_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ob_events_req *er = arg;
	if (err != HD_OK) {
		hd_reply_db_error(er->req, err, res);
	} else {
		int rows = hd_db_result_ntuples(res, 0);
		const char *last = rows > 0 ? hd_db_result_value(res, 0, rows - 1, 1) : NULL;
		char tail[80];
		snprintf(tail, sizeof(tail), "\"last_seq\":%s,\"more\":%s",
		    last != NULL ? last : "null", rows >= er->limit ? "true" : "false");
		hd_reply_items(er->req, res, 0, rows, tail);
	}
	free(er);
}

/* Runs sql (events.since's or replay's) for tenant (NULL: none) and replies
 * the page. */
static void ob_events_page(hd_rpc_request *req, hd_daemon_worker *dw, const char *sql,
    const char *tenant, int64_t after, int64_t limit)
{
	if (sql[0] == '\0') {
		hd_log_error("events.since: the outbox is not set up (hd_outbox_init)");
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	ob_events_req *er = malloc(sizeof(*er));
	if (er == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*er = (ob_events_req) { req, (int)limit };
	char a[24], l[24];
	snprintf(a, sizeof(a), "%lld", (long long)after);
	snprintf(l, sizeof(l), "%lld", (long long)limit);
	const char *p[3] = { tenant, a, l };
	hd_db_stmt st = { sql, tenant != NULL ? 3 : 2, tenant != NULL ? p : p + 1 };
	if (!hd_daemon_db_run(dw, req, tenant, &st, 1, ob_events_cb, er))
		free(er);
}

void hd_outbox_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	hd_caller c;
	const char *tenant = e->tenant_id;
	int64_t after = 0, limit = OB_EVENTS_DEFAULT;
	hd_field_errors errs = { .count = 0 };
	/* a component reading one tenant's events (the gateway's GET
	 * /v1/stream catching up), or staff of the tenant */
	bool component = strcmp(e->role, HD_OUTBOX_REPLAY_ROLE) == 0 && tenant[0] != '\0';
	if (!component && (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)))
		return;
	if (!ob_events_args(req, &after, &limit, &errs) || hd_reply_invalid(req, &errs))
		return;
	ob_events_page(
	    req, dw, ob_sql_events_since, component ? tenant : c.tenant_id, after, limit);
}

void hd_outbox_events_replay(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	int64_t after = 0, limit = OB_EVENTS_DEFAULT;
	hd_field_errors errs = { .count = 0 };
	if (strcmp(e->role, HD_OUTBOX_REPLAY_ROLE) != 0 || e->tenant_id[0] != '\0') {
		hd_reply_problem(req, 403, "only a daemon may replay every tenant's events");
		return;
	}
	if (!ob_events_args(req, &after, &limit, &errs) || hd_reply_invalid(req, &errs))
		return;
	ob_events_page(req, dw, ob_sql_events_replay, NULL, after, limit);
}
