/* Integration tests of hd-field's dispatch against PostgreSQL + PostGIS
 * with hd-auth as the user check (field_it.h): the nearest qualified
 * technician wins; skills, availability, working hours, other work orders
 * and deactivation each exclude; nobody left is 409; and 50 concurrent
 * dispatches of overlapping work orders to 10 technicians never double-book
 * (every dispatch either got a technician or 409, and one SQL query finds
 * no overlap). Env as test_ticket.c. */
#include <pthread.h>
#include "field_it.h"

static struct {
	it_who admin, agent;
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
	return 0;
}

/* Dispatches wo as the agent; copies the technician chosen ("" on 409). */
static int dispatch(const char *wo, char tech[37])
{
	daemon_reply r = it_call("work_orders.dispatch", &U.agent, wo, NULL, "{}");
	int st = r.status;
	tech[0] = '\0';
	if (st == 200)
		strcpy(tech, it_str(r.json, "technician_id"));
	else if (st != 409)
		fail_msg("dispatch: %d %s", st, r.body);
	daemon_reply_free(&r);
	return st;
}

static void test_exclusions(void **state)
{
	(void)state;
	it_who t[6];
	char id[6][37], wo[37], got[37];
	for (int i = 0; i < 6; i++)
		fit_user(&t[i], U.admin.tenant, "technician");
	/* nearest first, each excluded for one reason */
	fit_technician(&U.admin, &t[0], 10.001, 10.0, "\"skills\":[\"gas\"]", id[0]); /* no hvac */
	fit_technician(
	    &U.admin, &t[1], 10.002, 10.0, "\"skills\":[\"hvac\"],\"available\":false", id[1]);
	fit_technician(&U.admin, &t[2], 10.003, 10.0,
	    "\"skills\":[\"hvac\"],\"working_hours\":{\"timezone\":\"Europe/Paris\","
	    "\"days\":{\"mon\":[[\"08:00\",\"11:00\"]]}}",
	    id[2]); /* 2030-01-07 is a Monday: 10:00-12:00 UTC is 11:00-13:00 in Paris */
	fit_technician(&U.admin, &t[3], 10.004, 10.0, "\"skills\":[\"hvac\",\"gas\"]",
	    id[3]); /* deactivated */
	fit_technician(&U.admin, &t[4], 10.005, 10.0,
	    "\"skills\":[\"hvac\"],\"working_hours\":{\"timezone\":\"Europe/Paris\","
	    "\"days\":{\"mon\":[[\"08:00\",\"18:00\"]]}}",
	    id[4]); /* busy in the window, then the winner */
	fit_technician(&U.admin, &t[5], 10.2, 10.0, "\"skills\":[\"hvac\"]", id[5]);
	fit_sql("UPDATE auth.users SET active = false WHERE id = $1::uuid", t[3].user, NULL);
	/* t[4] gets the first order; the second overlaps: t[5] */
	char wo1[37];
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-07T10:00:00Z", "2030-01-07T12:00:00Z",
	    "\"required_skills\":[\"HVAC\"]", wo1);
	assert_int_equal(dispatch(wo1, got), 200);
	assert_string_equal(got, id[4]);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.technicians WHERE id = $1::uuid"
	                         " AND NOT user_active",
	                     id[3], NULL),
	    1); /* seen deactivated at hd-auth: never picked again */
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-07T11:00:00Z", "2030-01-07T11:30:00Z",
	    "\"required_skills\":[\"hvac\"]", wo);
	assert_int_equal(dispatch(wo, got), 200);
	assert_string_equal(got, id[5]);
	/* the tech in working hours for a window that fits: 08:00-09:00 UTC = 09:00-10:00 Paris */
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-07T08:00:00Z", "2030-01-07T09:00:00Z",
	    "\"required_skills\":[\"hvac\"]", wo);
	assert_int_equal(dispatch(wo, got), 200);
	assert_string_equal(got, id[2]);
	/* a window on a Tuesday: outside t[2]'s and t[4]'s hours; t[5] free */
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-08T08:00:00Z", "2030-01-08T09:00:00Z",
	    "\"required_skills\":[\"hvac\"]", wo);
	assert_int_equal(dispatch(wo, got), 200);
	assert_string_equal(got, id[5]);
	/* a skill nobody available has: 409, nothing written */
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-07T10:00:00Z", "2030-01-07T12:00:00Z",
	    "\"required_skills\":[\"gas\",\"hvac\"]", wo);
	assert_int_equal(dispatch(wo, got), 409);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.work_orders WHERE id = $1::uuid"
	                         " AND status = 'unassigned' AND technician_id IS NULL",
	                     wo, NULL),
	    1);
	/* cancelling frees the technician for the window */
	it_check(200, "work_orders.update", &U.agent, wo1, "{\"status\":\"cancelled\"}");
	fit_work_order(&U.agent, 10.0, 10.0, "2030-01-07T10:30:00Z", "2030-01-07T11:30:00Z",
	    "\"required_skills\":[\"hvac\"]", wo);
	assert_int_equal(dispatch(wo, got), 200);
	assert_string_equal(got, id[4]);
	/* another tenant's work order is not found */
	it_who stranger;
	fit_user(&stranger, NULL, "agent");
	daemon_reply r = it_call("work_orders.dispatch", &stranger, wo, NULL, "{}");
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
	r = it_call("work_orders.dispatch", &U.agent, wo, NULL, "{\"x\":1}");
	it_expect_422(&r, "x");
}

