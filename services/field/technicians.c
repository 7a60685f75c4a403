/* Technicians (docs/openapi.yaml, tag "Field service"): create after hd-auth confirmed the
 * user is an active technician of the tenant, get, PATCH with If-Match,
 * location updates, and lists: by creation (keyset pages) or nearest first
 * around ?near= (PostGIS KNN over the GiST index, distance_km great-circle). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/hours.h"
#include "hd/json.h"
#include "hd/uuid.h"
#include "field.h"

#define FS_POINT_SQL(lat, lon)                                                                     \
	" ST_SetSRID(ST_MakePoint(" lon "::float8, " lat "::float8), 4326)::geography"
#define FS_RADIUS_MAX_KM 20100.0

static const char sql_create[]
    = "INSERT INTO field.technicians AS t (tenant_id, id, user_id, skills, location, available,"
      " working_hours) VALUES ($1, $2, $3, ARRAY(SELECT json_array_elements_text($4::json)),"
      " CASE WHEN $5::text IS NULL THEN NULL ELSE" FS_POINT_SQL(
          "$5", "$6") " END,"
                      " COALESCE($7::bool, true), $8::jsonb)"
                      " RETURNING field.technician_json(t)::text, t.version";

static const char sql_get[]
    = "SELECT field.technician_json(t)::text, t.version FROM field.technicians t"
      " WHERE t.tenant_id = $1 AND t.id = $2 AND ($3::uuid IS NULL OR t.user_id = $3)";

static const char sql_get_mine[]
    = "SELECT field.technician_json(t)::text, t.version FROM field.technicians t"
      " WHERE t.tenant_id = $1 AND t.user_id = $2";

/* $4 If-Match or NULL, $5 skills json, $6 available, $7 hours given, $8 hours. */
static const char sql_update[]
    = "WITH cur AS (SELECT t.id, t.version FROM field.technicians t WHERE t.tenant_id = $1"
      " AND t.id = $2 AND ($3::uuid IS NULL OR t.user_id = $3) FOR UPDATE),"
      " upd AS (UPDATE field.technicians t SET"
      " skills = CASE WHEN $5::json IS NULL THEN t.skills"
      " ELSE ARRAY(SELECT json_array_elements_text($5::json)) END,"
      " available = COALESCE($6::bool, t.available),"
      " working_hours = CASE WHEN $7::bool THEN $8::jsonb ELSE t.working_hours END,"
      " version = t.version + 1, updated_at = date_trunc('milliseconds', now())"
      " FROM cur WHERE t.tenant_id = $1 AND t.id = cur.id"
      " AND ($4::int IS NULL OR cur.version = $4)"
      " RETURNING field.technician_json(t)::text AS j, t.version)"
      " SELECT (SELECT j FROM upd), (SELECT version FROM upd),"
      " EXISTS (SELECT 1 FROM upd) FROM cur";

static const char sql_location[] = "UPDATE field.technicians t SET location =" FS_POINT_SQL("$4",
    "$5") ","
          " last_seen_at = date_trunc('milliseconds', now()) WHERE t.tenant_id = $1 AND t.id = $2"
          " AND ($3::uuid IS NULL OR t.user_id = $3) RETURNING 1";

/* $2 skills json or NULL, $3 available, $4 cursor ts, $5 cursor id, $6 limit + 1. */
static const char sql_list[]
    = "SELECT field.technician_json(t)::text, field.cursor_ts(t.created_at), t.id"
      " FROM field.technicians t WHERE t.tenant_id = $1"
      " AND ($2::json IS NULL OR t.skills @> ARRAY(SELECT json_array_elements_text($2::json)))"
      " AND ($3::bool IS NULL OR t.available = $3)"
      " AND (t.created_at, t.id) > ($4::timestamptz, $5::uuid)"
      " ORDER BY t.created_at, t.id LIMIT $6";

/* Nearest first: $4 lat, $5 lon, $6 radius in metres or NULL, $7 limit. The
 * ORDER BY is the KNN operator alone over the (tenant_id, location) GiST
 * index (a second sort key would make it a sort of every match). The
 * radius is always an index condition (no radius: farther than any two
 * points of the Earth), so the walk stops at its box; a skill that few
 * technicians have makes it walk the whole box (tens of ms at 4,000
 * technicians in it) where a common one stops after a few dozen rows
 * (docs/benchmarks.md, "Field service"). */
