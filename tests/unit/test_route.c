/* Unit tests of the gateway's route table and request rules (gateway/route.c):
 * matching, 404 vs 405 with the Allow set, UUID path parameters, the table's
 * consistency with proto/operations.def, content types, request ids, Bearer
 * parsing. Also the CORS origin list (gateway/cors.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "route.h"
#include "cors.h"

#define UUID "0190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e8f"

static gw_match_result match(unsigned method, const char *path, gw_match *m)
{
	return gw_route_match(method, path, strlen(path), m);
}

static void test_literal_routes(void **state)
{
	gw_match m;
	assert_int_equal(match(GW_POST, "/v1/auth/login", &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "auth.login");
	assert_true(m.route->public_route);
	assert_int_equal(m.route->service, GW_SVC_auth);
	assert_int_equal(match(GW_GET, "/v1/auth/me", &m), GW_MATCH_OK);
	assert_false(m.route->public_route);
	assert_int_equal(match(GW_GET, "/healthz", &m), GW_MATCH_OK);
	assert_int_equal(m.route->service, GW_SVC_gateway);
	assert_int_equal(match(GW_GET, "/.well-known/jwks.json", &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "gateway.jwks");
	assert_int_equal(match(GW_GET, "/v1/tenants/current", &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "tenants.current");
	assert_int_equal(m.nparams, 0);
}

static void test_not_found(void **state)
{
	gw_match m;
	const char *paths[] = { "/", "/v1", "/v1/auth", "/v1/auth/login/", "//v1/auth/login",
		"/v1/auth/loginx", "/v1/users/", "/v1/users//", "/nope", "v1/auth/me",
		"/V1/auth/me", "/v1/users/" UUID "/x", "/healthz/" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(match(GW_GET, paths[i], &m), GW_MATCH_NOT_FOUND);
	assert_int_equal(gw_route_match(GW_GET, "", 0, &m), GW_MATCH_NOT_FOUND);
}

static void test_method_not_allowed(void **state)
{
	gw_match m;
	char allow[96];
	assert_int_equal(match(GW_GET, "/v1/auth/login", &m), GW_MATCH_METHOD);
	assert_null(m.route);
	assert_int_equal(m.allow, GW_POST);
	assert_int_equal(match(GW_PUT, "/v1/users/" UUID, &m), GW_MATCH_METHOD);
	assert_int_equal(m.allow, GW_GET | GW_HEAD | GW_PATCH | GW_DELETE);
	gw_method_list(m.allow, allow, sizeof(allow));
	assert_string_equal(allow, "GET, HEAD, PATCH, DELETE");
	assert_int_equal(match(GW_DELETE, "/v1/users", &m), GW_MATCH_METHOD);
	assert_int_equal(m.allow, GW_GET | GW_HEAD | GW_POST);
	/* HEAD is served by the GET route, and only where there is one */
	assert_int_equal(match(GW_HEAD, "/v1/users/" UUID, &m), GW_MATCH_OK);
	assert_int_equal(m.route->method, GW_GET);
	assert_int_equal(match(GW_HEAD, "/v1/auth/login", &m), GW_MATCH_METHOD);
}

static void test_uuid_params(void **state)
{
	gw_match m;
	assert_int_equal(match(GW_GET, "/v1/users/" UUID, &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "users.get");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0].name, "id");
	assert_string_equal(m.params[0].value, UUID);
	assert_int_equal(m.allow, GW_GET | GW_HEAD | GW_PATCH | GW_DELETE);
	assert_int_equal(match(GW_PATCH, "/v1/users/" UUID, &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "users.update");
	assert_int_equal(match(GW_DELETE, "/v1/users/" UUID, &m), GW_MATCH_OK);
	assert_int_equal(m.route->roles, GW_ROLE_ADMIN);
	/* not a UUID: no such object (404 naming the resource, not 405 nor 400) */
	const char *bad[] = { "/v1/users/123", "/v1/users/" UUID "0",
		"/v1/users/0190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e8g",
		"/v1/users/0190c7a27b1e7cc39a4e3f2b1c0d9e8f0000",
		"/v1/users/%30190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(match(GW_PATCH, bad[i], &m), GW_MATCH_NO_OBJECT);
		assert_string_equal(m.missing, "user");
		assert_null(m.route);
	}
	assert_int_equal(match(GW_GET, "/v1/tickets/42/comments", &m), GW_MATCH_NO_OBJECT);
	assert_string_equal(m.missing, "ticket");
	/* a literal route still wins over an id-shaped pattern */
	assert_int_equal(match(GW_GET, "/v1/tenants/current", &m), GW_MATCH_OK);
}

