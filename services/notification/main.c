/* hd-notification: in-app notifications and signed webhooks (API
 * "Notifications and real time"; docs/architecture.md, "Notifications").
 * It consumes hd-ticket's and hd-field's events (hd/consumer.h): each event
 * is applied once, in its source's order, by notification.apply_event
 * (sql/002_functions.sql), which writes the notifications of the people
 * concerned and queues the webhook deliveries in the same transaction as the
 * consumer's position. Worker 0 also runs the webhook dispatcher
 * (dispatch.c). The skeleton is hd_daemon_main; this file describes the
 * service and reads its settings. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "hd/config.h"
#include "hd/consumer.h"
#include "hd/daemon.h"
#include "hd/log.h"
#include "notification.h"

static const hd_daemon_op nt_ops[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};

static const hd_constraint_text nt_constraints[] = {
	{ NULL, 0, NULL },
};

/* Every event goes through apply_event, which also queues the webhook
 * deliveries of any type a webhook may ask for (their body is the event,
 * occurred_at included: sql/004_occurred_at.sql). */
static const char *nt_effect(const char *type)
{
	(void)type;
	return "SELECT notification.apply_event($1::uuid, $2::text, $3::json,"
	       " $4::uuid, $5::bigint, $6::uuid, $7::text)";
}

static const hd_consumer_spec nt_consumers[] = {
	{ .source = "ticket",
	    .prefixes = "ticket.,comment.,sla.,automation.",
	    .url_setting = "HD_TICKET_URL",
	    .replay_op = "ticket_events.replay",
	    .effect_sql = nt_effect,
	    .effect_occurred_at = true },
	{ .source = "field",
	    .prefixes = "workorder.",
	    .url_setting = "HD_FIELD_URL",
	    .replay_op = "field_events.replay",
	    .effect_sql = nt_effect,
	    .effect_occurred_at = true },
	{ .source = NULL },
};

static nt_settings nt_conf;

const nt_settings *nt_settings_get(void)
{
	return &nt_conf;
}

/* Reads one HD_WEBHOOK_* number into *out, naming it when it is out of range. */
static hd_err nt_setting(const char *name, long min, long max, long *out)
{
	hd_err err = hd_config_int(name, min, max, out);
	if (err != HD_OK)
		hd_log_error("%s must be a whole number from %ld to %ld", name, min, max);
	return err;
}

/* HD_SMTP_*: e-mail is off while HD_SMTP_URL is empty. */
static hd_err nt_mail_settings(void)
{
	const char *url = hd_config_str("HD_SMTP_URL");
	char from[400];
	nt_conf.smtp_url = url != NULL && url[0] != '\0' ? url : NULL;
	nt_conf.smtp_user = hd_config_str("HD_SMTP_USER");
	nt_conf.smtp_password = hd_config_str("HD_SMTP_PASSWORD");
	nt_conf.smtp_from = hd_config_str("HD_SMTP_FROM");
	nt_conf.smtp_ca_file
	    = hd_config_str("HD_SMTP_CA_FILE")[0] != '\0' ? hd_config_str("HD_SMTP_CA_FILE") : NULL;
	/* compose passes an unset HD_SMTP_FROM as "" (its ${…:-} cannot hold
	 * the default's braces): the declared default then */
	for (const hd_config_var *v = hd_config_vars(); nt_conf.smtp_from[0] == '\0' && v->name;
	     v++)
		if (strcmp(v->name, "HD_SMTP_FROM") == 0 && v->def != NULL)
			nt_conf.smtp_from = v->def;
	if (nt_conf.smtp_user != NULL && nt_conf.smtp_user[0] == '\0')
		nt_conf.smtp_user = NULL;
	if (nt_conf.smtp_password != NULL && nt_conf.smtp_password[0] == '\0')
		nt_conf.smtp_password = NULL;
	if (nt_conf.smtp_url == NULL)
		return HD_OK;
	if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0) {
		hd_log_error("HD_SMTP_URL must be an smtp:// or smtps:// URL");
		return HD_ERR_INVALID;
	}
	if (!nt_mail_from_addr(nt_conf.smtp_from, "tenant", from, sizeof(from))) {
		hd_log_error(
		    "HD_SMTP_FROM must be an e-mail address (with {tenant} for the tenant's slug)");
		return HD_ERR_INVALID;
	}
	return HD_OK;
}

