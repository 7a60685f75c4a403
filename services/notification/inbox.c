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
 * others (leases). */
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/buf.h"
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/peer.h"
#include "hd/uuid.h"
#include "notification.h"

#define IB_TICK_MS 1000
#define IB_BATCH 100 /* messages per poll of one mailbox */
#define IB_ATTEMPTS_MAX 8
#define IB_SEARCH_MAX (4L * 1024 * 1024)
#define IB_SUBJECT_MAX 200 /* characters: hd-ticket's limit */
#define IB_URL_MAX 2600
#define IB_FILES_MAX 10 /* attachment_ids of one ticket or comment (hd-ticket's limit) */
#define IB_NOTES_MAX 4000 /* bytes of "not kept" lines: the text stays under 64 KiB */
#define IB_NOTE_NAME_MAX 80 /* bytes of a file name in such a line */

static const char sql_validity[]
    = "SELECT notification.channel_validity($1::uuid, $2::uuid, $3::bigint)";
static const char sql_taken[]
    = "SELECT id, status FROM notification.mail_taken($1::uuid, $2::uuid, $3::bigint,"
      " $4::bigint, $5, $6, $7, $8, $9, $10::bigint, $11::uuid, $12::bool, $13::int)";
static const char sql_polled[]
    = "SELECT notification.channel_polled($1::uuid, $2::uuid, $3::text, $4::bool)";
static const char sql_context[]
    = "SELECT user_id, user_role, user_active, ticket_id"
      " FROM notification.inbound_context($1::uuid, $2, $3::bigint, $4::uuid)";
static const char sql_done[] = "SELECT notification.inbound_done($1::uuid, $2::uuid, $3::text,"
                               " $4::uuid, $5::uuid, $6::text, $7::bigint)";
/* A taken message's files ($5: nt_inbound's parts), in its transaction. */
static const char sql_parts_taken[]
    = "INSERT INTO notification.inbound_parts (tenant_id, mail_id, n, filename, content_type,"
      " data) SELECT m.tenant_id, m.id, p.n, left(p.e ->> 'filename', 255),"
      " left(p.e ->> 'content_type', 127), decode(p.e ->> 'data', 'base64')"
      " FROM notification.inbound_mails m, json_array_elements($5::json) WITH ORDINALITY p(e, n)"
      " WHERE m.tenant_id = $1::uuid AND m.channel_id = $2::uuid AND m.uid_validity = $3::bigint"
      " AND m.uid = $4::bigint AND m.status = 'pending' ON CONFLICT DO NOTHING";
/* The files of message $2, base64 as attachments.create takes them. */
static const char sql_parts_of[]
    = "SELECT COALESCE(json_agg(json_build_object('n', n, 'filename', filename, 'content_type',"
      " content_type, 'size', octet_length(data), 'data',"
      " translate(encode(data, 'base64'), E'\\n', '')) ORDER BY n), '[]')::text"
      " FROM notification.inbound_parts WHERE tenant_id = $1::uuid AND mail_id = $2::uuid";
/* Once the message's outcome is final ($3 not NULL), its files go. */
static const char sql_parts_done[]
    = "DELETE FROM notification.inbound_parts WHERE tenant_id = $1::uuid AND mail_id = $2::uuid"
      " AND $3::text IS NOT NULL";

