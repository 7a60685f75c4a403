/* Users of a tenant: create (admin), list with filters and keyset pages
 * (admin, agent), get (admin, agent, self), update with If-Match (admin; self
 * may change only name and password), deactivate (admin), and auth.me.
 * A password change, a role change or a deactivation revokes every refresh
 * token of the user in the same transaction and writes the user's key in
 * Redis that the gateway checks on every request: "1" while deactivated,
 * else the second before which their access tokens were issued in vain.
 * Changing one's own password needs the current one (verified with argon2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/page.h"
#include "hd/query.h"
#include "hd/uuid.h"

#define NAME_BYTES (AUTH_NAME_MAX * 4 + 1)
#define Q_MAX 100

static const char SQL_USER_GET[]
    = "SELECT auth.user_json(u), u.version FROM auth.users u WHERE u.id = $1::uuid";
/* $1 tenant, $2 id, $3 email, $4 name, $5 role, $6 password hash, $7 caller,
 * $8 op, $9 Idempotency-Key or NULL, $10 its hashed text: inserts the user
 * and stores the reply under the key; does nothing when the key is stored. */
static const char SQL_USER_INSERT[] = "WITH" HD_IDEM_CTE("$1", "$7", "$8", "$9",
    "$10") ","
           " u AS (INSERT INTO auth.users AS u (tenant_id, id, email, name, role, password_hash)"
           " SELECT $1::uuid, $2::uuid, $3, $4, $5, $6 WHERE" HD_IDEM_FREE(
               "auth") " RETURNING auth.user_json(u) AS j, u.version),"
                       " reply AS (SELECT 201 AS status, j, '/v1/users/' || $2 AS location,"
                       " '\"' || version || '\"' AS etag FROM u)," HD_IDEM_STORE(
                           "auth") " SELECT j, version FROM u";
static const char SQL_USER_LIST[]
    = "SELECT auth.user_json(u), to_char(u.created_at AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), u.id FROM auth.users u "
      "WHERE ($1::text IS NULL OR u.role = $1) "
      "AND ($2::text IS NULL OR u.email ILIKE $2 OR u.name ILIKE $2) "
      "AND (u.created_at, u.id) > ($3::timestamptz, $4::uuid) "
      "ORDER BY u.created_at, u.id LIMIT $5::int";
/* Returns the user, its version, whether their sessions end (a new password,
 * another role, or inactive: then every refresh token is revoked here) and
 * whether they are active. */
static const char SQL_USER_UPDATE[]
    = "WITH o AS (SELECT role FROM auth.users WHERE id = $1::uuid), "
      "u AS (UPDATE auth.users AS u SET name = coalesce($2, name), role = coalesce($3, role), "
      "active = coalesce($4::boolean, active), password_hash = coalesce($5, password_hash), "
      "version = version + 1, updated_at = now() "
      "WHERE u.id = $1::uuid AND ($6::int IS NULL OR u.version = $6::int) "
      "RETURNING auth.user_json(u) AS j, u.version, u.role, u.active), "
      "e AS (SELECT u.j, u.version, u.active, "
      "(NOT u.active OR u.role <> o.role OR $5::text IS NOT NULL) AS ended FROM u, o), "
      "rev AS (UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1::uuid "
      "AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM e WHERE e.ended) RETURNING 1) "
      "SELECT j, version, ended, active FROM e";
static const char SQL_USER_HASH[] = "SELECT password_hash FROM auth.users WHERE id = $1::uuid";
/* Writes the user's key: "1" (deactivated) when ARGV[1] is "1", else the
 * not-before millisecond ARGV[1], which replaces a "1" only on reactivation
 * (ARGV[3]); a mark that ends sessions is published on channel ARGV[4] as
 * "user_off <tenant> <user> <mark>" (ARGV[5] is "user_off <tenant> <user>")
 * so that the gateways end that user's open streams (gateway/sse_auth.h). */
static const char USER_MARK_LUA[]
    = "if ARGV[1] == '1' or ARGV[3] == '1' or redis.call('GET', KEYS[1]) ~= '1' then "
      "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
      "if ARGV[3] ~= '1' then redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. ARGV[1]) end "
      "end return 0";
