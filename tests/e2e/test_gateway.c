/* End-to-end tests of the gateway's common rules (docs/openapi.yaml "Common rules" and
 * "Operations") over HTTP against a running stack.
 *
 * Environment (set by the test runner): HD_TEST_BASE_URL, HD_TEST_DEMO_TENANT,
 * HD_TEST_DEMO_EMAIL, HD_TEST_DEMO_PASSWORD, HD_JWT_SECRET (the stack's),
 * HD_TEST_BIN_DIR (hd-gateway for extra gateways), HD_TEST_STACK_CTL
 * (`kill auth`, `start auth`), HD_TEST_REDIS_URL. Extra gateways started here
 * inherit the rest of the environment (HD_AUTH_URL, HD_JWT_ISSUER...), use the
 * stack's Redis (HD_REDIS_URL, else HD_TEST_REDIS_URL) and a free port; a
 * sanitizer report in their stderr fails the test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jwt.h>
#include "hd/uuid.h"
#include "httpc.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct mint_opts {
	jwt_alg_t alg;
	const unsigned char *key;
	size_t key_len;
	const char *iss, *aud, *role;
	long exp_in; /* seconds from now */
} mint_opts;

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && v[0] ? v : def;
}

static mint_opts mint_default(void)
{
	const char *secret = httpc_env("HD_JWT_SECRET");
	mint_opts o = { JWT_ALG_HS256, (const unsigned char *)secret, strlen(secret),
		env_or("HD_JWT_ISSUER", "helpdesk"), env_or("HD_JWT_AUDIENCE", "helpdesk"), "admin",
		300 };
	return o;
}

/* Mints an access token for a fresh random user and tenant (caller frees). */
static char *mint(const mint_opts *o)
{
	jwt_t *jwt = NULL;
	char sub[37], tid[37], jti[37];
	long now = (long)time(NULL);
	assert_int_equal(hd_uuid_v7(sub), HD_OK);
	assert_int_equal(hd_uuid_v7(tid), HD_OK);
	assert_int_equal(hd_uuid_v7(jti), HD_OK);
	assert_int_equal(jwt_new(&jwt), 0);
	jwt_add_grant(jwt, "iss", o->iss);
	jwt_add_grant(jwt, "aud", o->aud);
	jwt_add_grant(jwt, "sub", sub);
	jwt_add_grant(jwt, "tid", tid);
	jwt_add_grant(jwt, "role", o->role);
	jwt_add_grant(jwt, "jti", jti);
	jwt_add_grant_int(jwt, "iat", now - 10);
	jwt_add_grant_int(jwt, "exp", now + o->exp_in);
	assert_int_equal(jwt_set_alg(jwt, o->alg, o->key_len ? o->key : NULL, (int)o->key_len), 0);
	char *token = jwt_encode_str(jwt);
	assert_non_null(token);
	jwt_free(jwt);
	return token;
}

/* Responses of the running test, freed by pool_teardown even when an
 * assertion fails half-way (httpc_resp_free zeroes, so freeing twice is fine). */
#define POOL_MAX 64
static httpc_resp pool[POOL_MAX];
static int pool_used;

static int pool_teardown(void **state)
{
	for (int i = 0; i < pool_used; i++)
		httpc_resp_free(&pool[i]);
	pool_used = 0;
	return 0;
}

static httpc_resp *call(const char *method, const char *path, const char *token, const char *body,
    const char *ctype, const char *const *extra)
{
	if (pool_used == POOL_MAX)
		fail_msg("more than %d requests in one test", POOL_MAX);
	httpc_resp *r = &pool[pool_used++];
	assert_int_equal(httpc_call(r, method, path, token, body, ctype, extra), 0);
	return r;
}

/* Checks an RFC 9457 body and that request_id matches X-Request-Id. */
static void problem_check(const httpc_resp *r, long status)
{
	assert_int_equal(r->status, status);
	const char *ct = httpc_header(r, "Content-Type");
	assert_non_null(ct);
	assert_non_null(strstr(ct, "application/problem+json"));
	assert_non_null(r->json);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(r->json, "status");
	assert_true(cJSON_IsNumber(st));
	assert_int_equal((long)st->valuedouble, status);
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r->json, "type")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r->json, "title")));
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r->json, "detail")));
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(r->json, "request_id");
	assert_true(cJSON_IsString(rid));
	const char *hdr = httpc_header(r, "X-Request-Id");
	assert_non_null(hdr);
	assert_string_equal(rid->valuestring, hdr);
}

