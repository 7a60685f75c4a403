/* The outbox module (hd/outbox.h, libs/sql/outbox.sql) against the test
 * PostgreSQL, for a daemon schema "kit_test" that has no migrations of its
 * own: the shared migration builds the table (idempotent, recorded in the
 * schema's ledger, with row-level security) in the same shape as ticket's,
 * whose rows survive it; then a daemon of that schema runs in this process
 * (hd_daemon_main on a thread, spec.outbox set) with an in-process bus
 * forwarder: rows inserted are published on the bus in seq order after
 * hd_outbox_wake(), marked published, and events.since returns them page by
 * page, per tenant, to staff only.
 * Env: HD_TEST_DATABASE_URL (app role), HD_TEST_DATABASE_ADMIN_URL (owner),
 * HD_TEST_ROOT (for services/ticket/sql; default ../..). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "admin_sql.h"
#include "daemon_child.h"
#include "hd/envelope.h"
#include "hd/bus.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/outbox.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

#define NEVENTS 20
#define MAX_GOT 256
#define CALL_TIMEOUT_MS 5000

static struct {
	const char *admin_url, *app_url;
	char tenant[37], other[37], user[37];
	char rpc_url[64], sub_url[64], pub_url[64];
	pthread_mutex_t mu;
	long long seq[MAX_GOT];
	long long data_i[MAX_GOT];
	int ngot;
} T = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void env_setup(void)
{
	T.app_url = getenv("HD_TEST_DATABASE_URL");
	T.admin_url = getenv("HD_TEST_DATABASE_ADMIN_URL");
	if (T.app_url == NULL || T.admin_url == NULL)
		fail_msg("HD_TEST_DATABASE_URL and HD_TEST_DATABASE_ADMIN_URL must be set");
	assert_int_equal(hd_uuid_v7(T.tenant), HD_OK);
	assert_int_equal(hd_uuid_v7(T.other), HD_OK);
	assert_int_equal(hd_uuid_v7(T.user), HD_OK);
}

/* ---- the shared migration ---------------------------------------------- */

static void test_migration_creates_and_is_idempotent(void **state)
{
	(void)state;
	env_setup();
	assert_int_equal(
	    hd_db_exec_sync(T.admin_url, "DROP SCHEMA IF EXISTS kit_test CASCADE", 0, NULL, NULL),
	    HD_OK);
	assert_int_equal(
	    hd_db_migrate_ex(T.admin_url, "kit_test", NULL, hd_outbox_migrations), HD_OK);
	assert_int_equal(
	    hd_db_migrate_ex(T.admin_url, "kit_test", NULL, hd_outbox_migrations), HD_OK);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM kit_test.schema_migrations"
	                     " WHERE version = 'hd_outbox_001'",
	                     NULL, NULL),
	    1);
	/* row-level security, forced for the owner too, and both policies */
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM pg_class WHERE oid = 'kit_test.outbox'::regclass"
	                     " AND relrowsecurity AND relforcerowsecurity",
	                     NULL, NULL),
	    1);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM pg_policies WHERE schemaname = 'kit_test'"
	                     " AND tablename = 'outbox'",
	                     NULL, NULL),
	    2);
	/* a bad schema name never reaches SQL */
	assert_int_equal(hd_db_migrate_ex(T.admin_url, "kit\"; DROP", NULL, hd_outbox_migrations),
	    HD_ERR_INVALID);
	assert_int_equal(hd_outbox_init("Kit-Test"), HD_ERR_INVALID);
}

/* The shape of <schema>.outbox as text, the schema name replaced by S:
 * columns (but ticket's own sla_*), indexes, policies, RLS flags, the app
 * role's rights and the relay's functions' signatures. */