/* Moving the window of a dispatched work order: only into time the
 * technician works and has free (409 otherwise, nothing changed); history
 * and workorder.rescheduled; never for a cancelled one; staff only. */
static void test_reschedule(void **state)
{
	(void)state;
	it_who t;
	char tech[37], a[37], b[37], got[37];
	fit_user(&t, U.admin.tenant, "technician");
	fit_technician(&U.admin, &t, 40.0, -3.0,
	    "\"skills\":[\"move\"],\"working_hours\":{\"timezone\":\"UTC\","
	    "\"days\":{\"mon\":[[\"08:00\",\"17:00\"]]}}",
	    tech);
	fit_work_order(&U.agent, 40.0, -3.0, "2030-01-14T08:00:00Z", "2030-01-14T10:00:00Z",
	    "\"required_skills\":[\"move\"]", a);
	fit_work_order(&U.agent, 40.0, -3.0, "2030-01-14T12:00:00Z", "2030-01-14T13:00:00Z",
	    "\"required_skills\":[\"move\"]", b);
	assert_int_equal(dispatch(a, got), 200);
	assert_string_equal(got, tech);
	assert_int_equal(dispatch(b, got), 200);
	assert_string_equal(got, tech);
	const char *overlap = "{\"window\":{\"start\":\"2030-01-14T09:00:00Z\","
	                      "\"end\":\"2030-01-14T12:30:00Z\"}}";
	const char *after_hours = "{\"window\":{\"start\":\"2030-01-14T16:00:00Z\","
	                          "\"end\":\"2030-01-14T18:00:00Z\"}}";
	const char *free_slot = "{\"window\":{\"start\":\"2030-01-14T14:00:00Z\","
	                        "\"end\":\"2030-01-14T15:30:00Z\"}}";
	it_check(409, "work_orders.update", &U.agent, b, overlap);
	it_check(409, "work_orders.update", &U.agent, b, after_hours);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.work_orders WHERE id = $1::uuid"
	                         " AND window_start = '2030-01-14T12:00:00Z' AND version = 2",
	                     b, NULL),
	    1);
	daemon_reply r = it_call("work_orders.update", &U.agent, b, NULL, free_slot);
	it_expect_status(&r, 200);
	const cJSON *win = cJSON_GetObjectItemCaseSensitive(r.json, "window");
	assert_string_equal(it_str(win, "start"), "2030-01-14T14:00:00.000Z");
	assert_string_equal(it_str(r.json, "technician_id"), tech);
	daemon_reply_free(&r);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.history WHERE work_order_id = $1::uuid"
	                         " AND field = 'window'"
	                         " AND old_value->>'start' = '2030-01-14T12:00:00.000Z'"
	                         " AND new_value->>'end' = '2030-01-14T15:30:00.000Z'",
	                     b, NULL),
	    1);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.outbox WHERE type ="
	                         " 'workorder.rescheduled' AND data->'work_order'->>'id' = $1"
	                         " AND data->'from'->>'start' = '2030-01-14T12:00:00.000Z'",
	                     b, NULL),
	    1);
	/* the old slot is free now: a moves into it */
	it_check(200, "work_orders.update", &U.agent, a, overlap);
	/* the technician may not move it; a cancelled one stays where it was */
	it_check_422("window", "work_orders.update", &t, b, free_slot);
	it_check(200, "work_orders.update", &U.agent, b, "{\"status\":\"cancelled\"}");
	it_check(409, "work_orders.update", &U.agent, b,
	    "{\"window\":{\"start\":\"2030-01-15T08:00:00Z\",\"end\":\"2030-01-15T09:00:00Z\"}}");
	/* unassigned: any valid window; a bad one is 422 */
	char c[37];
	fit_work_order(&U.agent, 40.0, -3.0, "2030-01-20T08:00:00Z", "2030-01-20T09:00:00Z", "", c);
	it_check(200, "work_orders.update", &U.agent, c,
	    "{\"window\":{\"start\":\"2030-01-21T08:00:00Z\",\"end\":\"2030-01-21T09:00:00Z\"}}");
	it_check_422("window.end", "work_orders.update", &U.agent, c,
	    "{\"window\":{\"start\":\"2030-01-21T08:00:00Z\",\"end\":\"2030-01-21T07:00:00Z\"}}");
}

