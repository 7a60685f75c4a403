/* End-to-end: the stack heals on its own when PostgreSQL restarts. After
 * `stackctl.sh restart-postgres`, every daemon's pooled connections are dead;
 * within a few seconds logins (auth) and ticket reads (ticket) must succeed
 * again through the same gateway, with no daemon restarted. Environment:
 * HD_TEST_BASE_URL, HD_TEST_DEMO_TENANT, HD_TEST_DEMO_EMAIL,
 * HD_TEST_DEMO_PASSWORD, HD_TEST_STACK_CTL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "httpc.h"

#define HEAL_DEADLINE_S 15

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static char *demo_login(void)
{
	return httpc_login(httpc_env("HD_TEST_DEMO_TENANT"), httpc_env("HD_TEST_DEMO_EMAIL"),
	    httpc_env("HD_TEST_DEMO_PASSWORD"), NULL);
}

/* Calls GET path until it answers 200 or the deadline passes; returns the last status. */
static long get_until_ok(const char *path, const char *token, double deadline)
{
	long status = 0;
	do {
		httpc_resp r;
		if (httpc_call(&r, "GET", path, token, NULL, NULL, NULL) == 0) {
			status = r.status;
			httpc_resp_free(&r);
		}
		if (status == 200)
			break;
		sleep_ms(200);
	} while (httpc_now_s() < deadline);
	return status;
}

static void test_postgres_restart_heals(void **state)
{
	(void)state;
	char *token = demo_login();
	assert_non_null(token);
	assert_int_equal(get_until_ok("/v1/tickets?limit=1", token, httpc_now_s()), 200);

	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s restart-postgres", httpc_env("HD_TEST_STACK_CTL"));
	assert_int_equal(system(cmd), 0);

	double deadline = httpc_now_s() + HEAL_DEADLINE_S;
	/* ticket daemon: reads work again on the same access token */
	assert_int_equal(get_until_ok("/v1/tickets?limit=1", token, deadline), 200);
	/* auth daemon: a fresh login works again (its pool healed too) */
	char *again = NULL;
	while (again == NULL && httpc_now_s() < deadline) {
		again = demo_login();
		if (again == NULL)
			sleep_ms(200);
	}
	assert_non_null(again);
	assert_int_equal(get_until_ok("/v1/auth/me", again, deadline), 200);
	/* and the gateway reports ready again */
	assert_int_equal(get_until_ok("/readyz", NULL, deadline), 200);
	free(again);
	free(token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postgres_restart_heals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
