/* Automation rules CRUD (admin only). The rules themselves run inside
 * PostgreSQL (sql/002_automations.sql: a BEFORE trigger on tickets), so they
 * apply in the same transaction as the change. This file validates a rule
 * and stores a normalised copy of its conditions and actions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/events.h"
#include "hd/json.h"
#include "hd/uuid.h"
#include "ticket.h"

#define TK_RULE_MAX_ITEMS 20
#define TK_RULE_NAME_MAX 100
#define TK_RULE_VALUE_MAX 200
#define TK_WEBHOOK_MAX 2000

/* $1 tenant, $2 id, $3 name, $4 event, $5 conditions, $6 actions, $7 active,
 * $8 Idempotency-Key or NULL, $9 its hashed text, $10 the caller, $11 the op. Does nothing when the
 * key is already stored. */
static const char sql_auto_create[] = "WITH" HD_IDEM_CTE("$1", "$10", "$11", "$8",
    "$9") ","
          " r AS (INSERT INTO ticket.automations AS a (tenant_id, id, name, event, conditions,"
          " actions, active) SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::bool"
          " WHERE" TK_IDEM_FREE " RETURNING ticket.automation_json(a) AS j),"
          " reply AS (SELECT 201 AS status, j, NULL::text AS location, NULL::text AS etag FROM "
          "r)," TK_IDEM_STORE " SELECT j::text FROM r";
static const char sql_auto_get[]
    = "SELECT ticket.automation_json(a)::text FROM ticket.automations a"
      " WHERE a.tenant_id = $1 AND a.id = $2";
static const char sql_auto_list[]
    = "SELECT ticket.automation_json(a)::text, ticket.ts(a.created_at), a.id FROM "
      "ticket.automations a"
      " WHERE a.tenant_id = $1 AND (a.created_at, a.id) > ($2::timestamptz, $3::uuid)"
      " ORDER BY a.created_at, a.id LIMIT $4";
static const char sql_auto_update[]
    = "UPDATE ticket.automations a SET name = COALESCE($3, a.name), event = COALESCE($4, a.event),"
      " conditions = COALESCE($5::jsonb, a.conditions), actions = COALESCE($6::jsonb, a.actions),"
      " active = COALESCE($7::bool, a.active), version = a.version + 1,"
      " updated_at = date_trunc('milliseconds', now()) WHERE a.tenant_id = $1 AND a.id = $2"
      " RETURNING ticket.automation_json(a)::text";
static const char sql_auto_delete[]
    = "DELETE FROM ticket.automations a WHERE a.tenant_id = $1 AND a.id = $2 RETURNING '{}'::text";

static const char *const tk_events[]
    = { HD_EVENT_NAME(ticket, created), HD_EVENT_NAME(ticket, updated), NULL };
static const char *const tk_cond_fields[]
    = { "subject", "description", "priority", "category", "tags", "status", "sentiment", NULL };
static const char *const tk_cond_ops[] = { "eq", "ne", "contains", "in", "lt", "gt", NULL };
static const char *const tk_action_types[] = { "set_priority", "set_status", "set_category",
	"add_tag", "assign", "notify_webhook", "auto_triage", NULL };

/* An auto_triage threshold: a decimal number greater than 0, at most 1
 * ("0.8"), written plainly (no exponent, sign or spaces). */
static bool tk_rule_threshold(const char *v)
{
	size_t n = strlen(v);
	if (n < 1 || n > 8 || strspn(v, "0123456789.") != n)
		return false;
	char *end = NULL;
	double t = strtod(v, &end);
	return end == v + n && t > 0 && t <= 1;
}

/* Validates a value for an "in" condition: an array of 1..20 strings. */
static bool tk_rule_value_list(const cJSON *v)
{
	const cJSON *s;
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
	if (n < 1 || n > TK_RULE_MAX_ITEMS)
		return false;
	cJSON_ArrayForEach(s, v)
	{
		if (!cJSON_IsString(s) || strlen(s->valuestring) > TK_RULE_VALUE_MAX)
			return false;
	}
	return true;
}

/* Validates a sentiment condition (ops eq, ne, lt, gt; an integer value
 * such as "-3") and, for every other field, that lt and gt are not used. */
static bool tk_rule_cond_sentiment(const char *field, const char *op, const char *v)
{
	bool sentiment = strcmp(field, "sentiment") == 0;
	bool order = strcmp(op, "lt") == 0 || strcmp(op, "gt") == 0;
	if (!sentiment)
		return !order;
	if (!order && strcmp(op, "eq") != 0 && strcmp(op, "ne") != 0)
		return false;
	size_t n = v != NULL ? strlen(v) : 0;
	size_t digits = n > 0 && v[0] == '-' ? 1 : 0;
	return n > digits && n - digits <= 6 && strspn(v + digits, "0123456789") == n - digits;
}

