/* Invitations (docs/architecture.md, "Invitations"): staff let a user set
 * their own password — a customer made by mail in, who has a random password
 * nobody knows, or anyone whose access is reset. Admins invite any user of
 * their tenant, agents only customers; a deactivated user is refused.
 *
 * Create (POST /v1/users/{id}/invitations): a random token
 * "<tenant>.<32 random bytes, base64url>" is made here, kept only as its
 * SHA-256 in auth.invitations (which also revokes the user's pending ones),
 * and handed to hd-notification in a peer call (mail.invitation, as the
 * caller), which queues the mail to the user's address; the token is never
 * in the reply, a log or an event. Accept (POST /v1/auth/invitations/accept,
 * public, rate-limited per client address like login by the gateway): a
 * pending, unexpired invitation of an active user sets the password (argon2id
 * on the CPU pool), is used up in the same transaction, and ends the user's
 * other sessions like a password change. Anything else is 422 naming the
 * token and changes nothing. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/peer.h"
#include "hd/uuid.h"

/* $1 user, $2 invitation id, $3 token hash, $4 caller, $5 ttl seconds,
 * $6 true when the caller may invite staff (an admin), $7 tenant. Row: the
 * invitation's JSON, or NULL with why ('gone', 'role', 'inactive'). */
static const char SQL_INVITE[]
    = "WITH u AS (SELECT id, role, active FROM auth.users WHERE id = $1::uuid), "
      "ok AS (SELECT id FROM u WHERE active AND ($6::boolean OR role = 'customer')), "
      "rev AS (UPDATE auth.invitations SET revoked_at = now() WHERE user_id = $1::uuid "
      "AND accepted_at IS NULL AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM ok) "
      "RETURNING 1), "
      "i AS (INSERT INTO auth.invitations AS i (tenant_id, id, user_id, token_hash, "
      "created_by, expires_at) SELECT $7::uuid, $2::uuid, ok.id, "
      "$3, $4::uuid, now() + make_interval(secs => $5::int) FROM ok "
      "RETURNING auth.invitation_json(i) AS j) "
      "SELECT (SELECT j FROM i), CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'gone' "
      "WHEN NOT $6::boolean AND (SELECT role FROM u) <> 'customer' THEN 'role' "
      "WHEN NOT (SELECT active FROM u) THEN 'inactive' END, "
      "(SELECT count(*) FROM rev)";
/* Whether the token names a pending invitation of an active user. */
static const char SQL_PENDING[]
    = "SELECT i.user_id FROM auth.invitations i JOIN auth.users u ON u.id = i.user_id "
      "WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL "
      "AND i.expires_at > now() AND u.active";
/* $1 token hash, $2 new password hash: uses the invitation up, sets the
 * password and revokes the user's refresh tokens, all or nothing. */
static const char SQL_ACCEPT[]
    = "WITH i AS (UPDATE auth.invitations AS i SET accepted_at = now() "
      "WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL "
      "AND i.expires_at > now() AND EXISTS (SELECT 1 FROM auth.users u "
      "WHERE u.id = i.user_id AND u.active) RETURNING i.user_id), "
      "u AS (UPDATE auth.users AS u SET password_hash = $2, version = version + 1, "
      "updated_at = now() FROM i WHERE u.id = i.user_id RETURNING u.id), "
      "rev AS (UPDATE auth.refresh_tokens SET revoked_at = now() "
      "WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL RETURNING 1) "
      "SELECT id, (SELECT count(*) FROM rev) FROM u";

#define INVITE_TOKEN_TEXT "is not a valid, unused and unexpired invitation"

static struct {
	hd_rpc_client *notification;
	long ttl_s;
} inv;

hd_err auth_invitations_start(void)
{
	hd_err err = hd_config_int("HD_INVITATION_TTL_S", 60, 2592000, &inv.ttl_s);
	if (err != HD_OK) {
		hd_log_error("HD_INVITATION_TTL_S must be 60..2592000 seconds");
		return err;
	}
	err = hd_rpc_client_open_peer(
	    &inv.notification, hd_config_str("HD_NOTIFICATION_URL"), "hd-notification");
	if (err != HD_OK)
		hd_log_error("cannot open the client of hd-notification (HD_NOTIFICATION_URL)");
	return err;
}

void auth_invitations_stop(void)
{
	hd_rpc_client_close(inv.notification);
	inv.notification = NULL;
}

