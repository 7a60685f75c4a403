/* Attachments (docs/architecture.md, "Attachments"): hd-ticket records every
 * upload in ticket.attachments and keeps its bytes in the storage backend
 * (hd/storage.h). Storage calls block, so they run on the daemon's CPU pool
 * and come back to the request's worker:
 *   upload   check type and bytes (hd/attach.h) → CPU: SHA-256, put →
 *            worker: INSERT (on failure the object is deleted again) → 201;
 *   download worker: may the caller see it (comment rules here, a work
 *            order's at hd-field) → CPU: read the object → reply the bytes;
 *   sweep    worker 0, every minute: unattached uploads older than
 *            HD_ATTACHMENT_TTL_S → CPU: delete object, forget the row.
 * Tickets (their description) and comments claim uploads in their own
 * statement (tickets.c, comments.c); work orders through attachments.claim,
 * called by hd-field. GET /v1/tickets/{id}/attachments lists a ticket's. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/attach.h"
#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/peer.h"
#include "hd/storage.h"
#include "hd/uuid.h"
#include "ticket.h"

#define TK_SWEEP_EVERY_MS 60000
#define TK_SWEEP_BATCH 100

/* Set by tk_attachments_start before the workers run; read-only after. */
static struct {
	hd_storage *storage;
	hd_rpc_client *field;
	long max_upload;
	long ttl_s;
} tk_att;

/* Worker 0's sweeper (its thread only). */
static struct {
	hd_daemon_worker *dw;
	struct event *timer;
	int pending; /* deletions in flight: no new sweep until they are done */
} tk_sweep;

hd_err tk_attachments_start(void)
{
	hd_storage_config cfg;
	hd_err err = hd_config_int("HD_MAX_UPLOAD_BYTES", 1, 1L << 30, &tk_att.max_upload);
	if (err == HD_OK)
		err = hd_config_int("HD_ATTACHMENT_TTL_S", 1, 365L * 86400, &tk_att.ttl_s);
	if (err == HD_OK)
		err = hd_storage_config_load(&cfg);
	if (err == HD_OK)
		err = hd_storage_open(&tk_att.storage, &cfg);
	if (err == HD_OK)
		err = hd_rpc_client_open_peer(
		    &tk_att.field, hd_config_str("HD_FIELD_URL"), "hd-field");
	explicit_bzero(&cfg, sizeof cfg);
	if (err != HD_OK) {
		hd_log_error("attachments: storage or the hd-field client did not open");
		tk_attachments_stop();
	}
	return err;
}

void tk_attachments_stop(void)
{
	hd_rpc_client_close(tk_att.field);
	hd_storage_close(tk_att.storage);
	tk_att.field = NULL;
	tk_att.storage = NULL;
}

/* ---- upload ---- */

/* $1 tenant, $2 id, $3 filename, $4 content type, $5 size, $6 sha256, $7
 * uploader, $8..$10 the Idempotency-Key's op, key and hashed request
 * (attachments.create only; NULL key: none). Inserts nothing when the key
 * is stored (hd/idem.h: the first reply is replayed and this upload's
 * object deleted again, so a retried upload neither doubles nor leaves a
 * file behind). */
static const char sql_attachment_insert[] = "WITH" HD_IDEM_CTE("$1", "$7", "$8", "$9",
    "$10") ","
           " a AS (INSERT INTO ticket.attachments AS a (tenant_id, id, filename, content_type, "
           "size,"
           " sha256, uploaded_by) SELECT $1, $2, $3, $4, $5::bigint, $6, $7 WHERE" TK_IDEM_FREE
           " RETURNING ticket.attachment_json(a) AS j),"
           " reply AS (SELECT 201 AS status, j, NULL::text AS location, NULL::text AS etag FROM "
           "a)," TK_IDEM_STORE " SELECT j::text FROM a";

typedef struct tk_upload {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	hd_caller c; /* points into req's envelope */
	char id[HD_UUID_STRLEN + 1];
	char key[HD_STORAGE_KEY_MAX];
	char sha256[HD_SHA256_HEX + 1];
	char type[HD_ATTACH_TYPE_MAX + 1];
	char name[HD_ATTACH_FILENAME_MAX + 1];
	char size[24];
	const unsigned char *data; /* in req's envelope or owned */
	size_t len;
	unsigned char *owned;
	hd_idem idem; /* attachments.create's Idempotency-Key (idem.key NULL: none) */
	hd_err err;
} tk_upload;

