/* End to end: hd-notification (API "Notifications and real time"). Each
 * in-app notification reaches exactly the people docs/openapi.yaml names;
 * customers see and mark only their own. Webhooks: the secret is shown
 * once; deliveries are signed (checked by tests/lib/hook_receiver.h, a
 * receiver written from the contract alone); a receiver that fails three
 * times then succeeds gets one delivery id four times; a redirect is not
 * followed; internal literal addresses are 422 and a host name resolving to
 * one is refused without a connection; a run of failures turns the webhook
 * off and tells the admins; an automation's notify_webhook goes through the
 * same deliveries. The stack runs with HD_WEBHOOK_ALLOW_CIDRS=127.0.0.2/32
 * (tests/run.sh), so receivers listen on 127.0.0.2 and 127.0.0.1 counts as
 * internal; HD_WEBHOOK_MAX_FAILURES=5 and retries of a few hundred ms.
 * Environment as tickets_e2e.h. */
#include <libpq-fe.h>
#include <time.h>
#include <unistd.h>
#include "hook_receiver.h"
#include "hd/rfc3339.h"
#include "tickets_e2e.h"
#include "mail_e2e.h"

#define WAIT_S 20

static int setup(void **state)
{
	(void)state;
	return tk_setup("nt");
}

/* How many of token's notifications have type (and ticket, when not NULL);
 * -1 when the list is not answered 200 (right after hd-notification was
 * started again, the gateway may not have reconnected yet: 503). */
static int notes(const char *token, const char *type, const char *ticket)
{
	httpc_resp r;
	const cJSON *it;
	int n = 0;
	long status = req(&r, "GET", "/v1/notifications?limit=100", token, NULL);
	if (status != 200) {
		httpc_resp_free(&r);
		return -1;
	}
	cJSON_ArrayForEach(it, jitems(&r))
	{
		const char *t = jstr(it, "type"), *tk = jstr(it, "ticket_id");
		if (t != NULL && strcmp(t, type) == 0
		    && (ticket == NULL || (tk != NULL && strcmp(tk, ticket) == 0)))
			n++;
	}
	httpc_resp_free(&r);
	return n;
}

/* Waits until token has want notifications of type for ticket. */
static void wait_notes(const char *token, const char *type, const char *ticket, int want)
{
	int n = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end; usleep(100 * 1000))
		if ((n = notes(token, type, ticket)) >= want)
			break;
	if (n != want)
		fprintf(stderr, "%s for %s: %d, want %d\n", type, ticket ? ticket : "-", n, want);
	assert_int_equal(n, want);
}

static void comment(const char *token, const char *ticket, const char *body, bool pub)
{
	char path[128], json[256];
	tk_path(path, sizeof path, ticket, "/comments");
	snprintf(
	    json, sizeof json, "{\"body\":\"%s\",\"public\":%s}", body, pub ? "true" : "false");
	expect(201, "POST", path, token, json);
}

static void test_people(void **state)
{
	(void)state;
	char ticket[37], path[160], body[128];
	ticket_new_id(W.cust1, "printer on fire", ticket);
	tk_path(path, sizeof path, ticket, "");
	snprintf(body, sizeof body, "{\"assignee_id\":\"%s\"}", W.agent_id);
	expect(200, "PATCH", path, W.admin, body);
	wait_notes(W.agent, "ticket_assigned", ticket, 1);

	comment(W.agent, ticket, "We are on it", true); /* public: the requester */
	comment(W.agent, ticket, "internal note", false); /* internal: nobody */
	wait_notes(W.cust1, "public_reply", ticket, 1);
	comment(W.cust1, ticket, "It is still burning", true); /* customer reply: the assignee */
	wait_notes(W.agent, "customer_reply", ticket, 1);

	/* exactly those people: a later comment's effect proves the rest applied */
	comment(W.agent, ticket, "Fixed", true);
	wait_notes(W.cust1, "public_reply", ticket, 2);
	assert_int_equal(notes(W.agent, "public_reply", ticket), 0);
	assert_int_equal(notes(W.agent, "ticket_assigned", ticket), 1);
	assert_int_equal(notes(W.agent, "customer_reply", ticket), 1);
	assert_int_equal(notes(W.cust1, "customer_reply", ticket), 0);
	assert_int_equal(notes(W.cust1, "ticket_assigned", ticket), 0);
	assert_int_equal(notes(W.admin, "public_reply", ticket), 0);
	assert_int_equal(notes(W.cust2, "public_reply", ticket), 0);
	/* an admin assigning a ticket to themselves is not told */
	char own[37];
	ticket_new_id(W.admin, "self assigned", own);
	tk_path(path, sizeof path, own, "");
	snprintf(body, sizeof body, "{\"assignee_id\":\"%s\"}", W.admin_id);
	expect(200, "PATCH", path, W.admin, body);
	comment(W.agent, ticket, "one more", true);
	wait_notes(W.cust1, "public_reply", ticket, 3);
	assert_int_equal(notes(W.admin, "ticket_assigned", own), 0);
}

