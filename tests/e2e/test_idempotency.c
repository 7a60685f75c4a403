/* End-to-end tests of Idempotency-Key through the gateway on the ticket
 * daemon's creates other than POST /v1/tickets: a retry with the same key
 * and body replays the first reply (nothing created twice), another body or
 * another route with the key is 422 naming Idempotency-Key, a key over 255
 * characters is refused. Runs in a fresh tenant of its own (tickets_e2e.h). */
#include "tickets_e2e.h"

/* POSTs body to path as token with Idempotency-Key key; returns the status. */
static long kpost(
    httpc_resp *r, const char *path, const char *token, const char *body, const char *key)
{
	char h[320];
	snprintf(h, sizeof h, "Idempotency-Key: %s", key);
	return req_h(r, "POST", path, token, body, h);
}

/* Asserts a 422 naming Idempotency-Key. */
static void kpost_422(const char *path, const char *token, const char *body, const char *key)
{
	httpc_resp r;
	long st = kpost(&r, path, token, body, key);
	if (st != 422 || !has_field_error(&r, "Idempotency-Key"))
		fprintf(stderr, "POST %s: %ld %s\n", path, st, r.body);
	assert_int_equal(st, 422);
	assert_true(has_field_error(&r, "Idempotency-Key"));
	httpc_resp_free(&r);
}

/* POSTs twice with key; asserts 201 and the same body both times. Returns
 * the first reply's JSON (caller deletes). */
static cJSON *kpost_twice(const char *path, const char *token, const char *body, const char *key)
{
	httpc_resp a, b;
	assert_int_equal(kpost(&a, path, token, body, key), 201);
	assert_int_equal(kpost(&b, path, token, body, key), 201);
	assert_string_equal(a.body, b.body);
	cJSON *j = a.json;
	a.json = NULL;
	httpc_resp_free(&a);
	httpc_resp_free(&b);
	return j;
}

static void key_make(char key[64], const char *what)
{
	char u[37];
	assert_int_equal(hd_uuid_v7(u), HD_OK);
	snprintf(key, 64, "%s-%s", what, u);
}

/* Counts the items of GET path as token. */
static int count_items(const char *path, const char *token)
{
	httpc_resp r;
	assert_int_equal(req(&r, "GET", path, token, NULL), 200);
	int n = cJSON_GetArraySize(jitems(&r));
	httpc_resp_free(&r);
	return n;
}

static void test_comments(void **state)
{
	char t[37], t2[37], key[64], path[128], path2[128];
	ticket_new_id(W.cust1, "retried comment", t);
	ticket_new_id(W.cust1, "retried comment 2", t2);
	snprintf(path, sizeof path, "/v1/tickets/%s/comments", t);
	snprintf(path2, sizeof path2, "/v1/tickets/%s/comments", t2);
	key_make(key, "ec");
	cJSON *c = kpost_twice(path, W.cust1, "{\"body\":\"hello once\"}", key);
	assert_string_equal(jstr(c, "body"), "hello once");
	cJSON_Delete(c);
	assert_int_equal(count_items(path, W.agent), 1);
	kpost_422(path, W.cust1, "{\"body\":\"hello twice\"}", key);
	kpost_422(path2, W.cust1, "{\"body\":\"hello once\"}", key);
	kpost_422("/v1/tickets", W.cust1, "{\"subject\":\"x\"}", key);
	assert_int_equal(count_items(path, W.agent), 1);
	assert_int_equal(count_items(path2, W.agent), 0);

	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	httpc_resp r;
	long st = kpost(&r, path, W.cust1, "{\"body\":\"x\"}", longkey);
	httpc_resp_free(&r);
	assert_true(st == 400 || st == 422);
	assert_int_equal(count_items(path, W.agent), 1);
}

static void test_automations(void **state)
{
	char key[64], body[200];
	key_make(key, "ea");
	snprintf(body, sizeof body,
	    "{\"name\":\"%s\",\"event\":\"ticket.created\","
	    "\"actions\":[{\"type\":\"add_tag\",\"value\":\"retried\"}]}",
	    key);
	cJSON *a = kpost_twice("/v1/automations", W.admin, body, key);
	assert_string_equal(jstr(a, "name"), key);
	cJSON_Delete(a);
	httpc_resp r;
	assert_int_equal(req(&r, "GET", "/v1/automations?limit=100", W.admin, NULL), 200);
	int same = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, jitems(&r))
	{
		const char *n = jstr(it, "name");
		same += n != NULL && strcmp(n, key) == 0;
	}
	httpc_resp_free(&r);
	assert_int_equal(same, 1);
	snprintf(body, sizeof body,
	    "{\"name\":\"%s\",\"event\":\"ticket.updated\","
	    "\"actions\":[{\"type\":\"add_tag\",\"value\":\"retried\"}]}",
	    key);
	kpost_422("/v1/automations", W.admin, body, key);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("idem");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_automations),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