static void upload_free(tk_upload *u)
{
	hd_idem_free(&u->idem);
	free(u->owned);
	free(u);
}

/* CPU pool: an object whose row could not be written is removed again. */
static void upload_undo_work(void *arg)
{
	tk_upload *u = arg;
	if (hd_storage_delete(tk_att.storage, u->key) != HD_OK)
		hd_log_warn("attachments: object %s left without its row", u->key);
}

static void upload_undo_done(void *arg)
{
	upload_free(arg);
}

static void upload_insert_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_upload *u = arg;
	int first = 0;
	const char *json = NULL;
	if (u->idem.key == NULL) {
		if (err != HD_OK || (json = hd_db_result_value(res, 0, 0, 0)) == NULL)
			hd_reply_db_error(u->req, err == HD_OK ? HD_ERR_INTERNAL : err, res);
	} else if (hd_idem_result(u->req, err, res, &first)
	    && (json = hd_db_result_value(res, first, 0, 0)) == NULL) {
		hd_reply_db_error(u->req, HD_ERR_INTERNAL, res);
	} /* else answered: a failure, or the key's first reply (no row of ours) */
	if (json != NULL) {
		hd_idem_reply(u->req, 201, json, NULL, NULL);
		upload_free(u);
		return;
	}
	if (hd_cpu_pool_submit(
	        hd_daemon_cpu_pool(), upload_undo_work, upload_undo_done, u, u->dw->worker)
	    != HD_OK) {
		hd_log_warn("attachments: object %s left without its row", u->key);
		upload_free(u);
	}
}

static void upload_work(void *arg)
{
	tk_upload *u = arg;
	hd_sha256_hex(u->data, u->len, u->sha256);
	u->err = hd_storage_put(tk_att.storage, u->key, u->data, u->len, u->sha256);
}

static void upload_done(void *arg)
{
	tk_upload *u = arg;
	if (u->err != HD_OK) {
		hd_reply_problem(u->req, 503, "the attachment store is unavailable, retry later");
		upload_free(u);
		return;
	}
	snprintf(u->size, sizeof u->size, "%zu", u->len);
	const char *ip[4];
	hd_idem_params(&u->idem, ip);
	const char *p[10] = { u->c.tenant_id, u->id, u->name, u->type, u->size, u->sha256,
		u->c.user_id, ip[1], ip[2], ip[3] };
	hd_db_stmt st = { sql_attachment_insert, 10, p };
	/* on false the 503 is sent and the object must go */
	if (!hd_idem_run(u->dw, u->req, &tk_idem_table, &u->idem, &st, 1, upload_insert_cb, u)
	    && hd_cpu_pool_submit(
	           hd_daemon_cpu_pool(), upload_undo_work, upload_undo_done, u, u->dw->worker)
	        != HD_OK)
		upload_free(u);
}

/* Checks type and bytes (413/415/422 with field, answered: false). */
static bool upload_check(hd_rpc_request *req, tk_upload *u, const char *declared, const char *field)
{
	char detail[96];
	if (u->len > (size_t)tk_att.max_upload) {
		snprintf(
		    detail, sizeof detail, "the file is larger than %ld bytes", tk_att.max_upload);
		hd_reply_problem(req, 413, detail);
		return false;
	}
	if (declared == NULL || !hd_attach_type_normalise(declared, u->type)) {
		hd_reply_problem(req, 415, "give the file's type as content_type (e.g. image/png)");
		return false;
	}
	switch (hd_attach_sniff(u->type, u->data, u->len)) {
	case HD_ATTACH_OK:
		return true;
	case HD_ATTACH_TYPE_REFUSED:
		hd_reply_problem(req, 415,
		    "accepted types: image/png, image/jpeg, image/gif, image/webp, application/pdf,"
		    " application/zip, text/plain, text/csv, application/octet-stream");
		return false;
	default:
		hd_reply_invalid_field(
		    req, field, "the bytes are not of the declared content type");
		return false;
	}
}

