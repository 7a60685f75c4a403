/* /v1/webhooks (API "Notifications and real time"), admins only: a webhook
 * is a URL (url.c: https://, and never an internal address), the event
 * types it takes and whether it is active. Its secret is made here and
 * shown once, in the reply to the creation; deliveries and their log are
 * dispatch.c's. Turning a webhook active again starts a new run of failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/page.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"
#include "notification.h"

#define NT_EVENTS_MAX 64

static const char *const nt_event_types[] = {
#define HD_EVENT(resource, verb, name, fields, description) name,
#include "events.def"
#undef HD_EVENT
	NULL,
};

static const char sql_create[]
    = "INSERT INTO notification.webhooks (tenant_id, id, url, events, active, secret)"
      " VALUES ($1, $2, $3, ARRAY(SELECT DISTINCT e FROM json_array_elements_text($4::json) e"
      " ORDER BY e), $5::bool, $6)"
      " RETURNING (notification.webhook_json(webhooks)::jsonb"
      " || jsonb_build_object('secret', secret))::text, version";

static const char sql_get[]
    = "SELECT notification.webhook_json(w)::text, w.version FROM notification.webhooks w"
      " WHERE w.tenant_id = $1 AND w.id = $2";

static const char sql_list[]
    = "SELECT notification.webhook_json(w)::text, notification.cursor_ts(w.created_at), w.id"
      " FROM notification.webhooks w WHERE w.tenant_id = $1"
      " AND (w.created_at, w.id) < ($2::timestamptz, $3::uuid)"
      " ORDER BY w.created_at DESC, w.id DESC LIMIT $4::int";

/* $3 url, $4 events (JSON), $5 active, each NULL to keep; $6 If-Match
 * version or NULL. Row: the webhook and its version when updated (NULLs
 * otherwise), and whether it exists (412 rather than 404). */
static const char sql_update[]
    = "WITH upd AS (UPDATE notification.webhooks w SET url = COALESCE($3, w.url),"
      " events = CASE WHEN $4::json IS NULL THEN w.events ELSE ARRAY(SELECT DISTINCT e"
      " FROM json_array_elements_text($4::json) e ORDER BY e) END,"
      " active = COALESCE($5::bool, w.active),"
      " failures = CASE WHEN $5::bool AND NOT w.active THEN 0 ELSE w.failures END,"
      " disabled_at = CASE WHEN $5::bool THEN NULL ELSE w.disabled_at END,"
      " updated_at = date_trunc('milliseconds', now()), version = w.version + 1"
      " WHERE w.tenant_id = $1 AND w.id = $2 AND ($6::int IS NULL OR w.version = $6::int)"
      " RETURNING notification.webhook_json(w)::text AS j, w.version)"
      " SELECT (SELECT j FROM upd), (SELECT version FROM upd), EXISTS (SELECT 1 FROM"
      " notification.webhooks x WHERE x.tenant_id = $1 AND x.id = $2)";

static const char sql_delete[]
    = "DELETE FROM notification.webhooks w WHERE w.tenant_id = $1 AND w.id = $2 RETURNING w.id";

static const char sql_parent[]
    = "SELECT 1 FROM notification.webhooks w WHERE w.tenant_id = $1 AND w.id = $2";
static const char sql_deliveries[]
    = "SELECT notification.delivery_json(d)::text, notification.cursor_ts(d.created_at), d.id"
      " FROM notification.deliveries d WHERE d.tenant_id = $1 AND d.webhook_id = $2"
      " AND (d.created_at, d.id) < ($3::timestamptz, $4::uuid)"
      " ORDER BY d.created_at DESC, d.id DESC LIMIT $5::int";

/* What a create or PATCH body says; strings point into the body, events is owned. */
typedef struct nt_hook_fields {
	const char *url;
	char *events; /* JSON array text, or NULL */
	bool active, has_active;
} nt_hook_fields;

static bool nt_event_known(const char *type)
{
	for (size_t i = 0; nt_event_types[i] != NULL; i++)
		if (strcmp(nt_event_types[i], type) == 0)
			return true;
	return false;
}

