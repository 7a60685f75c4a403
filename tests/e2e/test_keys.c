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

/* The token settings of one daemon: alg; kid; HS256: secret; RS256/ES256:
 * private (auth only) and public key files; dir: keys folder (NULL: none). */
typedef struct keyset {
	const char *alg, *kid, *secret, *priv, *pub, *dir;
} keyset;

/* Appends the environment entries of ks to env (NULL-ended; room for 7),
 * their text in buf. */
static void keyset_env(const keyset *ks, bool sign, char buf[6][300], const char **env)
{
	size_t n = 0;
	snprintf(buf[n], 300, "HD_JWT_ALG=%s", ks->alg != NULL ? ks->alg : "HS256");
	env[n] = buf[n], n++;
	snprintf(buf[n], 300, "HD_JWT_KID=%s", ks->kid);
	env[n] = buf[n], n++;
	snprintf(buf[n], 300, "HD_JWT_KEYS_DIR=%s", ks->dir != NULL ? ks->dir : "");
	env[n] = buf[n], n++;
	if (ks->secret != NULL) {
		snprintf(buf[n], 300, "HD_JWT_SECRET=%s", ks->secret);
		env[n] = buf[n], n++;
	}
	if (ks->pub != NULL) {
		snprintf(buf[n], 300, "HD_JWT_PUBLIC_KEY_FILE=%s", ks->pub);
		env[n] = buf[n], n++;
	}
	if (sign && ks->priv != NULL) {
		snprintf(buf[n], 300, "HD_JWT_PRIVATE_KEY_FILE=%s", ks->priv);
		env[n] = buf[n], n++;
	}
	env[n] = NULL;
}

/* hd-auth on RPC port (0: a free one) and a free admin port, signing with ks. */
static void auth_start(proc *p, int port, const keyset *ks)
{
	static char url[64], admin[48], keybuf[6][300];
	p->port = port != 0 ? port : pe_free_port();
	p->admin_port = pe_free_port();
	snprintf(url, sizeof url, "HD_AUTH_URL=tcp://127.0.0.1:%d", p->port);
	snprintf(admin, sizeof admin, "HD_AUTH_ADMIN_PORT=%d", p->admin_port);
	const char *env[16] = { url, admin, g_db_env, g_dbadmin_env, g_redis_env, g_relay_env };
	keyset_env(ks, true, keybuf, env + 6);
	p->pid = pe_spawn("auth", NULL, "keys-auth", env);
	char ready[96];
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/readyz", p->admin_port);
	assert_true(pe_wait_ready(ready, p->pid, 20000));
}

/* A gateway whose auth calls go to auth's port, verifying with ks (its
 * private key, if any, is not given to the gateway). */
