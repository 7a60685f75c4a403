/* GET /v1/tickets/{id}/suggestions (admin, agent): a predicted category and
 * priority, and the published knowledge articles most relevant to the
 * ticket's subject and description, asked of hd-knowledge (kb.suggest) over
 * NNG within HD_KNOWLEDGE_TIMEOUT_MS (hd/peer.h). Each predicted field is
 * the auto-triage classifier's (from kb.suggest) when it spoke, else the one
 * of the tenant's most similar solved or closed tickets (full-text rank,
 * ticket.ticket_suggestions in 007_suggestions.sql). When knowledge is down
 * or slow the reply still comes: "articles": [], the similar tickets'
 * prediction and "degraded": true, never a 5xx. */
#include <stdlib.h>
#include <string.h>
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/peer.h"
#include "ticket.h"

#define TK_SUGGEST_ARTICLES "5"

static const char sql_suggestions[] = "SELECT ticket.ticket_suggestions($1, $2)::text";
static const char sql_text[] = "SELECT t.subject || E'\\n' || coalesce(t.description, '')"
                               " FROM ticket.tickets t"
                               " WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL";

static hd_rpc_client *tk_knowledge;
static long tk_knowledge_timeout_ms = 500;

hd_err tk_suggestions_start(void)
{
	/* below the daemon's 5 s drain, so that no call outlives the workers
	 * its reply is posted to */
	hd_err err = hd_config_int("HD_KNOWLEDGE_TIMEOUT_MS", 1, 4000, &tk_knowledge_timeout_ms);
	if (err != HD_OK)
		return err;
	return hd_rpc_client_open_peer(
	    &tk_knowledge, hd_config_str("HD_KNOWLEDGE_URL"), "hd-knowledge");
}

hd_rpc_client *tk_knowledge_client(void)
{
	return tk_knowledge;
}

void tk_suggestions_stop(void)
{
	hd_rpc_client_close(tk_knowledge);
	tk_knowledge = NULL;
}

/* A reply in the making: the ticket's own suggestions, waiting for articles. */
typedef struct tk_suggest {
	hd_rpc_request *req;
	cJSON *reply;
} tk_suggest;

/* Sets predicted's field to the classifier's value when it spoke
 * (classifier: kb.suggest's "predicted"); says whose value it is in by.
 * Returns the confidence of the value kept. */
static double tk_suggest_pick(
    cJSON *predicted, const cJSON *classifier, const char *field, cJSON *by)
{
	const cJSON *mine = cJSON_GetObjectItemCaseSensitive(classifier, field);
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(mine, "value");
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(mine, "confidence");
	if (cJSON_IsString(value) && cJSON_IsNumber(conf)) {
		cJSON_ReplaceItemInObjectCaseSensitive(
		    predicted, field, cJSON_CreateString(value->valuestring));
		cJSON_AddStringToObject(by, field, "classifier");
		return conf->valuedouble;
	}
	cJSON_AddStringToObject(by, field, "similar_tickets");
	conf = cJSON_GetObjectItemCaseSensitive(predicted, "confidence");
	return cJSON_IsNumber(conf) ? conf->valuedouble : 0;
}

/* Merges the classifier's predictions (taken; NULL: knowledge did not
 * answer) into s->reply's "predicted": per field, the classifier's value
 * when it spoke; "confidence" the lower of the two values' confidences;
 * "by" whose each value is; "classifier" what it said. */
static void tk_suggest_predicted(tk_suggest *s, cJSON *classifier)
{
	cJSON *predicted = cJSON_GetObjectItemCaseSensitive(s->reply, "predicted");
	cJSON *by = cJSON_CreateObject();
	if (!cJSON_IsObject(classifier)) {
		cJSON_Delete(classifier);
		classifier = NULL;
	}
	if (!cJSON_IsObject(predicted) || by == NULL) {
		cJSON_Delete(by);
		cJSON_Delete(classifier);
		return;
	}
	double c = tk_suggest_pick(predicted, classifier, "category", by);
	double p = tk_suggest_pick(predicted, classifier, "priority", by);
	cJSON_ReplaceItemInObjectCaseSensitive(
	    predicted, "confidence", cJSON_CreateNumber(c < p ? c : p));
	cJSON_AddItemToObject(predicted, "by", by);
	if (classifier != NULL)
		cJSON_AddItemToObject(predicted, "classifier", classifier);
}

