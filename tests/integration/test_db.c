/* hd_db against a real PostgreSQL: pipelined batches, parameters, tenant
 * scoping and row-level security as the app role, error reporting and
 * atomicity, the pipeline limit (order kept, waits shed after 2 s),
 * reconnect after the backend is killed, migrations (twice and
 * concurrently). Env: HD_TEST_DATABASE_URL (hd_app), HD_TEST_DATABASE_ADMIN_URL
 * (hd_owner), HD_TEST_DATABASE_SUPER_URL (postgres; derived when unset). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hd/db.h"

#define TENANT_A "0190a000-0000-7000-8000-00000000000a"
#define TENANT_B "0190a000-0000-7000-8000-00000000000b"

static const char *app_url, *admin_url;
static char super_url[512];

/* One test's loop, database and callback bookkeeping. */
typedef struct fx {
	struct event_base *base;
	hd_db *db;
	int pending; /* callbacks still expected */
	int calls;
	hd_err last_err;
	char last_value[256];
	int last_failed;
	char last_sqlstate[8];
	char last_constraint[64];
	int bad; /* wrong values seen */
} fx;

static void fx_open(fx *f, const char *url, int nconns)
{
	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(hd_db_create(&f->db, f->base, url, nconns), HD_OK);
}

static void fx_close(fx *f)
{
	hd_db_destroy(f->db);
	event_base_free(f->base);
}

static void fx_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop until no callback is pending (or 20 s passed). */
static void fx_wait(fx *f)
{
	struct timeval tv = { 20, 0 };
	struct event *t = evtimer_new(f->base, fx_timeout_cb, f->base);

	evtimer_add(t, &tv);
	while (f->pending > 0 && evtimer_pending(t, NULL))
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
	assert_int_equal(f->pending, 0);
}

/* Records the outcome and the first value of the last statement. */
static void record_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fx *f = arg;
	int last = hd_db_result_nstmts(res) - 1;
	const char *v = hd_db_result_value(res, last, 0, 0);

	f->pending--;
	f->calls++;
	f->last_err = err;
	snprintf(f->last_value, sizeof(f->last_value), "%s", v ? v : "<null>");
	f->last_failed = hd_db_result_failed_stmt(res);
	snprintf(f->last_sqlstate, sizeof(f->last_sqlstate), "%s", hd_db_result_sqlstate(res));
	snprintf(
	    f->last_constraint, sizeof(f->last_constraint), "%s", hd_db_result_constraint(res));
}

/* Runs one batch and waits for it. */
static hd_err run1(fx *f, const char *tenant, const hd_db_stmt *stmts, int n)
{
	f->pending++;
	assert_int_equal(hd_db_run(f->db, tenant, stmts, n, record_cb, f), HD_OK);
	fx_wait(f);
	return f->last_err;
}

static void admin(const char *sql)
{
	assert_int_equal(hd_db_exec_sync(admin_url, sql, 0, NULL, NULL), HD_OK);
}

static char *admin_value(const char *sql, const char *param)
{
	char *v = NULL;

	assert_int_equal(hd_db_exec_sync(admin_url, sql, param ? 1 : 0, &param, &v), HD_OK);
	return v;
}