/* True when the gateway admitted the request (it counted it: RateLimit-*). */
static bool admitted(const httpc_resp *r)
{
	return httpc_header(r, "RateLimit-Limit") != NULL;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A gateway process started by a test. */
typedef struct extra_gw {
	pid_t pid;
	char base[64];
	char log[256];
} extra_gw;

static void extra_start(extra_gw *g, const char *const *env)
{
	int port = free_port(), admin_port = free_port();
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/hd-gateway", httpc_env("HD_TEST_BIN_DIR"));
	snprintf(g->base, sizeof(g->base), "http://127.0.0.1:%d", port);
	snprintf(g->log, sizeof(g->log), "/tmp/hd-e2e-gateway-%d.log", port);
	g->pid = fork();
	assert_true(g->pid >= 0);
	if (g->pid == 0) {
		char p[16];
		snprintf(p, sizeof(p), "%d", port);
		setenv("HD_HTTP_PORT", p, 1);
		snprintf(p, sizeof(p), "%d", admin_port);
		setenv("HD_GATEWAY_ADMIN_PORT", p, 1);
		setenv("HD_HTTP_BIND", "127.0.0.1", 1);
		setenv("HD_HTTP_THREADS", "2", 1);
		/* it stops while its TLS dialers may still be in the handshake:
		 * NNG 1.5.2's leak there is suppressed (tests/e2e/lsan-nng.supp) */
		char supp[600];
		snprintf(supp, sizeof supp,
		    "print_suppressions=0:suppressions=%s/tests/e2e/lsan-nng.supp",
		    httpc_env("HD_TEST_ROOT"));
		setenv("LSAN_OPTIONS", supp, 1);
		/* the runner exports the stack's Redis as HD_TEST_REDIS_URL only */
		if (getenv("HD_TEST_REDIS_URL") != NULL)
			setenv("HD_REDIS_URL", getenv("HD_TEST_REDIS_URL"), 0);
		for (size_t i = 0; env[i] != NULL; i += 2)
			setenv(env[i], env[i + 1], 1);
		int fd = open(g->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	char url[128];
	snprintf(url, sizeof(url), "%s/healthz", g->base);
	for (int i = 0; i < 200; i++) {
		httpc_resp r;
		if (httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL) == 0 && r.status == 200) {
			httpc_resp_free(&r);
			return;
		}
		httpc_resp_free(&r);
		int st;
		if (waitpid(g->pid, &st, WNOHANG) == g->pid)
			fail_msg("extra gateway exited at start (see %s)", g->log);
		usleep(50 * 1000);
	}
	fail_msg("extra gateway did not become healthy (see %s)", g->log);
}

static void extra_stop(extra_gw *g)
{
	int st = 0;
	char line[1024];
	kill(g->pid, SIGTERM);
	for (int i = 0; i < 200 && waitpid(g->pid, &st, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	if (kill(g->pid, 0) == 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, &st, 0);
		fail_msg("extra gateway did not stop on SIGTERM");
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	FILE *f = fopen(g->log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
			fail_msg("sanitizer report in %s: %s", g->log, line);
	fclose(f);
	unlink(g->log);
}

static char *url_of(const extra_gw *g, const char *path)
{
	static char url[256];
	snprintf(url, sizeof(url), "%s%s", g->base, path);
	return url;
}

/* ---- operations endpoints --------------------------------------------- */

static void test_healthz(void **state)
{
	httpc_resp *r = call("GET", "/healthz", NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(httpc_header(r, "Content-Type"), "application/json"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r->json, "status")->valuestring, "ok");
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r->json, "version")));
	httpc_resp_free(r);
}

static void test_readyz(void **state)
{
	httpc_resp *r = call("GET", "/readyz", NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	httpc_resp_free(r);
}

/* /metrics: on the admin port (HD_GATEWAY_ADMIN_PORT), never on the public
 * one (docs/openapi.yaml, "Operations"). */
static void test_metrics(void **state)
{
	char url[96];
	httpc_resp *r = call("GET", "/healthz", NULL, NULL, NULL, NULL);
	httpc_resp_free(r);
	r = call("GET", "/metrics", NULL, NULL, NULL, NULL);
	assert_null(strstr(r->body, "hd_http_requests_total"));
	httpc_resp_free(r);
	snprintf(
	    url, sizeof url, "http://127.0.0.1:%s/metrics", httpc_env("HD_GATEWAY_ADMIN_PORT"));
	r = call("GET", url, NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(httpc_header(r, "Content-Type"), "text/plain"));
	assert_non_null(strstr(
	    r->body, "hd_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"));
	assert_non_null(strstr(r->body, "hd_http_request_duration_seconds"));
	assert_non_null(strstr(r->body, "hd_http_inflight"));
	assert_non_null(strstr(r->body, "hd_sse_connections"));
	httpc_resp_free(r);
}

static void test_jwks(void **state)
{
	httpc_resp *r = call("GET", "/.well-known/jwks.json", NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r->json, "keys")));
	httpc_resp_free(r);
}

/* GET /v1/openapi.yaml: docs/openapi.yaml byte for byte, with an ETag that
 * If-None-Match turns into 304 without a body. */
static void test_openapi(void **state)
{
	char path[512], etag_list[160];
	snprintf(path, sizeof path, "%s/docs/openapi.yaml", httpc_env("HD_TEST_ROOT"));
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char doc[1 << 20];
	size_t len = fread(doc, 1, sizeof doc, f);
	fclose(f);
	assert_true(len > 0 && len < sizeof doc);
	httpc_resp *r = call("GET", "/v1/openapi.yaml", NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_string_equal(httpc_header(r, "Content-Type"), "application/yaml");
	assert_int_equal(r->body_len, len);
	assert_memory_equal(r->body, doc, len);
	const char *etag = httpc_header(r, "ETag");
	assert_non_null(etag);
	assert_int_equal(etag[0], '"');
	snprintf(etag_list, sizeof etag_list, "If-None-Match: \"x\", W/%s", etag);
	const char *const revalidate[] = { etag_list, NULL };
	r = call("GET", "/v1/openapi.yaml", NULL, NULL, NULL, revalidate);
	assert_int_equal(r->status, 304);
	assert_int_equal(r->body_len, 0);
	const char *const stale[] = { "If-None-Match: \"0000000000000000\"", NULL };
	r = call("GET", "/v1/openapi.yaml", NULL, NULL, NULL, stale);
	assert_int_equal(r->status, 200);
	assert_int_equal(r->body_len, len);
}

/* ---- early rules --------------------------------------------------------- */

static void test_not_found(void **state)
{
	mint_opts o = mint_default();
	char *tok = mint(&o);
	httpc_resp *r = call("GET", "/v1/no-such-thing", NULL, NULL, NULL, NULL);
	problem_check(r, 404);
	httpc_resp_free(r);
	/* a path parameter that is not a UUID is no route at all */
	r = call("GET", "/v1/users/42", tok, NULL, NULL, NULL);
	problem_check(r, 404);
	httpc_resp_free(r);
	r = call(
	    "GET", "/v1/users/0190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e8f/extra", tok, NULL, NULL, NULL);
	problem_check(r, 404);
	httpc_resp_free(r);
	free(tok);
}

static void test_method_not_allowed(void **state)
{
	httpc_resp *r = call("GET", "/v1/auth/login", NULL, NULL, NULL, NULL);
	problem_check(r, 405);
	assert_non_null(httpc_header(r, "Allow"));
	assert_non_null(strstr(httpc_header(r, "Allow"), "POST"));
	assert_null(strstr(httpc_header(r, "Allow"), "GET"));
	httpc_resp_free(r);
	r = call("PUT", "/v1/users", NULL, "{}", NULL, NULL);
	problem_check(r, 405);
	assert_non_null(strstr(httpc_header(r, "Allow"), "GET"));
	assert_non_null(strstr(httpc_header(r, "Allow"), "POST"));
	httpc_resp_free(r);
}

static void test_unsupported_media_type(void **state)
{
	httpc_resp *r = call("POST", "/v1/auth/login", NULL, "tenant=acme",
	    "application/x-www-form-urlencoded", NULL);
	problem_check(r, 415);
	httpc_resp_free(r);
	r = call("POST", "/v1/auth/login", NULL, "{}", "text/plain", NULL);
	problem_check(r, 415);
	httpc_resp_free(r);
	r = call("POST", "/v1/auth/login", NULL, "{}", "", NULL);
	problem_check(r, 415);
	httpc_resp_free(r);
}

static void test_body_too_large(void **state)
{
	long max = atol(env_or("HD_MAX_BODY_BYTES", "1048576"));
	char *body = malloc((size_t)max + 2);
	assert_non_null(body);
	memset(body, ' ', (size_t)max + 1);
	body[0] = '{';
	body[max] = '}';
	body[max + 1] = '\0';
	httpc_resp *r = call("POST", "/v1/auth/login", NULL, body, NULL, NULL);
	problem_check(r, 413);
	httpc_resp_free(r);
	free(body);
}

static void test_missing_token(void **state)
{
	httpc_resp *r = call("GET", "/v1/auth/me", NULL, NULL, NULL, NULL);
	problem_check(r, 401);
	assert_non_null(httpc_header(r, "WWW-Authenticate"));
	assert_int_equal(strncmp(httpc_header(r, "WWW-Authenticate"), "Bearer", 6), 0);
	httpc_resp_free(r);
	const char *basic[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
	r = call("GET", "/v1/users", NULL, NULL, NULL, basic);
	problem_check(r, 401);
	assert_int_equal(strncmp(httpc_header(r, "WWW-Authenticate"), "Bearer", 6), 0);
	httpc_resp_free(r);
}

static void assert_token_rejected(const char *token)
{
	httpc_resp *r = call("GET", "/v1/auth/me", token, NULL, NULL, NULL);
	problem_check(r, 401);
	assert_false(admitted(r));
	const char *www = httpc_header(r, "WWW-Authenticate");
	assert_non_null(www);
	assert_non_null(strstr(www, "Bearer"));
	assert_non_null(strstr(www, "error=\"invalid_token\""));
	httpc_resp_free(r);
}

static void test_forged_tokens(void **state)
{
	static const unsigned char other[] = "not-the-secret-of-this-deployment-0123456789";
	mint_opts o = mint_default();
	char *tok = mint(&o);
	/* the control: the same recipe with the real key is admitted */
	httpc_resp *r = call("GET", "/v1/auth/me", tok, NULL, NULL, NULL);
	assert_true(admitted(r));
	httpc_resp_free(r);
	free(tok);

	mint_opts bad[6];
	for (int i = 0; i < 6; i++)
		bad[i] = mint_default();
	bad[0].alg = JWT_ALG_NONE, bad[0].key = NULL, bad[0].key_len = 0;
	bad[1].key = other, bad[1].key_len = sizeof(other) - 1;
	bad[2].exp_in = -3600;
	bad[3].aud = "someone-else";
	bad[4].iss = "https://evil.example";
	bad[5].alg = JWT_ALG_HS512;
	for (int i = 0; i < 6; i++) {
		tok = mint(&bad[i]);
		assert_token_rejected(tok);
		free(tok);
	}
	assert_token_rejected("not.a.token");
	assert_token_rejected("eyJhbGciOiJIUzI1NiJ9.e30.");
	/* a role outside the list */
	mint_opts role = mint_default();
	role.role = "root";
	tok = mint(&role);
	assert_token_rejected(tok);
	free(tok);
}

static void test_roles_forbidden(void **state)
{
	mint_opts o = mint_default();
	o.role = "customer";
	char *tok = mint(&o);
	httpc_resp *r = call("GET", "/v1/users", tok, NULL, NULL, NULL);
	problem_check(r, 403);
	httpc_resp_free(r);
	free(tok);
	o.role = "admin"; /* a tenant admin is not a platform admin */
	tok = mint(&o);
	r = call("POST", "/v1/tenants", tok, "{}", NULL, NULL);
	problem_check(r, 403);
	httpc_resp_free(r);
	free(tok);
}

static void test_request_id(void **state)
{
	const char *mine[] = { "X-Request-Id: e2e-abc.123:x_y", NULL };
	httpc_resp *r = call("GET", "/v1/nope", NULL, NULL, NULL, mine);
	assert_string_equal(httpc_header(r, "X-Request-Id"), "e2e-abc.123:x_y");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r->json, "request_id")->valuestring,
	    "e2e-abc.123:x_y");
	httpc_resp_free(r);
	const char *insane[] = { "X-Request-Id: bad id <script>", NULL };
	r = call("GET", "/healthz", NULL, NULL, NULL, insane);
	assert_non_null(httpc_header(r, "X-Request-Id"));
	assert_true(hd_uuid_valid(httpc_header(r, "X-Request-Id")));
	httpc_resp_free(r);
	r = call("GET", "/healthz", NULL, NULL, NULL, NULL);
	assert_true(hd_uuid_valid(httpc_header(r, "X-Request-Id")));
	char first[64];
	snprintf(first, sizeof(first), "%s", httpc_header(r, "X-Request-Id"));
	httpc_resp_free(r);
	r = call("GET", "/healthz", NULL, NULL, NULL, NULL);
	assert_string_not_equal(first, httpc_header(r, "X-Request-Id"));
	httpc_resp_free(r);
}

/* ---- extra gateways ------------------------------------------------------ */

static void test_cors_and_rate_limit(void **state)
{
	extra_gw g;
	const char *env[] = { "HD_CORS_ORIGINS", "https://app.example, https://admin.example",
		"HD_RATE_LIMIT_PER_MIN", "3", NULL };
	extra_start(&g, env);

	const char *pre[] = { "Origin: https://app.example", "Access-Control-Request-Method: POST",
		"Access-Control-Request-Headers: content-type, authorization", NULL };
	httpc_resp *r = call("OPTIONS", url_of(&g, "/v1/auth/login"), NULL, NULL, NULL, pre);
	assert_int_equal(r->status, 204);
	assert_string_equal(httpc_header(r, "Access-Control-Allow-Origin"), "https://app.example");
	assert_non_null(strstr(httpc_header(r, "Access-Control-Allow-Methods"), "POST"));
	assert_non_null(strstr(httpc_header(r, "Access-Control-Allow-Headers"), "Authorization"));
	assert_non_null(httpc_header(r, "Access-Control-Max-Age"));
	assert_non_null(strstr(httpc_header(r, "Vary"), "Origin"));
	httpc_resp_free(r);
	const char *evil[]
	    = { "Origin: https://evil.example", "Access-Control-Request-Method: POST", NULL };
	r = call("OPTIONS", url_of(&g, "/v1/auth/login"), NULL, NULL, NULL, evil);
	problem_check(r, 403);
	assert_null(httpc_header(r, "Access-Control-Allow-Origin"));
	httpc_resp_free(r);
	const char *simple[] = { "Origin: https://admin.example", NULL };
	r = call("GET", url_of(&g, "/healthz"), NULL, NULL, NULL, simple);
	assert_int_equal(r->status, 200);
	assert_string_equal(
	    httpc_header(r, "Access-Control-Allow-Origin"), "https://admin.example");
	httpc_resp_free(r);

	/* three requests a minute per user: the fourth is 429 */
	mint_opts o = mint_default();
	char *tok = mint(&o);
	for (int i = 1; i <= 3; i++) {
		r = call("GET", url_of(&g, "/v1/auth/me"), tok, NULL, NULL, NULL);
		assert_true(admitted(r));
		assert_string_equal(httpc_header(r, "RateLimit-Limit"), "3");
		assert_int_equal(atoi(httpc_header(r, "RateLimit-Remaining")), 3 - i);
		httpc_resp_free(r);
	}
	r = call("GET", url_of(&g, "/v1/auth/me"), tok, NULL, NULL, NULL);
	problem_check(r, 429);
	assert_non_null(httpc_header(r, "Retry-After"));
	int retry = atoi(httpc_header(r, "Retry-After"));
	assert_true(retry >= 1 && retry <= 60);
	assert_string_equal(httpc_header(r, "RateLimit-Remaining"), "0");
	httpc_resp_free(r);
	free(tok);
	/* another user has a budget of its own */
	tok = mint(&o);
	r = call("GET", url_of(&g, "/v1/auth/me"), tok, NULL, NULL, NULL);
	assert_true(admitted(r));
	assert_int_not_equal(r->status, 429);
	httpc_resp_free(r);
	free(tok);
	extra_stop(&g);
}

/* The stack's Redis with another database number (its own rate limit
 * counters: the stack's anonymous calls all come from 127.0.0.1 too). */
static const char *redis_db(char *out, size_t size, int db)
{
	const char *url = env_or("HD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0");
	const char *slash = strrchr(url, '/');
	int keep = slash != NULL && slash > url + 8 ? (int)(slash - url) : (int)strlen(url);
	snprintf(out, size, "%.*s/%d", keep, url, db);
	return out;
}

/* Opens n connections to g at once from 127.0.0.1, sends GET /healthz on
 * each and counts the 200s (the others closed without an answer). */
static int held_served(const extra_gw *g, int n)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
	int fd[16], port = 0, served = 0;
	assert_true(n <= 16);
	assert_int_equal(sscanf(g->base, "http://127.0.0.1:%d", &port), 1);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < n; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd[i] >= 0);
		assert_int_equal(connect(fd[i], (struct sockaddr *)&a, sizeof a), 0);
	}
	for (int i = 0; i < n; i++) {
		char buf[64] = "";
		struct pollfd p = { fd[i], POLLIN, 0 };
		if (send(fd[i], req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1
		    && poll(&p, 1, 3000) == 1 && recv(fd[i], buf, sizeof(buf) - 1, 0) > 13)
			served += strncmp(buf, "HTTP/1.1 200 ", 13) == 0;
	}
	for (int i = 0; i < n; i++)
		close(fd[i]);
	return served;
}

