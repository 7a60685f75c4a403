/* Tenants: a platform admin creates a tenant together with its first admin
 * user in one transaction (honouring Idempotency-Key); any signed-in user
 * reads their own tenant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/uuid.h"

/* The reply of a create under an Idempotency-Key ($2, NULL when none).
 * Scope: the key belongs to the caller's tenant ($1, the platform tenant of
 * the platform admin), the tenant the lookup runs under, so a replay finds it
 * and RLS on auth.idempotency_keys (tenant_id = app.tenant_id) admits it. The
 * new tenant cannot be the scope: a retry does not know its id. It is written
 * first, in the create's transaction, so a crash cannot keep the tenant but
 * lose the key, and a concurrent request with the key fails on the key's
 * primary key (409) before it touches the slug. The stored body is the
 * tenant's JSON built from the values about to be inserted; created_at
 * defaults to now(), which is the same all through the transaction. */
static const char SQL_TENANT_IDEM_STORE[]
    = "INSERT INTO auth.idempotency_keys (tenant_id, key, request_hash, status, body,"
      " location, etag) SELECT $1::uuid, $2, $3, 201,"
      " auth.tenant_json(ROW($4::uuid, $5, $6, now())::auth.tenants)::text, '', ''"
      " WHERE $2::text IS NOT NULL";
/* Then the batch scopes itself to the new tenant, so RLS checks both inserts. */
static const char SQL_TENANT_SCOPE[] = "SELECT set_config('app.tenant_id', $1, true)";
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
	char password[AUTH_PASSWORD_MAX + 1]; /* kept while the key is looked up */
	auth_idem idem; /* the hash covers "tenants.create" and the body */
} tenant_ctx;

static void tenant_ctx_free(tenant_ctx *c)
{
	OPENSSL_cleanse(c->password, sizeof c->password);
	free(c);
}

static void tenant_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tenant_ctx *c = arg;

	if (auth_idem_conflict(c->req, err, res)) {
		/* replied 409 */
	} else if (err != HD_OK) {
		auth_reply_db_error(c->req, err, res);
	} else {
		const char *json = hd_db_result_value(res, 2, 0, 0);
		hd_daemon_reply_json(c->req, 201, json, strlen(json), NULL);
	}
	tenant_ctx_free(c);
}

static void tenant_hashed_cb(bool ok, const char *hash, void *arg)
{
	tenant_ctx *c = arg;
	const char *caller_tenant = hd_rpc_request_envelope(c->req)->tenant_id;

	if (!ok || hd_uuid_v7(c->id) != HD_OK || hd_uuid_v7(c->admin_id) != HD_OK) {
		hd_daemon_reply_problem(c->req, 500, NULL, NULL);
		tenant_ctx_free(c);
		return;
	}
	const char *pk[]
	    = { caller_tenant, auth_idem_param(&c->idem), c->idem.hash, c->id, c->slug, c->name };
	const char *ps[] = { c->id };
	const char *pt[] = { c->id, c->slug, c->name };
	const char *pa[] = { c->id, c->admin_id, c->admin_email, c->admin_name, hash };
	hd_db_stmt stmts[] = { { SQL_TENANT_IDEM_STORE, 6, pk }, { SQL_TENANT_SCOPE, 1, ps },
		{ SQL_TENANT_INSERT, 3, pt }, { SQL_TENANT_ADMIN_INSERT, 5, pa } };
	if (hd_db_run(c->dw->db, caller_tenant, stmts, 4, tenant_created_cb, c) != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "database unavailable", NULL);
		tenant_ctx_free(c);
	}
}

static bool slug_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Validates the body and Idempotency-Key into c; false after a reply. */
static bool tenant_read(tenant_ctx *c, const cJSON *body)
{
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *slug = NULL, *password = NULL, *admin_name = "Administrator";

	hd_json_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &errs);
	if (hd_json_get_string(body, "slug", true, 2, 63, &slug, &errs) && !slug_ok(slug))
		hd_field_errors_add(&errs, "slug", "must be 2-63 of a-z, 0-9 and -");
	auth_email_get(body, "admin_email", true, c->admin_email, &errs);
	auth_password_get(body, "admin_password", true, &password, &errs);
	hd_json_get_string(body, "admin_name", false, 1, AUTH_NAME_MAX, &admin_name, &errs);
	auth_idem_read(c->req, "tenants.create", &c->idem, &errs);
	if (auth_reply_invalid(c->req, &errs))
		return false;
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->slug, sizeof c->slug, "%s", slug);
	snprintf(c->admin_name, sizeof c->admin_name, "%s", admin_name);
	snprintf(c->password, sizeof c->password, "%s", password);
	return true;
}

/* Hashes the admin password (off the event loop), then creates. */
static void tenant_create_hash(tenant_ctx *c)
{
	if (auth_password_hash(hd_rpc_request_worker(c->req), c->password, tenant_hashed_cb, c)
	    != HD_OK) {
		hd_daemon_reply_problem(c->req, 503, "busy", NULL);
		tenant_ctx_free(c);
	}
}

/* No stored reply: create; else the lookup has replied. */
static void tenant_idem_done(bool miss, void *arg)
{
	tenant_ctx *c = arg;

	if (miss)
		tenant_create_hash(c);
	else
		tenant_ctx_free(c);
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
	if (!tenant_read(c, body))
		tenant_ctx_free(c);
	else if (auth_idem_param(&c->idem) == NULL)
		tenant_create_hash(c);
	else if (auth_idem_lookup(req, dw, hd_rpc_request_envelope(req)->tenant_id, &c->idem,
	             tenant_idem_done, c)
	    != HD_OK)
		tenant_ctx_free(c);
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