static int setup(void **state)
{
	static const char *const sql[] = {
		"DROP SCHEMA IF EXISTS io_test CASCADE",
		"CREATE SCHEMA io_test",
		"GRANT USAGE ON SCHEMA io_test TO hd_app",
		"CREATE TABLE io_test.t (id text PRIMARY KEY)",
		"GRANT SELECT, INSERT ON io_test.t TO hd_app",
		"CREATE TABLE io_test.notes (tenant_id uuid NOT NULL, body text)",
		"ALTER TABLE io_test.notes ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE io_test.notes FORCE ROW LEVEL SECURITY",
		"CREATE POLICY tenant ON io_test.notes USING"
		" (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)",
		"GRANT SELECT, INSERT ON io_test.notes TO hd_app",
	};
	const char *super = getenv("HD_TEST_DATABASE_SUPER_URL");

	app_url = getenv("HD_TEST_DATABASE_URL");
	admin_url = getenv("HD_TEST_DATABASE_ADMIN_URL");
	if (!app_url || !admin_url) {
		fprintf(stderr, "HD_TEST_DATABASE_URL / HD_TEST_DATABASE_ADMIN_URL not set\n");
		return -1;
	}
	if (super) {
		snprintf(super_url, sizeof(super_url), "%s", super);
	} else {
		const char *at = strstr(admin_url, "hd_owner");
		if (!at)
			return -1;
		snprintf(super_url, sizeof(super_url), "%.*spostgres%s", (int)(at - admin_url),
		    admin_url, at + strlen("hd_owner"));
	}
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (hd_db_exec_sync(admin_url, sql[i], 0, NULL, NULL) != HD_OK)
			return -1;
	return 0;
}

static void test_select_with_params_and_null(void **state)
{
	fx f;
	const char *p[] = { "41", NULL, "a b" };
	hd_db_stmt s = { "SELECT $1::int + 1, $2::text IS NULL, $2::text, $3::text", 3, p };

	fx_open(&f, app_url, 2);
	f.pending++;
	assert_int_equal(hd_db_run(f.db, NULL, &s, 1, record_cb, &f), HD_OK);
	assert_int_equal(f.calls, 0); /* never from inside hd_db_run */
	fx_wait(&f);
	assert_int_equal(f.last_err, HD_OK);
	assert_string_equal(f.last_value, "42");
	assert_int_equal(f.last_failed, -1);
	assert_string_equal(f.last_sqlstate, "");
	fx_close(&f);
}

static void check_row_cb(hd_err err, const hd_db_result *res, void *arg)
{
	fx *f = arg;

	f->pending--;
	f->calls++;
	if (err != HD_OK || hd_db_result_nstmts(res) != 1 || hd_db_result_ntuples(res, 0) != 1
	    || hd_db_result_nfields(res, 0) != 4 || strcmp(hd_db_result_value(res, 0, 0, 1), "t")
	    || hd_db_result_value(res, 0, 0, 2) != NULL || hd_db_result_value(res, 0, 1, 0) != NULL
	    || hd_db_result_value(res, 0, 0, 4) != NULL || hd_db_result_value(res, 1, 0, 0) != NULL
	    || strcmp(hd_db_result_value(res, 0, 0, 3), "a b"))
		f->bad++;
}

static void test_result_accessors(void **state)
{
	fx f;
	const char *p[] = { "41", NULL, "a b" };
	hd_db_stmt s = { "SELECT $1::int + 1, $2::text IS NULL, $2::text, $3::text", 3, p };

	fx_open(&f, app_url, 1);
	f.pending++;
	assert_int_equal(hd_db_run(f.db, NULL, &s, 1, check_row_cb, &f), HD_OK);
	fx_wait(&f);
	assert_int_equal(f.bad, 0);
	assert_int_equal(hd_db_run(f.db, NULL, &s, 0, check_row_cb, &f), HD_ERR_INVALID);
	assert_int_equal(
	    hd_db_run(f.db, NULL, &s, HD_DB_MAX_STMTS + 1, check_row_cb, &f), HD_ERR_INVALID);
	fx_close(&f);
}

typedef struct seq_arg {
	fx *f;
	int expect;
} seq_arg;

static void seq_cb(hd_err err, const hd_db_result *res, void *arg)
{
	seq_arg *a = arg;
	const char *v = hd_db_result_value(res, 0, 0, 0);

	a->f->pending--;
	if (err != HD_OK || v == NULL || atoi(v) != a->expect)
		a->f->bad++;
}

/* Runs N numbered batches on nconns connections of at most pipeline_max
 * batches in flight each (0: no limit); every one answers its own number. */