static void keys_gateway_start(proc *g, const proc *auth, const keyset *ks)
{
	static char port[48], admin[48], auth_url[64], keybuf[6][300];
	g->port = pe_free_port();
	g->admin_port = pe_free_port();
	snprintf(port, sizeof port, "HD_HTTP_PORT=%d", g->port);
	snprintf(admin, sizeof admin, "HD_GATEWAY_ADMIN_PORT=%d", g->admin_port);
	snprintf(auth_url, sizeof auth_url, "HD_AUTH_URL=tcp://127.0.0.1:%d", auth->port);
	snprintf(g->base, sizeof g->base, "http://127.0.0.1:%d", g->port);
	const char *env[16] = { port, admin, auth_url, g_redis_env };
	keyset_env(ks, false, keybuf, env + 4);
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

/* POSTs body to base+path and returns the access_token of a 200 (malloc'ed);
 * the refresh_token into *refresh_out (malloc'ed) unless it is NULL. */
static char *token_from(const char *base, const char *path, const char *body, char **refresh_out)
{
	char url[128];
	httpc_resp r;
	snprintf(url, sizeof url, "%s%s", base, path);
	assert_int_equal(httpc_call(&r, "POST", url, NULL, body, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(r.json, "access_token");
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(r.json, "refresh_token");
	assert_true(cJSON_IsString(t) && cJSON_IsString(rt));
	char *token = strdup(t->valuestring);
	if (refresh_out != NULL)
		*refresh_out = strdup(rt->valuestring);
	httpc_resp_free(&r);
	return token;
}

/* Logs the demo admin in at base. */
static char *login_at(const char *base, char **refresh_out)
{
	char login[512];
	snprintf(login, sizeof login, "{\"tenant\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}",
	    httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"));
	return token_from(base, "/v1/auth/login", login, refresh_out);
}

/* Refreshes *refresh at base (*refresh becomes the rotated one). */
static char *refresh_at(const char *base, char **refresh)
{
	char body[512];
	snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", *refresh);
	free(*refresh);
	return token_from(base, "/v1/auth/refresh", body, refresh);
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

/* Keys of alg under kid: sign with sign_key, verify with verify_key. */
static hd_jwt_keys keys_of(hd_jwt_alg alg, const char *kid, const char *sign_key, size_t sign_len,
    const char *verify_key, size_t verify_len)
{
	hd_jwt_keys keys = { .alg = alg,
		.sign_key = (unsigned char *)sign_key,
		.sign_key_len = sign_len,
		.verify_key = (unsigned char *)verify_key,
		.verify_key_len = verify_len,
		.issuer = "helpdesk",
		.audience = "helpdesk",
		.leeway_s = 5,
		.access_ttl_s = 900 };
	snprintf(keys.kid, sizeof keys.kid, "%s", kid);
	return keys;
}

/* A token with the claims of token (verified with from) signed with to. */
static char *resign(const char *token, const hd_jwt_keys *from, const hd_jwt_keys *to)
{
	hd_jwt_claims claims;
	assert_int_equal(
	    hd_jwt_verify(from, token, strlen(token), (int64_t)time(NULL), &claims, NULL), HD_OK);
	claims.iat = claims.exp = 0;
	claims.jti[0] = '\0';
	char *out = NULL;
	assert_int_equal(hd_jwt_sign(to, &claims, (int64_t)time(NULL), &out), HD_OK);
	return out;
}

/* A token with the claims of token (verified with kid/secret) signed by
 * secret under another kid. */
static char *resign_hs(const char *token, const char *kid, const char *secret, const char *new_kid)
{
	size_t n = strlen(secret);
	hd_jwt_keys from = keys_of(HD_JWT_HS256, kid, secret, n, secret, n);
	hd_jwt_keys to = keys_of(HD_JWT_HS256, new_kid, secret, n, secret, n);
	return resign(token, &from, &to);
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
	char next[192], prev[192];
	snprintf(next, sizeof next, "%s/next", g_keys);
	snprintf(prev, sizeof prev, "%s/prev", g_keys);
	const keyset signer = { .kid = "hd-2", .secret = NEW_SECRET, .dir = prev };
	const keyset verifier = { .kid = "hd-1", .secret = old_secret, .dir = next };
	proc auth, gw;
	auth_start(&auth, 0, &signer); /* step 2: signs with hd-2 */
	keys_gateway_start(&gw, &auth, &verifier); /* step 1: knows hd-2 */

	/* the overlap: old and new tokens both accepted */
	assert_int_equal(me_status(gw.base, t_old), 200);
	char *t_new = login_at(gw.base, NULL);
	assert_true(token_kid_is(t_new, "hd-2"));
	assert_int_equal(me_status(gw.base, t_new), 200);
	/* the session from before the switch goes on: its refresh gets an hd-2 token */
	char *t_refreshed = refresh_at(gw.base, &refresh);
	assert_true(token_kid_is(t_refreshed, "hd-2"));
	assert_int_equal(me_status(gw.base, t_refreshed), 200);
	/* an unknown kid, even signed with a known secret, is refused */
	char *t_unknown = resign_hs(t_new, "hd-2", NEW_SECRET, "hd-9");
	assert_int_equal(me_status(gw.base, t_unknown), 401);
	/* a verifier that was not told about hd-2 refuses its tokens */
	assert_int_equal(me_status(stack, t_new), 401);
	assert_int_equal(pe_stop(gw.pid, SIGTERM), 0);

	/* step 3: hd-1 retired */
	const keyset retired = { .kid = "hd-2", .secret = NEW_SECRET };
	keys_gateway_start(&gw, &auth, &retired);
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

/* ---- RS256 / ES256: key files made with openssl ---- */

/* A key pair of alg ("RS256", "ES256") as <dir>/<name>.key and .pub. */
static void make_key_pair(const char *alg, const char *dir, const char *name)
{
	char cmd[768];
	const char *gen = strcmp(alg, "RS256") == 0
	    ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
	    : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
	snprintf(cmd, sizeof cmd,
	    "openssl genpkey %s -out '%s/%s.key' 2>/dev/null"
	    " && openssl pkey -in '%s/%s.key' -pubout -out '%s/%s.pub' 2>/dev/null",
	    gen, dir, name, dir, name, dir, name);
	assert_int_equal(system(cmd), 0);
}

/* The whole file at path, NUL-ended (malloc'ed), its length in *len. */
static char *file_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(16384);
	assert_non_null(buf);
	*len = fread(buf, 1, 16383, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Copies <dir>/<name>.pub to the keys folder <dir>/<sub>/<kid>. */
static void key_folder_put(const char *dir, const char *name, const char *sub, const char *kid)
{
	char cmd[768];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s' && cp '%s/%s.pub' '%s/%s/%s'", dir, sub, dir,
	    name, dir, sub, kid);
	assert_int_equal(system(cmd), 0);
}

/* The JWKS at base lists exactly kids (in order), of alg, with public
 * members only. */
static void jwks_check(const char *base, const char *alg, const char *const *kids, size_t n)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
	char url[128];
	httpc_resp r;
	snprintf(url, sizeof url, "%s/.well-known/jwks.json", base);
	assert_int_equal(httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(r.json, "keys");
	assert_int_equal(cJSON_GetArraySize(list), (int)n);
	const char *first_pub = NULL;
	for (size_t i = 0; i < n; i++) {
		const cJSON *jwk = cJSON_GetArrayItem(list, (int)i);
		const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
		const cJSON *jalg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
		assert_true(cJSON_IsString(kid) && cJSON_IsString(jalg));
		assert_string_equal(kid->valuestring, kids[i]);
		assert_string_equal(jalg->valuestring, alg);
		for (size_t m = 0; m < sizeof private_members / sizeof private_members[0]; m++)
			assert_null(cJSON_GetObjectItemCaseSensitive(jwk, private_members[m]));
		const cJSON *pub
		    = cJSON_GetObjectItemCaseSensitive(jwk, strcmp(alg, "RS256") == 0 ? "n" : "x");
		assert_true(cJSON_IsString(pub));
		if (first_pub != NULL) /* two kids, two keys */
			assert_string_not_equal(first_pub, pub->valuestring);
		first_pub = pub->valuestring;
	}
	httpc_resp_free(&r);
}

/* GET /v1/auth/me at base with token until hd-auth behind it answers (the
 * gateway redials a restarted hd-auth); returns the status. */
static long me_status_when_linked(const char *base, const char *token)
{
	int64_t until = pe_now_ms() + 20000;
	long status = me_status(base, token);
	while (status == 503 && pe_now_ms() < until) {
		pe_sleep_ms(100);
		status = me_status(base, token);
	}
	return status;
}

/* Stops p (SIGTERM, exit 0). */
static void proc_stop(proc *p)
{
	assert_int_equal(pe_stop(p->pid, SIGTERM), 0);
	p->pid = 0;
}

/* Tokens an attacker could make once key A is retired and B is current
 * (kid hd-2): each is refused 401 at base. */
static void forged_tokens_refused(
    const char *base, const char *token_b, const hd_jwt_keys *b, const char *dir)
{
	size_t a_len, b_pub_len, x_len;
	char path[256];
	snprintf(path, sizeof path, "%s/a.key", dir);
	char *a_key = file_read(path, &a_len);
	snprintf(path, sizeof path, "%s/b.pub", dir);
	char *b_pub = file_read(path, &b_pub_len);
	snprintf(path, sizeof path, "%s/x.key", dir);
	char *x_key = file_read(path, &x_len);
	hd_jwt_alg other = b->alg == HD_JWT_RS256 ? HD_JWT_ES256 : HD_JWT_RS256;
	hd_jwt_keys forgers[] = {
		/* an unknown kid, signed with the current key */
		keys_of(b->alg, "hd-9", (const char *)b->sign_key, b->sign_key_len, NULL, 0),
		/* the retired key naming the current kid */
		keys_of(b->alg, "hd-2", a_key, a_len, NULL, 0),
		/* HS256 with the public key PEM as the HMAC secret (alg confusion) */
		keys_of(HD_JWT_HS256, "hd-2", b_pub, b_pub_len, NULL, 0),
		/* the other asymmetric algorithm, under the current kid */
		keys_of(other, "hd-2", x_key, x_len, NULL, 0),
	};
	for (size_t i = 0; i < sizeof forgers / sizeof forgers[0]; i++) {
		char *forged = resign(token_b, b, &forgers[i]);
		assert_int_equal(me_status(base, forged), 401);
		free(forged);
	}
	free(a_key);
	free(b_pub);
	free(x_key);
}

/* docs/operations.md, Key rotation, with key files: A (hd-1) to B (hd-2),
 * each step a restart of the gateway and hd-auth, users signed in all along. */
static void rotate_key_files(const char *alg)
{
	char dir[192], a_key[256], a_pub[256], b_key[256], b_pub[256], next[256], prev[256];
	snprintf(dir, sizeof dir, "%s/%s", g_keys, alg);
	assert_int_equal(mkdir(dir, 0700), 0);
	make_key_pair(alg, dir, "a");
	make_key_pair(alg, dir, "b");
	make_key_pair(strcmp(alg, "RS256") == 0 ? "ES256" : "RS256", dir, "x");
	key_folder_put(dir, "b", "next", "hd-2");
	key_folder_put(dir, "a", "prev", "hd-1");
	snprintf(a_key, sizeof a_key, "%s/a.key", dir);
	snprintf(a_pub, sizeof a_pub, "%s/a.pub", dir);
	snprintf(b_key, sizeof b_key, "%s/b.key", dir);
	snprintf(b_pub, sizeof b_pub, "%s/b.pub", dir);
	snprintf(next, sizeof next, "%s/next", dir);
	snprintf(prev, sizeof prev, "%s/prev", dir);
	const keyset only_a = { alg, "hd-1", NULL, a_key, a_pub, NULL };
	const keyset a_knows_b = { alg, "hd-1", NULL, a_key, a_pub, next };
	const keyset b_knows_a = { alg, "hd-2", NULL, b_key, b_pub, prev };
	const keyset only_b = { alg, "hd-2", NULL, b_key, b_pub, NULL };

	/* before: everything signs and verifies with A; a user logs in */
	proc auth, gw;
	auth_start(&auth, 0, &only_a);
	keys_gateway_start(&gw, &auth, &only_a);
	char *refresh = NULL;
	char *t_a = login_at(gw.base, &refresh);
	assert_true(token_kid_is(t_a, "hd-1"));
	assert_int_equal(me_status(gw.base, t_a), 200);
	const char *const a_only[] = { "hd-1" };
	jwks_check(gw.base, alg, a_only, 1);

	/* step 1: verifiers learn B (gateway, then hd-auth, restarted) */
	proc_stop(&gw);
	keys_gateway_start(&gw, &auth, &a_knows_b);
	int auth_port = auth.port;
	proc_stop(&auth);
	auth_start(&auth, auth_port, &a_knows_b);
	assert_int_equal(me_status_when_linked(gw.base, t_a), 200);
	const char *const a_then_b[] = { "hd-1", "hd-2" };
	jwks_check(gw.base, alg, a_then_b, 2);

	/* step 2: hd-auth signs with B; the gateway of step 1 still runs */
	proc_stop(&auth);
	auth_start(&auth, auth_port, &b_knows_a);
	assert_int_equal(me_status_when_linked(gw.base, t_a), 200); /* the overlap */
	char *t_b = refresh_at(gw.base, &refresh); /* the session goes on under B */
	assert_true(token_kid_is(t_b, "hd-2"));
	assert_int_equal(me_status(gw.base, t_b), 200);
	proc_stop(&gw);
	keys_gateway_start(&gw, &auth, &b_knows_a);
	assert_int_equal(me_status(gw.base, t_a), 200);
	assert_int_equal(me_status(gw.base, t_b), 200);
	const char *const b_then_a[] = { "hd-2", "hd-1" };
	jwks_check(gw.base, alg, b_then_a, 2);

	/* step 3: A retired */
	proc_stop(&gw);
	proc_stop(&auth);
	auth_start(&auth, auth_port, &only_b);
	keys_gateway_start(&gw, &auth, &only_b);
	assert_int_equal(me_status(gw.base, t_a), 401);
	assert_int_equal(me_status(gw.base, t_b), 200);
	char *t_b2 = refresh_at(gw.base, &refresh); /* still signed in */
	assert_true(token_kid_is(t_b2, "hd-2"));
	assert_int_equal(me_status(gw.base, t_b2), 200);
	const char *const b_only[] = { "hd-2" };
	jwks_check(gw.base, alg, b_only, 1);
	size_t b_key_len, b_pub_len;
	char *b_key_pem = file_read(b_key, &b_key_len);
	char *b_pub_pem = file_read(b_pub, &b_pub_len);
	hd_jwt_alg b_alg = HD_JWT_HS256;
	assert_int_equal(hd_jwt_alg_parse(alg, &b_alg), HD_OK);
	hd_jwt_keys b = keys_of(b_alg, "hd-2", b_key_pem, b_key_len, b_pub_pem, b_pub_len);
	forged_tokens_refused(gw.base, t_b2, &b, dir);
	proc_stop(&gw);
	proc_stop(&auth);
	free(b_key_pem);
	free(b_pub_pem);
	free(t_a);
	free(t_b);
	free(t_b2);
	free(refresh);
}

static void test_rs256_rotation_keeps_everyone_signed_in(void **state)
{
	(void)state;
	rotate_key_files("RS256");
}

static void test_es256_rotation_keeps_everyone_signed_in(void **state)
{
	(void)state;
	rotate_key_files("ES256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_keeps_everyone_signed_in),
		cmocka_unit_test(test_rs256_rotation_keeps_everyone_signed_in),
		cmocka_unit_test(test_es256_rotation_keeps_everyone_signed_in),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
