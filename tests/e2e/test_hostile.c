/* End-to-end tests of the gateway against hostile clients (issue 15), over
 * raw TCP sockets to the running stack on 127.0.0.1: clients that never read
 * their answers (the finding: pipelined requests and a large body pinned the
 * gateway's memory for as long as the client liked), slowloris heads, slow
 * bodies, pipelining floods, many idle connections up to the per-loop cap,
 * many connections from one address against the per-address cap, many
 * large bodies at once against the loop's buffer budget, and bare LF in chunked framing. Each
 * test ends with an honest client that is still served.
 *
 * The stack runs with short deadlines (tests/run.sh): the waits here follow
 * HD_HTTP_WRITE_TIMEOUT_MS and HD_HTTP_REQUEST_TIMEOUT_MS, and each is
 * bounded, so a gateway without the deadlines fails a test instead of
 * hanging it.
 *
 * Environment (set by the test runner): HD_TEST_BASE_URL, HD_TEST_STACK_DIR
 * (the gateway's pid is in run/gateway.pid), HD_HTTP_WRITE_TIMEOUT_MS,
 * HD_HTTP_REQUEST_TIMEOUT_MS, HD_HTTP_MAX_CONNS, HD_HTTP_MAX_CONNS_PER_ADDR,
 * HD_HTTP_LOOP_BUFFER_BYTES,
 * HD_HTTP_THREADS and HD_MAX_BODY_BYTES (config.def's defaults when unset). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "httpc.h"

#define HOSTILE_MAX_FDS 2100 /* the most connections one test holds */
#define NEVER_READ_CONNS 40 /* the finding's count */
#define NEVER_READ_PIPELINED 2000 /* answers: more than the sockets take */
#define RSS_HELD_MAX_KIB (24 * 1024) /* growth allowed while they are held */
#define RSS_AFTER_MAX_KIB (16 * 1024) /* and once they are closed */
#define WAIT_MS 3000 /* longest wait for an answer */

static const char HEALTHZ[] = "GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n";
/* a large public answer (~100 KB), from the gateway's memory */
static const char OPENAPI[] = "GET /v1/openapi.yaml HTTP/1.1\r\nHost: gw\r\n\r\n";

/* Under AddressSanitizer (the gateway is built like the tests) freed
 * memory is held in quarantine: resident sizes say nothing there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED false
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED true
#endif
/* how long after a deadline the gateway may take to act on it (a
 * sanitized gateway is several times slower) */
#define LATE_MS (RSS_CHECKED ? 1500 : 8000)

/* The test's sockets and large request, let go by fds_teardown even after
 * a failure. */
static int fds[HOSTILE_MAX_FDS];
static int fds_used;
static char *big; /* the test's large request */

static int fds_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < fds_used; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds_used = 0;
	free(big);
	big = NULL;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

