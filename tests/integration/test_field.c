/* Integration tests of hd-field over its real NNG interface against
 * PostgreSQL + PostGIS, with hd-auth and hd-ticket as its peers
 * (field_it.h): technicians and the user check, skills, location, nearby
 * search (KNN order equals a brute-force haversine order), work orders, the
 * status flow and its 422s, checklist, parts, history, events, roles and
 * tenants. Env as test_ticket.c. */
#include "hd/json.h"
#include "field_it.h"

static struct {
	it_who admin, agent, tech, tech2, cust, other, agent_user;
	char tech_id[37], tech2_id[37];
} U;

static int group_setup(void **state)
{
	(void)state;
	it_who ready;
	it_who_make(&ready, NULL, "admin");
	if (fit_start(&ready) != 0)
		return -1;
	fit_user(&U.admin, NULL, "admin");
	fit_user(&U.agent, U.admin.tenant, "agent");
	fit_user(&U.tech, U.admin.tenant, "technician");
	fit_user(&U.tech2, U.admin.tenant, "technician");
	fit_user(&U.cust, U.admin.tenant, "customer");
	fit_user(&U.other, NULL, "admin");
	return 0;
}

static void test_technician_create(void **state)
{
	(void)state;
	char body[512];
	/* the user check at hd-auth: another role, an unknown user, another tenant */
	snprintf(body, sizeof body, "{\"user_id\":\"%s\"}", U.agent.user);
	it_check_422("user_id", "technicians.create", &U.admin, NULL, body);
	it_check_422("user_id", "technicians.create", &U.admin, NULL,
	    "{\"user_id\":\"01900000-0000-7000-8000-00000000dead\"}");
	snprintf(body, sizeof body, "{\"user_id\":\"%s\"}", U.tech.user);
	it_check_422("user_id", "technicians.create", &U.other, NULL, body);
	it_check(403, "technicians.create", &U.agent, NULL, body);
	it_check(403, "technicians.create", &U.tech, NULL, body);
	/* bad input: nothing written */
	snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"location\":{\"lat\":91,\"lon\":0}}",
	    U.tech.user);
	it_check_422("location.lat", "technicians.create", &U.admin, NULL, body);
	snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"location\":{\"lat\":0,\"lon\":-181}}",
	    U.tech.user);
	it_check_422("location.lon", "technicians.create", &U.admin, NULL, body);
	snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"skills\":[\"a,b\"]}", U.tech.user);
	it_check_422("skills", "technicians.create", &U.admin, NULL, body);
	snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"skills\":[\"%065d\"]}", U.tech.user, 0);
	it_check_422("skills", "technicians.create", &U.admin, NULL, body);
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"working_hours\":{\"timezone\":\"Mars/Olympus\","
	    "\"days\":{\"mon\":[[\"09:00\",\"17:00\"]]}}}",
	    U.tech.user);
	it_check_422("working_hours.timezone", "technicians.create", &U.admin, NULL, body);
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"working_hours\":{\"timezone\":\"UTC\",\"days\":{\"mon\":[[\"17:"
	    "00\","
	    "\"09:00\"]]}}}",
	    U.tech.user);
	it_check_422("working_hours.days", "technicians.create", &U.admin, NULL, body);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.technicians WHERE tenant_id = $1",
	                     U.admin.tenant, NULL),
	    0);
	/* skills trimmed, lower case, unique, sorted */
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\"  HVAC \",\"hvac\",\"Electric\"],"
	    "\"location\":{\"lat\":48.85,\"lon\":2.35}}",
	    U.tech.user);
	daemon_reply r = it_call("technicians.create", &U.admin, NULL, NULL, body);
	it_expect_status(&r, 201);
	strcpy(U.tech_id, it_str(r.json, "id"));
	char *skills = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.json, "skills"));
	assert_string_equal(skills, "[\"electric\",\"hvac\"]");
	free(skills);
	assert_string_equal(it_header(&r, "etag"), "\"1\"");
	daemon_reply_free(&r);
	it_check(409, "technicians.create", &U.admin, NULL, body);
	fit_technician(&U.admin, &U.tech2, 48.86, 2.36, "\"skills\":[\"plumbing\"]", U.tech2_id);
}