static const char SQL_USER_VERSION[] = "SELECT version FROM auth.users WHERE id = $1::uuid";
static const char SQL_USER_DEACTIVATE[]
    = "UPDATE auth.users SET active = false, version = version + 1, updated_at = now() "
      "WHERE id = $1::uuid RETURNING id";
static const char SQL_REVOKE_IF_INACTIVE[]
    = "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1::uuid "
      "AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM auth.users WHERE id = $1::uuid "
      "AND NOT active)";

/* Who sees every user of the tenant, and who changes them. */
#define USER_READERS (HD_ROLES_STAFF | HD_ROLE_PLATFORM_ADMIN)
#define USER_WRITERS HD_ROLES_ADMINS

/* The state of one create/update/delete, owned by its callback chain. */
typedef struct user_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char id[HD_UUID_STRLEN + 1];
	char email[AUTH_EMAIL_MAX + 1];
	char name[NAME_BYTES];
	char role[32];
	char active[8]; /* "true"/"false", "" when unchanged */
	char password[AUTH_PASSWORD_BYTES + 1];
	char current[AUTH_PASSWORD_BYTES + 1]; /* current_password of a self change */
	char tenant[HD_UUID_STRLEN + 1]; /* the caller's */
	char fail_key[96]; /* its wrong guesses (attempts.c) */
	char hash[AUTH_HASH_MAX];
	char if_match[24]; /* expected version, "" when unconditional */
	hd_idem idem; /* Idempotency-Key of a create */
	char *json; /* reply body kept while Redis is updated */
	char etag[32];
	int status;
} user_ctx;

static user_ctx *user_ctx_new(hd_rpc_request *req, hd_daemon_worker *dw)
{
	user_ctx *c = auth_ctx_alloc(req, sizeof *c);

	if (c != NULL) {
		c->req = req;
		c->dw = dw;
	}
	return c;
}

static void user_ctx_free(user_ctx *c)
{
	OPENSSL_cleanse(c->password, sizeof c->password);
	OPENSSL_cleanse(c->current, sizeof c->current);
	hd_idem_free(&c->idem);
	free(c->json);
	free(c);
}

static const char *or_null(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

/* The path id into out; a malformed one names nothing, so 404. */
static bool path_id(hd_rpc_request *req, char out[HD_UUID_STRLEN + 1])
{
	const char *id = hd_req_path_uuid(req, "id", "user");

	if (id == NULL)
		return false;
	snprintf(out, HD_UUID_STRLEN + 1, "%s", id);
	return true;
}

/* May c change (or deactivate, when !self_ok) user id? Admins may; a caller
 * may change themselves when self_ok. Otherwise a caller who sees the user
 * (an agent, or anyone on themselves) is refused with 403, and one who does
 * not see it gets 404: the user is not there for them. */
static bool user_write_allowed(
    hd_rpc_request *req, const hd_caller *c, const char *id, bool self_ok)
{
	bool self = hd_caller_is_self(c, id);

	if (hd_caller_is(c, USER_WRITERS) || (self && self_ok))
		return true;
	if (self || hd_caller_is(c, USER_READERS))
		hd_reply_problem(req, 403, HD_TEXT_ROLE);
	else
		hd_reply_not_found(req, "user");
	return false;
}

hd_err auth_user_mark(hd_daemon_worker *dw, const char *tenant_id, const char *user_id, bool off,
    bool on_again, hd_redis_cb cb, void *arg)
{
	char key[128], ttl[24], value[24], msg[128];

	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", tenant_id, user_id);
	snprintf(ttl, sizeof ttl, "%ld", auth_cfg()->access_ttl_s + auth_cfg()->leeway_s);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	snprintf(value, sizeof value, "%lld", off ? 1LL : now_ms);
	snprintf(msg, sizeof msg, "user_off %s %s", tenant_id, user_id);
	const char *keys[] = { key };
	const char *args[] = { value, ttl, on_again ? "1" : "0", HD_REDIS_SESSIONS_CHANNEL, msg };
	if (dw->redis == NULL)
		return HD_ERR_UNAVAILABLE;
	return hd_redis_eval(dw->redis, USER_MARK_LUA, 1, keys, 5, args, cb, arg);
}

/* auth_user_mark for the user of c. */
static hd_err user_mark(user_ctx *c, bool off, bool on_again, hd_redis_cb cb)
{
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	return auth_user_mark(c->dw, env->tenant_id, c->id, off, on_again, cb, c);
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
		hd_reply_problem_ex(c->req, 503, "token store unavailable; retry", NULL, NULL,
		    "Retry-After", HD_RETRY_AFTER_S);
		user_ctx_free(c);
		return;
	}
	user_reply(c);
}