/* One mailbox being polled. */
typedef struct ib_poll {
	char tenant_id[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	char *url, *user, *password, *folder;
	int64_t validity, last_uid;
	int64_t uids[IB_BATCH];
	size_t nuids, next;
} ib_poll;

/* One taken message being applied, with what inbound_context found. */
typedef struct ib_mail {
	char tenant_id[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	char created_by[HD_UUID_STRLEN + 1], thread_ticket[HD_UUID_STRLEN + 1];
	char *from_addr, *from_name, *subject, *body;
	char number[24];
	int attempts;
	char user_id[HD_UUID_STRLEN + 1], role[32];
	bool user_active;
	char ticket_id[HD_UUID_STRLEN + 1];
	char key[64];
	cJSON *parts; /* its files [{n, filename, content_type, size, data}] */
	int part_next, nids;
	char ids[IB_FILES_MAX][HD_UUID_STRLEN + 1]; /* the files uploaded */
	hd_buf notes; /* a line per file left out */
} ib_mail;

/* Worker 0's thread only. */
static struct {
	hd_daemon_worker *dw;
	nt_http *http;
	struct event *timer;
	hd_rpc_client *auth, *ticket;
	bool stopping, polling, applying;
	long max_upload; /* HD_MAX_UPLOAD_BYTES: larger files are left out */
} ib;

static void poll_round(void);
static void apply_round(void);

static char *dup_value(const hd_db_result *res, int row, int col)
{
	const char *v = hd_db_result_value(res, 0, row, col);
	return strdup(v != NULL ? v : "");
}

static void copy_value(char *dst, size_t size, const hd_db_result *res, int row, int col)
{
	const char *v = hd_db_result_value(res, 0, row, col);
	snprintf(dst, size, "%s", v != NULL ? v : "");
}

/* ---- polling ---- */

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
	ib.polling = false;
	if (!ib.stopping) {
		poll_round();
		apply_round();
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
	if (ib.stopping || hd_db_run(ib.dw->db, p->tenant_id, &st, 1, poll_ended_cb, p) != HD_OK) {
		poll_free(p); /* the lease runs out and the mailbox is polled again */
		ib.polling = false;
	}
}

static void poll_fetch_next(ib_poll *p);

static void poll_taken_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ib_poll *p = arg;
	if (ib.stopping) {
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
	hd_err err = hd_db_run(ib.dw->db, p->tenant_id, st, n, poll_taken_cb, p);
	if (perr == HD_OK)
		nt_inbound_fini(&m);
	if (err != HD_OK)
		poll_end(p, "a message could not be recorded; it is fetched again");
}

static void poll_fetched_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	if (ib.stopping) {
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
	if (nt_http_imap(ib.http, &cmd, poll_fetched_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP fetch");
}

static void poll_searched_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	if (ib.stopping) {
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
	if (ib.stopping) {
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
	    || nt_http_imap(ib.http, &cmd, poll_searched_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP search");
}

static void poll_examined_cb(const char *error, const char *data, size_t len, void *arg)
{
	ib_poll *p = arg;
	char v[24];
	if (ib.stopping) {
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
	if (hd_db_run(ib.dw->db, p->tenant_id, &st, 1, poll_positioned_cb, p) != HD_OK)
		poll_end(p, "the mailbox's position could not be read");
}

/* Starts polling the claimed mailbox of row 0. */
static void poll_start(const hd_db_result *res)
{
	const nt_settings *s = nt_settings_get();
	char aad[2 * HD_UUID_STRLEN + 2], command[NT_HOST_MAX];
	ib_poll *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		ib.polling = false;
		return;
	}
	copy_value(p->tenant_id, sizeof(p->tenant_id), res, 0, 0);
	copy_value(p->id, sizeof(p->id), res, 0, 1);
	p->url = dup_value(res, 0, 2);
	p->user = dup_value(res, 0, 3);
	p->folder = dup_value(res, 0, 5);
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
	if (nt_http_imap(ib.http, &cmd, poll_examined_cb, p) != HD_OK)
		poll_end(p, "could not start the IMAP session");
}

static void poll_claimed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)arg;
	if (ib.stopping)
		return;
	if (err != HD_OK)
		hd_log_warn("mail in: mailboxes not claimed (%s)", hd_strerror(err));
	if (err != HD_OK || hd_db_result_ntuples(res, 0) == 0) {
		ib.polling = false;
		return;
	}
	poll_start(res);
}

static void poll_round(void)
{
	if (ib.polling || ib.stopping)
		return;
	ib.polling = nt_claim(ib.dw, NT_QUEUE_CHANNELS, 1, nt_settings_get()->mail_lease_ms,
	                 poll_claimed_cb, NULL)
	    == HD_OK;
}

/* ---- applying ---- */

static void mail_free(ib_mail *m)
{
	if (m == NULL)
		return;
	free(m->from_addr);
	free(m->from_name);
	free(m->subject);
	free(m->body);
	cJSON_Delete(m->parts);
	hd_buf_free(&m->notes);
	free(m);
}

static void mail_recorded_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)res;
	ib_mail *m = arg;
	if (err != HD_OK)
		hd_log_warn("mail in: message %s: outcome not recorded (%s); applied again after "
		            "its lease",
		    m->id, hd_strerror(err));
	mail_free(m);
	ib.applying = false;
	if (!ib.stopping)
		apply_round();
}

/* Records the outcome: status applied/ignored/failed, or NULL to retry
 * (failed once IB_ATTEMPTS_MAX attempts are used). */
static void mail_done(
    ib_mail *m, const char *status, const char *ticket, const char *comment, const char *error)
{
	const nt_settings *s = nt_settings_get();
	char delay[24], labels[48];
	uint32_t rnd = (uint32_t)time(NULL);
	if (status == NULL && m->attempts + 1 >= IB_ATTEMPTS_MAX)
		status = "failed";
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	snprintf(delay, sizeof(delay), "%lld",
	    (long long)nt_backoff_ms(m->attempts + 1, s->retry_base_ms, s->retry_max_ms, rnd));
	snprintf(labels, sizeof(labels), "outcome=\"%s\"", status != NULL ? status : "retry");
	hd_metrics_add("hd_notification_mail_applied_total", labels, 1);
	if (error != NULL)
		hd_log_warn("mail in: message %s: %s", m->id, error);
	const char *params[7] = { m->tenant_id, m->id, status, ticket, comment, error, delay };
	hd_db_stmt st[2] = { { sql_done, 7, params }, { sql_parts_done, 3, params } };
	if (ib.stopping
	    || hd_db_run(ib.dw->db, m->tenant_id, st, 2, mail_recorded_cb, m) != HD_OK) {
		mail_free(m); /* the lease runs out and it is applied again (same keys) */
		ib.applying = false;
	}
}

/* The "id" of a JSON reply body, copied into out; false when absent. */
static bool reply_id(const char *body, char out[HD_UUID_STRLEN + 1])
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	bool ok = cJSON_IsString(id) && hd_uuid_valid(id->valuestring);
	if (ok)
		snprintf(out, HD_UUID_STRLEN + 1, "%s", id->valuestring);
	cJSON_Delete(j);
	return ok;
}

/* A peer's failure: retried when it may pass (no answer, 5xx, 409, 429). */
static void mail_failed(ib_mail *m, hd_err err, int status, const char *what)
{
	char why[160];
	if (err != HD_OK)
		snprintf(why, sizeof(why), "%s: %s", what, hd_strerror(err));
	else
		snprintf(why, sizeof(why), "%s: answered %d", what, status);
	bool retry = err != HD_OK || status >= 500 || status == 409 || status == 429;
	mail_done(m, retry ? NULL : "failed", NULL, NULL, why);
}

/* Sends op (path id) with body (deleted here; NULL when building it
 * failed) as user/role, keyed by the message and key_kind; false when it
 * could not be sent. */
static bool mail_call(ib_mail *m, hd_rpc_client *c, const char *op, const char *id,
    const char *user, const char *role, const char *key_kind, cJSON *body, hd_peer_cb cb)
{
	char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	snprintf(m->key, sizeof(m->key), "mail-%s-%s", key_kind, m->id);
	hd_peer_actor as = { .tenant_id = m->tenant_id,
		.user_id = user,
		.role = role,
		.request_id = m->key,
		.idempotency_key = m->key };
	hd_err err = text != NULL ? hd_peer_call_as(c, ib.dw->worker, &as, op, id, text, 0, cb, m)
	                          : HD_ERR_NOMEM;
	free(text);
	return err == HD_OK;
}

/* body with the string field key = value; NULL (body deleted) on failure. */
static cJSON *with_string(cJSON *body, const char *key, const char *value)
{
	if (body != NULL && cJSON_AddStringToObject(body, key, value) == NULL) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static void mail_ticket_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	char ticket[HD_UUID_STRLEN + 1];
	if (ib.stopping)
		mail_free(m);
	else if (err == HD_OK && (status == 201 || status == 200) && reply_id(body, ticket))
		mail_done(m, "applied", ticket, NULL, NULL);
	else
		mail_failed(m, err, status, "hd-ticket refused the new ticket");
}

/* The subject cut to hd-ticket's limit in characters; "(no subject)" when empty. */
static void mail_subject(const char *subject, char *out, size_t size)
{
	size_t chars = 0, i = 0;
	while (subject[i] != '\0' && chars < IB_SUBJECT_MAX && i < size - 4) {
		i++;
		while (((unsigned char)subject[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	snprintf(out, size, "%.*s", (int)i, subject);
	if (out[strspn(out, " ")] == '\0')
		snprintf(out, size, "(no subject)");
}

/* body with the text of m (its body, "(no text)" when empty, then the
 * lines of the files left out) under key, and attachment_ids when files
 * were uploaded; NULL (body deleted) on failure. */
static cJSON *with_text_and_files(cJSON *body, const char *key, const ib_mail *m)
{
	hd_buf text = { 0 };
	hd_buf_puts(&text, m->body[0] != '\0' || m->notes.len > 0 ? m->body : "(no text)");
	if (m->notes.len > 0)
		hd_buf_put(&text, m->notes.data, m->notes.len);
	body = text.failed ? (cJSON_Delete(body), NULL) : with_string(body, key, text.data);
	hd_buf_free(&text);
	cJSON *ids
	    = body != NULL && m->nids > 0 ? cJSON_AddArrayToObject(body, "attachment_ids") : NULL;
	for (int i = 0; ids != NULL && i < m->nids; i++)
		if (!cJSON_AddItemToArray(ids, cJSON_CreateString(m->ids[i])))
			ids = NULL;
	if (body != NULL && m->nids > 0 && ids == NULL) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

static void mail_open_ticket(ib_mail *m)
{
	char subject[4 * IB_SUBJECT_MAX + 4];
	mail_subject(m->subject, subject, sizeof(subject));
	cJSON *body = with_string(cJSON_CreateObject(), "subject", subject);
	body = body != NULL ? with_text_and_files(body, "description", m) : NULL;
	if (!mail_call(m, ib.ticket, "tickets.create", NULL, m->user_id, m->role, "t", body,
	        mail_ticket_cb))
		mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the new ticket could not be sent");
}

static void mail_comment_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	char comment[HD_UUID_STRLEN + 1];
	if (ib.stopping)
		mail_free(m);
	else if (err == HD_OK && (status == 201 || status == 200) && reply_id(body, comment))
		mail_done(m, "applied", m->ticket_id, comment, NULL);
	else if (err == HD_OK && (status == 404 || status == 403))
		mail_open_ticket(m); /* not theirs to answer after all: a ticket of their own */
	else
		mail_failed(m, err, status, "hd-ticket refused the comment");
}

static void mail_add_comment(ib_mail *m)
{
	cJSON *body = cJSON_CreateObject();
	body = body != NULL ? with_text_and_files(body, "body", m) : NULL;
	if (body != NULL && cJSON_AddBoolToObject(body, "public", 1) == NULL) {
		cJSON_Delete(body);
		body = NULL;
	}
	if (!mail_call(m, ib.ticket, "comments.create", m->ticket_id, m->user_id, m->role, "c",
	        body, mail_comment_cb))
		mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the comment could not be sent");
}

/* With the files uploaded: a comment on the ticket the reply names
 * (hd-ticket decides whether the sender may: customers only on their own),
 * or a ticket. */
static void mail_write(ib_mail *m)
{
	if (m->ticket_id[0] != '\0')
		mail_add_comment(m);
	else
		mail_open_ticket(m);
}

/* A line in the text for file p, left out because of why. */
static void mail_note(ib_mail *m, const cJSON *p, const char *why)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "filename"));
	size_t n = name != NULL ? strlen(name) : 0;
	if (n > IB_NOTE_NAME_MAX) /* cut on a character boundary */
		for (n = IB_NOTE_NAME_MAX; n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80; n--)
			;
	if (m->notes.len > IB_NOTES_MAX)
		return;
	hd_buf_puts(&m->notes, "\n\n[attachment \"");
	hd_buf_put(&m->notes, name != NULL ? name : "", n);
	hd_buf_puts(&m->notes, "\" not kept: ");
	hd_buf_puts(&m->notes, why);
	hd_buf_puts(&m->notes, "]");
}

static void mail_upload_next(ib_mail *m);

static void mail_file_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	const cJSON *p = cJSON_GetArrayItem(m->parts, m->part_next);
	if (ib.stopping) {
		mail_free(m);
		return;
	}
	if (err == HD_OK && status == 201 && reply_id(body, m->ids[m->nids]))
		m->nids++;
	else if (err == HD_OK && (status == 413 || status == 415 || status == 422))
		mail_note(m, p,
		    status == 413       ? "too large"
		        : status == 415 ? "a type the helpdesk does not accept"
		                        : "its content is not of its declared type");
	else {
		mail_failed(m, err, status, "hd-ticket refused an attachment");
		return;
	}
	m->part_next++;
	mail_upload_next(m);
}

/* Uploads the next file as the sender (attachments.create), or writes the
 * message when none is left. */
static void mail_upload_next(ib_mail *m)
{
	for (; m->part_next < cJSON_GetArraySize(m->parts); m->part_next++) {
		const cJSON *p = cJSON_GetArrayItem(m->parts, m->part_next);
		const char *name
		    = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "filename"));
		const char *type
		    = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "content_type"));
		const char *data
		    = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "data"));
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "size");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "n");
		char kind[16];
		if (name == NULL || type == NULL || data == NULL || !cJSON_IsNumber(size)
		    || !cJSON_IsNumber(n))
			continue;
		if (m->nids == IB_FILES_MAX) {
			mail_note(m, p, "more than 10 files in one message");
			continue;
		}
		if (size->valuedouble > (double)ib.max_upload) {
			mail_note(m, p, "too large");
			continue;
		}
		cJSON *body
		    = with_string(cJSON_CreateObject(), "filename", name[0] ? name : "attachment");
		body = with_string(
		    body, "content_type", type[0] ? type : "application/octet-stream");
		if (body != NULL
		    && !cJSON_AddItemToObject(body, "data", cJSON_CreateStringReference(data))) {
			cJSON_Delete(body);
			body = NULL;
		}
		snprintf(kind, sizeof kind, "a%d", n->valueint);
		if (!mail_call(m, ib.ticket, "attachments.create", NULL, m->user_id, m->role, kind,
		        body, mail_file_cb))
			mail_failed(m, HD_ERR_UNAVAILABLE, 0, "an attachment could not be sent");
		return;
	}
	mail_write(m);
}

