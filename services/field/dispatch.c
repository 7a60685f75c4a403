/* POST /v1/work-orders/{id}/dispatch (docs/architecture.md, "Dispatch"):
 *   1. pick: the nearest technician (KNN over the GiST index) who is
 *      available, not known inactive, has every required skill, works for
 *      the whole window (field.hours_cover) and has no overlapping active
 *      work order, skipping those already tried;
 *   2. ask hd-auth that the user is still an active technician (a user
 *      deactivated since is marked so, and never picked again);
 *   3. assign, in one transaction: lock the technician's row (dispatches of
 *      one technician go one after the other), then one statement checks
 *      again, with a snapshot taken after the lock, that no active work
 *      order of theirs overlaps the window, and sets the technician, history
 *      and the workorder.dispatched event. The exclusion constraint
 *      work_orders_no_double_booking holds it in the database as well (a
 *      23P01 there is treated like a lost race). A lost race goes back to 1
 *      without that technician. Nobody left: 409.
 * With {"technician_id"} staff choose the technician by hand: step 1 checks
 * that one instead (sql_chosen: 422 naming technician_id when unknown, not
 * active or lacking a required skill, 409 when a work order of theirs
 * overlaps); their availability flag, working hours and position are not
 * required, a hand choice overrides them (docs/architecture.md, "Dispatch").
 * The lock is there because the exclusion check alone let two concurrent
 * dispatches through in tests/integration/test_field_dispatch.c (race of
 * 50 on PostgreSQL 15.18; docs/architecture.md, "Field service"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/uuid.h"
#include "field.h"

#define FS_DISPATCH_TRIES 16

/* The overlap check's OFFSET 0 keeps it a subplan run for each candidate
 * the KNN scan reaches (an index probe of that technician's work orders):
 * turned into an anti join, its generic plan read every active work order
 * of the tenant once per pick, which grew with each dispatch
 * (docs/benchmarks.md, "Field service"). */
static const char sql_pick[]
    = "WITH wo AS (SELECT w.* FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2)"
      " SELECT wo.status, c.id, c.user_id, c.km FROM wo LEFT JOIN LATERAL ("
      " SELECT t.id, t.user_id, round((ST_Distance(t.location, wo.location, false) / 1000)"
      "::numeric, 3) AS km FROM field.technicians t WHERE t.tenant_id = $1"
      " AND t.location IS NOT NULL AND t.available AND t.user_active"
      " AND t.skills @> wo.required_skills AND NOT (t.id = ANY ($3::uuid[]))"
      " AND field.hours_cover(t.working_hours, wo.window_start, wo.window_end)"
      " AND NOT EXISTS (SELECT 1 FROM field.work_orders o WHERE o.tenant_id = $1"
      " AND o.technician_id = t.id AND o.status IN ('scheduled', 'en_route', 'on_site')"
      " AND tstzrange(o.window_start, o.window_end) && tstzrange(wo.window_start, wo.window_end)"
      " OFFSET 0) ORDER BY t.location <-> wo.location LIMIT 1) c ON true";

/* The technician chosen by hand ($3), and what would refuse them. */
static const char sql_chosen[]
    = "WITH wo AS (SELECT w.* FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2)"
      " SELECT wo.status, t.id, t.user_id, round((ST_Distance(t.location, wo.location, false)"
      " / 1000)::numeric, 3) AS km, t.user_active, t.skills @> wo.required_skills,"
      " EXISTS (SELECT 1 FROM field.work_orders o WHERE o.tenant_id = $1"
      " AND o.technician_id = t.id AND o.status IN ('scheduled', 'en_route', 'on_site')"
      " AND tstzrange(o.window_start, o.window_end) && tstzrange(wo.window_start, wo.window_end))"
      " FROM wo LEFT JOIN field.technicians t ON t.tenant_id = $1 AND t.id = $3::uuid";

static const char sql_inactive[]
    = "UPDATE field.technicians SET user_active = false, version = version + 1,"
      " updated_at = date_trunc('milliseconds', now()) WHERE tenant_id = $1 AND id = $2";

/* The technician's row lock, first in the assign's transaction. */
static const char sql_lock[] = "SELECT 1 FROM field.technicians WHERE tenant_id = $1 AND id = $2"
                               " FOR NO KEY UPDATE";

/* $3 technician, $4 km, $5 eta minutes, $6 actor, $7 chosen by hand (then
 * not necessarily available). No row: the technician is
 * no longer available or got an overlapping work order meanwhile. */