static struct sockaddr_in gateway_addr(void)
{
	const char *base = httpc_env("HD_TEST_BASE_URL");
	char host[64];
	int port = 0;
	struct sockaddr_in a = { .sin_family = AF_INET };
	if (sscanf(base, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535)
		fail_msg("HD_TEST_BASE_URL is not http://HOST:PORT: %s", base);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1
	    || a.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		fail_msg("these tests only talk to 127.0.0.1: %s", base);
	a.sin_port = htons((uint16_t)port);
	return a;
}

/* A new connection from source address from (NULL: the kernel's choice;
 * Linux routes all of 127.0.0.0/8 to lo), rcvbuf > 0 fixes the receive
 * buffer, non-blocking when asked; its index in fds. */
static int conn_open_from(const char *from, int rcvbuf, bool nonblock)
{
	if (fds_used == HOSTILE_MAX_FDS)
		fail_msg("more than %d connections in one test", HOSTILE_MAX_FDS);
	struct sockaddr_in a = gateway_addr();
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail_msg("socket: %s", strerror(errno));
	fds[fds_used++] = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (from != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, from, &src.sin_addr) != 1
		    || (ntohl(src.sin_addr.s_addr) >> 24) != 127)
			fail_msg("not a loopback address: %s", from);
		/* closed with a reset, so the port is free at once: a bound port
		 * left in TIME_WAIT on 127.x.y.z is one freeport_get may hand out
		 * for 127.0.0.1, and a daemon then cannot listen on 0.0.0.0 */
		struct linger reset = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
			fail_msg("cannot bind to %s: %s", from, strerror(errno));
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		fail_msg("cannot connect to the gateway: %s", strerror(errno));
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int conn_open(int rcvbuf, bool nonblock)
{
	return conn_open_from(NULL, rcvbuf, nonblock);
}

/* Sends all of data (blocking socket), bounded by WAIT_MS. */
static void send_all(int fd, const char *data, size_t len)
{
	int64_t end = now_ms() + WAIT_MS;
	while (len > 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			fail_msg("the gateway does not take the request");
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail_msg("send: %s", strerror(errno));
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
}

/* Sends what the socket takes without blocking; how much it took. */
static size_t send_some(int fd, const char *data, size_t len)
{
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	return sent;
}

/* Reads until EOF (or a reset) within ms; what came, NUL-terminated, in
 * buf (the start of it when more came). True when the connection ended. */
static bool read_to_eof(int fd, char *buf, size_t size, long ms, size_t *got)
{
	int64_t end = now_ms() + ms;
	size_t len = 0;
	char sink[65536];
	for (;;) {
		int64_t left = end - now_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			if (got != NULL)
				*got = len;
			return true;
		}
		if (n < 0)
			continue;
		if (buf != NULL && len + 1 < size) {
			size_t take = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
			memcpy(buf + len, sink, take);
			len += take;
			buf[len] = '\0';
		}
	}
	if (got != NULL)
		*got = len;
	return false;
}

/* Waits up to ms for the gateway to close fds[first..first+n) (its FIN or
 * reset), without reading: reading would let a blocked answer go on.
 * Returns how many are still open. */
static int wait_closed(int first, int n, long ms)
{
	struct pollfd p[HOSTILE_MAX_FDS];
	int64_t end = now_ms() + ms;
	int open = n;
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd) { fds[first + i], POLLRDHUP, 0 };
	while (open > 0 && now_ms() < end) {
		if (poll(p, (nfds_t)n, 50) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		open = 0;
		for (int i = 0; i < n; i++) {
			if (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR))
				p[i].fd = -1; /* poll skips it from now on */
			open += p[i].fd >= 0;
		}
	}
	return open;
}

/* GET /healthz on a new connection from from (NULL: 127.0.0.1) answers 200
 * within WAIT_MS (retried for a moment while the gateway still closes what
 * a test left behind). */
static void client_served_from(const char *from)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n";
	int64_t end = now_ms() + WAIT_MS;
	char buf[4096];
	for (;;) {
		int fd = conn_open_from(from, 0, false);
		send_all(fd, req, sizeof(req) - 1);
		buf[0] = '\0';
		read_to_eof(fd, buf, sizeof buf, WAIT_MS, NULL);
		if (strncmp(buf, "HTTP/1.1 200 ", 13) == 0)
			return;
		if (now_ms() > end)
			fail_msg("a client from %s is not served: %.200s",
			    from != NULL ? from : "127.0.0.1", buf);
		sleep_ms(100);
	}
}

static void honest_client_served(void)
{
	client_served_from(NULL);
}

