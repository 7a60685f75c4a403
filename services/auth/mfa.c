/* TOTP second factor (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step) with
 * liboath: enroll stores a pending secret, confirm checks a code against it
 * and switches the factor on; login checks codes with auth_totp_check and
 * refuses a time step that was already used (kept in auth.mfa.last_step). */
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "auth.h"
#include "hd/json.h"

#define TOTP_STEP 30
#define TOTP_WINDOW 1
#define TOTP_SECRET_BYTES 20

/* With MFA on, $3 is the time step of the valid current code given: it is
 * used up (a code is never accepted twice), and without it nothing changes. */
static const char SQL_ENROLL[]
    = "INSERT INTO auth.mfa AS m (tenant_id, user_id, pending_secret) "
      "SELECT u.tenant_id, u.id, $2 FROM auth.users u WHERE u.id = $1::uuid AND u.active "
      "ON CONFLICT (tenant_id, user_id) DO UPDATE SET pending_secret = EXCLUDED.pending_secret, "
      "last_step = coalesce($3::bigint, m.last_step), updated_at = now() "
      "WHERE ($3::bigint IS NULL AND m.secret IS NULL) "
      "OR ($3::bigint IS NOT NULL AND m.last_step < $3::bigint) "
      "RETURNING (SELECT email FROM auth.users WHERE id = $1::uuid)";
static const char SQL_MFA_ON[]
    = "SELECT secret FROM auth.mfa WHERE user_id = $1::uuid AND secret IS NOT NULL";
static const char SQL_PENDING[]
    = "SELECT pending_secret, last_step FROM auth.mfa WHERE user_id = $1::uuid";
static const char SQL_CONFIRM_MFA[]
    = "UPDATE auth.mfa SET secret = pending_secret, pending_secret = NULL, last_step = $3::bigint, "
      "updated_at = now() WHERE user_id = $1::uuid AND pending_secret = $2 "
      "AND last_step < $3::bigint RETURNING 1";
static const char SQL_CONFIRM_USER[]
    = "UPDATE auth.users SET mfa_enabled = true, updated_at = now(), version = version + 1 "
      "WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM auth.mfa WHERE user_id = $1::uuid "
      "AND secret = $2)";

bool auth_totp_check(const char *secret_b32, const char *code, int64_t now, int64_t *step)
{
	char *raw = NULL;
	size_t raw_len = 0;
	int pos = 0;
	bool ok = false;

	if (strlen(code) != 6 || strspn(code, "0123456789") != 6 || secret_b32[0] == '\0')
		return false;
	if (oath_base32_decode(secret_b32, strlen(secret_b32), &raw, &raw_len) != OATH_OK)
		return false;
	int rc
	    = oath_totp_validate2(raw, raw_len, (time_t)now, TOTP_STEP, 0, TOTP_WINDOW, &pos, code);
	if (rc >= 0) {
		*step = now / TOTP_STEP + pos;
		ok = true;
	}
	OPENSSL_cleanse(raw, raw_len);
	free(raw);
	return ok;
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) to out. */
static void pct_append(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(out);

	for (; *s != '\0' && n + 4 < size; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
		    || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

typedef struct enroll_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char secret[64];
	char current[64]; /* the confirmed secret when MFA is on */
	char totp[8];
	char step[24];
	bool mfa_on;
} enroll_ctx;

static void enroll_end(enroll_ctx *c)
{
	OPENSSL_cleanse(c->secret, sizeof c->secret);
	OPENSSL_cleanse(c->current, sizeof c->current);
	free(c);
}

static void enroll_refused(enroll_ctx *c)
{
	hd_daemon_reply_problem(
	    c->req, 403, "MFA is on: a valid current totp is required to enroll again", NULL);
	enroll_end(c);
}

static void enroll_cb(hd_err err, const hd_db_result *res, void *arg)
{
	enroll_ctx *c = arg;
	const char *issuer = auth_cfg()->totp_issuer;
	char url[768] = "otpauth://totp/";

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
		goto out;
	}
	const char *email = hd_db_result_value(res, 0, 0, 0);
	if (email == NULL && c->mfa_on) { /* the code was used meanwhile */
		enroll_refused(c);
		return;
	}
	if (email == NULL) {
		hd_reply_not_found(c->req, "user");
		goto out;
	}
	pct_append(url, sizeof url, issuer);
	strcat(url, ":");
	pct_append(url, sizeof url, email);
	snprintf(url + strlen(url), sizeof url - strlen(url), "?secret=%s&issuer=", c->secret);
	pct_append(url, sizeof url, issuer);
	snprintf(url + strlen(url), sizeof url - strlen(url), "&algorithm=SHA1&digits=6&period=30");
	cJSON *doc = cJSON_CreateObject();
	char *body = NULL;
	size_t len = 0;
	if (doc != NULL && cJSON_AddStringToObject(doc, "secret", c->secret) != NULL
	    && cJSON_AddStringToObject(doc, "otpauth_url", url) != NULL)
		body = hd_json_print(doc, &len);
	cJSON_Delete(doc);
	if (body == NULL) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	hd_daemon_reply_json(c->req, 200, body, len, "Cache-Control", "no-store", NULL);
	OPENSSL_cleanse(body, len);
	free(body);
	OPENSSL_cleanse(url, sizeof url);
out:
	enroll_end(c);
}

static hd_err secret_new(char out[64])
{
	unsigned char raw[TOTP_SECRET_BYTES];
	char *b32 = NULL;
	size_t len = 0;
	hd_err err = HD_ERR_INTERNAL;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return HD_ERR_INTERNAL;
	if (oath_base32_encode((const char *)raw, sizeof raw, &b32, &len) == OATH_OK && len < 64) {
		memcpy(out, b32, len);
		out[len] = '\0';
		err = HD_OK;
	}
	OPENSSL_cleanse(raw, sizeof raw);
	if (b32 != NULL) {
		OPENSSL_cleanse(b32, len);
		free(b32);
	}
	return err;
}