enum { RACE_TECHS = 10, RACE_ORDERS = 50 };

static struct {
	char wo[RACE_ORDERS][37];
	char got[RACE_ORDERS][37];
	int status[RACE_ORDERS];
} R;

static void *race_one(void *arg)
{
	int i = (int)(intptr_t)arg;
	daemon_reply r = it_call("work_orders.dispatch", &U.agent, R.wo[i], NULL, "{}");
	R.status[i] = r.status;
	if (r.status == 200)
		strcpy(R.got[i], it_str(r.json, "technician_id"));
	daemon_reply_free(&r);
	return NULL;
}

static void test_race(void **state)
{
	(void)state;
	it_who t;
	char id[37];
	for (int i = 0; i < RACE_TECHS; i++) {
		fit_user(&t, U.admin.tenant, "technician");
		fit_technician(&U.admin, &t, -20.0 + i * 0.01, 30.0, "\"skills\":[\"race\"]", id);
	}
	/* overlapping windows: every pair overlaps */
	for (int i = 0; i < RACE_ORDERS; i++) {
		char start[32], end[32];
		snprintf(start, sizeof start, "2032-05-05T10:%02d:00Z", i % 50);
		snprintf(end, sizeof end, "2032-05-05T12:%02d:00Z", i % 50);
		fit_work_order(
		    &U.agent, -20.0, 30.0, start, end, "\"required_skills\":[\"race\"]", R.wo[i]);
	}
	pthread_t th[RACE_ORDERS];
	for (int i = 0; i < RACE_ORDERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_one, (void *)(intptr_t)i), 0);
	for (int i = 0; i < RACE_ORDERS; i++)
		pthread_join(th[i], NULL);
	int won = 0;
	for (int i = 0; i < RACE_ORDERS; i++) {
		if (R.status[i] != 200 && R.status[i] != 409)
			fail_msg("dispatch %d: %d", i, R.status[i]);
		won += R.status[i] == 200;
		for (int j = 0; j < i; j++)
			if (R.status[i] == 200 && R.status[j] == 200
			    && strcmp(R.got[i], R.got[j]) == 0) {
				char *rows = NULL;
				const char *p[1] = { R.got[i] };
				hd_db_exec_sync(fit_super_url(),
				    "SELECT string_agg(w.id || ' ' || w.status || ' ' || "
				    "w.window_start || ' '"
				    " || w.window_end || ' v' || w.version || ' xmin ' || w.xmin "
				    "|| ' h: ' || (SELECT"
				    " string_agg(h.field || '@' || h.at, ',') FROM field.history h "
				    "WHERE"
				    " h.work_order_id = w.id), E'\\n') FROM field.work_orders w"
				    " WHERE technician_id = $1::uuid",
				    1, p, &rows);
				fail_msg("work orders %s and %s both got technician %s:\n%s",
				    R.wo[i], R.wo[j], R.got[i], rows != NULL ? rows : "(none)");
			}
	}
	assert_int_equal(won, RACE_TECHS);
	/* the check after the run: no two active work orders of a technician overlap */
	assert_int_equal(
	    fit_sql("SELECT count(*) FROM field.work_orders a JOIN field.work_orders b"
	            " ON a.tenant_id = b.tenant_id AND a.technician_id = b.technician_id"
	            " AND a.id < b.id AND tstzrange(a.window_start, a.window_end)"
	            " && tstzrange(b.window_start, b.window_end)"
	            " WHERE a.status IN ('scheduled', 'en_route', 'on_site')"
	            " AND b.status IN ('scheduled', 'en_route', 'on_site')",
	        NULL, NULL),
	    0);
	assert_int_equal(fit_sql("SELECT count(*) FROM field.outbox WHERE tenant_id = $1::uuid"
	                         " AND type = 'workorder.dispatched'"
	                         " AND data -> 'work_order' ->> 'window' LIKE '%2032-05-05%'",
	                     U.admin.tenant, NULL),
	    RACE_TECHS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exclusions),
		cmocka_unit_test(test_reschedule),
		cmocka_unit_test(test_race),
	};
	return cmocka_run_group_tests(tests, group_setup, fit_stop);
}