/* HD_MAIL_KEY (and _PREVIOUS), HD_MAIL_ALLOW_CIDRS, HD_IMAP_TIMEOUT_MS and HD_MAIL_LEASE_MS: mail
 * in. An empty key leaves mailboxes off; a malformed one is a start-up error. */
static hd_err nt_mail_in_settings(void)
{
	if (!nt_seal_keys_load(&nt_conf.mail_keys))
		return HD_ERR_INVALID;
	if (!nt_cidr_list_parse(hd_config_str("HD_MAIL_ALLOW_CIDRS"), &nt_conf.mail_allow)) {
		hd_log_error(
		    "HD_MAIL_ALLOW_CIDRS must be comma-separated CIDRs (at most %d)", NT_CIDR_MAX);
		return HD_ERR_INVALID;
	}
	hd_err err = nt_setting("HD_IMAP_TIMEOUT_MS", 1000, 600000, &nt_conf.imap_timeout_ms);
	if (err == HD_OK)
		err = nt_setting("HD_MAIL_LEASE_MS", 1000, 3600000, &nt_conf.mail_lease_ms);
	return err;
}

static hd_err nt_start(void)
{
	long hours = 0;
	if (!nt_cidr_list_parse(hd_config_str("HD_WEBHOOK_ALLOW_CIDRS"), &nt_conf.allow)) {
		hd_log_error("HD_WEBHOOK_ALLOW_CIDRS must be comma-separated CIDRs (at most %d)",
		    NT_CIDR_MAX);
		return HD_ERR_INVALID;
	}
	nt_conf.allow_http = !hd_config_production();
	hd_err err = nt_setting("HD_WEBHOOK_MAX_FAILURES", 1, 1000, &nt_conf.max_failures);
	if (err == HD_OK)
		err = nt_setting("HD_WEBHOOK_RETRY_BASE_MS", 10, 86400000, &nt_conf.retry_base_ms);
	if (err == HD_OK)
		err = nt_setting("HD_WEBHOOK_RETRY_MAX_MS", 10, 86400000, &nt_conf.retry_max_ms);
	if (err == HD_OK)
		err = nt_setting("HD_WEBHOOK_RETRY_HOURS", 1, 720, &hours);
	if (err == HD_OK)
		err = nt_setting(
		    "HD_WEBHOOK_CONNECT_TIMEOUT_MS", 100, 60000, &nt_conf.connect_timeout_ms);
	if (err == HD_OK)
		err = nt_setting("HD_WEBHOOK_TIMEOUT_MS", 100, 120000, &nt_conf.timeout_ms);
	if (err == HD_OK)
		err = nt_setting("HD_WEBHOOK_PARALLEL", 1, 1000, &nt_conf.parallel);
	nt_conf.retry_window_ms = hours * 3600000L;
	if (err == HD_OK)
		err = nt_mail_settings();
	if (err == HD_OK)
		err = nt_mail_in_settings();
	if (err == HD_OK && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		hd_log_error("libcurl could not start");
		err = HD_ERR_INTERNAL;
	}
	return err;
}

static void nt_stop(void)
{
	curl_global_cleanup();
}

static hd_err nt_worker_init(hd_daemon_worker *dw)
{
	return hd_worker_index(dw->worker) == 0 ? nt_dispatch_start(dw) : HD_OK;
}

static void nt_worker_fini(hd_daemon_worker *dw)
{
	if (hd_worker_index(dw->worker) == 0)
		nt_dispatch_stop();
}

/* `hd-notification --reseal-mail` (docs/operations.md, "Rotating HD_MAIL_KEY"). */
static const hd_daemon_command nt_commands[] = {
	{ "--reseal-mail", NULL, nt_reseal_mail },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	static const hd_daemon_spec spec = {
		.name = "notification",
		.version = "0.1.0",
		.schema = "notification",
		.sql_dir = "services/notification/sql",
		.listen_url_setting = "HD_NOTIFICATION_URL",
		.admin_port_setting = "HD_NOTIFICATION_ADMIN_PORT",
		.use_db = true,
		.use_redis = false,
		.consumers = nt_consumers,
		.ops = nt_ops,
		.commands = nt_commands,
		.constraints = nt_constraints,
		.start = nt_start,
		.stop = nt_stop,
		.worker_init = nt_worker_init,
		.worker_fini = nt_worker_fini,
	};
	return hd_daemon_main(&spec, argc, argv);
}
