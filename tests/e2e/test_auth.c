/* End-to-end tests of auth and users over HTTP through the gateway, as a
 * client sees them. Environment: HD_TEST_BASE_URL, HD_TEST_DEMO_TENANT
 * (acme), HD_TEST_DEMO_EMAIL, HD_TEST_DEMO_PASSWORD, HD_TEST_PLATFORM_EMAIL,
 * HD_TEST_PLATFORM_PASSWORD. Each run
 * creates its own tenant, so the stack may be reused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "httpc.h"
#include "hd/uuid.h"

#define PASSWORD "e2e correct horse"

static struct {
	char run[16];
	char slug[64];
	char admin_email[96];
	char *platform; /* access tokens */
	char *admin;
	char admin_id[37];
} T;

static const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_field_error(const httpc_resp *r, const char *field)
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

static long req(
    httpc_resp *r, const char *method, const char *path, const char *token, const char *body)
{
	assert_int_equal(httpc_call(r, method, path, token, body, NULL, NULL), 0);
	return r->status;
}

static long login_body(
    httpc_resp *r, const char *tenant, const char *email, const char *password, const char *totp)
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
	return req(r, "POST", "/v1/auth/login", NULL, body);
}

/* Creates a user in the test tenant; returns its id in id. */
static void user_new(const char *email, const char *role, char id[37])
{
	char body[512];
	httpc_resp r;

	snprintf(body, sizeof body,
	    "{\"email\":\"%s\",\"name\":\"E2E %s\",\"role\":\"%s\",\"password\":\"%s\"}", email,
	    role, role, PASSWORD);
	assert_int_equal(req(&r, "POST", "/v1/users", T.admin, body), 201);
	snprintf(id, 37, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
}

static void test_login_and_me(void **state)
{
	httpc_resp r;
	char *refresh = NULL;
	char *token = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), &refresh);

	assert_non_null(token);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 200);
	assert_string_equal(jstr(r.json, "email"), httpc_env("HD_TEST_DEMO_EMAIL"));
	assert_string_equal(jstr(r.json, "role"), "admin");
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/tenants/current", token, NULL), 200);
	assert_string_equal(jstr(r.json, "slug"), httpc_env("HD_TEST_DEMO_TENANT"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", NULL, NULL), 401);
	httpc_resp_free(&r);
	free(token);
	free(refresh);
}

static void test_login_failures_look_alike(void **state)
{
	httpc_resp a, b;

	assert_int_equal(login_body(&a, T.slug, T.admin_email, "wrong password", NULL), 401);
	assert_int_equal(login_body(&b, T.slug, "nobody@e2e.test", "wrong password", NULL), 401);
	assert_string_equal(httpc_header(&a, "Content-Type"), "application/problem+json");
	cJSON_DeleteItemFromObject(a.json, "request_id");
	cJSON_DeleteItemFromObject(b.json, "request_id");
	assert_true(cJSON_Compare(a.json, b.json, 1));
	httpc_resp_free(&a);
	httpc_resp_free(&b);
	assert_int_equal(req(&a, "POST", "/v1/auth/login", NULL, "{\"tenant\":"), 400);
	httpc_resp_free(&a);
}

static void test_refresh_and_logout(void **state)
{
	httpc_resp r;
	char body[256], *refresh = NULL, *refresh2 = NULL;
	char *token = httpc_login(T.slug, T.admin_email, PASSWORD, &refresh);

	assert_non_null(token);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 200);
	refresh2 = strdup(jstr(r.json, "refresh_token"));
	char *token2 = strdup(jstr(r.json, "access_token"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401); /* reused */
	httpc_resp_free(&r);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh2);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401); /* family revoked */
	httpc_resp_free(&r);

	/* logout denylists the access token used */
	free(refresh);
	free(token);
	token = httpc_login(T.slug, T.admin_email, PASSWORD, &refresh);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 200);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/auth/logout", token, body), 204);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 401);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401);
	httpc_resp_free(&r);
	free(token);
	free(token2);
	free(refresh);
	free(refresh2);
}

static void test_tenants(void **state)
{
	httpc_resp r;
	char body[512];

	snprintf(body, sizeof body,
	    "{\"name\":\"Dup\",\"slug\":\"%s\",\"admin_email\":\"x@dup.test\","
	    "\"admin_password\":\"%s\"}",
	    T.slug, PASSWORD);
	assert_int_equal(req(&r, "POST", "/v1/tenants", T.platform, body), 409);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/tenants", T.admin, body), 403);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/tenants", T.platform,
	                     "{\"name\":\"X\",\"slug\":\"NO\",\"admin_email\":\"bad\","
	                     "\"admin_password\":\"" PASSWORD "\"}"),
	    422);
	assert_true(has_field_error(&r, "slug"));
	assert_true(has_field_error(&r, "admin_email"));
	httpc_resp_free(&r);
}