static void stack(const char *verb, const char *name)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s %s", httpc_env("HD_TEST_STACK_CTL"), verb, name);
	assert_int_equal(system(cmd), 0);
}

/* Events that happen while hd-notification is down (killed) are applied once it is
 * back (catch-up from its stored position), each exactly once. */
static void test_applied_once_across_restarts(void **state)
{
	(void)state;
	char ticket[37];
	ticket_new_id(W.cust2, "while you were out", ticket);
	comment(W.agent, ticket, "first", true);
	wait_notes(W.cust2, "public_reply", ticket, 1);
	stack("kill", "notification");
	comment(W.agent, ticket, "second", true);
	comment(W.agent, ticket, "third", true);
	stack("start", "notification");
	wait_notes(W.cust2, "public_reply", ticket, 3);
	usleep(3 * 1000 * 1000); /* past a periodic catch-up (HD_CONSUMER_CATCHUP_MS) */
	assert_int_equal(notes(W.cust2, "public_reply", ticket), 3);
}

/* A missed SLA target (hd-ticket's detector, after the due time is moved
 * into the past in the database) reaches the assignee and the admins. */
static void test_sla_breach(void **state)
{
	(void)state;
	char ticket[37], path[128], body[128];
	expect(200, "PUT", "/v1/sla-policy", W.admin,
	    "{\"targets\":{\"urgent\":{\"first_response_minutes\":30,\"resolution_minutes\":60}}}");
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"sla breach\",\"priority\":\"urgent\"}");
	snprintf(ticket, sizeof ticket, "%s", jstr(t, "id"));
	cJSON_Delete(t);
	tk_path(path, sizeof path, ticket, "");
	snprintf(body, sizeof body, "{\"assignee_id\":\"%s\"}", W.agent_id);
	expect(200, "PATCH", path, W.admin, body);
	PGconn *db = PQconnectdb(httpc_env("HD_TEST_DATABASE_SUPER_URL"));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	const char *p[1] = { ticket };
	PGresult *res = PQexecParams(db,
	    "UPDATE ticket.tickets SET first_response_due = now() - interval '1 second' WHERE id = "
	    "$1",
	    1, NULL, p, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(db);
	wait_notes(W.agent, "sla_breached", ticket, 1);
	wait_notes(W.admin, "sla_breached", ticket, 1);
	assert_int_equal(notes(W.cust1, "sla_breached", ticket), 0);
	assert_int_equal(notes(W.cust2, "sla_breached", ticket), 0);
}

