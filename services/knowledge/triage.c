/* The auto-triage classifier's predictions for a ticket's text: the counts
 * of knowledge.triage_input (sql/003_triage.sql, learnt by the consumer of
 * hd-ticket's events) through hd/triage.h. kb.suggest adds them to its
 * articles as "predicted"; kb.triage answers them alone, for hd-ticket's
 * auto_triage automation action (docs/architecture.md, "Auto-triage"). */
#include <stdlib.h>
#include <string.h>
#include "hd/envelope.h"
#include "hd/json.h"
#include "hd/outbox.h"
#include "hd/request.h"
#include "hd/triage.h"
#include "hd/uuid.h"
#include "knowledge.h"

#define KB_TRIAGE_TEXT_MAX 4000

const char kb_triage_sql[] = "SELECT knowledge.triage_input($1)::text";

/* {"value": label or null, "confidence", "examples", "outcome"} of one field. */
static cJSON *kb_triage_field(const cJSON *input)
{
	hd_triage_prediction p;
	hd_triage_predict(input, &p);
	cJSON *f = cJSON_CreateObject();
	if (f == NULL)
		return NULL;
	if (p.label != NULL)
		cJSON_AddStringToObject(f, "value", p.label);
	else
		cJSON_AddNullToObject(f, "value");
	/* three decimals: enough for a threshold, no false precision */
	cJSON_AddNumberToObject(f, "confidence", (double)(long)(p.confidence * 1000 + 0.5) / 1000);
	cJSON_AddNumberToObject(f, "examples", p.examples);
	cJSON_AddStringToObject(f, "outcome", hd_triage_outcome_name(p.outcome));
	return f;
}

cJSON *kb_triage_predicted(const char *input_json)
{
	cJSON *input = NULL, *out = cJSON_CreateObject();
	if (out == NULL || input_json == NULL
	    || hd_json_parse(input_json, strlen(input_json), &input, NULL) != HD_OK) {
		cJSON_Delete(out);
		return NULL;
	}
	static const char *const fields[] = { "category", "priority" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		cJSON_AddItemToObject(out, fields[i],
		    kb_triage_field(cJSON_GetObjectItemCaseSensitive(input, fields[i])));
	cJSON_Delete(input);
	return out;
}

void kb_reply_predicted(hd_rpc_request *req, const char *base_json, const char *input_json)
{
	cJSON *reply = NULL, *predicted = kb_triage_predicted(input_json);
	size_t len = 0;
	char *json = NULL;
	bool base_ok = base_json == NULL
	    ? (reply = cJSON_CreateObject()) != NULL
	    : hd_json_parse(base_json, strlen(base_json), &reply, NULL) == HD_OK;
	if (base_ok && predicted != NULL && cJSON_AddItemToObject(reply, "predicted", predicted)) {
		predicted = NULL;
		json = hd_json_print(reply, &len);
	}
	if (json != NULL)
		hd_daemon_reply_compact(req, 200, json, len, NULL);
	else
		hd_reply_problem(req, 500, NULL);
	free(json);
	cJSON_Delete(predicted);
	cJSON_Delete(reply);
}

static void kb_triage_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	kb_reply_predicted(req, NULL, hd_db_result_value(res, 0, 0, 0));
}

/* The tenant kb.triage answers for: a staff caller's, or the one hd-ticket
 * names when it asks as the system (role HD_OUTBOX_REPLAY_ROLE, a tenant,
 * no user: the auto_triage action; no token carries that role and no route
 * leads here). NULL after replying 401 or 403. */
static const char *kb_triage_tenant(hd_rpc_request *req)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	hd_caller c;
	if (strcmp(e->role, HD_OUTBOX_REPLAY_ROLE) == 0 && e->user_id[0] == '\0'
	    && hd_uuid_valid(e->tenant_id))
		return e->tenant_id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF))
		return NULL;
	return c.tenant_id;
}

/* kb.triage: {"text": a ticket's subject and description} from staff of the
 * tenant or hd-ticket as the system -> {"predicted": {"category": {...},
 * "priority": {...}}}. */
void kb_triage(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "text", NULL };
	const char *tenant;
	cJSON *body = NULL;
	const char *text = NULL;
	hd_field_errors errs = { .count = 0 };
	if ((tenant = kb_triage_tenant(req)) == NULL || !hd_req_body(req, known, &body))
		return;
	hd_json_get_string(body, "text", true, 1, KB_TRIAGE_TEXT_MAX, &text, &errs);
	if (!hd_reply_invalid(req, &errs)) {
		const char *p[1] = { text };
		hd_db_stmt st = { kb_triage_sql, 1, p };
		hd_daemon_db_run(dw, req, tenant, &st, 1, kb_triage_cb, req);
	}
	cJSON_Delete(body);
}
