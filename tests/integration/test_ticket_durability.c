/* Durability of hd-ticket's outbox across a crash: hd-bus and hd-ticket run
 * as child processes (binaries from HD_TEST_BIN_DIR, free ports); client
 * threads create tickets over NNG as the gateway does while a bus subscriber
 * records the ticket.created events; after about a second the daemon gets
 * SIGKILL. Then every ticket acknowledged with 201 must be in the database
 * with its ticket.created outbox row; the daemon is restarted, the subscriber
 * reconnects and catches up the way docs/architecture.md tells consumers to (keep
 * the last seq applied, detect gaps, fetch the rest with events.since), and
 * after de-duplication by seq every acknowledged ticket's event is there
 * exactly once, with gap-free seqs that are exactly the tenant's in the
 * database.
 * Env: HD_TEST_DATABASE_URL (app role), HD_TEST_DATABASE_ADMIN_URL (owner),
 * HD_TEST_BIN_DIR, HD_TEST_ROOT (for services/ticket/sql). Fails when a
 * daemon's stderr shows "Sanitizer" or "runtime error". */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "daemon_child.h"
#include "hd/envelope.h"
#include "hd/bus.h"
#include "hd/db.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

#define CREATORS 8
#define RUN_MS 1000
#define CALL_TIMEOUT_MS 5000
#define MAX_ACKED 50000

/* One event as the consumer received it. */
typedef struct got_event {
	long long seq;
	char id[37]; /* data.id: the ticket */
	char type[32];
	bool live; /* from the bus (else from events.since) */
} got_event;

/* Everything the consumer received, in arrival order (duplicates kept). */
typedef struct event_log {
	pthread_mutex_t mu;
	got_event *items;
	size_t n, cap;
} event_log;

static struct {
	daemon_child bus, ticket;
	char ticket_url[64], sub_url[64];
	const char *admin_url;
	hd_rpc_client *client;
	char tenant[37], user[37];
	event_log log;
	pthread_mutex_t acked_mu;
	char (*acked)[37]; /* ids answered 201 */
	size_t nacked;
	atomic_bool stop;
} T = { .log = { .mu = PTHREAD_MUTEX_INITIALIZER }, .acked_mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- calls ---------------------------------------------------------------- */

static hd_err call(const char *op, const char *body, daemon_reply *r)
{
	hd_envelope e;
	struct timespec ts;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "%s", op);
	snprintf(e.request_id, sizeof(e.request_id), "durability-%s", op);
	strcpy(e.tenant_id, T.tenant);
	strcpy(e.user_id, T.user);
	snprintf(e.role, sizeof(e.role), "agent");
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + CALL_TIMEOUT_MS;
	e.body = body;
	e.body_len = body != NULL ? strlen(body) : 0;
	return daemon_child_call(T.client, &e, CALL_TIMEOUT_MS, r);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long admin_count(const char *sql, const char *p1, const char *p2)
{
	char *v = NULL;
	const char *p[2] = { p1, p2 };
	assert_int_equal(hd_db_exec_sync(T.admin_url, sql, p2 != NULL ? 2 : 1, p, &v), HD_OK);
	long c = v != NULL ? strtol(v, NULL, 10) : -1;
	free(v);
	return c;
}

static long tenant_count(const char *sql)
{
	return admin_count(sql, T.tenant, NULL);
}

/* ---- the consumer ------------------------------------------------------- */

static void log_add(const cJSON *ev, bool live)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
	const cJSON *tenant = cJSON_GetObjectItemCaseSensitive(ev, "tenant_id");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *id
	    = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "data"), "id");
	if (!cJSON_IsString(tenant) || strcmp(tenant->valuestring, T.tenant) != 0)
		return; /* another tenant's */
	got_event g
	    = { .seq = cJSON_IsNumber(seq) ? (long long)seq->valuedouble : -1, .live = live };
	snprintf(g.id, sizeof(g.id), "%s", cJSON_IsString(id) ? id->valuestring : "");
	snprintf(g.type, sizeof(g.type), "%s", cJSON_IsString(type) ? type->valuestring : "");
	pthread_mutex_lock(&T.log.mu);
	if (T.log.n == T.log.cap) {
		size_t cap = T.log.cap != 0 ? T.log.cap * 2 : 1024;
		got_event *items = realloc(T.log.items, cap * sizeof(*items));
		if (items == NULL) {
			pthread_mutex_unlock(&T.log.mu);
			return; /* counted as missing: the test fails */
		}
		T.log.items = items;
		T.log.cap = cap;
	}
	T.log.items[T.log.n++] = g;
	pthread_mutex_unlock(&T.log.mu);
}

