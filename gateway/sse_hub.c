/* The loop's event hub of GET /v1/stream (stream.h has the design): one bus
 * subscription per loop, the frontier of each source, gap repair through
 * the sources' <source>_events.replay, and the calls to the daemons that
 * streams page events.since with. Everything but bus_event_cb and
 * call_replied_cb (NNG threads, which only post to the loop) runs on the
 * loop's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "hd/bus.h"
#include "hd/config.h"
#include "hd/consumer.h"
#include "hd/log.h"
#include "hd/redis.h"
#include "gateway.h"
#include "stream.h"

static const struct {
	const char *name, *prefixes, *since_op, *replay_op;
	gw_service svc;
} hub_sources[GW_SSE_SRC__COUNT] = {
#define GW_SSE_SOURCE(name, svc, prefixes, since, replay)                                          \
	{ #name, prefixes, since, replay, GW_SVC_##svc },
#include "sse_sources.def"
#undef GW_SSE_SOURCE
};

typedef enum hub_phase { HUB_PROBING, HUB_READY } hub_phase;

typedef struct hub_src {
	hub_phase phase;
	int64_t frontier; /* HUB_READY: the last seq fanned out, all before it too */
	int64_t lo, hi; /* HUB_PROBING: the last seq is >= lo and <= hi (-1: unknown) */
	int64_t probe_at; /* the after_seq of the probe in flight */
	bool busy; /* a probe or replay call is in flight */
} hub_src;

struct gw_sse_hub {
	gw_loop *loop;
	hd_bus_sub *sub;
	hub_src src[GW_SSE_SRC__COUNT];
	gw_stream *streams;
	struct event *beat; /* heartbeat comment lines */
	struct event *catchup; /* replay from the frontier, retries */
	hd_redis *sessions; /* subscribed to ended sessions (stream_auth.c) */
	bool recheck; /* (re)subscribed: check every stream's session again */
	bool detached;
};

int gw_sse_source_of(const char *type)
{
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++) {
		const char *p = hub_sources[i].prefixes;
		do {
			size_t n = strcspn(p, ",");
			if (n > 0 && strncmp(type, p, n) == 0)
				return i;
			p += n;
		} while (*p++ == ',');
	}
	return -1;
}

bool gw_sse_event_make(const cJSON *obj, int src, gw_sse_event *ev)
{
	hd_consumer_event ce;
	memset(ev, 0, sizeof(*ev));
	/* the type becomes an `event:` line: nothing but [a-z_.] in it */
	if (!hd_consumer_event_read(obj, &ce)
	    || strspn(ce.type, "abcdefghijklmnopqrstuvwxyz_.") != strlen(ce.type)
	    || gw_sse_source_of(ce.type) != src
	    || !gw_sse_audience_of(ce.type, ce.tenant_id, ce.data, &ev->audience))
		return false;
	char *json = cJSON_PrintUnformatted(obj);
	if (json == NULL)
		return false;
	size_t cap = strlen(json) + strlen(ce.type) + 20;
	ev->frame = malloc(cap);
	if (ev->frame != NULL)
		ev->frame_len
		    = (size_t)snprintf(ev->frame, cap, "event: %s\ndata: %s\n\n", ce.type, json);
	cJSON_free(json);
	ev->src = src;
	ev->seq = ce.seq;
	return ev->frame != NULL;
}

void gw_sse_event_fini(gw_sse_event *ev)
{
	free(ev->frame);
	ev->frame = NULL;
}

int64_t gw_sse_hub_frontier(const gw_sse_hub *h, int src)
{
	return h->src[src].phase == HUB_READY ? h->src[src].frontier : GW_SSE_SEQ_UNKNOWN;
}

gw_loop *gw_sse_hub_loop(gw_sse_hub *h)
{
	return h->loop;
}

gw_stream **gw_sse_hub_streams(gw_sse_hub *h)
{
	return &h->streams;
}

/* ---- calls to the daemons ---- */

