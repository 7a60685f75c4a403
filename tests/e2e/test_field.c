/* End-to-end tests of the field service through the gateway (HTTP, real
 * tokens, every route of docs/openapi.yaml "Field service" with its roles): technicians
 * (create with the user check, self reads and location), nearby search,
 * work orders, dispatch, the technician's own work orders (status, notes,
 * checklist, parts), schedule, history and cross-tenant 404s; dispatch to a
 * technician chosen by hand (docs/architecture.md, "Dispatch"). Environment
 * as tickets_e2e.h. */
#include "tickets_e2e.h"

static struct {
	char *tech1, *tech2;
	char tech1_user[37], tech2_user[37], tech1_id[37], tech2_id[37];
	char wo[37], item[37];
} F;

static int setup(void **state)
{
	(void)state;
	if (tk_setup("fs") != 0)
		return -1;
	F.tech1 = user_login("tech1", "technician", F.tech1_user);
	F.tech2 = user_login("tech2", "technician", F.tech2_user);
	return 0;
}

static int teardown(void **state)
{
	free(F.tech1);
	free(F.tech2);
	return tk_teardown(state);
}

/* POSTs body to path as token, expects status and copies the reply's id. */
static void create(const char *path, const char *token, const char *body, long status, char id[37])
{
	httpc_resp r;
	long got = req(&r, "POST", path, token, body);
	if (got != status)
		fprintf(stderr, "POST %s: %ld %s\n", path, got, r.body);
	assert_int_equal(got, status);
	if (id != NULL)
		snprintf(id, 37, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
}

static void test_technicians(void **state)
{
	(void)state;
	char body[512], path[160];
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\" Boilers "
	    "\"],\"location\":{\"lat\":45.76,\"lon\":4.83}}",
	    F.tech1_user);
	expect(403, "POST", "/v1/technicians", W.agent, body);
	expect(403, "POST", "/v1/technicians", F.tech1, body);
	snprintf(body, sizeof body, "{\"user_id\":\"%s\"}", W.agent_id);
	expect_invalid("POST", "/v1/technicians", W.admin, body, "user_id");
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\" Boilers "
	    "\"],\"location\":{\"lat\":45.76,\"lon\":4.83}}",
	    F.tech1_user);
	create("/v1/technicians", W.admin, body, 201, F.tech1_id);
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\"boilers\"],\"location\":{\"lat\":45.70,\"lon\":4.90}"
	    "}",
	    F.tech2_user);
	create("/v1/technicians", W.admin, body, 201, F.tech2_id);
	snprintf(path, sizeof path, "/v1/technicians/%s", F.tech1_id);
	expect(200, "GET", path, F.tech1, NULL);
	expect(404, "GET", path, F.tech2, NULL);
	expect(200, "GET", path, W.agent, NULL);
	expect(403, "GET", path, W.cust1, NULL);
	expect(404, "GET", path, W.demo, NULL);
	expect(200, "PATCH", path, F.tech1, "{\"available\":true}");
	/* a technician learns their own id; staff who are no technician: 404 */
	httpc_resp me;
	assert_int_equal(req(&me, "GET", "/v1/technicians/me", F.tech2, NULL), 200);
	assert_string_equal(jstr(me.json, "id"), F.tech2_id);
	assert_string_equal(jstr(me.json, "user_id"), F.tech2_user);
	httpc_resp_free(&me);
	expect(404, "GET", "/v1/technicians/me", W.admin, NULL);
	expect(403, "GET", "/v1/technicians/me", W.cust1, NULL);
	expect(401, "GET", "/v1/technicians/me", NULL, NULL);
	snprintf(path, sizeof path, "/v1/technicians/%s/location", F.tech1_id);
	expect(204, "PUT", path, F.tech1, "{\"lat\":45.75,\"lon\":4.85}");
	expect(404, "PUT", path, F.tech2, "{\"lat\":45.75,\"lon\":4.85}");
	expect(403, "PUT", path, W.agent, "{\"lat\":45.75,\"lon\":4.85}");
	expect_invalid("PUT", path, F.tech1, "{\"lat\":45.75,\"lon\":400}", "lon");
	/* nearby, nearest first with distance_km */
	httpc_resp r;
	assert_int_equal(
	    req(&r, "GET", "/v1/technicians?near=45.75,4.85&radius_km=50&skill=BOILERS", W.agent,
	        NULL),
	    200);
	const cJSON *items = jitems(&r);
	assert_int_equal(cJSON_GetArraySize(items), 2);
	assert_string_equal(jstr(cJSON_GetArrayItem(items, 0), "id"), F.tech1_id);
	assert_true(cJSON_IsNumber(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "distance_km")));
	httpc_resp_free(&r);
	expect_invalid("GET", "/v1/technicians?near=45.75", W.agent, NULL, "near");
	expect(403, "GET", "/v1/technicians", F.tech1, NULL);
	expect(403, "GET", "/v1/technicians", W.cust1, NULL);
	assert_int_equal(req(&r, "GET", "/v1/technicians", W.demo, NULL), 200);
	cJSON *it;
	cJSON_ArrayForEach(it, jitems(&r))
	{
		assert_string_not_equal(jstr(it, "id"), F.tech1_id);
	}
	httpc_resp_free(&r);
}