/* Validates u (filled with data, len, name) and starts the store; always
 * answers or hands u on; takes u. keyed: the request may carry an
 * Idempotency-Key (attachments.create: a JSON body). */
static void upload_start(hd_rpc_request *req, hd_daemon_worker *dw, tk_upload *u,
    const char *declared, const char *field, bool keyed)
{
	hd_field_errors errs = { .count = 0 };
	u->req = req;
	u->dw = dw;
	if (!hd_caller_get(req, &u->c) || !upload_check(req, u, declared, field)
	    || (keyed && !hd_idem_read(req, &u->c, NULL, true, &u->idem, &errs))
	    || hd_reply_invalid(req, &errs)) {
		upload_free(u);
		return;
	}
	if (!keyed) /* the raw route: no key, the caller's tenant still scopes the insert */
		u->idem = (hd_idem) { .tenant_id = u->c.tenant_id, .user_id = u->c.user_id };
	if (hd_uuid_v7(u->id) != HD_OK || !hd_storage_key(u->c.tenant_id, u->id, u->key)) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		upload_free(u);
		return;
	}
	if (hd_cpu_pool_submit(hd_daemon_cpu_pool(), upload_work, upload_done, u, dw->worker)
	    != HD_OK) {
		hd_reply_problem(req, 503, "busy, retry later");
		upload_free(u);
	}
}

/* POST /v1/attachments: the raw body, Content-Type, X-Filename (forwarded
 * by the gateway, which bounds the body by HD_MAX_UPLOAD_BYTES). */
void tk_attachments_upload(hd_rpc_request *req, hd_daemon_worker *dw)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	const char *name = hd_req_header(req, "x-filename");
	tk_upload *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	u->data = (const unsigned char *)env->body;
	u->len = env->body_len;
	hd_attach_filename_header(name != NULL ? name : "", u->name);
	upload_start(req, dw, u, hd_req_header(req, "content-type"), "body", false);
}

/* attachments.create (no route; other daemons, e.g. mail): JSON with the
 * bytes in base64 (docs/architecture.md, "Attachments"); takes an
 * Idempotency-Key (mail in sends one per part of a message). */
