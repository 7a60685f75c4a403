/* hd-auth: tenants, users, sessions and MFA. A thin main: the shared daemon
 * skeleton (hd_daemon_main) runs everything; this file names the operations
 * and the start/stop hooks. `--bootstrap` seeds the local stack and exits. */
#include <liboath/oath.h>
#include <string.h>
#include "auth.h"
#include "hd/config.h"
#include "hd/log.h"

/* Every `auth` line of proto/operations.def (hd/ops.h): an operation
 * without its handler does not build. */
static const hd_daemon_op auth_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

static hd_err auth_start(void)
{
	if (oath_init() != OATH_OK) {
		hd_log_error("auth: oath_init failed");
		return HD_ERR_INTERNAL;
	}
	hd_err err = auth_settings_load();
	if (err == HD_OK && (err = auth_invitations_start()) != HD_OK)
		auth_settings_fini();
	if (err != HD_OK)
		oath_done();
	return err;
}

static void auth_stop(void)
{
	auth_invitations_stop();
	auth_settings_fini();
	oath_done();
}

/* What a violated constraint means to the caller (hd_reply_db_error). */
static const hd_constraint_text auth_constraints[] = {
	{ "tenants_slug_key", 409, "slug already taken" },
	{ "users_email_key", 409, "email already taken" },
	{ HD_IDEM_PKEY, 409, HD_TEXT_IDEM_BUSY },
	{ NULL, 0, NULL },
};

static const hd_daemon_spec auth_spec = {
	.name = "auth",
	.version = "0.1.0",
	.schema = "auth",
	.sql_dir = "services/auth/sql",
	.listen_url_setting = "HD_AUTH_URL",
	.admin_port_setting = "HD_AUTH_ADMIN_PORT",
	.use_db = true,
	.idempotency = true,
	.use_redis = true,
	.ops = auth_ops,
	.constraints = auth_constraints,
	.start = auth_start,
	.stop = auth_stop,
};

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--bootstrap") == 0) {
		hd_log_init("auth", hd_config_str("HD_LOG_LEVEL"));
		return auth_bootstrap_run();
	}
	return hd_daemon_main(&auth_spec, argc, argv);
}