#define FS_EARTH_SPAN_M "20100000" /* FS_RADIUS_MAX_KM in metres */
/* distance_km is spliced into the object's text before its closing brace:
 * a jsonb round trip of every row cost a third more of the statement's time
 * (docs/benchmarks.md, "Field service"). */
static const char sql_near[]
    = "SELECT left(field.technician_json(t)::text, -1) || ',\"distance_km\":'"
      " || round((ST_Distance(t.location," FS_POINT_SQL(
          "$4", "$5") ", false) / 1000)::numeric, 3) || '}'"
                      " FROM field.technicians t WHERE t.tenant_id = $1 AND t.location IS NOT "
                      "NULL"
                      " AND ($2::json IS NULL OR t.skills @> ARRAY(SELECT "
                      "json_array_elements_text($2::json)))"
                      " AND ($3::bool IS NULL OR t.available = $3)"
                      " AND ST_DWithin(t.location," FS_POINT_SQL("$4",
                          "$5") ", COALESCE($6::float8, " FS_EARTH_SPAN_M "), false)"
                                " ORDER BY t.location <->" FS_POINT_SQL("$4", "$5") " LIMIT $7";

/* A technician being created: waits for hd-auth's answer. */
typedef struct fs_tech_new {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	cJSON *body;
	char tenant[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	const char *user_id, *available;
	char skills[FS_SKILLS_JSON_MAX];
	char lat[40], lon[40];
	bool has_location;
	char *hours;
} fs_tech_new;

static void fs_tech_new_free(fs_tech_new *t)
{
	cJSON_Delete(t->body);
	free(t->hours);
	free(t);
}

/* The database's refusal of a time zone (AT TIME ZONE, 22023) names the field. */
static bool fs_reply_bad_timezone(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	if (err == HD_OK || res == NULL || strcmp(hd_db_result_sqlstate(res), "22023") != 0)
		return false;
	hd_reply_invalid_field(req, "working_hours.timezone", "is not a known time zone");
	return true;
}

static void fs_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_tech_new *t = arg;
	if (fs_reply_bad_timezone(t->req, err, res))
		;
	else if (err != HD_OK)
		hd_reply_db_error(t->req, err, res);
	else
		fs_reply_row(t->req, res, 0, 1, "technician", 201);
	fs_tech_new_free(t);
}

static void fs_user_checked_cb(hd_err err, bool ok, void *arg)
{
	fs_tech_new *t = arg;
	if (err != HD_OK) {
		fs_reply_peer_down(t->req, "hd-auth");
		fs_tech_new_free(t);
		return;
	}
	if (!ok) {
		hd_reply_invalid_field(
		    t->req, "user_id", "must be an active user of role technician in this tenant");
		fs_tech_new_free(t);
		return;
	}
	const char *p[8]
	    = { t->tenant, t->id, t->user_id, t->skills, t->has_location ? t->lat : NULL,
		      t->has_location ? t->lon : NULL, t->available, t->hours };
	hd_db_stmt st = { sql_create, 8, p };
	if (!hd_daemon_db_run(t->dw, t->req, t->tenant, &st, 1, fs_created_cb, t))
		fs_tech_new_free(t);
}

/* Validates the body of a new technician into t. */
static void fs_tech_new_read(fs_tech_new *t, hd_field_errors *errs)
{
	static const char *const known[]
	    = { "user_id", "skills", "location", "available", "working_hours", NULL };
	const cJSON *b = t->body;
	bool avail;
	hd_json_reject_unknown(b, known, errs);
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(b, "user_id");
	if (!cJSON_IsString(uid) || !hd_uuid_valid(uid->valuestring))
		hd_field_errors_add(errs, "user_id", "is required, a UUID");
	else
		t->user_id = uid->valuestring;
	strcpy(t->skills, "[]");
	fs_skills_read(b, "skills", t->skills, errs);
	if (cJSON_GetObjectItemCaseSensitive(b, "location") != NULL) {
		fs_point pt;
		const char *addr;
		t->has_location = fs_location_read(b, "location", false, &pt, &addr, errs);
		snprintf(t->lat, sizeof t->lat, "%.9f", pt.lat);
		snprintf(t->lon, sizeof t->lon, "%.9f", pt.lon);
	}
	if (hd_json_get_bool(b, "available", false, &avail, errs))
		t->available = avail ? "t" : "f";
	t->hours = hd_hours_read(b, "working_hours", errs);
}

