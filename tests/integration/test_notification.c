/* hd-notification against a real PostgreSQL, fed by a real hd-ticket over
 * NNG (docs/architecture.md, "Notifications"): it consumes the ticket
 * daemon's events through ticket_events.replay (no bus here: the catch-up
 * finds them), tells the assignee once, queues a webhook delivery whose body
 * is the event with its occurred_at exactly as the outbox has it, keeps every
 * tenant's rows to itself under row-level security, applies each event once
 * across a kill -9, and the previous version's six-parameter apply_event
 * still queues (occurred_at null); `hd-notification --reseal-mail` seals
 * the mailbox passwords of the previous HD_MAIL_KEY again with the current
 * one and names (exit 1) one that neither opens. Env: HD_TEST_DATABASE_URL,
 * HD_TEST_DATABASE_ADMIN_URL, HD_TEST_BIN_DIR, HD_TEST_ROOT. */
#include "notification.h"
#include "ticket_it.h"

static struct {
	daemon_child ticket;
	hd_rpc_client *ticket_client, *nt_client;
	it_who admin, agent, other;
	char webhook[37];
} T;

/* Calls op of hd-ticket as w with body. */
static daemon_reply ticket_call(const char *op, const it_who *w, const char *body)
{
	return it_call_on(T.ticket_client, op, w, body);
}

/* A ticket assigned to the agent; its id into id. */
static void ticket_assigned(const char *subject, char id[37])
{
	char body[256];
	snprintf(body, sizeof body, "{\"subject\":\"%s\",\"assignee_id\":\"%s\"}", subject,
	    T.agent.user);
	daemon_reply r = ticket_call("tickets.create", &T.admin, body);
	it_expect_status(&r, 201);
	snprintf(id, 37, "%s", it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* How many notifications of type about ticket w reads (notifications.list). */
static int notes_of(const it_who *w, const char *type, const char *ticket)
{
	daemon_reply r = it_call("notifications.list", w, NULL, "limit=100", NULL);
	it_expect_status(&r, 200);
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.json, "items"))
	{
		const char *t = it_str(it, "type"), *tk = it_str(it, "ticket_id");
		n += t != NULL && strcmp(t, type) == 0 && tk != NULL && strcmp(tk, ticket) == 0;
	}
	daemon_reply_free(&r);
	return n;
}

/* Waits (at most 20 s: catch-ups run every 2 s) until the agent has the
 * assignment of ticket. */
static void wait_assigned(const char *ticket)
{
	for (int i = 0; i < 200; i++) {
		if (notes_of(&T.agent, "ticket_assigned", ticket) > 0)
			return;
		usleep(100 * 1000);
	}
	fail_msg("no ticket_assigned notification for %s; see %s", ticket, IT.child.log);
}

