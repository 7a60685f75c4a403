/* Helpers shared by the ticket daemon's handlers: who is calling, request
 * parsing with clear 4xx replies, replies for database outcomes and lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/json.h"
#include "hd/log.h"
#include "hd/uuid.h"
#include "ticket.h"

const char *const tk_priorities[] = { "low", "normal", "high", "urgent", NULL };
const char *const tk_statuses[] = { "new", "open", "pending", "on_hold", "solved", "closed", NULL };

#define TK_MAX_TAGS 20
#define TK_MAX_TAG_CHARS 50

bool tk_caller_get(hd_rpc_request *req, tk_caller *c)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	if (!hd_uuid_valid(e->tenant_id) || !hd_uuid_valid(e->user_id) || e->role[0] == '\0') {
		hd_daemon_reply_problem(req, 401, "authentication required", NULL);
		return false;
	}
	c->tenant_id = e->tenant_id;
	c->user_id = e->user_id;
	c->role = e->role;
	c->customer = strcmp(e->role, "customer") == 0;
	c->staff = strcmp(e->role, "admin") == 0 || strcmp(e->role, "agent") == 0;
	return true;
}

bool tk_require_staff(hd_rpc_request *req, const tk_caller *c, bool admin_only)
{
	bool ok = admin_only ? strcmp(c->role, "admin") == 0 : c->staff;
	if (!ok)
		hd_daemon_reply_problem(req, 403, "your role may not do this", NULL);
	return ok;
}

const char *tk_path_id(hd_rpc_request *req, const char *name)
{
	const char *id = hd_envelope_param(hd_rpc_request_envelope(req), name);
	if (id == NULL || !hd_uuid_valid(id)) {
		hd_daemon_reply_problem(req, 404, "not found", NULL);
		return NULL;
	}
	return id;
}

bool tk_body_object(hd_rpc_request *req, cJSON **out)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	char why[128];
	if (e->body_len == 0) {
		hd_daemon_reply_problem(req, 400, "a JSON body is required", NULL);
		return false;
	}
	if (hd_json_parse(e->body, e->body_len, out, why) != HD_OK) {
		hd_daemon_reply_problem(req, 400, why, NULL);
		return false;
	}
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		hd_daemon_reply_problem(req, 400, "the body must be a JSON object", NULL);
		return false;
	}
	return true;
}

bool tk_query(hd_rpc_request *req, hd_query *q)
{
	if (hd_query_parse(hd_rpc_request_envelope(req)->query, q) != HD_OK) {
		hd_daemon_reply_problem(req, 400, "malformed query string", NULL);
		return false;
	}
	return true;
}

bool tk_reply_invalid(hd_rpc_request *req, const hd_field_errors *errs)
{
	if (errs->count == 0)
		return false;
	hd_daemon_reply_problem(req, 422, "request validation failed", errs);
	return true;
}

void tk_reply_db_error(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	const char *state = res != NULL ? hd_db_result_sqlstate(res) : "";
	if (err == HD_ERR_UNAVAILABLE || err == HD_ERR_CLOSED || err == HD_ERR_TIMEOUT) {
		hd_daemon_reply_problem(req, 503, "database unavailable, retry later", NULL);
		return;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		hd_daemon_reply_problem(req, 503, "conflicting concurrent update, retry", NULL);
		return;
	}
	if (strcmp(state, "23505") == 0) {
		bool key = strcmp(hd_db_result_constraint(res), "idempotency_keys_pkey") == 0;
		hd_daemon_reply_problem(req, 409,
		    key ? "a request with this Idempotency-Key is in progress"
		        : "conflicts with an existing object",
		    NULL);
		return;
	}
	if (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0) {
		hd_daemon_reply_problem(req, 422, "a value is out of range or malformed", NULL);
		return;
	}
	hd_log_fields(HD_LOG_ERROR, "database batch failed", "err", hd_err_name(err), "sqlstate",
	    state, "message", res != NULL ? hd_db_result_message(res) : "", NULL);
	hd_daemon_reply_problem(req, 500, "internal error", NULL);
}

void tk_db_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg)
{
	hd_err err
	    = dw->db != NULL ? hd_db_run(dw->db, tenant_id, stmts, n, cb, arg) : HD_ERR_UNAVAILABLE;
	if (err != HD_OK)
		tk_reply_db_error(req, HD_ERR_UNAVAILABLE, NULL);
}

/* Writes the base64url cursor of row into out ("null" when it cannot). */
static void tk_list_cursor(
    const hd_db_result *res, int stmt, int row, int cur_ts, int cur_id, char out[HD_CURSOR_MAX + 3])
{
	tk_cursor_write(hd_db_result_value(res, stmt, row, cur_ts),
	    hd_db_result_value(res, stmt, row, cur_id), out);
}

void tk_cursor_write(const char *ts, const char *id, char out[HD_CURSOR_MAX + 3])
{
	char plain[128], enc[HD_CURSOR_MAX];
	strcpy(out, "null");
	if (ts == NULL || id == NULL || strlen(ts) + strlen(id) + 2 > sizeof(plain))
		return;
	strcpy(plain, ts);
	strcat(plain, "|");
	strcat(plain, id);
	if (hd_cursor_encode(plain, enc, sizeof(enc)) == HD_OK) {
		out[0] = '"';
		strcpy(out + 1, enc);
		strcat(out, "\"");
	}
}