/* Three anonymous logins a minute: the fourth is 429. With no trusted
 * proxies, X-Forwarded-For is ignored (a new one per request changes
 * nothing: the key is the peer); with 127.0.0.1 trusted, it names the
 * client, and each new address has a budget of its own. A trusted proxy
 * is not held to HD_HTTP_MAX_CONNS_PER_ADDR; an untrusted peer is. */
static void test_trusted_proxies(void **state)
{
	char redis[256], xff[64];
	for (int trusted = 0; trusted <= 1; trusted++) {
		extra_gw g;
		const char *env[] = { "HD_RATE_LIMIT_PER_MIN", "3", "HD_REDIS_URL",
			redis_db(redis, sizeof(redis), 7 + trusted), "HD_TRUSTED_PROXIES",
			trusted ? "127.0.0.1/32, ::1" : "", "HD_HTTP_MAX_CONNS_PER_ADDR", "4",
			"HD_HTTP_THREADS", "1", NULL }; /* the cap is per loop */
		extra_start(&g, env);
		for (int i = 1; i <= 4; i++) {
			snprintf(
			    xff, sizeof(xff), "X-Forwarded-For: 198.51.100.%d", 10 * trusted + i);
			const char *hdr[] = { xff, NULL };
			httpc_resp *r = call("POST", url_of(&g, "/v1/auth/login"), NULL, "{}",
			    "application/json", hdr);
			assert_true(admitted(r));
			if (trusted) {
				assert_int_not_equal(r->status, 429);
				assert_string_equal(httpc_header(r, "RateLimit-Remaining"), "2");
			} else if (i == 4)
				problem_check(r, 429);
			else
				assert_int_equal(
				    atoi(httpc_header(r, "RateLimit-Remaining")), 3 - i);
			httpc_resp_free(r);
		}
		if (trusted) { /* the same client again and again: limited */
			const char *hdr[] = { "X-Forwarded-For: 203.0.113.9, 127.0.0.1", NULL };
			int limited = 0;
			for (int i = 0; i < 4; i++) {
				httpc_resp *r = call("POST", url_of(&g, "/v1/auth/login"), NULL,
				    "{}", "application/json", hdr);
				limited += r->status == 429;
				httpc_resp_free(r);
			}
			assert_int_equal(limited, 1);
		}
		int served = held_served(&g, 8);
		if (trusted)
			assert_int_equal(served, 8);
		else if (served < 1 || served > 4)
			fail_msg(
			    "%d of 8 connections from an untrusted peer served (cap 4)", served);
		extra_stop(&g);
	}
}

