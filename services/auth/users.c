/* Users of a tenant: create (admin), list with filters and keyset pages
 * (admin, agent), get (admin, agent, self), update with If-Match (admin; self
 * may change only name and password), deactivate (admin), and auth.me.
 * Deactivation revokes every refresh token in the same transaction and marks
 * the user off in Redis so the gateway rejects their access tokens at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/query.h"
#include "hd/uuid.h"

#define NAME_BYTES (AUTH_NAME_MAX * 4 + 1)
#define Q_MAX 100

static const char SQL_USER_GET[]
    = "SELECT auth.user_json(u), u.version FROM auth.users u WHERE u.id = $1::uuid";
/* Inserts the user and, when an Idempotency-Key ($7) came, its reply. */
static const char SQL_USER_INSERT[]
    = "WITH u AS (INSERT INTO auth.users AS u (tenant_id, id, email, name, role, password_hash) "
      "VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6) RETURNING auth.user_json(u) AS j, u.version),"
      " k AS (INSERT INTO auth.idempotency_keys (tenant_id, key, request_hash, status, body,"
      " location, etag) SELECT $1::uuid, $7, $8, 201, j::text, '/v1/users/' || $2,"
      " '\"' || version || '\"' FROM u WHERE $7::text IS NOT NULL)"
      " SELECT j, version FROM u";
static const char SQL_USER_LIST[]
    = "SELECT auth.user_json(u), to_char(u.created_at AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), u.id FROM auth.users u "
      "WHERE ($1::text IS NULL OR u.role = $1) "
      "AND ($2::text IS NULL OR u.email ILIKE $2 OR u.name ILIKE $2) "
      "AND ($3::timestamptz IS NULL OR (u.created_at, u.id) > ($3::timestamptz, $4::uuid)) "
      "ORDER BY u.created_at, u.id LIMIT $5::int";
static const char SQL_USER_UPDATE[]
    = "UPDATE auth.users AS u SET name = coalesce($2, name), role = coalesce($3, role), "
      "active = coalesce($4::boolean, active), password_hash = coalesce($5, password_hash), "
      "version = version + 1, updated_at = now() "
      "WHERE u.id = $1::uuid AND ($6::int IS NULL OR u.version = $6::int) "
      "RETURNING auth.user_json(u), u.version";
static const char SQL_USER_VERSION[] = "SELECT version FROM auth.users WHERE id = $1::uuid";
static const char SQL_USER_DEACTIVATE[]
    = "UPDATE auth.users SET active = false, version = version + 1, updated_at = now() "
      "WHERE id = $1::uuid RETURNING id";
static const char SQL_REVOKE_IF_INACTIVE[]
    = "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1::uuid "
      "AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM auth.users WHERE id = $1::uuid "
      "AND NOT active)";

static const char *const staff_roles[] = { "admin", "agent", "platform_admin", NULL };
static const char *const admin_roles[] = { "admin", "platform_admin", NULL };

/* The state of one create/update/delete, owned by its callback chain. */
typedef struct user_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char id[HD_UUID_STRLEN + 1];
	char email[AUTH_EMAIL_MAX + 1];
	char name[NAME_BYTES];
	char role[32];
	char active[8]; /* "true"/"false", "" when unchanged */
	char password[AUTH_PASSWORD_MAX + 1];
	char hash[AUTH_HASH_MAX];
	char if_match[24]; /* expected version, "" when unconditional */
	auth_idem idem; /* Idempotency-Key of a create; the hash covers the body only */
	char *json; /* reply body kept while Redis is updated */
	char etag[32];
	int status;
} user_ctx;

static user_ctx *user_ctx_new(hd_rpc_request *req, hd_daemon_worker *dw)
{
	user_ctx *c = calloc(1, sizeof *c);

	if (c == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		return NULL;
	}
	c->req = req;
	c->dw = dw;
	return c;
}

static void user_ctx_free(user_ctx *c)
{
	OPENSSL_cleanse(c->password, sizeof c->password);
	free(c->json);
	free(c);
}

