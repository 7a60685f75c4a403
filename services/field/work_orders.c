/* Work orders (docs/openapi.yaml, tag "Field service"): create (the linked ticket checked at
 * hd-ticket), get, lists, PATCH with If-Match and the status machine
 * (field.status_move_ok; completed needs every required checklist item
 * done), one history row per changed field and the workorder.* events in
 * the same statement, the history list and a technician's schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/uuid.h"
#include "field.h"

#define FS_TITLE_MAX 200
#define FS_TEXT_MAX_BYTES 65536
#define FS_SIGNED_BY_MAX 200

static const char *const fs_statuses[]
    = { "unassigned", "scheduled", "en_route", "on_site", "completed", "cancelled", NULL };

/* $1 tenant, $2 id, ... $14 actor, $15..$17 the Idempotency-Key's op, key
 * and hashed request (hd/idem.h): inserts the work order, its
 * workorder.created event and the stored reply; nothing when the key is
 * stored already. */
static const char sql_create[] = "WITH" HD_IDEM_CTE("$1", "$14", "$15", "$16",
    "$17") ","
           " w AS (INSERT INTO field.work_orders AS w (tenant_id, id, title, description,"
           " ticket_id, location, address, required_skills, window_start, window_end, priority,"
           " notes, created_by, attachment_ids) SELECT $1, $2, $3, $4, $5,"
           " ST_SetSRID(ST_MakePoint($7::float8, $6::float8), 4326)::geography, $8,"
           " ARRAY(SELECT json_array_elements_text($9::json)), $10, $11, $12, $13, $14, $18::uuid[]"
           " WHERE" HD_IDEM_FREE(
               "field") " RETURNING field.work_order_json(w) AS j, w.version),"
                        " o AS (INSERT INTO field.outbox (tenant_id, type, actor_id, data)"
                        " SELECT $1, 'workorder.created', $14, json_build_object('work_order', j) "
                        "FROM w),"
                        " reply AS (SELECT 201 AS status, j, '/v1/work-orders/' || $2 AS location,"
                        " '\"1\"'::text AS etag FROM w)," HD_IDEM_STORE(
                            "field") " SELECT j::text FROM w";

static const char sql_get[]
    = "SELECT field.work_order_json(w)::text, w.version FROM field.work_orders w"
      " WHERE w.tenant_id = $1 AND w.id = $2 AND" FS_OWN_WO("$3");

/* $2 viewer, $3 status, $4 technician, $5 from, $6 to, $7/$8 cursor, $9 limit + 1. */
static const char sql_list[]
    = "SELECT field.work_order_json(w)::text, field.cursor_ts(w.window_start), w.id"
      " FROM field.work_orders w WHERE w.tenant_id = $1 AND" FS_OWN_WO(
          "$2") " AND ($3::text IS NULL OR w.status = $3)"
                " AND ($4::uuid IS NULL OR w.technician_id = $4)"
                " AND ($5::timestamptz IS NULL OR w.window_end > $5)"
                " AND ($6::timestamptz IS NULL OR w.window_start < $6)"
                " AND (w.window_start, w.id) > ($7::timestamptz, $8::uuid)"
                " ORDER BY w.window_start, w.id LIMIT $9";

/* $3 viewer; the technician must be visible (self for a technician). */
static const char sql_schedule_tech[]
    = "SELECT 1 FROM field.technicians t WHERE t.tenant_id = $1 AND t.id = $2"
      " AND ($3::uuid IS NULL OR t.user_id = $3)";
static const char sql_schedule[]
    = "SELECT field.work_order_json(w)::text FROM field.work_orders w"
      " WHERE w.tenant_id = $1 AND w.technician_id = $2 AND w.status <> 'cancelled'"
      " AND w.window_end > $3::timestamptz AND w.window_start < $4::timestamptz"
      " ORDER BY w.window_start, w.id LIMIT 1001";

static const char sql_history[]
    = "SELECT json_build_object('id', h.id, 'at', field.ts(h.at), 'actor_id', h.actor_id,"
      " 'field', h.field, 'from', h.old_value, 'to', h.new_value)::text"
      " FROM field.history h WHERE h.tenant_id = $1 AND h.work_order_id = $2"
      " ORDER BY h.id LIMIT 1001";