static void many_batches(int nconns, int pipeline_max)
{
	enum { N = 2000 };
	static seq_arg args[N];
	char nums[N][12];
	const char *p[N][1];
	fx f;

	fx_open(&f, app_url, nconns);
	hd_db_set_pipeline_max(f.db, pipeline_max);
	for (int i = 0; i < N; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%d", i);
		p[i][0] = nums[i];
		hd_db_stmt s = { "SELECT $1::int", 1, p[i] };
		args[i] = (seq_arg) { &f, i };
		f.pending++;
		assert_int_equal(hd_db_run(f.db, NULL, &s, 1, seq_cb, &args[i]), HD_OK);
		nums[i][0] = 'x'; /* parameters were copied */
	}
	fx_wait(&f);
	assert_int_equal(f.bad, 0);
	fx_close(&f);
}

static void test_many_batches_in_flight(void **state)
{
	many_batches(4, 0);
}

/* A limit of one batch per connection: the others wait and go, in order, as
 * slots free up. */
static void test_pipeline_limit_keeps_order(void **state)
{
	many_batches(2, 1);
}

static void err_cb(hd_err err, const hd_db_result *res, void *arg)
{
	seq_arg *a = arg;
	a->f->pending--;
	a->expect = (int)err;
}

/* Queues n batches recording their outcome in a[]: slow first, then
 * SELECT 1s; each is taken (HD_OK). */
static void slow_then_quick(fx *f, const hd_db_stmt *slow, seq_arg *a, int n)
{
	static const hd_db_stmt quick = { "SELECT 1", 0, NULL };
	for (int i = 0; i < n; i++) {
		a[i] = (seq_arg) { f, -1 };
		f->pending++;
		assert_int_equal(
		    hd_db_run(f->db, NULL, i == 0 ? slow : &quick, 1, err_cb, &a[i]), HD_OK);
	}
}

/* Past the limit a batch waits at most 2 s for a slot, then fails
 * UNAVAILABLE without running; the slow one in flight completes, and the
 * freed slot serves the next. */
static void test_pipeline_limit_sheds_after_wait(void **state)
{
	hd_db_stmt slow = { "SELECT pg_sleep(2.6)", 0, NULL };
	hd_db_stmt quick = { "SELECT 1", 0, NULL };
	fx f;
	seq_arg a[3];

	fx_open(&f, app_url, 1);
	hd_db_set_pipeline_max(f.db, 1);
	assert_int_equal(run1(&f, NULL, &quick, 1), HD_OK); /* connected */
	slow_then_quick(&f, &slow, a, 2);
	fx_wait(&f);
	assert_int_equal(a[0].expect, HD_OK);
	assert_int_equal(a[1].expect, HD_ERR_UNAVAILABLE);
	a[2] = (seq_arg) { &f, -1 };
	f.pending++;
	assert_int_equal(hd_db_run(f.db, NULL, &quick, 1, err_cb, &a[2]), HD_OK);
	fx_wait(&f);
	assert_int_equal(a[2].expect, HD_OK);
	fx_close(&f);
}

/* Past the cap of waiting batches hd_db_run refuses at once with
 * UNAVAILABLE (no callback); the batches already waiting run when the slot
 * frees, and then a new one is taken again. */
