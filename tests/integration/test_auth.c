/* Integration tests of hd-auth through its real NNG interface: the test
 * migrates and bootstraps a real PostgreSQL, starts the hd-auth binary (from
 * HD_TEST_BIN_DIR) as a child on free ports, and sends envelopes with
 * hd_rpc_client the way the gateway does (filling tenant, user, role, jti and
 * exp from a verified access token). The child's stderr is checked for
 * sanitizer reports at the end. Every run uses fresh tenants and emails, so
 * the database may be reused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <liboath/oath.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "daemon_child.h"
#include "hd/envelope.h"
#include "hd/db.h"
#include "hd/jwt.h"
#include "hd/redis.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

#define JWT_SECRET "integration-test-secret-0123456789abcdef"
#define PASSWORD "correct horse battery"
#define FAIL_LIMIT 3

/* A signed-in caller, as the gateway would describe it. */
typedef struct actor {
	char tenant_id[37], user_id[37], role[32], jti[64];
	int64_t exp;
	char access[1024], refresh[160];
} actor;

/* A decoded reply. */
typedef daemon_reply resp;

static struct {
	daemon_child child;
	char url[64];
	char run[16]; /* unique per run: suffix of slugs and emails */
	char platform_email[96], acme_email[96];
	hd_rpc_client *client;
	hd_jwt_keys keys;
	actor platform, acme;
	char acme_id[37];
} T;

/* ---- child process ------------------------------------------------- */

static const char *sql_dir(void)
{
	static const char *const candidates[]
	    = { "services/auth/sql", "../../services/auth/sql", "../services/auth/sql", NULL };
	static char abs[1024];

	if (getenv("HD_AUTH_SQL_DIR") != NULL)
		return getenv("HD_AUTH_SQL_DIR");
	for (int i = 0; candidates[i] != NULL; i++)
		if (access(candidates[i], R_OK) == 0 && realpath(candidates[i], abs) != NULL)
			return abs;
	return "services/auth/sql";
}

static void child_env(void)
{
	setenv("HD_DATABASE_URL", getenv("HD_TEST_DATABASE_URL"), 1);
	setenv("HD_DATABASE_ADMIN_URL", getenv("HD_TEST_DATABASE_ADMIN_URL"), 1);
	setenv("HD_REDIS_URL", getenv("HD_TEST_REDIS_URL"), 1);
	setenv("HD_JWT_SECRET", JWT_SECRET, 1);
	setenv("HD_LOGIN_FAIL_LIMIT", "3", 1);
	setenv("HD_LOGIN_FAIL_WINDOW_S", "120", 1);
	setenv("HD_AUTH_SQL_DIR", sql_dir(), 1);
	setenv("HD_PLATFORM_ADMIN_EMAIL", T.platform_email, 1);
	setenv("HD_PLATFORM_ADMIN_PASSWORD", PASSWORD, 1);
	setenv("HD_DEMO_ADMIN_EMAIL", T.acme_email, 1);
	setenv("HD_DEMO_ADMIN_PASSWORD", PASSWORD, 1);
	setenv("HD_AUTH_URL", T.url, 1);
	setenv("HD_WORKERS", "2", 1);
	/* nothing listens there: an invitation cannot be mailed (test_invitations) */
	setenv("HD_NOTIFICATION_URL", "tcp://127.0.0.1:1", 1);
}

/* ---- RPC ------------------------------------------------------------ */

static void resp_free(resp *r)
{
	daemon_reply_free(r);
}

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Sends op as who (NULL: anonymous) with body, an optional "id" path
 * parameter, query and one optional header ("name", "value"). */
static resp call(const char *op, const actor *who, const char *body, const char *id,
    const char *query, const char *hname, const char *hvalue)
{
	hd_envelope e;
	resp r;

	memset(&e, 0, sizeof e);
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof e.op, "%s", op);
	snprintf(e.request_id, sizeof e.request_id, "it-%s", op);
	e.deadline_ms = (int64_t)time(NULL) * 1000 + 10000;
	if (who != NULL) {
		snprintf(e.tenant_id, sizeof e.tenant_id, "%s", who->tenant_id);
		snprintf(e.user_id, sizeof e.user_id, "%s", who->user_id);
		snprintf(e.role, sizeof e.role, "%s", who->role);
		snprintf(e.token_id, sizeof e.token_id, "%s", who->jti);
		e.token_exp = who->exp;
	}
	if (id != NULL)
		assert_int_equal(hd_envelope_add_param(&e, "id", id), HD_OK);
	if (hname != NULL)
		assert_int_equal(hd_envelope_add_header(&e, hname, hvalue), HD_OK);
	if (query != NULL)
		snprintf(e.query, sizeof e.query, "%s", query);
	e.body = body;
	e.body_len = body != NULL ? strlen(body) : 0;
	assert_int_equal(daemon_child_call(T.client, &e, 10000, &r), HD_OK);
	return r;
}

/* Fills who from a 200 login/refresh reply. */
static void actor_from(actor *who, const resp *r)
{
	hd_jwt_claims c;
	const char *why = NULL;
	const char *access = jstr(r->json, "access_token");
	const char *refresh = jstr(r->json, "refresh_token");

	assert_non_null(access);
	assert_non_null(refresh);
	assert_int_equal(
	    hd_jwt_verify(&T.keys, access, strlen(access), time(NULL), &c, &why), HD_OK);
	snprintf(who->tenant_id, sizeof who->tenant_id, "%s", c.tid);
	snprintf(who->user_id, sizeof who->user_id, "%s", c.sub);
	snprintf(who->role, sizeof who->role, "%s", c.role);
	snprintf(who->jti, sizeof who->jti, "%s", c.jti);
	who->exp = c.exp;
	snprintf(who->access, sizeof who->access, "%s", access);
	snprintf(who->refresh, sizeof who->refresh, "%s", refresh);
}

static resp login_raw(const char *tenant, const char *email, const char *password, const char *totp)
{
	char body[512];

	if (totp != NULL)
		snprintf(body, sizeof body,
		    "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\",\"totp\":\"%s\"}",
		    tenant, email, password, totp);
	else
		snprintf(body, sizeof body,
		    "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}", tenant, email,
		    password);
	return call("auth.login", NULL, body, NULL, NULL, NULL, NULL);
}

static void login_as(actor *who, const char *tenant, const char *email)
{
	resp r = login_raw(tenant, email, PASSWORD, NULL);
	if (r.status != 200)
		fprintf(stderr, "login %s/%s: %d %s\n", tenant, email, r.status, r.body);
	assert_int_equal(r.status, 200);
	actor_from(who, &r);
	resp_free(&r);
}

/* Creates a tenant "<prefix>-<run>" with admin "admin@<prefix>.test" and logs in. */
static void tenant_new(const char *prefix, actor *admin, char slug[64])
{
	char body[512], email[128];

	snprintf(slug, 64, "%s-%s", prefix, T.run);
	snprintf(email, sizeof email, "admin@%s.test", prefix);
	snprintf(body, sizeof body,
	    "{\"name\":\"%s\",\"slug\":\"%s\",\"admin_email\":\"%s\",\"admin_password\":\"%s\"}",
	    prefix, slug, email, PASSWORD);
	resp r = call("tenants.create", &T.platform, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 201);
	assert_string_equal(jstr(r.json, "slug"), slug);
	resp_free(&r);
	login_as(admin, slug, email);
}