static void user_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;
	int stmt;
	char location[64], etag[32];

	if (hd_idem_result(c->req, err, res, &stmt)) {
		const char *json = hd_db_result_value(res, stmt, 0, 0);
		const char *version = hd_db_result_value(res, stmt, 0, 1);
		if (json == NULL || version == NULL) {
			hd_reply_db_error(c->req, HD_ERR_INTERNAL, res);
		} else {
			snprintf(location, sizeof location, "/v1/users/%s", c->id);
			snprintf(etag, sizeof etag, "\"%s\"", version);
			hd_idem_reply(c->req, 201, json, location, etag);
		}
	}
	user_ctx_free(c);
}

/* The password is hashed: one batch takes the key's lock, looks it up and
 * inserts the user unless a reply is stored (hd/idem.h). */
static void user_create_hashed_cb(bool ok, const char *hash, void *arg)
{
	user_ctx *c = arg;
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	const char *p[10] = { env->tenant_id, c->id, c->email, c->name, c->role, hash };

	if (!ok || hd_uuid_v7(c->id) != HD_OK) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		user_ctx_free(c);
		return;
	}
	hd_idem_params(&c->idem, p + 6);
	hd_db_stmt stmt = { SQL_USER_INSERT, 10, p };
	if (!hd_idem_run(c->dw, c->req, &auth_idem_table, &c->idem, &stmt, 1, user_created_cb, c))
		user_ctx_free(c);
}

void auth_users_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "email", "name", "role", "password", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *role = NULL, *password = NULL;
	hd_caller me;
	cJSON *body = NULL;
	user_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || !hd_caller_require(req, &me, USER_WRITERS)
	    || !hd_req_body(req, known, &body) || (c = user_ctx_new(req, dw)) == NULL)
		goto out;
	auth_email_get(body, "email", true, c->email, &errs);
	hd_json_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &errs);
	hd_json_get_enum(body, "role", true, auth_tenant_roles, &role, &errs);
	auth_password_get(body, "password", true, &password, &errs);
	/* digest: the body carries a password, which never goes to SQL */
	if (!hd_idem_read(req, &me, NULL, true, &c->idem, &errs) || hd_reply_invalid(req, &errs)) {
		user_ctx_free(c);
		goto out;
	}
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->role, sizeof c->role, "%s", role);
	snprintf(c->password, sizeof c->password, "%s", password);
	if (auth_password_hash(hd_rpc_request_worker(req), c->password, user_create_hashed_cb, c)
	    != HD_OK) {
		hd_reply_problem_ex(
		    req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
		user_ctx_free(c);
	}
out:
	cJSON_Delete(body);
}

void auth_users_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller me;
	const char *id;

	if (!hd_caller_get(req, &me) || (id = hd_req_path_uuid(req, "id", "user")) == NULL)
		return;
	if (!hd_caller_is(&me, USER_READERS) && !hd_caller_is_self(&me, id)) {
		hd_reply_not_found(req, "user");
		return;
	}
	const char *params[] = { id };
	auth_fetch_one(req, dw, me.tenant_id, "user", SQL_USER_GET, 1, params);
}

