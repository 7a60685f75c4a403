/* End-to-end tests of tickets over HTTP through the gateway (docs/openapi.yaml
 * "Tickets"): create/get/patch/delete, validation, the status state machine,
 * ETag/If-Match, Idempotency-Key, history, comments and first_response_at,
 * customer visibility and tenant isolation. Runs in a fresh tenant of its
 * own (tickets_e2e.h); environment as tickets_e2e.h says. */
#include "tickets_e2e.h"

/* Asserts PATCH {"status":to} on ticket id answers want (422 names status). */
static void move(const char *id, const char *to, long want)
{
	char path[96], body[64];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	snprintf(body, sizeof body, "{\"status\":\"%s\"}", to);
	long got = req(&r, "PATCH", path, W.agent, body);
	if (got != want)
		fprintf(stderr, "move to %s: %ld %s\n", to, got, r.body);
	assert_int_equal(got, want);
	if (want == 200)
		assert_string_equal(jstr(r.json, "status"), to);
	else
		assert_true(has_field_error(&r, "status"));
	httpc_resp_free(&r);
}

static void test_create_and_get(void **state)
{
	char body[512], path[96];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"subject\":\"Printer on fire\",\"description\":\"smoke\",\"priority\":\"high\","
	    "\"category\":\"hardware\",\"tags\":[\"printer\",\"fire\"],\"assignee_id\":\"%s\"}",
	    W.agent_id);
	assert_int_equal(req(&r, "POST", "/v1/tickets", W.admin, body), 201);
	const char *id = jstr(r.json, "id");
	assert_non_null(id);
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	assert_string_equal(httpc_header(&r, "Location"), path);
	assert_string_equal(httpc_header(&r, "ETag"), "\"1\"");
	assert_true(jnum(r.json, "number") >= 1);
	assert_string_equal(jstr(r.json, "status"), "new");
	assert_string_equal(jstr(r.json, "priority"), "high");
	assert_string_equal(jstr(r.json, "category"), "hardware");
	assert_string_equal(jstr(r.json, "requester_id"), W.admin_id);
	assert_string_equal(jstr(r.json, "assignee_id"), W.agent_id);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "tags")), 2);
	assert_int_equal(jnum(r.json, "version"), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "first_response_at")));
	assert_non_null(cJSON_GetObjectItem(r.json, "sla"));
	cJSON *created = cJSON_Duplicate(r.json, 1);
	httpc_resp_free(&r);

	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_string_equal(httpc_header(&r, "ETag"), "\"1\"");
	assert_true(cJSON_Compare(created, r.json, 1));
	httpc_resp_free(&r);
	cJSON_Delete(created);

	/* defaults: priority normal, the customer is the requester */
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"Hello\"}");
	assert_string_equal(jstr(t, "priority"), "normal");
	assert_string_equal(jstr(t, "requester_id"), W.cust1_id);
	assert_string_equal(jstr(t, "description"), "");
	cJSON_Delete(t);
	expect(404, "GET", "/v1/tickets/00000000-0000-7000-8000-000000000000", W.admin, NULL);
	expect(404, "GET", "/v1/tickets/not-a-uuid", W.admin, NULL);
	expect(401, "GET", path, NULL, NULL);
}