/* Creates a user with role in admin's tenant; returns its id in id_out. */
static void user_new(const actor *admin, const char *email, const char *role, char id_out[37])
{
	char body[512];

	snprintf(body, sizeof body,
	    "{\"email\":\"%s\",\"name\":\"User %s\",\"role\":\"%s\",\"password\":\"%s\"}", email,
	    role, role, PASSWORD);
	resp r = call("users.create", admin, body, NULL, NULL, NULL, NULL);
	if (r.status != 201)
		fprintf(stderr, "users.create: %d %s\n", r.status, r.body);
	assert_int_equal(r.status, 201);
	snprintf(id_out, 37, "%s", jstr(r.json, "id"));
	resp_free(&r);
}

static bool has_field_error(const resp *r, const char *field)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r->json, "errors"))
	{
		const char *f = jstr(e, "field");
		if (f != NULL && strcmp(f, field) == 0)
			return true;
	}
	return false;
}

static char *redis_get(const char *key)
{
	const char *argv[] = { "GET", key };
	char *out = NULL;

	assert_int_equal(hd_redis_command_sync(getenv("HD_TEST_REDIS_URL"), 2, argv, &out), HD_OK);
	return out;
}

/* Unix milliseconds: the unit of the gateway's not-before marks. */
static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void totp_code(const char *secret_b32, time_t when, char code[7])
{
	char *raw = NULL;
	size_t len = 0;

	assert_int_equal(oath_base32_decode(secret_b32, strlen(secret_b32), &raw, &len), OATH_OK);
	assert_int_equal(oath_totp_generate(raw, len, when, 30, 0, 6, code), OATH_OK);
	free(raw);
}

/* ---- tests ---------------------------------------------------------- */

static void test_login_ok(void **state)
{
	resp r = login_raw("acme", T.acme_email, PASSWORD, NULL);

	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "token_type"), "Bearer");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "expires_in")));
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(r.json, "user");
	assert_string_equal(jstr(user, "email"), T.acme_email);
	assert_string_equal(jstr(user, "role"), "admin");
	assert_null(cJSON_GetObjectItemCaseSensitive(user, "password_hash"));
	assert_non_null(strchr(jstr(r.json, "refresh_token"), '.'));
	resp_free(&r);
}

static void test_login_failures_look_alike(void **state)
{
	resp wrong = login_raw("acme", T.acme_email, "not the password", NULL);
	resp unknown = login_raw("acme", "nobody-here@acme.test", "not the password", NULL);
	resp no_tenant = login_raw("no-such-tenant", T.acme_email, PASSWORD, NULL);

	assert_int_equal(wrong.status, 401);
	assert_int_equal(unknown.status, 401);
	assert_int_equal(no_tenant.status, 401);
	cJSON_DeleteItemFromObject(wrong.json, "request_id");
	cJSON_DeleteItemFromObject(unknown.json, "request_id");
	cJSON_DeleteItemFromObject(no_tenant.json, "request_id");
	assert_true(cJSON_Compare(wrong.json, unknown.json, 1));
	assert_true(cJSON_Compare(wrong.json, no_tenant.json, 1));
	assert_string_equal(jstr(wrong.json, "detail"), "invalid credentials");
	resp_free(&wrong);
	resp_free(&unknown);
	resp_free(&no_tenant);
	/* a successful login resets the counter these failures started */
	login_as(&T.acme, "acme", T.acme_email);
}

static void test_login_fail_limit(void **state)
{
	char email[96], id[37];

	snprintf(email, sizeof email, "limited-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	for (int i = 0; i < FAIL_LIMIT; i++) {
		resp r = login_raw("acme", email, "wrong password", NULL);
		assert_int_equal(r.status, 401);
		resp_free(&r);
	}
	resp r = login_raw("acme", email, PASSWORD, NULL);
	assert_int_equal(r.status, 429);
	assert_non_null(daemon_reply_header(&r, "Retry-After"));
	assert_true(atoi(daemon_reply_header(&r, "Retry-After")) > 0);
	resp_free(&r);
	r = login_raw("acme", email, PASSWORD, NULL);
	assert_int_equal(r.status, 429);
	resp_free(&r);
}

static void test_refresh_rotation_and_reuse(void **state)
{
	actor a, b;
	char body[256];

	login_as(&a, "acme", T.acme_email);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
	resp r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	actor_from(&b, &r);
	resp_free(&r);
	assert_string_not_equal(a.refresh, b.refresh);
	assert_string_equal(a.user_id, b.user_id);

	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL); /* reuse of a rotated token */
	assert_int_equal(r.status, 401);
	resp_free(&r);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", b.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL); /* its family is revoked */
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = call("auth.refresh", NULL, "{\"refresh_token\":\"garbage\"}", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
}

static void test_logout(void **state)
{
	actor a;
	char body[256], key[160];

	login_as(&a, "acme", T.acme_email);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
	resp r = call("auth.logout", &a, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);
	snprintf(key, sizeof key, "hd:{%s}:deny:%s", a.tenant_id, a.jti);
	char *v = redis_get(key);
	assert_non_null(v);
	assert_string_equal(v, "1");
	free(v);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
}

static void test_me_and_tenant(void **state)
{
	resp r = call("auth.me", &T.acme, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "email"), T.acme_email);
	assert_string_equal(jstr(r.json, "tenant_id"), T.acme.tenant_id);
	assert_non_null(strchr(jstr(r.json, "created_at"), 'Z'));
	resp_free(&r);
	r = call("tenants.current", &T.acme, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "slug"), "acme");
	assert_string_equal(jstr(r.json, "name"), "Acme Inc.");
	resp_free(&r);
	r = call("auth.me", NULL, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
}

static void test_mfa(void **state)
{
	char email[96], id[37], secret[64], code[7], body[64];
	actor u;

	snprintf(email, sizeof email, "mfa-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&u, "acme", email);
	resp r = call("auth.mfa_enroll", &u, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	snprintf(secret, sizeof secret, "%s", jstr(r.json, "secret"));
	assert_int_equal(strlen(secret), 32);
	assert_non_null(strstr(jstr(r.json, "otpauth_url"), "otpauth://totp/"));
	assert_non_null(strstr(jstr(r.json, "otpauth_url"), "&algorithm=SHA1&digits=6&period=30"));
	resp_free(&r);

	r = call("auth.mfa_confirm", &u, "{\"code\":\"000000x\"}", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "code"));
	resp_free(&r);
	totp_code(secret, time(NULL) - 300, code); /* far outside the window */
	snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
	r = call("auth.mfa_confirm", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "code"));
	resp_free(&r);
	totp_code(secret, time(NULL), code);
	snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
	r = call("auth.mfa_confirm", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);

	r = login_raw("acme", email, PASSWORD, NULL); /* now a code is needed */
	assert_int_equal(r.status, 401);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "mfa_required")));
	resp_free(&r);
	r = login_raw("acme", email, PASSWORD, code); /* the step used by confirm */
	assert_int_equal(r.status, 401);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "mfa_required")));
	resp_free(&r);
	totp_code(secret, time(NULL) + 30, code); /* the next step is inside the window */
	r = login_raw("acme", email, PASSWORD, code);
	assert_int_equal(r.status, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r.json, "user"), "mfa_enabled")));
	resp_free(&r);
	r = login_raw("acme", email, PASSWORD, code); /* replayed */
	assert_int_equal(r.status, 401);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "mfa_required")));
	resp_free(&r);
	r = login_raw("acme", email, "wrong password", NULL); /* no hint without the password */
	assert_int_equal(r.status, 401);
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "mfa_required"));
	resp_free(&r);
}

