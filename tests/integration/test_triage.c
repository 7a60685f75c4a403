/* The auto-triage classifier (docs/architecture.md, "Auto-triage") with the
 * real hd-ticket and hd-knowledge against the test PostgreSQL: knowledge
 * consumes ticket's events (through ticket_events.replay; no bus here) and
 * learns only from people's decisions: tickets an agent opened for a
 * customer, and category or priority changes by staff; never from a
 * customer's own ticket, an agent's ticket for itself, or the system (actor
 * null). Its predictions come through kb.triage and tickets.suggestions;
 * another tenant's model is apart; the model survives a restart, and
 * `hd-knowledge --retrain` forgets it and rebuilds it from the events. The
 * auto_triage automation action applies confident predictions to new
 * tickets through the update path as the system, which teaches nothing. */
#include "ticket_it.h"

#define WAIT_MS 30000

static it_who admin, agent, customer, other_agent;
static daemon_child kb;
static char kb_url[64];
static hd_rpc_client *kb_client;
/* the ticket a customer opened as billing that an agent re-categorised */
static char moved[37];

/* Calls knowledge's op as w with body (IT.client is hd-ticket's). */
static daemon_reply kb_call(const char *op, const it_who *w, const char *body)
{
	return it_call_on(kb_client, op, w, body);
}

/* Starts hd-knowledge at kb_url (kept across restarts) and waits until it answers. */
static void kb_start(void)
{
	assert_int_equal(daemon_child_spawn(&kb, NULL), 0);
	if (kb_client == NULL)
		assert_int_equal(hd_rpc_client_open(&kb_client, kb_url), HD_OK);
	for (int t = 0; t < 500 && daemon_child_alive(&kb); t++) {
		if (hd_rpc_client_connected(kb_client)) {
			daemon_reply r = kb_call("kb.settings_get", &admin, NULL);
			int st = r.status;
			daemon_reply_free(&r);
			if (st == 200)
				return;
		}
		usleep(20000);
	}
	fail_msg("hd-knowledge did not become ready; see %s", kb.log);
}

static void kb_stop(void)
{
	int st = daemon_child_stop(&kb, SIGTERM);
	if (!daemon_child_log_clean(&kb))
		fail_msg("sanitizer report in %s", kb.log);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fail_msg("hd-knowledge exited badly (status %d)", st);
}

static int group_setup(void **state)
{
	(void)state;
	char sql[512];
	const char *root = getenv("HD_TEST_ROOT");
	snprintf(sql, sizeof sql, "%s/services/knowledge/sql", root != NULL ? root : "../..");
	setenv("HD_KNOWLEDGE_SQL_DIR", sql, 0);
	it_auth_schema();
	it_who_make(&admin, NULL, "admin");
	it_who_make(&agent, admin.tenant, "agent");
	it_who_make(&customer, admin.tenant, "customer");
	it_who_make(&other_agent, NULL, "agent");
	/* hd-ticket's suggestions wait for hd-knowledge's link within this
	 * (hd/peer.h): the tests check what it answers, not how fast */
	setenv("HD_KNOWLEDGE_TIMEOUT_MS", "4000", 1);
	/* knowledge's address first, so that hd-ticket knows it */
	assert_true(
	    daemon_child_port_env("HD_KNOWLEDGE_URL", "tcp://127.0.0.1:%d", kb_url, 64) > 0);
	if (it_daemon_start(&agent) != 0)
		return -1;
	daemon_child_init(&kb, "hd-knowledge");
	if (daemon_child_run(&kb, "--migrate") != 0)
		fail_msg("hd-knowledge --migrate failed; see %s", kb.log);
	assert_true(daemon_child_port_env("HD_KNOWLEDGE_ADMIN_PORT", "%d", NULL, 0) > 0);
	kb_start();
	return 0;
}

static int group_teardown(void **state)
{
	kb_stop();
	hd_rpc_client_close(kb_client);
	daemon_child_log_remove(&kb);
	return it_daemon_stop(state);
}

/* The examples field's model learnt from, by kb.triage's reply. */
static long examples(const it_who *w, const char *field)
{
	daemon_reply r = kb_call("kb.triage", w, "{\"text\":\"printer\"}");
	it_expect_status(&r, 200);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(r.json, "predicted");
	long n = it_num(cJSON_GetObjectItemCaseSensitive(p, field), "examples");
	daemon_reply_free(&r);
	return n;
}

/* Waits until the category model has at least n examples; then it must
 * have exactly n, and the priority model np. */
