/* Shared by the unit programs that run NNG over ipc:// (test_bus.c,
 * test_rpc.c): a private temporary folder for the socket files (g_dir), the
 * group setup and teardown that make and remove it, and NNG_UNIT_MAIN_RUN,
 * which runs the tests and then lets NNG finish reaping closed sockets
 * (nng_fini), so that LeakSanitizer does not report what was still being
 * freed. Include once, after cmocka.h. */
#ifndef HD_NNG_UNIT_H
#define HD_NNG_UNIT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nng/nng.h>

static char g_dir[64];

static int nng_unit_setup(void **state)
{
	(void)state;
	strcpy(g_dir, "/tmp/hd-nng-test-XXXXXX"); /* mkdtemp's template */
	return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int nng_unit_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define NNG_UNIT_MAIN_RUN(tests)                                                                   \
	do {                                                                                       \
		int failed_ = cmocka_run_group_tests(tests, nng_unit_setup, nng_unit_teardown);    \
		nng_fini();                                                                        \
		return failed_;                                                                    \
	} while (0)

#endif