/* The gateway's resident memory in KiB. */
static long gateway_rss_kib(void)
{
	char path[512], line[256];
	snprintf(path, sizeof path, "%s/run/gateway.pid", httpc_env("HD_TEST_STACK_DIR"));
	FILE *f = fopen(path, "r");
	long pid = 0, kib = -1;
	if (f == NULL || fscanf(f, "%ld", &pid) != 1)
		fail_msg("cannot read the gateway's pid from %s", path);
	fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

static double metric(const char *prefix)
{
	char url[256];
	snprintf(
	    url, sizeof url, "http://127.0.0.1:%s/metrics", httpc_env("HD_GATEWAY_ADMIN_PORT"));
	return httpc_metric(url, prefix);
}

/* The finding: NEVER_READ_CONNS connections send NEVER_READ_PIPELINED
 * pipelined requests and then a large body, and never read. The gateway
 * must not buffer their input while their answers wait (its memory stays
 * under a bound while they are held), and must close them once the write
 * deadline passes, giving the memory back. */
static void test_never_read(void **state)
{
	(void)state;
	long max_body = env_long("HD_MAX_BODY_BYTES", 1048576);
	long deadline = env_long("HD_HTTP_WRITE_TIMEOUT_MS", 10000);
	size_t per = sizeof(OPENAPI) - 1, head_room = 256;
	size_t len = per * NEVER_READ_PIPELINED + head_room + (size_t)max_body;
	char *req = big = malloc(len);
	assert_non_null(req);
	for (int i = 0; i < NEVER_READ_PIPELINED; i++)
		memcpy(req + (size_t)i * per, OPENAPI, per);
	size_t at = per * NEVER_READ_PIPELINED;
	at += (size_t)snprintf(req + at, head_room,
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Content-Length: %ld\r\n\r\n",
	    max_body);
	memset(req + at, ' ', len - at);
	len = at + (size_t)max_body;

	long rss_before = gateway_rss_kib();
	int first = fds_used;
	size_t sent[NEVER_READ_CONNS] = { 0 };
	for (int i = 0; i < NEVER_READ_CONNS; i++)
		conn_open(4096, true);
	int64_t start = now_ms();
	/* they send what the gateway takes, until past the write deadline; the
	 * gateway's memory meanwhile is what they pin */
	long rss_held = rss_before;
	while (now_ms() - start < deadline + 1500) {
		for (int i = 0; i < NEVER_READ_CONNS; i++)
			sent[i] += send_some(fds[first + i], req + sent[i], len - sent[i]);
		long rss = gateway_rss_kib();
		rss_held = rss > rss_held ? rss : rss_held;
		sleep_ms(50);
	}
	print_message("gateway RSS: %ld KiB before, at most %ld KiB while %d clients do not read\n",
	    rss_before, rss_held, NEVER_READ_CONNS);
	if (RSS_CHECKED && rss_held - rss_before > RSS_HELD_MAX_KIB)
		fail_msg("clients that do not read made the gateway grow by %ld KiB (bound %d)",
		    rss_held - rss_before, RSS_HELD_MAX_KIB);

	/* past the deadline, each has been closed */
	int open_left = wait_closed(first, NEVER_READ_CONNS, LATE_MS);
	if (open_left > 0)
		fail_msg("%d of %d clients that never read are still connected %ld ms after "
		         "the write deadline",
		    open_left, NEVER_READ_CONNS, (long)(now_ms() - start) - deadline);
	assert_true(metric("hd_gateway_connections_closed_total{reason=\"write_timeout\"") >= 1);
	long rss_after = gateway_rss_kib();
	print_message("gateway RSS after they were closed: %ld KiB\n", rss_after);
	if (RSS_CHECKED && rss_after - rss_before > RSS_AFTER_MAX_KIB)
		fail_msg("the gateway kept %ld KiB after the clients were closed (bound %d)",
		    rss_after - rss_before, RSS_AFTER_MAX_KIB);
	honest_client_served();
}

/* A head trickled one byte at a time: 408 at the request deadline, counted
 * from the first byte, not pushed back by each byte. */
static void trickle_check(const char *start, long budget_ms)
{
	long deadline = env_long("HD_HTTP_REQUEST_TIMEOUT_MS", 30000);
	int fd = conn_open(0, false);
	char buf[4096] = "";
	int64_t t0 = now_ms();
	send_all(fd, start, strlen(start));
	bool answered = false;
	while (now_ms() - t0 < deadline + budget_ms) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 250) > 0) {
			answered = true;
			break;
		}
		if (send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
			break;
	}
	if (!answered)
		fail_msg(
		    "no answer %ld ms after the request deadline (%ld ms)", budget_ms, deadline);
	bool ended = read_to_eof(fd, buf, sizeof buf, WAIT_MS, NULL);
	long took = (long)(now_ms() - t0);
	if (strncmp(buf, "HTTP/1.1 408 ", 13) != 0)
		fail_msg("not 408 after %ld ms: %.200s", took, buf);
	assert_true(ended);
	assert_true(took >= deadline - 100);
}

