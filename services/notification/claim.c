/* The one claim of hd-notification's queues (sql/R_claims.sql): webhook
 * deliveries and mails (dispatch.c), mailboxes to poll and taken messages
 * to apply (inbox.c) are taken across tenants, leased, by the same call. */
#include <stdio.h>
#include "notification.h"

static const char *const nt_claim_sql[NT_QUEUE__COUNT] = {
	[NT_QUEUE_DELIVERIES] = "SELECT * FROM notification.deliveries_claim($1::int, $2::int)",
	[NT_QUEUE_EMAILS] = "SELECT * FROM notification.emails_claim($1::int, $2::int)",
	[NT_QUEUE_CHANNELS] = "SELECT * FROM notification.channels_claim($1::int, $2::int)",
	[NT_QUEUE_INBOUND] = "SELECT * FROM notification.inbound_claim($1::int, $2::int)",
};

hd_err nt_claim(hd_daemon_worker *dw, nt_queue q, long limit, long lease_ms, hd_db_cb cb, void *arg)
{
	char limit_text[24], lease_text[24];
	if ((unsigned)q >= NT_QUEUE__COUNT || limit < 1)
		return HD_ERR_INVALID;
	snprintf(limit_text, sizeof(limit_text), "%ld", limit);
	snprintf(lease_text, sizeof(lease_text), "%ld", lease_ms);
	const char *params[2] = { limit_text, lease_text };
	hd_db_stmt st = { nt_claim_sql[q], 2, params };
	return hd_db_run(dw->db, NULL, &st, 1, cb, arg);
}
