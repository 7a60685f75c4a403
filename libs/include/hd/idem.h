/* Idempotency-Key for creates, the same in every daemon (docs/openapi.yaml, "Common
 * rules"). A stored reply belongs to one tenant, one caller (user id) and one
 * route (op): another user of the tenant, or another route, reusing a key
 * gets their own result. Each daemon keeps the replies in its own
 * <schema>.idempotency_keys (tenant_id, user_id, op, key, request_hash,
 * status, body, location, etag, created_at; PK (tenant_id, user_id, op, key);
 * RLS on tenant_id), kept 24 hours.
 *
 * A keyed create is ONE batch, one transaction: statement 0 takes a
 * transaction advisory lock on (schema, tenant, user, op, key), so requests
 * racing with one key run one after the other; statement 1 looks the key up
 * (dropping it when expired) - a statement of its own, so it sees what
 * committed while 0 waited; then the create's own statements, whose SQL does
 * nothing when the key is stored (HD_IDEM_FREE) and otherwise stores the
 * reply (HD_IDEM_STORE) from its own RETURNING. The request hash is sha256 of
 * the request's text, computed in SQL. The callback starts with
 * hd_idem_result: a stored reply for the same request is replayed byte for
 * byte (status, body, Location, ETag), another request under the key is 422,
 * and a key that still collides (idempotency_keys_pkey) is 409.
 *
 * The create's SQL (schema a literal, never user input):
 *
 *     "WITH " HD_IDEM_CTE("$1", "$7", "$8", "$9", "$10") ","
 *     " c AS (INSERT ... SELECT ... WHERE" HD_IDEM_FREE("ticket") " RETURNING ... AS j),"
 *     " reply AS (SELECT 201 AS status, j, NULL::text AS location,"
 *     " NULL::text AS etag FROM c)," HD_IDEM_STORE("ticket") " SELECT j::text FROM c"
 *
 * with hd_idem_params filling the four parameters user, op, key, hashed. */
#ifndef HD_IDEM_H
#define HD_IDEM_H
#include <stdbool.h>
#include "hd/caller.h"
#include "hd/daemon.h"

#define HD_IDEM_KEY_MAX 255
#define HD_IDEM_HEADER "idempotency-key"
/* The 409 of a key that another request holds. */
#define HD_TEXT_IDEM_BUSY "a request with this Idempotency-Key is in progress"
/* The constraint that tells that 409. */
#define HD_IDEM_PKEY "idempotency_keys_pkey"

/* SQL: the CTE "idem" naming the scope and the request; each argument is a
 * parameter reference as a literal ("$1"). */
#define HD_IDEM_CTE(tenant, user, op, key, hashed)                                                 \
	" idem AS (SELECT " tenant "::uuid AS tenant_id, " user "::uuid AS user_id, " op           \
	"::text AS op, " key "::text AS key, " hashed "::text AS hashed)"
/* SQL: the request hash of idem.hashed. */
#define HD_IDEM_HASH " encode(sha256(convert_to(idem.hashed, 'UTF8')), 'hex')"
/* SQL condition: no key, or no reply stored under it. */
#define HD_IDEM_FREE(schema)                                                                       \
	" NOT EXISTS (SELECT 1 FROM " schema ".idempotency_keys ik, idem"                          \
	" WHERE ik.tenant_id = idem.tenant_id AND ik.user_id = idem.user_id"                       \
	" AND ik.op = idem.op AND ik.key = idem.key)"
/* SQL: CTE k storing the reply (CTE "reply": status, j, location, etag) under
 * the key; nothing without a key. */
#define HD_IDEM_STORE(schema)                                                                      \
	" k AS (INSERT INTO " schema ".idempotency_keys (tenant_id, user_id, op, key,"             \
	" request_hash, status, body, location, etag) SELECT idem.tenant_id, idem.user_id,"        \
	" idem.op, idem.key," HD_IDEM_HASH ", reply.status, reply.j::text, reply.location,"        \
	" reply.etag FROM idem, reply WHERE idem.key IS NOT NULL)"

/* The daemon's lock and lookup statements ($1 tenant, $2 user, $3 op, $4 key,
 * $5 hashed text), built from its schema at compile time. */
