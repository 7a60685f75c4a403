/* Helpers for integration programs that drive a daemon (hd-ticket,
 * hd-knowledge) over NNG as the gateway does (test_ticket_more.c): start the daemon after
 * --migrate, call an operation as a caller identity, assert statuses and 422 fields. The state
 * lives in the including program (one include per program); all functions are static inline so a
 * program may leave some unused. */
#ifndef HD_TEST_TICKET_IT_H
#define HD_TEST_TICKET_IT_H
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
#include <ctype.h>
#include <cjson/cJSON.h>
#include "daemon_child.h"
#include "hd/envelope.h"
#include "hd/events.h"
#include "hd/db.h"
#include "hd/rpc.h"
#include "hd/uuid.h"

/* A caller identity as the gateway would put it in the envelope. */
typedef struct it_who {
	char tenant[37], user[37];
	const char *role;
} it_who;

static struct {
	daemon_child child;
	char url[64];
	const char *admin_url;
	hd_rpc_client *client;
} IT;

static inline const char *it_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set", name);
	return v;
}

/* A fresh user with role in tenant (a fresh tenant when NULL). */
static inline void it_who_make(it_who *w, const char *tenant, const char *role)
{
	assert_int_equal(hd_uuid_v7(w->user), HD_OK);
	if (tenant != NULL)
		strcpy(w->tenant, tenant);
	else
		assert_int_equal(hd_uuid_v7(w->tenant), HD_OK);
	w->role = role;
}

/* Calls op as w (NULL: anonymous) with the path parameters params
 * (name, value pairs, NULL-ended; NULL: none), query, body and one optional
 * header (hname NULL: none). */
static inline daemon_reply it_call_params(const char *op, const it_who *w,
    const char *const *params, const char *query, const char *body, const char *hname,
    const char *hvalue)
{
	hd_envelope e;
	daemon_reply r;
	struct timespec ts;
	memset(&e, 0, sizeof(e));
	e.version = HD_ENVELOPE_VERSION;
	snprintf(e.op, sizeof(e.op), "%s", op);
	snprintf(e.request_id, sizeof(e.request_id), "test-%s", op);
	if (w != NULL) {
		strcpy(e.tenant_id, w->tenant);
		strcpy(e.user_id, w->user);
		snprintf(e.role, sizeof(e.role), "%s", w->role);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	e.deadline_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 10000;
	if (query != NULL)
		snprintf(e.query, sizeof(e.query), "%s", query);
	for (size_t i = 0; params != NULL && params[i] != NULL; i += 2)
		assert_int_equal(hd_envelope_add_param(&e, params[i], params[i + 1]), HD_OK);
	if (hname != NULL)
		assert_int_equal(hd_envelope_add_header(&e, hname, hvalue), HD_OK);
	e.body = body;
	e.body_len = body != NULL ? strlen(body) : 0;
	assert_int_equal(daemon_child_call(IT.client, &e, 10000, &r), HD_OK);
	return r;
}

/* Calls op as w (NULL: anonymous) with path id (NULL: none), query, body
 * and one optional header (hname NULL: none). */
static inline daemon_reply it_call_h(const char *op, const it_who *w, const char *id,
    const char *query, const char *body, const char *hname, const char *hvalue)
{
	const char *params[3] = { "id", id, NULL };
	return it_call_params(op, w, id != NULL ? params : NULL, query, body, hname, hvalue);
}

/* it_call_h without a header. */
static inline daemon_reply it_call(
    const char *op, const it_who *w, const char *id, const char *query, const char *body)
{
	return it_call_h(op, w, id, query, body, NULL, NULL);
}

/* The value of reply header name, "" when absent. */
static inline const char *it_header(const daemon_reply *r, const char *name)
{
	const char *v = daemon_reply_header(r, name);
	return v != NULL ? v : "";
}

static inline const char *it_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline long it_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	assert_true(cJSON_IsNumber(v));
	return (long)v->valuedouble;
}

static inline void it_expect_status(const daemon_reply *r, int status)
{
	if (r->status != status)
		fail_msg("expected %d, got %d: %s", status, r->status, r->body);
}

/* Calls with one header (hname NULL: none), asserts the status and frees
 * the reply. */
static inline void it_check_h(int status, const char *op, const it_who *w, const char *id,
    const char *body, const char *hname, const char *hvalue)
{
	daemon_reply r = it_call_h(op, w, id, NULL, body, hname, hvalue);
	it_expect_status(&r, status);
	daemon_reply_free(&r);
}

/* Calls, asserts the status and frees the reply. */
static inline void it_check(
    int status, const char *op, const it_who *w, const char *id, const char *body)
{
	it_check_h(status, op, w, id, body, NULL, NULL);
}

