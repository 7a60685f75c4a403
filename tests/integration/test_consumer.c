/* The event consumer (hd/consumer.h, libs/sql/consumer.sql) and the
 * outbox's cross-tenant replay (hd_outbox_events_replay, hd_outbox_004)
 * against the test PostgreSQL. A daemon of schema "cons_test" is both the
 * source (its outbox, relay and cons_test_events.replay) and the consumer
 * of its own events, whose effect inserts a row per event into
 * cons_test.applied under row-level security (so the effect runs in the
 * event's tenant). The daemon is this program run again as a child
 * ("serve"), so that it can be killed with SIGKILL; the bus forwarder runs
 * here. Checked: events of two tenants are applied once each and in order;
 * a gap (events claimed but never published, as after a crash between the
 * relay's claim and publish) is caught up through replay; the same events
 * delivered again on the bus are not applied again, and consume() refuses
 * an event that is not the next one; after kill -9 the consumer resumes from
 * its stored position, catching up what was published while it was down;
 * a catch-up of several replay pages applies in runs (batch_sql, the next
 * page read ahead while a run applies), each event once and in order;
 * events the bus delivers while a transaction is in flight apply as one
 * run too (live runs), also for a consumer without batch_sql (consume_run
 * and each event's effect in one transaction).
 * Env: HD_TEST_DATABASE_URL (app role), HD_TEST_DATABASE_ADMIN_URL (owner),
 * HD_RELAY_DATABASE_URL (the relay's role). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include "admin_sql.h"
#include "daemon_child.h"
#include "hd/bus.h"
#include "hd/consumer.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/envelope.h"
#include "hd/outbox.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

#define CALL_TIMEOUT_MS 5000
#define WAIT_MS 15000

static struct {
	const char *admin_url, *app_url;
	char tenant[37], other[37];
	char rpc_url[64], sub_url[64], pub_url[64];
	hd_bus_forwarder *fwd;
	daemon_child child;
} T;

/* ---- the daemon (child process) ---- */

static const char *cons_effect(const char *type)
{
	(void)type;
	return "INSERT INTO cons_test.applied (tenant_id, type, data, event_id, seq, actor)"
	       " VALUES ($1::uuid, $2::text, $3::json, $4::uuid, $5::bigint, $6::uuid)";
}

/* events per replay call (hd_consumer_spec.page_limit), below the default */
#define CONS_PAGE 300

static const hd_consumer_spec cons_consumers[] = {
	{ .source = "cons_test",
	    .prefixes = "cons.",
	    .url_setting = "HD_CONS_TEST_URL",
	    .replay_op = "cons_test_events.replay",
	    .effect_sql = cons_effect,
	    .batch_sql = "SELECT cons_test.apply_run($1::text, $2::json)",
	    .page_limit = CONS_PAGE },
	{ .source = NULL },
};

static const hd_daemon_op cons_ops[] = {
	{ "cons_test_events.replay", hd_outbox_events_replay },
	{ NULL, NULL },
};

static const hd_daemon_spec cons_spec = {
	.name = "cons_test",
	.version = "0",
	.schema = "cons_test",
	.listen_url_setting = "HD_CONS_TEST_URL",
	.admin_port_setting = "HD_CONS_TEST_ADMIN_PORT",
	.use_db = true,
	.outbox = true,
	.consumers = cons_consumers,
	.ops = cons_ops,
};

/* The same daemon whose consumer has no batch_sql ("serve-each"): runs of
 * events go through consume_run and each event's effect in one
 * transaction. */
static hd_daemon_spec cons_spec_each(void)
{
	static hd_consumer_spec each[2];
	hd_daemon_spec spec = cons_spec;
	each[0] = cons_consumers[0];
	each[0].batch_sql = NULL;
	each[1] = (hd_consumer_spec) { .source = NULL };
	spec.consumers = each;
	return spec;
}

/* ---- helpers ---- */

/* n events of tenant, committed; publish: left to the relay, else claimed
 * here and never published (a dropped message, a crash before publish). */
static void events_add(const char *tenant, int n, bool publish)
{
	char count[16];
	snprintf(count, sizeof count, "%d", n);
	admin_value(T.admin_url,
	    publish ? "SELECT count(*) FROM cons_test.test_add($1, $2::int)"
	            : "SELECT count(*) FROM cons_test.test_add_unpublished($1, $2::int)",
	    tenant, count);
}