static void test_read_own_only(void **state)
{
	(void)state;
	char ticket[37], path[160], id[37];
	httpc_resp r;
	ticket_new_id(W.cust1, "read me", ticket);
	comment(W.agent, ticket, "hello", true);
	wait_notes(W.cust1, "public_reply", ticket, 1);
	assert_int_equal(req(&r, "GET", "/v1/notifications?unread=true", W.cust1, NULL), 200);
	const cJSON *first = cJSON_GetArrayItem(jitems(&r), 0);
	assert_non_null(first);
	snprintf(id, sizeof id, "%s", jstr(first, "id"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(first, "read_at")));
	assert_non_null(jstr(first, "title"));
	assert_non_null(jstr(first, "created_at"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/notifications/%s/read", id);
	expect(404, "POST", path, W.cust2, NULL); /* another customer's: 404 */
	expect(404, "POST", path, W.admin, NULL); /* even an admin's view is their own */
	expect(204, "POST", path, W.cust1, NULL);
	expect(204, "POST", path, W.cust1, NULL); /* again: still read */
	assert_int_equal(
	    req(&r, "GET", "/v1/notifications?unread=true&limit=100", W.cust1, NULL), 200);
	const cJSON *it;
	cJSON_ArrayForEach(it, jitems(&r))
	{
		assert_string_not_equal(jstr(it, "id"), id);
	}
	httpc_resp_free(&r);
	expect_invalid("GET", "/v1/notifications?unread=maybe", W.cust1, NULL, "unread");
	expect(404, "POST", "/v1/notifications/not-a-uuid/read", W.cust1, NULL);
	expect(401, "GET", "/v1/notifications", NULL, NULL);
}

static void test_technician_on_dispatch(void **state)
{
	(void)state;
	char body[512], path[160], ticket[37], wo[37];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"skills\":[\"boilers\"],\"location\":{\"lat\":45.76,\"lon\":4.83}"
	    "}",
	    W.tech_id);
	assert_int_equal(req(&r, "POST", "/v1/technicians", W.admin, body), 201);
	httpc_resp_free(&r);
	ticket_new_id(W.agent, "boiler cold", ticket);
	snprintf(body, sizeof body,
	    "{\"title\":\"Boiler\",\"ticket_id\":\"%s\",\"location\":{\"lat\":45.77,\"lon\":4.84},"
	    "\"required_skills\":[\"boilers\"],\"window\":{\"start\":\"2032-05-04T09:00:00Z\","
	    "\"end\":\"2032-05-04T10:00:00Z\"}}",
	    ticket);
	assert_int_equal(req(&r, "POST", "/v1/work-orders", W.agent, body), 201);
	snprintf(wo, sizeof wo, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/work-orders/%s/dispatch", wo);
	expect(200, "POST", path, W.agent, "{}");
	wait_notes(W.tech, "work_order_dispatched", ticket, 1);
	assert_int_equal(notes(W.agent, "work_order_dispatched", ticket), 0);
	assert_int_equal(notes(W.admin, "work_order_dispatched", ticket), 0);
}

/* Creates a webhook for url and events (JSON array); copies its id and
 * secret, and checks the secret is shown this once. */
static void hook_new(const char *url, const char *events, char id[37], char *secret, size_t size)
{
	char body[512], path[96];
	httpc_resp r;
	snprintf(body, sizeof body, "{\"url\":\"%s\",\"events\":%s}", url, events);
	long got = req(&r, "POST", "/v1/webhooks", W.admin, body);
	if (got != 201)
		fprintf(stderr, "POST /v1/webhooks: %ld %s\n", got, r.body);
	assert_int_equal(got, 201);
	assert_non_null(jstr(r.json, "secret"));
	assert_true(strncmp(jstr(r.json, "secret"), "whsec_", 6) == 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	snprintf(id, 37, "%s", jstr(r.json, "id"));
	snprintf(secret, size, "%s", jstr(r.json, "secret"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "secret"));
	httpc_resp_free(&r);
}

/* Waits until the receiver got want requests. */
static void wait_hook(hook_receiver *h, int want)
{
	for (double end = httpc_now_s() + WAIT_S;
	     httpc_now_s() < end && hook_count(h, NULL) < want;)
		usleep(50 * 1000);
	assert_int_equal(hook_count(h, NULL), want);
}

/* The webhook's newest delivery (caller deletes), waiting for pred. */
static cJSON *delivery_wait(const char *hook, const char *status, int attempts)
{
	char path[128];
	httpc_resp r;
	cJSON *d = NULL;
	snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries", hook);
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && d == NULL;
	     usleep(100 * 1000)) {
		assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
		const cJSON *first = cJSON_GetArrayItem(jitems(&r), 0);
		const char *st = first != NULL ? jstr(first, "status") : NULL;
		if (st != NULL && strcmp(st, status) == 0 && jnum(first, "attempts") >= attempts)
			d = cJSON_Duplicate(first, 1);
		httpc_resp_free(&r);
	}
	if (d == NULL)
		fprintf(
		    stderr, "delivery of %s never %s after %d attempts\n", hook, status, attempts);
	assert_non_null(d);
	return d;
}

static void test_webhook_retries_keep_the_delivery_id(void **state)
{
	(void)state;
	hook_receiver h;
	char url[128], id[37], secret[128], ticket[37];
	assert_int_equal(hook_start(&h, "127.0.0.2", 200), 0);
	h.script[0] = h.script[1] = 500;
	h.script[2] = 503;
	h.nscript = 3;
	snprintf(url, sizeof url, "http://127.0.0.2:%d/hooks/helpdesk", h.port);
	hook_new(url, "[\"ticket.created\"]", id, secret, sizeof secret);
	hook_set_secret(&h, secret);
	ticket_new_id(W.agent, "webhook me", ticket);
	wait_hook(&h, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(h.reqs[i].signature_ok);
		assert_string_equal(h.reqs[i].event, "ticket.created");
		assert_string_equal(h.reqs[i].delivery, h.reqs[0].delivery);
		cJSON *ev = cJSON_Parse(h.reqs[i].body);
		assert_non_null(ev);
		assert_string_equal(jstr(ev, "type"), "ticket.created");
		assert_string_equal(
		    jstr(cJSON_GetObjectItemCaseSensitive(ev, "data"), "id"), ticket);
		/* the event's time, as on the bus: RFC 3339, within the test's minutes */
		long long at_ms = 0;
		assert_non_null(jstr(ev, "occurred_at"));
		assert_true(hd_time_parse(jstr(ev, "occurred_at"), &at_ms));
		assert_true(llabs(at_ms - (long long)time(NULL) * 1000) < 5 * 60 * 1000);
		cJSON_Delete(ev);
	}
	cJSON *d = delivery_wait(id, "succeeded", 4);
	assert_string_equal(jstr(d, "id"), h.reqs[0].delivery);
	assert_int_equal(jnum(d, "attempts"), 4);
	assert_int_equal(jnum(d, "last_status_code"), 200);
	assert_string_equal(jstr(d, "event_type"), "ticket.created");
	cJSON_Delete(d);
	usleep(1500 * 1000); /* past a dispatcher round: nothing more comes */
	assert_int_equal(hook_count(&h, NULL), 4);
	/* a tampered body would not verify */
	assert_false(hook_signature_ok(secret, "t=1,v1=00", "{}", 2));
	char path[96];
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	expect(204, "DELETE", path, W.admin, NULL);
	hook_stop(&h);
}

static void test_webhook_validation(void **state)
{
	(void)state;
	static const char *const refused[] = { "http://127.0.0.1:9/h", "http://10.1.2.3/h",
		"http://169.254.169.254/latest/meta-data", "http://[::1]/h", "http://[fd00::1]/h",
		"http://[fe80::1]/h", "http://[::ffff:192.168.1.1]/h", "http://0.0.0.0/h",
		"http://user:pw@example.com/h", "ftp://example.com/h", "example.com/h", NULL };
	char body[256];
	for (int i = 0; refused[i] != NULL; i++) {
		snprintf(body, sizeof body, "{\"url\":\"%s\",\"events\":[\"ticket.created\"]}",
		    refused[i]);
		expect_invalid("POST", "/v1/webhooks", W.admin, body, "url");
	}
	expect_invalid("POST", "/v1/webhooks", W.admin,
	    "{\"url\":\"https://example.com/h\",\"events\":[\"ticket.exploded\"]}", "events");
	expect_invalid("POST", "/v1/webhooks", W.admin,
	    "{\"url\":\"https://example.com/h\",\"events\":[]}", "events");
	expect_invalid(
	    "POST", "/v1/webhooks", W.admin, "{\"url\":\"https://example.com/h\"}", "events");
	expect(403, "POST", "/v1/webhooks", W.agent,
	    "{\"url\":\"https://example.com/h\",\"events\":[\"ticket.created\"]}");
	expect(403, "GET", "/v1/webhooks", W.cust1, NULL);
	expect(404, "GET", "/v1/webhooks/0190a000-0000-7000-8000-000000000000", W.admin, NULL);
}

static void test_webhook_update_and_delete(void **state)
{
	(void)state;
	char id[37], secret[128], path[128];
	httpc_resp r;
	hook_new("https://hooks.example.com/a", "[\"comment.added\"]", id, secret, sizeof secret);
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	expect_invalid("PATCH", path, W.admin, "{\"url\":\"http://10.0.0.1/x\"}", "url");
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.admin, "{\"active\":false}", "If-Match: \"99\""), 412);
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.admin,
	        "{\"active\":false,\"events\":[\"ticket.updated\",\"ticket.created\"]}",
	        "If-Match: \"1\""),
	    200);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "active")));
	assert_int_equal(jnum(r.json, "version"), 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "events")), 2);
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "secret"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/webhooks", W.admin, NULL), 200);
	assert_true(cJSON_GetArraySize(jitems(&r)) >= 1);
	httpc_resp_free(&r);
	expect(204, "DELETE", path, W.admin, NULL);
	expect(404, "GET", path, W.admin, NULL);
	snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries", id);
	expect(404, "GET", path, W.admin, NULL);
}

