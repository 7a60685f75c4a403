/* Helpers shared by the ticket end-to-end programs (test_tickets*.c): a
 * fresh tenant with an admin, an agent and two customers, and short request
 * and JSON accessors. Each program includes this once; everything is static
 * inline so a program may leave some of it unused. Environment:
 * HD_TEST_BASE_URL, HD_TEST_PLATFORM_EMAIL/PASSWORD,
 * HD_TEST_DEMO_TENANT/EMAIL/PASSWORD. */
#ifndef HD_TEST_TICKETS_E2E_H
#define HD_TEST_TICKETS_E2E_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/uuid.h"
#include "httpc.h"

#define TK_PASSWORD "e2e correct horse"

/* The test tenant and its users (tokens malloc'ed, ids filled by tk_setup);
 * tech is a technician's token, tech_id their user id. */
typedef struct tk_world {
	char slug[64];
	char *platform, *admin, *agent, *cust1, *cust2, *tech, *demo;
	char admin_id[37], agent_id[37], cust1_id[37], cust2_id[37], tech_id[37];
} tk_world;

static tk_world W;

static inline const char *jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline long jnum(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static inline const cJSON *jitems(const httpc_resp *r)
{
	return cJSON_GetObjectItemCaseSensitive(r->json, "items");
}

static inline bool has_field_error(const httpc_resp *r, const char *field)
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

/* Performs the call (a transport error fails the test) and returns the status. */
static inline long req(
    httpc_resp *r, const char *method, const char *path, const char *token, const char *body)
{
	assert_int_equal(httpc_call(r, method, path, token, body, NULL, NULL), 0);
	return r->status;
}

/* Like req, with one extra header line ("Name: value"). */
static inline long req_h(httpc_resp *r, const char *method, const char *path, const char *token,
    const char *body, const char *header)
{
	const char *h[] = { header, NULL };
	assert_int_equal(httpc_call(r, method, path, token, body, NULL, h), 0);
	return r->status;
}

/* Asserts a call's status and frees the response. */
static inline void expect(
    long status, const char *method, const char *path, const char *token, const char *body)
{
	httpc_resp r;
	long got = req(&r, method, path, token, body);
	if (got != status)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, got, r.body);
	assert_int_equal(got, status);
	httpc_resp_free(&r);
}

/* Asserts a 422 naming field and frees the response. */
static inline void expect_invalid(
    const char *method, const char *path, const char *token, const char *body, const char *field)
{
	httpc_resp r;
	long got = req(&r, method, path, token, body);
	if (got != 422 || !has_field_error(&r, field))
		fprintf(
		    stderr, "%s %s (want 422 on %s): %ld %s\n", method, path, field, got, r.body);
	assert_int_equal(got, 422);
	assert_true(has_field_error(&r, field));
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
}

/* Creates a ticket as token with body; returns the reply's JSON (caller
 * deletes) and fails the test unless it is 201. */
static inline cJSON *ticket_new(const char *token, const char *body)
{
	httpc_resp r;
	long got = req(&r, "POST", "/v1/tickets", token, body);
	if (got != 201)
		fprintf(stderr, "POST /v1/tickets: %ld %s\n", got, r.body);
	assert_int_equal(got, 201);
	cJSON *j = r.json;
	r.json = NULL;
	httpc_resp_free(&r);
	return j;
}

/* Creates a ticket with subject and copies its id into id. */
static inline void ticket_new_id(const char *token, const char *subject, char id[37])
{
	char body[512];
	snprintf(body, sizeof body, "{\"subject\":\"%s\"}", subject);
	cJSON *t = ticket_new(token, body);
	snprintf(id, 37, "%s", jstr(t, "id"));
	cJSON_Delete(t);
}

/* path = /v1/tickets/<id><suffix> */
static inline void tk_path(char *path, size_t n, const char *id, const char *suffix)
{
	snprintf(path, n, "/v1/tickets/%s%s", id, suffix);
}