/* True once every published event is applied exactly once and the position
 * is the last one. */
static bool level(void)
{
	return admin_value(T.admin_url,
	           "SELECT count(*) FROM cons_test.outbox o WHERE o.pub_seq IS NOT NULL"
	           " AND (SELECT count(*) FROM cons_test.applied a WHERE a.seq = o.pub_seq"
	           "      AND a.tenant_id = o.tenant_id AND a.event_id = o.id) <> 1",
	           NULL, NULL)
	    == 0
	    && admin_value(T.admin_url,
	           "SELECT count(*) FROM cons_test.applied a WHERE NOT EXISTS (SELECT 1"
	           " FROM cons_test.outbox o WHERE o.pub_seq = a.seq)",
	           NULL, NULL)
	    == 0
	    && admin_value(T.admin_url, "SELECT COALESCE(max(pub_seq), 0) FROM cons_test.outbox",
	           NULL, NULL)
	    == admin_value(T.admin_url,
	        "SELECT COALESCE((SELECT last_seq FROM cons_test.consumed"
	        " WHERE source = 'cons_test'), 0)",
	        NULL, NULL);
}

static void wait_level(long long published)
{
	for (int i = 0; i < WAIT_MS / 100; i++) {
		if (admin_value(T.admin_url,
		        "SELECT count(*) FROM cons_test.outbox WHERE pub_seq IS NOT NULL", NULL,
		        NULL)
		        >= published
		    && level())
			return;
		sleep_ms(100);
	}
	fail_msg("the consumer did not apply all %lld events exactly once within %d ms "
	         "(applied %lld)",
	    published, WAIT_MS,
	    admin_value(T.admin_url, "SELECT count(*) FROM cons_test.applied", NULL, NULL));
}

static long long applied(void)
{
	return admin_value(T.admin_url, "SELECT count(*) FROM cons_test.applied", NULL, NULL);
}

/* Starts the daemon: "serve" (batch_sql) or "serve-each" (without). */
static void child_start_as(const char *mode)
{
	hd_rpc_client *c = NULL;
	assert_int_equal(daemon_child_spawn(&T.child, mode), 0);
	assert_int_equal(hd_rpc_client_open(&c, T.rpc_url), HD_OK);
	for (int i = 0; i < 200 && !hd_rpc_client_connected(c); i++)
		sleep_ms(50);
	assert_true(hd_rpc_client_connected(c));
	hd_rpc_client_close(c);
}

static void child_start(void)
{
	child_start_as("serve");
}

static hd_err replay_call(const char *tenant, const char *role, const char *body, daemon_reply *r)
{
	hd_rpc_client *c = NULL;
	hd_envelope e;
	struct timespec ts;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "cons_test_events.replay");
	snprintf(e.request_id, sizeof(e.request_id), "cons-test");
	snprintf(e.tenant_id, sizeof(e.tenant_id), "%s", tenant);
	snprintf(e.role, sizeof(e.role), "%s", role);
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + CALL_TIMEOUT_MS;
	e.body = body;
	e.body_len = strlen(body);
	assert_int_equal(hd_rpc_client_open(&c, T.rpc_url), HD_OK);
	for (int i = 0; i < 100 && !hd_rpc_client_connected(c); i++)
		sleep_ms(50);
	hd_err err = daemon_child_call(c, &e, CALL_TIMEOUT_MS, r);
	hd_rpc_client_close(c);
	return err;
}

/* ---- setup ---- */