static void test_wait_cap_refuses_at_once(void **state)
{
	hd_db_stmt slow = { "SELECT pg_sleep(0.3)", 0, NULL };
	hd_db_stmt quick = { "SELECT 1", 0, NULL };
	fx f;
	seq_arg a[4];

	fx_open(&f, app_url, 1);
	hd_db_set_pipeline_max(f.db, 1);
	hd_db_set_wait_max(f.db, 2);
	assert_int_equal(run1(&f, NULL, &quick, 1), HD_OK); /* connected */
	slow_then_quick(&f, &slow, a, 3); /* one in flight, two waiting */
	a[3] = (seq_arg) { &f, -1 };
	assert_int_equal(hd_db_run(f.db, NULL, &quick, 1, err_cb, &a[3]), HD_ERR_UNAVAILABLE);
	fx_wait(&f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(a[i].expect, HD_OK);
	assert_int_equal(a[3].expect, -1); /* never called */
	hd_db_set_wait_max(f.db, 0); /* no cap: the default */
	slow_then_quick(&f, &slow, a, 4);
	fx_wait(&f);
	for (int i = 0; i < 4; i++)
		assert_int_equal(a[i].expect, HD_OK);
	fx_close(&f);
}

static void test_tenant_setting_scoped_to_batch(void **state)
{
	fx f;
	hd_db_stmt s = { "SELECT current_setting('app.tenant_id', true)", 0, NULL };

	fx_open(&f, app_url, 1);
	assert_int_equal(run1(&f, TENANT_A, &s, 1), HD_OK);
	assert_string_equal(f.last_value, TENANT_A);
	assert_int_equal(run1(&f, NULL, &s, 1), HD_OK);
	assert_true(!strcmp(f.last_value, "") || !strcmp(f.last_value, "<null>"));
	fx_close(&f);
}

static void test_error_in_second_statement_rolls_back(void **state)
{
	fx f;
	const char *p1[] = { "atomic-1" }, *p3[] = { "atomic-3" };
	hd_db_stmt s[] = {
		{ "INSERT INTO io_test.t (id) VALUES ($1)", 1, p1 },
		{ "SELECT 1 / 0", 0, NULL },
		{ "INSERT INTO io_test.t (id) VALUES ($1)", 1, p3 },
	};
	char *n;

	fx_open(&f, app_url, 1);
	assert_int_not_equal(run1(&f, NULL, s, 3), HD_OK);
	assert_int_equal(f.last_failed, 1);
	assert_string_equal(f.last_sqlstate, "22012");
	n = admin_value("SELECT count(*) FROM io_test.t WHERE id LIKE 'atomic-%'", NULL);
	assert_string_equal(n, "0");
	free(n);
	/* the connection and its prepared statements still work */
	assert_int_equal(run1(&f, NULL, s, 1), HD_OK);
	fx_close(&f);
}

static void test_syntax_error_then_new_statements(void **state)
{
	fx f;
	hd_db_stmt bad[] = { { "SELECT 1", 0, NULL }, { "SELEC nothing", 0, NULL } };
	hd_db_stmt good = { "SELECT 'fresh'", 0, NULL };

	fx_open(&f, app_url, 1);
	assert_int_not_equal(run1(&f, NULL, bad, 2), HD_OK);
	assert_int_equal(f.last_failed, 1);
	assert_string_equal(f.last_sqlstate, "42601");
	assert_int_equal(run1(&f, NULL, &good, 1), HD_OK);
	assert_string_equal(f.last_value, "fresh");
	assert_int_equal(run1(&f, NULL, bad, 1), HD_OK);
	fx_close(&f);
}

static void test_unique_violation(void **state)
{
	fx f;
	const char *p[] = { "dup-1" };
	hd_db_stmt s = { "INSERT INTO io_test.t (id) VALUES ($1)", 1, p };

	fx_open(&f, app_url, 2);
	assert_int_equal(run1(&f, NULL, &s, 1), HD_OK);
	assert_int_equal(run1(&f, NULL, &s, 1), HD_ERR_CONFLICT);
	assert_int_equal(f.last_failed, 0);
	assert_string_equal(f.last_sqlstate, "23505");
	assert_string_equal(f.last_constraint, "t_pkey");
	fx_close(&f);
}

static void test_row_level_security(void **state)
{
	fx f;
	const char *pa[] = { TENANT_A, "note a" }, *pb[] = { TENANT_B, "note b" };
	hd_db_stmt ins_a = { "INSERT INTO io_test.notes (tenant_id, body) VALUES ($1, $2)", 2, pa };
	hd_db_stmt ins_b = { "INSERT INTO io_test.notes (tenant_id, body) VALUES ($1, $2)", 2, pb };
	hd_db_stmt count = { "SELECT count(*) FROM io_test.notes", 0, NULL };

	fx_open(&f, app_url, 2);
	assert_int_equal(run1(&f, TENANT_A, &ins_a, 1), HD_OK);
	assert_int_equal(run1(&f, TENANT_B, &ins_b, 1), HD_OK);
	/* a row for another tenant is refused */
	assert_int_equal(run1(&f, TENANT_A, &ins_b, 1), HD_ERR_FORBIDDEN);
	assert_string_equal(f.last_sqlstate, "42501");
	assert_int_equal(run1(&f, TENANT_A, &count, 1), HD_OK);
	assert_string_equal(f.last_value, "1");
	assert_int_equal(run1(&f, NULL, &count, 1), HD_OK);
	assert_string_equal(f.last_value, "0");
	fx_close(&f);
}

static void test_reconnect_after_backend_killed(void **state)
{
	char url[600];
	fx f;
	hd_db_stmt s = { "SELECT 7", 0, NULL };
	const char *name[] = { "hd_io_reconnect" };
	char *n;
	int tries = 0;

	snprintf(url, sizeof(url), "%s%sapplication_name=hd_io_reconnect", app_url,
	    strchr(app_url, '?') ? "&" : "?");
	fx_open(&f, url, 2);
	assert_int_equal(run1(&f, NULL, &s, 1), HD_OK);
	assert_true(hd_db_ready(f.db));
	/* the second connection may still be starting: wait until both are up */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(
		    hd_db_exec_sync(super_url,
		        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", 1,
		        name, &n),
		    HD_OK);
		bool both = strcmp(n, "2") == 0;
		free(n);
		if (both)
			break;
		run1(&f, NULL, &s, 1); /* turns the loop so the connect completes */
	}
	assert_int_equal(hd_db_exec_sync(super_url,
	                     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	                     " WHERE application_name = $1",
	                     1, name, &n),
	    HD_OK);
	assert_string_equal(n, "2");
	free(n);
	do {
		hd_err err = run1(&f, NULL, &s, 1);
		assert_true(err == HD_OK || err == HD_ERR_UNAVAILABLE);
	} while (f.last_err != HD_OK && ++tries < 50);
	assert_int_equal(f.last_err, HD_OK);
	assert_string_equal(f.last_value, "7");
	assert_true(hd_db_ready(f.db));
	fx_close(&f);
}

