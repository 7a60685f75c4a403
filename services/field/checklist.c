/* A work order's checklist and parts: staff, or the technician it is
 * assigned to (FS_OWN_WO). Each change writes a history row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/uuid.h"
#include "field.h"

#define FS_ITEM_TEXT_MAX 500
#define FS_SKU_MAX 64
#define FS_PART_DESC_MAX 500

/* $3 viewer, $4 item id, $5 text, $6 required, $7 actor. */
static const char sql_item_create[]
    = "WITH w AS (SELECT w.id FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2"
      " AND" FS_OWN_WO(
          "$3") "),"
                " c AS (INSERT INTO field.checklist_items AS c (tenant_id, id, work_order_id, text,"
                " required) SELECT $1, $4, w.id, $5, $6 FROM w RETURNING c.*),"
                " h AS (INSERT INTO field.history (tenant_id, work_order_id, actor_id, field, "
                "new_value)"
                " SELECT $1, c.work_order_id, $7, 'checklist', jsonb_build_object('id', c.id, "
                "'text',"
                " c.text, 'required', c.required) FROM c)"
                " SELECT field.checklist_item_json(c)::text FROM c";

/* $3 viewer, $4 item, $5 done, $6 actor. */
static const char sql_item_update[]
    = "WITH w AS (SELECT w.id FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2"
      " AND" FS_OWN_WO(
          "$3") "),"
                " cur AS (SELECT c.done FROM field.checklist_items c, w WHERE c.tenant_id = $1"
                " AND c.work_order_id = w.id AND c.id = $4 FOR UPDATE),"
                " c AS (UPDATE field.checklist_items c SET done = $5,"
                " done_at = CASE WHEN $5 THEN date_trunc('milliseconds', now()) END,"
                " done_by = CASE WHEN $5 THEN $6::uuid END FROM w"
                " WHERE c.tenant_id = $1 AND c.work_order_id = w.id AND c.id = $4 RETURNING c.*),"
                " h AS (INSERT INTO field.history (tenant_id, work_order_id, actor_id, field, "
                "old_value,"
                " new_value) SELECT $1, c.work_order_id, $6, 'checklist.' || c.id,"
                " jsonb_build_object('done', cur.done), jsonb_build_object('done', c.done) FROM c, "
                "cur"
                " WHERE cur.done IS DISTINCT FROM c.done)"
                " SELECT field.checklist_item_json(c)::text FROM c";

/* $3 viewer, $4 id, $5 sku, $6 description, $7 quantity, $8 actor. */
static const char sql_part_create[]
    = "WITH w AS (SELECT w.id FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2"
      " AND" FS_OWN_WO(
          "$3") "),"
                " p AS (INSERT INTO field.parts AS p (tenant_id, id, work_order_id, sku, "
                "description,"
                " quantity, created_by) SELECT $1, $4, w.id, $5, $6, $7, $8 FROM w RETURNING p.*),"
                " h AS (INSERT INTO field.history (tenant_id, work_order_id, actor_id, field, "
                "new_value)"
                " SELECT $1, p.work_order_id, $8, 'parts', jsonb_build_object('id', p.id, 'sku', "
                "p.sku,"
                " 'quantity', p.quantity) FROM p)"
                " SELECT field.part_json(p)::text FROM p";

static const char sql_wo_visible[]
    = "SELECT 1 FROM field.work_orders w WHERE w.tenant_id = $1 AND w.id = $2 AND" FS_OWN_WO("$3");
static const char sql_parts[]
    = "SELECT field.part_json(p)::text, field.cursor_ts(p.created_at), p.id FROM field.parts p"
      " WHERE p.tenant_id = $1 AND p.work_order_id = $2"
      " AND (p.created_at, p.id) > ($3::timestamptz, $4::uuid)"
      " ORDER BY p.created_at, p.id LIMIT $5";

typedef struct fs_child_ctx {
	hd_rpc_request *req;
	const char *resource; /* what no row means */
	int status;
} fs_child_ctx;

static void fs_child_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fs_child_ctx ctx = *(fs_child_ctx *)arg;
	free(arg);
	if (err != HD_OK)
		hd_reply_db_error(ctx.req, err, res);
	else
		fs_reply_row(ctx.req, res, 0, -1, ctx.resource, ctx.status);
}