static char *outbox_shape(const char *schema)
{
	static const char sql[]
	    = "WITH t AS (SELECT format('%I.outbox', $1::text)::regclass AS rel)"
	      " SELECT replace(concat_ws(E'\\n',"
	      " (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)"
	      "   || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
	      "   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', '"
	      "   ORDER BY a.attname)"
	      "  FROM t, pg_attribute a LEFT JOIN pg_attrdef d"
	      "   ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
	      "  WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped"
	      "   AND a.attname NOT LIKE 'sla\\_%'),"
	      " (SELECT string_agg(indexdef, E'\\n' ORDER BY indexname) FROM pg_indexes"
	      "  WHERE schemaname = $1 AND tablename = 'outbox' AND indexdef NOT LIKE '%sla\\_%'),"
	      " (SELECT string_agg(policyname || ' ' || cmd || ' ' || coalesce(qual, '') || ' '"
	      "   || coalesce(with_check, '') || ' ' || (roles = ARRAY['public']::name[])::text,"
	      "   E'\\n' ORDER BY policyname)"
	      "  FROM pg_policies WHERE schemaname = $1 AND tablename = 'outbox'),"
	      " (SELECT relrowsecurity::text || relforcerowsecurity::text FROM t, pg_class c"
	      "  WHERE c.oid = t.rel),"
	      " (SELECT string_agg(p.proname || '(' || pg_get_function_arguments(p.oid) || ') '"
	      "   || pg_get_function_result(p.oid) || ' ' || p.prosecdef::text || ' ' || "
	      "p.provolatile::text,"
	      "   E'\\n' ORDER BY p.proname)"
	      "  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
	      "  WHERE n.nspname = $1 AND p.proname IN ('event_json', 'outbox_claim', 'uuid_v7',"
	      "   'ts', 'current_tenant'))), $1 || '.', 'S.')";
	return admin_text(T.admin_url, sql, schema);
}

static void test_same_shape_as_ticket_and_upgrade_keeps_rows(void **state)
{
	char dir[512];
	const char *root = getenv("HD_TEST_ROOT");
	(void)state;
	snprintf(dir, sizeof(dir), "%s/services/ticket/sql", root != NULL ? root : "../..");
	/* ticket as it was: its own migrations only */
	assert_int_equal(hd_db_migrate(T.admin_url, "ticket", dir), HD_OK);
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "INSERT INTO ticket.outbox (tenant_id, type, data)"
	                     " VALUES ($1, 'ticket.deleted', "
	                     "'{\"id\":\"00000000-0000-4000-8000-000000000000\","
	                     "\"requester_id\":\"00000000-0000-4000-8000-000000000001\"}')",
	                     1, (const char *const[]) { T.other }, NULL),
	    HD_OK);
	long long rows = admin_value(T.admin_url, "SELECT count(*) FROM ticket.outbox", NULL, NULL);
	long long max_seq
	    = admin_value(T.admin_url, "SELECT max(seq) FROM ticket.outbox", NULL, NULL);
	char *before = outbox_shape("ticket");
	/* the upgrade: the shared migration on the existing table (forgotten
	 * first when an earlier run recorded it) */
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "DELETE FROM ticket.schema_migrations WHERE version = 'hd_outbox_001'",
	                     0, NULL, NULL),
	    HD_OK);
	assert_int_equal(hd_db_migrate_ex(T.admin_url, "ticket", dir, hd_outbox_migrations), HD_OK);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM ticket.schema_migrations"
	                     " WHERE version = 'hd_outbox_001'",
	                     NULL, NULL),
	    1);
	assert_int_equal(
	    admin_value(T.admin_url, "SELECT count(*) FROM ticket.outbox", NULL, NULL), rows);
	assert_int_equal(
	    admin_value(T.admin_url, "SELECT max(seq) FROM ticket.outbox", NULL, NULL), max_seq);
	char *after = outbox_shape("ticket");
	char *kit = outbox_shape("kit_test");
	assert_non_null(before);
	assert_non_null(kit);
	assert_string_equal(after, before);
	assert_string_equal(kit, before);
	/* and the same rights on both: hd_app inserts and reads, nothing more
	 * (hd_outbox_003 took UPDATE away from ticket's) */
	static const char app_rights[]
	    = "SELECT string_agg(p, ',') FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'])"
	      " p WHERE has_table_privilege('hd_app', $1::regclass, p)";
	char *ticket_rights = admin_text(T.admin_url, app_rights, "ticket.outbox");
	char *kit_rights = admin_text(T.admin_url, app_rights, "kit_test.outbox");
	assert_non_null(ticket_rights);
	assert_non_null(kit_rights);
	assert_string_equal(ticket_rights, "SELECT,INSERT");
	assert_string_equal(kit_rights, "SELECT,INSERT");
	free(ticket_rights);
	free(kit_rights);
	free(before);
	free(after);
	free(kit);
	/* the row left for the relay of hd-ticket (tests run after this one) is
	 * another tenant's: publish it now so it is not in their way */
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "SELECT count(*) FROM ticket.outbox_claim(1000)", 0, NULL, NULL),
	    HD_OK);
}

/* ---- SECURITY DEFINER functions: no PUBLIC, each only to its role ------ */