/* One invitation being made or accepted, owned by its callback chain. */
typedef struct invite_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char tenant[HD_UUID_STRLEN + 1];
	char user[HD_UUID_STRLEN + 1];
	char token[AUTH_REFRESH_MAX];
	char hash[AUTH_SHA256_HEX];
	char password[AUTH_PASSWORD_BYTES + 1];
	char *json; /* the invitation, replied once mailed (last: invite_ctx_free) */
} invite_ctx;

static invite_ctx *invite_ctx_new(hd_rpc_request *req, hd_daemon_worker *dw)
{
	invite_ctx *c = auth_ctx_alloc(req, sizeof *c);
	if (c != NULL)
		*c = (invite_ctx) { .req = req, .dw = dw };
	return c;
}

/* Frees c; the token and the password it held are wiped first. */
static void invite_ctx_free(invite_ctx *c)
{
	OPENSSL_cleanse(c, offsetof(invite_ctx, json));
	free(c->json);
	free(c);
}

/* ---- create ---- */

static void invite_mailed_cb(hd_err err, int status, const char *body, void *arg)
{
	invite_ctx *c = arg;
	(void)body;
	if (err == HD_OK && (status == 201 || status == 200))
		hd_daemon_reply_json(c->req, 201, c->json, strlen(c->json), NULL);
	else /* the token was not mailed: nobody holds it; a new invitation replaces it */
		hd_reply_problem_ex(c->req, 503, "the invitation could not be mailed; retry", NULL,
		    NULL, "Retry-After", HD_RETRY_AFTER_S);
	invite_ctx_free(c);
}

/* The mail carries the token: hd-notification queues it (mail.invitation). */
static void invite_mail(invite_ctx *c, const cJSON *invitation)
{
	cJSON *body = cJSON_CreateObject();
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(invitation, "id");
	const cJSON *expires = cJSON_GetObjectItemCaseSensitive(invitation, "expires_at");
	bool ok = body != NULL && cJSON_IsString(id) && cJSON_IsString(expires)
	    && cJSON_AddStringToObject(body, "invitation_id", id->valuestring) != NULL
	    && cJSON_AddStringToObject(body, "user_id", c->user) != NULL
	    && cJSON_AddStringToObject(body, "expires_at", expires->valuestring) != NULL
	    && cJSON_AddStringToObject(body, "token", c->token) != NULL;
	char *text = ok ? cJSON_PrintUnformatted(body) : NULL;
	if (body != NULL) {
		cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "token");
		if (cJSON_IsString(t))
			OPENSSL_cleanse(t->valuestring, strlen(t->valuestring));
	}
	cJSON_Delete(body);
	hd_err err = text == NULL ? HD_ERR_NOMEM
	                          : hd_peer_call(inv.notification, c->req, "mail.invitation", NULL,
	                              text, 0, invite_mailed_cb, c);
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	if (err != HD_OK)
		invite_mailed_cb(err, 0, NULL, c);
}

static void invite_stored_cb(hd_err err, const hd_db_result *res, void *arg)
{
	invite_ctx *c = arg;
	const char *json = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	const char *why = err == HD_OK ? hd_db_result_value(res, 0, 0, 1) : NULL;
	cJSON *invitation = NULL;

	if (err != HD_OK)
		hd_reply_db_error(c->req, err, res);
	else if (why != NULL && strcmp(why, "role") == 0)
		hd_reply_problem(c->req, 403, "agents may invite customers only");
	else if (why != NULL && strcmp(why, "inactive") == 0)
		hd_daemon_reply_problem(c->req, 409, "the user is deactivated", NULL);
	else if (json == NULL)
		hd_reply_not_found(c->req, "user");
	else if ((c->json = strdup(json)) == NULL
	    || hd_json_parse(json, strlen(json), &invitation, NULL) != HD_OK)
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
	else {
		invite_mail(c, invitation);
		cJSON_Delete(invitation);
		return;
	}
	cJSON_Delete(invitation);
	invite_ctx_free(c);
}

void auth_invitations_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller me;
	const char *user;
	char id[HD_UUID_STRLEN + 1], ttl[24];
	invite_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || !hd_caller_require(req, &me, HD_ROLES_STAFF)
	    || (user = hd_req_path_uuid(req, "id", "user")) == NULL
	    || (c = invite_ctx_new(req, dw)) == NULL)
		return;
	snprintf(c->user, sizeof c->user, "%s", user);
	snprintf(c->tenant, sizeof c->tenant, "%s", me.tenant_id);
	snprintf(ttl, sizeof ttl, "%ld", inv.ttl_s);
	if (hd_uuid_v7(id) != HD_OK
	    || auth_refresh_token_new(c->tenant, c->token, c->hash) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		invite_ctx_free(c);
		return;
	}
	const char *params[] = { c->user, id, c->hash, me.user_id, ttl,
		hd_caller_is(&me, HD_ROLE_ADMIN) ? "t" : "f", c->tenant };
	hd_db_stmt stmt = { SQL_INVITE, 7, params };
	if (!hd_daemon_db_run(dw, req, c->tenant, &stmt, 1, invite_stored_cb, c))
		invite_ctx_free(c);
}