static void test_users(void **state)
{
	httpc_resp r;
	char id[37], agent_id[37], path[128], body[256], *agent_refresh = NULL;
	const char *if_match[] = { "If-Match: \"1\"", NULL };

	user_new("dana@e2e.test", "customer", id);
	user_new("agent@e2e.test", "agent", agent_id);
	assert_int_equal(req(&r, "POST", "/v1/users", T.admin,
	                     "{\"email\":\"DANA@e2e.test\",\"name\":\"D\",\"role\":\"agent\","
	                     "\"password\":\"" PASSWORD "\"}"),
	    409);
	httpc_resp_free(&r);
	assert_int_equal(
	    req(&r, "POST", "/v1/users", T.admin,
	        "{\"email\":\"x\",\"name\":\"\",\"role\":\"boss\",\"password\":\"s\"}"),
	    422);
	assert_true(has_field_error(&r, "email"));
	assert_true(has_field_error(&r, "role"));
	assert_true(has_field_error(&r, "password"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/users?role=customer&q=dana", T.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/users?role=customer&sort=name", T.admin, NULL), 422);
	assert_true(has_field_error(&r, "sort"));
	httpc_resp_free(&r);

	snprintf(path, sizeof path, "/v1/users/%s", id);
	assert_int_equal(
	    httpc_call(&r, "PATCH", path, T.admin, "{\"name\":\"Dana K\"}", NULL, if_match), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(httpc_header(&r, "ETag"), "\"2\"");
	httpc_resp_free(&r);
	assert_int_equal(
	    httpc_call(&r, "PATCH", path, T.admin, "{\"name\":\"Stale\"}", NULL, if_match), 0);
	assert_int_equal(r.status, 412);
	httpc_resp_free(&r);

	char *agent = httpc_login(T.slug, "agent@e2e.test", PASSWORD, &agent_refresh);
	assert_non_null(agent);
	snprintf(path, sizeof path, "/v1/users/%s", agent_id);
	assert_int_equal(req(&r, "PATCH", path, agent, "{\"role\":\"admin\"}"), 403);
	httpc_resp_free(&r);
	/* an agent sees Dana but may not change or deactivate her: 403, not 404 */
	snprintf(path, sizeof path, "/v1/users/%s", id);
	assert_int_equal(req(&r, "GET", path, agent, NULL), 200);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "PATCH", path, agent, "{\"name\":\"Mine\"}"), 403);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "DELETE", path, agent, NULL), 403);
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/users/%s", agent_id);
	/* deactivation: the agent's access token stops working at once */
	assert_int_equal(req(&r, "DELETE", path, T.admin, NULL), 204);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", agent, NULL), 401);
	httpc_resp_free(&r);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", agent_refresh);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401);
	httpc_resp_free(&r);
	free(agent);
	free(agent_refresh);

	/* another tenant's user is 404 */
	char *demo = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
	snprintf(path, sizeof path, "/v1/users/%s", id);
	assert_int_equal(req(&r, "GET", path, demo, NULL), 404);
	httpc_resp_free(&r);
	free(demo);
}

static void totp_code(const char *secret_b32, time_t when, char code[7])
{
	char *raw = NULL;
	size_t len = 0;

	assert_int_equal(oath_base32_decode(secret_b32, strlen(secret_b32), &raw, &len), OATH_OK);
	assert_int_equal(oath_totp_generate(raw, len, when, 30, 0, 6, code), OATH_OK);
	free(raw);
}

static void test_mfa(void **state)
{
	httpc_resp r;
	char id[37], secret[64], code[7], body[64];

	user_new("mfa@e2e.test", "technician", id);
	char *token = httpc_login(T.slug, "mfa@e2e.test", PASSWORD, NULL);
	assert_non_null(token);
	assert_int_equal(req(&r, "POST", "/v1/auth/mfa/enroll", token, NULL), 200);
	snprintf(secret, sizeof secret, "%s", jstr(r.json, "secret"));
	httpc_resp_free(&r);
	totp_code(secret, time(NULL), code);
	snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
	assert_int_equal(req(&r, "POST", "/v1/auth/mfa/confirm", token, body), 204);
	httpc_resp_free(&r);
	assert_int_equal(login_body(&r, T.slug, "mfa@e2e.test", PASSWORD, NULL), 401);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "mfa_required")));
	httpc_resp_free(&r);
	totp_code(secret, time(NULL) + 30, code);
	assert_int_equal(login_body(&r, T.slug, "mfa@e2e.test", PASSWORD, code), 200);
	httpc_resp_free(&r);
	assert_int_equal(login_body(&r, T.slug, "mfa@e2e.test", PASSWORD, code), 401); /* replay */
	httpc_resp_free(&r);
	free(token);
}