/* With the sender's account known: the files, then the ticket or comment. */
static void mail_apply(ib_mail *m)
{
	if (!m->user_active)
		mail_done(m, "ignored", NULL, NULL, "the sender's account is turned off");
	else
		mail_upload_next(m);
}

static void mail_user_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	if (ib.stopping) {
		mail_free(m);
	} else if (err == HD_OK && (status == 201 || status == 200) && reply_id(body, m->user_id)) {
		snprintf(m->role, sizeof(m->role), "customer");
		m->user_active = true;
		mail_apply(m);
	} else
		mail_failed(m, err, status, "hd-auth refused the sender's account");
}

/* A customer account for an unknown sender, made as the mailbox's creator. */
static void mail_create_user(ib_mail *m)
{
	unsigned char rnd[24];
	char password[2 * sizeof(rnd) + 1] = "";
	bool ok = RAND_bytes(rnd, sizeof(rnd)) == 1;
	for (size_t i = 0; ok && i < sizeof(rnd); i++)
		snprintf(password + 2 * i, 3, "%02x", rnd[i]);
	cJSON *body = ok ? with_string(cJSON_CreateObject(), "email", m->from_addr) : NULL;
	body = with_string(body, "name", m->from_name[0] != '\0' ? m->from_name : m->from_addr);
	body = with_string(body, "role", "customer");
	body = with_string(body, "password", password);
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (!mail_call(
	        m, ib.auth, "users.create", NULL, m->created_by, "admin", "u", body, mail_user_cb))
		mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the sender's account could not be sent");
}

