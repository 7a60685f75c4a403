/* The gateway out of file descriptors (gateway/conn.c, gw_conn_accept_error_cb;
 * issue 15): a gateway of this test started with a low RLIMIT_NOFILE is filled
 * with idle connections until accept(2) fails with EMFILE. It must not spin on
 * the listening socket meanwhile (it pauses accepting 100 ms at a time: its
 * CPU time over two seconds stays far below the two seconds a busy loop
 * burns), it counts the refusals (hd_gateway_connections_refused_total
 * {reason="accept_error"}), and once the clients are gone it accepts and
 * answers again. Environment: see proc_e2e.h. */
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "proc_e2e.h"

#define NOFILE_LIMIT 256
#define WATCH_MS 2000
#define CPU_BOUND_S 0.6 /* a loop spinning on EMFILE burns ~WATCH_MS of CPU */

/* Seconds of CPU pid used so far (user + system), from /proc/pid/stat. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	assert_non_null(p);
	unsigned long utime = 0, stime = 0;
	/* after ") ": state, then fields 4..13, then utime (14) and stime (15) */
	assert_int_equal(
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime),
	    2);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* A connected TCP socket to 127.0.0.1:port, or -1. */
static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts hd-gateway with RLIMIT_NOFILE at NOFILE_LIMIT (this process's
 * limit is lowered for the spawn only). */
static pid_t gateway_spawn(int http_port, int admin_port)
{
	static char port_env[48], admin_env[48];
	snprintf(port_env, sizeof port_env, "HD_HTTP_PORT=%d", http_port);
	snprintf(admin_env, sizeof admin_env, "HD_GATEWAY_ADMIN_PORT=%d", admin_port);
	const char *env[] = { port_env, admin_env, "HD_HTTP_MAX_CONNS_PER_ADDR=0",
		"HD_HTTP_MAX_CONNS=100000", NULL };
	struct rlimit saved, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = NOFILE_LIMIT;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	pid_t pid = pe_spawn("gateway", NULL, "accept-gateway", env);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	return pid;
}

static void test_emfile_pauses_accepting(void **state)
{
	(void)state;
	int http_port = pe_free_port(), admin_port = pe_free_port();
	char ready[96], metrics[96];
	snprintf(ready, sizeof ready, "http://127.0.0.1:%d/healthz", http_port);
	snprintf(metrics, sizeof metrics, "http://127.0.0.1:%d/metrics", admin_port);
	pid_t pid = gateway_spawn(http_port, admin_port);
	assert_true(pe_wait_ready(ready, pid, 20000));

	/* fill its descriptor table: connections are accepted until EMFILE */
	int fds[NOFILE_LIMIT + 64];
	int n = 0;
	while (n < NOFILE_LIMIT + 64 && (fds[n] = connect_to(http_port)) >= 0)
		n++; /* the kernel's backlog takes more once the gateway stops accepting */
	assert_true(n == NOFILE_LIMIT + 64);
	pe_sleep_ms(300); /* it has accepted what it could, and hit EMFILE */
	double cpu0 = cpu_seconds(pid);
	pe_sleep_ms(WATCH_MS);
	double used = cpu_seconds(pid) - cpu0;
	fprintf(stderr, "gateway CPU while out of descriptors: %.2f s in %.1f s\n", used,
	    WATCH_MS / 1000.0);
	assert_true(used < CPU_BOUND_S);
	assert_int_equal(kill(pid, 0), 0); /* still running */

	/* the clients go: it accepts again */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	assert_true(pe_wait_ready(ready, pid, 10000));
	assert_true(
	    httpc_metric(metrics, "hd_gateway_connections_refused_total{reason=\"accept_error\"}")
	    >= 1);
	assert_int_equal(pe_stop(pid, SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emfile_pauses_accepting),
	};
	return cmocka_run_group_tests(tests, NULL, pe_teardown);
}
