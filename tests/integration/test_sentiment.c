/* Sentiment of customer text on tickets (docs/architecture.md,
 * "Sentiment") with hd-ticket against the test PostgreSQL: a customer's new
 * ticket and public comments set the ticket's "sentiment" (the latest
 * value; staff text never does), the list shows what GET shows, and an
 * automation condition on sentiment with lt / gt raises the priority of an
 * angry customer's ticket; bad conditions are 422. */
#include "ticket_it.h"

static it_who admin, agent, customer;

static int group_setup(void **state)
{
	(void)state;
	it_who_make(&admin, NULL, "admin");
	it_who_make(&agent, admin.tenant, "agent");
	it_who_make(&customer, admin.tenant, "customer");
	return it_daemon_start(&agent);
}

/* The ticket's member name as w reads it (GET). */
static const cJSON *ticket_member(
    daemon_reply *r, const it_who *w, const char *id, const char *name)
{
	*r = it_call("tickets.get", w, id, NULL, NULL);
	it_expect_status(r, 200);
	return cJSON_GetObjectItemCaseSensitive(r->json, name);
}

static void test_customer_text_only(void **state)
{
	(void)state;
	char angry[37], staff[37];
	daemon_reply r;
	it_ticket(&customer,
	    "{\"subject\":\"I hate this printer\",\"description\":\"terrible, useless and "
	    "broken\"}",
	    angry);
	const cJSON *s = ticket_member(&r, &agent, angry, "sentiment");
	assert_true(cJSON_IsNumber(s) && s->valueint < -3);
	daemon_reply_free(&r);
	/* an agent's words are not the customer's */
	it_ticket(&agent, "{\"subject\":\"terrible awful disaster\"}", staff);
	assert_true(cJSON_IsNull(ticket_member(&r, &agent, staff, "sentiment")));
	daemon_reply_free(&r);
	/* the latest customer comment is the ticket's sentiment; staff comments are not */
	it_check(
	    201, "comments.create", &customer, angry, "{\"body\":\"thank you, great, works now\"}");
	s = ticket_member(&r, &agent, angry, "sentiment");
	assert_true(cJSON_IsNumber(s) && s->valueint > 0);
	int happy = s->valueint;
	daemon_reply_free(&r);
	it_check(201, "comments.create", &agent, angry, "{\"body\":\"awful, bad, terrible\"}");
	assert_int_equal(ticket_member(&r, &agent, angry, "sentiment")->valueint, happy);
	daemon_reply_free(&r);
	/* the list writes the same object */
	r = it_call("tickets.list", &customer, NULL, "limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *t;
	bool seen = false;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		if (strcmp(it_str(t, "id"), angry) == 0) {
			assert_int_equal(
			    cJSON_GetObjectItemCaseSensitive(t, "sentiment")->valueint, happy);
			seen = true;
		}
	}
	assert_true(seen);
	daemon_reply_free(&r);
}

static void test_automation_on_sentiment(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"field\":\"subject\",\"op\":\"lt\",\"value\":\"a\"}",
		"{\"field\":\"sentiment\",\"op\":\"lt\",\"value\":\"abc\"}",
		"{\"field\":\"sentiment\",\"op\":\"contains\",\"value\":\"1\"}",
		"{\"field\":\"sentiment\",\"op\":\"in\",\"value\":[\"1\"]}",
		"{\"field\":\"sentiment\",\"op\":\"gt\",\"value\":\"-\"}",
	};
	char body[512], angry[37], calm[37];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(body, sizeof body,
		    "{\"name\":\"n\",\"event\":\"ticket.created\",\"conditions\":[%s],"
		    "\"actions\":[{\"type\":\"set_priority\",\"value\":\"urgent\"}]}",
		    bad[i]);
		daemon_reply r = it_call("automations.create", &admin, NULL, NULL, body);
		it_expect_status(&r, 422);
		daemon_reply_free(&r);
	}
	it_check(201, "automations.create", &admin, NULL,
	    "{\"name\":\"angry customers first\",\"event\":\"ticket.created\",\"conditions\":[{"
	    "\"field\":\"sentiment\",\"op\":\"lt\",\"value\":\"-3\"}],\"actions\":[{\"type\":"
	    "\"set_priority\",\"value\":\"urgent\"}]}");
	it_ticket(&customer,
	    "{\"subject\":\"this is a disaster\",\"description\":\"angry, furious, worst "
	    "service\"}",
	    angry);
	it_ticket(&customer, "{\"subject\":\"thanks, a small question\"}", calm);
	daemon_reply r;
	assert_string_equal(ticket_member(&r, &agent, angry, "priority")->valuestring, "urgent");
	daemon_reply_free(&r);
	assert_string_equal(ticket_member(&r, &agent, calm, "priority")->valuestring, "normal");
	daemon_reply_free(&r);
}