static int setup(void **state)
{
	static const hd_db_shared_migration none = { NULL, NULL };
	hd_db_shared_migration shared[16];
	size_t n = 0;
	(void)state;
	T.app_url = getenv("HD_TEST_DATABASE_URL");
	T.admin_url = getenv("HD_TEST_DATABASE_ADMIN_URL");
	if (T.app_url == NULL || T.admin_url == NULL || getenv("HD_RELAY_DATABASE_URL") == NULL) {
		fprintf(stderr,
		    "HD_TEST_DATABASE_URL, HD_TEST_DATABASE_ADMIN_URL and "
		    "HD_RELAY_DATABASE_URL must be set\n");
		return -1;
	}
	if (hd_uuid_v7(T.tenant) != HD_OK || hd_uuid_v7(T.other) != HD_OK)
		return -1;
	for (size_t i = 0; hd_outbox_migrations[i].version != NULL; i++)
		shared[n++] = hd_outbox_migrations[i];
	for (size_t i = 0; hd_consumer_migrations[i].version != NULL; i++)
		shared[n++] = hd_consumer_migrations[i];
	shared[n] = none;
	if (hd_db_migrate_ex(T.admin_url, "cons_test", NULL, shared) != HD_OK)
		return -1;
	/* the effect's table, under row-level security by tenant, and the
	 * test's ways of adding events */
	static const char *const ddl[] = {
		"CREATE TABLE IF NOT EXISTS cons_test.applied (tenant_id uuid NOT NULL, type text "
		"NOT "
		"NULL, data json NOT NULL, event_id uuid NOT NULL, seq bigint NOT NULL, actor "
		"uuid)",
		"ALTER TABLE cons_test.applied ENABLE ROW LEVEL SECURITY",
		"DROP POLICY IF EXISTS tenant_isolation ON cons_test.applied",
		"CREATE POLICY tenant_isolation ON cons_test.applied USING (tenant_id = "
		"cons_test.current_tenant()) WITH CHECK (tenant_id = cons_test.current_tenant())",
		"GRANT SELECT, INSERT ON cons_test.applied TO hd_app",
		/* the transaction that applied each (test_live_runs_without_batch_sql) */
		"ALTER TABLE cons_test.applied ADD COLUMN IF NOT EXISTS xact xid8 NOT NULL DEFAULT "
		"pg_current_xact_id()",
		/* the length of each run applied (test_long_catch_up_in_runs) */
		"CREATE TABLE IF NOT EXISTS cons_test.runs (n int NOT NULL)",
		"GRANT SELECT, INSERT ON cons_test.runs TO hd_app",
		/* a run of a replay page in one transaction (hd_consumer_spec.batch_sql) */
		"CREATE OR REPLACE FUNCTION cons_test.apply_run(p_source text, p_events json) "
		"RETURNS "
		"int LANGUAGE plpgsql AS $$ DECLARE e json; first bigint := (p_events -> 0 ->> "
		"'seq')::bigint; n int := 0; BEGIN PERFORM cons_test.consume(p_source, first); FOR "
		"e "
		"IN SELECT x FROM json_array_elements(p_events) x LOOP IF (e ->> 'seq')::bigint <> "
		"first + n THEN RAISE EXCEPTION 'not a run' USING ERRCODE = 'HDC01'; END IF; "
		"PERFORM "
		"set_config('app.tenant_id', e ->> 'tenant_id', true); INSERT INTO "
		"cons_test.applied "
		"VALUES ((e ->> 'tenant_id')::uuid, e ->> 'type', e -> 'data', (e ->> 'id')::uuid, "
		"(e ->> 'seq')::bigint, (e ->> 'actor')::uuid); n := n + 1; END LOOP; UPDATE "
		"cons_test.consumed c SET last_seq = first + n - 1 WHERE c.source = p_source; "
		"INSERT INTO cons_test.runs VALUES (n); RETURN n; END $$",
		"CREATE OR REPLACE FUNCTION cons_test.test_add(p_tenant uuid, n int) RETURNS SETOF "
		"bigint LANGUAGE sql AS $$ INSERT INTO cons_test.outbox (tenant_id, type, data) "
		"SELECT "
		"p_tenant, 'cons.tested', json_build_object('i', g) FROM generate_series(1, n) g "
		"RETURNING seq $$",
		/* an event whose effect can never apply (test_poison_event_is_parked) */
		"ALTER TABLE cons_test.applied DROP CONSTRAINT IF EXISTS applied_no_poison",
		"ALTER TABLE cons_test.applied ADD CONSTRAINT applied_no_poison CHECK (data ->> "
		"'poison' IS NULL)",
		"CREATE OR REPLACE FUNCTION cons_test.test_add_poison(p_tenant uuid) RETURNS SETOF "
		"bigint LANGUAGE sql AS $$ INSERT INTO cons_test.outbox (tenant_id, type, data) "
		"VALUES (p_tenant, 'cons.tested', json_build_object('poison', true)) RETURNING seq "
		"$$",
		"CREATE OR REPLACE FUNCTION cons_test.test_add_unpublished(p_tenant uuid, n int) "
		"RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN PERFORM "
		"cons_test.test_add(p_tenant, "
		"n); RETURN QUERY SELECT c.event FROM cons_test.outbox_claim(1000) c; END $$",
	};
	for (size_t i = 0; i < sizeof(ddl) / sizeof(ddl[0]); i++)
		if (hd_db_exec_sync(T.admin_url, ddl[i], 0, NULL, NULL) != HD_OK)
			return -1;
	if (daemon_child_port_env(
	        "HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", T.pub_url, sizeof(T.pub_url))
	        < 0
	    || daemon_child_port_env(
	           "HD_BUS_SUB_URL", "tcp://127.0.0.1:%d", T.sub_url, sizeof(T.sub_url))
	        < 0
	    || daemon_child_port_env(
	           "HD_CONS_TEST_URL", "tcp://127.0.0.1:%d", T.rpc_url, sizeof(T.rpc_url))
	        < 0
	    || daemon_child_port_env("HD_CONS_TEST_ADMIN_PORT", "%d", NULL, 0) < 0)
		return -1;
	setenv("HD_DATABASE_URL", T.app_url, 1);
	setenv("HD_WORKERS", "2", 1);
	setenv("HD_LOG_LEVEL", "warn", 0);
	daemon_child_init(&T.child, "test_consumer");
	ssize_t len = readlink("/proc/self/exe", T.child.bin, sizeof(T.child.bin) - 1);
	if (len <= 0)
		return -1;
	T.child.bin[len] = '\0';
	return hd_bus_forwarder_start(&T.fwd, T.pub_url, T.sub_url) == HD_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (daemon_child_alive(&T.child))
		daemon_child_stop(&T.child, SIGKILL);
	hd_bus_forwarder_stop(T.fwd);
	return 0;
}