static void test_webhook_redirect_and_internal_names(void **state)
{
	(void)state;
	hook_receiver redirecting, target, local;
	char url[128], id[37], id2[37], secret[128];
	assert_int_equal(hook_start(&target, "127.0.0.2", 200), 0);
	assert_int_equal(hook_start(&redirecting, "127.0.0.2", 302), 0);
	snprintf(
	    redirecting.location, sizeof redirecting.location, "http://127.0.0.2:%d/", target.port);
	snprintf(url, sizeof url, "http://127.0.0.2:%d/r", redirecting.port);
	hook_new(url, "[\"ticket.created\"]", id, secret, sizeof secret);
	hook_set_secret(&redirecting, secret);
	/* a name that resolves to 127.0.0.1 (internal here): refused unconnected */
	assert_int_equal(hook_start(&local, "127.0.0.1", 200), 0);
	snprintf(url, sizeof url, "http://localhost:%d/l", local.port);
	hook_new(url, "[\"ticket.created\"]", id2, secret, sizeof secret);
	char ticket[37];
	ticket_new_id(W.agent, "redirect me", ticket);
	wait_hook(&redirecting, 1);
	cJSON *d = delivery_wait(id, "pending", 1);
	assert_int_equal(jnum(d, "last_status_code"), 302);
	cJSON_Delete(d);
	d = delivery_wait(id2, "pending", 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "last_status_code")));
	assert_non_null(strstr(jstr(d, "last_error"), "internal address"));
	cJSON_Delete(d);
	int connections = -1;
	assert_int_equal(hook_count(&target, &connections), 0);
	assert_int_equal(connections, 0);
	assert_int_equal(hook_count(&local, &connections), 0);
	assert_int_equal(connections, 0);
	char path[128];
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	expect(204, "DELETE", path, W.admin, NULL);
	snprintf(path, sizeof path, "/v1/webhooks/%s", id2);
	expect(204, "DELETE", path, W.admin, NULL);
	hook_stop(&redirecting);
	hook_stop(&target);
	hook_stop(&local);
}