/* Validates the action value for its type. */
static bool tk_rule_action_value(const char *type, const char *v)
{
	size_t n = hd_utf8_length(v);
	if (strcmp(type, "set_priority") == 0 || strcmp(type, "set_status") == 0) {
		const char *const *list = type[4] == 'p' ? tk_priorities : tk_statuses;
		for (size_t i = 0; list[i] != NULL; i++) {
			if (strcmp(v, list[i]) == 0)
				return true;
		}
		return false;
	}
	if (strcmp(type, "assign") == 0)
		return hd_uuid_valid(v);
	if (strcmp(type, "add_tag") == 0)
		return n >= 1 && n <= 50;
	if (strcmp(type, "notify_webhook") == 0)
		return strncmp(v, "https://", 8) == 0 && n > 8 && n <= TK_WEBHOOK_MAX;
	if (strcmp(type, "auto_triage") == 0)
		return tk_rule_threshold(v);
	return n >= 1 && n <= TK_RULE_NAME_MAX; /* set_category */
}

/* Validates one item of conditions/actions and appends its normalised copy. */
static void tk_rule_item(const cJSON *it, bool action, int i, cJSON *out, hd_field_errors *errs)
{
	static const char *const cond_keys[] = { "field", "op", "value", NULL };
	static const char *const act_keys[] = { "type", "value", NULL };
	char field[32];
	hd_field_errors local = { .count = 0 };
	const char *a = NULL, *b = NULL, *v = NULL;
	snprintf(field, sizeof(field), "%s[%d]", action ? "actions" : "conditions", i);
	if (!cJSON_IsObject(it)) {
		hd_field_errors_add(errs, field, "must be an object");
		return;
	}
	hd_json_reject_unknown(it, action ? act_keys : cond_keys, &local);
	if (action) {
		if (hd_json_get_enum(it, "type", true, tk_action_types, &a, &local)
		    && hd_json_get_string(it, "value", true, 1, TK_WEBHOOK_MAX, &v, &local)
		    && !tk_rule_action_value(a, v))
			hd_field_errors_add(&local, "value", "is not valid for this action type");
	} else if (hd_json_get_enum(it, "field", true, tk_cond_fields, &a, &local)
	    && hd_json_get_enum(it, "op", true, tk_cond_ops, &b, &local)) {
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(it, "value");
		if (strcmp(b, "in") == 0
		        ? !tk_rule_value_list(val)
		        : !hd_json_get_string(it, "value", true, 0, TK_RULE_VALUE_MAX, &v, &local))
			hd_field_errors_add(&local, "value", "is not valid for this operator");
		else if (!tk_rule_cond_sentiment(a, b, v))
			hd_field_errors_add(&local, "op",
			    "lt and gt compare sentiment only, with an integer value; sentiment "
			    "takes "
			    "eq, ne, lt, gt");
	}
	for (size_t k = 0; k < local.count; k++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.%.24s", field, local.items[k].field);
		hd_field_errors_add(errs, name, local.items[k].message);
	}
	if (local.count == 0)
		cJSON_AddItemToArray(out, cJSON_Duplicate(it, true));
}

/* Validates body[key] (an array of items) into *json (malloc'ed); absent leaves it NULL. */
static void tk_rule_items(
    const cJSON *body, const char *key, bool required, char **json, hd_field_errors *errs)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, key), *it;
	if (arr == NULL) {
		if (required)
			hd_field_errors_add(errs, key, "is required");
		return;
	}
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > TK_RULE_MAX_ITEMS) {
		hd_field_errors_add(errs, key, "must be an array of at most 20 items");
		return;
	}
	cJSON *out = cJSON_CreateArray();
	int i = 0;
	if (out == NULL)
		return;
	cJSON_ArrayForEach(it, arr)
	{
		tk_rule_item(it, strcmp(key, "actions") == 0, i++, out, errs);
	}
	if (errs->count == 0)
		*json = hd_json_print(out, NULL);
	cJSON_Delete(out);
}

/* The validated rule; strings point into the body, the JSON texts are owned. */
typedef struct tk_rule {
	const char *name, *event;
	char *conditions, *actions;
	bool active, active_set;
} tk_rule;

/* Whether body's actions hold one of this type. */
static bool tk_rule_has_action(const cJSON *body, const char *type)
{
	const cJSON *it, *actions = cJSON_GetObjectItemCaseSensitive(body, "actions");
	cJSON_ArrayForEach(it, actions)
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));
		if (t != NULL && strcmp(t, type) == 0)
			return true;
	}
	return false;
}

