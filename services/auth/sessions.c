/* Sessions: login, refresh and logout, plus the JWKS document.
 *
 * Login is a chain of callbacks on one worker: failed-login reservation
 * (Redis: the attempt counts before it is checked) → user lookup by tenant
 * slug (one batch: set_config from the SECURITY DEFINER slug lookup, then
 * the user under RLS) → argon2 verify on the CPU
 * pool (against a dummy hash when nobody matched, so every failure has the
 * same timing and the same reply) → TOTP → refresh token insert → reply.
 * Refresh rotates the opaque token in one statement; a reuse (the token was
 * already rotated) revokes the whole family in the next. Logout deny-lists
 * the access token whatever the refresh token is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/uuid.h"

#define INVALID_CREDENTIALS "invalid credentials"

static const char SQL_SET_TENANT_BY_SLUG[]
    = "SELECT set_config('app.tenant_id', coalesce(auth.tenant_id_by_slug($1)::text, ''), true)";
static const char SQL_LOGIN_USER[]
    = "SELECT u.id, u.tenant_id, u.role, u.active, u.password_hash, u.mfa_enabled, m.secret, "
      "auth.user_json(u) FROM auth.users u LEFT JOIN auth.mfa m "
      "ON m.tenant_id = u.tenant_id AND m.user_id = u.id WHERE lower(u.email) = $1";
/* Inserts the first token of a new family; with a TOTP step ($7) only when
 * that step is newer than the last one accepted (a replayed code inserts nothing). */
static const char SQL_LOGIN_ISSUE[]
    = "WITH step AS (UPDATE auth.mfa SET last_step = $7::bigint, updated_at = now() "
      "WHERE $7::bigint IS NOT NULL AND user_id = $3::uuid AND last_step < $7::bigint RETURNING 1) "
      "INSERT INTO auth.refresh_tokens (tenant_id, id, user_id, family_id, token_hash, expires_at) "
      "SELECT $1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, now() + make_interval(secs => $6::int) "
      "WHERE $7::bigint IS NULL OR EXISTS (SELECT 1 FROM step) RETURNING id";
/* Rotation, one UPDATE: marks the presented token used when it was unused,
 * unrevoked, unexpired and its user active (of two concurrent refreshes with
 * one token, exactly one gets the row) and inserts its successor, which
 * keeps the family's expiry: a family ends HD_REFRESH_TOKEN_TTL_S after its
 * login, however often it rotates. */
static const char SQL_REFRESH_ROTATE[]
    = "WITH rot AS (UPDATE auth.refresh_tokens r SET used_at = now() WHERE r.token_hash = $1 "
      "AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > now() "
      "AND EXISTS (SELECT 1 FROM auth.users u WHERE u.tenant_id = r.tenant_id "
      "AND u.id = r.user_id AND u.active) RETURNING r.tenant_id, r.user_id, r.family_id, "
      "r.expires_at), "
      "ins AS (INSERT INTO auth.refresh_tokens (tenant_id, id, user_id, family_id, token_hash, "
      "expires_at) SELECT rot.tenant_id, $2::uuid, rot.user_id, rot.family_id, $3, rot.expires_at "
      "FROM rot RETURNING tenant_id, user_id) "
      "SELECT u.id, u.tenant_id, u.role, auth.user_json(u) "
      "FROM ins JOIN auth.users u ON u.tenant_id = ins.tenant_id AND u.id = ins.user_id";
/* Reuse: when the rotation above did not happen and the token had been used,
 * revokes its whole family. A statement of its own, so its snapshot sees a
 * concurrent rotation that won the row (and revokes the winner's token too). */
static const char SQL_REFRESH_REUSE[]
    = "UPDATE auth.refresh_tokens r SET revoked_at = now() WHERE r.family_id = "
      "(SELECT family_id FROM auth.refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL) "
      "AND r.revoked_at IS NULL "
      "AND NOT EXISTS (SELECT 1 FROM auth.refresh_tokens WHERE id = $2::uuid)";
static const char SQL_LOGOUT[]
    = "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = "
      "(SELECT family_id FROM auth.refresh_tokens WHERE token_hash = $1 AND user_id = $2::uuid) "
      "AND revoked_at IS NULL";

