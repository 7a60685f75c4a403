/* The tenant's SLA policy (GET/PUT /v1/sla-policy): per-priority targets in
 * minutes, optionally counted in business hours ({"timezone","days":{"mon":
 * [["09:00","17:00"]],…}}). New tickets take their due times from it at
 * creation (tickets.c, ticket.sla_due); the relay's timer runs the breach
 * detector (ticket.sla_detect). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/hours.h"
#include "hd/json.h"
#include "ticket.h"

#define TK_SLA_MAX_MINUTES 525600 /* one year */

static const char sql_sla_get[]
    = "SELECT json_build_object('targets', COALESCE(p.targets, '{}'::jsonb),"
      " 'business_hours', p.business_hours, 'updated_at', ticket.ts(p.updated_at))::text"
      " FROM (SELECT 1) one LEFT JOIN ticket.sla_policies p ON p.tenant_id = $1";

static const char sql_sla_put[]
    = "INSERT INTO ticket.sla_policies AS p (tenant_id, targets, business_hours, updated_at)"
      " VALUES ($1, $2::jsonb, $3::jsonb, date_trunc('milliseconds', now()))"
      " ON CONFLICT (tenant_id) DO UPDATE SET targets = EXCLUDED.targets,"
      " business_hours = EXCLUDED.business_hours, updated_at = EXCLUDED.updated_at"
      " RETURNING json_build_object('targets', p.targets, 'business_hours', p.business_hours,"
      " 'updated_at', ticket.ts(p.updated_at))::text";

static void tk_sla_reply_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK && res != NULL && strcmp(hd_db_result_sqlstate(res), "22023") == 0) {
		hd_field_errors errs = { .count = 0 };
		hd_field_errors_add(&errs, "business_hours.timezone", "is not a known time zone");
		hd_reply_invalid(req, &errs);
		return;
	}
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 0);
	if (json == NULL)
		json = "{\"targets\":{},\"business_hours\":null}";
	hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
}

void tk_sla_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return;
	const char *p[1] = { c.tenant_id };
	hd_db_stmt st = { sql_sla_get, 1, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_sla_reply_cb, req);
}

/* Validates one priority's targets and copies them into out. */
static void tk_sla_target(const cJSON *t, const char *prio, cJSON *out, hd_field_errors *errs)
{
	static const char *const known[] = { "first_response_minutes", "resolution_minutes", NULL };
	char field[24];
	snprintf(field, sizeof(field), "targets.%.8s", prio);
	if (!cJSON_IsObject(t)) {
		hd_field_errors_add(errs, field, "must be an object");
		return;
	}
	hd_field_errors local = { .count = 0 };
	int64_t fr = 0, res = 0;
	hd_json_reject_unknown(t, known, &local);
	hd_json_get_int(t, "first_response_minutes", true, 1, TK_SLA_MAX_MINUTES, &fr, &local);
	hd_json_get_int(t, "resolution_minutes", true, 1, TK_SLA_MAX_MINUTES, &res, &local);
	for (size_t i = 0; i < local.count; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.%.38s", field, local.items[i].field);
		hd_field_errors_add(errs, name, local.items[i].message);
	}
	if (local.count > 0)
		return;
	cJSON *o = cJSON_AddObjectToObject(out, prio);
	if (o != NULL) {
		cJSON_AddNumberToObject(o, "first_response_minutes", (double)fr);
		cJSON_AddNumberToObject(o, "resolution_minutes", (double)res);
	}
}

/* Validates the body and returns the normalised targets JSON (malloc'ed). */
static char *tk_sla_targets(const cJSON *body, hd_field_errors *errs)
{
	static const char *const known[] = { "targets", "business_hours", NULL };
	hd_json_reject_unknown(body, known, errs);
	const cJSON *targets = cJSON_GetObjectItemCaseSensitive(body, "targets");
	if (!cJSON_IsObject(targets)) {
		hd_field_errors_add(errs, "targets", "must be an object keyed by priority");
		return NULL;
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, targets)
	{
		bool known_prio = false;
		for (size_t i = 0; tk_priorities[i] != NULL; i++)
			known_prio = known_prio || strcmp(t->string, tk_priorities[i]) == 0;
		if (!known_prio)
			hd_field_errors_add(
			    errs, "targets", "keys must be low, normal, high or urgent");
	}
	cJSON *out = cJSON_CreateObject();
	if (out == NULL)
		return NULL;
	for (size_t i = 0; tk_priorities[i] != NULL; i++) {
		t = cJSON_GetObjectItemCaseSensitive(targets, tk_priorities[i]);
		if (t != NULL)
			tk_sla_target(t, tk_priorities[i], out, errs);
	}
	char *json = errs->count == 0 ? hd_json_print(out, NULL) : NULL;
	cJSON_Delete(out);
	return json;
}

void tk_sla_put(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	cJSON *body = NULL;
	char *targets = NULL, *bh = NULL;
	hd_field_errors errs = { .count = 0 };
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, NULL, &body))
		goto out;
	targets = tk_sla_targets(body, &errs);
	bh = hd_hours_read(body, "business_hours", &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (targets == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	const char *p[3] = { c.tenant_id, targets, bh };
	hd_db_stmt st = { sql_sla_put, 3, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, tk_sla_reply_cb, req);
out:
	free(bh);
	free(targets);
	cJSON_Delete(body);
}
