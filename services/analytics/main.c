/* hd-analytics: exact figures from the events of hd-ticket and hd-field
 * (docs/architecture.md "Analytics"). The skeleton (config, workers with
 * PostgreSQL, NNG server, admin port, --migrate) is hd_daemon_main and the
 * event consumption (positions, gaps, catch-up, apply once) the libs
 * consumer (hd/consumer.h); this file describes the service, its two
 * consumed sources and `--rebuild`. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "hd/config.h"
#include "hd/consumer.h"
#include "hd/log.h"

static const hd_daemon_op an_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

const char *const an_sources[] = { "ticket", "field", NULL };

#define AN_LAG_METRIC "hd_analytics_lag_seconds"
/* a replay page's run of events in one transaction (analytics.apply_events, sql/R_events.sql) */
#define AN_BATCH_SQL "SELECT analytics.apply_events($1::text, $2::json)"

/* Every hd-ticket event goes through one function (types it does not use
 * only move the position): sql/001_init.sql, analytics.apply_ticket_event. */
static const char *an_ticket_effect(const char *type)
{
	(void)type;
	return "SELECT analytics.apply_ticket_event($1::uuid, $2::text, $3::json, $4::uuid,"
	       " $5::bigint, $6::uuid)";
}

static const char *an_field_effect(const char *type)
{
	return strcmp(type, "workorder.created") == 0 || strcmp(type, "workorder.completed") == 0
	    ? "SELECT analytics.apply_field_event($1::uuid, $2::text, $3::json, $4::uuid,"
	      " $5::bigint, $6::uuid)"
	    : NULL;
}

static const hd_consumer_spec an_consumers[] = {
	{ .source = "ticket",
	    .prefixes = "ticket.,comment.,sla.",
	    .url_setting = "HD_TICKET_URL",
	    .replay_op = "ticket_events.replay",
	    .effect_sql = an_ticket_effect,
	    .lag_metric = AN_LAG_METRIC,
	    .batch_sql = AN_BATCH_SQL,
	    .page_limit = HD_CONSUMER_PAGE_MAX },
	{ .source = "field",
	    .prefixes = "workorder.",
	    .url_setting = "HD_FIELD_URL",
	    .replay_op = "field_events.replay",
	    .effect_sql = an_field_effect,
	    .lag_metric = AN_LAG_METRIC,
	    .batch_sql = AN_BATCH_SQL,
	    .page_limit = HD_CONSUMER_PAGE_MAX },
	{ .source = NULL },
};

/* `--rebuild`: forgets every fact and position (analytics.rebuild_reset),
 * then runs as usual: the consumers apply every event again from seq 1. */
static int an_rebuild(void)
{
	hd_err err = hd_db_exec_sync(
	    hd_config_str("HD_DATABASE_URL"), "SELECT analytics.rebuild_reset()", 0, NULL, NULL);
	if (err != HD_OK) {
		hd_log_error(
		    "--rebuild: resetting the analytics schema failed: %s", hd_strerror(err));
		return 1;
	}
	hd_log_info("--rebuild: facts and positions reset; applying every event again");
	return 0;
}

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "analytics",
		.version = "0.1.0",
		.schema = "analytics",
		.sql_dir = "services/analytics/sql",
		.listen_url_setting = "HD_ANALYTICS_URL",
		.admin_port_setting = "HD_ANALYTICS_ADMIN_PORT",
		.use_db = true,
		.use_redis = false,
		.consumers = an_consumers,
		.ops = an_ops,
	};
	if (argc == 2 && strcmp(argv[1], "--rebuild") == 0) {
		hd_log_init(spec.name, hd_config_str("HD_LOG_LEVEL"));
		if (an_rebuild() != 0)
			return 1;
		argc = 1;
	}
	return hd_daemon_main(&spec, argc, argv);
}