/* Every SECURITY DEFINER function of the daemons' schemas (auth, ticket and
 * the shared migration's kit_test) is revoked from PUBLIC; hd_app keeps only
 * what its code calls (login's tenant lookup, the SLA detector, the
 * auto_triage claim) and is
 * refused the rest: the bootstrap (owner only) and the outbox claim, which
 * only the relay's role hd_relay may run (hd_outbox_003). */
static void test_security_definer_grants(void **state)
{
	char dir[512];
	const char *root = getenv("HD_TEST_ROOT");
	(void)state;
	snprintf(dir, sizeof(dir), "%s/services/auth/sql", root != NULL ? root : "../..");
	assert_int_equal(hd_db_migrate(T.admin_url, "auth", dir), HD_OK);
	static const char secdef[]
	    = "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
	      " WHERE p.prosecdef AND n.nspname IN ('auth', 'ticket', 'kit_test')";
	assert_true(admin_value(T.admin_url, secdef, NULL, NULL) >= 4);
	assert_int_equal(
	    admin_value(T.admin_url,
	        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,"
	        " aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
	        " WHERE p.prosecdef AND n.nspname IN ('auth', 'ticket', 'kit_test')"
	        " AND a.grantee = 0 AND a.privilege_type = 'EXECUTE'",
	        NULL, NULL),
	    0);
	static const char app_may[]
	    = "SELECT has_function_privilege('hd_app', $1::regprocedure, 'EXECUTE')::int";
	assert_int_equal(
	    admin_value(T.admin_url, app_may, "auth.tenant_id_by_slug(text)", NULL), 1);
	assert_int_equal(admin_value(T.admin_url, app_may, "ticket.sla_detect(integer)", NULL), 1);
	assert_int_equal(
	    admin_value(T.admin_url, app_may, "ticket.auto_triage_claim(integer)", NULL), 1);
	assert_int_equal(
	    admin_value(T.admin_url, app_may, "ticket.outbox_claim(integer)", NULL), 0);
	assert_int_equal(
	    admin_value(T.admin_url, app_may, "kit_test.outbox_claim(integer)", NULL), 0);
	static const char relay_may[]
	    = "SELECT has_function_privilege('hd_relay', $1::regprocedure, 'EXECUTE')::int";
	assert_int_equal(
	    admin_value(T.admin_url, relay_may, "ticket.outbox_claim(integer)", NULL), 1);
	assert_int_equal(
	    admin_value(T.admin_url, relay_may, "kit_test.outbox_claim(integer)", NULL), 1);
	assert_int_equal(
	    admin_value(T.admin_url, relay_may, "ticket.sla_detect(integer)", NULL), 0);
	/* no request path can mark an event published: no UPDATE for hd_app */
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT has_table_privilege('hd_app', $1::regclass, 'UPDATE')::int",
	                     "ticket.outbox", NULL),
	    0);
	assert_int_equal(
	    admin_value(T.admin_url, app_may,
	        "auth.bootstrap_ensure(uuid, text, text, uuid, text, text, text, text)", NULL),
	    0);
	/* and as hd_app itself: permission denied */
	assert_int_not_equal(hd_db_exec_sync(T.app_url,
	                         "SELECT count(*) FROM ticket.outbox_claim(1)", 0, NULL, NULL),
	    HD_OK);
	const char *p[] = { T.tenant, T.user };
	assert_int_not_equal(hd_db_exec_sync(T.app_url,
	                         "SELECT auth.bootstrap_ensure($1::uuid, 'x', 'X', $2::uuid,"
	                         " 'x@x.test', 'X', 'admin', 'x')",
	                         2, p, NULL),
	    HD_OK);
}

/* ---- relay and events.since, in a daemon of this process --------------- */

static void on_event(const char *type, const char *json, size_t len, void *arg)
{
	(void)arg;
	cJSON *ev = cJSON_ParseWithLength(json, len);
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
	const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(ev, "tenant_id");
	const cJSON *i
	    = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "data"), "i");
	if (strcmp(type, "kit.tested") == 0 && cJSON_IsString(tenant)
	    && strcmp(tenant->valuestring, T.tenant) == 0) {
		pthread_mutex_lock(&T.mu);
		if (T.ngot < MAX_GOT) {
			T.seq[T.ngot] = cJSON_IsNumber(seq) ? (long long)seq->valuedouble : -1;
			T.data_i[T.ngot] = cJSON_IsNumber(i) ? (long long)i->valuedouble : -1;
			T.ngot++;
		}
		pthread_mutex_unlock(&T.mu);
	}
	cJSON_Delete(ev);
}