static void test_slowloris_head(void **state)
{
	(void)state;
	trickle_check("GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Slow: ", 1500);
	honest_client_served();
}

/* A body trickled one byte at a time: the same deadline. */
static void test_slow_body(void **state)
{
	(void)state;
	trickle_check("POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\n"
	              "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
	    1500);
	honest_client_served();
}

/* A pipelining flood that never reads, next to an honest client: the honest
 * one is served meanwhile, and the flood is closed at the write deadline. */
static void test_pipeline_flood(void **state)
{
	(void)state;
	long deadline = env_long("HD_HTTP_WRITE_TIMEOUT_MS", 10000);
	enum { N = 20000 };
	size_t per = sizeof(HEALTHZ) - 1, len = per * N, sent = 0;
	char *req = big = malloc(len);
	assert_non_null(req);
	for (int i = 0; i < N; i++)
		memcpy(req + (size_t)i * per, HEALTHZ, per);
	int flood = fds_used, fd = conn_open(4096, true);
	int64_t start = now_ms();
	while (now_ms() - start < 500) {
		sent += send_some(fd, req + sent, len - sent);
		sleep_ms(10);
	}
	honest_client_served();
	/* not before the deadline, and soon after it */
	long wait = deadline - 200 - (long)(now_ms() - start);
	if (wait > 0 && wait_closed(flood, 1, wait) == 0)
		fail_msg("a flood was closed before the write deadline");
	if (wait_closed(flood, 1, 200 + LATE_MS) > 0)
		fail_msg("a flood that never reads is still connected after the write deadline");
	honest_client_served();
}

/* The source address of a test's i-th connection when it opens more than
 * HD_HTTP_MAX_CONNS_PER_ADDR: 127.1.x.y, at most that many (or 64) each. */
static const char *spread_from(long i)
{
	static char text[32];
	long per = env_long("HD_HTTP_MAX_CONNS_PER_ADDR", 256);
	per = per > 0 && per < 64 ? per : 64;
	long k = i / per;
	snprintf(text, sizeof text, "127.1.%ld.%ld", k / 250 % 250, k % 250 + 1);
	return text;
}

/* Many idle connections, up to the per-loop cap: all are held, the next is
 * closed at once and counted, and once some leave an honest client is
 * served. They come from many addresses (spread_from), under the
 * per-address cap. */