static void wait_examples(long n, long np)
{
	long got = -1;
	for (int t = 0; t < WAIT_MS / 100; t++) {
		got = examples(&agent, "category");
		if (got >= n)
			break;
		usleep(100000);
	}
	assert_int_equal(got, n);
	assert_int_equal(examples(&agent, "priority"), np);
}

/* Asserts kb.triage's prediction of field for text as w: want NULL for
 * silence, with outcome. */
static void expect_triage(
    const it_who *w, const char *text, const char *field, const char *want, const char *outcome)
{
	char body[256];
	snprintf(body, sizeof body, "{\"text\":\"%s\"}", text);
	daemon_reply r = kb_call("kb.triage", w, body);
	it_expect_status(&r, 200);
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(r.json, "predicted"), field);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "value");
	if (want == NULL)
		assert_true(cJSON_IsNull(v));
	else
		assert_string_equal(cJSON_IsString(v) ? v->valuestring : "(null)", want);
	assert_string_equal(it_str(f, "outcome"), outcome);
	daemon_reply_free(&r);
}

/* Opens a ticket as w for requester (NULL: w itself) and copies its id. */
static void open_ticket(const it_who *w, const it_who *requester, const char *subject,
    const char *category, const char *priority, char id[37])
{
	char body[512];
	snprintf(body, sizeof body,
	    "{\"subject\":\"%s\",\"category\":\"%s\",\"priority\":\"%s\"%s%s%s}", subject, category,
	    priority, requester != NULL ? ",\"requester_id\":\"" : "",
	    requester != NULL ? requester->user : "", requester != NULL ? "\"" : "");
	it_ticket(w, body, id);
}

static void test_learns_from_people_only(void **state)
{
	(void)state;
	static const char *const printers[] = { "printer jammed", "printer paper tray stuck",
		"toner smudges on printer output", "printer offline in office",
		"printer prints blank pages", "printer cartridge error" };
	static const char *const invoices[] = { "invoice charged twice", "refund for double charge",
		"invoice amount wrong", "credit card charged after cancel", "need a refund invoice",
		"billing address on invoice" };
	char id[37];
	/* nothing learnt yet: silent */
	expect_triage(&agent, "printer jammed", "category", NULL, "few_examples");
	for (int i = 0; i < 12; i++) {
		open_ticket(&agent, &customer, printers[i % 6], "hardware", "high", id);
		open_ticket(&agent, &customer, invoices[i % 6], "billing", "normal", id);
	}
	/* not decisions of staff: a customer's own tickets, an agent's for itself */
	for (int i = 0; i < 5; i++)
		open_ticket(&customer, NULL, printers[i], "billing", "urgent", i == 0 ? moved : id);
	open_ticket(&agent, NULL, "printer jammed", "billing", "low", id);
	/* a staff correction teaches (category only: priority was not touched) */
	it_check(200, "tickets.update", &agent, moved, "{\"category\":\"hardware\"}");
	wait_examples(25, 24);
	expect_triage(&agent, "the printer is jammed again", "category", "hardware", "spoke");
	expect_triage(&agent, "the printer is jammed again", "priority", "high", "spoke");
	expect_triage(&agent, "charged twice on my invoice", "category", "billing", "spoke");
	expect_triage(&agent, "quantum flux capacitor", "category", NULL, "no_known_terms");
	/* another tenant learnt nothing of it */
	expect_triage(&other_agent, "printer jammed", "category", NULL, "few_examples");
	/* the system (actor null) never teaches: an automatic change of category */
	char data[512];
	snprintf(data, sizeof data,
	    "{\"ticket\":{\"id\":\"%s\",\"subject\":\"printer jammed\",\"category\":\"billing\","
	    "\"priority\":\"low\"},\"changes\":{\"category\":{\"from\":\"hardware\",\"to\":"
	    "\"billing\"},\"priority\":{\"from\":\"urgent\",\"to\":\"low\"}}}",
	    moved);
	assert_int_equal(
	    it_admin_count("WITH s AS MATERIALIZED (SELECT set_config('app.tenant_id',"
	                   " $1, true)) SELECT count(knowledge.apply_ticket_event("
	                   "$1::uuid, 'ticket.updated', $2::json, gen_random_uuid(), 1,"
	                   " NULL)) FROM s",
	        admin.tenant, data),
	    1);
	assert_int_equal(examples(&agent, "category"), 25);
	expect_triage(&agent, "the printer is jammed again", "category", "hardware", "spoke");
	/* staff and only staff */
	daemon_reply r = kb_call("kb.triage", &customer, "{\"text\":\"printer\"}");
	it_expect_status(&r, 403);
	daemon_reply_free(&r);
}