typedef struct hub_call {
	gw_sse_hub *hub;
	gw_sse_page_cb done;
	void *arg;
	hd_err err;
	char *raw;
	size_t raw_len;
} hub_call;

static void call_on_loop(void *arg)
{
	hub_call *call = arg;
	cJSON *body = hd_consumer_replay_page(call->err, call->raw, call->raw_len);
	call->done(body, call->arg);
	cJSON_Delete(body);
	hd_rpc_free(call->raw);
	free(call);
}

/* On an NNG thread: hands the reply to the loop (queued work runs before
 * the loop ends, so call->hub is still there). */
static void call_replied_cb(hd_err err, char *raw, size_t raw_len, void *arg)
{
	hub_call *call = arg;
	call->err = err;
	call->raw = raw;
	call->raw_len = raw_len;
	if (hd_worker_post(call->hub->loop->worker, call_on_loop, call) != HD_OK) {
		hd_log_error("stream: a reply of a daemon could not reach its loop");
		hd_rpc_free(raw);
		free(call);
	}
}

bool gw_sse_hub_call(gw_sse_hub *h, int src, bool replay, const char *tenant, int64_t after,
    int limit, gw_sse_page_cb done, void *arg)
{
	hd_rpc_client *client = h->loop->gw->upstream[hub_sources[src].svc];
	if (h->detached || h->loop->detached || client == NULL)
		return false;
	hub_call *call = calloc(1, sizeof(*call));
	char request_id[96], *msg = NULL;
	size_t len = 0;
	hd_err err = call != NULL ? HD_OK : HD_ERR_NOMEM;
	if (err == HD_OK) {
		snprintf(
		    request_id, sizeof(request_id), "gateway-stream-%s", hub_sources[src].name);
		err = hd_consumer_replay_encode(
		    replay ? hub_sources[src].replay_op : hub_sources[src].since_op, request_id,
		    replay ? NULL : tenant, after, limit, hd_now_ms() + GW_SSE_CALL_MS, &msg, &len);
	}
	if (err == HD_OK) {
		*call = (hub_call) { .hub = h, .done = done, .arg = arg };
		err = hd_rpc_client_call(client, msg, len, GW_SSE_CALL_MS, call_replied_cb, call);
	}
	free(msg);
	if (err != HD_OK)
		free(call);
	return err == HD_OK;
}

/* ---- the frontier ---- */

typedef struct hub_ctx {
	gw_sse_hub *hub;
	int src;
} hub_ctx;

static void hub_step(gw_sse_hub *h, int src);

/* Takes ev when it is the next one of its source; true when it was. */
static bool hub_take(gw_sse_hub *h, const gw_sse_event *ev)
{
	hub_src *s = &h->src[ev->src];
	if (s->phase != HUB_READY
	    || hd_consumer_seq_place(s->frontier, ev->seq) == HD_CONSUMER_SEQ_SEEN)
		return false;
	/* a replay page that skips a seq means the outbox has a hole (rows
	 * removed by hand): nothing will ever fill it, so it is passed */
	s->frontier = ev->seq;
	gw_stream_fan_out(h, ev);
	return true;
}

static void replay_done(const cJSON *body, void *arg)
{
	hub_ctx *ctx = arg;
	gw_sse_hub *h = ctx->hub;
	hub_src *s = &h->src[ctx->src];
	const cJSON *item;
	s->busy = false;
	if (body == NULL) {
		hd_log_warn("stream: %s of %s failed; retrying in %d ms",
		    hub_sources[ctx->src].replay_op, hub_sources[ctx->src].name, GW_SSE_CATCHUP_MS);
		free(ctx);
		return;
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(body, "items"))
	{
		gw_sse_event ev;
		if (gw_sse_event_make(item, ctx->src, &ev))
			hub_take(h, &ev);
		gw_sse_event_fini(&ev);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "more")))
		hub_step(h, ctx->src);
	free(ctx);
}

/* One probe answer: the source has an event after the probed seq (its seq
 * moves lo up) or none (hi comes down to the probed seq). */