static int group_setup(void **state)
{
	(void)state;
	/* auth.users is read for admins and customers: the schema must exist */
	it_auth_schema();
	/* no bus and no hd-field: nothing else on this machine may feed it */
	assert_true(daemon_child_port_env("HD_BUS_SUB_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	assert_true(daemon_child_port_env("HD_FIELD_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	it_who_make(&T.admin, NULL, "admin");
	it_who_make(&T.agent, T.admin.tenant, "agent");
	it_who_make(&T.other, NULL, "admin");
	if (it_daemon_start_as("ticket", "sla.get", &T.admin) != 0)
		return -1;
	T.ticket = IT.child;
	T.ticket_client = IT.client;
	if (it_daemon_start_as("notification", "notifications.list", &T.agent) != 0)
		return -1;
	T.nt_client = IT.client;
	daemon_reply r = it_call("webhooks.create", &T.admin, NULL, NULL,
	    "{\"url\":\"https://hooks.example.com/helpdesk\",\"events\":[\"ticket.created\"]}");
	it_expect_status(&r, 201);
	snprintf(T.webhook, sizeof T.webhook, "%s", it_str(r.json, "id"));
	daemon_reply_free(&r);
	return 0;
}

static int group_teardown(void **state)
{
	it_daemon_stop(state);
	hd_rpc_client_close(T.ticket_client);
	int st = daemon_child_stop(&T.ticket, SIGTERM);
	if (!daemon_child_log_clean(&T.ticket))
		fail_msg("sanitizer report in %s", T.ticket.log);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fail_msg("hd-ticket exited badly (status %d)", st);
	daemon_child_log_remove(&T.ticket);
	return 0;
}

static void test_assignment_and_webhook_body(void **state)
{
	(void)state;
	char ticket[37];
	ticket_assigned("printer on fire", ticket);
	wait_assigned(ticket);
	assert_int_equal(notes_of(&T.agent, "ticket_assigned", ticket), 1);
	assert_int_equal(notes_of(&T.admin, "ticket_assigned", ticket), 0); /* the actor */
	/* one delivery of ticket.created, its body the event as the outbox has
	 * it: id, seq, type, tenant and occurred_at to the millisecond */
	static const char same[]
	    = "SELECT count(*) FROM notification.deliveries d JOIN ticket.outbox o ON o.id = "
	      "d.cause_id"
	      " WHERE d.tenant_id = $1::uuid AND d.webhook_id = $2::uuid"
	      " AND o.data ->> 'id' = (d.body::json -> 'data' ->> 'id')"
	      " AND (d.body::json ->> 'occurred_at') = ticket.ts(o.occurred_at)"
	      " AND (d.body::json ->> 'seq')::bigint = o.pub_seq"
	      " AND (d.body::json ->> 'type') = 'ticket.created'"
	      " AND (d.body::json ->> 'tenant_id') = o.tenant_id::text";
	assert_int_equal(it_admin_count(same, T.admin.tenant, T.webhook), 1);
	assert_int_equal(
	    it_admin_count("SELECT count(*) FROM notification.deliveries"
	                   " WHERE tenant_id = $1::uuid AND body::json ->> 'occurred_at'"
	                   " !~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$'",
	        T.admin.tenant, NULL),
	    0);
}

static void test_tenants_apart(void **state)
{
	(void)state;
	char ticket[37];
	ticket_assigned("tenants apart", ticket);
	wait_assigned(ticket);
	/* another tenant's admin with the same user id sees nothing of it */
	it_who twin = T.other;
	strcpy(twin.user, T.agent.user);
	assert_int_equal(notes_of(&twin, "ticket_assigned", ticket), 0);
	daemon_reply r = it_call("webhooks.get", &T.other, T.webhook, NULL, NULL);
	it_expect_status(&r, 404);
	daemon_reply_free(&r);
	/* the app role without a tenant reads no row at all */
	const char *url = it_env("HD_TEST_DATABASE_URL");
	assert_int_equal(
	    it_count_at(url, "SELECT count(*) FROM notification.notifications", NULL, NULL), 0);
	assert_int_equal(
	    it_count_at(url, "SELECT count(*) FROM notification.deliveries", NULL, NULL), 0);
	/* while the owner sees this tenant's delivery */
	assert_true(it_admin_count(
	                "SELECT count(*) FROM notification.deliveries WHERE tenant_id = $1::uuid",
	                T.admin.tenant, NULL)
	    >= 1);
}

static void test_applied_once_across_kill(void **state)
{
	(void)state;
	char before[37], during[37];
	ticket_assigned("before the kill", before);
	wait_assigned(before);
	assert_true(WIFSIGNALED(daemon_child_stop(&IT.child, SIGKILL)));
	for (int i = 0; i < 300 && hd_rpc_client_connected(IT.client); i++)
		usleep(10 * 1000); /* the client notices (nothing can answer it now) */
	assert_false(hd_rpc_client_connected(IT.client));
	ticket_assigned("while it was down", during);
	assert_int_equal(daemon_child_spawn(&IT.child, NULL), 0);
	/* the client dials again by itself; calls fail until it is through */
	for (int i = 0; i < 300 && !hd_rpc_client_connected(IT.client); i++)
		usleep(20 * 1000);
	assert_true(hd_rpc_client_connected(IT.client));
	wait_assigned(during);
	assert_int_equal(notes_of(&T.agent, "ticket_assigned", before), 1);
	assert_int_equal(notes_of(&T.agent, "ticket_assigned", during), 1);
	/* one delivery per event, and the position is the source's last seq */
	assert_int_equal(it_admin_count("SELECT count(*) - count(DISTINCT cause_id)"
	                                " FROM notification.deliveries WHERE tenant_id = $1::uuid",
	                     T.admin.tenant, NULL),
	    0);
	for (int i = 0; i < 100; i++) {
		if (it_admin_count(
		        "SELECT (SELECT last_seq FROM notification.consumed"
		        " WHERE source = 'ticket') = (SELECT max(pub_seq) FROM ticket.outbox)"
		        "::int",
		        NULL, NULL)
		    == 1)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(it_admin_count("SELECT ((SELECT last_seq FROM notification.consumed"
	                                " WHERE source = 'ticket') = (SELECT max(pub_seq) FROM"
	                                " ticket.outbox))::int",
	                     NULL, NULL),
	    1);
}

static void test_previous_apply_event(void **state)
{
	(void)state;
	char event[37], ticket[37], body[512];
	assert_int_equal(hd_uuid_v7(event), HD_OK);
	assert_int_equal(hd_uuid_v7(ticket), HD_OK);
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"subject\":\"old daemon\"}", ticket);
	/* as a daemon of the previous version calls it: six parameters */
	const char *p[4] = { T.admin.tenant, body, event, NULL };
	char *out = NULL;
	assert_int_equal(hd_db_exec_sync(it_env("HD_TEST_DATABASE_URL"),
	                     "SELECT set_config('app.tenant_id', $1, true),"
	                     " notification.apply_event($1::uuid, 'ticket.created', $2::json,"
	                     " $3::uuid, 999999, NULL::uuid)",
	                     3, p, &out),
	    HD_OK);
	free(out);
	assert_int_equal(it_admin_count("SELECT count(*) FROM notification.deliveries"
	                                " WHERE cause_id = $1::uuid AND body::json -> 'occurred_at'"
	                                " IS NOT NULL AND json_typeof(body::json -> 'occurred_at')"
	                                " = 'null'",
	                     event, NULL),
	    1);
}

#define RESEAL_OLD "f0e0d0c0b0a090807060504030201000f0e0d0c0b0a090807060504030201000"
#define RESEAL_NEW "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define RESEAL_LOST "1111111111111111111111111111111111111111111111111111111111111111"

/* A mailbox (inactive: the running daemon leaves it) of tenant with
 * password sealed under key_hex; its id into id. */
static void mailbox_sealed(
    const char *tenant, const char *key_hex, const char *password, char id[37])
{
	unsigned char key[NT_SEAL_KEY_LEN];
	char aad[80];
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	assert_true(nt_seal_key_parse(key_hex, key));
	snprintf(aad, sizeof aad, "%s/%s", tenant, id);
	char *sealed = nt_seal(key, aad, password);
	assert_non_null(sealed);
	const char *p[4] = { tenant, id, sealed, T.admin.user };
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "INSERT INTO notification.email_channels (tenant_id, id, imap_url,"
	                     " username, password_sealed, active, created_by) VALUES ($1, $2,"
	                     " 'imaps://mail.example.com', 'support', $3, false, $4)",
	                     4, p, NULL),
	    HD_OK);
	free(sealed);
}

