/* hd-knowledge: help-center articles with versions, full-text search with a
 * typo fallback, the public help center, article suggestions for tickets
 * and the auto-triage classifier (API "Knowledge base"). The skeleton
 * (config, workers with PostgreSQL, NNG server, admin port, --migrate, the
 * outbox relay, the consumer of hd-ticket's events of hd/consumer.h) is
 * hd_daemon_main; this file only describes the service. */
#include <stddef.h>
#include <string.h>
#include "hd/consumer.h"
#include "hd/daemon.h"
#include "hd/events.h"
#include "hd/outbox.h"
#include "knowledge.h"

/* What the knowledge schema's constraints mean to a user. */
static const hd_constraint_text knowledge_constraints[] = {
	{ "articles_locale_check", 422, "locale must be a language code such as en or de-AT" },
	{ NULL, 0, NULL },
};

static const hd_daemon_op knowledge_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

/* knowledge_events.since and knowledge_events.replay are libs' (hd/outbox.h)
 * over knowledge.outbox: the article.* events of the caller's tenant, and of
 * every tenant for a daemon's consumer and the gateway's GET /v1/stream
 * (docs/architecture.md, "Events and the outbox"). */
void kb_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_since(req, dw);
}

void kb_events_replay(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_replay(req, dw);
}

/* hd-ticket's events teach the classifier what people decided
 * (knowledge.apply_ticket_event, sql/003_triage.sql); other ticket.* events
 * only move the position. */
static const char *kb_ticket_effect(const char *type)
{
	static const char sql[]
	    = "SELECT knowledge.apply_ticket_event($1::uuid, $2::text, $3::json,"
	      " $4::uuid, $5::bigint, $6::uuid)";
	return strcmp(type, HD_EVENT_NAME(ticket, created)) == 0
	        || strcmp(type, HD_EVENT_NAME(ticket, updated)) == 0
	        || strcmp(type, HD_EVENT_NAME(ticket, deleted)) == 0
	    ? sql
	    : NULL;
}

static const hd_consumer_spec kb_consumers[] = {
	{ .source = "ticket",
	    .prefixes = "ticket.",
	    .url_setting = "HD_TICKET_URL",
	    .replay_op = "ticket_events.replay",
	    .effect_sql = kb_ticket_effect },
	{ .source = NULL },
};

/* `hd-knowledge --retrain`: the model is forgotten and rebuilt from all of
 * hd-ticket's events by the consumer (docs/operations.md). */
static const hd_daemon_command kb_commands[] = {
	{ "--retrain", "SELECT knowledge.triage_reset()", NULL },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "knowledge",
		.version = "0.1.0",
		.schema = "knowledge",
		.sql_dir = "services/knowledge/sql",
		.listen_url_setting = "HD_KNOWLEDGE_URL",
		.admin_port_setting = "HD_KNOWLEDGE_ADMIN_PORT",
		.use_db = true,
		.use_redis = false,
		.db_pipeline_setting = "HD_KNOWLEDGE_DB_PIPELINE",
		.outbox = true,
		.consumers = kb_consumers,
		.commands = kb_commands,
		.ops = knowledge_ops,
		.constraints = knowledge_constraints,
		.start = kb_cache_start,
		.worker_init = kb_cache_worker_init,
		.worker_fini = kb_cache_worker_fini,
	};
	return hd_daemon_main(&spec, argc, argv);
}