/* $3 viewer, $4 If-Match, $5 title, $6 description, $7 priority, $8 status,
 * $9 notes, $10 signed_by, $11 actor, $12 and $13 the new window (NULL: kept),
 * $14 attachment ids to add (NULL: none), $15 the signature's attachment id
 * (NULL: kept); both already claimed at hd-ticket (attachments.claim).
 * One row when visible: json, version, version_ok, move_ok, checklist_ok,
 * old status, changed, window_open (not completed or cancelled), window_free
 * (the assigned technician works the whole new window and has no other
 * active work order in it). Run after sql_lock_technician when the window
 * changes, so that it sees the technician's other work orders as of the
 * lock. */
static const char sql_update[]
    = "WITH cur AS (SELECT w.*, field.work_order_json(w) AS j FROM field.work_orders w"
      " WHERE w.tenant_id = $1 AND w.id = $2 AND " FS_OWN_WO(
          "$3") " FOR UPDATE),"
                " nw AS (SELECT cur.id, ($4::int IS NULL OR cur.version = $4) AS version_ok,"
                " ($8::text IS NULL OR $8 = cur.status OR field.status_move_ok(cur.status, $8)) AS "
                "move_ok,"
                " ($8::text IS DISTINCT FROM 'completed' OR cur.status = 'completed' OR NOT EXISTS "
                "("
                " SELECT 1 FROM field.checklist_items c WHERE c.tenant_id = $1 AND c.work_order_id "
                "= cur.id"
                " AND c.required AND NOT c.done)) AS checklist_ok,"
                " COALESCE($12::timestamptz, cur.window_start) AS window_start,"
                " COALESCE($13::timestamptz, cur.window_end) AS window_end,"
                " COALESCE($5, cur.title) AS title, COALESCE($6, cur.description) AS description,"
                " COALESCE($7, cur.priority) AS priority, COALESCE($8, cur.status) AS status,"
                " COALESCE($9, cur.notes) AS notes, COALESCE($10, cur.signed_by) AS signed_by,"
                " CASE WHEN $14::uuid[] IS NULL THEN cur.attachment_ids ELSE ARRAY(SELECT DISTINCT "
                "x"
                " FROM unnest(cur.attachment_ids || $14::uuid[]) x ORDER BY x) END AS "
                "attachment_ids,"
                " COALESCE($15::uuid, cur.signature_attachment_id) AS signature_attachment_id FROM "
                "cur),"
                " win AS (SELECT (nw.window_start, nw.window_end) = (cur.window_start, "
                "cur.window_end)"
                " OR cur.status NOT IN ('completed', 'cancelled') AS open,"
                " (nw.window_start, nw.window_end) = (cur.window_start, cur.window_end)"
                " OR cur.technician_id IS NULL OR (EXISTS (SELECT 1 FROM field.technicians t"
                " WHERE t.tenant_id = $1 AND t.id = cur.technician_id"
                " AND field.hours_cover(t.working_hours, nw.window_start, nw.window_end))"
                " AND NOT EXISTS (SELECT 1 FROM field.work_orders o WHERE o.tenant_id = $1"
                " AND o.technician_id = cur.technician_id AND o.id <> cur.id"
                " AND o.status IN ('scheduled', 'en_route', 'on_site')"
                " AND tstzrange(o.window_start, o.window_end)"
                " && tstzrange(nw.window_start, nw.window_end))) AS free FROM cur, nw),"
                " upd AS (UPDATE field.work_orders w SET title = nw.title, description = "
                "nw.description,"
                " priority = nw.priority, status = nw.status, notes = nw.notes, signed_by = "
                "nw.signed_by,"
                " window_start = nw.window_start, window_end = nw.window_end,"
                " attachment_ids = nw.attachment_ids,"
                " signature_attachment_id = nw.signature_attachment_id,"
                " signed_at = CASE WHEN $10::text IS NULL THEN w.signed_at"
                " ELSE date_trunc('milliseconds', now()) END,"
                " completed_at = CASE WHEN nw.status = 'completed' AND w.status <> 'completed'"
                " THEN date_trunc('milliseconds', now()) ELSE w.completed_at END,"
                " version = w.version + 1, updated_at = date_trunc('milliseconds', now())"
                " FROM nw, win WHERE w.tenant_id = $1 AND w.id = nw.id AND nw.version_ok AND "
                "nw.move_ok"
                " AND nw.checklist_ok AND win.open AND win.free"
                " AND (nw.title, nw.description, nw.priority, nw.status, nw.notes, nw.signed_by,"
                " nw.window_start, nw.window_end, nw.attachment_ids, nw.signature_attachment_id)"
                " IS DISTINCT FROM (w.title, w.description, w.priority,"
                " w.status, w.notes, w.signed_by, w.window_start, w.window_end, w.attachment_ids,"
                " w.signature_attachment_id)"
                " RETURNING field.work_order_json(w) AS j, w.version, w.updated_at, w.title,"
                " w.description, w.priority, w.status, w.notes, w.signed_by, w.window_start,"
                " w.window_end),"
                " ch AS (SELECT v.field, v.o, v.n FROM cur, upd, LATERAL (VALUES"
                " ('title', to_jsonb(cur.title), to_jsonb(upd.title)),"
                " ('description', to_jsonb(cur.description), to_jsonb(upd.description)),"
                " ('priority', to_jsonb(cur.priority), to_jsonb(upd.priority)),"
                " ('status', to_jsonb(cur.status), to_jsonb(upd.status)),"
                " ('notes', to_jsonb(cur.notes), to_jsonb(upd.notes)),"
                " ('signed_by', to_jsonb(cur.signed_by), to_jsonb(upd.signed_by)),"
                " ('window', jsonb_build_object('start', field.ts(cur.window_start),"
                " 'end', field.ts(cur.window_end)), jsonb_build_object('start',"
                " field.ts(upd.window_start), 'end', field.ts(upd.window_end)))) v(field, o, n)"
                " WHERE v.o IS DISTINCT FROM v.n),"
                " h AS (INSERT INTO field.history (tenant_id, work_order_id, at, actor_id, field,"
                " old_value, new_value) SELECT $1, $2, upd.updated_at, $11, ch.field, ch.o, ch.n"
                " FROM ch, upd),"
                " e AS (INSERT INTO field.outbox (tenant_id, type, actor_id, data)"
                " SELECT $1, ev.type, $11, ev.data FROM cur, upd, LATERAL (VALUES"
                " ('workorder.status_changed', json_build_object('work_order', upd.j, 'from', "
                "cur.status,"
                " 'to', upd.status), cur.status <> upd.status),"
                " ('workorder.rescheduled', json_build_object('work_order', upd.j, 'from',"
                " json_build_object('start', field.ts(cur.window_start), 'end', "
                "field.ts(cur.window_end))),"
                " (cur.window_start, cur.window_end) <> (upd.window_start, upd.window_end)),"
                " ('workorder.completed', json_build_object('work_order', upd.j, 'signed_by',"
                " upd.signed_by), cur.status <> upd.status AND upd.status = 'completed'),"
                " ('workorder.cancelled', json_build_object('work_order', upd.j),"
                " cur.status <> upd.status AND upd.status = 'cancelled')) ev(type, data, happened)"
                " WHERE ev.happened)"
                " SELECT COALESCE((SELECT j FROM upd), cur.j)::text,"
                " COALESCE((SELECT version FROM upd), cur.version), nw.version_ok, nw.move_ok,"
                " nw.checklist_ok, cur.status, EXISTS (SELECT 1 FROM upd), win.open, win.free"
                " FROM cur, nw, win";