/* Reads a whole small file into buf; returns its length. */
static size_t file_read(const char *path, unsigned char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, size, f);
	fclose(f);
	assert_true(n > 0 && n < size);
	return n;
}

static void test_rs256_pins_algorithm(void **state)
{
	char dir[] = "/tmp/hd-e2e-rsaXXXXXX", priv[128], pub[128];
	unsigned char pem[8192], privpem[8192];
	extra_gw g;
	char cmd[512];
	assert_non_null(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/priv.pem", dir);
	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
	snprintf(cmd, sizeof(cmd),
	    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s 2>/dev/null &&"
	    " openssl pkey -in %s -pubout -out %s",
	    priv, priv, pub);
	assert_int_equal(system(cmd), 0);
	size_t publen = file_read(pub, pem, sizeof(pem));
	size_t privlen = file_read(priv, privpem, sizeof(privpem));

	const char *env[] = { "HD_JWT_ALG", "RS256", "HD_JWT_PUBLIC_KEY_FILE", pub, NULL };
	extra_start(&g, env);
	httpc_resp *r = call("GET", url_of(&g, "/.well-known/jwks.json"), NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r->json, "keys")), 1);
	httpc_resp_free(r);

	mint_opts o = mint_default();
	o.alg = JWT_ALG_RS256, o.key = privpem, o.key_len = privlen;
	char *tok = mint(&o);
	r = call("GET", url_of(&g, "/v1/auth/me"), tok, NULL, NULL, NULL);
	assert_true(admitted(r));
	httpc_resp_free(r);
	free(tok);
	/* the classic confusion: HS256 keyed with the public key PEM */
	o.alg = JWT_ALG_HS256, o.key = pem, o.key_len = publen;
	tok = mint(&o);
	r = call("GET", url_of(&g, "/v1/auth/me"), tok, NULL, NULL, NULL);
	problem_check(r, 401);
	assert_false(admitted(r));
	httpc_resp_free(r);
	free(tok);
	extra_stop(&g);
	unlink(priv);
	unlink(pub);
	rmdir(dir);
}

