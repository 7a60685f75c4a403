/* One daemon calling another over NNG on behalf of the request it serves
 * (docs/architecture.md, "Daemon to daemon"): hd-ticket asks hd-knowledge
 * for a ticket's suggestions. The call carries the caller's identity (tenant,
 * user, role, request id) from the request's envelope, so the peer checks
 * roles and row-level security as for a call from the gateway; it has a
 * deadline of its own, never later than the request's; its outcome comes
 * back on the request's worker loop, so the handler may reply from there.
 * A peer that is down or slow is an error the caller turns into a degraded
 * answer: the call never waits past its timeout. Keep timeouts below the
 * daemon's 5 s drain on shutdown, so that no reply is posted to a worker
 * that is gone. */
#ifndef HD_PEER_H
#define HD_PEER_H
#include <stddef.h>
#include "hd/err.h"
#include "hd/rpc.h"

typedef struct hd_peer hd_peer;

/* Opens a client of the peer at urls (comma-separated NNG addresses); main
 * thread, before the workers call. */
hd_err hd_peer_open(hd_peer **out, const char *urls);
/* Closes it after the workers stopped; NULL ok. */
void hd_peer_close(hd_peer *p);

/* The outcome, on the worker of the request: err HD_OK with the peer's
 * status and body (valid during the call only, NUL-terminated), or
 * HD_ERR_TIMEOUT (no answer in time), HD_ERR_UNAVAILABLE (not connected, or
 * the peer went away), another error for a reply that is not an envelope. */
typedef void (*hd_peer_cb)(hd_err err, int status, const char *body, size_t len, void *arg);

/* Calls op with body (JSON, copied) as req's caller within timeout_ms (the
 * request's own deadline when sooner). Returns HD_OK and later calls cb
 * exactly once on req's worker, or an error (HD_ERR_UNAVAILABLE when the peer
 * is not connected) without calling cb. */
hd_err hd_peer_call(hd_peer *p, hd_rpc_request *req, const char *op, const char *body,
    int timeout_ms, hd_peer_cb cb, void *arg);

#endif