static const hd_daemon_op kit_ops[] = {
	{ "events.since", hd_outbox_events_since },
	{ NULL, NULL },
};

static const hd_daemon_spec kit_spec = {
	.name = "kit_test",
	.version = "0",
	.schema = "kit_test",
	.listen_url_setting = "HD_KIT_TEST_URL",
	.admin_port_setting = "HD_KIT_TEST_ADMIN_PORT",
	.use_db = true,
	.outbox = true,
	.ops = kit_ops,
};

static void *daemon_thread(void *arg)
{
	static char name[] = "hd-kit-test";
	char *argv[] = { name, NULL };
	*(int *)arg = hd_daemon_main(&kit_spec, 1, argv);
	return NULL;
}

static hd_err call(hd_rpc_client *c, const char *tenant, const char *role, const char *query,
    const char *body, daemon_reply *r)
{
	hd_envelope e;
	struct timespec ts;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "events.since");
	snprintf(e.request_id, sizeof(e.request_id), "kit-outbox");
	snprintf(e.tenant_id, sizeof(e.tenant_id), "%s", tenant);
	snprintf(e.user_id, sizeof(e.user_id), "%s", T.user);
	snprintf(e.role, sizeof(e.role), "%s", role);
	snprintf(e.query, sizeof(e.query), "%s", query != NULL ? query : "");
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + CALL_TIMEOUT_MS;
	e.body = body;
	e.body_len = body != NULL ? strlen(body) : 0;
	return daemon_child_call(c, &e, CALL_TIMEOUT_MS, r);
}

/* Checks an events.since page: n items of the tenant with consecutive seqs
 * from first, and last_seq/more. */
static void check_page(const daemon_reply *r, int n, long long first, bool more)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(r->json, "last_seq");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "more");
	assert_int_equal(r->status, 200);
	assert_int_equal(cJSON_GetArraySize(items), n);
	for (int i = 0; i < n; i++) {
		const cJSON *ev = cJSON_GetArrayItem(items, i);
		assert_int_equal(
		    (long long)cJSON_GetObjectItemCaseSensitive(ev, "seq")->valuedouble, first + i);
		assert_string_equal(
		    cJSON_GetObjectItemCaseSensitive(ev, "tenant_id")->valuestring, T.tenant);
		assert_string_equal(
		    cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring, "kit.tested");
		assert_non_null(cJSON_GetObjectItemCaseSensitive(ev, "occurred_at"));
		assert_non_null(cJSON_GetObjectItemCaseSensitive(ev, "id"));
	}
	if (n > 0)
		assert_int_equal((long long)last->valuedouble, first + n - 1);
	else
		assert_true(cJSON_IsNull(last));
	assert_true(more ? cJSON_IsTrue(m) : cJSON_IsFalse(m));
}