static void mail_context_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ib_mail *m = arg;
	if (ib.stopping) {
		mail_free(m);
		return;
	}
	if (err != HD_OK || hd_db_result_ntuples(res, 0) != 1) {
		mail_failed(m, err != HD_OK ? err : HD_ERR_INTERNAL, 0,
		    "the sender could not be looked up");
		return;
	}
	copy_value(m->user_id, sizeof(m->user_id), res, 0, 0);
	copy_value(m->role, sizeof(m->role), res, 0, 1);
	const char *active = hd_db_result_value(res, 0, 0, 2);
	m->user_active = active != NULL && strcmp(active, "t") == 0;
	copy_value(m->ticket_id, sizeof(m->ticket_id), res, 0, 3);
	m->parts = cJSON_Parse(hd_db_result_value(res, 1, 0, 0));
	if (!cJSON_IsArray(m->parts)) {
		mail_failed(m, HD_ERR_INTERNAL, 0, "the message's files could not be read");
		return;
	}
	if (m->user_id[0] == '\0')
		mail_create_user(m);
	else
		mail_apply(m);
}

static void mail_claimed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)arg;
	if (ib.stopping)
		return;
	if (err != HD_OK)
		hd_log_warn("mail in: messages not claimed (%s)", hd_strerror(err));
	ib_mail *m
	    = err == HD_OK && hd_db_result_ntuples(res, 0) > 0 ? calloc(1, sizeof(*m)) : NULL;
	if (m == NULL) {
		ib.applying = false;
		return;
	}
	copy_value(m->tenant_id, sizeof(m->tenant_id), res, 0, 0);
	copy_value(m->id, sizeof(m->id), res, 0, 1);
	m->from_addr = dup_value(res, 0, 2);
	m->from_name = dup_value(res, 0, 3);
	m->subject = dup_value(res, 0, 4);
	m->body = dup_value(res, 0, 5);
	copy_value(m->number, sizeof(m->number), res, 0, 6);
	copy_value(m->thread_ticket, sizeof(m->thread_ticket), res, 0, 7);
	copy_value(m->created_by, sizeof(m->created_by), res, 0, 8);
	const char *attempts = hd_db_result_value(res, 0, 0, 9);
	m->attempts = attempts != NULL ? atoi(attempts) : 0;
	if (m->from_addr == NULL || m->from_name == NULL || m->subject == NULL || m->body == NULL) {
		mail_free(m);
		ib.applying = false;
		return;
	}
	const char *params[4] = { m->tenant_id, m->from_addr, m->number,
		m->thread_ticket[0] != '\0' ? m->thread_ticket : NULL };
	const char *pp[2] = { m->tenant_id, m->id };
	hd_db_stmt st[2] = { { sql_context, 4, params }, { sql_parts_of, 2, pp } };
	if (hd_db_run(ib.dw->db, m->tenant_id, st, 2, mail_context_cb, m) != HD_OK)
		mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the sender could not be looked up");
}