void fs_technicians_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	hd_field_errors errs = { .count = 0 };
	fs_tech_new *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	t->req = req;
	t->dw = dw;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, NULL, &t->body))
		goto fail;
	fs_tech_new_read(t, &errs);
	if (hd_reply_invalid(req, &errs))
		goto fail;
	snprintf(t->tenant, sizeof t->tenant, "%s", c.tenant_id);
	if (hd_uuid_v7(t->id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto fail;
	}
	if (fs_user_check(req, t->user_id, fs_user_checked_cb, t) != HD_OK) {
		fs_reply_peer_down(req, "hd-auth");
		goto fail;
	}
	return;
fail:
	fs_tech_new_free(t);
}

static void fs_row_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else
		fs_reply_row(req, res, 0, 1, "technician", 200);
}

void fs_technicians_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || (id = hd_req_path_uuid(req, "id", "technician")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, fs_viewer(&c) };
	hd_db_stmt st = { sql_get, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, fs_row_cb, req);
}

/* GET /v1/technicians/me: the caller's own technician, by user_id. */
void fs_technicians_me(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN))
		return;
	const char *p[2] = { c.tenant_id, c.user_id };
	hd_db_stmt st = { sql_get_mine, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, fs_row_cb, req);
}

static void fs_updated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (fs_reply_bad_timezone(req, err, res))
		return;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	if (hd_db_result_ntuples(res, 0) == 0) {
		hd_reply_not_found(req, "technician");
		return;
	}
	const char *changed = hd_db_result_value(res, 0, 0, 2);
	if (changed == NULL || strcmp(changed, "t") != 0) {
		hd_daemon_reply_problem(
		    req, 412, "the technician changed since you read it (If-Match)", NULL);
		return;
	}
	fs_reply_row(req, res, 0, 1, "technician", 200);
}

void fs_technicians_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "skills", "available", "working_hours", NULL };
	hd_caller c;
	const char *id;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	char skills[FS_SKILLS_JSON_MAX], version[HD_IF_MATCH_MAX];
	char *hours = NULL;
	bool avail, has_skills;
	const char *avail_s = NULL;
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || (id = hd_req_path_uuid(req, "id", "technician")) == NULL
	    || !hd_req_body(req, known, &body))
		goto out;
	has_skills = fs_skills_read(body, "skills", skills, &errs);
	if (hd_json_get_bool(body, "available", false, &avail, &errs))
		avail_s = avail ? "t" : "f";
	hours = hd_hours_read(body, "working_hours", &errs);
	bool hours_given = cJSON_GetObjectItemCaseSensitive(body, "working_hours") != NULL;
	if (hd_reply_invalid(req, &errs))
		goto out;
	bool conditional;
	if (!hd_req_if_match(req, version, &conditional)) {
		hd_daemon_reply_problem(
		    req, 412, "If-Match does not match the technician's ETag", NULL);
		goto out;
	}
	const char *p[8] = { c.tenant_id, id, fs_viewer(&c), version[0] != '\0' ? version : NULL,
		has_skills ? skills : NULL, avail_s, hours_given ? "t" : "f", hours };
	hd_db_stmt st = { sql_update, 8, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, fs_updated_cb, req);
out:
	free(hours);
	cJSON_Delete(body);
}

static void fs_located_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else if (hd_db_result_ntuples(res, 0) == 0)
		hd_reply_not_found(req, "technician");
	else
		hd_daemon_reply_json(req, 204, "", 0, NULL);
}

void fs_technicians_location(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id, *addr;
	cJSON *body = NULL;
	hd_field_errors errs = { .count = 0 };
	fs_point pt;
	char lat[40], lon[40];
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLE_ADMIN | HD_ROLE_TECHNICIAN)
	    || (id = hd_req_path_uuid(req, "id", "technician")) == NULL
	    || !hd_req_body(req, NULL, &body))
		goto out;
	fs_location_read(body, "", false, &pt, &addr, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	snprintf(lat, sizeof lat, "%.9f", pt.lat);
	snprintf(lon, sizeof lon, "%.9f", pt.lon);
	const char *p[5]
	    = { c.tenant_id, id, hd_caller_is(&c, HD_ROLE_ADMIN) ? NULL : c.user_id, lat, lon };
	hd_db_stmt st = { sql_location, 5, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, fs_located_cb, req);
out:
	cJSON_Delete(body);
}

