/* hd-field: technicians, work orders, their checklists, parts and history,
 * and dispatch of the nearest qualified technician (PostGIS). The skeleton
 * (config, workers with PostgreSQL, NNG server, admin port, --migrate, the
 * outbox relay and events.since) is hd_daemon_main; this file describes the
 * service and opens its peers, hd-auth and hd-ticket (hd/peer.h). */
#include <stddef.h>
#include "hd/config.h"
#include "hd/log.h"
#include "field.h"

static const hd_daemon_op fs_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

/* What the field schema's constraints mean to a user (hd_reply_db_error). */
static const hd_constraint_text fs_constraints[] = {
	{ "technicians_user_key", 409, "this user is a technician already" },
	{ "work_orders_no_double_booking", 409,
	    "the technician has another work order in that window" },
	{ "work_orders_window_check", 422, "window.end must be after window.start" },
	{ HD_IDEM_PKEY, 409, HD_TEXT_IDEM_BUSY },
	{ NULL, 0, NULL },
};

static struct {
	hd_rpc_client *auth, *ticket;
	double speed_kmh;
	long max_window_hours;
} fs;

hd_rpc_client *fs_auth_client(void)
{
	return fs.auth;
}

hd_rpc_client *fs_ticket_client(void)
{
	return fs.ticket;
}

double fs_speed_kmh(void)
{
	return fs.speed_kmh;
}

long fs_max_window_hours(void)
{
	return fs.max_window_hours;
}

/* events.since is libs' (hd/outbox.h) over field.outbox. */
void fs_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_since(req, dw);
}

/* field_events.replay (hd/outbox.h): every tenant's events, for hd-ticket's
 * consumer (hd/consumer.h); no gateway route. */
void fs_events_replay(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_replay(req, dw);
}

static void fs_stop(void)
{
	hd_rpc_client_close(fs.auth);
	hd_rpc_client_close(fs.ticket);
	fs.auth = fs.ticket = NULL;
}

static hd_err fs_start(void)
{
	long speed = 40;
	hd_err err = hd_config_int("HD_FIELD_SPEED_KMH", 1, 2000, &speed);
	if (err == HD_OK)
		err = hd_config_int("HD_FIELD_MAX_WINDOW_HOURS", 1, 8784, &fs.max_window_hours);
	if (err != HD_OK) {
		hd_log_error("HD_FIELD_SPEED_KMH (1..2000) or HD_FIELD_MAX_WINDOW_HOURS (1..8784) "
		             "is not a number in range");
		return err;
	}
	fs.speed_kmh = (double)speed;
	err = hd_rpc_client_open_peer(&fs.auth, hd_config_str("HD_AUTH_URL"), "hd-auth");
	if (err == HD_OK)
		err = hd_rpc_client_open_peer(
		    &fs.ticket, hd_config_str("HD_TICKET_URL"), "hd-ticket");
	if (err != HD_OK) {
		hd_log_error("cannot open the clients of hd-auth and hd-ticket (HD_AUTH_URL, "
		             "HD_TICKET_URL)");
		fs_stop();
	}
	return err;
}

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "field",
		.version = "0.1.0",
		.schema = "field",
		.sql_dir = "services/field/sql",
		.listen_url_setting = "HD_FIELD_URL",
		.admin_port_setting = "HD_FIELD_ADMIN_PORT",
		.use_db = true,
		.use_redis = false,
		.outbox = true,
		.idempotency = true,
		.ops = fs_ops,
		.constraints = fs_constraints,
		.start = fs_start,
		.stop = fs_stop,
	};
	return hd_daemon_main(&spec, argc, argv);
}