/* The password of mailbox id opened with key_hex alone, or NULL. */
static char *mailbox_opened(const char *tenant, const char *id, const char *key_hex)
{
	unsigned char key[NT_SEAL_KEY_LEN];
	char aad[80], *sealed = NULL;
	const char *p[2] = { tenant, id };
	assert_true(nt_seal_key_parse(key_hex, key));
	assert_int_equal(hd_db_exec_sync(IT.admin_url,
	                     "SELECT password_sealed FROM notification.email_channels"
	                     " WHERE tenant_id = $1 AND id = $2",
	                     2, p, &sealed),
	    HD_OK);
	assert_non_null(sealed);
	snprintf(aad, sizeof aad, "%s/%s", tenant, id);
	char *plain = nt_unseal(key, aad, sealed);
	free(sealed);
	return plain;
}

/* Runs hd-notification --reseal-mail with the two keys; its exit code. */
static int reseal_run(void)
{
	daemon_child cmd;
	setenv("HD_MAIL_KEY", RESEAL_NEW, 1);
	setenv("HD_MAIL_KEY_PREVIOUS", RESEAL_OLD, 1);
	daemon_child_init(&cmd, "hd-notification");
	int rc = daemon_child_run(&cmd, "--reseal-mail");
	if (!daemon_child_log_clean(&cmd))
		fail_msg("hd-notification --reseal-mail: see %s", cmd.log);
	unsetenv("HD_MAIL_KEY");
	unsetenv("HD_MAIL_KEY_PREVIOUS");
	return rc;
}

static void test_reseal_mail(void **state)
{
	(void)state;
	char a[37], b[37], lost[37];
	mailbox_sealed(T.admin.tenant, RESEAL_OLD, "pw of a", a);
	mailbox_sealed(T.other.tenant, RESEAL_NEW, "pw of b", b);
	assert_int_equal(reseal_run(), 0);
	char *pa = mailbox_opened(T.admin.tenant, a, RESEAL_NEW);
	char *pb = mailbox_opened(T.other.tenant, b, RESEAL_NEW);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_string_equal(pa, "pw of a");
	assert_string_equal(pb, "pw of b");
	free(pa);
	free(pb);
	assert_null(mailbox_opened(T.admin.tenant, a, RESEAL_OLD));
	/* one that neither key opens: named, left as it was, exit 1 */
	mailbox_sealed(T.admin.tenant, RESEAL_LOST, "pw lost", lost);
	assert_int_equal(reseal_run(), 1);
	char *pl = mailbox_opened(T.admin.tenant, lost, RESEAL_LOST);
	assert_non_null(pl);
	free(pl);
	assert_int_equal(
	    it_admin_count(
	        "DELETE FROM notification.email_channels WHERE id = $1 RETURNING 1", lost, NULL),
	    1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assignment_and_webhook_body),
		cmocka_unit_test(test_tenants_apart),
		cmocka_unit_test(test_applied_once_across_kill),
		cmocka_unit_test(test_previous_apply_event),
		cmocka_unit_test(test_reseal_mail),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