/* ---- sessions a stolen access token cannot turn into an account ------- */

#define PAR_LOGINS 40

typedef struct par_login {
	pthread_t th;
	const char *body;
	long status;
} par_login;

static void *par_login_main(void *arg)
{
	par_login *p = arg;
	httpc_resp r;

	p->status = httpc_call(&r, "POST", "/v1/auth/login", NULL, p->body, NULL, NULL) == 0
	    ? r.status
	    : -1;
	httpc_resp_free(&r);
	return NULL;
}

/* 40 wrong passwords at once: at most the limit (default 10) get 401, the rest 429. */
static void test_login_fail_limit_concurrent(void **state)
{
	static par_login calls[PAR_LOGINS];
	char id[37], body[256];
	int n401 = 0, n429 = 0;
	const char *lim = getenv("HD_LOGIN_FAIL_LIMIT");
	int limit = lim != NULL && *lim != '\0' ? atoi(lim) : 10;

	user_new("guessed@e2e.test", "customer", id);
	snprintf(body, sizeof body,
	    "{\"tenant\":\"%s\",\"email\":\"guessed@e2e.test\",\"password\":\"not the password\"}",
	    T.slug);
	for (int i = 0; i < PAR_LOGINS; i++) {
		calls[i].body = body;
		assert_int_equal(pthread_create(&calls[i].th, NULL, par_login_main, &calls[i]), 0);
	}
	for (int i = 0; i < PAR_LOGINS; i++) {
		pthread_join(calls[i].th, NULL);
		n401 += calls[i].status == 401;
		n429 += calls[i].status == 429;
	}
	assert_true(n401 <= limit);
	assert_int_equal(n401 + n429, PAR_LOGINS);
	httpc_resp r; /* the right password is refused too until the window passes */
	assert_int_equal(login_body(&r, T.slug, "guessed@e2e.test", PASSWORD, NULL), 429);
	httpc_resp_free(&r);
}

typedef struct par_refresh {
	pthread_t th;
	char body[256];
	long status;
	char *refresh;
} par_refresh;

static void *par_refresh_main(void *arg)
{
	par_refresh *p = arg;
	httpc_resp r;

	p->status = httpc_call(&r, "POST", "/v1/auth/refresh", NULL, p->body, NULL, NULL) == 0
	    ? r.status
	    : -1;
	if (p->status == 200 && jstr(r.json, "refresh_token") != NULL)
		p->refresh = strdup(jstr(r.json, "refresh_token"));
	httpc_resp_free(&r);
	return NULL;
}

/* Two refreshes with one token: one 200, and the reuse revokes the winner's token too. */
static void test_refresh_concurrent(void **state)
{
	for (int round = 0; round < 3; round++) {
		par_refresh calls[2];
		char *refresh = NULL, body[256];
		int ok = 0;
		const char *won = NULL;
		httpc_resp r;

		free(httpc_login(T.slug, T.admin_email, PASSWORD, &refresh));
		assert_non_null(refresh);
		memset(calls, 0, sizeof calls);
		for (int i = 0; i < 2; i++) {
			snprintf(calls[i].body, sizeof calls[i].body, "{\"refresh_token\":\"%s\"}",
			    refresh);
			assert_int_equal(
			    pthread_create(&calls[i].th, NULL, par_refresh_main, &calls[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(calls[i].th, NULL);
			if (calls[i].status == 200) {
				ok++;
				won = calls[i].refresh;
			} else {
				assert_int_equal(calls[i].status, 401);
			}
		}
		assert_int_equal(ok, 1);
		snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", won);
		assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401);
		httpc_resp_free(&r);
		for (int i = 0; i < 2; i++)
			free(calls[i].refresh);
		free(refresh);
	}
}

/* Logout with no refresh token still ends the access token. */
static void test_logout_without_refresh(void **state)
{
	httpc_resp r;
	char *token = httpc_login(T.slug, T.admin_email, PASSWORD, NULL);

	assert_non_null(token);
	assert_int_equal(req(&r, "POST", "/v1/auth/logout", token, "{}"), 204);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 401);
	httpc_resp_free(&r);
	free(token);
	token = httpc_login(T.slug, T.admin_email, PASSWORD, NULL);
	assert_int_equal(req(&r, "POST", "/v1/auth/logout", token,
	                     "{\"refresh_token\":\"00000000-0000-7000-8000-000000000000.AAAA\"}"),
	    204);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 401);
	httpc_resp_free(&r);
	free(token);
}

