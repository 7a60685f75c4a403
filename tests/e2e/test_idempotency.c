/* End-to-end tests of Idempotency-Key through the gateway on the ticket
 * daemon's creates other than POST /v1/tickets (comments, automations, time
 * entries, satisfaction): a retry with the same key and body replays the
 * first reply (nothing created twice), another body or another ticket with
 * the key is a 422 problem naming Idempotency-Key, a key over 255
 * characters is refused. A key belongs to the tenant, the caller and the
 * route: another route, or another user of the tenant, reusing it gets its
 * own result. Runs in a fresh tenant of its own (tickets_e2e.h). */
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
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
}

/* Asserts a 201: the key is another route's or another caller's. */
static void kpost_201(const char *path, const char *token, const char *body, const char *key)
{
	httpc_resp r;
	long st = kpost(&r, path, token, body, key);
	if (st != 201)
		fprintf(stderr, "POST %s: %ld %s\n", path, st, r.body);
	assert_int_equal(st, 201);
	httpc_resp_free(&r);
}

/* Asserts that a key of 256 characters is refused (400 or 422). */
static void kpost_long_key(const char *path, const char *token, const char *body)
{
	char longkey[300];
	httpc_resp r;
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	long st = kpost(&r, path, token, body, longkey);
	httpc_resp_free(&r);
	assert_true(st == 400 || st == 422);
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
	kpost_201("/v1/tickets", W.cust1, "{\"subject\":\"x\"}", key);
	assert_int_equal(count_items(path, W.agent), 1);
	assert_int_equal(count_items(path2, W.agent), 0);

	kpost_long_key(path, W.cust1, "{\"body\":\"x\"}");
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

/* time_spent_minutes of ticket id. */
static long spent(const char *id)
{
	cJSON *j = tk_ticket_get(W.agent, id);
	long m = jnum(j, "time_spent_minutes");
	cJSON_Delete(j);
	return m;
}

static void test_time_entries(void **state)
{
	char t[37], t2[37], key[64], path[128], path2[128];
	const char *body = "{\"minutes\":15,\"note\":\"retried\"}";
	ticket_new_id(W.cust1, "retried time entry", t);
	ticket_new_id(W.cust1, "retried time entry 2", t2);
	tk_path(path, sizeof path, t, "/time-entries");
	tk_path(path2, sizeof path2, t2, "/time-entries");
	key_make(key, "et");
	cJSON *e = kpost_twice(path, W.agent, body, key);
	assert_int_equal(jnum(e, "minutes"), 15);
	assert_string_equal(jstr(e, "user_id"), W.agent_id);
	cJSON_Delete(e);
	assert_int_equal(count_items(path, W.agent), 1);
	assert_int_equal(spent(t), 15);
	kpost_422(path, W.agent, "{\"minutes\":16,\"note\":\"retried\"}", key);
	kpost_422(path2, W.agent, body, key);
	kpost_201("/v1/tickets", W.agent, "{\"subject\":\"x\"}", key);
	kpost_long_key(path, W.agent, body);
	assert_int_equal(count_items(path, W.agent), 1);
	assert_int_equal(count_items(path2, W.agent), 0);
	assert_int_equal(spent(t), 15);
	assert_int_equal(spent(t2), 0);
}

/* A rating retried with its key replays the 201 where a retry without the
 * key is 409 (rated once); the ticket changes once. */
static void test_satisfaction(void **state)
{
	char t[37], t2[37], key[64], path[128], path2[128];
	const char *body = "{\"rating\":\"good\",\"comment\":\"retried\"}";
	ticket_new_id(W.cust1, "retried rating", t);
	ticket_new_id(W.cust1, "retried rating 2", t2);
	tk_ticket_move(t, "solved");
	tk_ticket_move(t2, "solved");
	tk_path(path, sizeof path, t, "/satisfaction");
	tk_path(path2, sizeof path2, t2, "/satisfaction");
	cJSON *j = tk_ticket_get(W.cust1, t);
	long version = jnum(j, "version");
	cJSON_Delete(j);
	key_make(key, "es");
	cJSON *s = kpost_twice(path, W.cust1, body, key);
	assert_string_equal(jstr(s, "rating"), "good");
	assert_string_equal(jstr(s, "comment"), "retried");
	cJSON_Delete(s);
	kpost_422(path, W.cust1, "{\"rating\":\"bad\",\"comment\":\"retried\"}", key);
	kpost_422(path2, W.cust1, body, key);
	kpost_long_key(path2, W.cust1, body);
	expect(409, "POST", path, W.cust1, body);
	j = tk_ticket_get(W.cust1, t);
	assert_string_equal(jstr(j, "satisfaction"), "good");
	assert_int_equal(jnum(j, "version"), version + 1);
	cJSON_Delete(j);
	j = tk_ticket_get(W.cust1, t2);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "satisfaction")));
	cJSON_Delete(j);
}

/* Two customers of one tenant posting with one key: each gets their own
 * ticket, and each retry replays the caller's own reply. */
static void test_second_user_same_key(void **state)
{
	char key[64];
	const char *body = "{\"subject\":\"two users one key\"}";
	key_make(key, "eu");
	cJSON *a = kpost_twice("/v1/tickets", W.cust1, body, key);
	cJSON *b = kpost_twice("/v1/tickets", W.cust2, body, key);
	assert_string_not_equal(jstr(a, "id"), jstr(b, "id"));
	assert_string_equal(jstr(a, "requester_id"), W.cust1_id);
	assert_string_equal(jstr(b, "requester_id"), W.cust2_id);
	cJSON_Delete(a);
	cJSON_Delete(b);
	/* and the second one's key with another body is their own 422 */
	kpost_422("/v1/tickets", W.cust2, "{\"subject\":\"another\"}", key);
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
		cmocka_unit_test(test_time_entries),
		cmocka_unit_test(test_satisfaction),
		cmocka_unit_test(test_second_user_same_key),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