typedef struct hd_idem_table {
	const char *lock_sql;
	const char *lookup_sql;
} hd_idem_table;
#define HD_IDEM_TABLE(schema)                                                                      \
	{                                                                                          \
		"SELECT pg_advisory_xact_lock(hashtextextended('" schema ":' || $1::text || ':'"   \
		" || $2::text || ':' || $3::text || ':' || $4::text, 0))",                         \
		    "WITH" HD_IDEM_CTE("$1", "$2", "$3", "$4",                                     \
		        "$5") ","                                                                  \
		              " d AS (DELETE FROM " schema                                         \
		              ".idempotency_keys WHERE tenant_id = $1"                             \
		              " AND user_id = $2 AND op = $3 AND key = $4"                         \
		              " AND created_at < now() - interval '24 hours')"                     \
		              " SELECT s.request_hash =" HD_IDEM_HASH                              \
		              ", s.status, s.body, s.location, s.etag"                             \
		              " FROM " schema ".idempotency_keys s, idem WHERE s.tenant_id = $1"   \
		              " AND s.user_id = $2 AND s.op = $3 AND s.key = $4"                   \
		              " AND s.created_at >= now() - interval '24 hours'"                   \
	}

/* The key of one create. */
typedef struct hd_idem {
	const char *key; /* the header's value; NULL: no key */
	const char *tenant_id, *user_id, *op; /* the scope (point into the envelope) */
	char *hashed; /* owned: the text whose sha256 is the request hash */
	/* set by hd_idem_result_of when an earlier batch of this request found the
	 * key free: later batches take the key's lock only, the key is read once */
	bool looked_up;
} hd_idem;

/* Reads Idempotency-Key into k (k->key NULL when absent) for caller c. The
 * request's text is path_id (NULL: none), '\n' and the body; with digest it
 * is first reduced to its SHA-256 in hex, for bodies that carry a secret
 * which should not travel to the database. Adds a field error for a key that
 * is not 1..255 bytes of UTF-8. Returns false after replying 500 when out of
 * memory. Free k with hd_idem_free. */
bool hd_idem_read(hd_rpc_request *req, const hd_caller *c, const char *path_id, bool digest,
    hd_idem *k, hd_field_errors *errs);
void hd_idem_free(hd_idem *k);
/* The create's four idem parameters, in order: user, op, key, hashed. */
void hd_idem_params(const hd_idem *k, const char **out);
/* True when the request carries a key. */
bool hd_idem_keyed(hd_rpc_request *req);
/* Runs the n statements of a create for k's tenant, preceded by the lock and
 * the lookup of t when k has a key (one batch), by the lock only when
 * k->looked_up. False after replying 503. */
bool hd_idem_run(hd_daemon_worker *dw, hd_rpc_request *req, const hd_idem_table *t,
    const hd_idem *k, const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg);
/* First step of a create's callback: replies to a failed batch (409 when the
 * key collided), replays a stored reply, or 422 for a key used with another
 * request, and returns false; else sets *first to the index of the create's
 * first statement and returns true. */
bool hd_idem_result(hd_rpc_request *req, hd_err err, const hd_db_result *res, int *first);
/* hd_idem_result for a create run in steps (hd-field: the key's lookup, a
 * call to a peer, then the insert): after a lookup that found k free it sets
 * k->looked_up, so the next hd_idem_run with k skips the lookup. In that next
 * batch's callback, a create whose first statement returned no row found a
 * reply stored meanwhile under the key (HD_IDEM_FREE), by a request that
 * differs (the same one could not pass the peer's step): 422, false. */
bool hd_idem_result_of(
    hd_idem *k, hd_rpc_request *req, hd_err err, const hd_db_result *res, int *first);
/* Replies a create: status, body, and Location and ETag when not NULL or "".
 * A fresh reply and its replay both go through here, so they match. */
void hd_idem_reply(
    hd_rpc_request *req, int status, const char *body, const char *location, const char *etag);

/* The table's shape (libs/sql/idempotency.sql) as a shared migration:
 * `--migrate` applies it for a daemon whose spec sets .idempotency. */
extern const hd_db_shared_migration hd_idem_migrations[];

#endif