static void test_many_idle(void **state)
{
	(void)state;
	long cap = env_long("HD_HTTP_MAX_CONNS", 10000), threads = env_long("HD_HTTP_THREADS", 1);
	long n = cap * threads;
	if (threads != 1 || n + 16 > HOSTILE_MAX_FDS) {
		print_message("HD_HTTP_MAX_CONNS %ld x %ld loops: only %d idle connections\n", cap,
		    threads, HOSTILE_MAX_FDS - 16);
		n = HOSTILE_MAX_FDS - 16;
		cap = 0;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)HOSTILE_MAX_FDS + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)HOSTILE_MAX_FDS + 64
		    ? rl.rlim_max
		    : (rlim_t)HOSTILE_MAX_FDS + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	double refused = metric("hd_gateway_connections_refused_total{reason=\"loop_full\"");
	/* a few below the cap: the stack may hold a connection or two itself */
	long idle = cap > 0 ? n - 8 : n;
	for (long i = 0; i < idle; i++)
		conn_open_from(spread_from(i), 0, false);
	/* the gateway has taken them all: one request on the last is served */
	int last = fds[fds_used - 1];
	char buf[4096];
	send_all(last, HEALTHZ, sizeof(HEALTHZ) - 1);
	struct pollfd p = { last, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_true(recv(last, buf, sizeof buf, 0) > 13);
	assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
	if (cap > 0) {
		/* past the cap, connections are closed at once */
		int first = fds_used, closed = 0;
		for (int i = 0; i < 16; i++)
			conn_open_from(spread_from(idle + i), 0, false);
		for (int i = 0; i < 16; i++)
			closed += read_to_eof(fds[first + i], NULL, 0, i < 8 ? 300 : 30, NULL);
		if (closed < 8)
			fail_msg("only %d of 16 connections over HD_HTTP_MAX_CONNS (%ld) closed",
			    closed, cap);
	}
	/* the idle ones leave; the gateway serves again */
	fds_teardown(NULL);
	honest_client_served();
	if (cap > 0)
		assert_true(metric("hd_gateway_connections_refused_total{reason=\"loop_full\"")
		    >= refused + 8);
}

/* More connections from one address than HD_HTTP_MAX_CONNS_PER_ADDR: up
 * to the cap all are held, the surplus is closed at once and counted
 * (addr_full), while clients from other addresses are served; once one of
 * the address's connections leaves, it is served again. */