/* Runs one statement whose single row is the reply (status), none: 404. */
static void fs_child_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant,
    const hd_db_stmt *st, const char *resource, int status)
{
	fs_child_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*ctx = (fs_child_ctx) { req, resource, status };
	if (!hd_daemon_db_run(dw, req, tenant, st, 1, fs_child_cb, ctx))
		free(ctx);
}

/* The caller and work order of a child route; false after replying. */
static bool fs_child_begin(hd_rpc_request *req, hd_caller *c, const char **wo)
{
	return hd_caller_get(req, c)
	    && hd_caller_require(req, c, HD_ROLES_STAFF | HD_ROLE_TECHNICIAN)
	    && (*wo = hd_req_path_uuid(req, "id", "work order")) != NULL;
}

void fs_checklist_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "text", "required", NULL };
	hd_caller c;
	const char *wo, *text = NULL;
	cJSON *body = NULL;
	bool required = false;
	char id[HD_UUID_STRLEN + 1];
	hd_field_errors errs = { .count = 0 };
	if (!fs_child_begin(req, &c, &wo) || !hd_req_body(req, known, &body))
		goto out;
	hd_json_get_string(body, "text", true, 1, FS_ITEM_TEXT_MAX, &text, &errs);
	hd_json_get_bool(body, "required", false, &required, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	const char *p[7]
	    = { c.tenant_id, wo, fs_viewer(&c), id, text, required ? "t" : "f", c.user_id };
	hd_db_stmt st = { sql_item_create, 7, p };
	fs_child_run(dw, req, c.tenant_id, &st, "work order", 201);
out:
	cJSON_Delete(body);
}

void fs_checklist_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "done", NULL };
	hd_caller c;
	const char *wo, *item;
	cJSON *body = NULL;
	bool done = false;
	hd_field_errors errs = { .count = 0 };
	if (!fs_child_begin(req, &c, &wo)
	    || (item = hd_req_path_uuid(req, "item", "checklist item")) == NULL
	    || !hd_req_body(req, known, &body))
		goto out;
	hd_json_get_bool(body, "done", true, &done, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	const char *p[6] = { c.tenant_id, wo, fs_viewer(&c), item, done ? "t" : "f", c.user_id };
	hd_db_stmt st = { sql_item_update, 6, p };
	fs_child_run(dw, req, c.tenant_id, &st, "checklist item", 200);
out:
	cJSON_Delete(body);
}

void fs_parts_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "sku", "description", "quantity", NULL };
	hd_caller c;
	const char *wo, *sku = NULL, *desc = NULL;
	cJSON *body = NULL;
	int64_t qty = 0;
	char id[HD_UUID_STRLEN + 1], qty_s[24];
	hd_field_errors errs = { .count = 0 };
	if (!fs_child_begin(req, &c, &wo) || !hd_req_body(req, known, &body))
		goto out;
	hd_json_get_string(body, "sku", true, 1, FS_SKU_MAX, &sku, &errs);
	hd_json_get_string(body, "description", false, 1, FS_PART_DESC_MAX, &desc, &errs);
	hd_json_get_int(body, "quantity", true, 1, 100000, &qty, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	snprintf(qty_s, sizeof qty_s, "%lld", (long long)qty);
	const char *p[8] = { c.tenant_id, wo, fs_viewer(&c), id, sku, desc, qty_s, c.user_id };
	hd_db_stmt st = { sql_part_create, 8, p };
	fs_child_run(dw, req, c.tenant_id, &st, "work order", 201);
out:
	cJSON_Delete(body);
}

void fs_parts_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *wo;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	if (!fs_child_begin(req, &c, &wo) || !hd_req_query(req, fs_page_params, &q))
		return;
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	const char *ts, *after;
	hd_page_bound(&page, false, &ts, &after);
	const char *p1[3] = { c.tenant_id, wo, fs_viewer(&c) };
	const char *p2[5] = { c.tenant_id, wo, ts, after, page.fetch };
	hd_db_stmt st[2] = { { sql_wo_visible, 3, p1 }, { sql_parts, 5, p2 } };
	hd_page_run(dw, req, c.tenant_id, st, 2, &page, 1, 2, "work order");
}