/* GETs ticket id as token (200) and returns its JSON (caller deletes). */
static inline cJSON *tk_ticket_get(const char *token, const char *id)
{
	char path[128];
	httpc_resp r;
	tk_path(path, sizeof path, id, "");
	assert_int_equal(req(&r, "GET", path, token, NULL), 200);
	cJSON *j = r.json;
	r.json = NULL;
	httpc_resp_free(&r);
	return j;
}

/* Moves ticket id to status as W.agent (200). */
static inline void tk_ticket_move(const char *id, const char *status)
{
	char path[128], body[64];
	tk_path(path, sizeof path, id, "");
	snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
	expect(200, "PATCH", path, W.agent, body);
}

static inline void user_new(const char *email, const char *role, char id[37])
{
	char body[512];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"email\":\"%s\",\"name\":\"E2E %s\",\"role\":\"%s\",\"password\":\"%s\"}", email,
	    role, role, TK_PASSWORD);
	assert_int_equal(req(&r, "POST", "/v1/users", W.admin, body), 201);
	snprintf(id, 37, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
}

/* Creates a user in W.slug and logs in as it. */
static inline char *user_login(const char *name, const char *role, char id[37])
{
	char email[128];
	snprintf(email, sizeof email, "%s@%s.test", name, W.slug);
	user_new(email, role, id);
	char *token = httpc_login(W.slug, email, TK_PASSWORD, NULL);
	assert_non_null(token);
	return token;
}

/* Creates tenant slug as the platform admin and returns its admin's token. */
static inline char *tenant_new(const char *slug)
{
	char body[512], email[128];
	httpc_resp r;
	snprintf(email, sizeof email, "admin@%s.test", slug);
	snprintf(body, sizeof body,
	    "{\"name\":\"E2E "
	    "%s\",\"slug\":\"%s\",\"admin_email\":\"%s\",\"admin_password\":\"%s\"}",
	    slug, slug, email, TK_PASSWORD);
	if (httpc_call(&r, "POST", "/v1/tenants", W.platform, body, NULL, NULL) != 0
	    || r.status != 201) {
		fprintf(stderr, "POST /v1/tenants: %ld %s\n", r.status, r.body ? r.body : "");
		httpc_resp_free(&r);
		return NULL;
	}
	httpc_resp_free(&r);
	return httpc_login(slug, email, TK_PASSWORD, NULL);
}

/* cmocka group setup: a fresh tenant "tk<prefix>-<random>" with its users. */
static inline int tk_setup(const char *prefix)
{
	char uuid[HD_UUID_STRLEN + 1];
	httpc_resp r;
	if (hd_uuid_v7(uuid) != HD_OK)
		return -1;
	snprintf(W.slug, sizeof W.slug, "%s-%.4s%.8s", prefix, uuid + 9, uuid + 28);
	W.platform = httpc_login("platform", httpc_env("HD_TEST_PLATFORM_EMAIL"),
	    httpc_env("HD_TEST_PLATFORM_PASSWORD"), NULL);
	if (W.platform == NULL || (W.admin = tenant_new(W.slug)) == NULL)
		return -1;
	if (httpc_call(&r, "GET", "/v1/auth/me", W.admin, NULL, NULL, NULL) != 0 || r.status != 200)
		return -1;
	snprintf(W.admin_id, sizeof W.admin_id, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	W.agent = user_login("agent", "agent", W.agent_id);
	W.cust1 = user_login("cust1", "customer", W.cust1_id);
	W.cust2 = user_login("cust2", "customer", W.cust2_id);
	W.tech = user_login("tech", "technician", W.tech_id);
	W.demo = httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
	return W.demo != NULL && W.tech != NULL ? 0 : -1;
}

static inline int tk_teardown(void **state)
{
	(void)state;
	free(W.platform);
	free(W.admin);
	free(W.agent);
	free(W.cust1);
	free(W.cust2);
	free(W.tech);
	free(W.demo);
	return 0;
}

#endif
