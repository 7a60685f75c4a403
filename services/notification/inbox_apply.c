/* Mail in's applying (inbox.c has the design): a taken message is claimed,
 * its sender's account and the ticket it answers looked up, an unknown
 * sender given a customer account, then its files (inbox_files.c) and the
 * ticket or comment it becomes (inbox_write.c); the outcome is recorded
 * (inbound_done) with a retry after a backoff when it may pass. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "notification.h"
#include "inbox.h"

#define IB_ATTEMPTS_MAX 8

static const char sql_context[]
    = "SELECT user_id, user_role, user_active, ticket_id"
      " FROM notification.inbound_context($1::uuid, $2, $3::bigint, $4::uuid)";
static const char sql_done[] = "SELECT notification.inbound_done($1::uuid, $2::uuid, $3::text,"
                               " $4::uuid, $5::uuid, $6::text, $7::bigint)";
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

void nt_ib_mail_free(ib_mail *m)
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
	nt_ib_mail_free(m);
	nt_ib.applying = false;
	if (!nt_ib.stopping)
		nt_ib_apply_round();
}

/* Records the outcome: status applied/ignored/failed, or NULL to retry
 * (failed once IB_ATTEMPTS_MAX attempts are used). */
void nt_ib_mail_done(
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
	if (nt_ib.stopping
	    || hd_db_run(nt_ib.dw->db, m->tenant_id, st, 2, mail_recorded_cb, m) != HD_OK) {
		nt_ib_mail_free(m); /* the lease runs out and it is applied again (same keys) */
		nt_ib.applying = false;
	}
}

/* The "id" of a JSON reply body, copied into out; false when absent. */
bool nt_ib_reply_id(const char *body, char out[HD_UUID_STRLEN + 1])
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
void nt_ib_mail_failed(ib_mail *m, hd_err err, int status, const char *what)
{
	char why[160];
	if (err != HD_OK)
		snprintf(why, sizeof(why), "%s: %s", what, hd_strerror(err));
	else
		snprintf(why, sizeof(why), "%s: answered %d", what, status);
	bool retry = err != HD_OK || status >= 500 || status == 409 || status == 429;
	nt_ib_mail_done(m, retry ? NULL : "failed", NULL, NULL, why);
}

/* Sends op (path id) with body (deleted here; NULL when building it
 * failed) as user/role, keyed by the message and key_kind; false when it
 * could not be sent. */
bool nt_ib_mail_call(ib_mail *m, hd_rpc_client *c, const char *op, const char *id, const char *user,
    const char *role, const char *key_kind, cJSON *body, hd_peer_cb cb)
{
	char *text = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
	cJSON_Delete(body);
	snprintf(m->key, sizeof(m->key), "mail-%s-%s", key_kind, m->id);
	hd_peer_actor as = { .tenant_id = m->tenant_id,
		.user_id = user,
		.role = role,
		.request_id = m->key,
		.idempotency_key = m->key };
	hd_err err = text != NULL
	    ? hd_peer_call_as(c, nt_ib.dw->worker, &as, op, id, text, 0, cb, m)
	    : HD_ERR_NOMEM;
	free(text);
	return err == HD_OK;
}

/* body with the string field key = value; NULL (body deleted) on failure. */
cJSON *nt_ib_with_string(cJSON *body, const char *key, const char *value)
{
	if (body != NULL && cJSON_AddStringToObject(body, key, value) == NULL) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

/* With the sender's account known: the files, then the ticket or comment. */
static void mail_apply(ib_mail *m)
{
	if (!m->user_active)
		nt_ib_mail_done(m, "ignored", NULL, NULL, "the sender's account is turned off");
	else
		nt_ib_mail_upload_next(m);
}

static void mail_user_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	if (nt_ib.stopping) {
		nt_ib_mail_free(m);
	} else if (err == HD_OK && (status == 201 || status == 200)
	    && nt_ib_reply_id(body, m->user_id)) {
		snprintf(m->role, sizeof(m->role), "customer");
		m->user_active = true;
		mail_apply(m);
	} else
		nt_ib_mail_failed(m, err, status, "hd-auth refused the sender's account");
}