static void test_suggestions_use_the_classifier(void **state)
{
	(void)state;
	char id[37];
	open_ticket(&customer, NULL, "my printer is jammed", "other", "low", id);
	/* hd-ticket's first call to hd-knowledge waits for its link (hd/peer.h) */
	daemon_reply r = it_call("tickets.suggestions", &agent, id, NULL, NULL);
	it_expect_status(&r, 200);
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "degraded"));
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(r.json, "predicted");
	assert_string_equal(it_str(p, "category"), "hardware");
	assert_string_equal(it_str(p, "priority"), "high");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(p, "by");
	assert_string_equal(it_str(by, "category"), "classifier");
	assert_string_equal(it_str(by, "priority"), "classifier");
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(p, "classifier"), "category");
	double conf = cJSON_GetObjectItemCaseSensitive(cl, "confidence")->valuedouble;
	assert_true(conf >= 0.5 && conf <= 1.0);
	assert_true(cJSON_GetObjectItemCaseSensitive(p, "confidence")->valuedouble <= conf);
	daemon_reply_free(&r);
}

static void test_survives_restart_and_retrain(void **state)
{
	(void)state;
	kb_stop();
	kb_start();
	/* at once, before any event could be read again */
	assert_int_equal(examples(&agent, "category"), 25);
	expect_triage(&agent, "the printer is jammed again", "category", "hardware", "spoke");
	kb_stop();
	if (daemon_child_run(&kb, "--retrain") != 0)
		fail_msg("hd-knowledge --retrain failed; see %s", kb.log);
	assert_int_equal(it_admin_count("SELECT count(*) FROM knowledge.consumed WHERE source = $1",
	                     "ticket", NULL),
	    0);
	kb_start();
	/* rebuilt from hd-ticket's events: the same decisions, nothing else */
	wait_examples(25, 24);
	expect_triage(&agent, "the printer is jammed again", "category", "hardware", "spoke");
	expect_triage(&agent, "charged twice on my invoice", "category", "billing", "spoke");
}

/* The ticket's field value as w sees it, "" when null. */
static void ticket_field(const it_who *w, const char *id, const char *field, char out[64])
{
	daemon_reply r = it_call("tickets.get", w, id, NULL, NULL);
	it_expect_status(&r, 200);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r.json, field);
	snprintf(out, 64, "%s", cJSON_IsString(v) ? v->valuestring : "");
	daemon_reply_free(&r);
}

static void test_auto_triage_action(void **state)
{
	(void)state;
	static const char *const bad[] = { "0", "1.5", "abc", "-0.5", "0.5e0", "", "0.123456789" };
	char body[256], id[37], mine[37], value[64];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body,
		    "{\"name\":\"t\",\"event\":\"ticket.created\",\"actions\":[{\"type\":"
		    "\"auto_triage\",\"value\":\"%s\"}]}",
		    bad[i]);
		daemon_reply r = it_call("automations.create", &admin, NULL, NULL, body);
		it_expect_422(&r, "actions[0].value");
	}
	it_check(201, "automations.create", &admin, NULL,
	    "{\"name\":\"triage printers\",\"event\":\"ticket.created\",\"conditions\":[{"
	    "\"field\":\"subject\",\"op\":\"contains\",\"value\":\"printer\"}],"
	    "\"actions\":[{\"type\":\"auto_triage\",\"value\":\"0.5\"}]}");
	it_ticket(&customer, "{\"subject\":\"my printer is jammed\"}", id);
	/* a ticket no rule matches stays as it was */
	it_ticket(&customer, "{\"subject\":\"charged twice on my invoice\"}", mine);
	for (int t = 0; t < WAIT_MS / 100; t++) {
		ticket_field(&agent, id, "category", value);
		if (value[0] != '\0')
			break;
		usleep(100000);
	}
	assert_string_equal(value, "hardware");
	ticket_field(&agent, id, "priority", value);
	assert_string_equal(value, "high");
	/* through the update path, as the system: history without an actor */
	daemon_reply r = it_call("tickets.history", &agent, id, "limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *h;
	int system_rows = 0;
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "actor_id")));
		system_rows++;
	}
	assert_int_equal(system_rows, 2);
	daemon_reply_free(&r);
	ticket_field(&agent, mine, "category", value);
	assert_string_equal(value, "");
	/* the classifier did not learn from its own prediction: a staff decision
	 * after it is the only new example */
	open_ticket(&agent, &customer, "printer offline again", "hardware", "high", id);
	wait_examples(26, 25);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learns_from_people_only),
		cmocka_unit_test(test_suggestions_use_the_classifier),
		cmocka_unit_test(test_survives_restart_and_retrain),
		cmocka_unit_test(test_auto_triage_action),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
