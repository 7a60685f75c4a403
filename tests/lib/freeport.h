/* A free TCP port on 127.0.0.1 for tests: bound once to port 0, read back,
 * released. Shared by the unit, integration and end-to-end helpers
 * (test_rpc.c, daemon_child.c, proc_e2e.h); header-only (static inline) so
 * no test folder's build has to compile anything more for it. */
#ifndef HD_TEST_FREEPORT_H
#define HD_TEST_FREEPORT_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Returns a TCP port on 127.0.0.1 nobody listens on right now, or -1. */
static inline int freeport_get(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int port = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0
	    && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

#endif
