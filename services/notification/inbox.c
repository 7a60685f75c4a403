/* Mail in, on worker 0's loop next to the dispatcher (docs/architecture.md,
 * "Mail in"). Two steps, each a row in SQL (sql/005_mail_in.sql):
 *
 * Polling: a due mailbox is claimed (channels_claim leases it), its
 * password unsealed (seal.c), and over libcurl's IMAP on the dispatcher's
 * multi handle (http.c) it is EXAMINEd for its UIDVALIDITY (a new one
 * starts the mailbox's position afresh), searched for UIDs past the last
 * taken (UID SEARCH UID n:*), and each new message fetched by UID, read
 * (inbound.c) and written with the mailbox's new position in one
 * transaction (mail_taken). A restart anywhere resumes after the last
 * message written: none is lost or taken twice; a Message-ID seen before in
 * the tenant is not taken again either.
 *
 * Applying: a taken message is claimed (inbound_claim), its sender's
 * account and the ticket it answers looked up (inbound_context), and it
 * becomes, through hd-auth and hd-ticket (hd_peer_call_as, acting as the
 * sender):
 *   - a public comment on the ticket it answers, when hd-ticket lets the
 *     sender comment there (its requester, or staff);
 *   - else a new ticket whose requester is the sender.
 * An unknown sender first gets a customer account, made as the mailbox's
 * creator (an admin) with a random password nobody knows: they get in once
 * staff invite them (POST /v1/users/{id}/invitations) or an admin sets one.
 * The message's files (sql/006_mail_parts.sql, written with the message)
 * are first uploaded as the sender (attachments.create), one at a time;
 * the ids go with the ticket or comment (attachment_ids), and a file
 * hd-ticket refuses (413, 415, 422), one over HD_MAX_UPLOAD_BYTES, or past
 * the tenth is left out with a line in the text saying so.
 * Every call carries an Idempotency-Key derived from the message's row (and
 * a file's number), so a restart between the call and recording its
 * outcome (inbound_done) repeats the call and gets the first answer again:
 * applied once, each file uploaded once.
 * Automatic mail (auto-replies, bounces, bulk: inbound_text.c) is recorded
 * as ignored and never applied, so nothing answers it.
 * One mailbox and one message at a time per replica; other replicas take
 * others (leases).
 *
 * Files: this one starts, ticks and stops both steps and holds their state;
 * inbox_poll.c polls; inbox_apply.c claims, looks up the sender, calls the
 * peers and records the outcome; inbox_files.c uploads the files;
 * inbox_write.c writes the ticket or comment (inbox.h joins them). */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "notification.h"
#include "inbox.h"

#define IB_TICK_MS 1000

nt_ib_state nt_ib;

char *nt_ib_dup_value(const hd_db_result *res, int row, int col)
{
	const char *v = hd_db_result_value(res, 0, row, col);
	return strdup(v != NULL ? v : "");
}

void nt_ib_copy_value(char *dst, size_t size, const hd_db_result *res, int row, int col)
{
	const char *v = hd_db_result_value(res, 0, row, col);
	snprintf(dst, size, "%s", v != NULL ? v : "");
}

static void ib_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	nt_ib_poll_round();
	nt_ib_apply_round();
}

hd_err nt_inbox_start(hd_daemon_worker *dw, nt_http *http)
{
	struct timeval tv = { IB_TICK_MS / 1000, (IB_TICK_MS % 1000) * 1000 };
	hd_metrics_describe("hd_notification_mail_polls_total", "counter",
	    "mail in: mailbox polls by outcome (ok, error)");
	hd_metrics_describe("hd_notification_mail_taken_total", "counter",
	    "mail in: messages taken from mailboxes");
	hd_metrics_describe("hd_notification_mail_applied_total", "counter",
	    "mail in: messages applied by outcome (applied, ignored, failed, retry)");
	nt_ib.stopping = false;
	nt_ib.polling = nt_ib.applying = false;
	nt_ib.dw = dw;
	nt_ib.http = http;
	if (hd_config_int("HD_MAX_UPLOAD_BYTES", 1, 1L << 30, &nt_ib.max_upload) != HD_OK)
		nt_ib.max_upload = 25L << 20;
	nt_ib.timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, ib_tick_cb, NULL);
	if (nt_ib.timer == NULL || event_add(nt_ib.timer, &tv) != 0
	    || hd_rpc_client_open_peer(&nt_ib.auth, hd_config_str("HD_AUTH_URL"), "hd-auth")
	        != HD_OK
	    || hd_rpc_client_open_peer(&nt_ib.ticket, hd_config_str("HD_TICKET_URL"), "hd-ticket")
	        != HD_OK) {
		hd_log_error("mail in: setup failed");
		nt_inbox_stop();
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

void nt_inbox_stop(void)
{
	nt_ib.stopping = true;
	if (nt_ib.timer != NULL)
		event_free(nt_ib.timer);
	nt_ib.timer = NULL;
	hd_rpc_client_close(nt_ib.auth);
	hd_rpc_client_close(nt_ib.ticket);
	nt_ib.auth = nt_ib.ticket = NULL;
	nt_ib.dw = NULL;
	nt_ib.http = NULL;
}