/* First in a PATCH that moves the window: the assigned technician's row
 * lock, so that window changes and dispatches of one technician go one after
 * the other (as in dispatch.c). */
static const char sql_lock_technician[]
    = "SELECT 1 FROM field.technicians t WHERE t.tenant_id = $1 AND t.id = ("
      "SELECT w.technician_id FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2)"
      " FOR NO KEY UPDATE";

/* ---- create ---- */

typedef struct fs_wo_new {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	cJSON *body;
	char tenant[HD_UUID_STRLEN + 1], actor[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	const char *title, *description, *ticket_id, *address, *priority, *notes;
	const char *start, *end;
	char lat[40], lon[40];
	char skills[FS_SKILLS_JSON_MAX];
	char attachments[FS_ATTACH_IDS_MAX]; /* attachment_ids as a PostgreSQL array */
	const cJSON *attachment_ids; /* in body; NULL when none */
	hd_idem key; /* Idempotency-Key, key.key NULL when none */
} fs_wo_new;

static void fs_wo_new_free(fs_wo_new *w)
{
	hd_idem_free(&w->key);
	cJSON_Delete(w->body);
	free(w);
}

/* Reads window {start, end} into *start, *end: RFC 3339 times, end after
 * start, at most HD_FIELD_MAX_WINDOW_HOURS apart. required: absent is an
 * error (else it leaves both NULL). */
static void fs_window_read(
    const cJSON *body, bool required, const char **start, const char **end, hd_field_errors *errs)
{
	static const char *const known[] = { "start", "end", NULL };
	const cJSON *win = cJSON_GetObjectItemCaseSensitive(body, "window");
	long long s = 0, e = 0;
	if (win == NULL && !required)
		return;
	if (!cJSON_IsObject(win)) {
		hd_field_errors_add(errs, "window", "is required, an object {start, end}");
		return;
	}
	hd_field_errors local = { .count = 0 };
	hd_json_reject_unknown(win, known, &local);
	if (local.count > 0)
		hd_field_errors_add(errs, "window", "has only start and end");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(win, "start");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(win, "end");
	bool ok_a = cJSON_IsString(a) && hd_time_parse(a->valuestring, &s);
	bool ok_b = cJSON_IsString(b) && hd_time_parse(b->valuestring, &e);
	if (!ok_a)
		hd_field_errors_add(errs, "window.start", "is required, an RFC 3339 time");
	if (!ok_b)
		hd_field_errors_add(errs, "window.end", "is required, an RFC 3339 time");
	if (!ok_a || !ok_b)
		return;
	if (e <= s)
		hd_field_errors_add(errs, "window.end", "must be after window.start");
	else if (e - s > fs_max_window_hours() * 3600000LL)
		hd_field_errors_add(
		    errs, "window", "is longer than HD_FIELD_MAX_WINDOW_HOURS allows");
	*start = a->valuestring;
	*end = b->valuestring;
}

static void fs_wo_new_read(fs_wo_new *w, hd_field_errors *errs)
{
	static const char *const known[] = { "title", "description", "ticket_id", "location",
		"required_skills", "window", "priority", "notes", "attachment_ids", NULL };
	const cJSON *b = w->body;
	fs_point pt = { 0, 0 };
	hd_json_reject_unknown(b, known, errs);
	hd_json_get_string(b, "title", true, 1, FS_TITLE_MAX, &w->title, errs);
	if (hd_json_get_string(b, "description", false, 0, SIZE_MAX, &w->description, errs)
	    && strlen(w->description) > FS_TEXT_MAX_BYTES)
		hd_field_errors_add(errs, "description", "must be at most 64 KiB");
	if (hd_json_get_string(b, "notes", false, 0, SIZE_MAX, &w->notes, errs)
	    && strlen(w->notes) > FS_TEXT_MAX_BYTES)
		hd_field_errors_add(errs, "notes", "must be at most 64 KiB");
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(b, "ticket_id");
	if (tid != NULL && !cJSON_IsNull(tid)) {
		if (!cJSON_IsString(tid) || !hd_uuid_valid(tid->valuestring))
			hd_field_errors_add(errs, "ticket_id", "must be a UUID");
		else
			w->ticket_id = tid->valuestring;
	}
	fs_location_read(b, "location", true, &pt, &w->address, errs);
	snprintf(w->lat, sizeof w->lat, "%.9f", pt.lat);
	snprintf(w->lon, sizeof w->lon, "%.9f", pt.lon);
	strcpy(w->skills, "[]");
	fs_skills_read(b, "required_skills", w->skills, errs);
	fs_window_read(b, true, &w->start, &w->end, errs);
	hd_json_get_enum(b, "priority", false, fs_priorities, &w->priority, errs);
	if (hd_json_uuid_list_read(
	        b, "attachment_ids", FS_ATTACH_MAX, w->attachments, sizeof w->attachments, errs)
	    && strcmp(w->attachments, "{}") != 0)
		w->attachment_ids = cJSON_GetObjectItemCaseSensitive(b, "attachment_ids");
}

/* A stored reply replayed, another request under the key (422), or the
 * work order created now. */
static void fs_wo_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_wo_new *w = arg;
	int stmt;
	if (hd_idem_result_of(&w->key, w->req, err, res, &stmt)) {
		const char *json = hd_db_result_value(res, stmt, 0, 0);
		char location[64];
		snprintf(location, sizeof location, "/v1/work-orders/%s", w->id);
		if (json == NULL) {
			hd_reply_db_error(w->req, HD_ERR_INTERNAL, res);
		} else {
			hd_idem_reply(w->req, 201, json, location, "\"1\"");
			hd_outbox_wake();
		}
	}
	fs_wo_new_free(w);
}