/* ---- through the auth daemon --------------------------------------------- */

static void test_invalid_json_400(void **state)
{
	httpc_resp *r = call("POST", "/v1/auth/login", NULL, "{\"tenant\": \"acme\",", NULL, NULL);
	problem_check(r, 400);
	httpc_resp_free(r);
}

static void test_login_me_logout(void **state)
{
	char *refresh = NULL, body[1024];
	char *tok = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), &refresh);
	assert_non_null(tok);
	assert_non_null(refresh);
	httpc_resp *r = call("GET", "/v1/auth/me", tok, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	assert_true(admitted(r));
	assert_non_null(strstr(httpc_header(r, "Content-Type"), "application/json"));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r->json, "email")->valuestring,
	    httpc_env("HD_TEST_DEMO_EMAIL"));
	httpc_resp_free(r);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);
	r = call("POST", "/v1/auth/logout", tok, body, NULL, NULL);
	assert_int_equal(r->status, 204);
	httpc_resp_free(r);
	/* the access token is denylisted from now on */
	assert_token_rejected(tok);
	free(tok);
	free(refresh);
}

static void test_deactivated_user_rejected(void **state)
{
	char email[96], body[512], path[96], uid[37];
	char *admin = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
	assert_non_null(admin);
	assert_int_equal(hd_uuid_v7(uid), HD_OK);
	snprintf(email, sizeof(email), "gw-e2e-%s@acme.local", uid);
	snprintf(body, sizeof(body),
	    "{\"email\":\"%s\",\"name\":\"Gateway E2E\",\"role\":\"agent\","
	    "\"password\":\"correct horse battery staple 42\"}",
	    email);
	httpc_resp *r = call("POST", "/v1/users", admin, body, NULL, NULL);
	assert_int_equal(r->status, 201);
	snprintf(path, sizeof(path), "/v1/users/%s",
	    cJSON_GetObjectItemCaseSensitive(r->json, "id")->valuestring);
	httpc_resp_free(r);
	char *agent = httpc_login(
	    httpc_env("HD_TEST_DEMO_TENANT"), email, "correct horse battery staple 42", NULL);
	assert_non_null(agent);
	r = call("GET", "/v1/auth/me", agent, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	httpc_resp_free(r);
	/* an agent may not delete users (gateway role check) */
	r = call("DELETE", path, agent, NULL, NULL, NULL);
	problem_check(r, 403);
	httpc_resp_free(r);
	r = call("DELETE", path, admin, NULL, NULL, NULL);
	assert_int_equal(r->status, 204);
	httpc_resp_free(r);
	/* the deactivated user's still unexpired token stops working at once */
	assert_token_rejected(agent);
	free(agent);
	free(admin);
}

static void test_auth_down_503_then_heals(void **state)
{
	char cmd[1024];
	const char *ctl = httpc_env("HD_TEST_STACK_CTL");
	const char *login
	    = "{\"tenant\":\"acme\",\"email\":\"nobody@acme.local\",\"password\":\"x\"}";
	struct timespec t0, t1;
	snprintf(cmd, sizeof(cmd), "%s kill auth", ctl);
	assert_int_equal(system(cmd), 0);

	/* the gateway notices the lost peer within a second, and from then on
	 * answers 503 at once instead of waiting for the deadline */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	httpc_resp *r;
	long ready = 200;
	for (int i = 0; i < 50 && ready == 200; i++) {
		r = call("GET", "/readyz", NULL, NULL, NULL, NULL);
		ready = r->status;
		if (ready == 503)
			assert_non_null(
			    strstr(cJSON_GetObjectItemCaseSensitive(r->json, "detail")->valuestring,
			        "auth"));
		httpc_resp_free(r);
		if (ready == 200)
			usleep(20 * 1000);
	}
	assert_int_equal(ready, 503);
	r = call("POST", "/v1/auth/login", NULL, login, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	problem_check(r, 503);
	assert_non_null(
	    strstr(cJSON_GetObjectItemCaseSensitive(r->json, "detail")->valuestring, "auth"));
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 1.0);
	httpc_resp_free(r);

	snprintf(cmd, sizeof(cmd), "%s start auth", ctl);
	assert_int_equal(system(cmd), 0);
	long status = 503;
	for (int i = 0; i < 150 && status == 503; i++) {
		r = call("POST", "/v1/auth/login", NULL, login, NULL, NULL);
		status = r->status;
		httpc_resp_free(r);
		if (status == 503)
			usleep(100 * 1000);
	}
	/* the daemon answers again: bad credentials (429 once the per-email
	 * failure limit is spent by earlier runs) */
	assert_true(status == 401 || status == 429);
	r = call("GET", "/readyz", NULL, NULL, NULL, NULL);
	assert_int_equal(r->status, 200);
	httpc_resp_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_healthz, pool_teardown),
		cmocka_unit_test_teardown(test_readyz, pool_teardown),
		cmocka_unit_test_teardown(test_metrics, pool_teardown),
		cmocka_unit_test_teardown(test_jwks, pool_teardown),
		cmocka_unit_test_teardown(test_openapi, pool_teardown),
		cmocka_unit_test_teardown(test_not_found, pool_teardown),
		cmocka_unit_test_teardown(test_method_not_allowed, pool_teardown),
		cmocka_unit_test_teardown(test_unsupported_media_type, pool_teardown),
		cmocka_unit_test_teardown(test_body_too_large, pool_teardown),
		cmocka_unit_test_teardown(test_missing_token, pool_teardown),
		cmocka_unit_test_teardown(test_forged_tokens, pool_teardown),
		cmocka_unit_test_teardown(test_roles_forbidden, pool_teardown),
		cmocka_unit_test_teardown(test_request_id, pool_teardown),
		cmocka_unit_test_teardown(test_cors_and_rate_limit, pool_teardown),
		cmocka_unit_test_teardown(test_trusted_proxies, pool_teardown),
		cmocka_unit_test_teardown(test_rs256_pins_algorithm, pool_teardown),
		cmocka_unit_test_teardown(test_invalid_json_400, pool_teardown),
		cmocka_unit_test_teardown(test_login_me_logout, pool_teardown),
		cmocka_unit_test_teardown(test_deactivated_user_rejected, pool_teardown),
		cmocka_unit_test_teardown(test_auth_down_503_then_heals, pool_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