static void apply_round(void)
{
	if (ib.applying || ib.stopping)
		return;
	ib.applying = nt_claim(ib.dw, NT_QUEUE_INBOUND, 1, nt_settings_get()->mail_lease_ms,
	                  mail_claimed_cb, NULL)
	    == HD_OK;
}

/* ---- start and stop ---- */

static void ib_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	poll_round();
	apply_round();
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
	ib.stopping = false;
	ib.polling = ib.applying = false;
	ib.dw = dw;
	ib.http = http;
	if (hd_config_int("HD_MAX_UPLOAD_BYTES", 1, 1L << 30, &ib.max_upload) != HD_OK)
		ib.max_upload = 25L << 20;
	ib.timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, ib_tick_cb, NULL);
	if (ib.timer == NULL || event_add(ib.timer, &tv) != 0
	    || hd_rpc_client_open_peer(&ib.auth, hd_config_str("HD_AUTH_URL"), "hd-auth") != HD_OK
	    || hd_rpc_client_open_peer(&ib.ticket, hd_config_str("HD_TICKET_URL"), "hd-ticket")
	        != HD_OK) {
		hd_log_error("mail in: setup failed");
		nt_inbox_stop();
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

void nt_inbox_stop(void)
{
	ib.stopping = true;
	if (ib.timer != NULL)
		event_free(ib.timer);
	ib.timer = NULL;
	hd_rpc_client_close(ib.auth);
	hd_rpc_client_close(ib.ticket);
	ib.auth = ib.ticket = NULL;
	ib.dw = NULL;
	ib.http = NULL;
}