void tk_attachments_create(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[] = { "filename", "content_type", "data", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *name = NULL, *type = NULL, *data = NULL;
	cJSON *body = NULL;
	tk_upload *u = NULL;
	if (!hd_req_body(req, known, &body))
		return;
	hd_json_get_string(body, "filename", true, 1, 1000, &name, &errs);
	hd_json_get_string(body, "content_type", true, 1, HD_ATTACH_TYPE_MAX, &type, &errs);
	hd_json_get_string(body, "data", true, 0, SIZE_MAX, &data, &errs);
	if (hd_reply_invalid(req, &errs))
		goto out;
	size_t dlen = strlen(data);
	if (dlen / 4 * 3 > (size_t)tk_att.max_upload + 2) {
		hd_reply_problem(req, 413, "the file is larger than HD_MAX_UPLOAD_BYTES");
		goto out;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL || (u->owned = malloc(dlen / 4 * 3 + 1)) == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		goto out;
	}
	if (!hd_base64_decode(data, dlen, u->owned, &u->len)) {
		hd_reply_invalid_field(req, "data", "must be standard base64 with = padding");
		goto out;
	}
	u->data = u->owned;
	if (!hd_attach_filename_clean(name, strlen(name), u->name))
		snprintf(u->name, sizeof u->name, "attachment");
	upload_start(req, dw, u, type, "data", true);
	u = NULL;
out:
	if (u != NULL)
		upload_free(u);
	cJSON_Delete(body);
}

/* ---- download ---- */

/* $1 tenant, $2 id, $3 caller, $4 the caller when a customer (their own
 * tickets' descriptions and public comments only), else NULL. A row when
 * the caller may see it here: their own unattached upload, one on a ticket
 * (its description or a comment) they see, or one on a work order (column
 * 3; hd-field decides). */
static const char sql_attachment_visible[]
    = "SELECT a.filename, a.content_type, a.size, a.work_order_id FROM ticket.attachments a"
      " LEFT JOIN ticket.comments c ON c.tenant_id = a.tenant_id AND c.id = a.comment_id"
      " LEFT JOIN ticket.tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id"
      " WHERE a.tenant_id = $1 AND a.id = $2 AND ("
      " (a.ticket_id IS NULL AND a.work_order_id IS NULL AND a.uploaded_by = $3)"
      " OR (a.ticket_id IS NOT NULL AND t.deleted_at IS NULL AND ($4::uuid IS NULL"
      " OR (t.requester_id = $4 AND (a.comment_id IS NULL OR c.public))))"
      " OR (a.work_order_id IS NOT NULL AND $4::uuid IS NULL))";

typedef struct tk_download {
	hd_rpc_request *req;
	char key[HD_STORAGE_KEY_MAX];
	char type[HD_ATTACH_TYPE_MAX + 1];
	char disposition[480];
	hd_buf bytes;
	size_t expected;
	hd_err err;
} tk_download;

static bool download_sink(const void *chunk, size_t len, void *arg)
{
	tk_download *d = arg;
	if (d->bytes.len + len > d->expected) /* not the object we recorded */
		return false;
	hd_buf_put(&d->bytes, chunk, len);
	return !d->bytes.failed;
}

static void download_work(void *arg)
{
	tk_download *d = arg;
	if (hd_buf_reserve(&d->bytes, d->expected + 1))
		d->err = hd_storage_get(tk_att.storage, d->key, download_sink, d);
	else
		d->err = HD_ERR_NOMEM;
	if (d->err == HD_OK && d->bytes.len != d->expected)
		d->err = HD_ERR_IO;
}

static void download_done(void *arg)
{
	tk_download *d = arg;
	if (d->err == HD_OK)
		hd_daemon_reply_compact(d->req, 200, d->bytes.data ? d->bytes.data : "",
		    d->bytes.len, "content-type", d->type, "content-disposition", d->disposition,
		    "x-content-type-options", "nosniff", "cache-control", "private, no-store",
		    NULL);
	else if (d->err == HD_ERR_NOT_FOUND)
		hd_reply_not_found(d->req, "attachment");
	else
		hd_reply_problem(d->req, 503, "the attachment store is unavailable, retry later");
	hd_buf_free(&d->bytes);
	free(d);
}

static void download_start(tk_download *d)
{
	if (hd_cpu_pool_submit(hd_daemon_cpu_pool(), download_work, download_done, d,
	        hd_rpc_request_worker(d->req))
	    != HD_OK) {
		hd_reply_problem(d->req, 503, "busy, retry later");
		free(d);
	}
}

/* hd-field's answer to work_orders.get as the caller: 200 means visible. */
static void download_wo_cb(hd_err err, int status, const char *body, void *arg)
{
	tk_download *d = arg;
	(void)body;
	if (err != HD_OK) {
		hd_reply_problem(d->req, 503, "hd-field did not answer in time, retry later");
		free(d);
	} else if (status != 200) {
		hd_reply_not_found(d->req, "attachment");
		free(d);
	} else {
		download_start(d);
	}
}

static void download_visible_cb(hd_err err, const hd_db_result *res, void *arg)
{
	tk_download *d = arg;
	if (err != HD_OK || hd_db_result_ntuples(res, 0) == 0) {
		if (err != HD_OK)
			hd_reply_db_error(d->req, err, res);
		else
			hd_reply_not_found(d->req, "attachment");
		free(d);
		return;
	}
	const char *wo = hd_db_result_value(res, 0, 0, 3);
	snprintf(d->type, sizeof d->type, "%s", hd_db_result_value(res, 0, 0, 1));
	hd_attach_disposition(
	    hd_db_result_value(res, 0, 0, 0), d->disposition, sizeof d->disposition);
	d->expected = (size_t)strtoull(hd_db_result_value(res, 0, 0, 2), NULL, 10);
	if (wo == NULL) {
		download_start(d);
	} else if (hd_peer_call(
	               tk_att.field, d->req, "work_orders.get", wo, NULL, 0, download_wo_cb, d)
	    != HD_OK) {
		hd_reply_problem(d->req, 503, "hd-field is unavailable, retry later");
		free(d);
	}
}

/* GET /v1/attachments/{id}: the bytes to whoever may see what the upload
 * is attached to; 404 to everyone else. */
void tk_attachments_get(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	const char *id;
	if (!hd_caller_get(req, &c) || (id = hd_req_path_uuid(req, "id", "attachment")) == NULL)
		return;
	tk_download *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return;
	}
	d->req = req;
	if (!hd_storage_key(c.tenant_id, id, d->key)) {
		hd_reply_not_found(req, "attachment");
		free(d);
		return;
	}
	const char *p[4]
	    = { c.tenant_id, id, c.user_id, hd_caller_is(&c, HD_ROLE_CUSTOMER) ? c.user_id : NULL };
	hd_db_stmt st = { sql_attachment_visible, 4, p };
	if (!hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, download_visible_cb, d))
		free(d);
}