static void test_unavailable_when_no_server(void **state)
{
	fx f;
	hd_db_stmt s = { "SELECT 1", 0, NULL };

	fx_open(&f, "postgresql://hd_app@127.0.0.1:1/helpdesk?connect_timeout=1", 1);
	assert_false(hd_db_ready(f.db));
	assert_int_equal(run1(&f, NULL, &s, 1), HD_ERR_UNAVAILABLE);
	fx_close(&f);
}

static void test_destroy_fails_pending_with_closed(void **state)
{
	fx f;
	hd_db_stmt s = { "SELECT pg_sleep(0.05)", 0, NULL };

	fx_open(&f, app_url, 1);
	assert_int_equal(run1(&f, NULL, &s, 1), HD_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(hd_db_run(f.db, NULL, &s, 1, record_cb, &f), HD_OK);
	f.calls = 0;
	hd_db_destroy(f.db);
	f.db = NULL;
	assert_int_equal(f.calls, 10);
	assert_int_equal(f.last_err, HD_ERR_CLOSED);
	fx_close(&f);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Writes two migrations for schema into a new temp dir. */
static void make_migrations(char *dir, const char *schema)
{
	char sql[512];

	strcpy(dir, "/tmp/hd-io-mig.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE %s.a (x int);\nGRANT USAGE ON SCHEMA %s TO hd_app;\n"
	    "GRANT SELECT ON %s.a TO hd_app;\n",
	    schema, schema, schema);
	write_file(dir, "001_create.sql", sql);
	snprintf(sql, sizeof(sql), "INSERT INTO %s.a VALUES (1);\n", schema);
	write_file(dir, "002_seed.sql", sql);
	write_file(dir, "README", "not a migration");
}

static void remove_migrations(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_migrate_twice_is_idempotent(void **state)
{
	char dir[64];
	char *n;

	admin("DROP SCHEMA IF EXISTS io_mig CASCADE");
	make_migrations(dir, "io_mig");
	assert_int_equal(hd_db_migrate(admin_url, "io_mig", dir), HD_OK);
	assert_int_equal(hd_db_migrate(admin_url, "io_mig", dir), HD_OK);
	n = admin_value("SELECT count(*) FROM io_mig.a", NULL);
	assert_string_equal(n, "1");
	free(n);
	n = admin_value(
	    "SELECT string_agg(version, ',' ORDER BY version) FROM io_mig.schema_migrations", NULL);
	assert_string_equal(n, "001_create.sql,002_seed.sql");
	free(n);
	assert_int_equal(hd_db_migrate(admin_url, "Bad-Name", dir), HD_ERR_INVALID);
	assert_int_equal(hd_db_migrate(admin_url, "io_mig\"; DROP", dir), HD_ERR_INVALID);
	remove_migrations(dir);
}

static void test_migrate_failure_rolls_back(void **state)
{
	char dir[64];
	char *n;

	admin("DROP SCHEMA IF EXISTS io_migbad CASCADE");
	make_migrations(dir, "io_migbad");
	write_file(dir, "003_broken.sql", "INSERT INTO io_migbad.a VALUES (2);\nSELEC 1;\n");
	assert_int_not_equal(hd_db_migrate(admin_url, "io_migbad", dir), HD_OK);
	n = admin_value("SELECT count(*) FROM io_migbad.a", NULL);
	assert_string_equal(n, "1"); /* 002 applied, 003 rolled back */
	free(n);
	n = admin_value("SELECT count(*) FROM io_migbad.schema_migrations", NULL);
	assert_string_equal(n, "2");
	free(n);
	remove_migrations(dir);
}

/* A repeatable file (R_*.sql) is applied after the numbered ones, again only
 * when its text changed, and a broken new text changes nothing. */
static void test_migrate_repeatable(void **state)
{
	char dir[64];
	char *n;

	admin("DROP SCHEMA IF EXISTS io_migr CASCADE");
	make_migrations(dir, "io_migr");
	write_file(dir, "R_count.sql",
	    "CREATE OR REPLACE FUNCTION io_migr.n() RETURNS bigint LANGUAGE sql AS "
	    "'SELECT count(*) FROM io_migr.a';\nINSERT INTO io_migr.a VALUES (10);\n");
	assert_int_equal(hd_db_migrate(admin_url, "io_migr", dir), HD_OK);
	assert_int_equal(
	    hd_db_migrate(admin_url, "io_migr", dir), HD_OK); /* unchanged: not again */
	n = admin_value("SELECT io_migr.n()", NULL);
	assert_string_equal(n, "2"); /* 002's row and R_count's one */
	free(n);
	write_file(dir, "R_count.sql",
	    "CREATE OR REPLACE FUNCTION io_migr.n() RETURNS bigint LANGUAGE sql AS "
	    "'SELECT 100 + count(*) FROM io_migr.a';\n");
	assert_int_equal(hd_db_migrate(admin_url, "io_migr", dir), HD_OK);
	n = admin_value("SELECT io_migr.n()", NULL);
	assert_string_equal(n, "102"); /* the new definition */
	free(n);
	write_file(dir, "R_count.sql", "CREATE OR REPLACE FUNCTION io_migr.n() RETURNS bigint;\n");
	assert_int_not_equal(hd_db_migrate(admin_url, "io_migr", dir), HD_OK);
	n = admin_value("SELECT io_migr.n()", NULL);
	assert_string_equal(n, "102"); /* rolled back: the last good one stays */
	free(n);
	n = admin_value("SELECT string_agg(version, ',' ORDER BY version) FROM "
	                "io_migr.schema_migrations",
	    NULL);
	assert_string_equal(n, "001_create.sql,002_seed.sql,R_count.sql");
	free(n);
	remove_migrations(dir);
}

static void test_migrate_concurrently(void **state)
{
	enum { NPROC = 3 };
	char dir[64];
	pid_t pids[NPROC];
	char *n;

	admin("DROP SCHEMA IF EXISTS io_migc CASCADE");
	make_migrations(dir, "io_migc");
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(hd_db_migrate(admin_url, "io_migc", dir) == HD_OK ? 0 : 1);
	}
	for (int i = 0; i < NPROC; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	n = admin_value("SELECT count(*) FROM io_migc.a", NULL);
	assert_string_equal(n, "1");
	free(n);
	remove_migrations(dir);
}

/* Sanity figure: trivial batches with a fixed number in flight. */
typedef struct bench {
	fx *f;
	int left;
	int errors;
} bench;

static void bench_cb(hd_err err, const hd_db_result *res, void *arg);

static void bench_send(bench *b)
{
	static const hd_db_stmt s = { "SELECT 1", 0, NULL };

	b->left--;
	b->f->pending++;
	assert_int_equal(hd_db_run(b->f->db, NULL, &s, 1, bench_cb, b), HD_OK);
}

static void bench_cb(hd_err err, const hd_db_result *res, void *arg)
{
	bench *b = arg;

	b->f->pending--;
	if (err != HD_OK)
		b->errors++;
	if (b->left > 0)
		bench_send(b);
}

static void test_throughput_sanity(void **state)
{
	enum { TOTAL = 40000, INFLIGHT = 64 };
	fx f;
	bench b;
	struct timespec t0, t1;
	hd_db_stmt warm = { "SELECT 1", 0, NULL };

	fx_open(&f, app_url, 2);
	assert_int_equal(run1(&f, NULL, &warm, 1), HD_OK);
	b = (bench) { &f, TOTAL, 0 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < INFLIGHT; i++)
		bench_send(&b);
	fx_wait(&f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("db throughput: %d batches (SELECT 1, %d in flight, 2 conns) in %.2f s = %.0f/s\n",
	    TOTAL, INFLIGHT, secs, TOTAL / secs);
	assert_int_equal(b.errors, 0);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_with_params_and_null),
		cmocka_unit_test(test_result_accessors),
		cmocka_unit_test(test_many_batches_in_flight),
		cmocka_unit_test(test_pipeline_limit_keeps_order),
		cmocka_unit_test(test_pipeline_limit_sheds_after_wait),
		cmocka_unit_test(test_wait_cap_refuses_at_once),
		cmocka_unit_test(test_tenant_setting_scoped_to_batch),
		cmocka_unit_test(test_error_in_second_statement_rolls_back),
		cmocka_unit_test(test_syntax_error_then_new_statements),
		cmocka_unit_test(test_unique_violation),
		cmocka_unit_test(test_row_level_security),
		cmocka_unit_test(test_reconnect_after_backend_killed),
		cmocka_unit_test(test_unavailable_when_no_server),
		cmocka_unit_test(test_destroy_fails_pending_with_closed),
		cmocka_unit_test(test_migrate_twice_is_idempotent),
		cmocka_unit_test(test_migrate_failure_rolls_back),
		cmocka_unit_test(test_migrate_repeatable),
		cmocka_unit_test(test_migrate_concurrently),
		cmocka_unit_test(test_throughput_sanity),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