/* Asserts that r is a 422 whose errors name field, and frees it. */
static inline void it_expect_422(daemon_reply *r, const char *field)
{
	const cJSON *e;
	int found = 0;
	if (r->status != 422)
		fail_msg("expected 422 for %s, got %d: %s", field, r->status, r->body);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r->json, "errors"))
	{
		const char *f = it_str(e, "field");
		found |= f != NULL && strcmp(f, field) == 0;
	}
	if (!found)
		fail_msg("422 does not name %s: %s", field, r->body);
	daemon_reply_free(r);
}

/* Calls, asserts a 422 whose errors name field, and frees the reply. */
static inline void it_check_422(
    const char *field, const char *op, const it_who *w, const char *id, const char *body)
{
	daemon_reply r = it_call(op, w, id, NULL, body);
	it_expect_422(&r, field);
}

/* Creates a ticket as w with body and copies its id. */
static inline void it_ticket(const it_who *w, const char *body, char id[37])
{
	daemon_reply r = it_call("tickets.create", w, NULL, NULL, body);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* Runs sql (at most two text parameters) at database url; returns the
 * first column of the first row as a number (-1 when none). */
static inline long it_count_at(const char *url, const char *sql, const char *p1, const char *p2)
{
	char *v = NULL;
	const char *p[2] = { p1, p2 };
	int n = p2 != NULL ? 2 : (p1 != NULL ? 1 : 0);
	assert_int_equal(hd_db_exec_sync(url, sql, n, p, &v), HD_OK);
	long c = v != NULL ? strtol(v, NULL, 10) : -1;
	free(v);
	return c;
}

/* it_count_at as the owner role. */
static inline long it_admin_count(const char *sql, const char *p1, const char *p2)
{
	return it_count_at(IT.admin_url, sql, p1, p2);
}

/* Every row of <schema>.outbox so far (a trusted literal), of any tenant: its payload must be
 * exactly what proto/events.def lists for its type (hd_event_payload_check).
 * Fails the test naming the first row that is not; returns how many rows
 * were checked, per type in seen (indexed by hd_event_type). */
static inline int it_outbox_payloads_check_in(const char *schema, int seen[HD_EVENT__COUNT])
{
	char *rows = NULL, why[160], sql[256];
	int n = 0;
	snprintf(sql, sizeof sql,
	    "SELECT coalesce(string_agg(type || E'\\t' || data::text, E'\\n'"
	    " ORDER BY seq), '') FROM %s.outbox",
	    schema);
	assert_int_equal(hd_db_exec_sync(IT.admin_url, sql, 0, NULL, &rows), HD_OK);
	assert_non_null(rows);
	for (char *line = strtok(rows, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *tab = strchr(line, '\t');
		assert_non_null(tab);
		*tab = '\0';
		cJSON *data = cJSON_Parse(tab + 1);
		if (!hd_event_payload_check(line, data, why, sizeof why))
			fail_msg("outbox row %d: %s\n%s", n, why, tab + 1);
		for (int t = 0; t < HD_EVENT__COUNT; t++)
			if (strcmp(hd_event_names[t], line) == 0)
				seen[t]++;
		cJSON_Delete(data);
		n++;
	}
	free(rows);
	return n;
}

/* it_outbox_payloads_check_in for ticket.outbox. */
static inline int it_outbox_payloads_check(int seen[HD_EVENT__COUNT])
{
	return it_outbox_payloads_check_in("ticket", seen);
}

/* Migrates daemon hd-<name> (HD_<NAME>_SQL_DIR from HD_TEST_ROOT) and
 * starts it on free ports (HD_<NAME>_URL, HD_<NAME>_ADMIN_PORT, set in the
 * environment so that later children reach it too); url (64 bytes) gets its
 * NNG address unless NULL. */
static inline void it_child_start(daemon_child *c, const char *name, char *url)
{
	char sql[512], var[64], bin[32], up[16];
	const char *root = getenv("HD_TEST_ROOT");
	size_t n = strlen(name) < sizeof up - 1 ? strlen(name) : sizeof up - 1;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[n] = '\0';
	snprintf(sql, sizeof(sql), "%s/services/%s/sql", root != NULL ? root : "../..", name);
	snprintf(var, sizeof var, "HD_%s_SQL_DIR", up);
	setenv(var, sql, 0);
	IT.admin_url = it_env("HD_TEST_DATABASE_ADMIN_URL");
	setenv("HD_DATABASE_URL", it_env("HD_TEST_DATABASE_URL"), 1);
	setenv("HD_DATABASE_ADMIN_URL", IT.admin_url, 1);
	/* the test's Redis, never the `make run` default (hd-knowledge's
	 * search cache, hd-auth's sessions), unless the test chose one */
	setenv("HD_REDIS_URL", it_env("HD_TEST_REDIS_URL"), 0);
	/* calls between the daemons (hd/peer.h): these tests check what they
	 * decide, not how fast, and CI machines may be loaded */
	setenv("HD_PEER_TIMEOUT_MS", "10000", 0);
	snprintf(bin, sizeof bin, "hd-%s", name);
	daemon_child_init(c, bin);
	if (daemon_child_run(c, "--migrate") != 0)
		fail_msg("%s --migrate failed; see %s", bin, c->log);
	snprintf(var, sizeof var, "HD_%s_URL", up);
	char tmp[64];
	assert_true(
	    daemon_child_port_env(var, "tcp://127.0.0.1:%d", url != NULL ? url : tmp, 64) > 0);
	snprintf(var, sizeof var, "HD_%s_ADMIN_PORT", up);
	assert_true(daemon_child_port_env(var, "%d", NULL, 0) > 0);
	assert_int_equal(daemon_child_spawn(c, NULL), 0);
}

/* Starts hd-<name> as the program's daemon (IT.child, IT.client) and waits
 * until a worker answers ready_op as ready_as with 200. */
static inline int it_daemon_start_as(const char *name, const char *ready_op, const it_who *ready_as)
{
	assert_true(daemon_child_port_env("HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	it_child_start(&IT.child, name, IT.url);
	assert_int_equal(hd_rpc_client_open(&IT.client, IT.url), HD_OK);
	for (int t = 0; t < 300 && daemon_child_alive(&IT.child); t++) {
		if (hd_rpc_client_connected(IT.client)) {
			daemon_reply r = it_call(ready_op, ready_as, NULL, NULL, NULL);
			int st = r.status;
			daemon_reply_free(&r);
			if (st == 200)
				return 0;
		}
		usleep(20000);
	}
	fail_msg("hd-%s did not become ready; see %s", name, IT.child.log);
	return -1;
}

/* Creates the auth schema (hd-auth --migrate; HD_AUTH_SQL_DIR from
 * HD_TEST_ROOT unless set) for a daemon that reads auth.users, and points
 * the children at the test database. */
static inline void it_auth_schema(void)
{
	daemon_child auth;
	char sql[512];
	const char *root = getenv("HD_TEST_ROOT");
	snprintf(sql, sizeof sql, "%s/services/auth/sql", root != NULL ? root : "../..");
	setenv("HD_AUTH_SQL_DIR", sql, 0);
	setenv("HD_DATABASE_URL", it_env("HD_TEST_DATABASE_URL"), 1);
	setenv("HD_DATABASE_ADMIN_URL", it_env("HD_TEST_DATABASE_ADMIN_URL"), 1);
	daemon_child_init(&auth, "hd-auth");
	if (daemon_child_run(&auth, "--migrate") != 0)
		fail_msg("hd-auth --migrate failed; see %s", auth.log);
	daemon_child_log_remove(&auth);
}

/* it_call (no path id, no query) over client c instead of IT.client: a
 * second daemon of the program. */
static inline daemon_reply it_call_on(
    hd_rpc_client *c, const char *op, const it_who *w, const char *body)
{
	hd_rpc_client *own = IT.client;
	IT.client = c;
	daemon_reply r = it_call(op, w, NULL, NULL, body);
	IT.client = own;
	return r;
}

/* The same, by another name (tests/integration/test_knowledge.c). */
static inline int it_daemon_start_named(
    const char *name, const char *ready_op, const it_who *ready_as)
{
	return it_daemon_start_as(name, ready_op, ready_as);
}

/* cmocka group setup: migrates, starts hd-ticket and waits until a worker
 * answers (sla.get as ready_as). */
static inline int it_daemon_start(const it_who *ready_as)
{
	return it_daemon_start_as("ticket", "sla.get", ready_as);
}

/* cmocka group teardown: stops the daemon; fails on a sanitizer report or
 * a bad exit. */
static inline int it_daemon_stop(void **state)
{
	(void)state;
	hd_rpc_client_close(IT.client);
	int st = daemon_child_stop(&IT.child, SIGTERM);
	if (!daemon_child_log_clean(&IT.child))
		fail_msg("sanitizer report in %s", IT.child.log);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fail_msg("%s exited badly (status %d)", IT.child.bin, st);
	daemon_child_log_remove(&IT.child);
	return 0;
}

#endif
