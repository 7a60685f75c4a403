/* The gateway's shared state and the steps of one request. Threads: main
 * starts HD_HTTP_THREADS worker loops (libs worker.h); each loop owns one
 * listener on the shared port (SO_REUSEPORT), its connections (conn.c) and
 * one Redis client. A
 * request lives on the loop that accepted it from start to reply; no other
 * thread touches it: its upstream reply comes back to the loop through the
 * loop's batcher (hd/rpc.h). */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "hd/jwt.h"
#include "hd/redis.h"
#include "hd/rpc.h"
#include "hd/admin.h"
#include "hd/worker.h"
#include "addrcount.h"
#include "cors.h"
#include "proxy.h"
#include "ratelimit.h"
#include "route.h"
#include "static.h"
#include "stream.h"

#define GW_VERSION "0.1.0"

struct event;
struct evconnlistener;
struct sockaddr;
struct iovec;
typedef struct gw_conn gw_conn;
typedef struct gw_http_head gw_http_head;

/* Settings read once at start. */
typedef struct gw_config {
	char bind[128];
	long port;
	long threads;
	long max_body;
	long max_upload; /* HD_MAX_UPLOAD_BYTES: the body of POST /v1/attachments */
	long upstream_timeout_ms;
	long rate_limit; /* per minute, per user or per anonymous address */
	long login_ip_limit; /* logins per minute per address */
	long rpc_batch_max; /* calls per NNG message (1: no batching) */
	long write_timeout_ms; /* an answer the client does not read: closed */
	long request_timeout_ms; /* a request not whole by then: 408 */
	long max_conns; /* open connections per loop; more are closed at accept */
	long max_conns_per_addr; /* per loop and peer address (0: no cap) */
	long loop_buffer_bytes; /* input buffers of a loop's connections, in all */
	long sse_heartbeat_ms; /* a comment line on every stream this often */
	long sse_buffer_bytes; /* unsent bytes a stream may hold: then reset */
	long sse_max_per_user; /* open streams per user (per loop) */
	long sse_ticket_ttl_s; /* a stream ticket's life at most (HD_SSE_TICKET_TTL_S) */
	long drain_s; /* HD_SHUTDOWN_DRAIN_S: serving on, not ready, after SIGTERM */
	char redis_url[512];
	gw_proxies proxies; /* HD_TRUSTED_PROXIES: whose X-Forwarded-For counts */
} gw_config;

/* Process-wide state: written by main before the loops start, read-only
 * afterwards except the atomics. */
typedef struct gw {
	gw_config cfg;
	gw_cors cors;
	hd_jwt_keys keys;
	gw_static web; /* the web console's files (HD_WEB_ROOT) */
	char *jwks; /* served at /.well-known/jwks.json */
	size_t jwks_len;
	hd_rpc_client *upstream[GW_SVC__COUNT];
	hd_worker_pool *pool;
	hd_worker_pool *admin_pool; /* one loop: the admin port (/metrics) */
	hd_admin_spec admin_spec;
	hd_admin *admin;
	atomic_int inflight; /* requests accepted and not yet answered */
	atomic_bool draining; /* SIGTERM came: /readyz answers 503, serving goes on */
	pthread_mutex_t detach_mu; /* guards detached_loops (shutdown) */
	pthread_cond_t detach_cv;
	int detached_loops;
} gw;

/* What one loop owns (set up and torn down on its own thread). */
typedef struct gw_loop {
	gw *gw;
	hd_worker *worker;
	struct evconnlistener *listener; /* NULL once it stopped accepting */
	gw_conn *conns; /* every open connection (conn.c) */
	long conn_count; /* how many */
	gw_addrcount addrs; /* and how many per peer address (when capped) */
	size_t in_bytes; /* their input buffers' sizes, in all */
	struct event *accept_pause; /* accepting again after EMFILE (conn.c) */
	bool stopping; /* answers close their connection */
	time_t date_sec; /* the second date_line was formatted for */
	char date_line[48]; /* "Date: ...\r\n" */
	hd_redis *redis;
	hd_jwt_cache *jwt_cache; /* tokens this loop verified */
	bool detached; /* shutting down: no more calls to the daemons */
	/* one per forwarded route (index in gw_route_table), so only requests
	 * of one kind share a batch: a slow search never holds up GET by id */
	hd_rpc_batcher **batcher;
	gw_sse_hub *sse; /* GET /v1/stream: the bus subscription and the streams */
} gw_loop;