void auth_me(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller me;

	if (!hd_caller_get(req, &me))
		return;
	const char *params[] = { me.user_id };
	auth_fetch_one(req, dw, me.tenant_id, "user", SQL_USER_GET, 1, params);
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

void auth_users_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const list_roles[]
	    = { "admin", "agent", "technician", "customer", "platform_admin", NULL };
	static const char *const known[] = { "role", "q", "limit", "cursor", NULL };
	hd_field_errors errs = { .count = 0 };
	hd_caller me;
	hd_query q;
	hd_page page;
	char pattern[2 * Q_MAX + 4];
	const char *like = NULL, *ts, *after;

	if (!hd_caller_get(req, &me) || !hd_caller_require(req, &me, USER_READERS)
	    || !hd_req_query(req, known, &q))
		return;
	const char *role = hd_query_enum(&q, "role", list_roles, &errs);
	const char *text = hd_query_text(&q, "q", Q_MAX, &errs);
	if (text != NULL) {
		like_pattern(text, pattern, sizeof pattern);
		like = pattern;
	}
	hd_page_read(&q, &page, &errs);
	if (hd_reply_invalid(req, &errs))
		return;
	hd_page_bound(&page, false, &ts, &after);
	const char *params[] = { role, like, ts, after, page.fetch };
	hd_db_stmt stmt = { SQL_USER_LIST, 5, params };
	hd_page_run(dw, req, me.tenant_id, &stmt, 1, &page, 1, 2, NULL);
}

static void user_updated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
		goto fail;
	}
	if (hd_db_result_ntuples(res, 0) != 1) {
		if (hd_db_result_ntuples(res, 1) == 1)
			hd_daemon_reply_problem(
			    c->req, 412, "version does not match If-Match", NULL);
		else
			hd_reply_not_found(c->req, "user");
		goto fail;
	}
	c->status = 200;
	c->json = strdup(hd_db_result_value(res, 0, 0, 0));
	snprintf(c->etag, sizeof c->etag, "\"%s\"", hd_db_result_value(res, 0, 0, 1));
	if (c->json == NULL) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		goto fail;
	}
	bool ended = strcmp(hd_db_result_value(res, 0, 0, 2), "t") == 0;
	bool active = strcmp(hd_db_result_value(res, 0, 0, 3), "t") == 0;
	bool on_again = strcmp(c->active, "true") == 0;
	if (!ended && !on_again) {
		user_reply(c);
		return;
	}
	if (user_mark(c, !active, on_again && active, user_marked_cb) != HD_OK)
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
	hd_db_stmt stmts[] = { { SQL_USER_UPDATE, 6, p0 }, { SQL_USER_VERSION, 1, p1 } };

	if (!hd_daemon_db_run(c->dw, c->req, env->tenant_id, stmts, 2, user_updated_cb, c)) {
		user_ctx_free(c);
	}
}

static void user_update_hashed_cb(bool ok, const char *hash, void *arg)
{
	user_ctx *c = arg;

	if (!ok) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		user_ctx_free(c);
		return;
	}
	snprintf(c->hash, sizeof c->hash, "%s", hash);
	user_update_run(c);
}

