/* Request decoding: see hd/request.h. */
#include <stdio.h>
#include <string.h>
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"

bool hd_req_body(hd_rpc_request *req, const char *const *known, cJSON **out)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	char why[128] = "";
	cJSON *root = NULL;
	hd_field_errors errs = { .count = 0 };

	*out = NULL;
	if (env->body_len == 0) {
		hd_reply_problem(req, 400, HD_TEXT_BODY_REQUIRED);
		return false;
	}
	if (hd_json_parse(env->body, env->body_len, &root, why) != HD_OK) {
		char detail[160];
		snprintf(detail, sizeof detail, "invalid JSON: %s", why);
		hd_reply_problem(req, 400, detail);
		return false;
	}
	if (!cJSON_IsObject(root))
		hd_field_errors_add(&errs, "body", HD_TEXT_BODY_OBJECT);
	else if (known != NULL)
		hd_json_reject_unknown(root, known, &errs);
	if (hd_reply_invalid(req, &errs)) {
		cJSON_Delete(root);
		return false;
	}
	*out = root;
	return true;
}

static bool name_known(const char *name, const char *const *known)
{
	for (size_t i = 0; known[i] != NULL; i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

void hd_query_reject_unknown(const hd_query *q, const char *const *known, hd_field_errors *errs)
{
	for (size_t i = 0; i < q->count; i++)
		if (!name_known(q->params[i].key, known))
			hd_field_errors_add(errs, q->params[i].key, HD_TEXT_UNKNOWN_PARAM);
}

bool hd_req_query(hd_rpc_request *req, const char *const *known, hd_query *q)
{
	hd_field_errors errs = { .count = 0 };
	if (hd_query_parse(hd_rpc_request_envelope(req)->query, q) != HD_OK) {
		hd_reply_problem(req, 400, HD_TEXT_QUERY);
		return false;
	}
	hd_query_reject_unknown(q, known, &errs);
	return !hd_reply_invalid(req, &errs);
}

const char *hd_query_enum(
    const hd_query *q, const char *key, const char *const *allowed, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	for (size_t i = 0; allowed[i] != NULL; i++)
		if (strcmp(v, allowed[i]) == 0)
			return allowed[i];
	hd_field_error_enum(errs, key, allowed);
	return NULL;
}

const char *hd_query_uuid(const hd_query *q, const char *key, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	if (hd_uuid_valid(v))
		return v;
	hd_field_errors_add(errs, key, "must be a UUID");
	return NULL;
}

const char *hd_query_text(
    const hd_query *q, const char *key, size_t max_chars, hd_field_errors *errs)
{
	const char *v = hd_query_get(q, key);
	if (v == NULL || v[0] == '\0')
		return NULL;
	if (hd_utf8_valid(v, strlen(v)) && hd_utf8_length(v) <= max_chars)
		return v;
	char msg[64];
	snprintf(msg, sizeof msg, "must be at most %zu characters", max_chars);
	hd_field_errors_add(errs, key, msg);
	return NULL;
}

const char *hd_req_path_uuid(hd_rpc_request *req, const char *name, const char *resource)
{
	const char *id = hd_envelope_param(hd_rpc_request_envelope(req), name);
	if (id == NULL || !hd_uuid_valid(id)) {
		hd_reply_not_found(req, resource);
		return NULL;
	}
	return id;
}

const char *hd_req_header(hd_rpc_request *req, const char *name)
{
	return hd_envelope_header(hd_rpc_request_envelope(req), name);
}

bool hd_if_match_parse(const char *v, char version[HD_IF_MATCH_MAX], bool *has)
{
	*has = false;
	version[0] = '\0';
	if (v == NULL || strcmp(v, "*") == 0)
		return true;
	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	size_t n = strlen(v);
	if (n < 3 || n > 11 || v[0] != '"' || v[n - 1] != '"'
	    || strspn(v + 1, "0123456789") != n - 2)
		return false;
	memcpy(version, v + 1, n - 2);
	version[n - 2] = '\0';
	*has = true;
	return true;
}

bool hd_req_if_match(hd_rpc_request *req, char version[HD_IF_MATCH_MAX], bool *has)
{
	return hd_if_match_parse(hd_req_header(req, "if-match"), version, has);
}

bool hd_locale_valid(const char *s)
{
	size_t lang = strspn(s, "abcdefghijklmnopqrstuvwxyz");
	if (lang < 2 || lang > 3)
		return false;
	if (s[lang] == '\0')
		return true;
	if (s[lang] != '-' && s[lang] != '_')
		return false;
	const char *rest = s + lang + 1;
	size_t n = strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
	return n >= 2 && n <= 8 && rest[n] == '\0';
}