#define GW_OUT_HEADERS_INLINE 512

/* One request in flight; owned by its loop, freed by gw_reply_send. */
typedef struct gw_req {
	gw_loop *loop;
	gw_conn *conn; /* the connection it came on: lives until the answer */
	const gw_http_head *head; /* NULL when the head itself was refused */
	const char *body; /* in the connection's buffer; NULL when none */
	size_t body_len;
	/* the answer's headers so far, each "Name: value\r\n"; out_headers is
	 * out_headers_inline until that is too small */
	char *out_headers;
	size_t out_headers_len, out_headers_cap;
	char out_headers_inline[GW_OUT_HEADERS_INLINE];
	struct timespec start;
	unsigned method;
	gw_match match;
	char request_id[GW_REQUEST_ID_MAX + 1];
	char client_ip[64];
	hd_jwt_claims claims;
	bool authed;
	gw_rl_decision rl;
	bool rl_set;
	/* the encoded envelope's head (the body stays in body), kept for a
	 * retry on another replica (upstream.c) */
	char *up_msg;
	size_t up_msg_len;
	int64_t up_deadline_ms; /* CLOCK_MONOTONIC milliseconds */
	int up_tries; /* resends so far, for any reason */
	int up_lost; /* of which after a call was lost with its replica */
	/* the reply message the answer's body lies in, kept so that the body
	 * is written from there (gw_conn_respond), or NULL */
	hd_rpc_reply_hold *reply_hold;
} gw_req;

/* conn.c: the connections of a loop (all on the loop's thread).
 * gw_conn_accept_cb is the listener's callback (arg: the gw_loop).
 * gw_conn_respond writes gr's answer (status line, Date, Content-Length,
 * Connection, gr's headers, body unless HEAD) and detaches gr from its
 * connection; gw_conn_resume then goes on with the connection's next request
 * (or frees a connection whose client left). */
void gw_conn_accept_cb(
    struct evconnlistener *lev, int fd, struct sockaddr *sa, int socklen, void *arg);
/* The listener's error callback: out of descriptors (EMFILE, ENFILE) pauses
 * accepting for a moment instead of spinning on the pending connection. */
void gw_conn_accept_error_cb(struct evconnlistener *lev, void *arg);
void gw_conn_respond(gw_req *gr, int status, const char *body, size_t len);
void gw_conn_resume(gw_conn *c);
/* Event streams (stream.c): gw_conn_stream_begin sends gr's 200 head
 * (no length: the stream ends with the connection) and makes gr's
 * connection s's, reading nothing more from it but its end (no idle
 * timeout; the write timeout still holds); NULL when the client is gone.
 * gw_conn_stream_write sends (false when the client is gone);
 * gw_conn_unsent counts what waits for the client; gw_conn_stream_end
 * detaches the stream and closes once what waits is sent. When the
 * connection goes first, conn.c calls gw_stream_conn_gone. */
gw_conn *gw_conn_stream_begin(gw_req *gr, gw_stream *s);
bool gw_conn_stream_write(gw_conn *c, struct iovec *iov, int iovcnt);
size_t gw_conn_unsent(const gw_conn *c);
void gw_conn_stream_end(gw_conn *c);
/* Closes the connections with nothing in flight / every connection. */
void gw_conn_close_idle(gw_loop *loop);
void gw_conn_free_all(gw_loop *loop);