/* Replies with s->reply, its "articles" set to items (taken; NULL: none,
 * degraded) and its prediction merged with the classifier's (taken; NULL:
 * none), and frees s. */
static void tk_suggest_finish(tk_suggest *s, cJSON *items, cJSON *classifier)
{
	tk_suggest_predicted(s, classifier);
	cJSON_DeleteItemFromObjectCaseSensitive(s->reply, "articles");
	if (items == NULL) {
		cJSON_AddItemToObject(s->reply, "articles", cJSON_CreateArray());
		cJSON_AddBoolToObject(s->reply, "degraded", 1);
	} else {
		cJSON_AddItemToObject(s->reply, "articles", items);
	}
	size_t len = 0;
	char *json = hd_json_print(s->reply, &len);
	if (json != NULL)
		hd_daemon_reply_compact(s->req, 200, json, len, NULL);
	else
		hd_reply_problem(s->req, 500, NULL);
	free(json);
	cJSON_Delete(s->reply);
	free(s);
}

static void tk_suggest_articles_cb(hd_err err, int status, const char *body, void *arg)
{
	size_t len = strlen(body);
	tk_suggest *s = arg;
	cJSON *reply = NULL, *items = NULL;
	if (err == HD_OK && status == 200 && hd_json_parse(body, len, &reply, NULL) == HD_OK)
		items = cJSON_DetachItemFromObjectCaseSensitive(reply, "items");
	if (items != NULL && !cJSON_IsArray(items)) {
		cJSON_Delete(items);
		items = NULL;
	}
	cJSON *classifier
	    = items != NULL ? cJSON_DetachItemFromObjectCaseSensitive(reply, "predicted") : NULL;
	if (items == NULL)
		hd_log_warn("suggestions: knowledge did not answer (%s, status %d)",
		    hd_err_name(err), status);
	cJSON_Delete(reply);
	tk_suggest_finish(s, items, classifier);
}

/* Asks knowledge for the articles of text; replies degraded at once when
 * the call cannot be made. */
static void tk_suggest_ask(tk_suggest *s, const char *text)
{
	cJSON *q = cJSON_CreateObject();
	char *body = NULL;
	if (q != NULL && cJSON_AddStringToObject(q, "text", text) != NULL
	    && cJSON_AddNumberToObject(q, "limit", atoi(TK_SUGGEST_ARTICLES)) != NULL)
		body = hd_json_print(q, NULL);
	cJSON_Delete(q);
	hd_err err = body == NULL ? HD_ERR_NOMEM
	                          : hd_peer_call(tk_knowledge, s->req, "kb.suggest", NULL, body,
	                              tk_knowledge_timeout_ms, tk_suggest_articles_cb, s);
	free(body);
	if (err != HD_OK) {
		hd_log_warn("suggestions: knowledge not reachable (%s)", hd_err_name(err));
		tk_suggest_finish(s, NULL, NULL);
	}
}

static void tk_suggestions_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	const char *json = hd_db_result_value(res, 0, 0, 0);
	const char *text = hd_db_result_value(res, 1, 0, 0);
	if (json == NULL || text == NULL) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	tk_suggest *s = calloc(1, sizeof(*s));
	if (s == NULL || hd_json_parse(json, strlen(json), &s->reply, NULL) != HD_OK) {
		free(s);
		hd_reply_problem(req, 500, NULL);
		return;
	}
	s->req = req;
	/* kb.suggest takes at most 4000 characters; the start says enough */
	char clipped[4000];
	size_t n = strlen(text);
	if (n >= sizeof clipped) {
		n = sizeof clipped - 1;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
	}
	memcpy(clipped, text, n);
	clipped[n] = '\0';
	tk_suggest_ask(s, clipped);
}

void tk_tickets_suggestions(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || (id = hd_req_path_uuid(req, "id", "ticket")) == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st[2] = { { sql_suggestions, 2, p }, { sql_text, 2, p } };
	hd_daemon_db_run(dw, req, c.tenant_id, st, 2, tk_suggestions_cb, req);
}
