/* Access-token key rotation under a running stack (issue 19; docs/operations.md,
 * Key rotation), with HS256 as the stack runs it. The stack's gateway and
 * hd-auth hold key hd-1 (HD_JWT_SECRET). This program plays the rotation:
 * a gateway of its own that verifies hd-1 and also hd-2 from a keys folder
 * (step 1), in front of an hd-auth of its own that already signs with hd-2
 * and keeps hd-1 for verification (step 2). During that overlap a token of
 * the old key (logged in before) and one of the new key are both accepted,
 * the old session's refresh token gets a new-key token (no one is logged
 * out), and a token naming an unknown kid is 401 — as is a new-key token at
 * the stack's gateway, which does not know hd-2 yet (why verifiers go first).
 * Then a gateway with the old key retired (step 3): the old token is 401, the
 * new one 200. Environment: proc_e2e.h's, HD_TEST_BASE_URL,
 * HD_TEST_DEMO_TENANT/EMAIL/PASSWORD and the stack's HD_JWT_SECRET. */
#include <sys/stat.h>
#include "proc_e2e.h"
#include "hd/jwt.h"
#include "hd/query.h"

#define NEW_SECRET "rotated-in-0123456789abcdef0123456789abcdef"

static char g_keys[128]; /* next/hd-2 and prev/hd-1 */
static char g_relay_env[600]; /* beside proc_e2e.h's g_db_env, g_dbadmin_env, g_redis_env */

static void write_key(const char *sub, const char *kid, const char *secret)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", g_keys, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/%s/%s", g_keys, sub, kid);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", secret); /* as a mounted Secret's file may end */
	fclose(f);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(g_keys, sizeof g_keys, "/tmp/hd-e2e-keys-XXXXXX");
	if (mkdtemp(g_keys) == NULL)
		return -1;
	stack_env_init();
	snprintf(g_relay_env, sizeof g_relay_env, "HD_RELAY_DATABASE_URL=%s",
	    httpc_env("HD_RELAY_DATABASE_URL"));
	return 0;
}

static int group_teardown(void **state)
{
	pe_teardown(state);
	char cmd[192];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_keys);
	return system(cmd) == 0 ? 0 : -1;
}

typedef struct proc {
	pid_t pid;
	int port, admin_port;
	char base[64];
} proc;

/* hd-auth on free ports, signing with kid (secret), keys folder sub of g_keys. */
static void auth_start(proc *p, const char *kid, const char *secret, const char *sub)
{
	static char url[64], admin[48], kid_env[64], secret_env[128], dir_env[192];
	p->port = pe_free_port();
	p->admin_port = pe_free_port();
	snprintf(url, sizeof url, "HD_AUTH_URL=tcp://127.0.0.1:%d", p->port);
	snprintf(admin, sizeof admin, "HD_AUTH_ADMIN_PORT=%d", p->admin_port);
	snprintf(kid_env, sizeof kid_env, "HD_JWT_KID=%s", kid);
	snprintf(secret_env, sizeof secret_env, "HD_JWT_SECRET=%s", secret);
	snprintf(dir_env, sizeof dir_env, "HD_JWT_KEYS_DIR=%s/%s", g_keys, sub);
	const char *env[] = { url, admin, kid_env, secret_env, dir_env, g_db_env, g_dbadmin_env,
		g_redis_env, g_relay_env, NULL };
	p->pid = pe_spawn("auth", NULL, "keys-auth", env);
	char ready[96];
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/readyz", p->admin_port);
	assert_true(pe_wait_ready(ready, p->pid, 20000));
}

/* A gateway whose auth calls go to auth, verifying kid (secret) and the keys
 * of folder sub of g_keys (NULL: none). */
static void keys_gateway_start(
    proc *g, const proc *auth, const char *kid, const char *secret, const char *sub)
{
	static char port[48], admin[48], auth_url[64], kid_env[64], secret_env[128], dir_env[192];
	g->port = pe_free_port();
	g->admin_port = pe_free_port();
	snprintf(port, sizeof port, "HD_HTTP_PORT=%d", g->port);
	snprintf(admin, sizeof admin, "HD_GATEWAY_ADMIN_PORT=%d", g->admin_port);
	snprintf(auth_url, sizeof auth_url, "HD_AUTH_URL=tcp://127.0.0.1:%d", auth->port);
	snprintf(kid_env, sizeof kid_env, "HD_JWT_KID=%s", kid);
	snprintf(secret_env, sizeof secret_env, "HD_JWT_SECRET=%s", secret);
	snprintf(dir_env, sizeof dir_env, "HD_JWT_KEYS_DIR=%s%s%s", sub != NULL ? g_keys : "",
	    sub != NULL ? "/" : "", sub != NULL ? sub : "");
	snprintf(g->base, sizeof g->base, "http://127.0.0.1:%d", g->port);
	const char *env[]
	    = { port, admin, auth_url, kid_env, secret_env, dir_env, g_redis_env, NULL };
	g->pid = pe_spawn("gateway", NULL, "keys-gateway", env);
	char ready[96];
	snprintf(ready, sizeof ready, "%s/readyz", g->base);
	assert_true(pe_wait_ready(ready, g->pid, 20000));
}