/* ---- a ticket's files ---- */

/* Upload order; keyset on (created_at, id); $3: the customer's view (the
 * description's files and public comments' only). Each with the comment it
 * came with (null: the ticket's description). */
static const char sql_ticket_attachments[]
    = "SELECT (ticket.attachment_json(a)::jsonb || jsonb_build_object('comment_id',"
      " a.comment_id))::text, ticket.ts(a.created_at), a.id FROM ticket.attachments a"
      " LEFT JOIN ticket.comments c ON c.tenant_id = a.tenant_id AND c.id = a.comment_id"
      " WHERE a.tenant_id = $1 AND a.ticket_id = $2"
      " AND (NOT $3::bool OR a.comment_id IS NULL OR c.public)"
      " AND (a.created_at, a.id) > ($4::timestamptz, $5::uuid)"
      " ORDER BY a.created_at, a.id LIMIT $6";

/* GET /v1/tickets/{id}/attachments: the files of a ticket the caller sees. */
void tk_tickets_attachments(hd_rpc_request *req, hd_daemon_worker *dw)
{
	hd_caller c;
	if (!hd_caller_get(req, &c))
		return;
	tk_ticket_children(
	    req, dw, &c, sql_ticket_attachments, hd_caller_is(&c, HD_ROLE_CUSTOMER) ? "t" : "f");
}

/* ---- work orders (hd-field) ---- */

static void claim_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	const char *json = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (json != NULL)
		hd_daemon_reply_json(req, 200, json, strlen(json), NULL);
	else
		hd_reply_db_error(req, err == HD_OK ? HD_ERR_INTERNAL : err, res);
}

/* attachments.claim {"work_order_id", "attachment_ids", "images_only"?}
 * (no route; hd-field, as the caller of a work order change): 200
 * {"attachments":[...]}, or 422 when one is not the caller's unattached
 * upload (or this work order's already). */
void tk_attachments_claim(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "work_order_id", "attachment_ids", "images_only", NULL };
	static const char sql[] = "SELECT json_build_object('attachments',"
	                          " ticket.attachments_claim($1, $2, $3::uuid[], NULL, NULL, $4,"
	                          " $5::bool))::text";
	hd_caller c;
	hd_field_errors errs = { .count = 0 };
	const char *wo = NULL;
	bool images = false;
	char ids[TK_ATTACH_IDS_MAX];
	cJSON *body = NULL;
	if (!hd_caller_get(req, &c) || !hd_req_body(req, known, &body))
		return;
	if (hd_json_get_string(body, "work_order_id", true, 36, 36, &wo, &errs)
	    && !hd_uuid_valid(wo))
		hd_field_errors_add(&errs, "work_order_id", "must be a UUID");
	hd_json_uuid_list_read(body, "attachment_ids", TK_ATTACH_MAX, ids, sizeof ids, &errs);
	hd_json_get_bool(body, "images_only", false, &images, &errs);
	if (!hd_reply_invalid(req, &errs)) {
		const char *p[5] = { c.tenant_id, c.user_id, ids, wo, images ? "t" : "f" };
		hd_db_stmt st = { sql, 5, p };
		hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, claim_cb, req);
	}
	cJSON_Delete(body);
}

/* ---- the sweeper (worker 0) ---- */

static const char sql_expired[] = "SELECT tenant_id, id FROM ticket.attachments_expired($1, $2)";
static const char sql_forget[] = "SELECT ticket.attachment_forget($1, $2)";