static const char *or_null(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static bool forbid_unless(hd_rpc_request *req, const char *const *roles)
{
	if (auth_role_in(hd_rpc_request_envelope(req), roles))
		return false;
	hd_daemon_reply_problem(req, 403, "your role may not do this", NULL);
	return true;
}

/* The path id: a malformed one names nothing, so 404. */
static bool path_id(hd_rpc_request *req, char out[HD_UUID_STRLEN + 1])
{
	const char *id = hd_envelope_param(hd_rpc_request_envelope(req), "id");

	if (id != NULL && hd_uuid_valid(id)) {
		snprintf(out, HD_UUID_STRLEN + 1, "%s", id);
		return true;
	}
	hd_daemon_reply_problem(req, 404, "user not found", NULL);
	return false;
}

/* Sets (off) or deletes the gateway's "user is deactivated" key. */
static hd_err user_off_mark(user_ctx *c, bool off, hd_redis_cb cb)
{
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	char key[128], ttl[24];

	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", env->tenant_id, c->id);
	snprintf(ttl, sizeof ttl, "%ld", auth_cfg()->access_ttl_s + auth_cfg()->leeway_s);
	const char *set[] = { "SET", key, "1", "EX", ttl };
	const char *del[] = { "DEL", key };
	if (c->dw->redis == NULL)
		return HD_ERR_UNAVAILABLE;
	return off ? hd_redis_command(c->dw->redis, cb, c, 5, set, NULL)
	           : hd_redis_command(c->dw->redis, cb, c, 2, del, NULL);
}

/* Replies what c holds once the Redis mark is written (503 if it was not:
 * the change committed, and repeating the request is safe). */
static void user_reply(user_ctx *c)
{
	if (c->json == NULL)
		hd_daemon_reply_json(c->req, c->status, "", 0, NULL);
	else
		hd_daemon_reply_json(
		    c->req, c->status, c->json, strlen(c->json), "ETag", c->etag, NULL);
	user_ctx_free(c);
}

static void user_marked_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	user_ctx *c = arg;

	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) == HD_REDIS_ERROR) {
		hd_daemon_reply_problem(c->req, 503, "token store unavailable; retry", NULL);
		user_ctx_free(c);
		return;
	}
	user_reply(c);
}

static void user_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;
	char location[64], etag[32];

	if (auth_idem_conflict(c->req, err, res)) {
		/* replied 409 */
	} else if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
	} else {
		const char *json = hd_db_result_value(res, 0, 0, 0);
		snprintf(location, sizeof location, "/v1/users/%s", c->id);
		snprintf(etag, sizeof etag, "\"%s\"", hd_db_result_value(res, 0, 0, 1));
		hd_daemon_reply_json(
		    c->req, 201, json, strlen(json), "Location", location, "ETag", etag, NULL);
	}
	user_ctx_free(c);
}

static void user_create_hashed_cb(bool ok, const char *hash, void *arg)
{
	user_ctx *c = arg;
	const hd_envelope *env = hd_rpc_request_envelope(c->req);

	if (!ok || hd_uuid_v7(c->id) != HD_OK) {
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
		user_ctx_free(c);
		return;
	}
	const char *params[] = { env->tenant_id, c->id, c->email, c->name, c->role, hash,
		auth_idem_param(&c->idem), c->idem.hash };
	hd_db_stmt stmt = { SQL_USER_INSERT, 8, params };
	if (hd_db_run(c->dw->db, env->tenant_id, &stmt, 1, user_created_cb, c) != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "database unavailable", NULL);
		user_ctx_free(c);
	}
}

/* Hashes c->password (off the event loop), then inserts the user. */
static void user_create_hash(user_ctx *c)
{
	if (auth_password_hash(hd_rpc_request_worker(c->req), c->password, user_create_hashed_cb, c)
	    != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "busy", NULL);
		user_ctx_free(c);
	}
}

/* No stored reply: create; else the lookup has replied. */
static void user_idem_done(bool miss, void *arg)
{
	user_ctx *c = arg;

	if (miss)
		user_create_hash(c);
	else
		user_ctx_free(c);
}

void auth_users_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "email", "name", "role", "password", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *role = NULL, *password = NULL;
	cJSON *body = NULL;
	user_ctx *c = NULL;

	if (!auth_signed_in(req) || forbid_unless(req, admin_roles)
	    || !auth_body_parse(req, known, &body) || (c = user_ctx_new(req, dw)) == NULL)
		goto out;
	auth_email_get(body, "email", true, c->email, &errs);
	hd_json_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &errs);
	hd_json_get_enum(body, "role", true, auth_tenant_roles, &role, &errs);
	auth_password_get(body, "password", true, &password, &errs);
	auth_idem_read(req, NULL, &c->idem, &errs);
	if (auth_reply_invalid(req, &errs)) {
		user_ctx_free(c);
		goto out;
	}
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->role, sizeof c->role, "%s", role);
	snprintf(c->password, sizeof c->password, "%s", password);
	if (auth_idem_param(&c->idem) == NULL)
		user_create_hash(c);
	else if (auth_idem_lookup(
	             req, dw, hd_rpc_request_envelope(req)->tenant_id, &c->idem, user_idem_done, c)
	    != HD_OK)
		user_ctx_free(c);
