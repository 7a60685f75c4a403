/* Mail in's polling (inbox.c has the design): a due mailbox is claimed, its
 * password unsealed, and over IMAP EXAMINEd for its UIDVALIDITY, searched
 * for UIDs past the last taken, and each new message fetched, read
 * (inbound.c) and written with the mailbox's new position in one
 * transaction (mail_taken). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "notification.h"
#include "inbox.h"

#define IB_BATCH 100 /* messages per poll of one mailbox */
#define IB_SEARCH_MAX (4L * 1024 * 1024)
#define IB_URL_MAX 2600

static const char sql_validity[]
    = "SELECT notification.channel_validity($1::uuid, $2::uuid, $3::bigint)";
static const char sql_taken[]
    = "SELECT id, status FROM notification.mail_taken($1::uuid, $2::uuid, $3::bigint,"
      " $4::bigint, $5, $6, $7, $8, $9, $10::bigint, $11::uuid, $12::bool, $13::int)";
static const char sql_polled[]
    = "SELECT notification.channel_polled($1::uuid, $2::uuid, $3::text, $4::bool)";
/* A taken message's files ($5: nt_inbound's parts), in its transaction. */
static const char sql_parts_taken[]
    = "INSERT INTO notification.inbound_parts (tenant_id, mail_id, n, filename, content_type,"
      " data) SELECT m.tenant_id, m.id, p.n, left(p.e ->> 'filename', 255),"
      " left(p.e ->> 'content_type', 127), decode(p.e ->> 'data', 'base64')"
      " FROM notification.inbound_mails m, json_array_elements($5::json) WITH ORDINALITY p(e, n)"
      " WHERE m.tenant_id = $1::uuid AND m.channel_id = $2::uuid AND m.uid_validity = $3::bigint"
      " AND m.uid = $4::bigint AND m.status = 'pending' ON CONFLICT DO NOTHING";
/* One mailbox being polled. */
typedef struct ib_poll {
	char tenant_id[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	char *url, *user, *password, *folder;
	int64_t validity, last_uid;
	int64_t uids[IB_BATCH];
	size_t nuids, next;
} ib_poll;

static void poll_free(ib_poll *p)
{
	if (p == NULL)
		return;
	if (p->password != NULL)
		OPENSSL_cleanse(p->password, strlen(p->password));
	free(p->password);
	free(p->url);
	free(p->user);
	free(p->folder);
	free(p);
}

static void poll_ended_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)res;
	ib_poll *p = arg;
	if (err != HD_OK)
		hd_log_warn("mail in: mailbox %s: the poll's end not recorded (%s)", p->id,
		    hd_strerror(err));
	poll_free(p);
	nt_ib.polling = false;
	if (!nt_ib.stopping) {
		nt_ib_poll_round();
		nt_ib_apply_round();
	}
}

/* Records the poll's end (error NULL: it went well) and frees p. */
static void poll_end(ib_poll *p, const char *error)
{
	bool more = error == NULL && p->nuids == IB_BATCH;
	const char *params[4] = { p->tenant_id, p->id, error, more ? "t" : "f" };
	hd_db_stmt st = { sql_polled, 4, params };
	if (error != NULL)
		hd_log_warn("mail in: mailbox %s: %s", p->id, error);
	hd_metrics_add("hd_notification_mail_polls_total",
	    error == NULL ? "outcome=\"ok\"" : "outcome=\"error\"", 1);
	if (nt_ib.stopping
	    || hd_db_run(nt_ib.dw->db, p->tenant_id, &st, 1, poll_ended_cb, p) != HD_OK) {
		poll_free(p); /* the lease runs out and the mailbox is polled again */
		nt_ib.polling = false;
	}
}

static void poll_fetch_next(ib_poll *p);

