/* Idempotency-Key for the daemon's creates (API.md): the key is per tenant
 * (ticket.idempotency_keys, PK (tenant_id, key)) and kept 24 hours. A keyed
 * create is one batch, one transaction of three statements: 0 takes a
 * transaction advisory lock on (tenant, key), so requests racing with one key
 * run one after the other; 1 looks the key up (and drops it when expired) -
 * a statement of its own, so it sees what committed while 0 waited, and the
 * later racers replay the first's reply; 2 is the create, whose SQL does
 * nothing when the key is stored and otherwise stores the reply (status,
 * body, location) from its own RETURNING. Should the key still collide
 * (idempotency_keys_pkey), the transaction rolls back: 409 (common.c).
 * The stored request hash is sha256 of the text tk_idem_read builds: the body
 * alone for tickets.create (as stored before other routes took keys), else
 * op '\n' path id '\n' body, so a key reused on another route or another
 * ticket never matches (422), both ways. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "ticket.h"

#define TK_IDEM_KEY_MAX 255
#define TK_IDEM_LOOKUP 1 /* statement index of the lookup in a keyed batch */

/* $1 tenant, $2 key: serialises the requests that carry one key. */
static const char sql_idem_lock[]
    = "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))";

/* $1 tenant, $2 key, $3 hashed text. Column 0 says whether the stored
 * request had the same hash; a key over 24 h old is deleted and not seen. */
static const char sql_idem_lookup[]
    = "WITH idem AS (SELECT $2::text AS key, $3::text AS hashed),"
      " d AS (DELETE FROM ticket.idempotency_keys WHERE tenant_id = $1 AND key = $2"
      " AND created_at < now() - interval '24 hours')"
      " SELECT s.request_hash =" TK_IDEM_HASH ", s.status, s.body, s.location"
      " FROM ticket.idempotency_keys s, idem WHERE s.tenant_id = $1 AND s.key = idem.key"
      " AND s.created_at >= now() - interval '24 hours'";

/* The key of req, or NULL when the request has none. */
static const char *tk_idem_header(hd_rpc_request *req)
{
	return hd_envelope_header(hd_rpc_request_envelope(req), "idempotency-key");
}

bool tk_idem_read(
    hd_rpc_request *req, bool body_only, const char *path_id, tk_idem *k, hd_field_errors *errs)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	const char *key = tk_idem_header(req);
	*k = (tk_idem) { .key = NULL, .hashed = NULL };
	if (key == NULL)
		return true;
	size_t n = strlen(key);
	if (n == 0 || n > TK_IDEM_KEY_MAX || !hd_utf8_valid(key, n)) {
		hd_field_errors_add(errs, "Idempotency-Key", "must be 1 to 255 characters");
		return true;
	}
	const char *id = path_id != NULL ? path_id : "";
	size_t len = body_only ? e->body_len : strlen(e->op) + strlen(id) + 2 + e->body_len;
	if ((k->hashed = malloc(len + 1)) == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		return false;
	}
	if (body_only)
		snprintf(k->hashed, len + 1, "%.*s", (int)e->body_len, e->body);
	else
		snprintf(k->hashed, len + 1, "%s\n%s\n%.*s", e->op, id, (int)e->body_len, e->body);
	k->key = key;
	return true;
}

void tk_idem_free(tk_idem *k)
{
	free(k->hashed);
	k->hashed = NULL;
	k->key = NULL;
}

void tk_idem_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id, const tk_idem *k,
    const hd_db_stmt *create, hd_db_cb cb)
{
	const char *lp[3] = { tenant_id, k->key, k->hashed };
	hd_db_stmt st[3] = { { sql_idem_lock, 2, lp }, { sql_idem_lookup, 3, lp }, *create };
	if (k->key != NULL)
		hd_daemon_db_run(dw, req, tenant_id, st, 3, cb, req);
	else
		hd_daemon_db_run(dw, req, tenant_id, create, 1, cb, req);
}

/* Replays the stored reply of statement 0, or 422 when the hash differs. */
static void tk_idem_replay(hd_rpc_request *req, const hd_db_result *res, tk_idem_reply_fn reply)
{
	const char *same = hd_db_result_value(res, TK_IDEM_LOOKUP, 0, 0);
	const char *status = hd_db_result_value(res, TK_IDEM_LOOKUP, 0, 1);
	const char *body = hd_db_result_value(res, TK_IDEM_LOOKUP, 0, 2);
	if (same == NULL || strcmp(same, "t") != 0) {
		hd_field_errors errs = { .count = 0 };
		hd_field_errors_add(&errs, "Idempotency-Key", "was already used with another body");
		hd_reply_invalid(req, &errs);
		return;
	}
	int code = status != NULL ? atoi(status) : 0;
	if (code < 200 || code > 299 || body == NULL) {
		hd_reply_db_error(req, HD_ERR_INTERNAL, res);
		return;
	}
	reply(req, code, body, hd_db_result_value(res, TK_IDEM_LOOKUP, 0, 3));
}

bool tk_idem_result(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, tk_idem_reply_fn reply, int *stmt)
{
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return false;
	}
	bool keyed = tk_idem_header(req) != NULL;
	if (keyed && hd_db_result_ntuples(res, TK_IDEM_LOOKUP) > 0) {
		tk_idem_replay(req, res, reply);
		return false;
	}
	*stmt = keyed ? TK_IDEM_LOOKUP + 1 : 0;
	return true;
}

void tk_idem_child_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int stmt;
	if (!tk_idem_result(req, err, res, tk_reply_stored, &stmt))
		return;
	const char *json = hd_db_result_value(res, stmt, 0, 0);
	if (json == NULL) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	tk_reply_stored(req, 201, json, NULL);
	tk_relay_wake();
}

void tk_reply_stored(hd_rpc_request *req, int status, const char *body, const char *location)
{
	if (location != NULL && location[0] != '\0')
		hd_daemon_reply_json(req, status, body, strlen(body), "location", location, NULL);
	else
		hd_daemon_reply_json(req, status, body, strlen(body), NULL);
}