static void test_create_validation(void **state)
{
	char body[1024], big_subject[202];
	const char *T = "/v1/tickets";
	memset(big_subject, 'x', 201);
	big_subject[201] = '\0';

	expect_invalid("POST", T, W.admin, "{\"subject\":\"\"}", "subject");
	expect_invalid("POST", T, W.admin, "{\"description\":\"no subject\"}", "subject");
	snprintf(body, sizeof body, "{\"subject\":\"%s\"}", big_subject);
	expect_invalid("POST", T, W.admin, body, "subject");
	big_subject[200] = '\0';
	snprintf(body, sizeof body, "{\"subject\":\"%s\"}", big_subject);
	cJSON_Delete(ticket_new(W.admin, body)); /* 200 characters are fine */

	size_t n = 65537 + 64;
	char *desc = malloc(n);
	assert_non_null(desc);
	int off = snprintf(desc, n, "{\"subject\":\"s\",\"description\":\"");
	memset(desc + off, 'd', 65537);
	strcpy(desc + off + 65537, "\"}");
	expect_invalid("POST", T, W.admin, desc, "description");
	free(desc);

	expect_invalid("POST", T, W.admin, "{\"subject\":\"s\",\"priority\":\"asap\"}", "priority");
	expect_invalid("POST", T, W.admin, "{\"subject\":\"s\",\"priority\":3}", "priority");
	strcpy(body, "{\"subject\":\"s\",\"tags\":[");
	for (int i = 0; i < 21; i++)
		snprintf(
		    body + strlen(body), sizeof body - strlen(body), "%s\"t%d\"", i ? "," : "", i);
	strcat(body, "]}");
	expect_invalid("POST", T, W.admin, body, "tags");
	snprintf(body, sizeof body, "{\"subject\":\"s\",\"tags\":[\"%.51s\"]}", big_subject);
	expect_invalid("POST", T, W.admin, body, "tags");
	expect_invalid("POST", T, W.admin, "{\"subject\":\"s\",\"tags\":[\"\"]}", "tags");
	expect_invalid("POST", T, W.admin, "{\"subject\":\"s\",\"tags\":\"a\"}", "tags");
	expect_invalid(
	    "POST", T, W.admin, "{\"subject\":\"s\",\"requester_id\":\"nope\"}", "requester_id");
	expect_invalid(
	    "POST", T, W.admin, "{\"subject\":\"s\",\"assignee_id\":\"123\"}", "assignee_id");
	expect_invalid("POST", T, W.admin, "{\"subject\":\"s\",\"colour\":\"red\"}", "colour");

	/* several errors at once, each named */
	httpc_resp r;
	assert_int_equal(req(&r, "POST", T, W.admin, "{\"subject\":\"\",\"priority\":\"x\"}"), 422);
	assert_true(has_field_error(&r, "subject"));
	assert_true(has_field_error(&r, "priority"));
	httpc_resp_free(&r);

	expect(400, "POST", T, W.admin, "{\"subject\":");
	expect(422, "POST", T, W.admin, "[1,2]");
	assert_int_equal(httpc_call(&r, "POST", T, W.admin, "subject=x", "text/plain", NULL), 0);
	assert_int_equal(r.status, 415);
	httpc_resp_free(&r);
}

static void test_status_moves(void **state)
{
	char a[37], b[37], c[37], d[37];
	ticket_new_id(W.admin, "moves a", a);
	ticket_new_id(W.admin, "moves b", b);
	ticket_new_id(W.admin, "moves c", c);
	ticket_new_id(W.admin, "moves d", d);

	move(a, "closed", 422); /* new -> closed */
	move(a, "open", 200);
	move(a, "new", 422); /* never back to new */
	move(a, "closed", 422);
	move(a, "pending", 200);
	move(a, "on_hold", 200);
	move(a, "open", 200);
	move(a, "on_hold", 200);
	move(a, "pending", 200);
	move(a, "open", 200);
	move(a, "solved", 200);
	move(a, "pending", 422); /* solved -> pending */
	move(a, "on_hold", 422);
	move(a, "new", 422);
	move(a, "open", 200); /* reopen */
	move(a, "solved", 200);
	move(a, "closed", 200);
	move(a, "open", 422); /* closed is final */
	move(a, "solved", 422);
	move(a, "pending", 422);
	move(a, "on_hold", 422);
	move(a, "new", 422);

	move(b, "pending", 200); /* new -> pending */
	move(b, "solved", 200);
	move(c, "on_hold", 200); /* new -> on_hold */
	move(c, "solved", 200);
	move(c, "closed", 200);
	move(d, "solved", 200); /* new -> solved */
	move(d, "on_hold", 422);

	/* solved_at follows the moves */
	char path[96];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/tickets/%s", d);
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_non_null(jstr(r.json, "solved_at"));
	httpc_resp_free(&r);
	move(d, "open", 200);
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "solved_at")));
	httpc_resp_free(&r);
	expect_invalid("PATCH", path, W.agent, "{\"status\":\"done\"}", "status");
}