static void test_per_addr(void **state)
{
	(void)state;
	static const char from[] = "127.0.0.2";
	long cap = env_long("HD_HTTP_MAX_CONNS_PER_ADDR", 256);
	long threads = env_long("HD_HTTP_THREADS", 1);
	long loop_cap = env_long("HD_HTTP_MAX_CONNS", 10000);
	if (cap <= 0 || threads != 1 || cap + 32 > HOSTILE_MAX_FDS || cap + 32 > loop_cap) {
		print_message(
		    "HD_HTTP_MAX_CONNS_PER_ADDR %ld with %ld loops: skipped\n", cap, threads);
		skip();
	}
	double refused = metric("hd_gateway_connections_refused_total{reason=\"addr_full\"");
	for (long i = 0; i < cap; i++)
		conn_open_from(from, 0, false);
	/* the gateway has taken them all: one request on the last is served */
	int last = fds[fds_used - 1];
	char buf[4096];
	send_all(last, HEALTHZ, sizeof(HEALTHZ) - 1);
	struct pollfd p = { last, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_true(recv(last, buf, sizeof buf, 0) > 13);
	assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
	/* past the cap, connections from the address are closed at once */
	int first = fds_used;
	for (int i = 0; i < 16; i++)
		conn_open_from(from, 0, false);
	int open = wait_closed(first, 16, 300 + LATE_MS);
	if (open > 0)
		fail_msg("%d of 16 connections from %s over HD_HTTP_MAX_CONNS_PER_ADDR (%ld) "
		         "are still open",
		    open, from, cap);
	/* the ones under the cap are not */
	assert_int_equal(wait_closed(0, (int)cap, 100), (int)cap);
	/* other addresses are served meanwhile */
	client_served_from("127.0.0.3");
	honest_client_served();
	assert_true(
	    metric("hd_gateway_connections_refused_total{reason=\"addr_full\"") >= refused + 16);
	/* one leaves: the address is served again */
	close(fds[0]);
	fds[0] = -1;
	client_served_from(from);
}

/* Many clients each sending most of a large body: the loop's input buffers
 * stay under HD_HTTP_LOOP_BUFFER_BYTES (the requests past it are 503), and
 * the gateway's memory with them. */
static void test_loop_buffers(void **state)
{
	(void)state;
	/* a body of declared length gets one buffer of its size (conn.c), so
	 * N of them must pass the budget by more than 8 bodies */
	enum { N = 48 };
	long max_body = env_long("HD_MAX_BODY_BYTES", 1048576);
	long budget = env_long("HD_HTTP_LOOP_BUFFER_BYTES", 268435456);
	if ((long)N * max_body < budget + 8 * max_body) {
		print_message(
		    "HD_HTTP_LOOP_BUFFER_BYTES %ld is more than %d bodies: skipped\n", budget, N);
		skip();
	}
	size_t len = 256 + (size_t)max_body;
	char *req = big = malloc(len);
	assert_non_null(req);
	int head = snprintf(req, 256,
	    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
	    "Content-Length: %ld\r\n\r\n",
	    max_body);
	memset(req + head, ' ', (size_t)max_body);
	len = (size_t)head + (size_t)max_body - 1; /* the last byte never comes */
	long rss_before = gateway_rss_kib(), rss_held = rss_before;
	int first = fds_used;
	size_t sent[N] = { 0 };
	for (int i = 0; i < N; i++)
		conn_open(0, true);
	int64_t start = now_ms();
	while (now_ms() - start < 1500) {
		for (int i = 0; i < N; i++)
			sent[i] += send_some(fds[first + i], req + sent[i], len - sent[i]);
		long rss = gateway_rss_kib();
		rss_held = rss > rss_held ? rss : rss_held;
		sleep_ms(50);
	}
	int busy = 0;
	char buf[512];
	for (int i = 0; i < N; i++) {
		size_t got = 0;
		buf[0] = '\0';
		read_to_eof(fds[first + i], buf, sizeof buf, 10, &got);
		busy += strncmp(buf, "HTTP/1.1 503 ", 13) == 0;
	}
	print_message("gateway RSS: %ld KiB before, at most %ld KiB with %d large bodies "
	              "arriving; %d answered 503\n",
	    rss_before, rss_held, N, busy);
	assert_true(busy > 0);
	if (RSS_CHECKED && rss_held - rss_before > budget / 1024 + 8192)
		fail_msg("the gateway grew by %ld KiB with HD_HTTP_LOOP_BUFFER_BYTES %ld",
		    rss_held - rss_before, budget);
	fds_teardown(NULL);
	honest_client_served();
}

/* Bare LF in chunked framing: 400 and close, wherever it is. */
static void test_chunked_bare_lf(void **state)
{
	(void)state;
	static const char *bodies[] = {
		"5\nhello\r\n0\r\n\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"5\r\nhello\r\n0\n\r\n",
		"5\r\nhello\r\n0\r\nX: t\n\r\n",
		"5\r\nhello\r\n0\r\n\n",
	};
	char req[512], buf[4096];
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int fd = conn_open(0, false);
		int n = snprintf(req, sizeof req,
		    "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s%s",
		    bodies[i], HEALTHZ);
		send_all(fd, req, (size_t)n);
		bool ended = read_to_eof(fd, buf, sizeof buf, WAIT_MS, NULL);
		if (strncmp(buf, "HTTP/1.1 400 ", 13) != 0)
			fail_msg("case %zu: not 400: %.200s", i, buf);
		assert_true(ended);
	}
	honest_client_served();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_never_read, fds_teardown),
		cmocka_unit_test_teardown(test_slowloris_head, fds_teardown),
		cmocka_unit_test_teardown(test_slow_body, fds_teardown),
		cmocka_unit_test_teardown(test_pipeline_flood, fds_teardown),
		cmocka_unit_test_teardown(test_many_idle, fds_teardown),
		cmocka_unit_test_teardown(test_per_addr, fds_teardown),
		cmocka_unit_test_teardown(test_loop_buffers, fds_teardown),
		cmocka_unit_test_teardown(test_chunked_bare_lf, fds_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