/* Bus callback (NNG thread). */
static void on_event(const char *type, const char *json, size_t len, void *arg)
{
	(void)type;
	(void)arg;
	cJSON *ev = cJSON_ParseWithLength(json, len);
	if (ev != NULL)
		log_add(ev, true);
	cJSON_Delete(ev);
}

static size_t log_count(bool live)
{
	size_t n = 0;
	pthread_mutex_lock(&T.log.mu);
	for (size_t i = 0; i < T.log.n; i++)
		n += T.log.items[i].live == live;
	pthread_mutex_unlock(&T.log.mu);
	return n;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* Where the consumer resumes: the end of the gap-free run of seqs it
 * received, starting from `from` (the last seq it had caught up to). */
static long long log_resume_point(long long from)
{
	pthread_mutex_lock(&T.log.mu);
	long long *s = malloc((T.log.n + 1) * sizeof(*s));
	size_t n = T.log.n;
	for (size_t i = 0; s != NULL && i < n; i++)
		s[i] = T.log.items[i].seq;
	pthread_mutex_unlock(&T.log.mu);
	assert_non_null(s);
	qsort(s, n, sizeof(*s), cmp_ll);
	long long last = from;
	for (size_t i = 0; i < n; i++) {
		if (s[i] > last + 1)
			break; /* a gap: fetch from here */
		if (s[i] == last + 1)
			last = s[i];
	}
	free(s);
	return last;
}

/* Fetches every event after `after` with events.since, page by page;
 * returns the last seq seen. */
static long long catch_up(long long after)
{
	bool more = true;
	while (more) {
		char body[96];
		daemon_reply r;
		snprintf(body, sizeof(body), "{\"after_seq\":%lld,\"limit\":1000}", after);
		assert_int_equal(call("events.since", body, &r), HD_OK);
		if (r.status != 200)
			fail_msg("events.since: %d %s", r.status, r.body);
		const cJSON *last = cJSON_GetObjectItemCaseSensitive(r.json, "last_seq");
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.json, "items");
		for (const cJSON *ev = items != NULL ? items->child : NULL; ev != NULL;
		     ev = ev->next)
			log_add(ev, false);
		more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "more"));
		if (cJSON_IsNumber(last))
			after = (long long)last->valuedouble;
		daemon_reply_free(&r);
	}
	return after;
}

/* ---- creators ------------------------------------------------------------- */

typedef struct creator {
	pthread_t th;
	int ok, cut, other;
	int other_status;
} creator;

static void acked_add(const char *id)
{
	pthread_mutex_lock(&T.acked_mu);
	if (T.nacked < MAX_ACKED)
		snprintf(T.acked[T.nacked++], 37, "%s", id);
	pthread_mutex_unlock(&T.acked_mu);
}

/* Creates one ticket; returns the transport outcome (the 201's id recorded). */
static hd_err create_one(creator *c)
{
	daemon_reply r;
	hd_err err = call("tickets.create", "{\"subject\":\"durable\"}", &r);
	if (err != HD_OK)
		return err;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r.json, "id");
	if (r.status == 201 && cJSON_IsString(id)) {
		acked_add(id->valuestring);
		c->ok++;
	} else {
		c->other++;
		c->other_status = r.status;
	}
	daemon_reply_free(&r);
	return HD_OK;
}