static void nt_events_read(
    const cJSON *body, bool required, nt_hook_fields *f, hd_field_errors *errs)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(body, "events");
	if (ev == NULL || cJSON_IsNull(ev)) {
		if (required)
			hd_field_errors_add(errs, "events", "is required");
		return;
	}
	int n = cJSON_IsArray(ev) ? cJSON_GetArraySize(ev) : -1;
	if (n < 1 || n > NT_EVENTS_MAX) {
		hd_field_errors_add(errs, "events", "must be an array of 1 to 64 event types");
		return;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, ev)
	{
		if (!cJSON_IsString(e) || !nt_event_known(e->valuestring)) {
			hd_field_errors_add(errs, "events",
			    "must name event types of docs/openapi.yaml (e.g. ticket.created)");
			return;
		}
	}
	f->events = hd_json_print(ev, NULL);
	if (f->events == NULL)
		hd_field_errors_add(errs, "events", "could not be read");
}

static void nt_hook_read(const cJSON *body, bool required, nt_hook_fields *f, hd_field_errors *errs)
{
	const nt_settings *s = nt_settings_get();
	nt_url target;
	const char *why = NULL;
	if (hd_json_get_string(body, "url", required, 8, NT_URL_MAX, &f->url, errs)
	    && !nt_url_check(f->url, s->allow_http, &s->allow, &target, &why))
		hd_field_errors_add(errs, "url", why);
	nt_events_read(body, required, f, errs);
	f->has_active = hd_json_get_bool(body, "active", false, &f->active, errs);
}

static void nt_hook_reply_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_row(arg, 200, err, res, "webhook");
}

static void nt_hook_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_row(arg, 201, err, res, "webhook");
}

void nt_webhooks_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "url", "events", "active", NULL };
	hd_caller c;
	cJSON *body = NULL;
	nt_hook_fields f = { .active = true };
	hd_field_errors errs = { .count = 0 };
	char id[HD_UUID_STRLEN + 1], secret[NT_SECRET_LEN + 1];
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, known, &body))
		goto out;
	nt_hook_read(body, true, &f, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK || !nt_secret_new(secret)) {
		hd_reply_problem(req, 500, NULL);
		goto out;
	}
	const char *p[6] = { c.tenant_id, id, f.url, f.events, f.active ? "t" : "f", secret };
	hd_db_stmt st = { sql_create, 6, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_hook_created_cb, req);
out:
	free(f.events);
	cJSON_Delete(body);
}

void nt_webhooks_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id = nt_admin_target(req, "webhook", &c);
	if (id == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql_get, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_hook_reply_cb, req);
}

void nt_webhooks_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	nt_admin_list(req, dw, sql_list);
}

static void nt_update_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_updated(arg, err, res, "webhook");
}

void nt_webhooks_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "url", "events", "active", NULL };
	hd_caller c;
	cJSON *body = NULL;
	const char *id;
	nt_hook_fields f = { .url = NULL };
	hd_field_errors errs = { .count = 0 };
	char version[HD_IF_MATCH_MAX];
	bool has_version = false;
	if ((id = nt_admin_target(req, "webhook", &c)) == NULL
	    || !hd_req_if_match(req, version, &has_version) || !hd_req_body(req, known, &body))
		goto out;
	nt_hook_read(body, false, &f, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	const char *p[6] = { c.tenant_id, id, f.url, f.events,
		f.has_active ? (f.active ? "t" : "f") : NULL, has_version ? version : NULL };
	hd_db_stmt st = { sql_update, 6, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_update_cb, req);
out:
	free(f.events);
	cJSON_Delete(body);
}

static void nt_delete_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_deleted(arg, err, res, "webhook");
}

void nt_webhooks_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id = nt_admin_target(req, "webhook", &c);
	if (id == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql_delete, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_delete_cb, req);
}

void nt_webhooks_deliveries(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_page_children(req, dw, HD_ROLE_ADMIN, true, "webhook", sql_parent, sql_deliveries);
}