static void test_technician_access(void **state)
{
	(void)state;
	it_check(200, "technicians.get", &U.agent, U.tech_id, NULL);
	it_check(200, "technicians.get", &U.tech, U.tech_id, NULL);
	it_check(404, "technicians.get", &U.tech2, U.tech_id, NULL);
	it_check(403, "technicians.get", &U.cust, U.tech_id, NULL);
	it_check(404, "technicians.get", &U.other, U.tech_id, NULL);
	it_check(401, "technicians.get", NULL, U.tech_id, NULL);
	/* location: self or an admin; last_seen_at set */
	it_check(204, "technicians.location", &U.tech, U.tech_id, "{\"lat\":48.8,\"lon\":2.3}");
	it_check(204, "technicians.location", &U.admin, U.tech_id, "{\"lat\":48.8,\"lon\":2.3}");
	it_check(404, "technicians.location", &U.tech2, U.tech_id, "{\"lat\":48.8,\"lon\":2.3}");
	it_check(403, "technicians.location", &U.agent, U.tech_id, "{\"lat\":48.8,\"lon\":2.3}");
	it_check_422(
	    "lat", "technicians.location", &U.tech, U.tech_id, "{\"lat\":-90.5,\"lon\":2}");
	it_check_422("lon", "technicians.location", &U.tech, U.tech_id, "{\"lat\":1}");
	it_check_422(
	    "x", "technicians.location", &U.tech, U.tech_id, "{\"lat\":1,\"lon\":1,\"x\":1}");
	daemon_reply r = it_call("technicians.get", &U.tech, U.tech_id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_non_null(it_str(r.json, "last_seen_at"));
	const cJSON *loc = cJSON_GetObjectItemCaseSensitive(r.json, "location");
	assert_true(fabs(cJSON_GetObjectItemCaseSensitive(loc, "lat")->valuedouble - 48.8) < 1e-9);
	daemon_reply_free(&r);
	/* PATCH with If-Match */
	it_check_h(412, "technicians.update", &U.admin, U.tech_id, "{\"available\":false}",
	    "if-match", "\"99\"");
	r = it_call_h("technicians.update", &U.tech, U.tech_id, NULL,
	    "{\"available\":false,\"skills\":[\"HVAC\"]}", "if-match", "\"1\"");
	it_expect_status(&r, 200);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "available")));
	assert_string_equal(it_header(&r, "etag"), "\"2\"");
	daemon_reply_free(&r);
	it_check(200, "technicians.update", &U.admin, U.tech_id,
	    "{\"available\":true,\"skills\":[\"electric\",\"hvac\"]}");
	it_check_422("user_id", "technicians.update", &U.admin, U.tech_id, "{\"user_id\":null}");
}

/* Random technicians around Paris, seeded as the superuser; the list around
 * a point must come in the order of a brute-force haversine sort. */