static void test_patch_validation_and_etag(void **state)
{
	char id[37], path[96];
	httpc_resp r;
	ticket_new_id(W.admin, "etag", id);
	snprintf(path, sizeof path, "/v1/tickets/%s", id);

	expect_invalid("PATCH", path, W.agent, "{\"subject\":\"\"}", "subject");
	expect_invalid("PATCH", path, W.agent, "{\"priority\":\"meh\"}", "priority");
	expect_invalid("PATCH", path, W.agent, "{\"assignee_id\":\"x\"}", "assignee_id");
	expect_invalid("PATCH", path, W.agent, "{\"tags\":null}", "tags");
	expect_invalid("PATCH", path, W.agent, "{\"number\":7}", "number");
	expect(400, "PATCH", path, W.agent, "{oops");

	assert_int_equal(
	    req_h(&r, "PATCH", path, W.agent, "{\"priority\":\"low\"}", "If-Match: \"1\""), 200);
	assert_string_equal(httpc_header(&r, "ETag"), "\"2\"");
	assert_int_equal(jnum(r.json, "version"), 2);
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.agent, "{\"priority\":\"high\"}", "If-Match: \"1\""), 412);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.agent, "{\"priority\":\"high\"}", "If-Match: bogus"), 412);
	httpc_resp_free(&r);
	assert_int_equal(req_h(&r, "PATCH", path, W.agent, "{\"priority\":\"high\"}",
	                     "If-Match: \"9999999999\""),
	    412); /* beyond any version, not a database range error */
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.agent, "{\"priority\":\"high\"}", "If-Match: \"2\""), 200);
	assert_string_equal(httpc_header(&r, "ETag"), "\"3\"");
	httpc_resp_free(&r);
	/* the stale version changed nothing */
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_string_equal(jstr(r.json, "priority"), "high");
	assert_string_equal(httpc_header(&r, "ETag"), "\"3\"");
	httpc_resp_free(&r);
	expect(404, "PATCH", "/v1/tickets/00000000-0000-7000-8000-000000000000", W.agent,
	    "{\"priority\":\"low\"}");
}

static void test_idempotency(void **state)
{
	const char *body = "{\"subject\":\"idem once\",\"tags\":[\"idem\"]}";
	const char *key = "Idempotency-Key: e2e-idem-1";
	httpc_resp a, b, c;
	assert_int_equal(req_h(&a, "POST", "/v1/tickets", W.admin, body, key), 201);
	assert_int_equal(req_h(&b, "POST", "/v1/tickets", W.admin, body, key), 201);
	assert_true(cJSON_Compare(a.json, b.json, 1));
	assert_string_equal(jstr(a.json, "id"), jstr(b.json, "id"));
	char loc[96];
	snprintf(loc, sizeof loc, "%s", httpc_header(&a, "Location"));
	assert_string_equal(httpc_header(&b, "Location"), loc);
	long number = jnum(a.json, "number");
	httpc_resp_free(&a);
	httpc_resp_free(&b);

	assert_int_equal(
	    req_h(&c, "POST", "/v1/tickets", W.admin, "{\"subject\":\"idem other\"}", key), 422);
	assert_true(has_field_error(&c, "Idempotency-Key"));
	httpc_resp_free(&c);

	/* the replay took no number: the next ticket follows at once */
	cJSON *t = ticket_new(W.admin, "{\"subject\":\"after idem\"}");
	assert_int_equal(jnum(t, "number"), number + 1);
	cJSON_Delete(t);
	assert_int_equal(req(&a, "GET", "/v1/tickets?tag=idem", W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&a)), 1);
	httpc_resp_free(&a);
}

