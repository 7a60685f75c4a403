/* Smoke test of every daemon on daemons.def against a running stack: each
 * one with an admin port (the gateway's too) answers /healthz there as itself
 * and /readyz, and the gateway answers /healthz and /readyz on its public port
 * as well (ready only once every daemon behind it is connected). One test per line of the list, so
 * a new daemon is covered without an edit here (docs/adding-a-daemon.md).
 *
 * Environment (set by the test runner): HD_TEST_BASE_URL, and the stack's
 * HD_<NAME>_ADMIN_PORT settings (deploy/local.sh port-env); a setting not
 * given falls back to its default from config.def. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "hd/config.h"
#include "httpc.h"

typedef struct daemon {
	const char *name;
	int admin_port; /* 0: none */
} daemon;

static const daemon daemons[] = {
#define HD_DAEMON(name, rpc_port, admin_port, image, sql_dir) { #name, admin_port },
#include "../../daemons.def"
#undef HD_DAEMON
};
#define N_DAEMONS (sizeof(daemons) / sizeof(daemons[0]))

/* GET url; asserts the status and returns the parsed body (caller frees). */
static void get_expect(httpc_resp *r, const char *url, long status)
{
	assert_int_equal(httpc_call(r, "GET", url, NULL, NULL, NULL, NULL), 0);
	if (r->status != status)
		print_error("GET %s: %ld %s\n", url, r->status, r->body != NULL ? r->body : "");
	assert_int_equal(r->status, status);
}

static void test_daemon_admin_port(void **state)
{
	const daemon *d = *state;
	char setting[64], url[128];
	httpc_resp r;

	snprintf(setting, sizeof(setting), "HD_%s_ADMIN_PORT", d->name);
	for (char *c = setting; *c != '\0'; c++)
		*c = (char)toupper((unsigned char)*c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/healthz", hd_config_str(setting));
	get_expect(&r, url, 200);
	const cJSON *service = cJSON_GetObjectItemCaseSensitive(r.json, "service");
	assert_true(cJSON_IsString(service));
	assert_string_equal(service->valuestring, d->name);
	httpc_resp_free(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%s/readyz", hd_config_str(setting));
	get_expect(&r, url, 200);
	httpc_resp_free(&r);
}

static void test_gateway_answers(void **state)
{
	httpc_resp r;
	(void)state;
	get_expect(&r, "/healthz", 200);
	httpc_resp_free(&r);
	get_expect(&r, "/readyz", 200);
	httpc_resp_free(&r);
}

int main(void)
{
	static char names[N_DAEMONS][64];
	struct CMUnitTest tests[N_DAEMONS + 1];
	size_t n = 0;

	for (size_t i = 0; i < N_DAEMONS; i++) {
		if (daemons[i].admin_port == 0)
			continue;
		snprintf(
		    names[n], sizeof(names[n]), "daemon %s: /healthz and /readyz", daemons[i].name);
		tests[n] = (struct CMUnitTest) { .name = names[n],
			.test_func = test_daemon_admin_port,
			.initial_state = (void *)&daemons[i] };
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_gateway_answers);
	return _cmocka_run_group_tests("daemons", tests, n, NULL, NULL);
}