out:
	cJSON_Delete(body);
}

void auth_users_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	char id[HD_UUID_STRLEN + 1];

	if (!auth_signed_in(req) || !path_id(req, id))
		return;
	if (!auth_role_in(env, staff_roles) && strcmp(id, env->user_id) != 0) {
		hd_daemon_reply_problem(req, 404, "user not found", NULL);
		return;
	}
	const char *params[] = { id };
	auth_fetch_one(req, dw, env->tenant_id, SQL_USER_GET, 1, params);
}

void auth_me(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);

	if (!auth_signed_in(req))
		return;
	const char *params[] = { env->user_id };
	auth_fetch_one(req, dw, env->tenant_id, SQL_USER_GET, 1, params);
}

typedef struct list_ctx {
	hd_rpc_request *req;
	int limit;
} list_ctx;

/* Joins rows [0, n) of column 0 into {"items":[…],"next_cursor":…}. */
static char *list_body(const hd_db_result *res, int n, const char *cursor, size_t *len)
{
	size_t cap = 64 + (cursor != NULL ? strlen(cursor) : 0);

	for (int i = 0; i < n; i++)
		cap += strlen(hd_db_result_value(res, 0, i, 0)) + 1;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	size_t pos = (size_t)snprintf(out, cap, "{\"items\":[");
	for (int i = 0; i < n; i++)
		pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i > 0 ? "," : "",
		    hd_db_result_value(res, 0, i, 0));
	if (cursor != NULL)
		pos += (size_t)snprintf(out + pos, cap - pos, "],\"next_cursor\":\"%s\"}", cursor);
	else
		pos += (size_t)snprintf(out + pos, cap - pos, "],\"next_cursor\":null}");
	*len = pos;
	return out;
}

static void users_listed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	list_ctx *c = arg;
	char plain[128], cursor[HD_CURSOR_MAX];
	bool more = false;

	if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
		goto out;
	}
	int n = hd_db_result_ntuples(res, 0);
	if (n > c->limit) {
		n = c->limit;
		snprintf(plain, sizeof plain, "%s|%s", hd_db_result_value(res, 0, n - 1, 1),
		    hd_db_result_value(res, 0, n - 1, 2));
		more = hd_cursor_encode(plain, cursor, sizeof cursor) == HD_OK;
	}
	size_t len = 0;
	char *body = list_body(res, n, more ? cursor : NULL, &len);
	if (body == NULL)
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
	else
		hd_daemon_reply_json(c->req, 200, body, len, NULL);
	free(body);
out:
	free(c);
}