/* Creates until the daemon goes away (a call cut by the kill) or stop. */
static void *creator_run(void *arg)
{
	creator *c = arg;
	while (!atomic_load(&T.stop)) {
		if (create_one(c) != HD_OK) {
			c->cut++;
			break;
		}
	}
	return NULL;
}

/* ---- daemons ---------------------------------------------------------------- */

static void ticket_wait_ready(void)
{
	for (int i = 0; i < 500; i++) {
		daemon_reply r;
		if (hd_rpc_client_connected(T.client) && call("sla.get", NULL, &r) == HD_OK) {
			int st = r.status;
			daemon_reply_free(&r);
			if (st == 200)
				return;
		}
		if (!daemon_child_alive(&T.ticket))
			fail_msg("hd-ticket exited; see %s", T.ticket.log);
		sleep_ms(20);
	}
	fail_msg("hd-ticket did not become ready; see %s", T.ticket.log);
}

static void env_setup(void)
{
	char sql[512];
	const char *root = getenv("HD_TEST_ROOT"), *app = getenv("HD_TEST_DATABASE_URL");
	T.admin_url = getenv("HD_TEST_DATABASE_ADMIN_URL");
	if (app == NULL || T.admin_url == NULL)
		fail_msg("HD_TEST_DATABASE_URL and HD_TEST_DATABASE_ADMIN_URL must be set");
	snprintf(sql, sizeof(sql), "%s/services/ticket/sql", root != NULL ? root : "../..");
	setenv("HD_TICKET_SQL_DIR", sql, 0);
	setenv("HD_DATABASE_URL", app, 1);
	setenv("HD_DATABASE_ADMIN_URL", T.admin_url, 1);
	assert_true(daemon_child_port_env(
	                "HD_TICKET_URL", "tcp://127.0.0.1:%d", T.ticket_url, sizeof(T.ticket_url))
	    > 0);
	assert_true(daemon_child_port_env("HD_TICKET_ADMIN_PORT", "%d", NULL, 0) > 0);
	assert_true(daemon_child_port_env("HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	assert_true(daemon_child_port_env(
	                "HD_BUS_SUB_URL", "tcp://127.0.0.1:%d", T.sub_url, sizeof(T.sub_url))
	    > 0);
	assert_true(daemon_child_port_env("HD_BUS_ADMIN_PORT", "%d", NULL, 0) > 0);
}

static int group_setup(void **state)
{
	(void)state;
	env_setup();
	daemon_child_init(&T.bus, "hd-bus");
	daemon_child_init(&T.ticket, "hd-ticket");
	if (daemon_child_run(&T.ticket, "--migrate") != 0)
		fail_msg("hd-ticket --migrate failed; see %s", T.ticket.log);
	assert_int_equal(daemon_child_spawn(&T.bus, NULL), 0);
	assert_int_equal(daemon_child_spawn(&T.ticket, NULL), 0);
	assert_int_equal(hd_rpc_client_open(&T.client, T.ticket_url), HD_OK);
	assert_int_equal(hd_uuid_v7(T.tenant), HD_OK);
	assert_int_equal(hd_uuid_v7(T.user), HD_OK);
	T.acked = calloc(MAX_ACKED, sizeof(*T.acked));
	assert_non_null(T.acked);
	ticket_wait_ready();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	int rc = 0;
	hd_rpc_client_close(T.client);
	int st = daemon_child_stop(&T.ticket, SIGTERM);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		fprintf(stderr, "hd-ticket exited badly (status %d)\n", st);
		rc = -1;
	}
	st = daemon_child_stop(&T.bus, SIGTERM);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		fprintf(stderr, "hd-bus exited badly (status %d)\n", st);
		rc = -1;
	}
	if (!daemon_child_log_clean(&T.ticket) || !daemon_child_log_clean(&T.bus))
		rc = -1;
	if (rc == 0) {
		daemon_child_log_remove(&T.ticket);
		daemon_child_log_remove(&T.bus);
	}
	free(T.acked);
	free(T.log.items);
	return rc;
}

/* ---- the test -------------------------------------------------------------- */