/* A customer's comment that changes the sentiment is a change of the ticket:
 * a history entry and a ticket.updated event naming it, and ticket.updated
 * rules on sentiment run on it (sql/R_automations.sql); their
 * changes are in the same history and event. */
static void test_sentiment_change_is_a_change(void **state)
{
	(void)state;
	char id[37];
	daemon_reply r;
	it_check(201, "automations.create", &admin, NULL,
	    "{\"name\":\"angry replies up\",\"event\":\"ticket.updated\",\"conditions\":[{"
	    "\"field\":\"sentiment\",\"op\":\"lt\",\"value\":\"-3\"}],\"actions\":[{\"type\":"
	    "\"set_priority\",\"value\":\"high\"}]}");
	it_ticket(&customer, "{\"subject\":\"thanks, a question about invoices\"}", id);
	assert_string_equal(ticket_member(&r, &agent, id, "priority")->valuestring, "normal");
	daemon_reply_free(&r);
	it_check(201, "comments.create", &customer, id,
	    "{\"body\":\"this is awful, terrible and useless, I am furious\"}");
	assert_string_equal(ticket_member(&r, &agent, id, "priority")->valuestring, "high");
	daemon_reply_free(&r);
	assert_true(ticket_member(&r, &agent, id, "sentiment")->valueint < -3);
	daemon_reply_free(&r);
	r = it_call("tickets.history", &agent, id, "limit=100", NULL);
	it_expect_status(&r, 200);
	const cJSON *h;
	int sentiment = 0, priority = 0;
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		assert_string_equal(it_str(h, "actor_id"), customer.user);
		sentiment += strcmp(it_str(h, "field"), "sentiment") == 0;
		if (strcmp(it_str(h, "field"), "priority") == 0) {
			assert_string_equal(it_str(h, "to"), "high");
			priority++;
		}
	}
	assert_int_equal(sentiment, 1);
	assert_int_equal(priority, 1);
	daemon_reply_free(&r);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM ticket.outbox WHERE type = 'ticket.updated'"
	                   " AND data -> 'ticket' ->> 'id' = $1"
	                   " AND data::jsonb -> 'changes' ?& ARRAY['sentiment', 'priority']"
	                   " AND actor_id = $2::uuid",
	        id, customer.user),
	    1);
	/* the same words again change nothing: no new entry, no version */
	it_check(201, "comments.create", &customer, id,
	    "{\"body\":\"this is awful, terrible and useless, I am furious\"}");
	r = it_call("tickets.history", &agent, id, "limit=100", NULL);
	it_expect_status(&r, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 2);
	daemon_reply_free(&r);
	assert_int_equal(ticket_member(&r, &agent, id, "version")->valueint, 2);
	daemon_reply_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_customer_text_only),
		cmocka_unit_test(test_automation_on_sentiment),
		cmocka_unit_test(test_sentiment_change_is_a_change),
	};
	return cmocka_run_group_tests(tests, group_setup, it_daemon_stop);
}