static void test_webhook_turned_off_after_failures(void **state)
{
	(void)state;
	hook_receiver h;
	char url[128], id[37], secret[128], path[128], ticket[37];
	httpc_resp r;
	assert_int_equal(hook_start(&h, "127.0.0.2", 500), 0);
	snprintf(url, sizeof url, "http://127.0.0.2:%d/down", h.port);
	hook_new(url, "[\"ticket.created\"]", id, secret, sizeof secret);
	hook_set_secret(&h, secret);
	ticket_new_id(W.agent, "nobody listens", ticket);
	wait_hook(&h, 5); /* HD_WEBHOOK_MAX_FAILURES of the test stack */
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	bool off = false;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && !off; usleep(100 * 1000)) {
		assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
		off = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "active"));
		httpc_resp_free(&r);
	}
	assert_true(off);
	wait_notes(W.admin, "webhook_disabled", NULL, 1);
	assert_int_equal(notes(W.agent, "webhook_disabled", NULL), 0);
	usleep(1500 * 1000); /* an inactive webhook gets no more attempts */
	assert_int_equal(hook_count(&h, NULL), 5);
	for (int i = 0; i < 5; i++)
		assert_true(h.reqs[i].signature_ok);
	expect(204, "DELETE", path, W.admin, NULL);
	hook_stop(&h);
}

/* notify_webhook of an automation: the delivery of automation.webhook goes
 * to the webhook registered with the action's URL (https:// only, so the
 * plain receiver fails the TLS handshake: the attempt is in the log). */