static void probe_done(const cJSON *body, void *arg)
{
	hub_ctx *ctx = arg;
	gw_sse_hub *h = ctx->hub;
	int src = ctx->src;
	hub_src *s = &h->src[src];
	free(ctx);
	s->busy = false;
	if (body == NULL) {
		hd_log_warn("stream: cannot probe the events of %s yet; retrying in %d ms",
		    hub_sources[src].name, GW_SSE_CATCHUP_MS);
		return;
	}
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "items"), 0);
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(first, "seq");
	if (first == NULL)
		s->hi = s->probe_at;
	else if (cJSON_IsNumber(seq) && seq->valuedouble > (double)s->probe_at
	    && seq->valuedouble <= (double)GW_SSE_SEQ_MAX)
		s->lo = (int64_t)seq->valuedouble;
	else
		s->lo = s->probe_at + 1; /* malformed: at least there is one after it */
	hub_step(h, src);
}

/* The source's last seq is known: streams may start from it. */
static void hub_ready(gw_sse_hub *h, int src)
{
	hub_src *s = &h->src[src];
	s->phase = HUB_READY;
	s->frontier = s->lo;
	hd_log_info("stream: events of %s start after seq %lld", hub_sources[src].name,
	    (long long)s->frontier);
	gw_stream_source_ready(h, src);
}

/* Starts the next call src needs: a probe until its last seq is known
 * (galloping up from 0 until a probe finds nothing, then bisecting), then
 * replay pages from the frontier. Nothing while a call is in flight. */
static void hub_step(gw_sse_hub *h, int src)
{
	hub_src *s = &h->src[src];
	if (s->busy)
		return;
	bool probe = s->phase == HUB_PROBING;
	if (probe && s->hi >= 0 && s->lo >= s->hi) {
		hub_ready(h, src);
		probe = false;
	}
	hub_ctx *ctx = malloc(sizeof(*ctx));
	if (ctx == NULL)
		return;
	*ctx = (hub_ctx) { h, src };
	int64_t after = s->frontier;
	if (probe) {
		after = s->hi < 0 ? (s->lo == 0 ? 0 : 2 * s->lo) : s->lo + (s->hi - s->lo) / 2;
		after = after < GW_SSE_SEQ_MAX ? after : GW_SSE_SEQ_MAX;
		s->probe_at = after;
	}
	s->busy = gw_sse_hub_call(h, src, true, "", after, probe ? 1 : GW_SSE_PAGE,
	    probe ? probe_done : replay_done, ctx);
	if (!s->busy)
		free(ctx);
}

/* ---- the bus ---- */

typedef struct hub_msg {
	gw_sse_hub *hub;
	int src;
	size_t len;
	char json[]; /* NUL-terminated */
} hub_msg;

static void bus_event_on_loop(void *arg)
{
	hub_msg *m = arg;
	gw_sse_hub *h = m->hub;
	hub_src *s = &h->src[m->src];
	const char *end = NULL;
	/* the length takes the NUL in: cJSON 1.7.15 looks for it inside */
	cJSON *obj = cJSON_ParseWithLengthOpts(m->json, m->len + 1, &end, 1);
	gw_sse_event ev = { .frame = NULL };
	if (obj == NULL)
		hd_log_warn("stream: an event of the bus that is not JSON was dropped");
	if (obj != NULL && gw_sse_event_make(obj, m->src, &ev)) {
		/* the next one is fanned out at once, even while a replay runs
		 * (its page then skips it); a later one means the bus dropped
		 * some: replay fetches them and this one in order */
		hd_consumer_seq place = s->phase == HUB_READY
		    ? hd_consumer_seq_place(s->frontier, ev.seq)
		    : HD_CONSUMER_SEQ_SEEN;
		if (place == HD_CONSUMER_SEQ_NEXT)
			hub_take(h, &ev);
		else if (place == HD_CONSUMER_SEQ_GAP && !h->detached)
			hub_step(h, m->src);
	}
	gw_sse_event_fini(&ev);
	cJSON_Delete(obj);
	free(m);
}