/* Creates tickets until one's event arrives on the bus (the subscription is
 * up), then bootstraps the consumer with events.since from 0 (the events
 * published before it was); returns the consumer's position. */
static long long warm_up(void)
{
	creator c = { 0 };
	for (int i = 0; i < 100 && log_count(true) == 0; i++) {
		assert_int_equal(create_one(&c), HD_OK);
		for (int j = 0; j < 10 && log_count(true) == 0; j++)
			sleep_ms(20);
	}
	assert_true(log_count(true) > 0);
	assert_int_equal(c.other, 0);
	return log_resume_point(catch_up(0));
}

/* Runs the creators for RUN_MS, then SIGKILLs the daemon; returns the number
 * of calls the kill cut. */
static int create_and_kill(void)
{
	creator cr[CREATORS];
	int cut = 0;
	memset(cr, 0, sizeof(cr));
	atomic_store(&T.stop, false);
	for (int i = 0; i < CREATORS; i++)
		assert_int_equal(pthread_create(&cr[i].th, NULL, creator_run, &cr[i]), 0);
	sleep_ms(RUN_MS);
	assert_int_not_equal(daemon_child_stop(&T.ticket, SIGKILL), -1);
	atomic_store(&T.stop, true);
	for (int i = 0; i < CREATORS; i++) {
		pthread_join(cr[i].th, NULL);
		if (cr[i].other > 0)
			fail_msg("a create answered %d, not 201", cr[i].other_status);
		cut += cr[i].cut;
	}
	return cut;
}

/* The acknowledged ids as a PostgreSQL array literal (malloc'ed). */
static char *acked_array(void)
{
	char *a = malloc(T.nacked * 37 + 3);
	assert_non_null(a);
	char *p = a;
	*p++ = '{';
	for (size_t i = 0; i < T.nacked; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, T.acked[i], 36);
		p += 36;
	}
	*p++ = '}';
	*p = '\0';
	return a;
}

/* Every 201 is in ticket.tickets with exactly one ticket.created row. */
static void check_acked_in_db(void)
{
	char *ids = acked_array();
	long n = admin_count(
	    "SELECT count(DISTINCT a.id) FROM unnest($1::uuid[]) a(id)"
	    " JOIN ticket.tickets t ON t.tenant_id = $2 AND t.id = a.id"
	    " JOIN (SELECT (o.data ->> 'id')::uuid AS id, count(*) AS n FROM ticket.outbox o"
	    "       WHERE o.tenant_id = $2 AND o.type = 'ticket.created' GROUP BY 1) o"
	    " ON o.id = a.id AND o.n = 1",
	    ids, T.tenant);
	free(ids);
	assert_int_equal(n, (long)T.nacked);
}

static void wait_relay_drained(void)
{
	for (int i = 0; i < 1000; i++) {
		if (tenant_count("SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1"
		                 " AND pub_seq IS NULL")
		    == 0)
			return;
		sleep_ms(10);
	}
	fail_msg("the restarted relay did not claim the outstanding events");
}

static int cmp_event(const void *a, const void *b)
{
	const got_event *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorts the log by seq and keeps one event per seq (asserting that a
 * repeated seq is the same event); returns the distinct count. */
static size_t log_dedupe(void)
{
	size_t n = 0;
	qsort(T.log.items, T.log.n, sizeof(*T.log.items), cmp_event);
	for (size_t i = 0; i < T.log.n; i++) {
		const got_event *g = &T.log.items[i];
		if (n > 0 && T.log.items[n - 1].seq == g->seq) {
			assert_string_equal(T.log.items[n - 1].id, g->id);
			continue;
		}
		T.log.items[n++] = *g;
	}
	return n;
}

/* Every acknowledged ticket has exactly one event among the n distinct ones,
 * all ticket.created; returns how many events are for unacknowledged tickets. */
static size_t check_exactly_once(size_t n)
{
	char(*ids)[37] = calloc(n + 1, sizeof(*ids));
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(T.log.items[i].type, "ticket.created");
		strcpy(ids[i], T.log.items[i].id);
	}
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("ticket %s has two events with different seqs", ids[i]);
	for (size_t i = 0; i < T.nacked; i++)
		if (bsearch(T.acked[i], ids, n, sizeof(*ids), cmp_id) == NULL)
			fail_msg("acknowledged ticket %s: no event received", T.acked[i]);
	free(ids);
	return n - T.nacked;
}