static void test_history(void **state)
{
	char id[37], path[128], body[256];
	httpc_resp r;
	ticket_new_id(W.admin, "history before", id);
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	snprintf(body, sizeof body,
	    "{\"subject\":\"history after\",\"priority\":\"urgent\",\"assignee_id\":\"%s\"}",
	    W.agent_id);
	expect(200, "PATCH", path, W.agent, body);
	expect(200, "PATCH", path, W.agent, "{\"status\":\"open\"}");
	expect(200, "PATCH", path, W.agent, "{\"status\":\"open\"}"); /* no change, no entry */

	snprintf(path, sizeof path, "/v1/tickets/%s/history", id);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	const cJSON *items = jitems(&r), *e;
	assert_int_equal(cJSON_GetArraySize(items), 4);
	int seen = 0;
	cJSON_ArrayForEach(e, items)
	{
		const char *f = jstr(e, "field");
		assert_string_equal(jstr(e, "actor_id"), W.agent_id);
		assert_non_null(jstr(e, "at"));
		if (strcmp(f, "subject") == 0) {
			assert_string_equal(jstr(e, "from"), "history before");
			assert_string_equal(jstr(e, "to"), "history after");
			seen |= 1;
		} else if (strcmp(f, "priority") == 0) {
			assert_string_equal(jstr(e, "from"), "normal");
			assert_string_equal(jstr(e, "to"), "urgent");
			seen |= 2;
		} else if (strcmp(f, "assignee_id") == 0) {
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "from")));
			assert_string_equal(jstr(e, "to"), W.agent_id);
			seen |= 4;
		} else if (strcmp(f, "status") == 0) {
			assert_string_equal(jstr(e, "from"), "new");
			assert_string_equal(jstr(e, "to"), "open");
			seen |= 8;
		}
	}
	assert_int_equal(seen, 15);
	httpc_resp_free(&r);
	/* pages of one */
	snprintf(path, sizeof path, "/v1/tickets/%s/history?limit=3", id);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 3);
	char next[256];
	snprintf(next, sizeof next, "/v1/tickets/%s/history?limit=3&cursor=%s", id,
	    jstr(r.json, "next_cursor"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", next, W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tickets/%s/history", id);
	expect(403, "GET", path, W.cust1, NULL);
}

/* Posts a comment as token and returns the status. */
static long comment(const char *token, const char *id, const char *body)
{
	char path[128];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", id);
	long got = req(&r, "POST", path, token, body);
	if (got == 201)
		assert_string_equal(jstr(r.json, "ticket_id"), id);
	httpc_resp_free(&r);
	return got;
}

static const char *first_response(httpc_resp *r, const char *id)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	assert_int_equal(req(r, "GET", path, W.agent, NULL), 200);
	return jstr(r->json, "first_response_at");
}

static void test_comments(void **state)
{
	char id[37], path[128];
	httpc_resp r;
	ticket_new_id(W.cust1, "comment me", id);
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", id);

	assert_int_equal(comment(W.cust1, id, "{\"body\":\"any news?\"}"), 201);
	assert_null(first_response(&r, id)); /* a customer's comment is no response */
	httpc_resp_free(&r);
	assert_int_equal(comment(W.agent, id, "{\"body\":\"note\",\"public\":false}"), 201);
	assert_null(first_response(&r, id)); /* nor an internal note */
	httpc_resp_free(&r);
	assert_int_equal(comment(W.agent, id, "{\"body\":\"on it\",\"public\":true}"), 201);
	char first[40];
	snprintf(first, sizeof first, "%s", first_response(&r, id));
	httpc_resp_free(&r);
	assert_int_equal(comment(W.admin, id, "{\"body\":\"me too\"}"), 201);
	assert_string_equal(first_response(&r, id), first); /* only the first one counts */
	httpc_resp_free(&r);

	/* customers: public only, on their own tickets */
	assert_int_equal(comment(W.cust1, id, "{\"body\":\"secret\",\"public\":false}"), 422);
	assert_int_equal(comment(W.cust2, id, "{\"body\":\"hi\"}"), 404);
	expect_invalid("POST", path, W.agent, "{\"body\":\"\"}", "body");
	expect_invalid("POST", path, W.agent, "{\"text\":\"x\"}", "text");
	expect_invalid("POST", path, W.agent, "{\"body\":\"x\",\"public\":\"yes\"}", "public");
	expect(400, "POST", path, W.agent, "{");

	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 4);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", path, W.cust1, NULL), 200);
	const cJSON *c;
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 3);
	cJSON_ArrayForEach(c, jitems(&r))
	{
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "public")));
	}
	httpc_resp_free(&r);
	expect(404, "GET", path, W.cust2, NULL);
	expect(
	    404, "GET", "/v1/tickets/00000000-0000-7000-8000-000000000000/comments", W.agent, NULL);
}

