/* hd-@NAME@: the @NAME@ service. The skeleton (config, workers with PostgreSQL,
 * NNG server, admin port, --migrate) is hd_daemon_main; this file only
 * describes the service. To serve an operation: a line in
 * proto/operations.def, a handler in the table below, a route in
 * gateway/routes.def (docs/adding-a-daemon.md). */
#include <stddef.h>
#include "hd/daemon.h"

static const hd_daemon_op @NAME@_ops[] = {
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "@NAME@",
		.version = "0.1.0",
		.schema = "@NAME@",
		.sql_dir = "services/@NAME@/sql",
		.listen_url_setting = "HD_@UNAME@_URL",
		.admin_port_setting = "HD_@UNAME@_ADMIN_PORT",
		.use_db = true,
		.use_redis = false,
		.ops = @NAME@_ops,
	};
	return hd_daemon_main(&spec, argc, argv);
}