static void fs_wo_insert(fs_wo_new *w)
{
	const char *ip[4];
	hd_idem_params(&w->key, ip);
	const char *p[18] = { w->tenant, w->id, w->title, w->description, w->ticket_id, w->lat,
		w->lon, w->address, w->skills, w->start, w->end, w->priority, w->notes, w->actor,
		ip[1], ip[2], ip[3], w->attachments };
	hd_db_stmt st = { sql_create, 18, p };
	if (!hd_idem_run(w->dw, w->req, &fs_idem_table, &w->key, &st, 1, fs_wo_created_cb, w))
		fs_wo_new_free(w);
}

/* hd-ticket's answer to attachments.claim of the new work order's files. */
static void fs_wo_files_claimed(hd_err err, int status, const char *body, void *arg)
{
	fs_wo_new *w = arg;
	(void)body;
	if (fs_attachments_claimed(w->req, err, status, "attachment_ids"))
		fs_wo_insert(w);
	else
		fs_wo_new_free(w);
}

/* Claims the files at hd-ticket, then inserts. */
static void fs_wo_claim_files(fs_wo_new *w)
{
	if (fs_attachments_claim(w->req, w->id, w->attachment_ids, false, fs_wo_files_claimed, w)
	    != HD_OK) {
		fs_reply_peer_down(w->req, "hd-ticket");
		fs_wo_new_free(w);
	}
}