/* The filters of a technicians list. */
typedef struct fs_tech_filter {
	char skills[FS_SKILLS_JSON_MAX];
	const char *skills_p, *available;
	bool near;
	fs_point at;
	char lat[40], lon[40], radius_m[40];
	const char *radius_p;
} fs_tech_filter;

static void fs_tech_filter_read(const hd_query *q, fs_tech_filter *f, hd_field_errors *errs)
{
	static const char *const bools[] = { "true", "false", NULL };
	const char *skill = hd_query_get(q, "skill"), *near = hd_query_get(q, "near");
	const char *radius = hd_query_get(q, "radius_km");
	const char *avail = hd_query_enum(q, "available", bools, errs);
	if (avail != NULL)
		f->available = avail[0] == 't' ? "t" : "f";
	if (skill != NULL && skill[0] != '\0') {
		if (fs_skill_filter_parse(skill, f->skills, sizeof f->skills))
			f->skills_p = f->skills;
		else
			hd_field_errors_add(errs, "skill",
			    "comma-separated skills of 1 to 64 characters, at most 32");
	}
	if (near != NULL && near[0] != '\0') {
		f->near = fs_near_parse(near, &f->at);
		if (!f->near)
			hd_field_errors_add(
			    errs, "near", "must be <lat>,<lon> within -90..90, -180..180");
		snprintf(f->lat, sizeof f->lat, "%.9f", f->at.lat);
		snprintf(f->lon, sizeof f->lon, "%.9f", f->at.lon);
	}
	if (radius != NULL && radius[0] != '\0') {
		double km;
		if (near == NULL || near[0] == '\0')
			hd_field_errors_add(errs, "radius_km", "needs near");
		else if (!fs_positive_parse(radius, FS_RADIUS_MAX_KM, &km))
			hd_field_errors_add(
			    errs, "radius_km", "must be a number above 0, at most 20100");
		else {
			snprintf(f->radius_m, sizeof f->radius_m, "%.3f", km * 1000.0);
			f->radius_p = f->radius_m;
		}
	}
}

typedef struct fs_near_ctx {
	hd_rpc_request *req;
	int limit;
} fs_near_ctx;

static void fs_near_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_near_ctx ctx = *(fs_near_ctx *)arg;
	free(arg);
	if (err != HD_OK) {
		hd_reply_db_error(ctx.req, err, res);
		return;
	}
	int n = hd_db_result_ntuples(res, 1);
	hd_reply_items(ctx.req, res, 1, n < ctx.limit ? n : ctx.limit, "\"next_cursor\":null");
}

void fs_technicians_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "skill", "available", "near", "radius_km", "limit", "cursor", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	fs_tech_filter f = { .skills_p = NULL };
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_query(req, known, &q))
		return;
	fs_tech_filter_read(&q, &f, &errs);
	hd_page_read(&q, &page, &errs);
	if (f.near && page.after)
		hd_field_errors_add(
		    &errs, "cursor", "a list around near is one page, nearest first");
	if (hd_reply_invalid(req, &errs))
		return;
	if (f.near) {
		fs_near_ctx *ctx = malloc(sizeof(*ctx));
		if (ctx == NULL) {
			hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
			return;
		}
		*ctx = (fs_near_ctx) { req, page.limit };
		const char *p[7] = { c.tenant_id, f.skills_p, f.available, f.lat, f.lon, f.radius_p,
			page.fetch };
		hd_db_stmt st[2] = { FS_KNN_PLANNER_STMT, { sql_near, 7, p } };
		if (!hd_daemon_db_run(dw, req, c.tenant_id, st, 2, fs_near_cb, ctx))
			free(ctx);
		return;
	}
	const char *ts, *after;
	hd_page_bound(&page, false, &ts, &after);
	const char *p[6] = { c.tenant_id, f.skills_p, f.available, ts, after, page.fetch };
	hd_db_stmt st = { sql_list, 6, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}