/* Turns ?q= into an ILIKE pattern with %, _ and \ escaped. */
static void like_pattern(const char *q, char *out, size_t size)
{
	size_t n = 0;

	out[n++] = '%';
	for (; *q != '\0' && n + 3 < size; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			out[n++] = '\\';
		out[n++] = *q;
	}
	out[n++] = '%';
	out[n] = '\0';
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Splits a decoded cursor "<timestamp>|<uuid>"; false when malformed. */
static bool cursor_split(char *plain, const char **ts, const char **id)
{
	char *bar = strchr(plain, '|');

	if (bar == NULL || bar == plain || bar - plain > 40 || !hd_uuid_valid(bar + 1))
		return false;
	*bar = '\0';
	for (const char *p = plain; *p != '\0'; p++)
		if (strchr("0123456789-:.TZ", *p) == NULL)
			return false;
	*ts = plain;
	*id = bar + 1;
	return true;
}

void auth_users_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const list_roles[]
	    = { "admin", "agent", "technician", "customer", "platform_admin", NULL };
	static const char *const known[] = { "role", "q", "limit", "cursor", NULL };
	const hd_envelope *env = hd_rpc_request_envelope(req);
	hd_field_errors errs = { .count = 0 };
	hd_query q;
	int limit = 25;
	char pattern[2 * Q_MAX + 4], plain[HD_CURSOR_MAX], limit_s[16];
	const char *ts = NULL, *after = NULL, *like = NULL;

	if (!auth_signed_in(req) || forbid_unless(req, staff_roles))
		return;
	if (hd_query_parse(env->query, &q) != HD_OK) {
		hd_daemon_reply_problem(req, 400, "malformed query string", NULL);
		return;
	}
	for (size_t i = 0; i < q.count; i++)
		if (!in_list(q.params[i].key, known))
			hd_field_errors_add(&errs, q.params[i].key, "unknown query parameter");
	const char *role = hd_query_get(&q, "role");
	const char *text = hd_query_get(&q, "q");
	const char *cursor = hd_query_get(&q, "cursor");
	if (role != NULL && !in_list(role, list_roles))
		hd_field_errors_add(&errs, "role", "must be a known role");
	if (text != NULL && (strlen(text) > Q_MAX || !hd_utf8_valid(text, strlen(text)))) {
		hd_field_errors_add(&errs, "q", "must be at most 100 characters");
	} else if (text != NULL && text[0] != '\0') {
		like_pattern(text, pattern, sizeof pattern);
		like = pattern;
	}
	if (hd_query_limit(&q, &limit) != HD_OK)
		hd_field_errors_add(&errs, "limit", "must be an integer from 1 to 100");
	if (cursor != NULL
	    && (hd_cursor_decode(cursor, plain, sizeof plain) != HD_OK
	        || !cursor_split(plain, &ts, &after)))
		hd_field_errors_add(&errs, "cursor", "is not a cursor this list gave out");
	if (auth_reply_invalid(req, &errs))
		return;
	list_ctx *c = malloc(sizeof *c);
	if (c == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		return;
	}
	c->req = req;
	c->limit = limit;
	snprintf(limit_s, sizeof limit_s, "%d", limit + 1);
	const char *params[] = { role, like, ts, after, limit_s };
	hd_db_stmt stmt = { SQL_USER_LIST, 5, params };
	if (hd_db_run(dw->db, env->tenant_id, &stmt, 1, users_listed_cb, c) != HD_OK) {
		hd_daemon_reply_problem(req, 503, "database unavailable", NULL);
		free(c);
	}
}

static void user_updated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;

	if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
		goto fail;
	}
	if (hd_db_result_ntuples(res, 0) != 1) {
		if (hd_db_result_ntuples(res, 1) == 1)
			hd_daemon_reply_problem(
			    c->req, 412, "version does not match If-Match", NULL);
		else
			hd_daemon_reply_problem(c->req, 404, "user not found", NULL);
		goto fail;
	}
	c->status = 200;
	c->json = strdup(hd_db_result_value(res, 0, 0, 0));
	snprintf(c->etag, sizeof c->etag, "\"%s\"", hd_db_result_value(res, 0, 0, 1));
	if (c->json == NULL) {
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
		goto fail;
	}
	if (c->active[0] == '\0') {
		user_reply(c);
		return;
	}
	if (user_off_mark(c, strcmp(c->active, "false") == 0, user_marked_cb) != HD_OK)
		user_marked_cb(HD_ERR_UNAVAILABLE, NULL, c);
	return;
fail:
	user_ctx_free(c);
}

static void user_update_run(user_ctx *c)
{
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	const char *p0[] = { c->id, or_null(c->name), or_null(c->role), or_null(c->active),
		or_null(c->hash), or_null(c->if_match) };
	const char *p1[] = { c->id };
	hd_db_stmt stmts[] = { { SQL_USER_UPDATE, 6, p0 }, { SQL_USER_VERSION, 1, p1 },
		{ SQL_REVOKE_IF_INACTIVE, 1, p1 } };

	if (hd_db_run(c->dw->db, env->tenant_id, stmts, 3, user_updated_cb, c) != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "database unavailable", NULL);
		user_ctx_free(c);
	}
}

static void user_update_hashed_cb(bool ok, const char *hash, void *arg)
{
	user_ctx *c = arg;

	if (!ok) {
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
		user_ctx_free(c);
		return;
	}
	snprintf(c->hash, sizeof c->hash, "%s", hash);
	user_update_run(c);
}