/* ---- tests ---- */

static void test_applies_once_in_order_across_tenants(void **state)
{
	(void)state;
	child_start();
	events_add(T.tenant, 3, true);
	events_add(T.other, 2, true);
	wait_level(5);
	assert_int_equal(applied(), 5);
	assert_int_equal(
	    admin_value(T.admin_url, "SELECT count(*) FROM cons_test.applied WHERE tenant_id = $1",
	        T.other, NULL),
	    2);
	/* in seq order: the effect rows were inserted in seq order */
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY "
	                     "ctid) AS prev FROM cons_test.applied) x WHERE x.prev >= x.seq",
	                     NULL, NULL),
	    0);
}

static void test_gap_is_caught_up(void **state)
{
	(void)state;
	long long before = applied();
	events_add(T.tenant, 4, false); /* claimed, never on the bus */
	events_add(T.other, 1, true); /* the next one shows the gap */
	wait_level(before + 5);
	assert_int_equal(applied(), before + 5);
}

static void test_duplicate_delivery_applied_once(void **state)
{
	hd_bus_pub *pub = NULL;
	char *ev = NULL;
	(void)state;
	long long before = applied();
	assert_int_equal(hd_bus_pub_open(&pub, T.pub_url), HD_OK);
	sleep_ms(300); /* the publisher joined the forwarder */
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "SELECT cons_test.event_json(o)::text FROM cons_test.outbox o"
	                     " WHERE o.pub_seq = (SELECT max(pub_seq) FROM cons_test.outbox)",
	                     0, NULL, &ev),
	    HD_OK);
	assert_non_null(ev);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hd_bus_publish(pub, "cons.tested", ev, strlen(ev)), HD_OK);
	free(ev);
	assert_int_equal(hd_db_exec_sync(T.admin_url,
	                     "SELECT cons_test.event_json(o)::text FROM cons_test.outbox o"
	                     " WHERE o.pub_seq = 1",
	                     0, NULL, &ev),
	    HD_OK);
	assert_int_equal(hd_bus_publish(pub, "cons.tested", ev, strlen(ev)), HD_OK);
	free(ev);
	sleep_ms(HD_CONSUMER_CATCHUP_MS + 500); /* delivered, and a periodic catch-up */
	assert_true(level());
	assert_int_equal(applied(), before);
	hd_bus_pub_close(pub);
	/* the guard itself: an event at or below the position, or past the next */
	long long last = admin_value(T.admin_url,
	    "SELECT last_seq FROM cons_test.consumed WHERE source = 'cons_test'", NULL, NULL);
	char seq[24];
	snprintf(seq, sizeof seq, "%lld", last);
	assert_int_not_equal(hd_db_exec_sync(T.app_url, "SELECT cons_test.consume('cons_test', $1)",
	                         1, (const char *const[]) { seq }, NULL),
	    HD_OK);
	snprintf(seq, sizeof seq, "%lld", last + 2);
	assert_int_not_equal(hd_db_exec_sync(T.app_url, "SELECT cons_test.consume('cons_test', $1)",
	                         1, (const char *const[]) { seq }, NULL),
	    HD_OK);
	assert_true(level());
}