/* The key's lookup before the claim: a replay answers the stored reply
 * (its files are the first work order's: claiming them again for this
 * request's new id would be refused), else the files are claimed. The
 * insert then takes the key's lock without reading the key again. */
static void fs_wo_key_checked(hd_err err, const hd_db_result *res, void *arg)
{
	fs_wo_new *w = arg;
	int stmt;
	if (hd_idem_result_of(&w->key, w->req, err, res, &stmt))
		fs_wo_claim_files(w);
	else
		fs_wo_new_free(w);
}

/* The files first (when any; with an Idempotency-Key, after its lookup),
 * then the insert. */
static void fs_wo_files_then_insert(fs_wo_new *w)
{
	hd_db_stmt none[1] = { { NULL, 0, NULL } };
	if (w->attachment_ids == NULL)
		fs_wo_insert(w);
	else if (w->key.key == NULL)
		fs_wo_claim_files(w);
	else if (!hd_idem_run(
	             w->dw, w->req, &fs_idem_table, &w->key, none, 0, fs_wo_key_checked, w))
		fs_wo_new_free(w);
}

/* hd-ticket's answer to tickets.get of the linked ticket. */
static void fs_ticket_checked(hd_err err, int status, const char *body, void *arg)
{
	fs_wo_new *w = arg;
	(void)body;
	if (err != HD_OK || status >= 500) {
		fs_reply_peer_down(w->req, "hd-ticket");
		fs_wo_new_free(w);
	} else if (status != 200) {
		hd_reply_invalid_field(w->req, "ticket_id", "is not a ticket of this tenant");
		fs_wo_new_free(w);
	} else {
		fs_wo_files_then_insert(w);
	}
}

void fs_work_orders_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	hd_field_errors errs = { .count = 0 };
	fs_wo_new *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*w = (fs_wo_new) {
		.req = req, .dw = dw, .description = "", .priority = "normal", .notes = ""
	};
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_body(req, NULL, &w->body))
		goto fail;
	fs_wo_new_read(w, &errs);
	if (!hd_idem_read(req, &c, NULL, false, &w->key, &errs) || hd_reply_invalid(req, &errs))
		goto fail;
	snprintf(w->tenant, sizeof w->tenant, "%s", c.tenant_id);
	snprintf(w->actor, sizeof w->actor, "%s", c.user_id);
	if (hd_uuid_v7(w->id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto fail;
	}
	if (w->ticket_id == NULL) {
		fs_wo_files_then_insert(w);
		return;
	}
	if (hd_peer_call(
	        fs_ticket_client(), req, "tickets.get", w->ticket_id, NULL, 0, fs_ticket_checked, w)
	    != HD_OK) {
		fs_reply_peer_down(req, "hd-ticket");
		goto fail;
	}
	return;
fail:
	fs_wo_new_free(w);
}

/* ---- reads ---- */

static void fs_wo_row_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else
		fs_reply_row(req, res, 0, 1, "work order", 200);
}

void fs_work_orders_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || (id = hd_req_path_uuid(req, "id", "work order")) == NULL)
		return;
	const char *p[3] = { c.tenant_id, id, fs_viewer(&c) };
	hd_db_stmt st = { sql_get, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, fs_wo_row_cb, req);
}

/* Reads ?from= and ?to= (RFC 3339, to after from, at most the maximum
 * window apart when both are given). */
