/* Calls from one daemon to another on behalf of the request it serves
 * (docs/architecture.md, "Calls between daemons"): the callee sees the same
 * caller (tenant, user, role, request id) as the gateway sent, so its own
 * role checks and row-level security apply unchanged, and the call has a
 * deadline (HD_PEER_TIMEOUT_MS or the caller's own, never past the
 * request's). The reply comes back on the request's worker thread, so the
 * handler may reply from there. A link that is not up yet is waited for
 * within that deadline (hd_rpc_client_call_wait); a peer that stays down or
 * is slow is an error the caller turns into a 503 or a degraded answer. Keep deadlines below the
 * daemon's 5 s drain on shutdown, so that no reply is posted to a worker
 * that is gone. Users: field (user and ticket checks), ticket (knowledge
 * suggestions), notification (mail in: accounts, tickets and comments, as
 * hd_peer_call_as). */
#ifndef HD_PEER_H
#define HD_PEER_H
#include <stdint.h>
#include "hd/err.h"
#include "hd/rpc.h"
#include "hd/worker.h"

/* The outcome of a peer call, on the calling request's worker thread:
 * err HD_OK with the callee's status and body (NUL-terminated, valid during
 * the call), or HD_ERR_TIMEOUT / HD_ERR_UNAVAILABLE / HD_ERR_CLOSED /
 * HD_ERR_INVALID (a reply that does not decode) with status 0. */
typedef void (*hd_peer_cb)(hd_err err, int status, const char *body, void *arg);

/* Sends operation op with path parameter id (NULL: none) and JSON body
 * (NULL: none; copied) as req's caller over client c, within timeout_ms
 * (0: HD_PEER_TIMEOUT_MS). Either returns an error without calling cb, or
 * HD_OK and cb runs later exactly once. */
hd_err hd_peer_call(hd_rpc_client *c, hd_rpc_request *req, const char *op, const char *id,
    const char *body, long timeout_ms, hd_peer_cb cb, void *arg);

/* Who a call that serves no request acts as (a daemon's background work,
 * e.g. mail in): the callee sees this caller and applies its own role
 * checks and row-level security to it. Strings are copied. */
typedef struct hd_peer_actor {
	const char *tenant_id, *user_id, *role;
	const char *request_id; /* for the callee's log; NULL: none */
	const char *idempotency_key; /* the Idempotency-Key header; NULL: none */
} hd_peer_actor;

/* Like hd_peer_call, as actor instead of a request's caller; the reply
 * comes back on worker (the caller's loop). HD_ERR_INVALID when a field
 * of actor does not fit the envelope. */
hd_err hd_peer_call_as(hd_rpc_client *c, hd_worker *worker, const hd_peer_actor *actor,
    const char *op, const char *id, const char *body, long timeout_ms, hd_peer_cb cb, void *arg);

/* The deadline of a peer call in milliseconds from now: HD_PEER_TIMEOUT_MS,
 * shortened to what remains of deadline_ms (unix epoch ms; 0: none), at
 * least 1. Pure, for tests. */
int hd_peer_timeout_ms(int64_t deadline_ms, int64_t now_ms, long setting_ms);

#endif