/* http.c: the largest body the request of head may send: HD_MAX_UPLOAD_BYTES
 * for POST GW_UPLOAD_PATH (raw bytes, any Content-Type: the daemon checks
 * it against the bytes), HD_MAX_BODY_BYTES for everything else. */
#define GW_UPLOAD_PATH "/v1/attachments"
size_t gw_body_max(const gw_config *cfg, const gw_http_head *head);

/* http.c: serves a whole request gr (head and body read), or answers one the
 * server refused (status, detail) before it was whole. */
void gw_request_serve(gw_req *gr);
void gw_request_refuse(gw_req *gr, int status, const char *detail);

/* http.c: worker init/fini callbacks that set up and free a loop. */
hd_err gw_loop_init_cb(hd_worker *w, void *arg);
void gw_loop_fini_cb(hd_worker *w, void *arg);
/* http.c: stops accepting connections on the loop of worker arg (posted to it). */
void gw_loop_stop_accepting(void *arg);
/* Shutdown's first step, on the loop's thread (arg: its hd_worker): answers
 * close their connection from now on, so kept-alive clients reconnect to a
 * gateway that is not stopping; the listener stays open. */
void gw_loop_drain_start(void *arg);
/* Shutdown, on each loop before the service clients close: frees the
 * batchers (their waiting calls fail and are answered 503) and stops calls
 * to the daemons (gw_upstream_forward answers 503), then counts itself in
 * gw.detached_loops. */
void gw_loop_detach(void *arg);

/* auth.c: verifies the token and the role of gr's route; on failure it has
 * answered (401/403) and returns false. */
bool gw_auth_check(gw_req *gr);

/* admit.c: when the token of claims was issued, in Unix milliseconds (its
 * UUIDv7 jti, else iat). */
int64_t gw_token_issued_ms(const hd_jwt_claims *claims);
/* admit.c: runs the Redis admission script, then forwards (or answers 429,
 * 401 or 503). */
void gw_admit_start(gw_req *gr);

/* upstream.c: opens/closes one client per service (none for a service whose
 * setting is empty: disabled, its routes answer 503); forwards gr. */
hd_err gw_upstream_open(gw *g);
void gw_upstream_close(gw *g);
/* True when service svc is connected, or disabled (readiness skips it). */
bool gw_upstream_ready(const gw *g, gw_service svc);
/* The loop's batchers (on the loop's thread). */
hd_err gw_upstream_loop_open(gw_loop *loop);
void gw_upstream_loop_close(gw_loop *loop);
void gw_upstream_forward(gw_req *gr);

/* web.c: loads HD_WEB_ROOT into web (at start, before the loops); true
 * when path is one of the web console's (not the API's, no route's);
 * gw_web_answer serves it from gw.web. */
hd_err gw_web_load(gw_static *web);
bool gw_web_wants(const char *path);
void gw_web_answer(gw_req *gr);

/* local.c: answers the gateway's own routes. */
void gw_local_answer(gw_req *gr);

/* reply.c: declares the metrics; answers and frees gr (never touch gr after).
 * body is copied; content_type NULL sends none. */
void gw_metrics_declare(void);
/* GET /v1/openapi.yaml (openapi.c); init once at start-up. */
void gw_openapi_init(void);
void gw_openapi_answer(gw_req *gr);

void gw_reply_send(gw_req *gr, int status, const char *content_type, const char *body, size_t len);
/* Answers 200 text/event-stream and hands gr's connection to s
 * (gw_conn_stream_begin); frees gr. NULL when the client is gone. */
gw_conn *gw_reply_stream(gw_req *gr, gw_stream *s);
/* Answers problem+json for status with detail. */
void gw_reply_problem(gw_req *gr, int status, const char *detail);
/* Adds an output header to gr's response (dropped, with a warning, when
 * name or value could break the header section). */
void gw_reply_header(gw_req *gr, const char *name, const char *value);
/* Returns gr's request header name, or NULL. */
const char *gw_req_header(const gw_req *gr, const char *name);

#endif