static void test_tenants_create(void **state)
{
	actor admin;
	char slug[64], body[512];

	tenant_new("tnew", &admin, slug);
	assert_string_equal(admin.role, "admin");
	snprintf(body, sizeof body,
	    "{\"name\":\"Again\",\"slug\":\"%s\",\"admin_email\":\"x@y.test\","
	    "\"admin_password\":\"%s\"}",
	    slug, PASSWORD);
	resp r = call("tenants.create", &T.platform, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 409);
	resp_free(&r);
	r = call("tenants.create", &T.acme, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = call("tenants.create", &T.platform,
	    "{\"name\":\"\",\"slug\":\"Bad Slug\",\"admin_email\":\"nope\","
	    "\"admin_password\":\"short\",\"color\":\"red\"}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "color"));
	resp_free(&r);
	r = call("tenants.create", &T.platform,
	    "{\"name\":\"\",\"slug\":\"Bad Slug\",\"admin_email\":\"nope\","
	    "\"admin_password\":\"short\"}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "name"));
	assert_true(has_field_error(&r, "slug"));
	assert_true(has_field_error(&r, "admin_email"));
	assert_true(has_field_error(&r, "admin_password"));
	resp_free(&r);
}

/* Runs sql as the owner role with app.tenant_id set (RLS is forced on the
 * owner too); returns the rows it touched or the first value it read. */
static long long owner_exec(const char *tenant, const char *sql, const char *param)
{
	PGconn *c = PQconnectdb(getenv("HD_TEST_DATABASE_ADMIN_URL"));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexecParams(c, "SELECT set_config('app.tenant_id', $1, false)", 1, NULL,
	    (const char *const[]) { tenant }, NULL, NULL, 0));
	PGresult *res
	    = PQexecParams(c, sql, 1, NULL, (const char *const[]) { param }, NULL, NULL, 0);
	assert_true(
	    PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
	long long n = PQntuples(res) > 0 ? atoll(PQgetvalue(res, 0, 0)) : atoll(PQcmdTuples(res));
	PQclear(res);
	PQfinish(c);
	return n;
}

/* tenants.create under Idempotency-Key with a body named name/slug; frees
 * the reply unless out is given. */
static int tenant_idem_call(const char *key, const char *name, const char *slug, resp *out)
{
	char body[512];

	snprintf(body, sizeof body,
	    "{\"name\":\"%s\",\"slug\":\"%s\",\"admin_email\":\"a@%s.test\","
	    "\"admin_password\":\"%s\"}",
	    name, slug, slug, PASSWORD);
	resp r = call("tenants.create", &T.platform, body, NULL, NULL, "idempotency-key", key);
	int status = r.status;
	if (status == 422)
		assert_true(has_field_error(&r, "Idempotency-Key"));
	if (out != NULL)
		*out = r;
	else
		resp_free(&r);
	return status;
}

static void test_tenants_idempotency(void **state)
{
	static const char count_sql[] = "SELECT count(*) FROM auth.tenants WHERE name = $1";
	char key[64], key2[64], name[64], slug[64], slug2[64], long_key[300], body[256];
	resp first, again;

	snprintf(key, sizeof key, "tenant-key-%s", T.run);
	snprintf(name, sizeof name, "Idem %s", T.run);
	snprintf(slug, sizeof slug, "idem-%s", T.run);
	snprintf(slug2, sizeof slug2, "idem2-%s", T.run);
	assert_int_equal(tenant_idem_call(key, name, slug, &first), 201);
	assert_int_equal(tenant_idem_call(key, name, slug, &again), 201);
	assert_string_equal(again.body, first.body);
	assert_string_equal(jstr(again.json, "id"), jstr(first.json, "id"));
	assert_int_equal(owner_exec(T.platform.tenant_id, count_sql, name), 1);
	/* the key is the platform tenant's: RLS shows it there only */
	assert_int_equal(owner_exec(T.platform.tenant_id,
	                     "SELECT count(*) FROM auth.idempotency_keys WHERE key = $1"
	                     " AND op = 'tenants.create'",
	                     key),
	    1);
	assert_int_equal(owner_exec(jstr(first.json, "id"),
	                     "SELECT count(*) FROM auth.idempotency_keys WHERE key = $1", key),
	    0);
	assert_int_equal(tenant_idem_call(key, "Other", slug2, NULL), 422);

	/* a key is the route's own: a key first used on users.create creates a
	 * tenant, and users.create under the tenant's key creates a user */
	snprintf(key2, sizeof key2, "user-key-%s", T.run);
	snprintf(body, sizeof body,
	    "{\"email\":\"idem-%s@platform.test\",\"name\":\"I\",\"role\":\"agent\","
	    "\"password\":\"" PASSWORD "\"}",
	    T.run);
	resp r = call("users.create", &T.platform, body, NULL, NULL, "idempotency-key", key2);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	snprintf(slug2, sizeof slug2, "idemu-%s", T.run);
	assert_int_equal(tenant_idem_call(key2, "Other route", slug2, NULL), 201);
	snprintf(body, sizeof body,
	    "{\"email\":\"idem2-%s@platform.test\",\"name\":\"I\",\"role\":\"agent\","
	    "\"password\":\"" PASSWORD "\"}",
	    T.run);
	r = call("users.create", &T.platform, body, NULL, NULL, "idempotency-key", key);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	snprintf(slug2, sizeof slug2, "idem2-%s", T.run);

	/* malformed keys */
	memset(long_key, 'k', 256);
	long_key[256] = '\0';
	assert_int_equal(tenant_idem_call("", name, slug2, NULL), 422);
	assert_int_equal(tenant_idem_call(long_key, name, slug2, NULL), 422);
	long_key[255] = '\0'; /* 255 is the limit, not over it */
	assert_int_equal(tenant_idem_call(long_key, "Long", slug2, NULL), 201);

	/* over 24 h old: the key is forgotten and the request runs again */
	assert_int_equal(owner_exec(T.platform.tenant_id,
	                     "UPDATE auth.idempotency_keys SET created_at = now() - "
	                     "interval '25 hours' WHERE key = $1 AND op = 'tenants.create'",
	                     key),
	    1);
	assert_int_equal(tenant_idem_call(key, name, slug, NULL), 409); /* slug taken */
	snprintf(slug2, sizeof slug2, "idem3-%s", T.run);
	assert_int_equal(tenant_idem_call(key, name, slug2, NULL), 201);
	assert_int_equal(owner_exec(T.platform.tenant_id, count_sql, name), 2);
	resp_free(&first);
	resp_free(&again);
}

/* A second request with a key whose first request has not committed yet:
 * its lookup misses, its insert waits for the first and then fails: 409. */
static void test_tenants_idempotency_in_progress(void **state)
{
	char key[64], slug[64];
	PGconn *c = PQconnectdb(getenv("HD_TEST_DATABASE_URL"));

	snprintf(key, sizeof key, "busy-key-%s", T.run);
	snprintf(slug, sizeof slug, "busy-%s", T.run);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "BEGIN"));
	PGresult *res = PQexecParams(c,
	    "INSERT INTO auth.idempotency_keys (tenant_id, user_id, op, key, request_hash, status,"
	    " body) SELECT $1::uuid, $3::uuid, 'tenants.create', $2, 'x', 201, '{}'"
	    " FROM set_config('app.tenant_id', $1, true)",
	    3, NULL, (const char *const[]) { T.platform.tenant_id, key, T.platform.user_id }, NULL,
	    NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	/* commits a second from now, while hd-auth waits on the key */
	assert_int_equal(PQsendQuery(c, "SELECT pg_sleep(1); COMMIT"), 1);
	assert_int_equal(tenant_idem_call(key, "Busy", slug, NULL), 409);
	while ((res = PQgetResult(c)) != NULL)
		PQclear(res);
	PQfinish(c);
}

/* users.create under one Idempotency-Key by two admins of one tenant: each
 * gets their own result, and each retry replays the caller's own reply. */
static void test_users_idempotency_per_caller(void **state)
{
	static const char one[] = "{\"email\":\"one@idc.test\",\"name\":\"One\",\"role\":\"agent\","
	                          "\"password\":\"" PASSWORD "\"}";
	static const char two[] = "{\"email\":\"two@idc.test\",\"name\":\"Two\",\"role\":\"agent\","
	                          "\"password\":\"" PASSWORD "\"}";
	actor admin, admin2;
	char slug[64], id2[37], key[64];

	tenant_new("idc", &admin, slug);
	user_new(&admin, "second@idc.test", "admin", id2);
	login_as(&admin2, slug, "second@idc.test");
	snprintf(key, sizeof key, "shared-key-%s", T.run);
	resp a = call("users.create", &admin, one, NULL, NULL, "idempotency-key", key);
	assert_int_equal(a.status, 201);
	resp b = call("users.create", &admin2, two, NULL, NULL, "idempotency-key", key);
	assert_int_equal(b.status, 201);
	assert_string_equal(jstr(b.json, "email"), "two@idc.test");
	assert_string_not_equal(jstr(b.json, "id"), jstr(a.json, "id"));
	resp a2 = call("users.create", &admin, one, NULL, NULL, "idempotency-key", key);
	assert_int_equal(a2.status, 201);
	assert_string_equal(a2.body, a.body);
	assert_string_equal(
	    daemon_reply_header(&a2, "Location"), daemon_reply_header(&a, "Location"));
	assert_string_equal(daemon_reply_header(&a2, "ETag"), daemon_reply_header(&a, "ETag"));
	resp b2 = call("users.create", &admin2, two, NULL, NULL, "idempotency-key", key);
	assert_int_equal(b2.status, 201);
	assert_string_equal(b2.body, b.body);
	/* the same key with another body is the caller's own 422 */
	resp b3 = call("users.create", &admin2, one, NULL, NULL, "idempotency-key", key);
	assert_int_equal(b3.status, 422);
	assert_true(has_field_error(&b3, "Idempotency-Key"));
	resp_free(&a);
	resp_free(&b);
	resp_free(&a2);
	resp_free(&b2);
	resp_free(&b3);
}

static void test_users_crud(void **state)
{
	actor admin, agent;
	char slug[64], id[37], agent_id[37], body[512], key[160];

	tenant_new("crud", &admin, slug);
	user_new(&admin, "Carol@Crud.Test", "customer", id);
	user_new(&admin, "agent@crud.test", "agent", agent_id);
	resp r = call("users.create", &admin,
	    "{\"email\":\"CAROL@crud.test\",\"name\":\"C\",\"role\":\"agent\","
	    "\"password\":\"" PASSWORD "\"}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 409);
	resp_free(&r);

	r = call("users.get", &admin, NULL, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "email"), "carol@crud.test");
	assert_string_equal(daemon_reply_header(&r, "ETag"), "\"1\"");
	resp_free(&r);

	/* list: filters and keyset pages */
	r = call("users.list", &admin, NULL, NULL, "role=customer", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	resp_free(&r);
	r = call("users.list", &admin, NULL, NULL, "q=CAROL", NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	resp_free(&r);
	r = call("users.list", &admin, NULL, NULL, "q=%25", NULL, NULL); /* a literal % */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 0);
	resp_free(&r);
	int seen = 0;
	char query[700] = "limit=1";
	for (int page = 0; page < 5; page++) {
		r = call("users.list", &admin, NULL, NULL, query, NULL, NULL);
		assert_int_equal(r.status, 200);
		seen += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"));
		const char *next = jstr(r.json, "next_cursor");
		if (next == NULL) {
			resp_free(&r);
			break;
		}
		snprintf(query, sizeof query, "limit=1&cursor=%s", next);
		resp_free(&r);
	}
	assert_int_equal(seen, 3);
	r = call("users.list", &admin, NULL, NULL, "limit=0&cursor=zz&role=boss", NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "limit"));
	assert_true(has_field_error(&r, "cursor"));
	assert_true(has_field_error(&r, "role"));
	resp_free(&r);
	r = call("users.list", &admin, NULL, NULL, "colour=red&limit=2", NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "colour"));
	resp_free(&r);

	/* update with If-Match */
	r = call("users.update", &admin, "{\"name\":\"Carol K\"}", id, NULL, "if-match", "\"1\"");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "name"), "Carol K");
	assert_string_equal(daemon_reply_header(&r, "ETag"), "\"2\"");
	resp_free(&r);
	r = call("users.update", &admin, "{\"name\":\"Stale\"}", id, NULL, "if-match", "\"1\"");
	assert_int_equal(r.status, 412);
	resp_free(&r);

	/* self may change the name, not the role; others are invisible */
	login_as(&agent, slug, "agent@crud.test");
	r = call("users.update", &agent, "{\"role\":\"admin\"}", agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = call("users.update", &agent, "{\"name\":\"Agent A\"}", agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	r = call("users.delete", &agent, NULL, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	/* an agent sees every user but changes none but themselves: 403, not 404 */
	r = call("users.update", &agent, "{\"name\":\"Mine\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	/* a customer sees only themselves: others are 404, themselves 403 */
	actor cust;
	login_as(&cust, slug, "carol@crud.test");
	r = call("users.update", &cust, "{\"name\":\"Mine\"}", agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = call("users.delete", &cust, NULL, agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = call("users.delete", &cust, NULL, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);

	/* deactivation: tokens stop working, the gateway's key is set */
	r = call("users.delete", &admin, NULL, agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);
	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", admin.tenant_id, agent_id);
	char *v = redis_get(key);
	assert_non_null(v);
	free(v);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", agent.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = login_raw(slug, "agent@crud.test", PASSWORD, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = call("users.update", &admin, "{\"active\":true}", agent_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	resp_free(&r);
	/* reactivated: tokens from before stay refused (a not-before millisecond, no longer "1") */
	v = redis_get(key);
	assert_non_null(v);
	assert_true(atoll(v) > 1 && atoll(v) <= now_ms());
	free(v);
	login_as(&agent, slug, "agent@crud.test");
}

static void test_cross_tenant_is_404(void **state)
{
	actor a, b;
	char slug_a[64], slug_b[64], id_b[37];

	tenant_new("xa", &a, slug_a);
	tenant_new("xb", &b, slug_b);
	user_new(&b, "someone@xb.test", "agent", id_b);
	resp r = call("users.get", &a, NULL, id_b, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = call("users.update", &a, "{\"name\":\"Mine\"}", id_b, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = call("users.delete", &a, NULL, id_b, NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	r = call("users.get", &a, NULL, "not-a-uuid", NULL, NULL, NULL);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	/* B's refresh token presented as if it were A's tenant */
	char forged[200], body[256];
	snprintf(forged, sizeof forged, "%s%s", a.tenant_id, strchr(b.refresh, '.'));
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", forged);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
}

static void test_validation(void **state)
{
	resp r = call("users.create", &T.acme,
	    "{\"email\":\"not-an-email\",\"name\":\"\",\"role\":\"boss\","
	    "\"password\":\"short\",\"extra\":1}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "extra"));
	resp_free(&r);
	r = call("users.create", &T.acme,
	    "{\"email\":\"not-an-email\",\"name\":\"\",\"role\":\"boss\",\"password\":\"short\"}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "email"));
	assert_true(has_field_error(&r, "name"));
	assert_true(has_field_error(&r, "role"));
	assert_true(has_field_error(&r, "password"));
	resp_free(&r);
	r = call("users.create", &T.acme,
	    "{\"email\":\"p@acme.test\",\"name\":\"P\",\"role\":\"platform_admin\","
	    "\"password\":\"" PASSWORD "\"}",
	    NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "role"));
	resp_free(&r);
	r = call("auth.login", NULL, "{\"tenant\":\"acme\",", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	r = call("users.create", &T.acme, "[1,2]", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	resp_free(&r);
	r = call("auth.login", NULL, "{\"tenant\":\"acme\",\"email\":\"a@b.c\"}", NULL, NULL, NULL,
	    NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "password"));
	resp_free(&r);
	r = call("auth.jwks", NULL, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "keys")));
	resp_free(&r);
}

static long long pq_count(PGconn *c, const char *sql, const char *param)
{
	const char *params[] = { param };
	PGresult *res = PQexecParams(c, sql, param != NULL ? 1 : 0, NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	long long n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

static void test_rls(void **state)
{
	actor a, b;
	char slug_a[64], slug_b[64];

	tenant_new("rla", &a, slug_a);
	tenant_new("rlb", &b, slug_b);
	PGconn *c = PQconnectdb(getenv("HD_TEST_DATABASE_URL"));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	/* no tenant set: nothing at all is visible */
	assert_int_equal(pq_count(c, "SELECT count(*) FROM auth.users", NULL), 0);
	assert_int_equal(pq_count(c, "SELECT count(*) FROM auth.refresh_tokens", NULL), 0);
	assert_int_equal(pq_count(c, "SELECT count(*) FROM auth.tenants", NULL), 0);
	/* tenant A set: only A's rows, even without a WHERE */
	PQclear(PQexecParams(c, "SELECT set_config('app.tenant_id', $1, false)", 1, NULL,
	    (const char *const[]) { a.tenant_id }, NULL, NULL, 0));
	assert_true(pq_count(c, "SELECT count(*) FROM auth.users", NULL) >= 1);
	assert_int_equal(
	    pq_count(c, "SELECT count(*) FROM auth.users WHERE tenant_id <> $1::uuid", a.tenant_id),
	    0);
	assert_int_equal(
	    pq_count(c, "SELECT count(*) FROM auth.users WHERE tenant_id = $1::uuid", b.tenant_id),
	    0);
	assert_int_equal(pq_count(c, "SELECT count(*) FROM auth.tenants", NULL), 1);
	/* and it cannot write into B */
	PGresult *res
	    = PQexecParams(c, "UPDATE auth.users SET name = 'x' WHERE tenant_id = $1::uuid", 1,
	        NULL, (const char *const[]) { b.tenant_id }, NULL, NULL, 0);
	assert_string_equal(PQcmdTuples(res), "0");
	PQclear(res);
	PQfinish(c);
}

/* ---- fixture -------------------------------------------------------- */

/* ---- sessions a stolen access token cannot turn into an account ------- */

/* n calls of op with one body at once, each on its own thread. */
typedef struct par_call {
	pthread_t th;
	const char *op, *body;
	const char *id; /* the path's {id}, NULL when none */
	const actor *who;
	resp r;
	hd_err err;
} par_call;

static void *par_main(void *arg)
{
	par_call *p = arg;
	hd_envelope e;

	memset(&e, 0, sizeof e);
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof e.op, "%s", p->op);
	snprintf(e.request_id, sizeof e.request_id, "it-par-%s", p->op);
	e.deadline_ms = (int64_t)time(NULL) * 1000 + 20000;
	if (p->who != NULL) {
		snprintf(e.tenant_id, sizeof e.tenant_id, "%s", p->who->tenant_id);
		snprintf(e.user_id, sizeof e.user_id, "%s", p->who->user_id);
		snprintf(e.role, sizeof e.role, "%s", p->who->role);
		snprintf(e.token_id, sizeof e.token_id, "%s", p->who->jti);
		e.token_exp = p->who->exp;
	}
	if (p->id != NULL && hd_envelope_add_param(&e, "id", p->id) != HD_OK) {
		p->err = HD_ERR_INVALID;
		return NULL;
	}
	e.body = p->body;
	e.body_len = strlen(p->body);
	p->err = daemon_child_call(T.client, &e, 20000, &p->r);
	return NULL;
}

static void par_run(par_call *calls, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&calls[i].th, NULL, par_main, &calls[i]), 0);
	for (int i = 0; i < n; i++) {
		pthread_join(calls[i].th, NULL);
		assert_int_equal(calls[i].err, HD_OK);
	}
}

#define PAR_LOGINS 12

/* PAR_LOGINS identical logins at once: at most the limit get 401, the rest
 * 429. */
static void logins_at_once_limited(const char *body)
{
	par_call calls[PAR_LOGINS];
	int n401 = 0, n429 = 0;

	memset(calls, 0, sizeof calls);
	for (int i = 0; i < PAR_LOGINS; i++)
		calls[i] = (par_call) { .op = "auth.login", .body = body };
	par_run(calls, PAR_LOGINS);
	for (int i = 0; i < PAR_LOGINS; i++) {
		n401 += calls[i].r.status == 401;
		n429 += calls[i].r.status == 429;
		resp_free(&calls[i].r);
	}
	assert_true(n401 <= FAIL_LIMIT);
	assert_int_equal(n401 + n429, PAR_LOGINS);
}

/* Each attempt is counted before it is checked: however many wrong
 * passwords (or TOTP codes) arrive at once, at most the limit get 401. */
static void test_login_fail_limit_concurrent(void **state)
{
	char email[96], id[37], body[512], secret[64], code[7];
	actor u;

	snprintf(email, sizeof email, "par-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	snprintf(body, sizeof body,
	    "{\"tenant\":\"acme\",\"email\":\"%s\",\"password\":\"wrong password\"}", email);
	logins_at_once_limited(body);

	/* TOTP guesses with the right password count the same way */
	snprintf(email, sizeof email, "par-mfa-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&u, "acme", email);
	resp r = call("auth.mfa_enroll", &u, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	snprintf(secret, sizeof secret, "%s", jstr(r.json, "secret"));
	resp_free(&r);
	totp_code(secret, time(NULL), code);
	snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
	r = call("auth.mfa_confirm", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);
	totp_code(secret, time(NULL) - 600, code); /* never valid now */
	snprintf(body, sizeof body,
	    "{\"tenant\":\"acme\",\"email\":\"%s\",\"password\":\"%s\",\"totp\":\"%s\"}", email,
	    PASSWORD, code);
	logins_at_once_limited(body);
}

/* A stolen session guessing its user's current_password: the guesses count
 * like failed logins (reserved before each check, so also at once), then
 * 429; the right password still works after the window, and clears it. */
static void test_current_password_guesses_limited(void **state)
{
	char email[96], id[37], body[512], key[160];
	par_call calls[PAR_LOGINS];
	int n403 = 0, n429 = 0;
	actor u;

	snprintf(email, sizeof email, "pwguess-%s@acme.test", T.run);
	user_new(&T.acme, email, "customer", id);
	login_as(&u, "acme", email);
	static const char guess[]
	    = "{\"password\":\"stolen session pw\",\"current_password\":\"a guess\"}";
	memset(calls, 0, sizeof calls);
	for (int i = 0; i < PAR_LOGINS; i++)
		calls[i] = (par_call) { .op = "users.update", .body = guess, .id = id, .who = &u };
	par_run(calls, PAR_LOGINS);
	for (int i = 0; i < PAR_LOGINS; i++) {
		n403 += calls[i].r.status == 403;
		n429 += calls[i].r.status == 429;
		resp_free(&calls[i].r);
	}
	assert_true(n403 <= FAIL_LIMIT);
	assert_int_equal(n403 + n429, PAR_LOGINS);
	/* at the limit even the right one waits: the window is what bounds guesses */
	snprintf(body, sizeof body,
	    "{\"password\":\"new password 123\",\"current_password\":\"%s\"}", PASSWORD);
	resp r = call("users.update", &u, body, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 429);
	assert_non_null(daemon_reply_header(&r, "Retry-After"));
	resp_free(&r);
	/* the window ends (the key expires): the right password changes it and clears */
	snprintf(key, sizeof key, "hd:{%s}:pwfail:%s", u.tenant_id, id);
	const char *del[] = { "DEL", key };
	assert_int_equal(hd_redis_command_sync(getenv("HD_TEST_REDIS_URL"), 2, del, NULL), HD_OK);
	r = call("users.update", &u, guess, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = call("users.update", &u, body, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	char *left = redis_get(key);
	assert_null(left);
	free(left);
}

/* The right password without a code is not a failure. */
static void test_login_success_clears(void **state)
{
	char email[96], id[37];

	snprintf(email, sizeof email, "clears-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < FAIL_LIMIT - 1; i++) {
			resp r = login_raw("acme", email, "wrong password", NULL);
			assert_int_equal(r.status, 401);
			resp_free(&r);
		}
		resp r = login_raw("acme", email, PASSWORD, NULL);
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
}

/* Refreshes with one token at once (two, then more): exactly one wins; the
 * reuse revokes the family, the winner's new token included. */
#define PAR_REFRESH 4
static void test_refresh_concurrent(void **state)
{
	char body[256];

	for (int round = 0; round < 8; round++) {
		actor a, w;
		par_call calls[PAR_REFRESH];
		int n = round % 2 == 0 ? 2 : PAR_REFRESH, ok = 0, winner = 0;

		login_as(&a, "acme", T.acme_email);
		snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
		memset(calls, 0, sizeof calls);
		for (int i = 0; i < n; i++)
			calls[i] = (par_call) { .op = "auth.refresh", .body = body };
		par_run(calls, n);
		for (int i = 0; i < n; i++) {
			if (calls[i].r.status == 200) {
				ok++;
				winner = i;
			} else {
				assert_int_equal(calls[i].r.status, 401);
			}
		}
		assert_int_equal(ok, 1);
		actor_from(&w, &calls[winner].r);
		for (int i = 0; i < n; i++)
			resp_free(&calls[i].r);
		snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", w.refresh);
		resp r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
		assert_int_equal(r.status, 401);
		resp_free(&r);
	}
}

/* Rotation keeps the family's end: it is HD_REFRESH_TOKEN_TTL_S after login. */
static void test_refresh_family_lifetime(void **state)
{
	char email[96], id[37], body[256];
	actor a;

	snprintf(email, sizeof email, "family-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&a, "acme", email);
	for (int i = 0; i < 2; i++) {
		usleep(20000);
		snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
		resp r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
		assert_int_equal(r.status, 200);
		actor_from(&a, &r);
		resp_free(&r);
	}
	assert_int_equal(
	    owner_exec(a.tenant_id,
	        "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1::uuid", id),
	    3);
	assert_int_equal(owner_exec(a.tenant_id,
	                     "SELECT count(DISTINCT expires_at) FROM auth.refresh_tokens "
	                     "WHERE user_id = $1::uuid",
	                     id),
	    1);
	/* an ended family cannot be refreshed */
	owner_exec(a.tenant_id,
	    "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' "
	    "WHERE user_id = $1::uuid",
	    id);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
	resp r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
}

/* Logout deny-lists the access token whatever the refresh token is. */
static void test_logout_always_denies(void **state)
{
	const char *bodies[] = { "{}", "{\"refresh_token\":\"nonsense\"}",
		"{\"refresh_token\":\"00000000-0000-7000-8000-000000000000.AAAA\"}", NULL };

	for (int i = 0; bodies[i] != NULL; i++) {
		actor a;
		char key[160];
		login_as(&a, "acme", T.acme_email);
		resp r = call("auth.logout", &a, bodies[i], NULL, NULL, NULL, NULL);
		assert_int_equal(r.status, 204);
		resp_free(&r);
		snprintf(key, sizeof key, "hd:{%s}:deny:%s", a.tenant_id, a.jti);
		char *v = redis_get(key);
		assert_non_null(v);
		free(v);
	}
}

/* The user's key in Redis, as the gateway reads it: "1" or a not-before second. */
static long long user_mark(const char *tenant, const char *id)
{
	char key[160];

	snprintf(key, sizeof key, "hd:{%s}:user_off:%s", tenant, id);
	char *v = redis_get(key);
	long long n = v != NULL ? atoll(v) : 0;
	free(v);
	return n;
}

static void test_password_change(void **state)
{
	char email[96], id[37], body[512];
	actor u, admin;

	snprintf(email, sizeof email, "pwchange-%s@acme.test", T.run);
	user_new(&T.acme, email, "customer", id);
	login_as(&u, "acme", email);
	resp r
	    = call("users.update", &u, "{\"password\":\"new password 123\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "current_password"));
	resp_free(&r);
	r = call("users.update", &u,
	    "{\"password\":\"new password 123\",\"current_password\":\"not it at all\"}", id, NULL,
	    NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = login_raw("acme", email, PASSWORD, NULL); /* still the old password */
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(user_mark(u.tenant_id, id), 0);

	int64_t before = now_ms();
	snprintf(body, sizeof body,
	    "{\"password\":\"new password 123\",\"current_password\":\"%s\"}", PASSWORD);
	r = call("users.update", &u, body, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	/* every refresh token ends, and access tokens issued before now are refused */
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	long long nb = user_mark(u.tenant_id, id);
	assert_true(nb >= before && nb <= now_ms());
	r = login_raw("acme", email, "new password 123", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	/* an admin setting someone's password needs no current_password; it ends their sessions */
	login_as(&admin, "acme", T.acme_email);
	snprintf(email, sizeof email, "pwreset-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&u, "acme", email);
	r = call(
	    "users.update", &admin, "{\"password\":\"reset password 1\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	assert_true(user_mark(u.tenant_id, id) >= before);
}

static void test_role_change_and_reactivation(void **state)
{
	char email[96], id[37], body[256];
	actor u;

	snprintf(email, sizeof email, "rolechange-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&u, "acme", email);
	/* the same role again is no change: the session lives */
	resp r = call("users.update", &T.acme, "{\"role\":\"agent\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(user_mark(u.tenant_id, id), 0);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	actor_from(&u, &r);
	resp_free(&r);

	int64_t before = now_ms();
	r = call("users.update", &T.acme, "{\"role\":\"technician\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_true(user_mark(u.tenant_id, id) >= before);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);

	/* deactivated: "1"; reactivated: a not-before second, so tokens from before stay refused */
	r = call("users.delete", &T.acme, NULL, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);
	assert_int_equal(user_mark(u.tenant_id, id), 1);
	r = call("users.update", &T.acme, "{\"name\":\"Still Off\"}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_int_equal(user_mark(u.tenant_id, id), 1);
	r = call("users.update", &T.acme, "{\"active\":true}", id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_true(user_mark(u.tenant_id, id) >= before);
}

static void test_mfa_reenroll(void **state)
{
	char email[96], id[37], secret[64], code[7], body[64];
	actor u;

	snprintf(email, sizeof email, "reenroll-%s@acme.test", T.run);
	user_new(&T.acme, email, "agent", id);
	login_as(&u, "acme", email);
	resp r = call("auth.mfa_enroll", &u, "{}", NULL, NULL, NULL, NULL); /* MFA off: no code */
	assert_int_equal(r.status, 200);
	snprintf(secret, sizeof secret, "%s", jstr(r.json, "secret"));
	resp_free(&r);
	totp_code(secret, time(NULL), code);
	snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
	r = call("auth.mfa_confirm", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 204);
	resp_free(&r);

	r = call("auth.mfa_enroll", &u, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	totp_code(secret, time(NULL) - 600, code);
	snprintf(body, sizeof body, "{\"totp\":\"%s\"}", code);
	r = call("auth.mfa_enroll", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = call("auth.mfa_enroll", &u, "{\"totp\":\"12x\"}", NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "totp"));
	resp_free(&r);
	totp_code(secret, time(NULL) + 30, code); /* the next step: unused */
	snprintf(body, sizeof body, "{\"totp\":\"%s\"}", code);
	r = call("auth.mfa_enroll", &u, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(jstr(r.json, "secret"));
	resp_free(&r);
	r = call("auth.mfa_enroll", &u, body, NULL, NULL, NULL, NULL); /* that code is used up */
	assert_int_equal(r.status, 403);
	resp_free(&r);
}

/* Passwords are whole: no byte past a limit is dropped. */
static void test_password_bytes(void **state)
{
	char email[96], id[37], body[4096], pw[1100], other[1100];
	const char *euro = "\xe2\x82\xac"; /* 3 bytes, 1 character */

	pw[0] = other[0] = '\0';
	for (int i = 0; i < 100; i++) /* 100 characters, 300 bytes */
		strcat(pw, euro);
	for (int i = 0; i < 99; i++)
		strcat(other, euro);
	strcat(other, "x"); /* the same first 297 bytes */
	snprintf(email, sizeof email, "bytes-%s@acme.test", T.run);
	snprintf(body, sizeof body,
	    "{\"email\":\"%s\",\"name\":\"Bytes\",\"role\":\"agent\",\"password\":\"%s\"}", email,
	    pw);
	resp r = call("users.create", &T.acme, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 201);
	snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
	resp_free(&r);
	r = login_raw("acme", email, other, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	r = login_raw("acme", email, pw, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	/* 256 four-byte characters (1024 bytes) are accepted; 257 characters are 422 */
	pw[0] = '\0';
	for (int i = 0; i < 256; i++)
		strcat(pw, "\xf0\x9f\x98\x80");
	snprintf(body, sizeof body, "{\"password\":\"%s\"}", pw);
	r = call("users.update", &T.acme, body, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	strcat(pw, "a");
	snprintf(body, sizeof body, "{\"password\":\"%s\"}", pw);
	r = call("users.update", &T.acme, body, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 422);
	assert_true(has_field_error(&r, "password"));
	resp_free(&r);
}

/* ---- invitations (docs/architecture.md, Invitations) ---------------- */

/* Stores an invitation of user in tenant whose token is token (hashed as
 * hd-auth does), expiring in expires ("7 days", "-1 second"). */
static void invitation_put(
    const char *tenant, const char *user, const char *token, const char *expires)
{
	unsigned char digest[32];
	char hash[65], id[37];
	assert_int_equal(EVP_Digest(token, strlen(token), digest, NULL, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		snprintf(hash + 2 * i, 3, "%02x", digest[i]);
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	PGconn *c = PQconnectdb(getenv("HD_TEST_DATABASE_ADMIN_URL"));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	const char *p[] = { tenant, id, user, hash, expires };
	PGresult *res = PQexecParams(c,
	    "WITH t AS (SELECT set_config('app.tenant_id', $1, true)) "
	    "INSERT INTO auth.invitations (tenant_id, id, user_id, created_by, token_hash, "
	    "expires_at) SELECT $1::uuid, $2::uuid, $3::uuid, $3::uuid, $4, "
	    "now() + $5::interval FROM t",
	    5, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fprintf(stderr, "invitation_put: %s\n", PQerrorMessage(c));
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(c);
}

/* invitations.accept of token with password: the status (a 422 names
 * password when it is too short, else token). */
static int accept_status(const char *token, const char *password)
{
	char body[512];
	snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
	resp r = call("invitations.accept", NULL, body, NULL, NULL, NULL, NULL);
	int status = r.status;
	if (status == 422)
		assert_true(has_field_error(&r, strlen(password) < 8 ? "password" : "token"));
	resp_free(&r);
	return status;
}

static void test_invitations(void **state)
{
	char email[96], id[37], agent_email[96], agent_id[37], token[160];
	actor u, agent;
	(void)state;

	snprintf(email, sizeof email, "invited-%s@acme.test", T.run);
	user_new(&T.acme, email, "customer", id);
	snprintf(agent_email, sizeof agent_email, "inviter-%s@acme.test", T.run);
	user_new(&T.acme, agent_email, "agent", agent_id);
	login_as(&agent, "acme", agent_email);
	/* who may invite whom; a mail that cannot be queued is 503 */
	resp r = call("invitations.create", &agent, NULL, T.acme.user_id, NULL, NULL, NULL);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	r = call("invitations.create", &agent, NULL, id, NULL, NULL, NULL);
	assert_int_equal(r.status, 503);
	assert_non_null(jstr(r.json, "detail"));
	resp_free(&r);

	/* a pending invitation sets the password once and ends older sessions */
	login_as(&u, "acme", email);
	int64_t before = now_ms();
	snprintf(token, sizeof token, "%s.it-%s-Zm9vYmFyYmF6cXV4", T.acme.tenant_id, T.run);
	invitation_put(T.acme.tenant_id, id, token, "7 days");
	assert_int_equal(accept_status(token, "short"), 422);
	assert_int_equal(accept_status(token, "chosen by the user 1"), 204);
	assert_int_equal(accept_status(token, "chosen by the user 2"), 422); /* used */
	r = login_raw("acme", email, "chosen by the user 1", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	char body[256];
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
	r = call("auth.refresh", NULL, body, NULL, NULL, NULL, NULL);
	assert_int_equal(r.status, 401);
	resp_free(&r);
	assert_true(user_mark(T.acme.tenant_id, id) >= before);

	/* expired, another tenant's prefix, malformed: 422, nothing changes */
	snprintf(token, sizeof token, "%s.it-%s-ZXhwaXJlZA", T.acme.tenant_id, T.run);
	invitation_put(T.acme.tenant_id, id, token, "-1 second");
	assert_int_equal(accept_status(token, "expired but tried"), 422);
	memcpy(token, T.platform.tenant_id, 36);
	assert_int_equal(accept_status(token, "expired but tried"), 422);
	assert_int_equal(accept_status("no-tenant-prefix", "expired but tried"), 422);
	r = login_raw("acme", email, "chosen by the user 1", NULL);
	assert_int_equal(r.status, 200);
	resp_free(&r);
}

static int wait_ready(void)
{
	for (int i = 0; i < 200; i++) {
		hd_envelope e;
		resp r;
		memset(&e, 0, sizeof e);
		e.version = HD_ENVELOPE_VERSION;
		snprintf(e.op, sizeof e.op, "auth.jwks");
		e.deadline_ms = (int64_t)time(NULL) * 1000 + 2000;
		if (daemon_child_call(T.client, &e, 250, &r) == HD_OK) {
			int st = r.status;
			resp_free(&r);
			if (st == 200)
				return 0;
		}
		if (!daemon_child_alive(&T.child))
			return -1; /* it died */
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* True when the log of c holds needle. */
static bool log_has(const daemon_child *c, const char *needle)
{
	FILE *f = fopen(c->log, "r");
	char line[1024];
	bool found = false;
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* HD_ENV=production: --bootstrap makes no demo admin (the control without
 * it does), and hd-auth refuses to start with an HS256 secret under 32 bytes. */
static void test_production_guards(void **state)
{
	static const char count_sql[] = "SELECT count(*) FROM auth.users WHERE lower(email) = $1";
	char email[96];
	daemon_child c = T.child; /* the same binary, its own log */

	snprintf(email, sizeof email, "demo-%s@acme.test", T.run);
	setenv("HD_DEMO_ADMIN_EMAIL", email, 1);
	setenv("HD_ENV", "production", 1);
	c.pid = 0;
	snprintf(c.log, sizeof c.log, "/tmp/hd-auth-it-%d-prod.log", (int)getpid());
	unlink(c.log);
	assert_int_equal(daemon_child_run(&c, "--bootstrap"), 0);
	assert_int_equal(owner_exec(T.acme.tenant_id, count_sql, email), 0);
	unsetenv("HD_ENV");
	assert_int_equal(daemon_child_run(&c, "--bootstrap"), 0);
	assert_int_equal(owner_exec(T.acme.tenant_id, count_sql, email), 1);
	setenv("HD_DEMO_ADMIN_EMAIL", T.acme_email, 1);

	setenv("HD_ENV", "production", 1);
	setenv("HD_JWT_SECRET", "0123456789abcdef0123456789abcde", 1); /* 31 bytes */
	assert_int_not_equal(daemon_child_run(&c, NULL), 0);
	assert_true(log_has(&c, "HD_JWT_SECRET is shorter than 32 bytes"));
	unsetenv("HD_ENV");
	setenv("HD_JWT_SECRET", JWT_SECRET, 1);
	daemon_child_log_remove(&c);
}

static int setup(void **state)
{
	const char *need[]
	    = { "HD_TEST_DATABASE_URL", "HD_TEST_DATABASE_ADMIN_URL", "HD_TEST_REDIS_URL" };
	char uuid[HD_UUID_STRLEN + 1];

	for (size_t i = 0; i < 3; i++)
		if (getenv(need[i]) == NULL) {
			fprintf(stderr, "%s is not set\n", need[i]);
			return -1;
		}
	hd_uuid_v7(uuid);
	snprintf(T.run, sizeof T.run, "%.4s%.4s", uuid + 9, uuid + 24);
	snprintf(T.platform_email, sizeof T.platform_email, "root-%s@platform.test", T.run);
	snprintf(T.acme_email, sizeof T.acme_email, "admin-%s@acme.test", T.run);
	snprintf(T.url, sizeof T.url, "tcp://127.0.0.1:%d", daemon_child_free_port());
	daemon_child_init(&T.child, "hd-auth");
	child_env();
	setenv("HD_AUTH_ADMIN_PORT", "0", 1);
	char admin_port[16];
	snprintf(admin_port, sizeof admin_port, "%d", daemon_child_free_port());
	setenv("HD_AUTH_ADMIN_PORT", admin_port, 1);
	if (oath_init() != OATH_OK || hd_jwt_keys_load(&T.keys, false) != HD_OK)
		return -1;
	if (daemon_child_run(&T.child, "--migrate") != 0
	    || daemon_child_run(&T.child, "--bootstrap") != 0) {
		fprintf(stderr, "migrate/bootstrap failed; see %s\n", T.child.log);
		return -1;
	}
	if (daemon_child_spawn(&T.child, NULL) != 0 || hd_rpc_client_open(&T.client, T.url) != HD_OK
	    || wait_ready() != 0) {
		fprintf(stderr, "hd-auth did not become ready; see %s\n", T.child.log);
		return -1;
	}
	login_as(&T.platform, "platform", T.platform_email);
	login_as(&T.acme, "acme", T.acme_email);
	return 0;
}

static int teardown(void **state)
{
	int rc = 0;

	hd_rpc_client_close(T.client);
	int status = daemon_child_stop(&T.child, SIGTERM);
	if (status != -1 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr, "hd-auth did not exit cleanly (status %d)\n", status);
		rc = -1;
	}
	if (!daemon_child_log_clean(&T.child))
		rc = -1;
	if (rc == 0)
		daemon_child_log_remove(&T.child);
	hd_jwt_keys_fini(&T.keys);
	oath_done();
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_ok),
		cmocka_unit_test(test_login_failures_look_alike),
		cmocka_unit_test(test_login_fail_limit),
		cmocka_unit_test(test_refresh_rotation_and_reuse),
		cmocka_unit_test(test_logout),
		cmocka_unit_test(test_me_and_tenant),
		cmocka_unit_test(test_mfa),
		cmocka_unit_test(test_tenants_create),
		cmocka_unit_test(test_tenants_idempotency),
		cmocka_unit_test(test_tenants_idempotency_in_progress),
		cmocka_unit_test(test_users_idempotency_per_caller),
		cmocka_unit_test(test_users_crud),
		cmocka_unit_test(test_cross_tenant_is_404),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_rls),
		cmocka_unit_test(test_login_fail_limit_concurrent),
		cmocka_unit_test(test_current_password_guesses_limited),
		cmocka_unit_test(test_login_success_clears),
		cmocka_unit_test(test_refresh_concurrent),
		cmocka_unit_test(test_refresh_family_lifetime),
		cmocka_unit_test(test_logout_always_denies),
		cmocka_unit_test(test_password_change),
		cmocka_unit_test(test_role_change_and_reactivation),
		cmocka_unit_test(test_mfa_reenroll),
		cmocka_unit_test(test_password_bytes),
		cmocka_unit_test(test_invitations),
		cmocka_unit_test(test_production_guards),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