static void fs_range_read(
    const hd_query *q, const char **from, const char **to, bool both, hd_field_errors *errs)
{
	long long f = 0, t = 0;
	*from = hd_query_get(q, "from");
	*to = hd_query_get(q, "to");
	if (*from != NULL && (*from[0] == '\0' || !hd_time_parse(*from, &f)))
		hd_field_errors_add(errs, "from", "must be an RFC 3339 time");
	if (*to != NULL && (*to[0] == '\0' || !hd_time_parse(*to, &t)))
		hd_field_errors_add(errs, "to", "must be an RFC 3339 time");
	if (errs->count > 0)
		return;
	if (both && (*from == NULL || *to == NULL))
		hd_field_errors_add(errs, *from == NULL ? "from" : "to", "is required");
	else if (*from != NULL && *to != NULL && t <= f)
		hd_field_errors_add(errs, "to", "must be after from");
	else if (*from != NULL && *to != NULL && t - f > fs_max_window_hours() * 3600000LL)
		hd_field_errors_add(
		    errs, "to", "the range is longer than HD_FIELD_MAX_WINDOW_HOURS");
}

void fs_work_orders_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "status", "technician_id", "from", "to", "limit", "cursor", NULL };
	hd_caller c;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	const char *from, *to;
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || !hd_req_query(req, known, &q))
		return;
	const char *status = hd_query_enum(&q, "status", fs_statuses, &errs);
	const char *tech = hd_query_uuid(&q, "technician_id", &errs);
	fs_range_read(&q, &from, &to, false, &errs);
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, false, &ts, &after);
	const char *p[9]
	    = { c.tenant_id, fs_viewer(&c), status, tech, from, to, ts, after, page.fetch };
	hd_db_stmt st = { sql_list, 9, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}

/* Replies {"items":[...]} from statement 1 (at most 1000), or 404 naming
 * resource when statement 0 found nothing. */
static void fs_items_reply(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, const char *resource)
{
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
	} else if (hd_db_result_ntuples(res, 0) == 0) {
		hd_reply_not_found(req, resource);
	} else {
		int n = hd_db_result_ntuples(res, 1);
		hd_reply_items(req, res, 1, n > 1000 ? 1000 : n, "\"next_cursor\":null");
	}
}

static void fs_schedule_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_items_reply(arg, err, res, "technician");
}

static void fs_history_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_items_reply(arg, err, res, "work order");
}

void fs_technicians_schedule(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "from", "to", NULL };
	hd_caller c;
	hd_query q;
	const char *id, *from, *to;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c)
	    || !hd_caller_require(req, &c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || (id = hd_req_path_uuid(req, "id", "technician")) == NULL
	    || !hd_req_query(req, known, &q))
		return;
	fs_range_read(&q, &from, &to, true, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *p1[3] = { c.tenant_id, id, fs_viewer(&c) };
	const char *p2[4] = { c.tenant_id, id, from, to };
	hd_db_stmt st[2] = { { sql_schedule_tech, 3, p1 }, { sql_schedule, 4, p2 } };
	hd_daemon_db_run(dw, req, c.tenant_id, st, 2, fs_schedule_cb, req);
}

void fs_work_orders_history(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "work order")) == NULL)
		return;
	const char *p1[3] = { c.tenant_id, id, NULL };
	const char *p2[2] = { c.tenant_id, id };
	hd_db_stmt st[2] = { { sql_get, 3, p1 }, { sql_history, 2, p2 } };
	hd_daemon_db_run(dw, req, c.tenant_id, st, 2, fs_history_cb, req);
}

/* ---- update ---- */

typedef struct fs_wo_patch {
	const char *title, *description, *priority, *status, *notes, *signed_by;
	const char *start, *end; /* the new window, NULL when unchanged */
	const char *signature; /* signature_attachment_id, NULL when not given */
	const cJSON *attachment_ids; /* in the body; NULL when none */
	char attachments[FS_ATTACH_IDS_MAX]; /* the same as a PostgreSQL array */
	char version[HD_IF_MATCH_MAX];
} fs_wo_patch;

/* Staff change any of the fields (the window too); a technician (own work
 * orders) status, notes and the sign-off. signed_by only with status
 * completed. */