static void poll_taken_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ib_poll *p = arg;
	if (nt_ib.stopping) {
		poll_free(p);
		return;
	}
	if (err != HD_OK) {
		poll_end(p, "a message could not be recorded; it is fetched again");
		return;
	}
	if (hd_db_result_ntuples(res, 0) > 0)
		hd_metrics_add("hd_notification_mail_taken_total", "", 1);
	p->next++;
	poll_fetch_next(p);
}

/* Writes one fetched message (raw bytes) and its files with the mailbox's
 * new position, in one transaction. */
static void poll_take(ib_poll *p, int64_t uid, const char *raw, size_t len)
{
	nt_inbound m;
	char v[24], u[24], number[24], lease[24];
	hd_err perr = nt_inbound_parse(raw, len, &m);
	if (perr != HD_OK) {
		memset(&m, 0, sizeof(m)); /* unreadable: taken as automatic, never applied */
		m.automatic = true;
	}
	snprintf(v, sizeof(v), "%lld", (long long)p->validity);
	snprintf(u, sizeof(u), "%lld", (long long)uid);
	snprintf(number, sizeof(number), "%ld", m.thread.number);
	snprintf(lease, sizeof(lease), "%ld", nt_settings_get()->mail_lease_ms);
	const char *params[13] = { p->tenant_id, p->id, v, u, m.message_id, m.from_addr,
		m.from_name, m.subject, m.body != NULL ? m.body : "", number,
		m.thread.ticket_id[0] != '\0' ? m.thread.ticket_id : NULL, m.automatic ? "t" : "f",
		lease };
	const char *pp[5] = { p->tenant_id, p->id, v, u, m.parts };
	hd_db_stmt st[2] = { { sql_taken, 13, params }, { sql_parts_taken, 5, pp } };
	int n = perr == HD_OK && !m.automatic && m.nparts > 0 ? 2 : 1;
	hd_err err = hd_db_run(nt_ib.dw->db, p->tenant_id, st, n, poll_taken_cb, p);
	if (perr == HD_OK)
		nt_inbound_fini(&m);
	if (err != HD_OK)
		poll_end(p, "a message could not be recorded; it is fetched again");
}

static void poll_fetched_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	if (nt_ib.stopping) {
		poll_free(p);
		return;
	}
	if (error == nt_imap_too_large) {
		/* taken as unreadable (ignored), or it would stop the mailbox for good */
		hd_log_warn("mail in: mailbox %s: message UID %lld is over %ld bytes: ignored",
		    p->id, (long long)p->uids[p->next], (long)NT_IN_MESSAGE_MAX);
		poll_take(p, p->uids[p->next], "", 0);
		return;
	}
	if (error != NULL) {
		poll_end(p, error);
		return;
	}
	poll_take(p, p->uids[p->next], data, len);
}

static nt_imap_cmd poll_cmd(const ib_poll *p, const char *url, const char *command, size_t max)
{
	return (nt_imap_cmd) { .url = url,
		.user = p->user,
		.password = p->password,
		.command = command,
		.require_tls = hd_config_production(),
		.timeout_ms = nt_settings_get()->imap_timeout_ms,
		.max_bytes = max };
}

