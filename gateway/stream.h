/* GET /v1/stream: Server-Sent Events from the bus (docs/architecture.md,
 * "The live stream"; docs/gateway.md, "Event streams"). Everything runs on
 * the loop that accepted the connection.
 *
 * The hub (sse_hub.c, one per loop) subscribes to the bus once, keeps per
 * source (sse_sources.def) the frontier: the last seq it has fanned out,
 * with every earlier one fanned out too. Bus messages come in on an NNG
 * thread and are posted to the loop; an event at frontier + 1 is fanned
 * out, an older one is a duplicate, a newer one means the bus dropped
 * messages and the hub pages the source's <source>_events.replay from the
 * frontier until level. At start it finds each source's last seq by probing
 * replay (limit 1, galloping then bisection: about 2·log2(seq) calls), and
 * every GW_SSE_CATCHUP_MS it pages replay from the frontier in case the last
 * event of a burst was the dropped one.
 *
 * A stream (stream.c) holds its reader (tenant, user, role, token expiry)
 * and its position (sse_pos.h). Per source it is live (takes the hub's
 * events with seq above its position) or catching up: its position is
 * behind the frontier (a Last-Event-ID, or the hub found a gap), so it pages
 * the source's events.since for its tenant from its position up to the
 * frontier, then goes live. Events are filtered per reader (sse_filter.h);
 * the position passes every event either way. */
#ifndef GW_STREAM_H
#define GW_STREAM_H
#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "sse_auth.h"
#include "sse_filter.h"
#include "sse_pos.h"

typedef struct gw_loop gw_loop;
typedef struct gw_req gw_req;
typedef struct gw_conn gw_conn;
typedef struct gw_stream gw_stream;
typedef struct gw_sse_hub gw_sse_hub;

/* How often the hub pages replay from its frontier unasked (milliseconds). */
#define GW_SSE_CATCHUP_MS 2000
/* How soon a source whose last seq is unknown is probed again. */
#define GW_SSE_PROBE_RETRY_MS 100
/* Events per replay or events.since call, and the deadline of one. */
#define GW_SSE_PAGE 500
#define GW_SSE_CALL_MS 5000
/* Streams whose sessions one EVAL checks again (3 arguments each: Redis
 * takes them, hd_redis_eval at most 1021). */
#define GW_SSE_RECHECK_MAX 100

/* One event, parsed once per loop, shared by the streams it goes to. */
typedef struct gw_sse_event {
	int src; /* GW_SSE_SRC_* */
	int64_t seq;
	gw_sse_audience audience;
	char *frame; /* "event: <type>\ndata: <json>\n\n" */
	size_t frame_len;
} gw_sse_event;

/* Builds ev from one event object of the bus or of a page (type, tenant_id,
 * seq, data); false when it is malformed (then ev holds nothing to free). */
bool gw_sse_event_make(const cJSON *obj, int src, gw_sse_event *ev);
void gw_sse_event_fini(gw_sse_event *ev);
/* The source whose bus topics take type, or -1. */
int gw_sse_source_of(const char *type);

/* ---- sse_hub.c (the loop's thread) ---- */
/* Subscribes the loop to the bus and starts probing the sources. */
gw_sse_hub *gw_sse_hub_create(gw_loop *loop);
/* Stops the bus subscription and any new call to the daemons (shutdown). */
void gw_sse_hub_detach(gw_sse_hub *h);
/* Frees the hub; its streams must be gone (gw_conn_free_all first). NULL ok. */
void gw_sse_hub_destroy(gw_sse_hub *h);
/* The loop the hub belongs to. */
gw_loop *gw_sse_hub_loop(gw_sse_hub *h);
/* The frontier of src (GW_SSE_SEQ_UNKNOWN until the probe found it). */
int64_t gw_sse_hub_frontier(const gw_sse_hub *h, int src);
/* Sends the envelope of op for tenant ("" for none: replay) with
 * {"after_seq","limit"} to src's daemon; done runs on the loop with the
 * parsed reply body (NULL on any failure; the callee deletes nothing: done
 * does not own it). false when it could not be sent (done never runs). */
typedef void (*gw_sse_page_cb)(const cJSON *body, void *arg);
bool gw_sse_hub_call(gw_sse_hub *h, int src, bool replay, const char *tenant, int64_t after,
    int limit, gw_sse_page_cb done, void *arg);

/* ---- stream.c (the loop's thread) ---- */
/* Opens the stream gr asks for (the route gateway.stream, after the token
 * and admission): 400 for a bad Last-Event-ID, 429 over HD_SSE_MAX_PER_USER,
 * else 200 text/event-stream and the connection becomes the stream's. */
void gw_stream_open(gw_req *gr);
/* Everything s's connection held was sent (conn.c): a paused catch-up
 * goes on. */
void gw_stream_drained(gw_stream *s);
/* The connection under s went away (conn.c): s stops and is freed. */
void gw_stream_conn_gone(gw_stream *s);
/* The hub fans ev out to every stream live on ev->src. */
void gw_stream_fan_out(gw_sse_hub *h, const gw_sse_event *ev);
/* The hub found src's frontier (fresh streams start there, waiting ones
 * catch up), or its frontier moved after a gap (nothing to do). */
void gw_stream_source_ready(gw_sse_hub *h, int src);
/* The hub's timers: a comment line to every stream, and retries of failed
 * catch-ups plus closing streams whose token expired. */
void gw_stream_heartbeat(gw_sse_hub *h);
void gw_stream_retry(gw_sse_hub *h);
/* Counts the hub's open streams of user (the per-user cap). */
int gw_stream_count_user(gw_sse_hub *h, const char *tenant, const char *user);
/* Ends with `event: reset` every stream of the hub that ended matches
 * (a logout or a user mark published by the auth daemon). */
void gw_stream_sessions_end(gw_sse_hub *h, const gw_sse_ended *ended);
/* Asks every stream's session of Redis again (gw_session_script) and ends
 * those that were logged out or whose user was marked meanwhile: one EVAL
 * per tenant's GW_SSE_RECHECK_MAX streams; false, when the loop's Redis is
 * not connected (nothing asked) or memory ran short (some perhaps asked):
 * the caller asks again later. */
bool gw_stream_sessions_recheck(gw_sse_hub *h);
/* The sessions channel was (re)subscribed: messages published while it was
 * down are lost (Redis pub/sub keeps none), so the hub's next catch-up tick
 * runs gw_stream_sessions_recheck (docs/architecture.md, "Live stream"). */
void gw_sse_hub_sessions_subscribed(gw_sse_hub *h);
/* The hub's list of streams (stream.c adds and removes). */
gw_stream **gw_sse_hub_streams(gw_sse_hub *h);

/* ---- stream_auth.c (the loop's thread; sse_auth.h has the design) ---- */
/* POST /v1/stream/tickets after the token and admission: 201
 * {"ticket","expires_in"} once the ticket is in Redis, else 503. */
void gw_sse_ticket_issue(gw_req *gr);
/* True when gr is GET /v1/stream without Authorization but with a query
 * (that may hold ?ticket=). */
bool gw_sse_ticket_wanted(const gw_req *gr);
/* Takes gr's ticket from Redis (once) and goes on with admission as the
 * token it was made for; answers 400/401/403/503 otherwise. */
void gw_sse_ticket_redeem(gw_req *gr);
/* A Redis client of h's loop subscribed to the sessions channel (its
 * messages end streams through gw_stream_sessions_end); NULL on failure. */
struct hd_redis;
struct hd_redis *gw_sse_sessions_open(gw_sse_hub *h);

#endif