/* MFA state is known: when it is on, the body's totp must be valid now. */
static void enroll_state_cb(hd_err err, const hd_db_result *res, void *arg)
{
	enroll_ctx *c = arg;
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	int64_t step = 0;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
		enroll_end(c);
		return;
	}
	c->mfa_on = hd_db_result_ntuples(res, 0) == 1;
	if (c->mfa_on) {
		snprintf(c->current, sizeof c->current, "%s", hd_db_result_value(res, 0, 0, 0));
		if (c->totp[0] == '\0'
		    || !auth_totp_check(c->current, c->totp, (int64_t)time(NULL), &step)) {
			enroll_refused(c);
			return;
		}
		snprintf(c->step, sizeof c->step, "%lld", (long long)step);
	}
	const char *params[] = { env->user_id, c->secret, c->mfa_on ? c->step : NULL };
	hd_db_stmt stmt = { SQL_ENROLL, 3, params };
	if (!hd_daemon_db_run(c->dw, c->req, env->tenant_id, &stmt, 1, enroll_cb, c))
		enroll_end(c);
}

void auth_mfa_enroll(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "totp", NULL };
	hd_caller me;
	hd_field_errors errs = { .count = 0 };
	const char *totp = NULL;
	cJSON *body = NULL;
	enroll_ctx *c = NULL;

	if (!hd_caller_get(req, &me))
		return;
	if (hd_rpc_request_envelope(req)->body_len > 0) {
		if (!hd_req_body(req, known, &body))
			return;
		if (hd_json_get_string(body, "totp", false, 6, 6, &totp, &errs)
		    && strspn(totp, "0123456789") != 6)
			hd_field_errors_add(&errs, "totp", "must be 6 digits");
		if (hd_reply_invalid(req, &errs))
			goto out;
	}
	c = calloc(1, sizeof *c);
	if (c == NULL || secret_new(c->secret) != HD_OK) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		free(c);
		goto out;
	}
	c->req = req;
	c->dw = dw;
	snprintf(c->totp, sizeof c->totp, "%s", totp != NULL ? totp : "");
	const char *params[] = { me.user_id };
	hd_db_stmt stmt = { SQL_MFA_ON, 1, params };
	if (!hd_daemon_db_run(dw, req, me.tenant_id, &stmt, 1, enroll_state_cb, c))
		enroll_end(c);
out:
	cJSON_Delete(body);
}

typedef struct confirm_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char code[8];
	char secret[64];
	char step[24];
} confirm_ctx;

static void confirm_end(confirm_ctx *c)
{
	OPENSSL_cleanse(c->secret, sizeof c->secret);
	free(c);
}

static void confirm_wrong(confirm_ctx *c)
{
	hd_field_errors errs = { .count = 0 };

	hd_field_errors_add(&errs, "code", "is not a valid code for the pending secret");
	hd_reply_invalid(c->req, &errs);
	confirm_end(c);
}

static void confirm_done_cb(hd_err err, const hd_db_result *res, void *arg)
{
	confirm_ctx *c = arg;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
		confirm_end(c);
	} else if (hd_db_result_ntuples(res, 0) != 1) {
		confirm_wrong(c); /* replayed step, or the pending secret changed meanwhile */
	} else {
		hd_daemon_reply_json(c->req, 204, "", 0, NULL);
		confirm_end(c);
	}
}

static void confirm_pending_cb(hd_err err, const hd_db_result *res, void *arg)
{
	confirm_ctx *c = arg;
	const hd_envelope *env = hd_rpc_request_envelope(c->req);
	int64_t step = 0;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
		confirm_end(c);
		return;
	}
	const char *pending = hd_db_result_value(res, 0, 0, 0);
	if (pending == NULL) {
		hd_reply_problem(c->req, 409, "no MFA enrollment is pending");
		confirm_end(c);
		return;
	}
	snprintf(c->secret, sizeof c->secret, "%s", pending);
	if (!auth_totp_check(c->secret, c->code, (int64_t)time(NULL), &step)) {
		confirm_wrong(c);
		return;
	}
	snprintf(c->step, sizeof c->step, "%lld", (long long)step);
	const char *p0[] = { env->user_id, c->secret, c->step };
	const char *p1[] = { env->user_id, c->secret };
	hd_db_stmt stmts[] = { { SQL_CONFIRM_MFA, 3, p0 }, { SQL_CONFIRM_USER, 2, p1 } };
	if (!hd_daemon_db_run(c->dw, c->req, env->tenant_id, stmts, 2, confirm_done_cb, c)) {
		confirm_end(c);
	}
}

void auth_mfa_confirm(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "code", NULL };
	hd_caller me;
	hd_field_errors errs = { .count = 0 };
	const char *code = NULL;
	cJSON *body = NULL;
	confirm_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || !hd_req_body(req, known, &body))
		return;
	if (hd_json_get_string(body, "code", true, 6, 6, &code, &errs)
	    && strspn(code, "0123456789") != 6)
		hd_field_errors_add(&errs, "code", "must be 6 digits");
	if (hd_reply_invalid(req, &errs))
		goto out;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	c->req = req;
	c->dw = dw;
	snprintf(c->code, sizeof c->code, "%s", code);
	const char *params[] = { me.user_id };
	hd_db_stmt stmt = { SQL_PENDING, 1, params };
	if (!hd_daemon_db_run(dw, req, me.tenant_id, &stmt, 1, confirm_pending_cb, c)) {
		confirm_end(c);
	}
out:
	cJSON_Delete(body);
}