/* {n} takes a version number, {tenant_slug} a slug; anything else is no object. */
static void test_typed_params(void **state)
{
	gw_match m;
	assert_int_equal(
	    match(GW_POST, "/v1/kb/articles/" UUID "/versions/12/restore", &m), GW_MATCH_OK);
	assert_string_equal(m.route->op, "articles.restore");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1].name, "n");
	assert_string_equal(m.params[1].value, "12");
	const char *bad_n[] = { "0", "012", "-1", "1234567890", "x", "1e3" };
	for (size_t i = 0; i < sizeof(bad_n) / sizeof(bad_n[0]); i++) {
		char path[160];
		snprintf(
		    path, sizeof path, "/v1/kb/articles/" UUID "/versions/%s/restore", bad_n[i]);
		assert_int_equal(match(GW_POST, path, &m), GW_MATCH_NO_OBJECT);
		assert_string_equal(m.missing, "version");
	}
	assert_int_equal(match(GW_GET, "/v1/help/acme-2/articles/" UUID, &m), GW_MATCH_OK);
	assert_true(m.route->public_route);
	assert_string_equal(m.params[0].name, "tenant_slug");
	assert_string_equal(m.params[0].value, "acme-2");
	char longest[96] = "/v1/help/";
	memset(longest + 9, 'a', 63);
	memcpy(longest + 72, "/search", 8);
	assert_int_equal(match(GW_GET, longest, &m), GW_MATCH_OK);
	assert_int_equal(strlen(m.params[0].value), 63);
	const char *bad_slug[] = { "/v1/help/Acme/search", "/v1/help/a/search",
		"/v1/help/ac_me/search", "/v1/help/%61cme/search" };
	for (size_t i = 0; i < sizeof(bad_slug) / sizeof(bad_slug[0]); i++)
		assert_int_equal(match(GW_GET, bad_slug[i], &m), GW_MATCH_NO_OBJECT);
	longest[9 + 63] = 'a';
	memcpy(longest + 73, "/search", 8);
	assert_int_equal(match(GW_GET, longest, &m), GW_MATCH_NO_OBJECT);
}

static void test_roles(void **state)
{
	gw_match m;
	assert_int_equal(match(GW_POST, "/v1/tenants", &m), GW_MATCH_OK);
	assert_int_equal(m.route->roles, GW_ROLE_PLATFORM_ADMIN);
	assert_int_equal(match(GW_GET, "/v1/users", &m), GW_MATCH_OK);
	assert_true(m.route->roles & gw_role_parse("agent"));
	assert_false(m.route->roles & gw_role_parse("customer"));
	assert_int_equal(gw_role_parse("admin"), GW_ROLE_ADMIN);
	assert_int_equal(gw_role_parse("platform_admin"), GW_ROLE_PLATFORM_ADMIN);
	assert_int_equal(gw_role_parse("Admin"), 0);
	assert_int_equal(gw_role_parse(""), 0);
}

/* The routes counted per client address like a login are exactly the
 * public ones that guess at a secret: login and accepting an invitation. */
/* How many routes have the bool attribute at offset attr of gw_route; the
 * public ones among them in *public_count. */
static size_t routes_with(size_t attr, size_t *public_count)
{
	size_t n, count = 0;
	const gw_route *t = gw_route_table(&n);
	*public_count = 0;
	for (size_t i = 0; i < n; i++) {
		if (!*(const bool *)((const char *)&t[i] + attr))
			continue;
		*public_count += t[i].public_route;
		count++;
	}
	return count;
}

static void test_login_like(void **state)
{
	gw_match m;
	size_t public_count;
	assert_int_equal(match(GW_POST, "/v1/auth/login", &m), GW_MATCH_OK);
	assert_true(m.route->login_like);
	assert_int_equal(match(GW_POST, "/v1/auth/invitations/accept", &m), GW_MATCH_OK);
	assert_true(m.route->login_like);
	assert_true(m.route->public_route);
	assert_int_equal(match(GW_POST, "/v1/auth/refresh", &m), GW_MATCH_OK);
	assert_false(m.route->login_like);
	assert_int_equal(match(GW_POST, "/v1/auth/logout", &m), GW_MATCH_OK);
	assert_false(m.route->login_like);
	assert_int_equal(routes_with(offsetof(gw_route, login_like), &public_count), 2);
	assert_int_equal(public_count, 2);
}

/* The one route issuing stream tickets is the gateway's own
 * gateway.stream_ticket, signed-in (admit.c tells it by this attribute). */
static void test_stream_ticket_attribute(void **state)
{
	gw_match m;
	(void)state;
	assert_int_equal(match(GW_POST, "/v1/stream/tickets", &m), GW_MATCH_OK);
	assert_true(m.route->stream_ticket);
	assert_false(m.route->public_route);
	assert_int_equal(m.route->service, GW_SVC_gateway);
	assert_string_equal(m.route->op, "gateway.stream_ticket");
	assert_int_equal(match(GW_GET, "/v1/stream", &m), GW_MATCH_OK);
	assert_false(m.route->stream_ticket);
	size_t public_count;
	assert_int_equal(routes_with(offsetof(gw_route, stream_ticket), &public_count), 1);
	assert_int_equal(public_count, 0);
}

/* Every forwarded route names an operation of proto/operations.def served by
 * the route's service, and no (method, pattern) pair appears twice. */