static void test_customer_visibility(void **state)
{
	char mine[37], theirs[37], path[96], body[128];
	httpc_resp r;
	const cJSON *t;
	ticket_new_id(W.cust1, "cust1 own", mine);
	ticket_new_id(W.cust2, "cust2 own", theirs);

	assert_int_equal(req(&r, "GET", "/v1/tickets?limit=100", W.cust1, NULL), 200);
	bool found = false;
	cJSON_ArrayForEach(t, jitems(&r))
	{
		assert_string_equal(jstr(t, "requester_id"), W.cust1_id);
		found = found || strcmp(jstr(t, "id"), mine) == 0;
	}
	assert_true(found);
	httpc_resp_free(&r);
	/* a requester_id filter cannot widen the view */
	snprintf(path, sizeof path, "/v1/tickets?requester_id=%s", W.cust2_id);
	assert_int_equal(req(&r, "GET", path, W.cust1, NULL), 200);
	cJSON_ArrayForEach(t, jitems(&r))
	{
		assert_string_equal(jstr(t, "requester_id"), W.cust1_id);
	}
	httpc_resp_free(&r);

	snprintf(path, sizeof path, "/v1/tickets/%s", theirs);
	expect(404, "GET", path, W.cust1, NULL);
	expect(200, "GET", path, W.agent, NULL);
	snprintf(path, sizeof path, "/v1/tickets/%s", mine);
	expect(200, "GET", path, W.cust1, NULL);
	expect(403, "PATCH", path, W.cust1, "{\"subject\":\"mine now\"}");
	expect(403, "DELETE", path, W.cust1, NULL);
	expect(403, "DELETE", path, W.agent, NULL);
	expect(403, "GET", "/v1/sla-policy", W.cust1, NULL);
	expect(403, "GET", "/v1/automations", W.cust1, NULL);

	snprintf(
	    body, sizeof body, "{\"subject\":\"for someone\",\"requester_id\":\"%s\"}", W.cust2_id);
	expect_invalid("POST", "/v1/tickets", W.cust1, body, "requester_id");
	snprintf(body, sizeof body, "{\"subject\":\"assign\",\"assignee_id\":\"%s\"}", W.agent_id);
	expect_invalid("POST", "/v1/tickets", W.cust1, body, "assignee_id");
	/* an agent may file on a customer's behalf */
	snprintf(
	    body, sizeof body, "{\"subject\":\"by phone\",\"requester_id\":\"%s\"}", W.cust2_id);
	cJSON *j = ticket_new(W.agent, body);
	assert_string_equal(jstr(j, "requester_id"), W.cust2_id);
	cJSON_Delete(j);
}

static void test_cross_tenant(void **state)
{
	char acme[37], ours[37], path[128];
	httpc_resp r;
	const cJSON *t;
	ticket_new_id(W.demo, "acme only", acme);
	ticket_new_id(W.admin, "ours only", ours);

	snprintf(path, sizeof path, "/v1/tickets/%s", acme);
	expect(200, "GET", path, W.demo, NULL);
	expect(404, "GET", path, W.admin, NULL);
	expect(404, "PATCH", path, W.admin, "{\"priority\":\"low\"}");
	expect(404, "DELETE", path, W.admin, NULL);
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", acme);
	expect(404, "GET", path, W.admin, NULL);
	expect(404, "POST", path, W.admin, "{\"body\":\"hi\"}");
	snprintf(path, sizeof path, "/v1/tickets/%s/history", acme);
	expect(404, "GET", path, W.admin, NULL);
	snprintf(path, sizeof path, "/v1/tickets/%s", ours);
	expect(404, "GET", path, W.demo, NULL);

	assert_int_equal(req(&r, "GET", "/v1/tickets?limit=100", W.admin, NULL), 200);
	cJSON_ArrayForEach(t, jitems(&r))
	{
		assert_string_not_equal(jstr(t, "id"), acme);
	}
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tickets/%s", acme);
	expect(204, "DELETE", path, W.demo, NULL); /* leave acme tidy */
}

static void test_delete(void **state)
{
	char id[37], path[128];
	ticket_new_id(W.admin, "to delete", id);
	snprintf(path, sizeof path, "/v1/tickets/%s", id);
	expect(204, "DELETE", path, W.admin, NULL);
	expect(404, "GET", path, W.admin, NULL);
	expect(404, "PATCH", path, W.agent, "{\"priority\":\"low\"}");
	expect(404, "DELETE", path, W.admin, NULL);
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", id);
	expect(404, "POST", path, W.agent, "{\"body\":\"late\"}");
	expect(404, "DELETE", "/v1/tickets/nope", W.admin, NULL);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("tk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_get),
		cmocka_unit_test(test_create_validation),
		cmocka_unit_test(test_status_moves),
		cmocka_unit_test(test_patch_validation_and_etag),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_customer_visibility),
		cmocka_unit_test(test_cross_tenant),
		cmocka_unit_test(test_delete),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