/* A customer account for an unknown sender, made as the mailbox's creator. */
static void mail_create_user(ib_mail *m)
{
	unsigned char rnd[24];
	char password[2 * sizeof(rnd) + 1] = "";
	bool ok = RAND_bytes(rnd, sizeof(rnd)) == 1;
	for (size_t i = 0; ok && i < sizeof(rnd); i++)
		snprintf(password + 2 * i, 3, "%02x", rnd[i]);
	cJSON *body = ok ? nt_ib_with_string(cJSON_CreateObject(), "email", m->from_addr) : NULL;
	body = nt_ib_with_string(
	    body, "name", m->from_name[0] != '\0' ? m->from_name : m->from_addr);
	body = nt_ib_with_string(body, "role", "customer");
	body = nt_ib_with_string(body, "password", password);
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (!nt_ib_mail_call(m, nt_ib.auth, "users.create", NULL, m->created_by, "admin", "u", body,
	        mail_user_cb))
		nt_ib_mail_failed(
		    m, HD_ERR_UNAVAILABLE, 0, "the sender's account could not be sent");
}

static void mail_context_cb(hd_err err, const hd_db_result *res, void *arg)
{
	ib_mail *m = arg;
	if (nt_ib.stopping) {
		nt_ib_mail_free(m);
		return;
	}
	if (err != HD_OK || hd_db_result_ntuples(res, 0) != 1) {
		nt_ib_mail_failed(m, err != HD_OK ? err : HD_ERR_INTERNAL, 0,
		    "the sender could not be looked up");
		return;
	}
	nt_ib_copy_value(m->user_id, sizeof(m->user_id), res, 0, 0);
	nt_ib_copy_value(m->role, sizeof(m->role), res, 0, 1);
	const char *active = hd_db_result_value(res, 0, 0, 2);
	m->user_active = active != NULL && strcmp(active, "t") == 0;
	nt_ib_copy_value(m->ticket_id, sizeof(m->ticket_id), res, 0, 3);
	m->parts = cJSON_Parse(hd_db_result_value(res, 1, 0, 0));
	if (!cJSON_IsArray(m->parts)) {
		nt_ib_mail_failed(m, HD_ERR_INTERNAL, 0, "the message's files could not be read");
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
	if (nt_ib.stopping)
		return;
	if (err != HD_OK)
		hd_log_warn("mail in: messages not claimed (%s)", hd_strerror(err));
	ib_mail *m
	    = err == HD_OK && hd_db_result_ntuples(res, 0) > 0 ? calloc(1, sizeof(*m)) : NULL;
	if (m == NULL) {
		nt_ib.applying = false;
		return;
	}
	nt_ib_copy_value(m->tenant_id, sizeof(m->tenant_id), res, 0, 0);
	nt_ib_copy_value(m->id, sizeof(m->id), res, 0, 1);
	m->from_addr = nt_ib_dup_value(res, 0, 2);
	m->from_name = nt_ib_dup_value(res, 0, 3);
	m->subject = nt_ib_dup_value(res, 0, 4);
	m->body = nt_ib_dup_value(res, 0, 5);
	nt_ib_copy_value(m->number, sizeof(m->number), res, 0, 6);
	nt_ib_copy_value(m->thread_ticket, sizeof(m->thread_ticket), res, 0, 7);
	nt_ib_copy_value(m->created_by, sizeof(m->created_by), res, 0, 8);
	const char *attempts = hd_db_result_value(res, 0, 0, 9);
	m->attempts = attempts != NULL ? atoi(attempts) : 0;
	if (m->from_addr == NULL || m->from_name == NULL || m->subject == NULL || m->body == NULL) {
		nt_ib_mail_free(m);
		nt_ib.applying = false;
		return;
	}
	const char *params[4] = { m->tenant_id, m->from_addr, m->number,
		m->thread_ticket[0] != '\0' ? m->thread_ticket : NULL };
	const char *pp[2] = { m->tenant_id, m->id };
	hd_db_stmt st[2] = { { sql_context, 4, params }, { sql_parts_of, 2, pp } };
	if (hd_db_run(nt_ib.dw->db, m->tenant_id, st, 2, mail_context_cb, m) != HD_OK)
		nt_ib_mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the sender could not be looked up");
}

void nt_ib_apply_round(void)
{
	if (nt_ib.applying || nt_ib.stopping)
		return;
	nt_ib.applying = nt_claim(nt_ib.dw, NT_QUEUE_INBOUND, 1, nt_settings_get()->mail_lease_ms,
	                     mail_claimed_cb, NULL)
	    == HD_OK;
}