/* The state of one login, owned by the callback chain; freed by login_end. */
typedef struct login_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char slug[64];
	char email[AUTH_EMAIL_MAX + 1];
	char password[AUTH_PASSWORD_BYTES + 1];
	char totp[16];
	char fail_key[160];
	bool found, active, mfa;
	char user_id[37], tenant_id[37], role[32];
	char hash[AUTH_HASH_MAX];
	char secret[128];
	char *user_json;
	char refresh[AUTH_REFRESH_MAX];
} login_ctx;

static void login_end(login_ctx *c)
{
	OPENSSL_cleanse(c->password, sizeof c->password);
	OPENSSL_cleanse(c->secret, sizeof c->secret);
	free(c->user_json);
	free(c);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

hd_err auth_refresh_token_new(
    const char *tenant_id, char token[AUTH_REFRESH_MAX], char hash[AUTH_SHA256_HEX])
{
	char rnd[48];
	hd_err err = auth_random_b64url(32, rnd, sizeof rnd);

	if (err != HD_OK)
		return err;
	snprintf(token, AUTH_REFRESH_MAX, "%s.%s", tenant_id, rnd);
	OPENSSL_cleanse(rnd, sizeof rnd);
	auth_sha256_hex(token, strlen(token), hash);
	return HD_OK;
}

void auth_session_reply(hd_rpc_request *req, const char *user_id, const char *tenant_id,
    const char *role, const char *refresh_token, const char *user_json)
{
	const auth_settings *cfg = auth_cfg();
	hd_jwt_claims claims = { .iat = 0 };
	int64_t now = now_s();
	char *access = NULL;

	snprintf(claims.sub, sizeof claims.sub, "%s", user_id);
	snprintf(claims.tid, sizeof claims.tid, "%s", tenant_id);
	snprintf(claims.role, sizeof claims.role, "%s", role);
	claims.iat = now;
	claims.exp = now + cfg->access_ttl_s;
	if (hd_jwt_sign(&cfg->jwt, &claims, now, &access) != HD_OK) {
		hd_log_error("auth: signing an access token failed");
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	size_t cap = strlen(access) + strlen(refresh_token) + strlen(user_json) + 128;
	char *body = malloc(cap);
	if (body == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	int n = snprintf(body, cap,
	    "{\"access_token\":\"%s\",\"refresh_token\":\"%s\",\"token_type\":\"Bearer\","
	    "\"expires_in\":%ld,\"user\":%s}",
	    access, refresh_token, cfg->access_ttl_s, user_json);
	hd_daemon_reply_json(req, 200, body, (size_t)n, "Cache-Control", "no-store", NULL);
	OPENSSL_cleanse(body, cap);
	free(body);
out:
	OPENSSL_cleanse(access, strlen(access));
	free(access);
}

/* Gives back the attempt reserved by login_reserved_cb (no verdict was reached). */
static void login_refund(login_ctx *c)
{
	auth_attempt_refund(c->dw, c->fail_key);
}

/* Answers 401, the same reply for every cause; the attempt was counted
 * before the check. */
static void login_fail(login_ctx *c)
{
	hd_reply_problem(c->req, 401, INVALID_CREDENTIALS);
	login_end(c);
}

static void login_mfa_required(login_ctx *c)
{
	hd_reply_problem_ex(c->req, 401, "a valid TOTP code is required", NULL,
	    "\"mfa_required\":true", NULL, NULL);
	login_end(c);
}

static void login_cleared_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	login_ctx *c = arg;

	if (err != HD_OK)
		hd_log_warn("auth: clearing failed logins failed: %s", hd_strerror(err));
	auth_session_reply(c->req, c->user_id, c->tenant_id, c->role, c->refresh, c->user_json);
	login_end(c);
}

static void login_issued_cb(hd_err err, const hd_db_result *res, void *arg)
{
	login_ctx *c = arg;

	if (err != HD_OK) {
		login_refund(c);
		hd_reply_db_error(c->req, err, res);
		login_end(c);
		return;
	}
	if (hd_db_result_ntuples(res, 0) != 1) { /* replayed TOTP code: stays counted */
		login_mfa_required(c);
		return;
	}
	/* the counter (this attempt's reservation too) is cleared before the
	 * reply, so the client's next attempt cannot see it */
	if (auth_attempt_clear(c->dw, c->fail_key, login_cleared_cb, c) != HD_OK)
		login_cleared_cb(HD_ERR_UNAVAILABLE, NULL, c);
}

static void login_issue(login_ctx *c, const char *step)
{
	char id[HD_UUID_STRLEN + 1], family[HD_UUID_STRLEN + 1], hash[AUTH_SHA256_HEX], ttl[24];

	snprintf(ttl, sizeof ttl, "%ld", auth_cfg()->refresh_ttl_s);
	if (hd_uuid_v7(id) != HD_OK || hd_uuid_v7(family) != HD_OK
	    || auth_refresh_token_new(c->tenant_id, c->refresh, hash) != HD_OK) {
		login_refund(c);
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		login_end(c);
		return;
	}
	const char *params[] = { c->tenant_id, id, c->user_id, family, hash, ttl, step };
	hd_db_stmt stmt = { SQL_LOGIN_ISSUE, 7, params };
	if (!hd_daemon_db_run(c->dw, c->req, c->tenant_id, &stmt, 1, login_issued_cb, c)) {
		login_refund(c);
		login_end(c);
	}
}

static void login_verified_cb(bool ok, const char *hash, void *arg)
{
	login_ctx *c = arg;
	int64_t step = 0;
	char step_s[24];

	if (!ok || !c->found || !c->active) {
		login_fail(c);
		return;
	}
	if (!c->mfa) {
		login_issue(c, NULL);
		return;
	}
	if (c->totp[0] == '\0') { /* the right password alone: not a failure */
		login_refund(c);
		login_mfa_required(c);
		return;
	}
	if (!auth_totp_check(c->secret, c->totp, now_s(), &step)) {
		/* stays counted, and still says that a code is needed */
		login_mfa_required(c);
		return;
	}
	snprintf(step_s, sizeof step_s, "%lld", (long long)step);
	login_issue(c, step_s);
}

static void copy_col(const hd_db_result *res, int stmt, int col, char *out, size_t size)
{
	const char *v = hd_db_result_value(res, stmt, 0, col);
	snprintf(out, size, "%s", v != NULL ? v : "");
}

static void login_user_cb(hd_err err, const hd_db_result *res, void *arg)
{
	login_ctx *c = arg;

	if (err != HD_OK) {
		login_refund(c);
		hd_reply_db_error(c->req, err, res);
		login_end(c);
		return;
	}
	c->found = hd_db_result_ntuples(res, 1) == 1;
	if (c->found) {
		copy_col(res, 1, 0, c->user_id, sizeof c->user_id);
		copy_col(res, 1, 1, c->tenant_id, sizeof c->tenant_id);
		copy_col(res, 1, 2, c->role, sizeof c->role);
		c->active = strcmp(hd_db_result_value(res, 1, 0, 3), "t") == 0;
		copy_col(res, 1, 4, c->hash, sizeof c->hash);
		c->mfa = strcmp(hd_db_result_value(res, 1, 0, 5), "t") == 0;
		copy_col(res, 1, 6, c->secret, sizeof c->secret);
		c->user_json = strdup(hd_db_result_value(res, 1, 0, 7));
		if (c->user_json == NULL)
			c->found = false;
	}
	hd_err e = auth_password_verify(hd_rpc_request_worker(c->req), c->found ? c->hash : NULL,
	    c->password, login_verified_cb, c);
	if (e != HD_OK) {
		login_refund(c);
		hd_reply_problem_ex(
		    c->req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
		login_end(c);
	}
}

static void login_reserved_cb(bool allowed, void *arg)
{
	login_ctx *c = arg;

	if (!allowed) {
		login_end(c);
		return;
	}
	const char *p0[] = { c->slug };
	const char *p1[] = { c->email };
	hd_db_stmt stmts[] = { { SQL_SET_TENANT_BY_SLUG, 1, p0 }, { SQL_LOGIN_USER, 1, p1 } };
	if (!hd_daemon_db_run(c->dw, c->req, NULL, stmts, 2, login_user_cb, c)) {
		login_refund(c);
		login_end(c);
	}
}

static bool slug_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Reads the login body into c; replies and returns false when it is invalid. */
static bool login_read(hd_rpc_request *req, login_ctx *c)
{
	static const char *const known[] = { "tenant", "email", "password", "totp", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *slug = NULL, *password = NULL, *totp = NULL;
	cJSON *body = NULL;

	if (!hd_req_body(req, known, &body))
		return false;
	if (hd_json_get_string(body, "tenant", true, 2, 63, &slug, &errs) && !slug_valid(slug))
		hd_field_errors_add(&errs, "tenant", "must be a tenant slug");
	auth_email_get(body, "email", true, c->email, &errs);
	if (hd_json_get_string(body, "password", true, 1, AUTH_PASSWORD_MAX, &password, &errs)
	    && strlen(password) > AUTH_PASSWORD_BYTES)
		hd_field_errors_add(&errs, "password", "must be at most 1024 bytes");
	hd_json_get_string(body, "totp", false, 6, 8, &totp, &errs);
	if (!hd_reply_invalid(req, &errs)) {
		snprintf(c->slug, sizeof c->slug, "%s", slug);
		snprintf(c->password, sizeof c->password, "%s", password);
		snprintf(c->totp, sizeof c->totp, "%s", totp != NULL ? totp : "");
		cJSON_Delete(body);
		return true;
	}
	cJSON_Delete(body);
	return false;
}

void auth_login(hd_rpc_request *req, hd_daemon_worker *dw)
{
	login_ctx *c = calloc(1, sizeof *c);
	char email_hash[AUTH_SHA256_HEX];

	if (c == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	c->req = req;
	c->dw = dw;
	if (!login_read(req, c)) {
		login_end(c);
		return;
	}
	auth_sha256_hex(c->email, strlen(c->email), email_hash);
	snprintf(c->fail_key, sizeof c->fail_key, "hd:{%s}:loginfail:%s", c->slug, email_hash);
	auth_attempt_reserve(
	    req, dw, c->fail_key, "too many failed logins; try again later", login_reserved_cb, c);
}

/* Reads {"refresh_token"} and checks its "<tenant uuid>.<secret>" shape;
 * copies the tenant id into tenant. Replies and returns false when invalid. */
static bool refresh_token_read(
    hd_rpc_request *req, char token[AUTH_REFRESH_MAX], char tenant[HD_UUID_STRLEN + 1])
{
	static const char *const known[] = { "refresh_token", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *v = NULL;
	cJSON *body = NULL;

	if (!hd_req_body(req, known, &body))
		return false;
	if (hd_json_get_string(body, "refresh_token", true, 1, AUTH_REFRESH_MAX - 1, &v, &errs))
		snprintf(token, AUTH_REFRESH_MAX, "%s", v);
	cJSON_Delete(body);
	if (hd_reply_invalid(req, &errs))
		return false;
	if (strlen(token) >= HD_UUID_STRLEN + 2 && token[HD_UUID_STRLEN] == '.') {
		memcpy(tenant, token, HD_UUID_STRLEN);
		tenant[HD_UUID_STRLEN] = '\0';
		if (hd_uuid_valid(tenant))
			return true;
	}
	hd_reply_problem(req, 401, "invalid refresh token");
	return false;
}

typedef struct refresh_ctx {
	hd_rpc_request *req;
	char token[AUTH_REFRESH_MAX];
} refresh_ctx;

static void refresh_end(refresh_ctx *c)
{
	OPENSSL_cleanse(c->token, sizeof c->token);
	free(c);
}

static void refresh_cb(hd_err err, const hd_db_result *res, void *arg)
{
	refresh_ctx *c = arg;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
	} else if (hd_db_result_ntuples(res, 0) != 1) {
		hd_reply_problem(c->req, 401, "invalid refresh token");
	} else {
		auth_session_reply(c->req, hd_db_result_value(res, 0, 0, 0),
		    hd_db_result_value(res, 0, 0, 1), hd_db_result_value(res, 0, 0, 2), c->token,
		    hd_db_result_value(res, 0, 0, 3));
	}
	refresh_end(c);
}

void auth_refresh(hd_rpc_request *req, hd_daemon_worker *dw)
{
	char old[AUTH_REFRESH_MAX], tenant[HD_UUID_STRLEN + 1], old_hash[AUTH_SHA256_HEX];
	char new_hash[AUTH_SHA256_HEX], id[HD_UUID_STRLEN + 1];
	refresh_ctx *c = NULL;

	if (!refresh_token_read(req, old, tenant))
		goto out;
	auth_sha256_hex(old, strlen(old), old_hash);
	c = calloc(1, sizeof *c);
	if (c == NULL || hd_uuid_v7(id) != HD_OK
	    || auth_refresh_token_new(tenant, c->token, new_hash) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		free(c);
		goto out;
	}
	c->req = req;
	const char *p0[] = { old_hash, id, new_hash };
	const char *p1[] = { old_hash, id };
	hd_db_stmt stmts[] = { { SQL_REFRESH_ROTATE, 3, p0 }, { SQL_REFRESH_REUSE, 2, p1 } };
	if (!hd_daemon_db_run(dw, req, tenant, stmts, 2, refresh_cb, c)) {
		refresh_end(c);
	}
out:
	OPENSSL_cleanse(old, sizeof old);
}

typedef struct logout_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
} logout_ctx;

static void logout_denied_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	logout_ctx *c = arg;

	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) == HD_REDIS_ERROR)
		hd_reply_problem_ex(c->req, 503, "token denylist unavailable", NULL, NULL,
		    "Retry-After", HD_RETRY_AFTER_S);
	else
		hd_daemon_reply_json(c->req, 204, "", 0, NULL);
	free(c);
}

/* Deny-lists the token (KEYS[1], for ARGV[1] seconds) and tells the
 * gateways, whose open streams of that token end (channel ARGV[2], message
 * "deny <tenant> <jti>": gateway/sse_auth.h). */
static const char LOGOUT_DENY_LUA[] = "redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) "
                                      "redis.call('PUBLISH', ARGV[2], ARGV[3]) return 1";

/* Deny-lists the access token the request came with, then replies 204. */
static void logout_deny(logout_ctx *c)
{
	const hd_envelope *env = hd_rpc_request_envelope(c->req);

	if (env->token_id[0] == '\0') {
		hd_daemon_reply_json(c->req, 204, "", 0, NULL);
		free(c);
		return;
	}
	char key[160], ttl[24], msg[160];
	int64_t left = env->token_exp - now_s() + auth_cfg()->leeway_s;
	snprintf(key, sizeof key, "hd:{%s}:deny:%s", env->tenant_id, env->token_id);
	snprintf(ttl, sizeof ttl, "%lld", (long long)(left > 1 ? left : 1));
	snprintf(msg, sizeof msg, "deny %s %s", env->tenant_id, env->token_id);
	const char *keys[] = { key };
	const char *args[] = { ttl, HD_REDIS_SESSIONS_CHANNEL, msg };
	if (c->dw->redis == NULL
	    || hd_redis_eval(c->dw->redis, LOGOUT_DENY_LUA, 1, keys, 3, args, logout_denied_cb, c)
	        != HD_OK)
		logout_denied_cb(HD_ERR_UNAVAILABLE, NULL, c);
}

static void logout_revoked_cb(hd_err err, const hd_db_result *res, void *arg)
{
	logout_ctx *c = arg;

	if (err != HD_OK)
		hd_log_warn(
		    "auth: revoking a refresh family at logout failed: %s", hd_strerror(err));
	logout_deny(c);
}

/* The access token is deny-listed whatever the body says about the refresh
 * token: missing, malformed or unknown, the session still ends (204). */
void auth_logout(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "refresh_token", NULL };
	hd_caller me;
	char hash[AUTH_SHA256_HEX];
	const char *token = NULL;
	cJSON *body = NULL;
	logout_ctx *c = NULL;
	const hd_envelope *env = hd_rpc_request_envelope(req);

	if (!hd_caller_get(req, &me))
		return;
	if (env->body_len > 0 && !hd_req_body(req, known, &body))
		return;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "refresh_token");
	if (cJSON_IsString(v) && v->valuestring[0] != '\0'
	    && strlen(v->valuestring) < AUTH_REFRESH_MAX)
		token = v->valuestring;
	c = malloc(sizeof *c);
	if (c == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		cJSON_Delete(body);
		return;
	}
	c->req = req;
	c->dw = dw;
	if (token == NULL) {
		cJSON_Delete(body);
		logout_deny(c);
		return;
	}
	auth_sha256_hex(token, strlen(token), hash);
	OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(body);
	/* another tenant's token matches no row under RLS: nothing is revoked */
	const char *params[] = { hash, me.user_id };
	hd_db_stmt stmt = { SQL_LOGOUT, 2, params };
	if (!hd_daemon_db_run(dw, req, me.tenant_id, &stmt, 1, logout_revoked_cb, c))
		free(c);
}

void auth_jwks(hd_rpc_request *req, hd_daemon_worker *dw)
{
	char *doc = NULL;

	if (hd_jwt_jwks_json(&auth_cfg()->jwt, &doc) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	hd_daemon_reply_json(
	    req, 200, doc, strlen(doc), "Cache-Control", "public, max-age=300", NULL);
	free(doc);
}