static void fs_wo_patch_read(
    const cJSON *body, const hd_caller *c, fs_wo_patch *p, hd_field_errors *errs)
{
	static const char *const staff[] = { "title", "description", "priority", "status", "notes",
		"signed_by", "window", "attachment_ids", "signature_attachment_id", NULL };
	static const char *const tech[]
	    = { "status", "notes", "signed_by", "attachment_ids", "signature_attachment_id", NULL };
	hd_json_reject_unknown(body, hd_caller_is(c, HD_ROLES_STAFF) ? staff : tech, errs);
	hd_json_get_string(body, "title", false, 1, FS_TITLE_MAX, &p->title, errs);
	if (hd_json_get_string(body, "description", false, 0, SIZE_MAX, &p->description, errs)
	    && strlen(p->description) > FS_TEXT_MAX_BYTES)
		hd_field_errors_add(errs, "description", "must be at most 64 KiB");
	if (hd_json_get_string(body, "notes", false, 0, SIZE_MAX, &p->notes, errs)
	    && strlen(p->notes) > FS_TEXT_MAX_BYTES)
		hd_field_errors_add(errs, "notes", "must be at most 64 KiB");
	hd_json_get_enum(body, "priority", false, fs_priorities, &p->priority, errs);
	hd_json_get_enum(body, "status", false, fs_statuses, &p->status, errs);
	fs_window_read(body, false, &p->start, &p->end, errs);
	if (hd_json_get_string(body, "signed_by", false, 1, FS_SIGNED_BY_MAX, &p->signed_by, errs)
	    && (p->status == NULL || strcmp(p->status, "completed") != 0))
		hd_field_errors_add(errs, "signed_by", "is given with status completed only");
	if (p->status != NULL && strcmp(p->status, "unassigned") == 0)
		hd_field_errors_add(errs, "status", "a work order leaves unassigned by dispatch");
	if (hd_json_uuid_list_read(
	        body, "attachment_ids", FS_ATTACH_MAX, p->attachments, sizeof p->attachments, errs)
	    && strcmp(p->attachments, "{}") != 0)
		p->attachment_ids = cJSON_GetObjectItemCaseSensitive(body, "attachment_ids");
	if (hd_json_get_string(body, "signature_attachment_id", false, 36, 36, &p->signature, errs)
	    && !hd_uuid_valid(p->signature))
		hd_field_errors_add(errs, "signature_attachment_id", "must be a UUID");
	if (p->signature != NULL && p->signed_by == NULL)
		hd_field_errors_add(
		    errs, "signature_attachment_id", "is given with signed_by (the sign-off) only");
}

/* A boolean column as text: true only for "t". */
static bool fs_true(const char *v)
{
	return v != NULL && strcmp(v, "t") == 0;
}

static void fs_reply_window_taken(hd_rpc_request *req)
{
	hd_daemon_reply_problem(req, 409,
	    "the assigned technician does not work the whole new window or has another work "
	    "order in it",
	    NULL);
}

/* The row of sql_update is the last statement's: result index last. */
static void fs_wo_updated_reply(hd_rpc_request *req, const hd_db_result *res, int last)
{
	const char *v_ok = hd_db_result_value(res, last, 0, 2),
	           *m_ok = hd_db_result_value(res, last, 0, 3);
	const char *c_ok = hd_db_result_value(res, last, 0, 4),
	           *from = hd_db_result_value(res, last, 0, 5);
	const char *open = hd_db_result_value(res, last, 0, 7),
	           *free_ok = hd_db_result_value(res, last, 0, 8);
	if (!fs_true(v_ok)) {
		hd_daemon_reply_problem(
		    req, 412, "the work order changed since you read it (If-Match)", NULL);
	} else if (!fs_true(m_ok)) {
		char msg[96];
		snprintf(msg, sizeof msg, "cannot move a work order from %s to that status",
		    from != NULL ? from : "?");
		hd_reply_invalid_field(req, "status", msg);
	} else if (!fs_true(c_ok)) {
		hd_reply_invalid_field(
		    req, "status", "completed needs every required checklist item done");
	} else if (!fs_true(open)) {
		hd_daemon_reply_problem(req, 409,
		    "the window of a completed or cancelled work order cannot change", NULL);
	} else if (!fs_true(free_ok)) {
		fs_reply_window_taken(req);
	} else {
		fs_reply_row(req, res, last, 1, "work order", 200);
		if (fs_true(hd_db_result_value(res, last, 0, 6)))
			hd_outbox_wake();
	}
}