static void test_relay_publishes_in_order_and_events_since(void **state)
{
	hd_bus_forwarder *fwd = NULL;
	hd_bus_sub *sub = NULL;
	hd_rpc_client *client = NULL;
	pthread_t th;
	int rc = -1;
	daemon_reply r;
	char q[64];
	(void)state;
	assert_true(daemon_child_port_env(
	                "HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", T.pub_url, sizeof(T.pub_url))
	    > 0);
	assert_true(daemon_child_port_env(
	                "HD_BUS_SUB_URL", "tcp://127.0.0.1:%d", T.sub_url, sizeof(T.sub_url))
	    > 0);
	assert_true(daemon_child_port_env(
	                "HD_KIT_TEST_URL", "tcp://127.0.0.1:%d", T.rpc_url, sizeof(T.rpc_url))
	    > 0);
	assert_true(daemon_child_port_env("HD_KIT_TEST_ADMIN_PORT", "%d", NULL, 0) > 0);
	setenv("HD_DATABASE_URL", T.app_url, 1);
	setenv("HD_WORKERS", "2", 1);
	setenv("HD_LOG_LEVEL", "warn", 0);
	assert_int_equal(hd_bus_forwarder_start(&fwd, T.pub_url, T.sub_url), HD_OK);
	assert_int_equal(hd_bus_sub_open(&sub, T.sub_url, "kit.", on_event, NULL), HD_OK);
	assert_int_equal(pthread_create(&th, NULL, daemon_thread, &rc), 0);
	assert_int_equal(hd_rpc_client_open(&client, T.rpc_url), HD_OK);
	for (int i = 0; i < 100 && !hd_rpc_client_connected(client); i++)
		sleep_ms(50);
	assert_true(hd_rpc_client_connected(client));
	sleep_ms(300); /* the subscriber and the relay's publisher joined the forwarder */

	/* nothing yet: an empty page */
	assert_int_equal(call(client, T.tenant, "agent", NULL, "{\"after_seq\":0}", &r), HD_OK);
	check_page(&r, 0, 0, false);
	daemon_reply_free(&r);

	/* one transaction of NEVENTS rows, and another tenant's row */
	long long base = admin_value(
	    T.admin_url, "SELECT COALESCE(max(pub_seq), 0) FROM kit_test.outbox", NULL, NULL);
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "INSERT INTO kit_test.outbox (tenant_id, type, actor_id, data)"
	                     " SELECT $1, 'kit.tested', $2, json_build_object('i', g)"
	                     " FROM generate_series(1, 20) g",
	                     2, (const char *const[]) { T.tenant, T.user }, NULL),
	    HD_OK);
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "INSERT INTO kit_test.outbox (tenant_id, type, data)"
	                     " VALUES ($1, 'kit.tested', '{}')",
	                     1, (const char *const[]) { T.other }, NULL),
	    HD_OK);
	hd_outbox_wake();
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&T.mu);
		int n = T.ngot;
		pthread_mutex_unlock(&T.mu);
		if (n >= NEVENTS)
			break;
		sleep_ms(50);
	}
	pthread_mutex_lock(&T.mu);
	assert_int_equal(T.ngot, NEVENTS);
	for (int i = 0; i < NEVENTS; i++) {
		assert_int_equal(T.seq[i], base + 1 + i); /* gap-free, in commit order */
		assert_int_equal(T.data_i[i], i + 1);
	}
	pthread_mutex_unlock(&T.mu);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM kit_test.outbox"
	                     " WHERE published_at IS NULL OR pub_seq IS NULL",
	                     NULL, NULL),
	    0);

	/* events.since: the body, then the query string, page by page */
	assert_int_equal(
	    call(client, T.tenant, "agent", NULL, "{\"after_seq\":0,\"limit\":1000}", &r), HD_OK);
	check_page(&r, NEVENTS, base + 1, false);
	daemon_reply_free(&r);
	snprintf(q, sizeof(q), "after_seq=%lld&limit=5", base);
	assert_int_equal(call(client, T.tenant, "admin", q, NULL, &r), HD_OK);
	check_page(&r, 5, base + 1, true);
	daemon_reply_free(&r);
	snprintf(q, sizeof(q), "after_seq=%lld", base + 15);
	assert_int_equal(call(client, T.tenant, "agent", q, NULL, &r), HD_OK);
	check_page(&r, 5, base + 16, false);
	daemon_reply_free(&r);
	/* the other tenant sees only its own event (RLS and the tenant filter) */
	assert_int_equal(call(client, T.other, "agent", NULL, NULL, &r), HD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")), 1);
	daemon_reply_free(&r);
	/* refusals */
	assert_int_equal(call(client, T.tenant, "customer", NULL, NULL, &r), HD_OK);
	assert_int_equal(r.status, 403);
	daemon_reply_free(&r);
	assert_int_equal(call(client, "", "", NULL, NULL, &r), HD_OK);
	assert_int_equal(r.status, 401);
	daemon_reply_free(&r);
	assert_int_equal(call(client, T.tenant, "agent", "after_seq=-1", NULL, &r), HD_OK);
	assert_int_equal(r.status, 422);
	daemon_reply_free(&r);
	assert_int_equal(call(client, T.tenant, "agent", NULL, "{\"limit\":1001}", &r), HD_OK);
	assert_int_equal(r.status, 422);
	daemon_reply_free(&r);
	assert_int_equal(call(client, T.tenant, "agent", NULL, "[1]", &r), HD_OK);
	assert_int_equal(r.status, 422); /* not an object: 422, as everywhere */
	daemon_reply_free(&r);

	hd_rpc_client_close(client);
	kill(getpid(), SIGTERM);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(rc, 0);
	hd_bus_sub_close(sub);
	hd_bus_forwarder_stop(fwd);
	/* no relay runs now: a wake is a no-op */
	hd_outbox_wake();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migration_creates_and_is_idempotent),
		cmocka_unit_test(test_same_shape_as_ticket_and_upgrade_keeps_rows),
		cmocka_unit_test(test_security_definer_grants),
		cmocka_unit_test(test_relay_publishes_in_order_and_events_since),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
