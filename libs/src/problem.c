/* RFC 9457 problem details: the one builder of error bodies. The type is
 * "about:blank", so the title is the status's reason phrase; detail says
 * what went wrong and errors[] names each invalid field. */
#include "hd/problem.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void hd_field_errors_add(hd_field_errors *errs, const char *field, const char *message)
{
	if (errs == NULL || errs->count >= HD_PROBLEM_MAX_FIELD_ERRORS)
		return;
	hd_field_error *e = &errs->items[errs->count++];
	snprintf(e->field, sizeof(e->field), "%s", field != NULL ? field : "");
	snprintf(e->message, sizeof(e->message), "%s", message != NULL ? message : "");
}

const char *hd_http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 204, "No Content" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown Status";
}

static cJSON *hd_problem_errors(const hd_field_errors *errs)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr != NULL && i < errs->count; i++) {
		cJSON *e = cJSON_CreateObject();
		if (e == NULL || !cJSON_AddItemToArray(arr, e)
		    || cJSON_AddStringToObject(e, "field", errs->items[i].field) == NULL
		    || cJSON_AddStringToObject(e, "message", errs->items[i].message) == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

char *hd_problem_json(int status, const char *detail, const char *request_id,
    const hd_field_errors *errs, size_t *len_out)
{
	char *out = NULL;
	const char *title = hd_http_reason(status);
	cJSON *p = cJSON_CreateObject();
	if (p == NULL)
		return NULL;
	if (cJSON_AddStringToObject(p, "type", "about:blank") == NULL
	    || cJSON_AddStringToObject(p, "title", title) == NULL
	    || cJSON_AddNumberToObject(p, "status", status) == NULL
	    || cJSON_AddStringToObject(p, "detail", detail != NULL ? detail : title) == NULL)
		goto done;
	if (request_id != NULL && cJSON_AddStringToObject(p, "request_id", request_id) == NULL)
		goto done;
	if (errs != NULL && errs->count > 0) {
		cJSON *arr = hd_problem_errors(errs);
		if (arr == NULL || !cJSON_AddItemToObject(p, "errors", arr)) {
			cJSON_Delete(arr);
			goto done;
		}
	}
	out = cJSON_PrintUnformatted(p);
	if (out != NULL && len_out != NULL)
		*len_out = strlen(out);
done:
	cJSON_Delete(p);
	return out;
}