static void fs_wo_updated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int last = hd_db_result_nstmts(res) - 1;
	if (err != HD_OK && res != NULL && strcmp(hd_db_result_sqlstate(res), "23P01") == 0)
		fs_reply_window_taken(req); /* the exclusion constraint: a concurrent dispatch */
	else if (err != HD_OK)
		hd_reply_db_error(req, err, res);
	else if (hd_db_result_ntuples(res, last) == 0)
		hd_reply_not_found(req, "work order");
	else
		fs_wo_updated_reply(req, res, last);
}

/* A PATCH between its checks and its statement: the files to claim at
 * hd-ticket first (the signature, then attachment_ids), then the update. */
typedef struct fs_wo_change {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	cJSON *body; /* p's strings point into it */
	hd_caller c;
	const char *id;
	fs_wo_patch p;
	bool signature_done, files_done;
	const char *claiming; /* the field whose ids are being claimed */
} fs_wo_change;

static void fs_wo_change_free(fs_wo_change *ch)
{
	cJSON_Delete(ch->body);
	free(ch);
}

static void fs_wo_change_run(fs_wo_change *ch)
{
	const fs_wo_patch *p = &ch->p;
	const hd_caller *c = &ch->c;
	const char *prm[15] = { c->tenant_id, ch->id, fs_viewer(c),
		p->version[0] ? p->version : NULL, p->title, p->description, p->priority, p->status,
		p->notes, p->signed_by, c->user_id, p->start, p->end,
		p->attachment_ids != NULL ? p->attachments : NULL, p->signature };
	hd_db_stmt st[2] = { { sql_lock_technician, 2, prm }, { sql_update, 15, prm } };
	/* the lock only when the window moves: other changes need not wait */
	if (p->start != NULL)
		hd_daemon_db_run(ch->dw, ch->req, c->tenant_id, st, 2, fs_wo_updated_cb, ch->req);
	else
		hd_daemon_db_run(
		    ch->dw, ch->req, c->tenant_id, &st[1], 1, fs_wo_updated_cb, ch->req);
	fs_wo_change_free(ch);
}

static void fs_wo_change_next(fs_wo_change *ch);

static void fs_wo_change_claimed(hd_err err, int status, const char *body, void *arg)
{
	fs_wo_change *ch = arg;
	(void)body;
	if (fs_attachments_claimed(ch->req, err, status, ch->claiming))
		fs_wo_change_next(ch);
	else
		fs_wo_change_free(ch);
}

/* Claims what is left to claim (the signature, then the files), or runs
 * the update. */
static void fs_wo_change_next(fs_wo_change *ch)
{
	cJSON *sig = NULL;
	hd_err err;
	if (ch->p.signature != NULL && !ch->signature_done) {
		ch->signature_done = true;
		ch->claiming = "signature_attachment_id";
		sig = cJSON_CreateArray();
		err = sig != NULL && cJSON_AddItemToArray(sig, cJSON_CreateString(ch->p.signature))
		    ? fs_attachments_claim(ch->req, ch->id, sig, true, fs_wo_change_claimed, ch)
		    : HD_ERR_NOMEM;
		cJSON_Delete(sig);
	} else if (ch->p.attachment_ids != NULL && !ch->files_done) {
		ch->files_done = true;
		ch->claiming = "attachment_ids";
		err = fs_attachments_claim(
		    ch->req, ch->id, ch->p.attachment_ids, false, fs_wo_change_claimed, ch);
	} else {
		fs_wo_change_run(ch);
		return;
	}
	if (err != HD_OK) {
		fs_reply_peer_down(ch->req, "hd-ticket");
		fs_wo_change_free(ch);
	}
}

void fs_work_orders_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	fs_wo_change *ch = calloc(1, sizeof(*ch));
	hd_field_errors errs = { .count = 0 };
	if (ch == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	ch->req = req;
	ch->dw = dw;
	if (!hd_caller_get(req, &ch->c)
	    || !hd_caller_require(req, &ch->c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    || (ch->id = hd_req_path_uuid(req, "id", "work order")) == NULL
	    || !hd_req_body(req, NULL, &ch->body))
		goto fail;
	fs_wo_patch_read(ch->body, &ch->c, &ch->p, &errs);
	if (hd_reply_invalid(req, &errs))
		goto fail;
	bool conditional;
	if (!hd_req_if_match(req, ch->p.version, &conditional)) {
		hd_daemon_reply_problem(
		    req, 412, "If-Match does not match the work order's ETag", NULL);
		goto fail;
	}
	fs_wo_change_next(ch);
	return;
fail:
	fs_wo_change_free(ch);
}