/* A password change needs the current one, and ends every session at once:
 * access tokens issued before it get 401 at the gateway. */
static void test_password_change_ends_sessions(void **state)
{
	httpc_resp r;
	char id[37], path[128], body[256], *refresh = NULL;

	user_new("pwchange@e2e.test", "agent", id);
	char *token = httpc_login(T.slug, "pwchange@e2e.test", PASSWORD, &refresh);
	char *other = httpc_login(T.slug, "pwchange@e2e.test", PASSWORD, NULL);
	assert_non_null(token);
	assert_non_null(other);
	snprintf(path, sizeof path, "/v1/users/%s", id);
	assert_int_equal(
	    req(&r, "PATCH", path, token, "{\"password\":\"stolen session pw\"}"), 422);
	assert_true(has_field_error(&r, "current_password"));
	httpc_resp_free(&r);
	assert_int_equal(
	    req(&r, "PATCH", path, token,
	        "{\"password\":\"stolen session pw\",\"current_password\":\"a guess\"}"),
	    403);
	httpc_resp_free(&r);
	/* no pause: a token issued in the same second as the change is refused
	 * too (the gateway reads its issue time to the millisecond from its jti) */
	assert_int_equal(
	    req(&r, "PATCH", path, token,
	        "{\"password\":\"my new password\",\"current_password\":\"" PASSWORD "\"}"),
	    200);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 401);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", other, NULL), 401);
	httpc_resp_free(&r);
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	assert_int_equal(req(&r, "POST", "/v1/auth/refresh", NULL, body), 401);
	httpc_resp_free(&r);
	free(token);
	free(other);
	free(refresh);
	token = httpc_login(T.slug, "pwchange@e2e.test", "my new password", NULL);
	assert_non_null(token);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 200);
	httpc_resp_free(&r);

	/* a role change does the same, at once */
	assert_int_equal(req(&r, "PATCH", path, T.admin, "{\"role\":\"technician\"}"), 200);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 401);
	httpc_resp_free(&r);
	free(token);
	token = httpc_login(T.slug, "pwchange@e2e.test", "my new password", NULL);
	assert_non_null(token);
	assert_int_equal(req(&r, "GET", "/v1/auth/me", token, NULL), 200);
	assert_string_equal(jstr(r.json, "role"), "technician");
	httpc_resp_free(&r);
	free(token);
}

static int setup(void **state)
{
	char uuid[HD_UUID_STRLEN + 1], body[512];
	httpc_resp r;

	if (oath_init() != OATH_OK || hd_uuid_v7(uuid) != HD_OK)
		return -1;
	snprintf(T.run, sizeof T.run, "%.4s%.4s", uuid + 9, uuid + 24);
	snprintf(T.slug, sizeof T.slug, "e2e-%s", T.run);
	snprintf(T.admin_email, sizeof T.admin_email, "admin@%s.test", T.slug);
	T.platform = httpc_login("platform", httpc_env("HD_TEST_PLATFORM_EMAIL"),
	    httpc_env("HD_TEST_PLATFORM_PASSWORD"), NULL);
	if (T.platform == NULL)
		return -1;
	snprintf(body, sizeof body,
	    "{\"name\":\"E2E %s\",\"slug\":\"%s\",\"admin_email\":\"%s\","
	    "\"admin_password\":\"%s\"}",
	    T.run, T.slug, T.admin_email, PASSWORD);
	if (httpc_call(&r, "POST", "/v1/tenants", T.platform, body, NULL, NULL) != 0
	    || r.status != 201) {
		fprintf(stderr, "POST /v1/tenants: %ld %s\n", r.status, r.body);
		httpc_resp_free(&r);
		return -1;
	}
	httpc_resp_free(&r);
	T.admin = httpc_login(T.slug, T.admin_email, PASSWORD, NULL);
	return T.admin != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	free(T.platform);
	free(T.admin);
	oath_done();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_and_me),
		cmocka_unit_test(test_login_failures_look_alike),
		cmocka_unit_test(test_refresh_and_logout),
		cmocka_unit_test(test_login_fail_limit_concurrent),
		cmocka_unit_test(test_refresh_concurrent),
		cmocka_unit_test(test_logout_without_refresh),
		cmocka_unit_test(test_password_change_ends_sessions),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_mfa),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
