/* Shared pieces of the auth handlers: settings, strict body parsing, field
 * validators for emails and passwords, and the replies every resource uses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/uuid.h"

static auth_settings settings;

const char *const auth_tenant_roles[] = { "admin", "agent", "technician", "customer", NULL };

hd_err auth_settings_load(void)
{
	hd_err err;
	const char *step = "jwt keys";

	if ((err = hd_jwt_keys_load(&settings.jwt, true)) != HD_OK)
		goto fail;
	step = "settings";
	if ((err = hd_config_int("HD_ACCESS_TOKEN_TTL_S", 30, 86400, &settings.access_ttl_s))
	    || (err
	        = hd_config_int("HD_REFRESH_TOKEN_TTL_S", 60, 31536000, &settings.refresh_ttl_s))
	    || (err = hd_config_int("HD_JWT_LEEWAY_S", 0, 300, &settings.leeway_s))
	    || (err = hd_config_int("HD_LOGIN_FAIL_LIMIT", 1, 1000000, &settings.login_fail_limit))
	    || (err
	        = hd_config_int("HD_LOGIN_FAIL_WINDOW_S", 1, 86400, &settings.login_fail_window_s)))
		goto fail_keys;
	snprintf(settings.totp_issuer, sizeof settings.totp_issuer, "%s",
	    hd_config_str("HD_TOTP_ISSUER"));
	step = "dummy hash";
	char random_pw[48];
	if ((err = auth_random_b64url(24, random_pw, sizeof random_pw)) != HD_OK
	    || (err = auth_password_hash_sync(random_pw, settings.dummy_hash)) != HD_OK)
		goto fail_keys;
	return HD_OK;
fail_keys:
	hd_jwt_keys_fini(&settings.jwt);
fail:
	hd_log_error("auth: start-up failed at %s: %s", step, hd_strerror(err));
	return err;
}

void auth_settings_fini(void)
{
	hd_jwt_keys_fini(&settings.jwt);
}

const auth_settings *auth_cfg(void)
{
	return &settings;
}

bool auth_reply_invalid(hd_rpc_request *req, const hd_field_errors *errs)
{
	if (errs->count == 0)
		return false;
	hd_daemon_reply_problem(req, 422, "validation failed", errs);
	return true;
}

bool auth_body_parse(hd_rpc_request *req, const char *const *known, cJSON **out)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	char why[128] = "";
	cJSON *root = NULL;
	hd_field_errors errs = { .count = 0 };

	if (env->body_len == 0) {
		hd_daemon_reply_problem(req, 400, "a JSON body is required", NULL);
		return false;
	}
	if (hd_json_parse(env->body, env->body_len, &root, why) != HD_OK) {
		char detail[160];
		snprintf(detail, sizeof detail, "invalid JSON: %s", why);
		hd_daemon_reply_problem(req, 400, detail, NULL);
		return false;
	}
	if (!cJSON_IsObject(root)) {
		hd_field_errors_add(&errs, "body", "must be a JSON object");
	} else {
		hd_json_reject_unknown(root, known, &errs);
	}
	if (auth_reply_invalid(req, &errs)) {
		cJSON_Delete(root);
		return false;
	}
	*out = root;
	return true;
}

void auth_reply_problem_ex(hd_rpc_request *req, int status, const char *detail,
    const char *extra_member, const char *header, const char *value)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	size_t len = 0;
	char *body = hd_problem_json(status, detail, env->request_id, NULL, &len);
	char *full = NULL;
	hd_reply reply = { .version = HD_ENVELOPE_VERSION, .status = status };

	if (body == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		return;
	}
	if (extra_member != NULL && len > 1 && body[len - 1] == '}') {
		size_t xlen = strlen(extra_member);
		full = malloc(len + xlen + 2);
		if (full != NULL) {
			memcpy(full, body, len - 1);
			full[len - 1] = ',';
			memcpy(full + len, extra_member, xlen);
			full[len + xlen] = '}';
			full[len + xlen + 1] = '\0';
			len += xlen + 1;
		}
	}
	if (header != NULL)
		(void)hd_reply_add_header(&reply, header, value);
	reply.body = full != NULL ? full : body;
	reply.body_len = len;
	hd_rpc_request_reply(req, &reply);
	free(full);
	free(body);
}

void auth_reply_db_error(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	const char *state = res != NULL ? hd_db_result_sqlstate(res) : "";

	if (strcmp(state, "23505") == 0) {
		const char *c = hd_db_result_constraint(res);
		hd_daemon_reply_problem(req, 409,
		    strcmp(c, "tenants_slug_key") == 0      ? "slug already taken"
		        : strcmp(c, "users_email_key") == 0 ? "email already taken"
		                                            : "already exists",
		    NULL);
		return;
	}
	if (err == HD_ERR_UNAVAILABLE || err == HD_ERR_CLOSED || err == HD_ERR_TIMEOUT) {
		hd_daemon_reply_problem(req, 503, "database unavailable", NULL);
		return;
	}
	hd_log_error("auth: database batch failed: %s (sqlstate %s)", hd_strerror(err), state);
	hd_daemon_reply_problem(req, 500, NULL, NULL);
}

static bool email_shape_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);

	if (n < 3 || n > AUTH_EMAIL_MAX || at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '"' || c == ',' || c == '<' || c == '>')
			return false;
	}
	const char *dot = strrchr(at + 1, '.');
	return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

bool auth_email_get(const cJSON *obj, const char *field, bool required,
    char out[AUTH_EMAIL_MAX + 1], hd_field_errors *errs)
{
	const char *v = NULL;

	if (!hd_json_get_string(obj, field, required, 1, AUTH_EMAIL_MAX, &v, errs))
		return false;
	if (!email_shape_ok(v)) {
		hd_field_errors_add(errs, field, "must be an email address");
		return false;
	}
	size_t i = 0;
	for (; i < AUTH_EMAIL_MAX && v[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	out[i] = '\0';
	return true;
}

bool auth_password_get(
    const cJSON *obj, const char *field, bool required, const char **out, hd_field_errors *errs)
{
	return hd_json_get_string(
	    obj, field, required, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, out, errs);
}

bool auth_role_in(const hd_envelope *env, const char *const *roles)
{
	for (size_t i = 0; roles[i] != NULL; i++)
		if (strcmp(env->role, roles[i]) == 0)
			return true;
	return false;
}

/* One request waiting for a single-row JSON read. */
typedef struct fetch_ctx {
	hd_rpc_request *req;
} fetch_ctx;