static void test_work_orders(void **state)
{
	(void)state;
	char path[200], ticket[37], body[512];
	ticket_new_id(W.agent, "boiler leaks", ticket);
	snprintf(body, sizeof body,
	    "{\"title\":\"Boiler\",\"ticket_id\":\"%s\",\"location\":{\"lat\":45.751,\"lon\":4.851,"
	    "\"address\":\"1 rue X\"},\"required_skills\":[\"boilers\"],\"window\":{\"start\":"
	    "\"2031-03-03T09:00:00Z\",\"end\":\"2031-03-03T11:00:00Z\"},\"priority\":\"high\"}",
	    ticket);
	create("/v1/work-orders", F.tech1, body, 403, NULL);
	create("/v1/work-orders", W.cust1, body, 403, NULL);
	create("/v1/work-orders", W.agent, body, 201, F.wo);
	expect_invalid("POST", "/v1/work-orders", W.agent,
	    "{\"title\":\"x\",\"location\":{\"lat\":1,\"lon\":1},\"window\":{\"start\":"
	    "\"2031-03-03T11:00:00Z\",\"end\":\"2031-03-03T09:00:00Z\"}}",
	    "window.end");
	snprintf(path, sizeof path, "/v1/work-orders/%s/dispatch", F.wo);
	expect(403, "POST", path, F.tech1, "{}");
	httpc_resp r;
	assert_int_equal(req(&r, "POST", path, W.agent, "{}"), 200);
	assert_string_equal(jstr(r.json, "technician_id"), F.tech1_id);
	assert_true(jnum(r.json, "eta_minutes") >= 1);
	httpc_resp_free(&r);
	expect(409, "POST", path, W.agent, "{}");
	snprintf(path, sizeof path, "/v1/work-orders/%s", F.wo);
	expect(200, "GET", path, F.tech1, NULL);
	expect(404, "GET", path, F.tech2, NULL);
	expect(404, "GET", path, W.demo, NULL);
	expect(403, "GET", path, W.cust1, NULL);
	expect_invalid("PATCH", path, F.tech1, "{\"priority\":\"low\"}", "priority");
	/* rescheduling: staff only, a valid window, inside the assigned time */
	expect_invalid("PATCH", path, F.tech1,
	    "{\"window\":{\"start\":\"2031-03-03T09:30:00Z\",\"end\":\"2031-03-03T10:30:00Z\"}}",
	    "window");
	expect_invalid("PATCH", path, W.agent,
	    "{\"window\":{\"start\":\"2031-03-03T10:30:00Z\",\"end\":\"2031-03-03T09:30:00Z\"}}",
	    "window.end");
	expect(200, "PATCH", path, W.agent,
	    "{\"window\":{\"start\":\"2031-03-03T09:30:00Z\",\"end\":\"2031-03-03T10:30:00Z\"}}");
	expect(200, "PATCH", path, F.tech1, "{\"status\":\"en_route\",\"notes\":\"leaving now\"}");
	/* checklist and parts: the assigned technician, not another */
	snprintf(path, sizeof path, "/v1/work-orders/%s/checklist", F.wo);
	assert_int_equal(
	    req(&r, "POST", path, F.tech1, "{\"text\":\"pressure test\",\"required\":true}"), 201);
	snprintf(F.item, sizeof F.item, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	expect(404, "POST", path, F.tech2, "{\"text\":\"x\"}");
	snprintf(path, sizeof path, "/v1/work-orders/%s/parts", F.wo);
	expect(201, "POST", path, F.tech1,
	    "{\"sku\":\"GASKET-9\",\"description\":\"gasket\",\"quantity\":3}");
	assert_int_equal(req(&r, "GET", path, F.tech1, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	expect(404, "GET", path, F.tech2, NULL);
	snprintf(path, sizeof path, "/v1/work-orders/%s", F.wo);
	expect(200, "PATCH", path, F.tech1, "{\"status\":\"on_site\"}");
	expect_invalid("PATCH", path, F.tech1, "{\"status\":\"completed\"}", "status");
	snprintf(path, sizeof path, "/v1/work-orders/%s/checklist/%s", F.wo, F.item);
	expect(404, "PATCH", path, F.tech2, "{\"done\":true}");
	expect(200, "PATCH", path, F.tech1, "{\"done\":true}");
	snprintf(path, sizeof path, "/v1/work-orders/%s", F.wo);
	assert_int_equal(req(&r, "PATCH", path, F.tech1,
	                     "{\"status\":\"completed\",\"signed_by\":\"M. Client\"}"),
	    200);
	assert_string_equal(jstr(r.json, "status"), "completed");
	httpc_resp_free(&r);
	/* lists, schedule and history */
	assert_int_equal(req(&r, "GET", "/v1/work-orders?status=completed", F.tech1, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/work-orders", F.tech2, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 0);
	httpc_resp_free(&r);
	snprintf(path, sizeof path,
	    "/v1/technicians/%s/schedule?from=2031-03-03T00:00:00Z&to=2031-03-04T00:00:00Z",
	    F.tech1_id);
	assert_int_equal(req(&r, "GET", path, F.tech1, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	expect(404, "GET", path, F.tech2, NULL);
	snprintf(path, sizeof path, "/v1/work-orders/%s/history", F.wo);
	expect(403, "GET", path, F.tech1, NULL);
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_true(cJSON_GetArraySize(jitems(&r)) >= 6);
	httpc_resp_free(&r);
}

/* Creates a work order needing skill in the window of 2031-04-01 from h1 to
 * h2 o'clock (UTC) as the agent. */
static void wo_new(const char *skill, int h1, int h2, char id[37])
{
	char body[400];
	snprintf(body, sizeof body,
	    "{\"title\":\"By hand\",\"location\":{\"lat\":45.752,\"lon\":4.852},"
	    "\"required_skills\":[\"%s\"],\"window\":{\"start\":\"2031-04-01T%02d:00:00Z\","
	    "\"end\":\"2031-04-01T%02d:00:00Z\"}}",
	    skill, h1, h2);
	create("/v1/work-orders", W.agent, body, 201, id);
}

static void dispatch_path(char *path, size_t n, const char *wo)
{
	snprintf(path, n, "/v1/work-orders/%s/dispatch", wo);
}

/* {"technician_id"}: the one chosen, even not available and farther than
 * another; 422 naming technician_id when unknown, unqualified or no longer
 * an active user, 409 on an overlapping work order. */
static void test_dispatch_by_hand(void **state)
{
	(void)state;
	char a[37], b[37], c[37], d[37], path[200], body[200];
	char tech3_user[37], tech3_id[37];
	wo_new("boilers", 9, 11, a);
	wo_new("boilers", 10, 12, b);
	wo_new("welding", 14, 15, c);
	wo_new("boilers", 16, 17, d);
	dispatch_path(path, sizeof path, a);
	expect_invalid("POST", path, W.agent, "{\"technician_id\":\"nope\"}", "technician_id");
	expect_invalid("POST", path, W.agent, "{\"technician_id\":7}", "technician_id");
	expect_invalid("POST", path, W.agent, "{\"technician\":\"x\"}", "technician");
	snprintf(body, sizeof body, "{\"technician_id\":\"%s\"}", W.admin_id);
	expect_invalid("POST", path, W.agent, body, "technician_id");
	snprintf(body, sizeof body, "{\"technician_id\":\"%s\"}", F.tech2_id);
	expect(403, "POST", path, F.tech2, body);
	/* tech1 is nearer and available; tech2 is chosen though not available */
	snprintf(path, sizeof path, "/v1/technicians/%s", F.tech2_id);
	expect(200, "PATCH", path, F.tech2, "{\"available\":false}");
	dispatch_path(path, sizeof path, a);
	httpc_resp r;
	assert_int_equal(req(&r, "POST", path, W.agent, body), 200);
	assert_string_equal(jstr(r.json, "technician_id"), F.tech2_id);
	assert_string_equal(jstr(r.json, "status"), "scheduled");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "distance_km")));
	httpc_resp_free(&r);
	expect(409, "POST", path, W.agent, body); /* no longer unassigned */
	dispatch_path(path, sizeof path, b);
	expect(409, "POST", path, W.agent, body); /* overlaps a */
	dispatch_path(path, sizeof path, c);
	expect_invalid("POST", path, W.agent, body, "technician_id"); /* no welding */
	/* null: the nearest, as with {} */
	dispatch_path(path, sizeof path, b);
	assert_int_equal(req(&r, "POST", path, W.agent, "{\"technician_id\":null}"), 200);
	assert_string_equal(jstr(r.json, "technician_id"), F.tech1_id);
	httpc_resp_free(&r);
	/* a technician whose user was deactivated since */
	free(user_login("tech3", "technician", tech3_user));
	snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"skills\":[\"boilers\"]}", tech3_user);
	create("/v1/technicians", W.admin, body, 201, tech3_id);
	snprintf(path, sizeof path, "/v1/users/%s", tech3_user);
	expect(204, "DELETE", path, W.admin, NULL);
	dispatch_path(path, sizeof path, d);
	snprintf(body, sizeof body, "{\"technician_id\":\"%s\"}", tech3_id);
	expect_invalid("POST", path, W.agent, body, "technician_id");
	snprintf(path, sizeof path, "/v1/technicians/%s", tech3_id);
	assert_int_equal(req(&r, "GET", path, W.agent, NULL), 200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	httpc_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_technicians),
		cmocka_unit_test(test_work_orders),
		cmocka_unit_test(test_dispatch_by_hand),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
