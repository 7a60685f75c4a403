/* Request/reply between the gateway and the daemons over NNG (the only module
 * with bus.c that includes nng). Server: a pool of nng_ctx + nng_aio whose
 * callbacks never block: each received envelope is decoded and posted to a
 * worker loop; the worker answers with hd_rpc_request_reply from its thread.
 * Client: one REQ socket with one non-blocking dialer per address, requests on
 * their own nng_ctx + nng_aio with a deadline; resend disabled (the caller owns
 * retries), so a request is delivered at most once per call. */
#ifndef HD_RPC_H
#define HD_RPC_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/batch.h"
#include "hd/err.h"
#include "hd/envelope.h"
#include "hd/worker.h"

typedef struct hd_rpc_server hd_rpc_server;
typedef struct hd_rpc_request hd_rpc_request;
typedef struct hd_rpc_client hd_rpc_client;

/* Runs on a worker thread with a decoded request; must lead (now or later,
 * on the same worker) to exactly one hd_rpc_request_reply. */
typedef void (*hd_rpc_handler_cb)(hd_rpc_request *req, void *arg);

/* Listens on url (e.g. "tcp://127.0.0.1:7101"; over tls+tcp:// only peers
 * named in HD_TLS_RPC_PEERS get through, hd/tls.h) with nctx contexts, handing
 * requests to workers round robin. Max message size from HD_MAX_BODY_BYTES + headers. */
hd_err hd_rpc_server_start(hd_rpc_server **out, const char *url, int nctx, hd_worker_pool *workers,
    hd_rpc_handler_cb handler, void *arg);
/* Stops receiving, waits up to drain_ms for in-flight requests to be answered,
 * closes and frees. NULL ok. */
void hd_rpc_server_stop(hd_rpc_server *srv, int drain_ms);
/* Number of requests received and not yet answered. */
int hd_rpc_server_inflight(const hd_rpc_server *srv);
/* False when the listener stopped taking new connections and could not be
 * made again: a watchdog thread dials it every HD_RPC_PROBE_MS as a fresh
 * client (this process's certificate on tls+tcp://) and, after
 * HD_RPC_PROBE_FAILURES probes in a row got no connection within
 * HD_RPC_PROBE_TIMEOUT_MS, closes the listener and listens again
 * (hd_rpc_listener_restarts_total; docs/operations.md, RPC listener
 * watchdog). Any thread; NULL: true. */
bool hd_rpc_server_listening(const hd_rpc_server *srv);

const hd_envelope *hd_rpc_request_envelope(const hd_rpc_request *req);
hd_worker *hd_rpc_request_worker(const hd_rpc_request *req);
/* Sends the reply (copied) and releases req; callable once, from req's worker.
 * Also counts hd_rpc_requests_total{op,status} and the latency histogram. */
void hd_rpc_request_reply(hd_rpc_request *req, const hd_reply *reply);
/* Names the operation in req's metrics (a static string, e.g. from the
 * daemon's op table); "unknown" until set, so peers cannot mint labels. */
void hd_rpc_request_set_op_label(hd_rpc_request *req, const char *label);

/* Reply callback: runs on an NNG thread — hand the result to your own loop.
 * On HD_OK, reply/raw are owned by the callee; free raw with hd_rpc_free. */
typedef void (*hd_rpc_reply_cb)(hd_err err, char *raw, size_t raw_len, void *arg);

/* Opens a client dialing every address in urls (comma-separated, at most 16).
 * A tcp:// address whose host is a DNS name gets one dialer per resolved IP,
 * re-resolved every HD_RPC_RESOLVE_MS (default 5000) milliseconds. */
hd_err hd_rpc_client_open(hd_rpc_client **out, const char *urls);
/* The same, and on tls+tcp:// addresses the server's certificate must name
 * peer (e.g. "hd-auth"; NULL: any certificate of the internal CA; hd/tls.h). */
hd_err hd_rpc_client_open_peer(hd_rpc_client **out, const char *urls, const char *peer);
/* Completes pending calls with HD_ERR_CLOSED, closes and frees. NULL ok.
 * Not concurrently with hd_rpc_client_call, nor from a reply callback. */
void hd_rpc_client_close(hd_rpc_client *c);
/* True when at least one peer pipe is connected. */
bool hd_rpc_client_connected(const hd_rpc_client *c);
/* Sends msg (copied). Either returns an error WITHOUT calling cb
 * (HD_ERR_UNAVAILABLE at once when no peer is connected, HD_ERR_INVALID,
 * HD_ERR_NOMEM), or returns HD_OK and later calls cb exactly once: HD_OK with
 * the raw reply (NUL-terminated copy), HD_ERR_TIMEOUT after timeout_ms,
 * HD_ERR_UNAVAILABLE at once when the peer the request went to went away
 * (only the calls in flight on that replica fail; the caller may send an
 * idempotent request again, to a replica still connected) or when the last
 * peer went away before it was sent, HD_ERR_CLOSED on close.
 * Any thread. */