static void fetch_one_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fetch_ctx *c = arg;

	if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
	} else if (hd_db_result_ntuples(res, 0) != 1) {
		hd_daemon_reply_problem(c->req, 404, "not found", NULL);
	} else {
		const char *json = hd_db_result_value(res, 0, 0, 0);
		const char *version = hd_db_result_value(res, 0, 0, 1);
		char etag[32];
		if (version != NULL) {
			snprintf(etag, sizeof etag, "\"%s\"", version);
			hd_daemon_reply_json(c->req, 200, json, strlen(json), "ETag", etag, NULL);
		} else {
			hd_daemon_reply_json(c->req, 200, json, strlen(json), NULL);
		}
	}
	free(c);
}

void auth_fetch_one(hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant_id,
    const char *sql, int nparams, const char *const *params)
{
	fetch_ctx *c = malloc(sizeof *c);
	hd_db_stmt stmt = { sql, nparams, params };

	if (c == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		return;
	}
	c->req = req;
	if (hd_db_run(dw->db, tenant_id, &stmt, 1, fetch_one_cb, c) != HD_OK) {
		hd_daemon_reply_problem(req, 503, "database unavailable", NULL);
		free(c);
	}
}

bool auth_signed_in(hd_rpc_request *req)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);

	if (hd_uuid_valid(env->tenant_id) && hd_uuid_valid(env->user_id))
		return true;
	hd_daemon_reply_problem(req, 401, "sign in first", NULL);
	return false;
}
