/* Shared pieces of the auth handlers: settings, field validators for emails
 * and passwords, and the single-row read. Body parsing, roles and replies are
 * the service kit's (hd/request.h, hd/caller.h, hd/reply.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"

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
	if (!hd_json_get_string(
	        obj, field, required, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, out, errs))
		return false;
	if (strlen(*out) > AUTH_PASSWORD_BYTES) {
		hd_field_errors_add(errs, field, "must be at most 1024 bytes");
		*out = NULL;
		return false;
	}
	return true;
}

void *auth_ctx_alloc(hd_rpc_request *req, size_t size)
{
	void *c = calloc(1, size);

	if (c == NULL)
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
	return c;
}

const hd_idem_table auth_idem_table = HD_IDEM_TABLE("auth");

/* One request waiting for a single-row JSON read. */
typedef struct fetch_ctx {
	hd_rpc_request *req;
	const char *resource;
} fetch_ctx;

static void fetch_one_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fetch_ctx *c = arg;

	if (err != HD_OK) {
		hd_reply_db_error(c->req, err, res);
	} else if (hd_db_result_ntuples(res, 0) != 1) {
		hd_reply_not_found(c->req, c->resource);
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
    const char *resource, const char *sql, int nparams, const char *const *params)
{
	fetch_ctx *c = malloc(sizeof *c);
	hd_db_stmt stmt = { sql, nparams, params };

	if (c == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	*c = (fetch_ctx) { req, resource };
	if (!hd_daemon_db_run(dw, req, tenant_id, &stmt, 1, fetch_one_cb, c))
		free(c);
}
