/* Each running daemon answers exactly the operations proto/operations.def
 * assigns to it: every one of its operations reaches a handler (whatever
 * that handler answers an anonymous, empty request, it is not "unknown
 * operation"), and every other service's operation, and a name in no list,
 * gets the dispatcher's 404 "unknown operation". Sent straight over NNG to
 * the stack's daemons, as the gateway sends them.
 * Environment: HD_AUTH_URL and HD_TICKET_URL (the stack's daemons). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "daemon_child.h"
#include "hd/envelope.h"
#include "hd/rpc.h"
#include "httpc.h"

static const struct {
	const char *service, *name;
} ops[] = {
#define HD_OP(service, name, idempotent, handler) { #service, name },
#include "operations.def"
#undef HD_OP
	{ "none", "nothing.here" }, /* served by no daemon */
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends op with no caller and no body; true when the daemon's dispatcher
 * did not know it (404 "unknown operation"). */
static bool unknown_to(hd_rpc_client *c, const char *svc, const char *op)
{
	hd_envelope e = { .version = HD_ENVELOPE_VERSION };
	snprintf(e.op, sizeof e.op, "%s", op);
	snprintf(e.request_id, sizeof e.request_id, "ops-%s-%s", svc, op);
	char *msg = NULL, *raw = NULL;
	size_t len = 0, raw_len = 0;
	assert_int_equal(hd_envelope_encode(&e, &msg, &len), HD_OK);
	hd_err err = daemon_child_call_raw(c, msg, len, 10000, &raw, &raw_len);
	free(msg);
	if (err != HD_OK)
		fail_msg("%s: %s: %s", svc, op, hd_strerror(err));
	hd_reply r;
	assert_int_equal(hd_reply_decode(raw, raw_len, &r), HD_OK);
	bool unknown = r.status == 404 && r.body != NULL
	    && memmem(r.body, r.body_len, "\"unknown operation\"", 19) != NULL;
	hd_rpc_free(raw);
	return unknown;
}

static void check_daemon(const char *svc, const char *url_setting)
{
	hd_rpc_client *c = NULL;
	assert_int_equal(hd_rpc_client_open(&c, httpc_env(url_setting)), HD_OK);
	int64_t until = now_ms() + 5000;
	while (!hd_rpc_client_connected(c) && now_ms() < until)
		usleep(10000);
	assert_true(hd_rpc_client_connected(c));
	int mine = 0;
	for (size_t i = 0; i < NOPS; i++) {
		bool own = strcmp(ops[i].service, svc) == 0;
		bool unknown = unknown_to(c, svc, ops[i].name);
		if (own && unknown)
			fail_msg("hd-%s does not serve its operation %s", svc, ops[i].name);
		if (!own && !unknown)
			fail_msg("hd-%s serves %s, an operation of %s", svc, ops[i].name,
			    ops[i].service);
		mine += own;
	}
	assert_true(mine > 0);
	hd_rpc_client_close(c);
}

static void test_auth_serves_exactly_its_operations(void **state)
{
	(void)state;
	check_daemon("auth", "HD_AUTH_URL");
}

static void test_ticket_serves_exactly_its_operations(void **state)
{
	(void)state;
	check_daemon("ticket", "HD_TICKET_URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_serves_exactly_its_operations),
		cmocka_unit_test(test_ticket_serves_exactly_its_operations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