static void test_restart_after_kill_resumes(void **state)
{
	(void)state;
	long long before = applied();
	assert_int_equal(daemon_child_stop(&T.child, SIGKILL), SIGKILL);
	events_add(T.tenant, 2, false); /* published while the consumer is down */
	events_add(T.other, 2, true); /* committed, relayed once the daemon is back */
	child_start();
	wait_level(before + 4);
	assert_int_equal(applied(), before + 4);
	assert_int_equal(daemon_child_stop(&T.child, SIGTERM), 0);
	assert_true(daemon_child_log_clean(&T.child));
	daemon_child_log_remove(&T.child);
}

/* A long catch-up (several replay pages of the spec's page_limit): applied
 * in runs no longer than a page, the next page read ahead while a run
 * applies; each event once, in order. */
static void test_long_catch_up_in_runs(void **state)
{
	(void)state;
	long long before = applied();
	if (daemon_child_alive(&T.child))
		daemon_child_stop(&T.child, SIGKILL);
	admin_value(T.admin_url,
	    "WITH d AS (DELETE FROM cons_test.runs RETURNING 1) SELECT count(*) FROM d", NULL,
	    NULL);
	for (int i = 0; i < 3; i++)
		events_add(i % 2 == 0 ? T.tenant : T.other, 700, false); /* never on the bus */
	child_start();
	wait_level(before + 2100);
	assert_int_equal(applied(), before + 2100);
	/* runs, none longer than the spec's page (the default would be 500) */
	assert_true(
	    admin_value(T.admin_url, "SELECT max(n) FROM cons_test.runs", NULL, NULL) <= CONS_PAGE);
	assert_true(admin_value(T.admin_url, "SELECT max(n) FROM cons_test.runs", NULL, NULL) > 1);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY "
	                     "ctid) AS prev FROM cons_test.applied) x WHERE x.prev >= x.seq",
	                     NULL, NULL),
	    0);
	assert_int_equal(daemon_child_stop(&T.child, SIGTERM), 0);
	assert_true(daemon_child_log_clean(&T.child));
}

/* Publishes n new events of tenant on the bus while this test holds a lock
 * on the consumer's position row: the first one's transaction waits on it
 * and the others queue behind it. The events are made in the lock's
 * transaction, so that no periodic catch-up can page them before the bus
 * brings them. Returns once all are applied; the consumer runs in mode. */
