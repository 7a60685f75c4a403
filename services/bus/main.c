/* hd-bus: the event bus forwarder. Publishers (each service's outbox relay)
 * dial HD_BUS_PUB_URL, subscribers (the gateway's stream, consumers) dial
 * HD_BUS_SUB_URL; messages are copied between them in a thread. It serves no
 * operations and has no database: the shared daemon skeleton gives it the
 * admin port (HD_BUS_ADMIN_PORT; /healthz 503 once the forwarding thread
 * ended or a listener could not be made again after its watchdog saw it
 * stop, so the liveness probe restarts it) and a clean exit on SIGTERM. */
#include <stddef.h>

#include "hd/bus.h"
#include "hd/config.h"
#include "hd/daemon.h"
#include "hd/log.h"

static hd_bus_forwarder *g_forwarder;

static hd_err bus_start(void)
{
	const char *in = hd_config_str("HD_BUS_PUB_URL");
	const char *out = hd_config_str("HD_BUS_SUB_URL");
	hd_err err = hd_bus_forwarder_start(&g_forwarder, in, out);
	if (err == HD_OK)
		hd_log_info("bus: publishers -> %s, subscribers -> %s", in, out);
	return err;
}

static void bus_stop(void)
{
	hd_bus_forwarder_stop(g_forwarder);
	g_forwarder = NULL;
}

static bool bus_alive(void)
{
	return hd_bus_forwarder_running(g_forwarder) && hd_bus_forwarder_listening(g_forwarder);
}

static const hd_daemon_spec bus_spec = {
	.name = "bus",
	.version = "0.1.0",
	.listen_url_setting = NULL, /* no RPC server */
	.admin_port_setting = "HD_BUS_ADMIN_PORT",
	.start = bus_start,
	.stop = bus_stop,
	.alive = bus_alive,
};

int main(int argc, char **argv)
{
	return hd_daemon_main(&bus_spec, argc, argv);
}