static void test_automation_webhook(void **state)
{
	(void)state;
	hook_receiver h;
	char url[128], id[37], secret[128], body[512], ticket[37];
	assert_int_equal(hook_start(&h, "127.0.0.2", 200), 0);
	snprintf(url, sizeof url, "https://127.0.0.2:%d/auto", h.port);
	hook_new(url, "[\"ticket.deleted\"]", id, secret, sizeof secret);
	snprintf(body, sizeof body,
	    "{\"name\":\"tell the hook\",\"event\":\"ticket.created\",\"conditions\":[{\"field\":"
	    "\"subject\",\"op\":\"contains\",\"value\":\"robot\"}],\"actions\":[{\"type\":"
	    "\"notify_webhook\",\"value\":\"%s\"}]}",
	    url);
	expect(201, "POST", "/v1/automations", W.admin, body);
	ticket_new_id(W.agent, "robot uprising", ticket);
	cJSON *d = delivery_wait(id, "pending", 1);
	assert_string_equal(jstr(d, "event_type"), "automation.webhook");
	cJSON_Delete(d);
	int connections = 0;
	hook_count(&h, &connections);
	assert_true(connections >= 1);
	char path[128];
	snprintf(path, sizeof path, "/v1/webhooks/%s", id);
	expect(204, "DELETE", path, W.admin, NULL);
	hook_stop(&h);
}

/* A new ticket is acknowledged to its requester, a public reply mailed to
 * them, both threaded on the ticket's root Message-ID; an internal comment
 * is not mailed. The mails reach a real SMTP server (tests/run.sh). */
static void test_mail_threading(void **state)
{
	(void)state;
	char ticket[37], root[256], hdr[320], sender[200];
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"Mail me please\"}");
	snprintf(ticket, sizeof ticket, "%s", jstr(t, "id"));
	snprintf(root, sizeof root, "<t%ld.%s@helpdesk.local>", jnum(t, "number"), ticket);
	cJSON_Delete(t);
	snprintf(hdr, sizeof hdr, "Message-ID: %s", root);
	char *ack = mail_wait(hdr, NULL);
	snprintf(
	    sender, sizeof sender, "From: \"E2E %s\" <support+%s@helpdesk.local>", W.slug, W.slug);
	assert_non_null(strstr(ack, sender));
	snprintf(hdr, sizeof hdr, "To: <cust1@%s.test>", W.slug);
	assert_non_null(strstr(ack, hdr));
	assert_non_null(strstr(ack, "] Mail me please"));
	assert_non_null(strstr(ack, "multipart/alternative"));
	assert_non_null(strstr(ack, "text/html"));
	assert_null(strstr(ack, "In-Reply-To:"));
	free(ack);
	comment(W.agent, ticket, "internal only", false);
	comment(W.agent, ticket, "Here is the answer", true);
	snprintf(hdr, sizeof hdr, "In-Reply-To: %s", root);
	char *reply = mail_wait(hdr, "Re: [#");
	char refs[320];
	snprintf(refs, sizeof refs, "References: %s", root);
	assert_non_null(strstr(reply, refs));
	assert_non_null(strstr(reply, "Message-ID: <t"));
	free(reply);
	/* the internal comment sent nothing: one reply in the thread */
	comment(W.cust1, ticket, "thanks", true); /* the requester's own: not mailed back */
	comment(W.agent, ticket, "You are welcome", true);
	int replies = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && replies < 2;
	     usleep(100 * 1000))
		free(mail_scan(hdr, NULL, &replies));
	usleep(1000 * 1000);
	free(mail_scan(hdr, NULL, &replies));
	assert_int_equal(replies, 2);
	free(mail_scan(hdr, "internal only", &replies));
	assert_int_equal(replies, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_people),
		cmocka_unit_test(test_read_own_only),
		cmocka_unit_test(test_applied_once_across_restarts),
		cmocka_unit_test(test_technician_on_dispatch),
		cmocka_unit_test(test_sla_breach),
		cmocka_unit_test(test_webhook_validation),
		cmocka_unit_test(test_webhook_update_and_delete),
		cmocka_unit_test(test_webhook_retries_keep_the_delivery_id),
		cmocka_unit_test(test_webhook_redirect_and_internal_names),
		cmocka_unit_test(test_webhook_turned_off_after_failures),
		cmocka_unit_test(test_automation_webhook),
		cmocka_unit_test(test_mail_threading),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