/* Hashes the new password on the CPU pool, then updates. */
static void user_update_hash(user_ctx *c)
{
	if (auth_password_hash(hd_rpc_request_worker(c->req), c->password, user_update_hashed_cb, c)
	    != HD_OK) {
		hd_reply_problem_ex(
		    c->req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
		user_ctx_free(c);
	}
}

/* True when a batch read the user's one row; else replies (database error,
 * 404) and frees c. */
static bool user_row_found(user_ctx *c, hd_err err, const hd_db_result *res)
{
	if (err != HD_OK)
		hd_reply_db_error(c->req, err, res);
	else if (hd_db_result_ntuples(res, 0) != 1)
		hd_reply_not_found(c->req, "user");
	else
		return true;
	user_ctx_free(c);
	return false;
}

/* A wrong current_password stays counted (attempts.c): a stolen session
 * gets HD_LOGIN_FAIL_LIMIT guesses per window, then 429. */
static void user_current_checked_cb(bool ok, const char *hash, void *arg)
{
	user_ctx *c = arg;

	if (!ok) {
		hd_daemon_reply_problem(c->req, 403, "current_password is wrong", NULL);
		user_ctx_free(c);
		return;
	}
	(void)auth_attempt_clear(c->dw, c->fail_key, NULL, NULL);
	user_update_hash(c);
}

/* The stored hash is read: verifies current_password against it. */
static void user_hash_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;

	if (err != HD_OK || hd_db_result_ntuples(res, 0) != 1)
		auth_attempt_refund(c->dw, c->fail_key); /* no verdict */
	if (!user_row_found(c, err, res))
		return;
	if (auth_password_verify(hd_rpc_request_worker(c->req), hd_db_result_value(res, 0, 0, 0),
	        c->current, user_current_checked_cb, c)
	    != HD_OK) {
		auth_attempt_refund(c->dw, c->fail_key);
		hd_reply_problem_ex(
		    c->req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
		user_ctx_free(c);
	}
}

/* One guess reserved: reads the stored hash. */
static void user_current_reserved_cb(bool allowed, void *arg)
{
	user_ctx *c = arg;

	if (!allowed) {
		user_ctx_free(c);
		return;
	}
	const char *params[] = { c->id };
	hd_db_stmt stmt = { SQL_USER_HASH, 1, params };
	if (!hd_daemon_db_run(c->dw, c->req, c->tenant, &stmt, 1, user_hash_cb, c)) {
		auth_attempt_refund(c->dw, c->fail_key);
		user_ctx_free(c);
	}
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
static bool user_update_read(user_ctx *c, const cJSON *body, bool admin, bool self)
{
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *role = NULL, *password = NULL, *current = NULL;
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
	/* one's own password: the current one proves it is not a stolen session */
	if (self && password != NULL
	    && hd_json_get_string(
	        body, "current_password", true, 1, AUTH_PASSWORD_MAX, &current, &errs)) {
		if (strlen(current) > AUTH_PASSWORD_BYTES)
			hd_field_errors_add(
			    &errs, "current_password", "must be at most 1024 bytes");
		else
			snprintf(c->current, sizeof c->current, "%s", current);
	}
	if (errs.count == 0 && cJSON_GetArraySize(body) == 0)
		hd_field_errors_add(&errs, "body", "must change at least one field");
	if (hd_reply_invalid(c->req, &errs))
		return false;
	if (!if_match_read(c)) {
		hd_reply_problem(c->req, 412, "If-Match must be an ETag of this user");
		return false;
	}
	return true;
}

void auth_users_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "name", "role", "active", "password", "current_password", NULL };
	hd_caller me;
	cJSON *body = NULL;
	user_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || (c = user_ctx_new(req, dw)) == NULL)
		return;
	if (!path_id(req, c->id) || !user_write_allowed(req, &me, c->id, true)
	    || !hd_req_body(req, known, &body)
	    || !user_update_read(
	        c, body, hd_caller_is(&me, USER_WRITERS), hd_caller_is_self(&me, c->id)))
		goto fail;
	cJSON_Delete(body);
	if (c->password[0] == '\0') {
		user_update_run(c);
		return;
	}
	if (c->current[0] != '\0') {
		snprintf(c->tenant, sizeof c->tenant, "%s", me.tenant_id);
		snprintf(c->fail_key, sizeof c->fail_key, "hd:{%s}:pwfail:%s", me.tenant_id, c->id);
		auth_attempt_reserve(req, dw, c->fail_key,
		    "too many wrong passwords; try again later", user_current_reserved_cb, c);
		return;
	}
	user_update_hash(c);
	return;
fail:
	cJSON_Delete(body);
	user_ctx_free(c);
}

static void user_deactivated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	user_ctx *c = arg;

	if (!user_row_found(c, err, res))
		return;
	c->status = 204;
	if (user_mark(c, true, false, user_marked_cb) != HD_OK)
		user_marked_cb(HD_ERR_UNAVAILABLE, NULL, c);
}

void auth_users_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller me;
	user_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || (c = user_ctx_new(req, dw)) == NULL)
		return;
	if (!path_id(req, c->id) || !user_write_allowed(req, &me, c->id, false)) {
		user_ctx_free(c);
		return;
	}
	const char *params[] = { c->id };
	hd_db_stmt stmts[]
	    = { { SQL_USER_DEACTIVATE, 1, params }, { SQL_REVOKE_IF_INACTIVE, 1, params } };
	if (!hd_daemon_db_run(dw, req, me.tenant_id, stmts, 2, user_deactivated_cb, c))
		user_ctx_free(c);
}
