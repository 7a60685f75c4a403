/* Tenants: a platform admin creates a tenant together with its first admin
 * user in one transaction; any signed-in user reads their own tenant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/uuid.h"

static const char SQL_TENANT_INSERT[]
    = "INSERT INTO auth.tenants AS t (id, slug, name) VALUES ($1::uuid, $2, $3) "
      "RETURNING auth.tenant_json(t)";
static const char SQL_TENANT_ADMIN_INSERT[]
    = "INSERT INTO auth.users (tenant_id, id, email, name, role, password_hash) "
      "VALUES ($1::uuid, $2::uuid, $3, $4, 'admin', $5)";
static const char SQL_TENANT_GET[]
    = "SELECT auth.tenant_json(t) FROM auth.tenants t WHERE t.id = $1::uuid";

/* One tenant creation, owned by its callback chain. */
typedef struct tenant_ctx {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char id[HD_UUID_STRLEN + 1];
	char admin_id[HD_UUID_STRLEN + 1];
	char slug[64];
	char name[AUTH_NAME_MAX * 4 + 1];
	char admin_email[AUTH_EMAIL_MAX + 1];
	char admin_name[AUTH_NAME_MAX * 4 + 1];
} tenant_ctx;

static void tenant_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tenant_ctx *c = arg;

	if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
	} else {
		const char *json = hd_db_result_value(res, 0, 0, 0);
		hd_daemon_reply_json(c->req, 201, json, strlen(json), NULL);
	}
	free(c);
}

static void tenant_hashed_cb(bool ok, const char *hash, void *arg)
{
	tenant_ctx *c = arg;

	if (!ok || hd_uuid_v7(c->id) != HD_OK || hd_uuid_v7(c->admin_id) != HD_OK) {
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
		free(c);
		return;
	}
	const char *p0[] = { c->id, c->slug, c->name };
	const char *p1[] = { c->id, c->admin_id, c->admin_email, c->admin_name, hash };
	hd_db_stmt stmts[] = { { SQL_TENANT_INSERT, 3, p0 }, { SQL_TENANT_ADMIN_INSERT, 5, p1 } };
	/* the new tenant's id scopes the batch, so RLS checks both inserts */
	if (hd_db_run(c->dw->db, c->id, stmts, 2, tenant_created_cb, c) != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "database unavailable", NULL);
		free(c);
	}
}

static bool slug_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Validates the body into c and returns the admin password; NULL after a reply. */
static const char *tenant_read(tenant_ctx *c, const cJSON *body)
{
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *slug = NULL, *password = NULL, *admin_name = "Administrator";

	hd_json_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &errs);
	if (hd_json_get_string(body, "slug", true, 2, 63, &slug, &errs) && !slug_ok(slug))
		hd_field_errors_add(&errs, "slug", "must be 2-63 of a-z, 0-9 and -");
	auth_email_get(body, "admin_email", true, c->admin_email, &errs);
	auth_password_get(body, "admin_password", true, &password, &errs);
	hd_json_get_string(body, "admin_name", false, 1, AUTH_NAME_MAX, &admin_name, &errs);
	if (auth_reply_invalid(c->req, &errs))
		return NULL;
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->slug, sizeof c->slug, "%s", slug);
	snprintf(c->admin_name, sizeof c->admin_name, "%s", admin_name);
	return password;
}

void auth_tenants_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "name", "slug", "admin_email", "admin_password", "admin_name", NULL };
	static const char *const platform[] = { "platform_admin", NULL };
	cJSON *body = NULL;
	tenant_ctx *c = NULL;

	if (!auth_signed_in(req))
		return;
	if (!auth_role_in(hd_rpc_request_envelope(req), platform)) {
		hd_daemon_reply_problem(req, 403, "only a platform admin creates tenants", NULL);
		return;
	}
	if (!auth_body_parse(req, known, &body))
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		goto out;
	}
	c->req = req;
	c->dw = dw;
	const char *password = tenant_read(c, body);
	if (password == NULL) {
		free(c);
		goto out;
	}
	if (auth_password_hash(hd_rpc_request_worker(req), password, tenant_hashed_cb, c)
	    != HD_OK) {
		hd_daemon_reply_problem(req, 503, "busy", NULL);
		free(c);
	}
out:
	cJSON_Delete(body);
}

void auth_tenants_current(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);

	if (!auth_signed_in(req))
		return;
	const char *params[] = { env->tenant_id };
	auth_fetch_one(req, dw, env->tenant_id, SQL_TENANT_GET, 1, params);
}
