/* Idempotency-Key of the auth daemon's creates (API.md, "Common rules"):
 * reading and hashing the key, looking a stored reply up (replayed for the
 * same request, 422 for another one) and telling a concurrent use of the key
 * (409) from other failures. Storing the reply is each create's own SQL, in
 * the transaction that creates the resource (auth.idempotency_keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "hd/json.h"

/* The stored reply of a key (dropped when over 24 h old); column 0 says
 * whether it was stored for the same request hash. */
static const char SQL_IDEM_LOOKUP[]
    = "WITH d AS (DELETE FROM auth.idempotency_keys WHERE key = $1"
      " AND created_at < now() - interval '24 hours')"
      " SELECT request_hash = $2, status, body, location, etag FROM auth.idempotency_keys"
      " WHERE key = $1 AND created_at >= now() - interval '24 hours'";

/* One lookup in flight; the caller's context stays owned by the caller. */
typedef struct idem_lookup_ctx {
	hd_rpc_request *req;
	auth_idem_cb cb;
	void *arg;
} idem_lookup_ctx;

void auth_idem_read(hd_rpc_request *req, const char *op, auth_idem *k, hd_field_errors *errs)
{
	const hd_envelope *env = hd_rpc_request_envelope(req);
	const char *key = hd_envelope_header(env, "idempotency-key");

	k->key[0] = '\0';
	if (key == NULL)
		return;
	size_t n = strlen(key);
	if (n == 0 || n > AUTH_IDEM_KEY_MAX || !hd_utf8_valid(key, n)) {
		hd_field_errors_add(errs, "Idempotency-Key", "must be 1 to 255 characters");
		return;
	}
	memcpy(k->key, key, n + 1);
	auth_sha256_hex(env->body, env->body_len, k->hash);
	if (op != NULL) {
		/* sha256("<op>\n<sha256 hex of the body>") */
		char covered[64 + AUTH_SHA256_HEX];
		int len = snprintf(covered, sizeof covered, "%s\n%s", op, k->hash);
		auth_sha256_hex(covered, (size_t)len, k->hash);
	}
}

const char *auth_idem_param(const auth_idem *k)
{
	return k->key[0] != '\0' ? k->key : NULL;
}

static const char *or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Replays a stored reply: the same status, body, Location and ETag (the
 * latter two only when the first reply had them). */
static void idem_replay(hd_rpc_request *req, const hd_db_result *res)
{
	const char *json = hd_db_result_value(res, 0, 0, 2);

	hd_daemon_reply_json(req, atoi(hd_db_result_value(res, 0, 0, 1)), json, strlen(json),
	    "Location", or_null(hd_db_result_value(res, 0, 0, 3)), "ETag",
	    or_null(hd_db_result_value(res, 0, 0, 4)), NULL);
}

static void idem_looked_cb(hd_err err, const hd_db_result *res, void *arg)
{
	idem_lookup_ctx *l = arg;
	bool miss = false;

	if (err != HD_OK) {
		auth_reply_db_error(l->req, err, res);
	} else if (hd_db_result_ntuples(res, 0) == 0) {
		miss = true;
	} else if (strcmp(hd_db_result_value(res, 0, 0, 0), "t") != 0) {
		hd_field_errors errs = { .count = 0 };
		hd_field_errors_add(&errs, "Idempotency-Key", "was already used with another body");
		auth_reply_invalid(l->req, &errs);
	} else {
		idem_replay(l->req, res);
	}
	l->cb(miss, l->arg);
	free(l);
}

hd_err auth_idem_lookup(hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant_id,
    const auth_idem *k, auth_idem_cb cb, void *arg)
{
	idem_lookup_ctx *l = malloc(sizeof *l);
	const char *params[] = { k->key, k->hash };
	hd_db_stmt stmt = { SQL_IDEM_LOOKUP, 2, params };

	if (l == NULL) {
		hd_daemon_reply_problem(req, 500, NULL, NULL);
		return HD_ERR_NOMEM;
	}
	*l = (idem_lookup_ctx) { .req = req, .cb = cb, .arg = arg };
	hd_err err = hd_db_run(dw->db, tenant_id, &stmt, 1, idem_looked_cb, l);
	if (err != HD_OK) {
		hd_daemon_reply_problem(req, 503, "database unavailable", NULL);
		free(l);
	}
	return err;
}

bool auth_idem_conflict(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	if (err == HD_OK || res == NULL
	    || strcmp(hd_db_result_constraint(res), "idempotency_keys_pkey") != 0)
		return false;
	hd_daemon_reply_problem(
	    req, 409, "a request with this Idempotency-Key is in progress", NULL);
	return true;
}
