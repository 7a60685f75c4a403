/* End-to-end tests of "one voice to the user" (docs/architecture.md,
 * "Service kit"): the same words for the same failure from every daemon,
 * 422s that name what is allowed, compact JSON, a ticket found by the number
 * people quote, ids that cannot exist as 404s naming the resource, unknown
 * query parameters refused on every list, and closed tickets that take no
 * more comments. Runs in a fresh tenant of its own. */
#include "tickets_e2e.h"

/* The reply's detail, and the message of its first error on field. */
static const char *field_message(const httpc_resp *r, const char *field)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r->json, "errors"))
	{
		if (strcmp(jstr(e, "field"), field) == 0)
			return jstr(e, "message");
	}
	return NULL;
}

static void test_same_words_everywhere(void **state)
{
	(void)state;
	httpc_resp r;
	/* a body that is not an object: 422 naming "body", in auth and ticket alike */
	assert_int_equal(req(&r, "POST", "/v1/tickets", W.agent, "[1,2]"), 422);
	assert_string_equal(jstr(r.json, "detail"), "validation failed");
	assert_string_equal(field_message(&r, "body"), "must be a JSON object");
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "POST", "/v1/users", W.admin, "[1,2]"), 422);
	assert_string_equal(jstr(r.json, "detail"), "validation failed");
	assert_string_equal(field_message(&r, "body"), "must be a JSON object");
	httpc_resp_free(&r);
	/* unknown query parameters: 422 naming them, on every list */
	static const char *const lists[] = { "/v1/tickets?colour=red", "/v1/users?colour=red",
		"/v1/automations?colour=red", NULL };
	for (size_t i = 0; lists[i] != NULL; i++) {
		assert_int_equal(req(&r, "GET", lists[i], W.admin, NULL), 422);
		assert_string_equal(jstr(r.json, "detail"), "validation failed");
		assert_string_equal(field_message(&r, "colour"), "unknown query parameter");
		httpc_resp_free(&r);
	}
	/* an enum names its allowed values */
	assert_int_equal(req(&r, "GET", "/v1/tickets?status=bogus", W.agent, NULL), 422);
	assert_string_equal(field_message(&r, "status"),
	    "must be one of: new, open, pending, on_hold, solved, closed");
	httpc_resp_free(&r);
}

static void test_ids_that_cannot_exist(void **state)
{
	(void)state;
	httpc_resp r;
	assert_int_equal(req(&r, "GET", "/v1/tickets/not-a-uuid", W.agent, NULL), 404);
	assert_string_equal(jstr(r.json, "detail"), "ticket not found");
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/tickets/not-a-uuid/comments", W.agent, NULL), 404);
	assert_string_equal(jstr(r.json, "detail"), "ticket not found");
	httpc_resp_free(&r);
	assert_int_equal(
	    req(&r, "GET", "/v1/tickets/01900000-0000-7000-8000-00000000dead", W.agent, NULL), 404);
	assert_string_equal(jstr(r.json, "detail"), "ticket not found");
	httpc_resp_free(&r);
}

static void test_compact_json(void **state)
{
	(void)state;
	char id[37], path[128];
	httpc_resp r;
	ticket_new_id(W.cust1, "compact please", id);
	tk_path(path, sizeof path, id, "/comments");
	expect(201, "POST", path, W.agent, "{\"body\":\"a reply, with a comma : and colon\"}");
	const char *paths[] = { path, "/v1/tickets", "/v1/auth/me", NULL };
	for (size_t i = 0; paths[i] != NULL; i++) {
		assert_int_equal(req(&r, "GET", paths[i], W.agent, NULL), 200);
		assert_null(strstr(r.body, "\" : "));
		assert_null(strstr(r.body, "\", \""));
		httpc_resp_free(&r);
	}
	/* white space inside strings is kept */
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_non_null(strstr(r.body, "a reply, with a comma : and colon"));
	httpc_resp_free(&r);
}

static void test_ticket_by_number(void **state)
{
	(void)state;
	char path[64];
	httpc_resp r;
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"the number I quote\"}");
	long number = jnum(t, "number");
	assert_true(number >= 1);
	snprintf(path, sizeof path, "/v1/tickets?number=%ld", number);
	const char *who[] = { W.agent, W.admin, W.cust1 };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(req(&r, "GET", path, who[i], NULL), 200);
		assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
		assert_string_equal(jstr(cJSON_GetArrayItem(jitems(&r), 0), "id"), jstr(t, "id"));
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor")));
		httpc_resp_free(&r);
	}
	/* another customer, or another tenant, does not see it */
	const char *blind[] = { W.cust2, W.demo };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(req(&r, "GET", path, blind[i], NULL), 200);
		assert_true(i == 1 || cJSON_GetArraySize(jitems(&r)) == 0);
		for (int k = 0; k < cJSON_GetArraySize(jitems(&r)); k++)
			assert_string_not_equal(
			    jstr(cJSON_GetArrayItem(jitems(&r), k), "id"), jstr(t, "id"));
		httpc_resp_free(&r);
	}
	expect(200, "GET", "/v1/tickets?number=999999999", W.agent, NULL);
	expect_invalid("GET", "/v1/tickets?number=abc", W.agent, NULL, "number");
	expect_invalid("GET", "/v1/tickets?number=0", W.agent, NULL, "number");
	expect_invalid("GET", "/v1/tickets?number=-3", W.agent, NULL, "number");
	cJSON_Delete(t);
}

static void test_closed_is_final(void **state)
{
	(void)state;
	char id[37], path[128], comments[128];
	httpc_resp r;
	ticket_new_id(W.cust1, "about to close", id);
	tk_path(path, sizeof path, id, "");
	tk_path(comments, sizeof comments, id, "/comments");
	/* a refused move says from what, to what, and what is allowed */
	assert_int_equal(req(&r, "PATCH", path, W.agent, "{\"status\":\"closed\"}"), 422);
	assert_string_equal(field_message(&r, "status"),
	    "cannot move a ticket from new to closed; from new: open, pending, on_hold, solved");
	httpc_resp_free(&r);
	tk_ticket_move(id, "solved");
	expect(201, "POST", comments, W.cust1, "{\"body\":\"thanks, solved\"}");
	tk_ticket_move(id, "closed");
	assert_int_equal(req(&r, "PATCH", path, W.agent, "{\"status\":\"open\"}"), 422);
	assert_string_equal(field_message(&r, "status"),
	    "cannot move a ticket from closed to open: closed is final");
	httpc_resp_free(&r);
	const char *writers[] = { W.cust1, W.agent, W.admin };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(
		    req(&r, "POST", comments, writers[i], "{\"body\":\"one more\"}"), 422);
		assert_non_null(strstr(jstr(r.json, "detail"), "closed is final"));
		httpc_resp_free(&r);
	}
	/* nothing was added */
	assert_int_equal(req(&r, "GET", comments, W.agent, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("tkv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_words_everywhere),
		cmocka_unit_test(test_ids_that_cannot_exist),
		cmocka_unit_test(test_compact_json),
		cmocka_unit_test(test_ticket_by_number),
		cmocka_unit_test(test_closed_is_final),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