/* On an NNG thread: copies the event and posts it to the loop. */
static void bus_event_cb(const char *type, const char *json, size_t len, void *arg)
{
	gw_sse_hub *h = arg;
	int src = gw_sse_source_of(type);
	hub_msg *m = src >= 0 ? malloc(sizeof(*m) + len + 1) : NULL;
	if (m == NULL)
		return; /* a dropped event: the frontier's catch-up fetches it */
	m->hub = h;
	m->src = src;
	m->len = len;
	memcpy(m->json, json, len);
	m->json[len] = '\0';
	if (hd_worker_post(h->loop->worker, bus_event_on_loop, m) != HD_OK)
		free(m);
}

/* ---- timers and life ---- */

static void beat_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gw_stream_heartbeat(arg);
}

/* Every GW_SSE_CATCHUP_MS, or every GW_SSE_PROBE_RETRY_MS while a source's
 * last seq is unknown (at start the daemons may not be connected yet). */
static void catchup_arm(gw_sse_hub *h)
{
	long ms = GW_SSE_CATCHUP_MS;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		if (h->src[i].phase == HUB_PROBING)
			ms = GW_SSE_PROBE_RETRY_MS;
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000 * 1000) };
	event_add(h->catchup, &tv);
}

static void catchup_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_sse_hub *h = arg;
	(void)fd;
	(void)what;
	if (h->detached)
		return;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		hub_step(h, i);
	gw_stream_retry(h);
	if (h->recheck && gw_stream_sessions_recheck(h))
		h->recheck = false;
	catchup_arm(h);
}

void gw_sse_hub_sessions_subscribed(gw_sse_hub *h)
{
	h->recheck = true;
}

/* The comma-separated topics of every source. */
static void all_prefixes(char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < GW_SSE_SRC__COUNT && n < cap; i++)
		n += (size_t)snprintf(
		    out + n, cap - n, "%s%s", i ? "," : "", hub_sources[i].prefixes);
}

gw_sse_hub *gw_sse_hub_create(gw_loop *loop)
{
	gw_sse_hub *h = calloc(1, sizeof(*h));
	char prefixes[256];
	struct event_base *base = hd_worker_base(loop->worker);
	long beat_ms = loop->gw->cfg.sse_heartbeat_ms;
	struct timeval beat = { beat_ms / 1000, (suseconds_t)(beat_ms % 1000 * 1000) };
	if (h == NULL)
		return NULL;
	h->loop = loop;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		h->src[i] = (hub_src) { .phase = HUB_PROBING, .hi = -1 };
	all_prefixes(prefixes, sizeof(prefixes));
	h->beat = event_new(base, -1, EV_PERSIST, beat_cb, h);
	h->catchup = evtimer_new(base, catchup_cb, h);
	if (h->beat == NULL || h->catchup == NULL || event_add(h->beat, &beat) != 0
	    || hd_bus_sub_open(&h->sub, hd_config_str("HD_BUS_SUB_URL"), prefixes, bus_event_cb, h)
	        != HD_OK) {
		gw_sse_hub_destroy(h);
		return NULL;
	}
	/* without it streams still end when their token expires */
	if ((h->sessions = gw_sse_sessions_open(h)) == NULL)
		hd_log_error("stream: no subscription to ended sessions: a logout leaves its "
		             "streams open until the token expires");
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		hub_step(h, i);
	catchup_arm(h);
	return h;
}

void gw_sse_hub_detach(gw_sse_hub *h)
{
	if (h == NULL)
		return;
	h->detached = true;
	hd_bus_sub_close(h->sub); /* events already posted still run, harmlessly */
	h->sub = NULL;
}

void gw_sse_hub_destroy(gw_sse_hub *h)
{
	if (h == NULL)
		return;
	gw_sse_hub_detach(h);
	hd_redis_destroy(h->sessions);
	if (h->beat != NULL)
		event_free(h->beat);
	if (h->catchup != NULL)
		event_free(h->catchup);
	free(h);
}
