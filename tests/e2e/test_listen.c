/* The local stack listens only on the loopback address: every port it
 * opens (the gateway's HTTP port, each daemon's admin port and NNG address,
 * the bus's two addresses, PostgreSQL and Redis) has a listening socket
 * there, and none on any other address (0.0.0.0, ::, a real interface).
 * Read from /proc/net/tcp and /proc/net/tcp6 of this network namespace.
 *
 * Environment (set by the test runner): the stack's port settings
 * (deploy/local.sh port-env, HD_PG_PORT, HD_REDIS_PORT); a setting not given
 * falls back to its default from config.def. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/config.h"

static const char *const daemon_names[] = {
#define HD_DAEMON(name, rpc_port, admin_port, image, sql_dir) #name,
#include "../../daemons.def"
#undef HD_DAEMON
};
#define N_DAEMONS (sizeof(daemon_names) / sizeof(daemon_names[0]))

/* The port of setting name: a number, or the port of a tcp://host:port URL
 * (the first of a comma-separated list); 0 when there is none. */
static int setting_port(const char *name)
{
	const char *v = hd_config_str(name);
	if (v == NULL || v[0] == '\0')
		return 0;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", v);
	buf[strcspn(buf, ",")] = '\0';
	const char *colon = strrchr(buf, ':');
	return atoi(colon != NULL ? colon + 1 : buf);
}

/* Counts the listening sockets on port in file (/proc/net/tcp or tcp6):
 * those on loopback go to *loopback, the others to *other. */
static void scan(const char *file, int port, int *loopback, int *other)
{
	FILE *f = fopen(file, "r");
	char line[512];
	if (f == NULL)
		return; /* no IPv6 here */
	if (fgets(line, sizeof line, f) == NULL) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char local[64], remote[64];
		unsigned lport = 0, state = 0;
		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%*x %x", local, &lport,
		        remote, &state)
		        != 4
		    || state != 0x0A || (int)lport != port)
			continue;
		bool lo = strcmp(local, "0100007F") == 0 /* 127.0.0.1 */
		    || strcmp(local, "00000000000000000000000001000000") == 0; /* ::1 */
		if (lo)
			(*loopback)++;
		else {
			(*other)++;
			print_error("port %d listens on %s (%s)\n", port, local, file);
		}
	}
	fclose(f);
}

static void assert_loopback_only(const char *setting)
{
	int port = setting_port(setting);
	int loopback = 0, other = 0;
	if (port <= 0)
		fail_msg("%s names no port", setting);
	scan("/proc/net/tcp", port, &loopback, &other);
	scan("/proc/net/tcp6", port, &loopback, &other);
	if (loopback == 0)
		print_error("%s: nothing listens on 127.0.0.1:%d\n", setting, port);
	assert_true(loopback > 0);
	assert_int_equal(other, 0);
}

static void test_gateway_and_databases(void **state)
{
	assert_loopback_only("HD_HTTP_PORT");
	assert_loopback_only("HD_PG_PORT");
	assert_loopback_only("HD_REDIS_PORT");
	assert_loopback_only("HD_BUS_PUB_URL");
	assert_loopback_only("HD_BUS_SUB_URL");
}

static void test_daemon_ports(void **state)
{
	char name[64];
	for (size_t i = 0; i < N_DAEMONS; i++) {
		const char *d = daemon_names[i];
		char upper[32];
		size_t n = 0;
		for (; n < sizeof upper - 1 && d[n] != '\0'; n++)
			upper[n] = (char)toupper((unsigned char)d[n]);
		upper[n] = '\0';
		snprintf(name, sizeof name, "HD_%s_ADMIN_PORT", upper);
		if (setting_port(name) > 0)
			assert_loopback_only(name);
		snprintf(name, sizeof name, "HD_%s_URL", upper);
		if (setting_port(name) > 0)
			assert_loopback_only(name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_and_databases),
		cmocka_unit_test(test_daemon_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
