/* /v1/channels/email (docs/openapi.yaml, docs/architecture.md "Mail in"),
 * admins only: a tenant's support mailboxes — IMAP URL (imaps://, or
 * imap:// with STARTTLS, required in production), user, password, folder,
 * polling interval, active. The password is sealed here (seal.c, bound to
 * the tenant and mailbox ids) before it reaches SQL and is never returned;
 * without HD_MAIL_KEY no password can be stored (503). The polling is
 * inbox.c's. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"
#include "notification.h"

#define CH_URL_MAX 2048
#define CH_USER_MAX 320
#define CH_FOLDER_MAX 200

static const char sql_create[]
    = "INSERT INTO notification.email_channels (tenant_id, id, imap_url, username,"
      " password_sealed, folder, poll_seconds, active, created_by)"
      " VALUES ($1, $2, $3, $4, $5, COALESCE($6, 'INBOX'), COALESCE($7::int, 60),"
      " COALESCE($8::bool, true), $9)"
      " RETURNING notification.channel_json(email_channels)::text, version";

static const char sql_get[]
    = "SELECT notification.channel_json(c)::text, c.version FROM notification.email_channels c"
      " WHERE c.tenant_id = $1 AND c.id = $2";

static const char sql_list[]
    = "SELECT notification.channel_json(c)::text, notification.cursor_ts(c.created_at), c.id"
      " FROM notification.email_channels c WHERE c.tenant_id = $1"
      " AND (c.created_at, c.id) < ($2::timestamptz, $3::uuid)"
      " ORDER BY c.created_at DESC, c.id DESC LIMIT $4::int";

/* $3..$8 each NULL to keep; $9 If-Match version or NULL. A new URL, user
 * or folder starts the mailbox afresh (UIDVALIDITY and position). */
static const char sql_update[]
    = "WITH upd AS (UPDATE notification.email_channels c SET"
      " imap_url = COALESCE($3, c.imap_url), username = COALESCE($4, c.username),"
      " password_sealed = COALESCE($5, c.password_sealed), folder = COALESCE($6, c.folder),"
      " poll_seconds = COALESCE($7::int, c.poll_seconds), active = COALESCE($8::bool, c.active),"
      " uid_validity = CASE WHEN COALESCE($3, c.imap_url) = c.imap_url AND COALESCE($4,"
      " c.username) = c.username AND COALESCE($6, c.folder) = c.folder THEN c.uid_validity END,"
      " next_poll_at = clock_timestamp(), last_error = NULL,"
      " updated_at = date_trunc('milliseconds', now()), version = c.version + 1"
      " WHERE c.tenant_id = $1 AND c.id = $2 AND ($9::int IS NULL OR c.version = $9::int)"
      " RETURNING notification.channel_json(c)::text AS j, c.version)"
      " SELECT (SELECT j FROM upd), (SELECT version FROM upd), EXISTS (SELECT 1 FROM"
      " notification.email_channels x WHERE x.tenant_id = $1 AND x.id = $2)";

static const char sql_delete[] = "DELETE FROM notification.email_channels c"
                                 " WHERE c.tenant_id = $1 AND c.id = $2 RETURNING c.id";

/* What a create or PATCH body says; strings point into the body but
 * sealed (owned) and the numbers (text, for SQL). */
typedef struct ch_fields {
	const char *url, *user, *password, *folder;
	char *sealed;
	char poll[24], active[2];
	bool has_poll, has_active;
} ch_fields;

bool nt_imap_url_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *path = NULL, *query = NULL;
	bool ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
	    && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK
	    && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK
	    && (strcmp(scheme, "imaps") == 0 || strcmp(scheme, "imap") == 0)
	    && curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_OK
	    && curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK
	    && curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK
	    && (path == NULL || strcmp(path, "/") == 0);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return ok;
}

/* A folder name that goes into an IMAP command and a URL as is: printable
 * ASCII without quotes, backslashes, percent signs, wildcards or ';'. */
static bool folder_ok(const char *f)
{
	for (const char *p = f; *p != '\0'; p++)
		if (*p < ' ' || *p >= 0x7f || strchr("\"\\%*;?#", *p) != NULL)
			return false;
	return f[0] != '\0';
}