static void poll_fetch_next(ib_poll *p)
{
	char url[IB_URL_MAX];
	if (p->next >= p->nuids) {
		poll_end(p, NULL);
		return;
	}
	if (!nt_imap_message_url(
	        url, sizeof(url), p->url, p->folder, p->validity, p->uids[p->next])) {
		poll_end(p, "the mailbox URL is too long");
		return;
	}
	nt_imap_cmd cmd = poll_cmd(p, url, NULL, NT_IN_MESSAGE_MAX);
	if (nt_http_imap(nt_ib.http, &cmd, poll_fetched_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP fetch");
}

static void poll_searched_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	if (nt_ib.stopping) {
		poll_free(p);
		return;
	}
	if (error != NULL) {
		poll_end(p, error);
		return;
	}
	p->nuids = nt_imap_search_uids(data, len, p->last_uid, p->uids, IB_BATCH);
	p->next = 0;
	poll_fetch_next(p);
}

static void poll_positioned_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ib_poll *p = arg;
	char url[IB_URL_MAX], command[64];
	const char *last = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (nt_ib.stopping) {
		poll_free(p);
		return;
	}
	if (last == NULL) {
		poll_end(p, "the mailbox's position could not be read");
		return;
	}
	p->last_uid = strtoll(last, NULL, 10);
	snprintf(command, sizeof(command), "UID SEARCH UID %lld:*", (long long)p->last_uid + 1);
	nt_imap_cmd cmd = poll_cmd(p, url, command, IB_SEARCH_MAX);
	if (!nt_imap_message_url(url, sizeof(url), p->url, p->folder, 0, 0)
	    || nt_http_imap(nt_ib.http, &cmd, poll_searched_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP search");
}

static void poll_examined_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	char v[24];
	if (nt_ib.stopping) {
		poll_free(p);
		return;
	}
	if (error != NULL || !nt_imap_uidvalidity(data, len, &p->validity)) {
		poll_end(
		    p, error != NULL ? error : "the server gave no UIDVALIDITY for the folder");
		return;
	}
	snprintf(v, sizeof(v), "%lld", (long long)p->validity);
	const char *params[3] = { p->tenant_id, p->id, v };
	hd_db_stmt st = { sql_validity, 3, params };
	if (hd_db_run(nt_ib.dw->db, p->tenant_id, &st, 1, poll_positioned_cb, p) != HD_OK)
		poll_end(p, "the mailbox's position could not be read");
}

/* Starts polling the claimed mailbox of row 0. */
static void poll_start(const hd_db_result *res)
{
	const nt_settings *s = nt_settings_get();
	char aad[2 * HD_UUID_STRLEN + 2], command[NT_HOST_MAX];
	ib_poll *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		nt_ib.polling = false;
		return;
	}
	nt_ib_copy_value(p->tenant_id, sizeof(p->tenant_id), res, 0, 0);
	nt_ib_copy_value(p->id, sizeof(p->id), res, 0, 1);
	p->url = nt_ib_dup_value(res, 0, 2);
	p->user = nt_ib_dup_value(res, 0, 3);
	p->folder = nt_ib_dup_value(res, 0, 5);
	snprintf(aad, sizeof(aad), "%s/%s", p->tenant_id, p->id);
	bool stale = false; /* sealed with HD_MAIL_KEY_PREVIOUS: --reseal-mail's to do */
	p->password = nt_unseal_keys(&s->mail_keys, aad, hd_db_result_value(res, 0, 0, 4), &stale);
	if (p->url == NULL || p->user == NULL || p->folder == NULL || p->password == NULL) {
		poll_end(p,
		    "the password cannot be read (HD_MAIL_KEY missing or changed without"
		    " HD_MAIL_KEY_PREVIOUS: set it again)");
		return;
	}
	snprintf(command, sizeof(command), "EXAMINE \"%s\"", p->folder);
	nt_imap_cmd cmd = poll_cmd(p, p->url, command, IB_SEARCH_MAX);
	if (nt_http_imap(nt_ib.http, &cmd, poll_examined_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP session");
}

static void poll_claimed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)arg;
	if (nt_ib.stopping)
		return;
	if (err != HD_OK)
		hd_log_warn("mail in: mailboxes not claimed (%s)", hd_strerror(err));
	if (err != HD_OK || hd_db_result_ntuples(res, 0) == 0) {
		nt_ib.polling = false;
		return;
	}
	poll_start(res);
}

void nt_ib_poll_round(void)
{
	if (nt_ib.polling || nt_ib.stopping)
		return;
	nt_ib.polling = nt_claim(nt_ib.dw, NT_QUEUE_CHANNELS, 1, nt_settings_get()->mail_lease_ms,
	                    poll_claimed_cb, NULL)
	    == HD_OK;
}