static const char sql_assign[]
    = "WITH me AS (SELECT w.window_start, w.window_end FROM field.work_orders w"
      " WHERE w.tenant_id = $1 AND w.id = $2),"
      " t AS (SELECT t.id FROM field.technicians t, me WHERE t.tenant_id = $1 AND t.id = $3"
      " AND (t.available OR $7::boolean) AND t.user_active"
      " AND NOT EXISTS (SELECT 1 FROM field.work_orders o"
      " WHERE o.tenant_id = $1 AND o.technician_id = $3"
      " AND o.status IN ('scheduled', 'en_route', 'on_site')"
      " AND tstzrange(o.window_start, o.window_end) && tstzrange(me.window_start, me.window_end))),"
      " upd AS (UPDATE field.work_orders w SET technician_id = t.id, status = 'scheduled',"
      " distance_km = $4::float8, eta_minutes = $5::int, version = w.version + 1,"
      " updated_at = date_trunc('milliseconds', now()) FROM t WHERE w.tenant_id = $1"
      " AND w.id = $2 AND w.status = 'unassigned'"
      " RETURNING field.work_order_json(w) AS j, w.version, w.updated_at),"
      " h AS (INSERT INTO field.history (tenant_id, work_order_id, at, actor_id, field,"
      " old_value, new_value) SELECT $1, $2, upd.updated_at, $6, v.f, v.o, v.n FROM upd,"
      " (VALUES ('technician_id', 'null'::jsonb, to_jsonb($3::uuid)),"
      " ('status', to_jsonb('unassigned'::text), to_jsonb('scheduled'::text))) v(f, o, n)),"
      " o AS (INSERT INTO field.outbox (tenant_id, type, actor_id, data)"
      " SELECT $1, 'workorder.dispatched', $6, json_build_object('work_order', upd.j,"
      " 'technician_id', $3::uuid, 'distance_km', $4::float8, 'eta_minutes', $5::int) FROM upd)"
      " SELECT j::text, version FROM upd";

typedef struct fs_dispatch {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char tenant[HD_UUID_STRLEN + 1], actor[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	char tech[HD_UUID_STRLEN + 1], user[HD_UUID_STRLEN + 1], km[32], eta[24];
	/* "{uuid,uuid,...}": the technicians tried already */
	char tried[FS_DISPATCH_TRIES * (HD_UUID_STRLEN + 1) + 3];
	int ntried;
	bool mark_inactive; /* the next pick first marks tech inactive */
	bool chosen; /* tech was chosen by hand (the body's technician_id) */
	bool has_km; /* km and eta hold values (a technician without a position: not) */
} fs_dispatch;

static void fs_pick(fs_dispatch *d);

static void fs_tried_add(fs_dispatch *d)
{
	size_t n = strlen(d->tried);
	snprintf(
	    d->tried + n - 1, sizeof d->tried - n + 1, "%s%s}", d->ntried > 0 ? "," : "", d->tech);
	d->ntried++;
}

static void fs_no_technician(fs_dispatch *d)
{
	hd_daemon_reply_problem(d->req, 409,
	    d->chosen ? "the technician could not be assigned: try again"
	              : "no available technician with the required skills is free and working in "
	                "that window",
	    NULL);
	free(d);
}

/* Replies why the technician chosen by hand (row 0 of statement s) may not
 * take the work order; false when nothing refuses them. */
static bool fs_chosen_refused(fs_dispatch *d, const hd_db_result *res, int s)
{
	const char *active = hd_db_result_value(res, s, 0, 4);
	const char *qualified = hd_db_result_value(res, s, 0, 5);
	const char *overlap = hd_db_result_value(res, s, 0, 6);
	if (hd_db_result_value(res, s, 0, 1) == NULL)
		hd_reply_invalid_field(
		    d->req, "technician_id", "is not a technician of this tenant");
	else if (strcmp(active, "t") != 0)
		hd_reply_invalid_field(d->req, "technician_id", "is not an active technician");
	else if (strcmp(qualified, "t") != 0)
		hd_reply_invalid_field(
		    d->req, "technician_id", "lacks a skill the work order requires");
	else if (strcmp(overlap, "f") != 0)
		hd_daemon_reply_problem(d->req, 409,
		    "the technician has another work order overlapping that window", NULL);
	else
		return false;
	free(d);
	return true;
}

static void fs_assigned_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_dispatch *d = arg;
	if (err != HD_OK && res != NULL && strcmp(hd_db_result_sqlstate(res), "23P01") == 0) {
		fs_tried_add(d); /* lost a race for this technician: the next one */
		fs_pick(d);
		return;
	}
	if (err != HD_OK) {
		hd_reply_db_error(d->req, err, res);
	} else if (hd_db_result_ntuples(res, 1) == 0) {
		fs_tried_add(d); /* changed meanwhile: pick again, which tells why */
		fs_pick(d);
		return;
	} else {
		fs_reply_row(d->req, res, 1, 1, "work order", 200);
		hd_outbox_wake();
	}
	free(d);
}