void tk_reply_items(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int shown, const char *tail)
{
	static const char head[] = "{\"items\":[", mid[] = "],";
	size_t total = sizeof(head) + sizeof(mid) + strlen(tail) + 2;
	for (int i = 0; i < shown; i++) {
		const char *v = hd_db_result_value(res, stmt, i, 0);
		total += (v != NULL ? strlen(v) : 4) + 1;
	}
	char *out = malloc(total);
	if (out == NULL) {
		hd_daemon_reply_problem(req, 500, "out of memory", NULL);
		return;
	}
	size_t len = sizeof(head) - 1;
	memcpy(out, head, len);
	for (int i = 0; i < shown; i++) {
		const char *v = hd_db_result_value(res, stmt, i, 0);
		if (v == NULL)
			v = "null";
		if (i > 0)
			out[len++] = ',';
		size_t n = strlen(v);
		memcpy(out + len, v, n);
		len += n;
	}
	memcpy(out + len, mid, sizeof(mid) - 1);
	len += sizeof(mid) - 1;
	size_t n = strlen(tail);
	memcpy(out + len, tail, n);
	len += n;
	out[len++] = '}';
	hd_daemon_reply_json(req, 200, out, len, NULL);
	free(out);
}

void tk_reply_list(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id)
{
	int rows = hd_db_result_ntuples(res, stmt);
	int shown = rows > limit ? limit : rows;
	char cursor[HD_CURSOR_MAX + 3] = "null";
	char tail[HD_CURSOR_MAX + 20];
	if (rows > limit && shown > 0)
		tk_list_cursor(res, stmt, shown - 1, cur_ts, cur_id, cursor);
	snprintf(tail, sizeof(tail), "\"next_cursor\":%s", cursor);
	tk_reply_items(req, res, stmt, shown, tail);
}

/* A list in flight: the page size and cursor columns travel to the callback. */
typedef struct tk_list_ctx {
	hd_rpc_request *req;
	int nstmts, limit, cur_ts, cur_id;
} tk_list_ctx;

static void tk_list_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_list_ctx *ctx = arg;
	if (err != HD_OK)
		tk_reply_db_error(ctx->req, err, res);
	else if (ctx->nstmts == 2 && hd_db_result_ntuples(res, 0) == 0)
		hd_daemon_reply_problem(ctx->req, 404, "not found", NULL);
	else
		tk_reply_list(ctx->req, res, ctx->nstmts - 1, ctx->limit, ctx->cur_ts, ctx->cur_id);
	free(ctx);
}

void tk_list_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int nstmts, int limit, int cur_ts, int cur_id)
{
	tk_list_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL) {
		hd_daemon_reply_problem(req, 500, "out of memory", NULL);
		return;
	}
	*ctx = (tk_list_ctx) { req, nstmts, limit, cur_ts, cur_id };
	hd_err err = dw->db != NULL ? hd_db_run(dw->db, tenant_id, stmts, nstmts, tk_list_cb, ctx)
	                            : HD_ERR_UNAVAILABLE;
	if (err != HD_OK) {
		free(ctx);
		tk_reply_db_error(req, HD_ERR_UNAVAILABLE, NULL);
	}
}

/* True when s is exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" and names a real UTC
 * time (a forged cursor must not reach the database as a bad timestamp). */
static bool tk_ts_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	struct tm tm = { 0 }, back;
	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	        &tm.tm_min, &tm.tm_sec)
	        != 6
	    || tm.tm_year < 1)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	time_t t = timegm(&back);
	return t != (time_t)-1 && back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon
	    && back.tm_mday == tm.tm_mday && back.tm_hour == tm.tm_hour && back.tm_min == tm.tm_min
	    && back.tm_sec == tm.tm_sec;
}

void tk_cursor_read(const hd_query *q, char ts[32], char id[40], hd_field_errors *errs)
{
	const char *cur = hd_query_get(q, "cursor");
	char plain[128];
	if (cur == NULL || cur[0] == '\0')
		return;
	if (hd_cursor_decode(cur, plain, sizeof(plain)) != HD_OK)
		goto bad;
	char *bar = strchr(plain, '|');
	if (bar == NULL)
		goto bad;
	*bar = '\0';
	if (!tk_ts_valid(plain) || !hd_uuid_valid(bar + 1))
		goto bad;
	strcpy(ts, plain);
	strcpy(id, bar + 1);
	return;
bad:
	hd_field_errors_add(errs, "cursor", "malformed cursor");
}

bool tk_tags_read(const cJSON *body, char **out, hd_field_errors *errs)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "tags");
	if (tags == NULL || cJSON_IsNull(tags))
		return false;
	if (!cJSON_IsArray(tags)) {
		hd_field_errors_add(errs, "tags", "must be an array of strings");
		return false;
	}
	if (cJSON_GetArraySize(tags) > TK_MAX_TAGS) {
		hd_field_errors_add(errs, "tags", "at most 20 tags");
		return false;
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, tags)
	{
		size_t n = cJSON_IsString(t) ? hd_utf8_length(t->valuestring) : 0;
		if (n < 1 || n > TK_MAX_TAG_CHARS) {
			hd_field_errors_add(
			    errs, "tags", "each tag must be a string of 1 to 50 characters");
			return false;
		}
	}
	*out = hd_json_print(tags, NULL);
	if (*out == NULL) {
		hd_field_errors_add(errs, "tags", "could not be stored");
		return false;
	}
	return true;
}

bool tk_uuid_read(
    const cJSON *body, const char *key, const char **out, bool *is_null, hd_field_errors *errs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (v == NULL)
		return false;
	if (cJSON_IsNull(v)) {
		if (is_null != NULL)
			*is_null = true;
		else
			hd_field_errors_add(errs, key, "must be a UUID");
		return false;
	}
	if (!cJSON_IsString(v) || !hd_uuid_valid(v->valuestring)) {
		hd_field_errors_add(errs, key, "must be a UUID");
		return false;
	}
	*out = v->valuestring;
	return true;
}