static void test_nearby_knn(void **state)
{
	(void)state;
	enum { N = 300 };
	it_who owner, who;
	static double lat[N], lon[N];
	static char ids[N][37];
	char lats[N * 16 + 2] = "{", lons[N * 16 + 2] = "{", idl[N * 38 + 2] = "{";
	fit_user(&owner, NULL, "admin");
	srand(42);
	for (int i = 0; i < N; i++) {
		lat[i] = 48.6 + 0.5 * rand() / (double)RAND_MAX;
		lon[i] = 2.0 + 0.7 * rand() / (double)RAND_MAX;
		assert_int_equal(hd_uuid_v7(ids[i]), HD_OK);
		char num[24];
		snprintf(num, sizeof num, "%s%.6f", i ? "," : "", lat[i]);
		strcat(lats, num);
		snprintf(num, sizeof num, "%s%.6f", i ? "," : "", lon[i]);
		strcat(lons, num);
		strcat(idl, i ? "," : "");
		strcat(idl, ids[i]);
	}
	strcat(lats, "}");
	strcat(lons, "}");
	strcat(idl, "}");
	char arrays[N * 70];
	snprintf(arrays, sizeof arrays, "%s|%s|%s", idl, lats, lons);
	fit_sql("INSERT INTO field.technicians (tenant_id, id, user_id, skills, location)"
	        " SELECT $1::uuid, i, gen_random_uuid(), CASE WHEN n % 2 = 0 THEN '{hvac}'::text[]"
	        " ELSE '{}' END, ST_SetSRID(ST_MakePoint(lo, la), 4326)::geography"
	        " FROM unnest(split_part($2, '|', 1)::uuid[], split_part($2, '|', 2)::float8[],"
	        " split_part($2, '|', 3)::float8[]) WITH ORDINALITY AS x(i, la, lo, n)",
	    owner.tenant, arrays);
	it_who_make(&who, owner.tenant, "agent");
	const double at_lat = 48.85, at_lon = 2.35, radius = 10.0;
	/* brute force: ids in haversine order within the radius, hvac only */
	int order[N], n = 0;
	for (int i = 0; i < N; i++)
		if (i % 2 == 1 && fit_haversine_km(at_lat, at_lon, lat[i], lon[i]) <= radius)
			order[n++] = i;
	for (int a = 1; a < n; a++)
		for (int b = a; b > 0
		     && fit_haversine_km(at_lat, at_lon, lat[order[b]], lon[order[b]])
		         < fit_haversine_km(at_lat, at_lon, lat[order[b - 1]], lon[order[b - 1]]);
		     b--) {
			int t = order[b];
			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	assert_true(n > 5);
	daemon_reply r = it_call("technicians.list", &who, NULL,
	    "near=48.85,2.35&radius_km=10&skill=HVAC&limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items"), *it;
	assert_int_equal(cJSON_GetArraySize(items), n < 100 ? n : 100);
	int k = 0;
	cJSON_ArrayForEach(it, items)
	{
		int i = order[k++];
		double km = cJSON_GetObjectItemCaseSensitive(it, "distance_km")->valuedouble;
		if (strcmp(it_str(it, "id"), ids[i]) != 0)
			fail_msg("item %d: %s at %.4f km, brute force %s at %.4f km", k - 1,
			    it_str(it, "id"), km, ids[i],
			    fit_haversine_km(at_lat, at_lon, lat[i], lon[i]));
		assert_true(fabs(km - fit_haversine_km(at_lat, at_lon, lat[i], lon[i])) < 0.002);
	}
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor")));
	daemon_reply_free(&r);
	/* bad filters */
	r = it_call("technicians.list", &who, NULL, "near=91,2", NULL);
	it_expect_422(&r, "near");
	r = it_call("technicians.list", &who, NULL, "near=NaN,2", NULL);
	it_expect_422(&r, "near");
	r = it_call("technicians.list", &who, NULL, "near=1,2&radius_km=-1", NULL);
	it_expect_422(&r, "radius_km");
	r = it_call("technicians.list", &who, NULL, "radius_km=3", NULL);
	it_expect_422(&r, "radius_km");
	r = it_call("technicians.list", &who, NULL, "skill=a,,b", NULL);
	it_expect_422(&r, "skill");
	r = it_call("technicians.list", &who, NULL, "available=maybe", NULL);
	it_expect_422(&r, "available");
	/* plain list: keyset pages */
	r = it_call("technicians.list", &who, NULL, "limit=100&skill=hvac", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 100);
	assert_non_null(it_str(r.json, "next_cursor"));
	daemon_reply_free(&r);
}

static void test_work_order_input(void **state)
{
	(void)state;
	const char *ok_win
	    = "\"window\":{\"start\":\"2030-01-07T10:00:00Z\",\"end\":\"2030-01-07T12:00:00Z\"}";
	char body[512];
	snprintf(
	    body, sizeof body, "{\"title\":\"t\",\"location\":{\"lat\":95,\"lon\":2},%s}", ok_win);
	it_check_422("location.lat", "work_orders.create", &U.agent, NULL, body);
	it_check_422("window.end", "work_orders.create", &U.agent, NULL,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},\"window\":{\"start\":"
	    "\"2030-01-07T12:00:00Z\",\"end\":\"2030-01-07T10:00:00Z\"}}");
	it_check_422("window.end", "work_orders.create", &U.agent, NULL,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},\"window\":{\"start\":"
	    "\"2030-01-07T12:00:00Z\",\"end\":\"2030-01-07T12:00:00Z\"}}");
	it_check_422("window", "work_orders.create", &U.agent, NULL,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},\"window\":{\"start\":"
	    "\"2030-01-01T00:00:00Z\",\"end\":\"2030-03-01T00:00:00Z\"}}");
	it_check_422("window.start", "work_orders.create", &U.agent, NULL,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},\"window\":{}}");
	it_check_422("window.start", "work_orders.create", &U.agent, NULL,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},\"window\":{\"start\":"
	    "\"2030-02-30T00:00:00Z\",\"end\":\"2030-03-01T00:00:00Z\"}}");
	snprintf(body, sizeof body,
	    "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},%s,\"ticket_id\":"
	    "\"01900000-0000-7000-8000-00000000dead\"}",
	    ok_win);
	it_check_422("ticket_id", "work_orders.create", &U.agent, NULL, body);
	snprintf(body, sizeof body, "{\"location\":{\"lat\":1,\"lon\":2},%s}", ok_win);
	it_check_422("title", "work_orders.create", &U.agent, NULL, body);
	snprintf(
	    body, sizeof body, "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},%s}", ok_win);
	it_check(403, "work_orders.create", &U.tech, NULL, body);
	it_check(403, "work_orders.create", &U.cust, NULL, body);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.work_orders WHERE tenant_id = $1",
	                     U.admin.tenant, NULL),
	    0);
	/* a ticket of the tenant links (checked at hd-ticket) */
	char ticket[37], wo[37], extra[128];
	fit_ticket(&U.agent, ticket);
	snprintf(extra, sizeof extra, "\"ticket_id\":\"%s\"", ticket);
	fit_work_order(
	    &U.agent, 48.85, 2.35, "2030-01-07T10:00:00Z", "2030-01-07T12:00:00Z", extra, wo);
	/* Idempotency-Key: the same request replays the first reply, another is 422 */
	const char *keyed = "{\"title\":\"keyed\",\"location\":{\"lat\":1,\"lon\":2},"
	                    "\"window\":{\"start\":\"2030-01-07T10:00:00Z\",\"end\":"
	                    "\"2030-01-07T11:00:00Z\"}}";
	daemon_reply k1 = it_call_h(
	    "work_orders.create", &U.agent, NULL, NULL, keyed, "idempotency-key", "wo-key-1");
	daemon_reply k2 = it_call_h(
	    "work_orders.create", &U.agent, NULL, NULL, keyed, "idempotency-key", "wo-key-1");
	it_expect_status(&k1, 201);
	it_expect_status(&k2, 201);
	assert_string_equal(k1.body, k2.body);
	assert_string_equal(it_header(&k1, "location"), it_header(&k2, "location"));
	daemon_reply_free(&k1);
	daemon_reply_free(&k2);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.work_orders WHERE tenant_id = $1::uuid"
	                         " AND title = 'keyed'",
	                     U.admin.tenant, NULL),
	    1);
	it_check_h(422, "work_orders.create", &U.agent, NULL, body, "idempotency-key", "wo-key-1");
	/* a ticket of another tenant does not */
	snprintf(body, sizeof body, "{\"title\":\"t\",\"location\":{\"lat\":1,\"lon\":2},%s,%s}",
	    ok_win, extra);
	it_check_422("ticket_id", "work_orders.create", &U.other, NULL, body);
}

