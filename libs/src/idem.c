/* Idempotency-Key: see hd/idem.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "hd/idem.h"
#include "hd/json.h"
#include "hd/request.h"

/* libs/sql/idempotency.sql, compiled in by libs/Makefile. */
extern const char hd_idempotency_sql[];

const hd_db_shared_migration hd_idem_migrations[] = {
	{ "hd_idempotency_001", hd_idempotency_sql },
	{ NULL, NULL },
};

#define HD_IDEM_LOOKUP 1 /* statement index of the lookup in a keyed batch */

bool hd_idem_keyed(hd_rpc_request *req)
{
	return hd_req_header(req, HD_IDEM_HEADER) != NULL;
}

/* Replaces *text by the lower-case hex SHA-256 of its first len bytes. */
static bool idem_digest(char **text, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *hex = malloc(2 * EVP_MAX_MD_SIZE + 1);
	if (hex == NULL || EVP_Digest(*text, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		free(hex);
		return false;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
	free(*text);
	*text = hex;
	return true;
}

bool hd_idem_read(hd_rpc_request *req, const hd_caller *c, const char *path_id, bool digest,
    hd_idem *k, hd_field_errors *errs)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	const char *key = hd_req_header(req, HD_IDEM_HEADER);
	*k = (hd_idem) {
		.key = NULL, .tenant_id = c->tenant_id, .user_id = c->user_id, .op = e->op
	};
	if (key == NULL)
		return true;
	size_t n = strlen(key);
	if (n == 0 || n > HD_IDEM_KEY_MAX || !hd_utf8_valid(key, n)) {
		hd_field_errors_add(errs, "Idempotency-Key", "must be 1 to 255 characters");
		return true;
	}
	const char *id = path_id != NULL ? path_id : "";
	size_t len = strlen(id) + 1 + e->body_len;
	if ((k->hashed = malloc(len + 1)) == NULL)
		goto nomem;
	snprintf(k->hashed, len + 1, "%s\n%.*s", id, (int)e->body_len, e->body);
	if (digest && !idem_digest(&k->hashed, len))
		goto nomem;
	k->key = key;
	return true;
nomem:
	hd_idem_free(k);
	hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
	return false;
}

void hd_idem_free(hd_idem *k)
{
	free(k->hashed);
	k->hashed = NULL;
	k->key = NULL;
}

void hd_idem_params(const hd_idem *k, const char **out)
{
	out[0] = k->user_id;
	out[1] = k->op;
	out[2] = k->key;
	out[3] = k->hashed;
}

bool hd_idem_run(hd_daemon_worker *dw, hd_rpc_request *req, const hd_idem_table *t,
    const hd_idem *k, const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg)
{
	if (k->key == NULL)
		return hd_daemon_db_run(dw, req, k->tenant_id, stmts, n, cb, arg);
	if (n + 2 > HD_DB_MAX_STMTS) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return false;
	}
	const char *lp[5] = { k->tenant_id, k->user_id, k->op, k->key, k->hashed };
	hd_db_stmt st[HD_DB_MAX_STMTS] = { { t->lock_sql, 4, lp }, { t->lookup_sql, 5, lp } };
	int before = k->looked_up ? 1 : 2;
	memcpy(st + before, stmts, (size_t)n * sizeof *stmts);
	return hd_daemon_db_run(dw, req, k->tenant_id, st, n + before, cb, arg);
}

void hd_idem_reply(
    hd_rpc_request *req, int status, const char *body, const char *location, const char *etag)
{
	if (location != NULL && location[0] == '\0')
		location = NULL;
	if (etag != NULL && etag[0] == '\0')
		etag = NULL;
	hd_daemon_reply_json(
	    req, status, body, strlen(body), "Location", location, "ETag", etag, NULL);
}

static void idem_used_otherwise(hd_rpc_request *req)
{
	hd_reply_invalid_field(req, "Idempotency-Key", "was already used with another body");
}

/* Replays the stored reply of the lookup, or 422 when the request differs. */
static void idem_replay(hd_rpc_request *req, const hd_db_result *res)
{
	const char *same = hd_db_result_value(res, HD_IDEM_LOOKUP, 0, 0);
	const char *status = hd_db_result_value(res, HD_IDEM_LOOKUP, 0, 1);
	const char *body = hd_db_result_value(res, HD_IDEM_LOOKUP, 0, 2);
	if (same == NULL || strcmp(same, "t") != 0) {
		idem_used_otherwise(req);
		return;
	}
	int code = status != NULL ? atoi(status) : 0;
	if (code < 200 || code > 299 || body == NULL) {
		hd_reply_db_error(req, HD_ERR_INTERNAL, res);
		return;
	}
	hd_idem_reply(req, code, body, hd_db_result_value(res, HD_IDEM_LOOKUP, 0, 3),
	    hd_db_result_value(res, HD_IDEM_LOOKUP, 0, 4));
}

/* Replies to a failed batch: 409 when the key collided. */
static void idem_failed(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	if (res != NULL && strcmp(hd_db_result_constraint(res), HD_IDEM_PKEY) == 0)
		hd_reply_problem(req, 409, HD_TEXT_IDEM_BUSY);
	else
		hd_reply_db_error(req, err, res);
}

bool hd_idem_result(hd_rpc_request *req, hd_err err, const hd_db_result *res, int *first)
{
	if (err != HD_OK) {
		idem_failed(req, err, res);
		return false;
	}
	bool keyed = hd_idem_keyed(req);
	if (keyed && hd_db_result_ntuples(res, HD_IDEM_LOOKUP) > 0) {
		idem_replay(req, res);
		return false;
	}
	*first = keyed ? HD_IDEM_LOOKUP + 1 : 0;
	return true;
}

bool hd_idem_result_of(
    hd_idem *k, hd_rpc_request *req, hd_err err, const hd_db_result *res, int *first)
{
	if (k->key == NULL || !k->looked_up) {
		if (!hd_idem_result(req, err, res, first))
			return false;
		k->looked_up = k->key != NULL;
		return true;
	}
	if (err != HD_OK) {
		idem_failed(req, err, res);
		return false;
	}
	*first = 1; /* after the lock */
	if (hd_db_result_ntuples(res, *first) == 0) {
		idem_used_otherwise(req);
		return false;
	}
	return true;
}