/* The status of GET /v1/auth/me at base with token. */
static long me_status(const char *base, const char *token)
{
	char url[128];
	httpc_resp r;
	snprintf(url, sizeof url, "%s/v1/auth/me", base);
	assert_int_equal(httpc_call(&r, "GET", url, token, NULL, NULL, NULL), 0);
	long status = r.status;
	httpc_resp_free(&r);
	return status;
}

/* POSTs body to base+path and returns the access_token of a 200 (malloc'ed). */
static char *token_from(const char *base, const char *path, const char *body)
{
	char url[128];
	httpc_resp r;
	snprintf(url, sizeof url, "%s%s", base, path);
	assert_int_equal(httpc_call(&r, "POST", url, NULL, body, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r.json, "access_token");
	assert_true(cJSON_IsString(t));
	char *token = strdup(t->valuestring);
	httpc_resp_free(&r);
	return token;
}

/* True when the token's header names kid. */
static bool token_kid_is(const char *token, const char *kid)
{
	unsigned char header[512];
	size_t len = 0;
	assert_int_equal(
	    hd_base64url_decode(token, strcspn(token, "."), header, sizeof header - 1, &len),
	    HD_OK);
	header[len] = '\0';
	char want[96];
	snprintf(want, sizeof want, "\"kid\":\"%s\"", kid);
	return strstr((const char *)header, want) != NULL;
}

/* A token with the claims of token (verified with kid/secret) signed by
 * secret under another kid. */
static char *resign(const char *token, const char *kid, const char *secret, const char *new_kid)
{
	hd_jwt_keys keys = { .alg = HD_JWT_HS256,
		.sign_key = (unsigned char *)secret,
		.sign_key_len = strlen(secret),
		.verify_key = (unsigned char *)secret,
		.verify_key_len = strlen(secret),
		.issuer = "helpdesk",
		.audience = "helpdesk",
		.leeway_s = 5,
		.access_ttl_s = 900 };
	snprintf(keys.kid, sizeof keys.kid, "%s", kid);
	hd_jwt_claims claims;
	assert_int_equal(
	    hd_jwt_verify(&keys, token, strlen(token), (int64_t)time(NULL), &claims, NULL), HD_OK);
	snprintf(keys.kid, sizeof keys.kid, "%s", new_kid);
	claims.iat = claims.exp = 0;
	claims.jti[0] = '\0';
	char *out = NULL;
	assert_int_equal(hd_jwt_sign(&keys, &claims, (int64_t)time(NULL), &out), HD_OK);
	return out;
}

static void test_rotation_keeps_everyone_signed_in(void **state)
{
	(void)state;
	const char *old_secret = httpc_env("HD_JWT_SECRET");
	const char *stack = httpc_env("HD_TEST_BASE_URL");
	char *refresh = NULL;
	char *t_old = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), &refresh);
	assert_non_null(t_old);
	assert_non_null(refresh);
	assert_true(token_kid_is(t_old, "hd-1"));

	write_key("next", "hd-2", NEW_SECRET);
	write_key("prev", "hd-1", old_secret);
	proc auth, gw;
	auth_start(&auth, "hd-2", NEW_SECRET, "prev"); /* step 2: signs with hd-2 */
	keys_gateway_start(&gw, &auth, "hd-1", old_secret, "next"); /* step 1: knows hd-2 */

	/* the overlap: old and new tokens both accepted */
	assert_int_equal(me_status(gw.base, t_old), 200);
	char login[512];
	snprintf(login, sizeof login, "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}",
	    httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"));
	char *t_new = token_from(gw.base, "/v1/auth/login", login);
	assert_true(token_kid_is(t_new, "hd-2"));
	assert_int_equal(me_status(gw.base, t_new), 200);
	/* the session from before the switch goes on: its refresh gets an hd-2 token */
	char body[512];
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh);
	char *t_refreshed = token_from(gw.base, "/v1/auth/refresh", body);
	assert_true(token_kid_is(t_refreshed, "hd-2"));
	assert_int_equal(me_status(gw.base, t_refreshed), 200);
	/* an unknown kid, even signed with a known secret, is refused */
	char *t_unknown = resign(t_new, "hd-2", NEW_SECRET, "hd-9");
	assert_int_equal(me_status(gw.base, t_unknown), 401);
	/* a verifier that was not told about hd-2 refuses its tokens */
	assert_int_equal(me_status(stack, t_new), 401);
	assert_int_equal(pe_stop(gw.pid, SIGTERM), 0);

	/* step 3: hd-1 retired */
	keys_gateway_start(&gw, &auth, "hd-2", NEW_SECRET, NULL);
	assert_int_equal(me_status(gw.base, t_old), 401);
	assert_int_equal(me_status(gw.base, t_new), 200);
	assert_int_equal(me_status(gw.base, t_refreshed), 200);
	assert_int_equal(pe_stop(gw.pid, SIGTERM), 0);
	assert_int_equal(pe_stop(auth.pid, SIGTERM), 0);
	free(t_old);
	free(t_new);
	free(t_refreshed);
	free(t_unknown);
	free(refresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_keeps_everyone_signed_in),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