static void fs_candidate_checked(hd_err err, bool ok, void *arg)
{
	fs_dispatch *d = arg;
	if (err != HD_OK) {
		fs_reply_peer_down(d->req, "hd-auth");
		free(d);
		return;
	}
	if (!ok) {
		d->mark_inactive = true;
		fs_tried_add(d);
		fs_pick(d);
		return;
	}
	const char *pl[2] = { d->tenant, d->tech };
	const char *p[7] = { d->tenant, d->id, d->tech, d->has_km ? d->km : NULL,
		d->has_km ? d->eta : NULL, d->actor, d->chosen ? "t" : "f" };
	hd_db_stmt st[2] = { { sql_lock, 2, pl }, { sql_assign, 7, p } };
	if (!hd_daemon_db_run(d->dw, d->req, d->tenant, st, 2, fs_assigned_cb, d))
		free(d);
}

static void fs_picked_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_dispatch *d = arg;
	int s = hd_db_result_nstmts(res) - 1;
	if (err != HD_OK) {
		hd_reply_db_error(d->req, err, res);
		free(d);
		return;
	}
	const char *status = hd_db_result_value(res, s, 0, 0);
	const char *tech = hd_db_result_value(res, s, 0, 1);
	if (status == NULL) {
		hd_reply_not_found(d->req, "work order");
		free(d);
		return;
	}
	if (strcmp(status, "unassigned") != 0) {
		char msg[96];
		snprintf(msg, sizeof msg,
		    "the work order is %s: only an unassigned one is dispatched", status);
		hd_daemon_reply_problem(d->req, 409, msg, NULL);
		free(d);
		return;
	}
	if (d->chosen && fs_chosen_refused(d, res, s))
		return;
	if (tech == NULL || d->ntried >= FS_DISPATCH_TRIES) {
		fs_no_technician(d);
		return;
	}
	const char *km = hd_db_result_value(res, s, 0, 3);
	snprintf(d->tech, sizeof d->tech, "%s", tech);
	snprintf(d->user, sizeof d->user, "%s", hd_db_result_value(res, s, 0, 2));
	d->has_km = km != NULL;
	snprintf(d->km, sizeof d->km, "%s", d->has_km ? km : "0");
	snprintf(d->eta, sizeof d->eta, "%ld", fs_eta_minutes(strtod(d->km, NULL), fs_speed_kmh()));
	if (fs_user_check(d->req, d->user, fs_candidate_checked, d) != HD_OK) {
		fs_reply_peer_down(d->req, "hd-auth");
		free(d);
	}
}

static void fs_pick(fs_dispatch *d)
{
	const char *pi[2] = { d->tenant, d->tech };
	const char *pp[3] = { d->tenant, d->id, d->chosen ? d->tech : d->tried };
	hd_db_stmt st[3] = { { sql_inactive, 2, pi }, FS_KNN_PLANNER_STMT,
		{ d->chosen ? sql_chosen : sql_pick, 3, pp } };
	bool mark = d->mark_inactive;
	d->mark_inactive = false;
	if (!hd_daemon_db_run(
	        d->dw, d->req, d->tenant, mark ? st : st + 1, mark ? 3 : 2, fs_picked_cb, d))
		free(d);
}

void fs_work_orders_dispatch(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	cJSON *body = NULL;
	static const char *const known[] = { "technician_id", NULL };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "work order")) == NULL)
		return;
	/* the body is {}, {"technician_id"} or empty */
	if (hd_rpc_request_envelope(req)->body_len > 0 && !hd_req_body(req, known, &body))
		return;
	const cJSON *chosen = cJSON_GetObjectItemCaseSensitive(body, "technician_id");
	if (chosen != NULL && !cJSON_IsNull(chosen)
	    && (!cJSON_IsString(chosen) || !hd_uuid_valid(chosen->valuestring))) {
		hd_reply_invalid_field(req, "technician_id", "must be a UUID or null");
		cJSON_Delete(body);
		return;
	}
	fs_dispatch *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		cJSON_Delete(body);
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	d->chosen = cJSON_IsString(chosen);
	if (d->chosen)
		snprintf(d->tech, sizeof d->tech, "%s", chosen->valuestring);
	cJSON_Delete(body);
	d->req = req;
	d->dw = dw;
	snprintf(d->tenant, sizeof d->tenant, "%s", c.tenant_id);
	snprintf(d->actor, sizeof d->actor, "%s", c.user_id);
	snprintf(d->id, sizeof d->id, "%s", id);
	strcpy(d->tried, "{}");
	fs_pick(d);
}
