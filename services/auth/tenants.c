/* Tenants: a platform admin creates a tenant together with its first admin
 * user in one transaction (honouring Idempotency-Key, hd/idem.h); any signed-in user
 * reads their own tenant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/json.h"
#include "hd/uuid.h"

/* A create runs under the caller's tenant (the platform tenant of the
 * platform admin): that is where its Idempotency-Key lives, scoped to the
 * caller and the route (hd/idem.h). The new tenant cannot be the scope: a
 * retry does not know its id. After the key's lock and lookup, statement 0
 * scopes the batch to the new tenant only when no reply is stored under the
 * key, so RLS admits both inserts, which do nothing unless it did; then the
 * batch returns to the caller's tenant and stores the reply. The stored body
 * is the tenant's JSON built from the values inserted; created_at defaults to
 * now(), which is the same all through the transaction.
 * $1 new tenant, $2 caller's tenant, $3 caller, $4 op, $5 key, $6 hashed. */
static const char SQL_TENANT_SCOPE_NEW[] = "WITH" HD_IDEM_CTE("$2", "$3", "$4", "$5",
    "$6") " SELECT set_config('app.tenant_id', $1, true) FROM idem WHERE" HD_IDEM_FREE("auth");
/* Statements 1 and 2 act only under the new tenant. */
static const char SQL_TENANT_INSERT[]
    = "INSERT INTO auth.tenants AS t (id, slug, name) SELECT $1::uuid, $2, $3"
      " WHERE NULLIF(current_setting('app.tenant_id', true), '')::uuid = $1::uuid"
      " RETURNING auth.tenant_json(t)";
static const char SQL_TENANT_ADMIN_INSERT[]
    = "INSERT INTO auth.users (tenant_id, id, email, name, role, password_hash)"
      " SELECT $1::uuid, $2::uuid, $3, $4, 'admin', $5"
      " WHERE NULLIF(current_setting('app.tenant_id', true), '')::uuid = $1::uuid";
/* 3: back to the caller's tenant ($1). */
static const char SQL_TENANT_SCOPE_BACK[] = "SELECT set_config('app.tenant_id', $1, true)";
/* 4: $1..$5 as $2..$6 of statement 0; $6 new tenant, $7 slug, $8 name. */
static const char SQL_TENANT_IDEM_STORE[] = "WITH" HD_IDEM_CTE("$1", "$2", "$3", "$4",
    "$5") ","
          " reply AS (SELECT 201 AS status,"
          " auth.tenant_json(ROW($6::uuid, $7, $8, now())::auth.tenants)::text AS j,"
          " NULL::text AS location, NULL::text AS etag WHERE" HD_IDEM_FREE(
              "auth") ")," HD_IDEM_STORE("auth") " SELECT 1";
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
	char password[AUTH_PASSWORD_BYTES + 1]; /* kept while it is hashed */
	hd_idem idem;
} tenant_ctx;

static void tenant_ctx_free(tenant_ctx *c)
{
	OPENSSL_cleanse(c->password, sizeof c->password);
	hd_idem_free(&c->idem);
	free(c);
}

static void tenant_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tenant_ctx *c = arg;
	int first;

	if (hd_idem_result(c->req, err, res, &first)) {
		const char *json = hd_db_result_value(res, first + 1, 0, 0);
		if (json == NULL)
			hd_reply_db_error(c->req, HD_ERR_INTERNAL, res);
		else
			hd_idem_reply(c->req, 201, json, NULL, NULL);
	}
	tenant_ctx_free(c);
}

static void tenant_hashed_cb(bool ok, const char *hash, void *arg)
{
	tenant_ctx *c = arg;
	const char *caller_tenant = c->idem.tenant_id;

	if (!ok || hd_uuid_v7(c->id) != HD_OK || hd_uuid_v7(c->admin_id) != HD_OK) {
		hd_reply_problem(c->req, 500, HD_TEXT_INTERNAL);
		tenant_ctx_free(c);
		return;
	}
	const char *p0[6] = { c->id, caller_tenant };
	const char *pt[] = { c->id, c->slug, c->name };
	const char *pa[] = { c->id, c->admin_id, c->admin_email, c->admin_name, hash };
	const char *pb[] = { caller_tenant };
	const char *pk[8] = { caller_tenant, NULL, NULL, NULL, NULL, c->id, c->slug, c->name };
	hd_idem_params(&c->idem, p0 + 2);
	hd_idem_params(&c->idem, pk + 1);
	hd_db_stmt stmts[] = { { SQL_TENANT_SCOPE_NEW, 6, p0 }, { SQL_TENANT_INSERT, 3, pt },
		{ SQL_TENANT_ADMIN_INSERT, 5, pa }, { SQL_TENANT_SCOPE_BACK, 1, pb },
		{ SQL_TENANT_IDEM_STORE, 8, pk } };
	if (!hd_idem_run(c->dw, c->req, &auth_idem_table, &c->idem, stmts, 5, tenant_created_cb, c))
		tenant_ctx_free(c);
}

static bool slug_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Validates the body and Idempotency-Key into c; false after a reply. */
static bool tenant_read(tenant_ctx *c, const hd_caller *me, const cJSON *body)
{
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *slug = NULL, *password = NULL, *admin_name = "Administrator";

	hd_json_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &errs);
	if (hd_json_get_string(body, "slug", true, 2, 63, &slug, &errs) && !slug_ok(slug))
		hd_field_errors_add(&errs, "slug", "must be 2-63 of a-z, 0-9 and -");
	auth_email_get(body, "admin_email", true, c->admin_email, &errs);
	auth_password_get(body, "admin_password", true, &password, &errs);
	hd_json_get_string(body, "admin_name", false, 1, AUTH_NAME_MAX, &admin_name, &errs);
	/* digest: the body carries a password, which never goes to SQL */
	if (!hd_idem_read(c->req, me, NULL, true, &c->idem, &errs)
	    || hd_reply_invalid(c->req, &errs))
		return false;
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->slug, sizeof c->slug, "%s", slug);
	snprintf(c->admin_name, sizeof c->admin_name, "%s", admin_name);
	snprintf(c->password, sizeof c->password, "%s", password);
	return true;
}

void auth_tenants_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "name", "slug", "admin_email", "admin_password", "admin_name", NULL };
	hd_caller me;
	cJSON *body = NULL;
	tenant_ctx *c = NULL;

	if (!hd_caller_get(req, &me) || !hd_caller_require(req, &me, HD_ROLE_PLATFORM_ADMIN)
	    || !hd_req_body(req, known, &body))
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	c->req = req;
	c->dw = dw;
	if (!tenant_read(c, &me, body)) {
		tenant_ctx_free(c);
	} else if (auth_password_hash(hd_rpc_request_worker(req), c->password, tenant_hashed_cb, c)
	    != HD_OK) {
		hd_reply_problem_ex(
		    req, 503, HD_TEXT_BUSY, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
		tenant_ctx_free(c);
	}
out:
	cJSON_Delete(body);
}

void auth_tenants_current(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller me;

	if (!hd_caller_get(req, &me))
		return;
	const char *params[] = { me.tenant_id };
	auth_fetch_one(req, dw, me.tenant_id, "tenant", SQL_TENANT_GET, 1, params);
}