typedef struct tk_swept {
	char tenant[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1], key[HD_STORAGE_KEY_MAX];
	hd_err err;
} tk_swept;

static void sweep_forget_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)res;
	if (err != HD_OK)
		hd_log_warn("attachments: an expired upload's row stays: %s", hd_strerror(err));
	free(arg);
	tk_sweep.pending--;
}

static void sweep_delete_work(void *arg)
{
	tk_swept *s = arg;
	s->err = hd_storage_delete(tk_att.storage, s->key);
}

/* Back on worker 0: the object is gone, so the row goes (unless claimed
 * meanwhile: then attachment_forget keeps it, and the object is lost; the
 * TTL makes that a claim of a day-old upload in the last second). */
static void sweep_delete_done(void *arg)
{
	tk_swept *s = arg;
	const char *p[2] = { s->tenant, s->id };
	hd_db_stmt st = { sql_forget, 2, p };
	if (s->err != HD_OK || tk_sweep.dw == NULL
	    || hd_db_run(tk_sweep.dw->db, NULL, &st, 1, sweep_forget_cb, s) != HD_OK) {
		free(s);
		tk_sweep.pending--;
	}
}

static void sweep_list_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)arg;
	if (err != HD_OK || tk_sweep.dw == NULL) {
		if (err != HD_OK)
			hd_log_warn("attachments: sweep failed: %s", hd_strerror(err));
		return;
	}
	for (int i = 0; i < hd_db_result_ntuples(res, 0); i++) {
		tk_swept *s = calloc(1, sizeof(*s));
		if (s == NULL)
			return;
		snprintf(s->tenant, sizeof s->tenant, "%s", hd_db_result_value(res, 0, i, 0));
		snprintf(s->id, sizeof s->id, "%s", hd_db_result_value(res, 0, i, 1));
		if (!hd_storage_key(s->tenant, s->id, s->key)
		    || hd_cpu_pool_submit(hd_daemon_cpu_pool(), sweep_delete_work,
		           sweep_delete_done, s, tk_sweep.dw->worker)
		        != HD_OK) {
			free(s);
			continue;
		}
		tk_sweep.pending++;
	}
}

static void sweep_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	char ttl[24], lim[24];
	(void)fd;
	(void)what;
	(void)arg;
	if (tk_sweep.dw == NULL || tk_sweep.pending > 0 || tk_att.storage == NULL)
		return;
	snprintf(ttl, sizeof ttl, "%ld", tk_att.ttl_s);
	snprintf(lim, sizeof lim, "%d", TK_SWEEP_BATCH);
	const char *p[2] = { ttl, lim };
	hd_db_stmt st = { sql_expired, 2, p };
	if (hd_db_run(tk_sweep.dw->db, NULL, &st, 1, sweep_list_cb, NULL) != HD_OK)
		hd_log_warn("attachments: sweep could not run");
}

hd_err tk_attachment_sweeper_start(hd_daemon_worker *dw)
{
	/* workers start before tk_attachments_start: read the TTL here too */
	long ttl_s = 86400, every_ms = TK_SWEEP_EVERY_MS;
	if (hd_config_int("HD_ATTACHMENT_TTL_S", 1, 365L * 86400, &ttl_s) != HD_OK)
		return HD_ERR_INVALID;
	if (ttl_s * 500 < every_ms) /* short TTLs (tests): twice per TTL */
		every_ms = ttl_s * 500;
	struct timeval tv = { (time_t)(every_ms / 1000), (suseconds_t)(every_ms % 1000 * 1000) };
	tk_sweep.dw = dw;
	tk_sweep.timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, sweep_tick_cb, NULL);
	if (tk_sweep.timer == NULL || event_add(tk_sweep.timer, &tv) != 0) {
		tk_attachment_sweeper_stop();
		return HD_ERR_NOMEM;
	}
	return HD_OK;
}

void tk_attachment_sweeper_stop(void)
{
	if (tk_sweep.timer != NULL)
		event_free(tk_sweep.timer);
	tk_sweep.timer = NULL;
	tk_sweep.dw = NULL;
}