/* Reads If-Match ("<n>", W/"<n>" or *) into c->if_match; false on anything else. */
static bool if_match_read(user_ctx *c)
{
	const char *v = hd_envelope_header(hd_rpc_request_envelope(c->req), "if-match");
	size_t n;

	if (v == NULL || strcmp(v, "*") == 0)
		return true;
	if (strncmp(v, "W/", 2) == 0)
		v += 2;
	n = strlen(v);
	if (n < 3 || n > 12 || v[0] != '"' || v[n - 1] != '"'
	    || strspn(v + 1, "0123456789") != n - 2)
		return false;
	memcpy(c->if_match, v + 1, n - 2);
	c->if_match[n - 2] = '\0';
	return true;
}

/* Validates the PATCH body into c; replies and returns false when refused. */
static bool user_update_read(user_ctx *c, const cJSON *body, bool admin)
{
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *role = NULL, *password = NULL;
	bool active = false;

	if (!admin
	    && (cJSON_GetObjectItemCaseSensitive(body, "role") != NULL
	        || cJSON_GetObjectItemCaseSensitive(body, "active") != NULL)) {
		hd_daemon_reply_problem(
		    c->req, 403, "you may change only your name and password", NULL);
		return false;
	}
	if (hd_json_get_string(body, "name", false, 1, AUTH_NAME_MAX, &name, &errs))
		snprintf(c->name, sizeof c->name, "%s", name);
	if (hd_json_get_enum(body, "role", false, auth_tenant_roles, &role, &errs))
		snprintf(c->role, sizeof c->role, "%s", role);
	if (hd_json_get_bool(body, "active", false, &active, &errs))
		snprintf(c->active, sizeof c->active, "%s", active ? "true" : "false");
	if (auth_password_get(body, "password", false, &password, &errs))
		snprintf(c->password, sizeof c->password, "%s", password);
	if (errs.count == 0 && cJSON_GetArraySize(body) == 0)
		hd_field_errors_add(&errs, "body", "must change at least one field");
	if (auth_reply_invalid(c->req, &errs))
		return false;
	if (!if_match_read(c)) {
		hd_daemon_reply_problem(c->req, 412, "If-Match must be an ETag of this user", NULL);
		return false;
	}
	return true;
}

void auth_users_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "name", "role", "active", "password", NULL };
	const hd_envelope *env = hd_rpc_request_envelope(req);
	bool admin = auth_role_in(env, admin_roles);
	cJSON *body = NULL;
	user_ctx *c = NULL;

	if (!auth_signed_in(req) || (c = user_ctx_new(req, dw)) == NULL)
		return;
	if (!path_id(req, c->id))
		goto fail;
	if (!admin && strcmp(c->id, env->user_id) != 0) {
		hd_daemon_reply_problem(req, 404, "user not found", NULL);
		goto fail;
	}
	if (!auth_body_parse(req, known, &body) || !user_update_read(c, body, admin))
		goto fail;
	cJSON_Delete(body);
	if (c->password[0] == '\0') {
		user_update_run(c);
		return;
	}
	if (auth_password_hash(hd_rpc_request_worker(req), c->password, user_update_hashed_cb, c)
	    != HD_OK) {
		hd_daemon_reply_problem(req, 503, "busy", NULL);
		user_ctx_free(c);
	}
	return;
fail:
	cJSON_Delete(body);
	user_ctx_free(c);
}

static void user_deactivated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;

	if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
		user_ctx_free(c);
		return;
	}
	if (hd_db_result_ntuples(res, 0) != 1) {
		hd_daemon_reply_problem(c->req, 404, "user not found", NULL);
		user_ctx_free(c);
		return;
	}
	c->status = 204;
	if (user_off_mark(c, true, user_marked_cb) != HD_OK)
		user_marked_cb(HD_ERR_UNAVAILABLE, NULL, c);
}

void auth_users_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	user_ctx *c = NULL;

	if (!auth_signed_in(req) || forbid_unless(req, admin_roles)
	    || (c = user_ctx_new(req, dw)) == NULL)
		return;
	if (!path_id(req, c->id)) {
		user_ctx_free(c);
		return;
	}
	const char *params[] = { c->id };
	hd_db_stmt stmts[]
	    = { { SQL_USER_DEACTIVATE, 1, params }, { SQL_REVOKE_IF_INACTIVE, 1, params } };
	if (hd_db_run(dw->db, env->tenant_id, stmts, 2, user_deactivated_cb, c) != HD_OK) {
		hd_daemon_reply_problem(req, 503, "database unavailable", NULL);
		user_ctx_free(c);
	}
}