hd_err hd_rpc_client_call(
    hd_rpc_client *c, const char *msg, size_t len, int timeout_ms, hd_rpc_reply_cb cb, void *arg);
/* Like hd_rpc_client_call, but a client with no peer connected yet (its
 * dialers still connecting, or reconnecting) does not fail at once: the
 * request waits for a connection within timeout_ms, and cb gets
 * HD_ERR_UNAVAILABLE when none came by then. For calls between daemons
 * (hd/peer.h), whose links are dialled when the daemon starts. Any thread. */
hd_err hd_rpc_client_call_wait(
    hd_rpc_client *c, const char *msg, size_t len, int timeout_ms, hd_rpc_reply_cb cb, void *arg);
/* hd_rpc_client_call_wait for a request in two runs of bytes (hd/batch.h:
 * msg->data, the envelope's head from hd_envelope_encode_head, then
 * msg->tail, the body it announces), both borrowed and copied once, into
 * the NNG message. */
hd_err hd_rpc_client_call_wait_part(
    hd_rpc_client *c, const hd_batch_part *msg, int timeout_ms, hd_rpc_reply_cb cb, void *arg);
void hd_rpc_free(char *raw);
/* Largest message a server accepts (HD_MAX_BODY_BYTES plus envelope room). */
size_t hd_rpc_max_message(void);

/* Batching (proto/README.md, Batches): a batcher gathers the calls one event loop
 * makes while it is busy and sends them as one NNG message when the loop has
 * nothing else to run (an event at HD_WORKER_PRIORITY_IDLE), or as soon as
 * max_parts calls or hd_rpc_max_message() bytes are waiting. A lone call goes
 * out as a plain envelope. The server runs a batch's requests on one worker
 * and answers them together, so only put calls of similar cost in one
 * batcher. Everything from the loop's thread. */
typedef struct hd_rpc_batcher hd_rpc_batcher;

/* A batcher's reply callback: runs on the batcher's loop, from an event of
 * its own (never inside hd_rpc_batcher_call or _call_alone). On HD_OK, raw
 * is the reply envelope, borrowed: valid until cb returns (a part of the
 * reply message, which the loop received once, in one hand-off, and which
 * is never copied). A batch whose reply is malformed gives each caller HD_OK
 * with an empty reply. Errors as hd_rpc_client_call's, raw NULL. */
typedef void (*hd_rpc_batch_reply_cb)(hd_err err, const char *raw, size_t raw_len, void *arg);

/* A reply message kept past its callback (hd_rpc_batch_reply_keep). */
typedef struct hd_rpc_reply_hold hd_rpc_reply_hold;
/* Called inside an hd_rpc_batch_reply_cb that got HD_OK: keeps the reply
 * message, so raw (and any pointer into it) stays valid after cb returns,
 * until hd_rpc_batch_reply_release(the hold). The message is not copied
 * (a large body goes from NNG's buffer to a socket: docs/architecture.md,
 * Attachments). NULL outside such a callback. Release from any thread. */
hd_rpc_reply_hold *hd_rpc_batch_reply_keep(void);
/* Lets go of a hold; the last hold frees the message. NULL ok. */
void hd_rpc_batch_reply_release(hd_rpc_reply_hold *hold);

/* A batcher for calls made on worker loop w, sending on c. */
hd_err hd_rpc_batcher_new(hd_rpc_batcher **out, hd_rpc_client *c, hd_worker *w, int max_parts);
/* Pending calls complete with HD_ERR_CLOSED, here, on this thread (their
 * callbacks must not call this batcher); calls already sent complete as
 * usual. NULL ok. */
void hd_rpc_batcher_free(hd_rpc_batcher *b);
/* Either returns an error without calling cb, or HD_OK and later calls cb
 * exactly once (outcomes as hd_rpc_client_call's). msg is one envelope in
 * one or two runs of bytes (hd/batch.h: the head from
 * hd_envelope_encode_head, then the body as tail); its bytes are not copied
 * until they are written into the NNG message, once: they must stay valid
 * and unchanged until cb runs (the struct itself is copied). */
hd_err hd_rpc_batcher_call(hd_rpc_batcher *b, const hd_batch_part *msg, int timeout_ms,
    hd_rpc_batch_reply_cb cb, void *arg);
/* The same, sent at once as a plain envelope, not gathered (a resend). */
hd_err hd_rpc_batcher_call_alone(hd_rpc_batcher *b, const hd_batch_part *msg, int timeout_ms,
    hd_rpc_batch_reply_cb cb, void *arg);

#endif