static void ch_read(const cJSON *body, bool required, ch_fields *f, hd_field_errors *errs)
{
	int64_t poll = 0;
	bool active = false;
	if (hd_json_get_string(body, "imap_url", required, 8, CH_URL_MAX, &f->url, errs)
	    && !nt_imap_url_ok(f->url))
		hd_field_errors_add(errs, "imap_url",
		    "must be an imaps:// or imap:// URL with a host and nothing after it");
	hd_json_get_string(body, "username", required, 1, CH_USER_MAX, &f->user, errs);
	hd_json_get_string(body, "password", required, 1, NT_SEAL_SECRET_MAX, &f->password, errs);
	if (hd_json_get_string(body, "folder", false, 1, CH_FOLDER_MAX, &f->folder, errs)
	    && !folder_ok(f->folder))
		hd_field_errors_add(errs, "folder",
		    "must be printable ASCII without quotes, backslashes, %, *, ;, ? or #");
	f->has_poll = hd_json_get_int(body, "poll_interval_s", false, 10, 86400, &poll, errs);
	if (f->has_poll)
		snprintf(f->poll, sizeof(f->poll), "%lld", (long long)poll);
	f->has_active = hd_json_get_bool(body, "active", false, &active, errs);
	strcpy(f->active, active ? "t" : "f");
}

/* Seals f->password for the mailbox (tenant, id); false after replying. */
static bool ch_seal(hd_rpc_request *req, const char *tenant, const char *id, ch_fields *f)
{
	const nt_settings *s = nt_settings_get();
	char aad[2 * HD_UUID_STRLEN + 2];
	if (f->password == NULL)
		return true;
	if (!s->mail_keys.current_set) {
		hd_reply_problem(req, 503, "mailboxes cannot be stored: HD_MAIL_KEY is not set");
		return false;
	}
	snprintf(aad, sizeof(aad), "%s/%s", tenant, id);
	f->sealed = nt_seal(s->mail_keys.current, aad, f->password);
	if (f->sealed == NULL) {
		hd_reply_problem(req, 500, NULL);
		return false;
	}
	return true;
}

static void ch_fields_fini(ch_fields *f)
{
	if (f->sealed != NULL)
		OPENSSL_cleanse(f->sealed, strlen(f->sealed));
	free(f->sealed);
}

static void ch_reply_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_row(arg, 200, err, res, "mailbox");
}

static void ch_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_row(arg, 201, err, res, "mailbox");
}

static void ch_updated_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_updated(arg, err, res, "mailbox");
}

static void ch_deleted_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_reply_deleted(arg, err, res, "mailbox");
}

static const char *const ch_known[]
    = { "imap_url", "username", "password", "folder", "poll_interval_s", "active", NULL };

void nt_channels_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	cJSON *body = NULL;
	ch_fields f = { .url = NULL };
	hd_field_errors errs = { .count = 0 };
	char id[HD_UUID_STRLEN + 1];
	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLE_ADMIN)
	    || !hd_req_body(req, ch_known, &body))
		goto out;
	ch_read(body, true, &f, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	if (hd_uuid_v7(id) != HD_OK) {
		hd_reply_problem(req, 500, NULL);
		goto out;
	}
	if (!ch_seal(req, c.tenant_id, id, &f))
		goto out;
	const char *p[9] = { c.tenant_id, id, f.url, f.user, f.sealed, f.folder,
		f.has_poll ? f.poll : NULL, f.has_active ? f.active : NULL, c.user_id };
	hd_db_stmt st = { sql_create, 9, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, ch_created_cb, req);
out:
	ch_fields_fini(&f);
	cJSON_Delete(body);
}

void nt_channels_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id = nt_admin_target(req, "mailbox", &c);
	if (id == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql_get, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, ch_reply_cb, req);
}

void nt_channels_list(hd_rpc_request *req, hd_daemon_worker *dw)
{
	nt_admin_list(req, dw, sql_list);
}

void nt_channels_update(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	cJSON *body = NULL;
	const char *id;
	ch_fields f = { .url = NULL };
	hd_field_errors errs = { .count = 0 };
	char version[HD_IF_MATCH_MAX];
	bool has_version = false;
	if ((id = nt_admin_target(req, "mailbox", &c)) == NULL
	    || !hd_req_if_match(req, version, &has_version) || !hd_req_body(req, ch_known, &body))
		goto out;
	ch_read(body, false, &f, &errs);
	if (hd_reply_invalid(req, &errs) || !ch_seal(req, c.tenant_id, id, &f))
		goto out;
	const char *p[9]
	    = { c.tenant_id, id, f.url, f.user, f.sealed, f.folder, f.has_poll ? f.poll : NULL,
		      f.has_active ? f.active : NULL, has_version ? version : NULL };
	hd_db_stmt st = { sql_update, 9, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, ch_updated_cb, req);
out:
	ch_fields_fini(&f);
	cJSON_Delete(body);
}

void nt_channels_delete(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id = nt_admin_target(req, "mailbox", &c);
	if (id == NULL)
		return;
	const char *p[2] = { c.tenant_id, id };
	hd_db_stmt st = { sql_delete, 2, p };
	hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, ch_deleted_cb, req);
}