static long long live_burst(const char *mode, int n)
{
	hd_bus_pub *pub = NULL;
	child_start_as(mode);
	long long before = applied();
	wait_level(admin_value(
	    T.admin_url, "SELECT COALESCE(max(pub_seq), 0) FROM cons_test.outbox", NULL, NULL));
	long long last_seq = admin_value(T.admin_url,
	    "SELECT last_seq FROM cons_test.consumed WHERE source = 'cons_test'", NULL, NULL);
	admin_value(T.admin_url,
	    "WITH d AS (DELETE FROM cons_test.runs RETURNING 1) SELECT count(*) FROM d", NULL,
	    NULL);
	assert_int_equal(hd_bus_pub_open(&pub, T.pub_url), HD_OK);
	sleep_ms(300); /* the publisher joined the forwarder */
	PGconn *db = PQconnectdb(T.admin_url);
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	PGresult *r = PQexec(db,
	    "BEGIN; SELECT 1 FROM cons_test.consumed"
	    " WHERE source = 'cons_test' FOR UPDATE");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	char count[16];
	snprintf(count, sizeof count, "%d", n);
	const char *params[2] = { T.tenant, count };
	PGresult *events
	    = PQexecParams(db, "SELECT * FROM cons_test.test_add_unpublished($1, $2::int)", 2, NULL,
	        params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(events), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(events), n);
	for (int i = 0; i < n; i++) {
		const char *ev = PQgetvalue(events, i, 0);
		assert_int_equal(hd_bus_publish(pub, "cons.tested", ev, strlen(ev)), HD_OK);
		if (i == 0)
			sleep_ms(300); /* the first one's transaction waits on the lock */
	}
	PQclear(events);
	sleep_ms(300); /* the others are queued behind it */
	r = PQexec(db, "COMMIT");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(db);
	wait_level(before + n);
	assert_int_equal(applied(), before + n);
	assert_int_equal(admin_value(T.admin_url,
	                     "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY "
	                     "ctid) AS prev FROM cons_test.applied) x WHERE x.prev >= x.seq",
	                     NULL, NULL),
	    0);
	hd_bus_pub_close(pub);
	assert_int_equal(daemon_child_stop(&T.child, SIGTERM), 0);
	assert_true(daemon_child_log_clean(&T.child));
	return last_seq;
}

/* Events the bus delivers while the consumer's transaction waits are
 * applied together, in one run of batch_sql, once it is free: each once
 * and in order. */
static void test_live_events_apply_in_runs(void **state)
{
	(void)state;
	live_burst("serve", 6);
	/* the first alone and the five queued behind it in one run, or all six
	 * in one when the first arrived during a catch-up call (which could not
	 * see them: not committed yet) */
	assert_true(admin_value(T.admin_url, "SELECT max(n) FROM cons_test.runs", NULL, NULL) >= 5);
}

/* The same for a consumer without batch_sql (every daemon's but
 * hd-analytics'): the queued events apply in one transaction (consume_run
 * moves the position over them once, then each event's effect in its
 * tenant), each once and in order, where before each was its own. */
static void test_live_runs_without_batch_sql(void **state)
{
	(void)state;
	char after[24];
	snprintf(after, sizeof after, "%lld", live_burst("serve-each", 6));
	/* the first alone and the five behind it together, or all six */
	assert_true(
	    admin_value(T.admin_url,
	        "SELECT count(DISTINCT xact::text) FROM cons_test.applied WHERE seq > $1::bigint",
	        after, NULL)
	    <= 2);
	assert_int_equal(
	    admin_value(T.admin_url, "SELECT count(*) FROM cons_test.runs", NULL, NULL),
	    0); /* not batch_sql */
}

static void test_replay_is_for_daemons_only(void **state)
{
	daemon_reply r;
	(void)state;
	child_start();
	assert_int_equal(replay_call(T.tenant, "admin", "{\"after_seq\":0}", &r), HD_OK);
	assert_int_equal(r.status, 403);
	daemon_reply_free(&r);
	assert_int_equal(replay_call(T.tenant, HD_OUTBOX_REPLAY_ROLE, "{}", &r), HD_OK);
	assert_int_equal(r.status, 403);
	daemon_reply_free(&r);
	assert_int_equal(replay_call("", HD_OUTBOX_REPLAY_ROLE, "{\"limit\":0}", &r), HD_OK);
	assert_int_equal(r.status, 422);
	daemon_reply_free(&r);
	/* every tenant's events, in seq order, paged */
	assert_int_equal(
	    replay_call("", HD_OUTBOX_REPLAY_ROLE, "{\"after_seq\":0,\"limit\":3}", &r), HD_OK);
	assert_int_equal(r.status, 200);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
	assert_int_equal(cJSON_GetArraySize(items), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "more")));
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    (long long)cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, i), "seq")
		        ->valuedouble,
		    i + 1);
	daemon_reply_free(&r);
	assert_int_equal(
	    replay_call("", HD_OUTBOX_REPLAY_ROLE, "{\"after_seq\":3,\"limit\":1000}", &r), HD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "items")),
	    admin_value(T.admin_url, "SELECT count(*) FROM cons_test.outbox WHERE pub_seq > 3",
	        NULL, NULL));
	daemon_reply_free(&r);
	assert_int_equal(daemon_child_stop(&T.child, SIGTERM), 0);
	assert_true(daemon_child_log_clean(&T.child));
}

