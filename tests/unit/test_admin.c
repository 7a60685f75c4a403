/* Tests of libs/src/admin.c through a real admin port on a worker loop:
 * /healthz is 200 while the owner's liveness check holds (or there is none)
 * and 503 once it fails, which `--healthcheck` (hd_daemon_healthcheck) and
 * the chart's liveness probe read (the bus forwarder's thread ended:
 * docs/operations.md, The bus). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hd/admin.h"
#include "hd/daemon.h"
#include "hd/worker.h"
#include "../lib/freeport.h"

static atomic_bool g_alive;

static bool alive_cb(void)
{
	return atomic_load(&g_alive);
}

typedef struct fixture {
	hd_admin_spec spec;
	hd_admin *admin;
	hd_worker_pool *pool;
	long port;
} fixture;

static hd_err admin_init_cb(hd_worker *w, void *arg)
{
	fixture *f = arg;
	return hd_admin_start(&f->admin, hd_worker_base(w), &f->spec);
}

static void admin_fini_cb(hd_worker *w, void *arg)
{
	(void)w;
	fixture *f = arg;
	hd_admin_free(f->admin);
}

/* An admin port on a free port, liveness from alive (NULL: none). */
static void fixture_start(fixture *f, bool (*alive)(void))
{
	char port[16];
	f->port = freeport_get();
	assert_true(f->port > 0);
	snprintf(port, sizeof port, "%ld", f->port);
	setenv("HD_TEST_ADMIN_PORT", port, 1);
	setenv("HD_ADMIN_BIND", "127.0.0.1", 1);
	f->spec = (hd_admin_spec) { .service = "test",
		.version = "1",
		.port_setting = "HD_TEST_ADMIN_PORT",
		.alive = alive };
	assert_int_equal(
	    hd_worker_pool_create(&f->pool, 1, admin_init_cb, admin_fini_cb, f), HD_OK);
}

static void test_healthz_follows_liveness(void **state)
{
	(void)state;
	fixture f;
	atomic_store(&g_alive, true);
	fixture_start(&f, alive_cb);
	assert_int_equal(hd_daemon_healthcheck(f.port), 0);
	atomic_store(&g_alive, false); /* e.g. the forwarder's thread ended */
	assert_int_equal(hd_daemon_healthcheck(f.port), 1);
	atomic_store(&g_alive, true);
	assert_int_equal(hd_daemon_healthcheck(f.port), 0);
	hd_worker_pool_destroy(f.pool);
	assert_int_equal(hd_daemon_healthcheck(f.port), 1); /* nobody answers */
}

static void test_healthz_without_liveness_check(void **state)
{
	(void)state;
	fixture f;
	fixture_start(&f, NULL);
	assert_int_equal(hd_daemon_healthcheck(f.port), 0);
	hd_worker_pool_destroy(f.pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz_follows_liveness),
		cmocka_unit_test(test_healthz_without_liveness_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
