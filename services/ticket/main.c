/* hd-ticket: tickets, comments, audit history, SLA policies and the outbox
 * relay. The skeleton (config, workers with PostgreSQL, NNG server, admin
 * port, --migrate, the outbox relay and events.since of hd/outbox.h, the
 * consumer of hd-field's events of hd/consumer.h) is
 * hd_daemon_main; this file only describes the service. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "hd/consumer.h"
#include "hd/daemon.h"
#include "ticket.h"

/* Every `ticket` line of proto/operations.def (hd/ops.h): an operation
 * without its handler does not build. */
static const hd_daemon_op tk_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

/* What the ticket schema's constraints mean to a user (hd_reply_db_error). */
static const hd_constraint_text tk_constraints[] = {
	{ "comments_ticket_not_closed", 422,
	    "the ticket is closed, and closed is final: open a new ticket instead" },
	{ "automations_auto_triage_on_create", 422, TK_AUTO_TRIAGE_ONLY_ON_CREATE },
	{ HD_IDEM_PKEY, 409, HD_TEXT_IDEM_BUSY },
	{ "attachments_claimable", 422,
	    "attachment_ids: each must be one of your unattached uploads (an image for a "
	    "signature)" },
	{ NULL, 0, NULL },
};

/* events.since is libs' (hd/outbox.h) over ticket.outbox. */
void tk_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_since(req, dw);
}

/* ticket_events.since: events.since by the name every source's follows,
 * <source>_events.since (docs/architecture.md, "Events and the outbox"). */
void tk_ticket_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_since(req, dw);
}

/* ticket_events.replay (hd/outbox.h): every tenant's events, for the
 * consumers of other daemons (hd-notification, hd-analytics, hd-knowledge's
 * auto-triage; hd/consumer.h) and the gateway's GET /v1/stream; no gateway
 * route. */
void tk_events_replay(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_replay(req, dw);
}

/* hd-field's work order events: a dispatched or completed work order
 * linked to a ticket writes the system's internal comment and history entry
 * on it (services/ticket/sql/020_work_order_events.sql); the other
 * workorder.* events only move the position. */
static const char *tk_field_effect(const char *type)
{
	static const char sql[] = "SELECT ticket.apply_field_event($1::uuid, $2::text, $3::json,"
	                          " $4::uuid, $5::bigint, $6::uuid)";
	return strcmp(type, "workorder.dispatched") == 0 || strcmp(type, "workorder.completed") == 0
	    ? sql
	    : NULL;
}

static const hd_consumer_spec tk_consumers[] = {
	{ .source = "field",
	    .prefixes = "workorder.",
	    .url_setting = "HD_FIELD_URL",
	    .replay_op = "field_events.replay",
	    .effect_sql = tk_field_effect },
	{ .source = NULL },
};

/* Each worker has its create, GET and list queues; worker 0 also runs the SLA
 * breach detector and the auto_triage worker (the outbox relay next to it is hd_daemon_main's). */
static void tk_worker_fini(hd_daemon_worker *dw)
{
	tk_worker *tw = dw->service;
	if (hd_worker_index(dw->worker) == 0) {
		tk_attachment_sweeper_stop();
		tk_auto_triage_stop();
		tk_sla_detector_stop();
	}
	if (tw != NULL) {
		tk_list_queue_destroy(tw->lists);
		tk_get_queue_destroy(tw->gets);
		tk_create_queue_destroy(tw->creates);
		free(tw);
	}
	dw->service = NULL;
}

static hd_err tk_worker_init(hd_daemon_worker *dw)
{
	tk_worker *tw = calloc(1, sizeof(*tw));
	if (tw == NULL)
		return HD_ERR_NOMEM;
	dw->service = tw;
	hd_err err = tk_create_queue_create(&tw->creates, dw);
	if (err == HD_OK)
		err = tk_get_queue_create(&tw->gets, dw);
	if (err == HD_OK)
		err = tk_list_queue_create(&tw->lists, dw);
	if (err == HD_OK && hd_worker_index(dw->worker) == 0)
		err = tk_sla_detector_start(dw);
	if (err == HD_OK && hd_worker_index(dw->worker) == 0) {
		err = tk_auto_triage_start(dw);
		if (err != HD_OK)
			tk_sla_detector_stop();
	}
	if (err == HD_OK && hd_worker_index(dw->worker) == 0) {
		err = tk_attachment_sweeper_start(dw);
		if (err != HD_OK) {
			tk_auto_triage_stop();
			tk_sla_detector_stop();
		}
	}
	if (err != HD_OK) {
		/* the timers did not start: nothing for fini to stop */
		tk_list_queue_destroy(tw->lists);
		tk_get_queue_destroy(tw->gets);
		tk_create_queue_destroy(tw->creates);
		free(tw);
		dw->service = NULL;
	}
	return err;
}

/* The clients and storage the handlers use, before the workers start. */
static hd_err tk_start(void)
{
	hd_err err = tk_suggestions_start();
	if (err == HD_OK && (err = tk_attachments_start()) != HD_OK)
		tk_suggestions_stop();
	return err;
}

static void tk_stop(void)
{
	tk_attachments_stop();
	tk_suggestions_stop();
}

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "ticket",
		.version = "0.1.0",
		.schema = "ticket",
		.sql_dir = "services/ticket/sql",
		.listen_url_setting = "HD_TICKET_URL",
		.admin_port_setting = "HD_TICKET_ADMIN_PORT",
		.use_db = true,
		.idempotency = true,
		.use_redis = false,
		.outbox = true,
		.consumers = tk_consumers,
		.ops = tk_ops,
		.constraints = tk_constraints,
		.start = tk_start,
		.stop = tk_stop,
		.worker_init = tk_worker_init,
		.worker_fini = tk_worker_fini,
	};
	return hd_daemon_main(&spec, argc, argv);
}