/* An event whose effect fails with an error of its own (here a check of
 * the effect's table) is parked after HD_CONSUMER_PARK_AFTER tries: kept
 * whole with the error, the position past it, and the events after it
 * applied, where before one such event stopped its source for good. */
static void test_poison_event_is_parked(void **state)
{
	(void)state;
	const char *super = getenv("HD_TEST_DATABASE_SUPER_URL");
	child_start();
	long long before = applied();
	admin_value(
	    T.admin_url, "SELECT count(*) FROM cons_test.test_add_poison($1)", T.tenant, NULL);
	events_add(T.tenant, 2, true);
	long long last = 0, published = 0;
	for (int i = 0; i < 3 * WAIT_MS / 100; i++) { /* five tries 2 s apart, then on */
		/* every row is published in the end, numbered 1.. without gaps */
		published
		    = admin_value(T.admin_url, "SELECT count(*) FROM cons_test.outbox", NULL, NULL);
		last = admin_value(T.admin_url,
		    "SELECT last_seq FROM cons_test.consumed WHERE source = 'cons_test'", NULL,
		    NULL);
		if (published > 0 && last == published)
			break;
		sleep_ms(100);
	}
	assert_int_equal(last, published);
	assert_int_equal(applied(), before + 2);
	assert_non_null(super);
	assert_int_equal(
	    admin_value(super,
	        "SELECT count(*) FROM cons_test.consumer_parked p JOIN cons_test.outbox o"
	        " ON o.pub_seq = p.seq AND o.id = p.event_id AND o.tenant_id = p.tenant_id"
	        " WHERE p.source = 'cons_test' AND p.data ->> 'poison' = 'true'"
	        " AND p.sqlstate = '23514' AND p.error LIKE '%applied_no_poison%'"
	        " AND p.failures = $1::int",
	        HD_CONSUMER_PARK_AFTER == 5 ? "5" : "?", NULL),
	    1);
	/* parked rows are the tenant's: the application role sees none without it */
	assert_int_equal(
	    admin_value(T.app_url, "SELECT count(*) FROM cons_test.consumer_parked", NULL, NULL),
	    0);
	assert_int_equal(daemon_child_stop(&T.child, SIGTERM), 0);
	/* --replay-parked: still failing, it stays; once the cause is mended it
	 * is applied and no longer parked */
	assert_int_equal(hd_consumer_replay_parked(cons_consumers, "cons_test", T.admin_url), 1);
	assert_int_equal(
	    admin_value(super, "SELECT count(*) FROM cons_test.consumer_parked", NULL, NULL), 1);
	assert_int_equal(
	    hd_db_exec_sync(T.admin_url,
	        "ALTER TABLE cons_test.applied DROP CONSTRAINT applied_no_poison", 0, NULL, NULL),
	    HD_OK);
	assert_int_equal(hd_consumer_replay_parked(cons_consumers, "cons_test", T.admin_url), 0);
	assert_int_equal(
	    admin_value(super, "SELECT count(*) FROM cons_test.consumer_parked", NULL, NULL), 0);
	assert_int_equal(
	    admin_value(T.admin_url,
	        "SELECT count(*) FROM cons_test.applied WHERE data ->> 'poison' = 'true'"
	        " AND tenant_id = $1",
	        T.tenant, NULL),
	    1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "serve") == 0)
		return hd_daemon_main(&cons_spec, 1, argv);
	if (argc > 1 && strcmp(argv[1], "serve-each") == 0) {
		hd_daemon_spec each = cons_spec_each();
		return hd_daemon_main(&each, 1, argv);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_applies_once_in_order_across_tenants),
		cmocka_unit_test(test_gap_is_caught_up),
		cmocka_unit_test(test_duplicate_delivery_applied_once),
		cmocka_unit_test(test_restart_after_kill_resumes),
		cmocka_unit_test(test_replay_is_for_daemons_only),
		cmocka_unit_test(test_long_catch_up_in_runs), /* more than a page, in order */
		cmocka_unit_test(test_live_events_apply_in_runs),
		cmocka_unit_test(test_live_runs_without_batch_sql),
		cmocka_unit_test(
		    test_poison_event_is_parked), /* last: its replay is out of order */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
