/* hd-knowledge: help-center articles with versions, full-text search with a
 * typo fallback, the public help center and article suggestions for tickets
 * (API "Knowledge base"). The skeleton (config, workers with PostgreSQL, NNG
 * server, admin port, --migrate, the outbox relay) is hd_daemon_main; this
 * file only describes the service. */
#include <stddef.h>
#include "hd/daemon.h"
#include "hd/outbox.h"
#include "knowledge.h"

/* What the knowledge schema's constraints mean to a user. */
static const hd_constraint_text knowledge_constraints[] = {
	{ "articles_locale_check", 422, "locale must be a language code such as en or de-AT" },
	{ NULL, 0, NULL },
};

/* knowledge_events.since and .replay are libs' (hd/outbox.h) over
 * knowledge.outbox: the gateway's GET /v1/stream reads article events
 * through them. */
void kb_events_since(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_since(req, dw);
}

void kb_events_replay(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_outbox_events_replay(req, dw);
}

static const hd_daemon_op knowledge_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
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
		.outbox = true,
		.ops = knowledge_ops,
		.constraints = knowledge_constraints,
	};
	return hd_daemon_main(&spec, argc, argv);
}