static void test_table_consistent(void **state)
{
	static const struct {
		const char *service, *op;
	} ops[] = {
#define HD_OP(service, name, idempotent, handler) { #service, name },
#include "operations.def"
#undef HD_OP
	};
	size_t n;
	const gw_route *t = gw_route_table(&n);
	assert_true(n >= 17);
	for (size_t i = 0; i < n; i++) {
		bool found = t[i].service == GW_SVC_gateway && strncmp(t[i].op, "gateway.", 8) == 0;
		for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]) && !found; j++)
			found = strcmp(ops[j].op, t[i].op) == 0
			    && strcmp(ops[j].service, gw_service_name(t[i].service)) == 0;
		if (!found)
			fail_msg("route %s %s: unknown operation %s", gw_method_name(t[i].method),
			    t[i].pattern, t[i].op);
		for (size_t j = i + 1; j < n; j++)
			assert_false(
			    t[i].method == t[j].method && strcmp(t[i].pattern, t[j].pattern) == 0);
	}
}

static void test_methods(void **state)
{
	char out[8];
	assert_int_equal(gw_method_parse("PATCH"), GW_PATCH);
	assert_int_equal(gw_method_parse("patch"), 0);
	assert_string_equal(gw_method_name(GW_OPTIONS), "OPTIONS");
	assert_string_equal(gw_method_name(0), "OTHER");
	gw_method_list(GW_GET | GW_POST | GW_DELETE, out, sizeof(out));
	assert_string_equal(out, "GET"); /* truncated at a whole name */
}

static void test_content_type(void **state)
{
	assert_true(gw_content_type_is_json("application/json"));
	assert_true(gw_content_type_is_json("Application/JSON"));
	assert_true(gw_content_type_is_json("application/json; charset=utf-8"));
	assert_true(gw_content_type_is_json("application/json;charset=UTF-8"));
	assert_true(gw_content_type_is_json("application/json; charset=\"utf-8\""));
	assert_false(gw_content_type_is_json(NULL));
	assert_false(gw_content_type_is_json(""));
	assert_false(gw_content_type_is_json("text/plain"));
	assert_false(gw_content_type_is_json("application/jsonx"));
	assert_false(gw_content_type_is_json("application/json; charset=latin1"));
	assert_false(gw_content_type_is_json("application/json; boundary=x"));
	assert_false(gw_content_type_is_json("application/x-www-form-urlencoded"));
}

static void test_request_id(void **state)
{
	char longest[130];
	assert_true(gw_request_id_valid("abc-123"));
	assert_true(gw_request_id_valid("A.b_c:d-9"));
	assert_false(gw_request_id_valid(NULL));
	assert_false(gw_request_id_valid(""));
	assert_false(gw_request_id_valid("has space"));
	assert_false(gw_request_id_valid("quote\""));
	assert_false(gw_request_id_valid("line\nbreak"));
	memset(longest, 'a', 128);
	longest[128] = '\0';
	assert_true(gw_request_id_valid(longest));
	longest[128] = 'a';
	longest[129] = '\0';
	assert_false(gw_request_id_valid(longest));
}

static void test_bearer(void **state)
{
	const char *tok;
	size_t len;
	assert_true(gw_bearer_token("Bearer abc.def.ghi", &tok, &len));
	assert_int_equal(len, 11);
	assert_memory_equal(tok, "abc.def.ghi", 11);
	assert_true(gw_bearer_token("bearer  x ", &tok, &len));
	assert_int_equal(len, 1);
	assert_false(gw_bearer_token(NULL, &tok, &len));
	assert_false(gw_bearer_token("Basic dXNlcjpwYXNz", &tok, &len));
	assert_false(gw_bearer_token("Bearer", &tok, &len));
	assert_false(gw_bearer_token("Bearer ", &tok, &len));
	assert_false(gw_bearer_token("Bearer a b", &tok, &len));
	assert_false(gw_bearer_token("Bearerabc", &tok, &len));
}

static void test_cors(void **state)
{
	gw_cors c;
	char big[400];
	assert_true(gw_cors_init(&c, ""));
	assert_false(gw_cors_allowed(&c, "https://a.example"));
	assert_true(gw_cors_init(&c, " https://a.example , https://b.example:8443"));
	assert_int_equal(c.count, 2);
	assert_true(gw_cors_allowed(&c, "https://a.example"));
	assert_true(gw_cors_allowed(&c, "https://b.example:8443"));
	assert_false(gw_cors_allowed(&c, "https://b.example"));
	assert_false(gw_cors_allowed(&c, "https://a.example.evil"));
	assert_false(gw_cors_allowed(&c, NULL));
	assert_true(gw_cors_init(&c, "*"));
	assert_true(c.any);
	assert_true(gw_cors_allowed(&c, "https://anything"));
	assert_false(gw_cors_allowed(&c, ""));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(gw_cors_init(&c, big));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_routes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_uuid_params),
		cmocka_unit_test(test_typed_params),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_table_consistent),
		cmocka_unit_test(test_login_like),
		cmocka_unit_test(test_stream_ticket_attribute),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_cors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