/* The distinct seqs are the tenant's pub_seqs in the database, and gap-free:
 * between the first and the last, every number is one of ours or another
 * tenant's event. */
static void check_gap_free(size_t n)
{
	char lo[24], hi[24];
	assert_true(n > 0);
	snprintf(lo, sizeof(lo), "%lld", T.log.items[0].seq);
	snprintf(hi, sizeof(hi), "%lld", T.log.items[n - 1].seq);
	assert_int_equal(
	    tenant_count("SELECT count(pub_seq) FROM ticket.outbox WHERE tenant_id = $1"), (long)n);
	assert_int_equal(
	    tenant_count("SELECT min(pub_seq) FROM ticket.outbox WHERE tenant_id = $1"),
	    T.log.items[0].seq);
	assert_int_equal(
	    tenant_count("SELECT max(pub_seq) FROM ticket.outbox WHERE tenant_id = $1"),
	    T.log.items[n - 1].seq);
	long in_range = admin_count("SELECT count(*) FROM ticket.outbox"
	                            " WHERE pub_seq BETWEEN $1::bigint AND $2::bigint",
	    lo, hi);
	assert_int_equal(in_range, T.log.items[n - 1].seq - T.log.items[0].seq + 1);
	for (size_t i = 1; i < n; i++)
		assert_true(T.log.items[i].seq > T.log.items[i - 1].seq);
}

static void test_sigkill_while_creating(void **state)
{
	(void)state;
	hd_bus_sub *sub = NULL;
	assert_int_equal(hd_bus_sub_open(&sub, T.sub_url, "ticket.", on_event, NULL), HD_OK);
	long long pos = warm_up();
	int cut = create_and_kill();
	check_acked_in_db();
	long unclaimed = tenant_count(
	    "SELECT count(*) FROM ticket.outbox WHERE tenant_id = $1 AND pub_seq IS NULL");
	sleep_ms(200); /* let what the bus already has arrive, then drop the subscription */
	hd_bus_sub_close(sub);
	size_t live_before = log_count(true);
	pos = log_resume_point(pos);

	/* restart; the consumer reconnects and catches up from its position */
	assert_int_equal(daemon_child_spawn(&T.ticket, NULL), 0);
	assert_int_equal(hd_bus_sub_open(&sub, T.sub_url, "ticket.", on_event, NULL), HD_OK);
	ticket_wait_ready();
	wait_relay_drained();
	size_t since_before = log_count(false);
	long long last = catch_up(pos);
	sleep_ms(200);
	hd_bus_sub_close(sub);
	size_t live = log_count(true), since = log_count(false);
	/* counted once the relay drained after the restart, not at the kill:
	 * a COMMIT the killed daemon had sent still completes in its backend */
	long committed = tenant_count("SELECT count(*) FROM ticket.tickets WHERE tenant_id = $1");

	size_t n = log_dedupe();
	size_t unacked = check_exactly_once(n);
	check_gap_free(n);
	assert_int_equal((long)n, committed);
	assert_int_equal(T.log.items[n - 1].seq, last);
	printf("durability: %zu acknowledged, %d calls cut by SIGKILL, %ld committed"
	       " (%zu without ack), %ld unclaimed at the kill; events: %zu live before the"
	       " kill, %zu live after the restart, %zu via events.since (%zu at the"
	       " bootstrap, %zu catching up from seq %lld), %zu distinct, seqs %lld..%lld\n",
	    T.nacked, cut, committed, unacked, unclaimed, live_before, live - live_before, since,
	    since_before, since - since_before, pos, n, T.log.items[0].seq, last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_while_creating),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
