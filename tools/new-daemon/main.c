/* hd-@NAME@: the @NAME@ service. The skeleton (config, workers with PostgreSQL,
 * NNG server, admin port, --migrate) is hd_daemon_main; this file only
 * describes the service. To serve an operation: a line
 * HD_OP(@NAME@, "things.create", 0, @NAME@_things_create) in
 * proto/operations.def, the handler in a file of this folder (on the service
 * kit: hd/caller.h, hd/request.h, hd/reply.h, hd/page.h, hd/idem.h), a route
 * in gateway/routes.def (docs/adding-a-daemon.md). */
#include <stddef.h>
#include "hd/daemon.h"
#include "hd/ops.h"

/* Every `@NAME@` line of proto/operations.def: its handler is declared here
 * and listed in the table, so an operation without a handler does not build. */
#define HD_OPS_@NAME@ HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

static const hd_daemon_op @NAME@_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
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
