/* Field readers and replies the knowledge handlers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "knowledge.h"

#define KB_TITLE_MAX 200
#define KB_BODY_MAX 100000

static const char *const kb_statuses[] = { "draft", "published", "archived", NULL };

void kb_fields_read(const cJSON *obj, bool required, kb_fields *f, hd_field_errors *errs)
{
	static const char *const known[] = { "title", "body", "tags", "locale", "status", NULL };
	hd_json_reject_unknown(obj, known, errs);
	hd_json_get_string(obj, "title", required, 1, KB_TITLE_MAX, &f->title, errs);
	hd_json_get_string(obj, "body", required, 1, KB_BODY_MAX, &f->body, errs);
	hd_json_tags_read(obj, &f->tags_json, errs);
	if (hd_json_get_string(obj, "locale", false, 2, 20, &f->locale, errs)
	    && !hd_locale_valid(f->locale))
		hd_field_errors_add(errs, "locale", "must be a language code such as en or de-AT");
	hd_json_get_enum(obj, "status", false, kb_statuses, &f->status, errs);
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, "tags")))
		hd_field_errors_add(errs, "tags", "must be an array of strings");
}

void kb_fields_free(kb_fields *f)
{
	free(f->tags_json);
	f->tags_json = NULL;
}

const char *kb_published_only(const hd_caller *c)
{
	return hd_caller_is(c, HD_ROLES_STAFF) ? "f" : "t";
}

void kb_reply_article(hd_rpc_request *req, int status, const char *json, const char *version)
{
	char etag[32];
	if (json == NULL) {
		hd_reply_not_found(req, "article");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", version != NULL ? version : "0");
	hd_daemon_reply_json(req, status, json, strlen(json), "etag", etag, NULL);
}

void kb_json_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	int last = hd_db_result_nstmts(res) - 1;
	const char *json = hd_db_result_value(res, last, 0, 0);
	if (json == NULL) {
		hd_reply_problem(req, 500, NULL);
		return;
	}
	hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
}