static void tk_rule_read(const cJSON *body, bool create, tk_rule *r, hd_field_errors *errs)
{
	static const char *const known[]
	    = { "name", "event", "conditions", "actions", "active", NULL };
	hd_json_reject_unknown(body, known, errs);
	hd_json_get_string(body, "name", create, 1, TK_RULE_NAME_MAX, &r->name, errs);
	hd_json_get_enum(body, "event", create, tk_events, &r->event, errs);
	r->active_set = hd_json_get_bool(body, "active", false, &r->active, errs);
	tk_rule_items(body, "conditions", false, &r->conditions, errs);
	tk_rule_items(body, "actions", create, &r->actions, errs);
	if (r->event != NULL && strcmp(r->event, HD_EVENT_NAME(ticket, updated)) == 0
	    && tk_rule_has_action(body, "auto_triage"))
		hd_field_errors_add(errs, "actions", TK_AUTO_TRIAGE_ONLY_ON_CREATE);
}

static void tk_rule_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	const hd_envelope *e = hd_rpc_request_envelope(req);
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 0);
	if (json == NULL) {
		hd_reply_not_found(req, "automation");
		return;
	}
	if (strcmp(e->op, "automations.delete") == 0)
		hd_daemon_reply_json(req, 204, "", 0, NULL);
	else
		hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
}

/* A create: statement 0 is the key's lookup when the request has a key. */
static void tk_rule_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int stmt;
	if (!hd_idem_result(req, err, res, &stmt))
		return;
	const char *json = hd_db_result_value(res, stmt, 0, 0);
	if (json == NULL)
		hd_reply_db_error(req, HD_ERR_INTERNAL, res);
	else
		hd_idem_reply(req, 201, json, NULL, NULL);
}

/* Validates and runs a create (id NULL) or an update. */
static void tk_rule_write(
    hd_rpc_request *req, hd_daemon_worker *dw, const hd_caller *c, const char *id)
{
	cJSON *body = NULL;
	tk_rule r = { .active = true };
	hd_field_errors errs = { .count = 0 };
	hd_idem k = { 0 };
	char newid[HD_UUID_STRLEN + 1];
	if (!hd_req_body(req, NULL, &body))
		return;
	tk_rule_read(body, id == NULL, &r, &errs);
	if ((id == NULL && !hd_idem_read(req, c, NULL, false, &k, &errs))
	    || hd_reply_invalid(req, &errs))
		goto out;
	if (id == NULL && hd_uuid_v7(newid) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	const char *p[11] = { c->tenant_id, id != NULL ? id : newid, r.name, r.event,
		r.conditions != NULL || id != NULL ? r.conditions : "[]", r.actions,
		r.active_set || id == NULL ? (r.active ? "t" : "f") : NULL, k.key, k.hashed,
		c->user_id, k.op };
	hd_db_stmt st = { id == NULL ? sql_auto_create : sql_auto_update, id == NULL ? 11 : 7, p };
	if (id == NULL)
		hd_idem_run(dw, req, &tk_idem_table, &k, &st, 1, tk_rule_created_cb, req);
	else
		hd_daemon_db_run(dw, req, c->tenant_id, &st, 1, tk_rule_cb, req);
out:
	hd_idem_free(&k);
	free(r.conditions);
	free(r.actions);
	cJSON_Delete(body);
}

void tk_automations_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (hd_caller_get(req, &c) && hd_caller_require(req, &c, HD_ROLE_ADMIN))
		tk_rule_write(req, dw, &c, NULL);
}

void tk_automations_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (hd_caller_get(req, &c) && hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    && (id = hd_req_path_uuid(req, "id", "automation")) != NULL)
		tk_rule_write(req, dw, &c, id);
}

/* get and delete: one statement on (tenant, id). */
static void tk_rule_by_id(hd_rpc_request *req, hd_daemon_worker *dw, const char *sql)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || (id = hd_req_path_uuid(req, "id", "automation")) == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_rule_cb, req);
}

void tk_automations_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	tk_rule_by_id(req, dw, sql_auto_get);
}

void tk_automations_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	tk_rule_by_id(req, dw, sql_auto_delete);
}

void tk_automations_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	hd_query q;
	hd_page page;
	hd_field_errors errs = { .count = 0 };
	const char *ts, *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_query(req, tk_page_params, &q))
		return;
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	hd_page_bound(&page, false, &ts, &id);
	const char *p[4] = { c.tenant_id, ts, id, page.fetch };
	hd_db_stmt st = { sql_auto_list, 4, p };
	hd_page_run(dw, req, c.tenant_id, &st, 1, &page, 1, 2, NULL);
}