/* Every field.outbox row of the tenant is what proto/events.def lists. */
static int outbox_check(const char *tenant, const char *type)
{
	char *rows = NULL, why[160];
	int n = 0;
	const char *p[1] = { tenant };
	assert_int_equal(hd_db_exec_sync(fit_super_url(),
	                     "SELECT coalesce(string_agg(type || E'\\t' || data::text, E'\\n'"
	                     " ORDER BY seq), '') FROM field.outbox WHERE tenant_id = $1",
	                     1, p, &rows),
	    HD_OK);
	for (char *line = strtok(rows, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		*tab = '\0';
		cJSON *data = cJSON_Parse(tab + 1);
		if (!hd_event_payload_check(line, data, why, sizeof why))
			fail_msg("outbox row: %s\n%s", why, tab + 1);
		n += strcmp(line, type) == 0;
		cJSON_Delete(data);
	}
	free(rows);
	return n;
}

static void test_status_flow(void **state)
{
	(void)state;
	char wo[37], item[37], body[160];
	fit_work_order(&U.agent, 48.801, 2.301, "2030-01-08T10:00:00Z", "2030-01-08T12:00:00Z",
	    "\"required_skills\":[\"HVAC\"]", wo);
	it_check_422("status", "work_orders.update", &U.agent, wo, "{\"status\":\"en_route\"}");
	it_check_422("status", "work_orders.update", &U.agent, wo, "{\"status\":\"unassigned\"}");
	it_check(404, "work_orders.get", &U.tech, wo, NULL); /* not theirs yet */
	daemon_reply r = it_call("work_orders.dispatch", &U.agent, wo, NULL, "{}");
	it_expect_status(&r, 200);
	assert_non_null(it_str(r.json, "technician_id"));
	assert_string_equal(it_str(r.json, "technician_id"), U.tech_id);
	assert_string_equal(it_str(r.json, "status"), "scheduled");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "distance_km")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "eta_minutes")));
	daemon_reply_free(&r);
	it_check(409, "work_orders.dispatch", &U.agent, wo, "{}");
	/* the technician: own work order, status and notes, not the title */
	it_check(200, "work_orders.get", &U.tech, wo, NULL);
	it_check(404, "work_orders.get", &U.tech2, wo, NULL);
	it_check(404, "work_orders.get", &U.other, wo, NULL);
	it_check_422("title", "work_orders.update", &U.tech, wo, "{\"title\":\"mine\"}");
	it_check(404, "work_orders.update", &U.tech2, wo, "{\"notes\":\"x\"}");
	it_check(200, "work_orders.update", &U.tech, wo,
	    "{\"status\":\"en_route\",\"notes\":\"on my way\"}");
	r = it_call(
	    "checklist.create", &U.tech, wo, NULL, "{\"text\":\"check valve\",\"required\":true}");
	it_expect_status(&r, 201);
	strcpy(item, it_str(r.json, "id"));
	daemon_reply_free(&r);
	it_check(404, "checklist.create", &U.tech2, wo, "{\"text\":\"x\"}");
	it_check(201, "checklist.create", &U.agent, wo, "{\"text\":\"optional\"}");
	it_check(201, "parts.create", &U.tech, wo, "{\"sku\":\"V-1\",\"quantity\":2}");
	it_check_422("quantity", "parts.create", &U.tech, wo, "{\"sku\":\"V-1\",\"quantity\":0}");
	it_check(404, "parts.create", &U.tech2, wo, "{\"sku\":\"V-1\",\"quantity\":1}");
	r = it_call("parts.list", &U.agent, wo, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);
	it_check(200, "work_orders.update", &U.tech, wo, "{\"status\":\"on_site\"}");
	/* completed needs the required item done; signed_by only with completed */
	it_check_422("status", "work_orders.update", &U.tech, wo, "{\"status\":\"completed\"}");
	it_check_422("signed_by", "work_orders.update", &U.tech, wo, "{\"signed_by\":\"Ann\"}");
	snprintf(body, sizeof body, "{\"done\":true}");
	daemon_reply c = it_call_h("checklist.update", &U.tech, wo, NULL, body, NULL, NULL);
	it_expect_status(&c, 404); /* no item id in the path */
	daemon_reply_free(&c);
	{
		/* checklist.update needs both path ids: call it by hand */
		hd_envelope env;
		daemon_reply rr;
		memset(&env, 0, sizeof env);
		env.version = HD_ENVELOPE_VERSION;
		strcpy(env.op, "checklist.update");
		strcpy(env.tenant_id, U.tech.tenant);
		strcpy(env.user_id, U.tech.user);
		strcpy(env.role, "technician");
		env.deadline_ms = 0;
		assert_int_equal(hd_envelope_add_param(&env, "id", wo), HD_OK);
		assert_int_equal(hd_envelope_add_param(&env, "item", item), HD_OK);
		env.body = body;
		env.body_len = strlen(body);
		assert_int_equal(daemon_child_call(IT.client, &env, 10000, &rr), HD_OK);
		it_expect_status(&rr, 200);
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rr.json, "done")));
		daemon_reply_free(&rr);
	}
	r = it_call("work_orders.update", &U.tech, wo, NULL,
	    "{\"status\":\"completed\",\"signed_by\":\"Ann Customer\"}");
	it_expect_status(&r, 200);
	const cJSON *so = cJSON_GetObjectItemCaseSensitive(r.json, "sign_off");
	if (!cJSON_IsObject(so))
		fail_msg("no sign_off: %s", r.body);
	assert_string_equal(it_str(so, "signed_by"), "Ann Customer");
	assert_non_null(it_str(so, "signed_at"));
	assert_non_null(it_str(r.json, "completed_at"));
	daemon_reply_free(&r);
	it_check_422("status", "work_orders.update", &U.agent, wo, "{\"status\":\"cancelled\"}");
	/* history of every change, with actor */
	r = it_call("work_orders.history", &U.agent, wo, NULL, NULL);
	it_expect_status(&r, 200);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")) >= 8);
	daemon_reply_free(&r);
	it_check(403, "work_orders.history", &U.tech, wo, NULL);
	/* events, each payload as proto/events.def says */
	assert_true(outbox_check(U.admin.tenant, "workorder.created") >= 1);
	assert_int_equal(outbox_check(U.admin.tenant, "workorder.dispatched"), 1);
	assert_int_equal(outbox_check(U.admin.tenant, "workorder.status_changed"), 3);
	assert_int_equal(outbox_check(U.admin.tenant, "workorder.completed"), 1);
	/* field_events.since: the tenant's published events, to staff */
	for (int i = 0; i < 150; i++) {
		r = it_call("field_events.since", &U.agent, NULL, "after_seq=0&limit=1000", NULL);
		it_expect_status(&r, 200);
		int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items"));
		daemon_reply_free(&r);
		if (n >= 6)
			break;
		if (i == 149)
			fail_msg("field_events.since: %d events after 3 s", n);
		usleep(20000);
	}
	it_check(403, "field_events.since", &U.tech, NULL, NULL);
	/* If-Match on work orders */
	char wo2[37];
	fit_work_order(&U.agent, 1, 2, "2031-01-08T10:00:00Z", "2031-01-08T12:00:00Z", "", wo2);
	it_check_h(
	    412, "work_orders.update", &U.agent, wo2, "{\"title\":\"x\"}", "if-match", "\"7\"");
	it_check_h(200, "work_orders.update", &U.agent, wo2, "{\"status\":\"cancelled\"}",
	    "if-match", "\"1\"");
	assert_int_equal(outbox_check(U.admin.tenant, "workorder.cancelled"), 1);
	/* lists: the technician sees their own only */
	r = it_call("work_orders.list", &U.tech2, NULL, NULL, NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 0);
	daemon_reply_free(&r);
	r = it_call("work_orders.list", &U.tech, NULL, "status=completed", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);
	r = it_call("work_orders.list", &U.agent, NULL,
	    "from=2031-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", NULL);
	it_expect_422(&r, "to");
	/* schedule: in time order, self or staff */
	r = it_call("technicians.schedule", &U.tech, U.tech_id,
	    "from=2030-01-08T00:00:00Z&to=2030-01-09T00:00:00Z", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);
	r = it_call("technicians.schedule", &U.tech2, U.tech_id,
	    "from=2030-01-08T00:00:00Z&to=2030-01-09T00:00:00Z", NULL);
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
	r = it_call("technicians.schedule", &U.agent, U.tech_id, "from=2030-01-08T00:00:00Z", NULL);
	it_expect_422(&r, "to");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_technician_create),
		cmocka_unit_test(test_technician_access),
		cmocka_unit_test(test_nearby_knn),
		cmocka_unit_test(test_work_order_input),
		cmocka_unit_test(test_status_flow),
	};
	return cmocka_run_group_tests(tests, group_setup, fit_stop);
}