/* ---- accept ---- */

static void accept_marked_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	invite_ctx *c = arg;
	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) == HD_REDIS_ERROR)
		hd_log_warn("invitation accepted; the user's older access tokens were not ended "
		            "(token store unavailable)");
	hd_daemon_reply_json(c->req, 204, "", 0, NULL);
	invite_ctx_free(c);
}

static void accept_done_cb(hd_err err, const hd_db_result *res, void *arg)
{
	invite_ctx *c = arg;
	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
	} else if (hd_db_result_ntuples(res, 0) != 1) { /* used or revoked meanwhile */
		hd_reply_invalid_field(c->req, "token", INVITE_TOKEN_TEXT);
	} else {
		snprintf(c->user, sizeof c->user, "%s", hd_db_result_value(res, 0, 0, 0));
		/* a reset ends the sessions a password change would end */
		if (auth_user_mark(c->dw, c->tenant, c->user, false, false, accept_marked_cb, c)
		    != HD_OK)
			accept_marked_cb(HD_ERR_UNAVAILABLE, NULL, c);
		return;
	}
	invite_ctx_free(c);
}

static void accept_hashed_cb(bool ok, const char *hash, void *arg)
{
	invite_ctx *c = arg;
	if (!ok) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		invite_ctx_free(c);
		return;
	}
	const char *params[] = { c->hash, hash };
	hd_db_stmt stmt = { SQL_ACCEPT, 2, params };
	if (!hd_daemon_db_run(c->dw, c->req, c->tenant, &stmt, 1, accept_done_cb, c))
		invite_ctx_free(c);
}

/* The token names a pending invitation: the password is hashed (only then,
 * so that a wrong token costs no argon2 run). */
static void accept_pending_cb(hd_err err, const hd_db_result *res, void *arg)
{
	invite_ctx *c = arg;
	if (err != HD_OK)
		hd_reply_db_error(c->req, err, res);
	else if (hd_db_result_ntuples(res, 0) != 1)
		hd_reply_invalid_field(c->req, "token", INVITE_TOKEN_TEXT);
	else if (auth_password_hash(hd_rpc_request_worker(c->req), c->password, accept_hashed_cb, c)
	    != HD_OK)
		hd_reply_problem_ex(
		    c->req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
	else
		return;
	invite_ctx_free(c);
}

/* Reads {"token","password"} into c; the token's tenant prefix into
 * c->tenant. Replies and returns false when refused. */
static bool accept_read(invite_ctx *c)
{
	static const char *const known[] = { "token", "password", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *token = NULL, *password = NULL;
	cJSON *body = NULL;

	if (!hd_req_body(c->req, known, &body))
		return false;
	if (hd_json_get_string(body, "token", true, 1, AUTH_REFRESH_MAX - 1, &token, &errs))
		snprintf(c->token, sizeof c->token, "%s", token);
	if (auth_password_get(body, "password", true, &password, &errs))
		snprintf(c->password, sizeof c->password, "%s", password);
	cJSON_Delete(body);
	if (hd_reply_invalid(c->req, &errs))
		return false;
	if (strlen(c->token) < HD_UUID_STRLEN + 2 || c->token[HD_UUID_STRLEN] != '.') {
		hd_reply_invalid_field(c->req, "token", INVITE_TOKEN_TEXT);
		return false;
	}
	memcpy(c->tenant, c->token, HD_UUID_STRLEN);
	c->tenant[HD_UUID_STRLEN] = '\0';
	if (!hd_uuid_valid(c->tenant)) {
		hd_reply_invalid_field(c->req, "token", INVITE_TOKEN_TEXT);
		return false;
	}
	auth_sha256_hex(c->token, strlen(c->token), c->hash);
	return true;
}

void auth_invitations_accept(hd_rpc_request *req, hd_daemon_worker *dw)
{
	invite_ctx *c = invite_ctx_new(req, dw);
	if (c == NULL)
		return;
	if (!accept_read(c)) {
		invite_ctx_free(c);
		return;
	}
	const char *params[] = { c->hash };
	hd_db_stmt stmt = { SQL_PENDING, 1, params };
	if (!hd_daemon_db_run(dw, req, c->tenant, &stmt, 1, accept_pending_cb, c))
		invite_ctx_free(c);
}
