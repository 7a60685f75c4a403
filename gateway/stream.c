/* The streams of GET /v1/stream on one loop (stream.h has the design): the
 * answer's head, per source live or catching up through events.since, the
 * filter per reader, the id (position) on every event, heartbeats, the
 * bounded buffer and its `event: reset`, the per-user cap, token expiry.
 * Everything on the loop's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/query.h"
#include "gateway.h"
#include "http1.h"
#include "stream.h"

typedef enum st_mode {
	ST_WAIT, /* the hub does not know the source's frontier yet */
	ST_CATCHUP, /* behind the frontier: paging events.since */
	ST_LIVE, /* takes the hub's events */
} st_mode;

struct gw_stream {
	gw_sse_hub *hub;
	gw_conn *conn; /* NULL once the stream ended */
	gw_stream *prev, *next; /* in the hub's list while conn is set */
	char tenant[37], user[37];
	unsigned role; /* GW_ROLE_* bit */
	char jti[64]; /* the token's: a logout of it ends the stream */
	int64_t issued_ms; /* when the token was issued: a user mark after it ends the stream */
	int64_t exp; /* the token's expiry (unix seconds): then reset */
	gw_sse_pos pos;
	st_mode mode[GW_SSE_SRC__COUNT];
	bool calling[GW_SSE_SRC__COUNT]; /* an events.since call is in flight */
	bool paused[GW_SSE_SRC__COUNT]; /* catching up waits for the client to read */
	int calls; /* how many: s is freed once it ended and this is 0 */
};

static const char reset_frame[] = "event: reset\ndata: {}\n\n";

static void stream_free_if_done(gw_stream *s)
{
	if (s->conn == NULL && s->calls == 0)
		free(s);
}

static void list_remove(gw_stream *s)
{
	gw_stream **head = gw_sse_hub_streams(s->hub);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else if (*head == s)
		*head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	hd_metrics_add("hd_sse_connections", NULL, -1);
}

/* Ends s: no more events; its connection closes once what it holds is
 * sent (or at once when the client is gone). */
static void stream_close(gw_stream *s)
{
	gw_conn *c = s->conn;
	if (c == NULL)
		return;
	list_remove(s);
	s->conn = NULL;
	gw_conn_stream_end(c);
	stream_free_if_done(s);
}

void gw_stream_conn_gone(gw_stream *s)
{
	list_remove(s);
	s->conn = NULL;
	stream_free_if_done(s);
}

/* The final frame of a client that cannot keep up (or whose token ran
 * out): it reconnects with its last id and resumes. */
static void stream_reset(gw_stream *s, const char *why)
{
	struct iovec iov = { (void *)reset_frame, sizeof(reset_frame) - 1 };
	hd_metrics_add("hd_sse_resets_total", why, 1);
	gw_conn_stream_write(s->conn, &iov, 1);
	stream_close(s);
}

/* Writes frame (with the stream's position as its id when with_id); false
 * when s ended (reset because its buffer is full, or the client left). */
static bool stream_write(gw_stream *s, const char *frame, size_t len, bool with_id)
{
	const gw_config *cfg = &gw_sse_hub_loop(s->hub)->gw->cfg;
	/* the streams of a loop that are live share their position: one event
	 * fanned out to thousands encodes its id once */
	static _Thread_local struct {
		gw_sse_pos pos;
		char line[GW_SSE_POS_MAX + 8];
		size_t len;
	} id;
	size_t id_len = 0;
	if (with_id) {
		if (id.len == 0 || memcmp(&id.pos, &s->pos, sizeof(s->pos)) != 0) {
			id.pos = s->pos;
			memcpy(id.line, "id: ", 4);
			id.len = 4 + gw_sse_pos_encode(&s->pos, id.line + 4);
			id.line[id.len++] = '\n';
		}
		id_len = id.len;
	}
	if (gw_conn_unsent(s->conn) + id_len + len > (size_t)cfg->sse_buffer_bytes) {
		stream_reset(s, "reason=\"slow_client\"");
		return false;
	}
	struct iovec iov[2] = { { id.line, id_len }, { (void *)frame, len } };
	if (!gw_conn_stream_write(s->conn, with_id ? iov : iov + 1, with_id ? 2 : 1)) {
		stream_close(s);
		return false;
	}
	return true;
}

/* Passes ev on s's position, and sends it when s's reader may read it;
 * false when s ended. */
static bool stream_offer(gw_stream *s, const gw_sse_event *ev)
{
	s->pos.seq[ev->src] = ev->seq;
	if (!gw_sse_visible(&ev->audience, s->tenant, s->user, s->role))
		return true;
	return stream_write(s, ev->frame, ev->frame_len, true);
}

void gw_stream_fan_out(gw_sse_hub *h, const gw_sse_event *ev)
{
	gw_stream *next;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = next) {
		next = s->next;
		if (s->mode[ev->src] == ST_LIVE && ev->seq > s->pos.seq[ev->src])
			stream_offer(s, ev);
	}
}

/* ---- catching up ---- */

typedef struct st_call {
	gw_stream *s;
	int src;
} st_call;

static void stream_catchup(gw_stream *s, int src);

/* Takes one events.since page: the events up to the frontier, in order;
 * live once the page reached it (or the source has no more). While half of
 * the stream's buffer waits for the client, the rest of the page is left:
 * gw_stream_drained asks again from the position once it is sent, so a
 * long catch-up goes at the client's pace instead of overflowing. */
static void since_take(gw_stream *s, int src, const cJSON *body)
{
	const gw_config *cfg = &gw_sse_hub_loop(s->hub)->gw->cfg;
	int64_t frontier = gw_sse_hub_frontier(s->hub, src);
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(body, "items"))
	{
		gw_sse_event ev;
		if (gw_conn_unsent(s->conn) > (size_t)cfg->sse_buffer_bytes / 2) {
			s->paused[src] = true;
			return;
		}
		if (!gw_sse_event_make(item, src, &ev)) {
			gw_sse_event_fini(&ev);
			continue;
		}
		bool past = ev.seq > frontier; /* the hub fans it out live */
		if (!past && ev.seq > s->pos.seq[src])
			stream_offer(s, &ev);
		gw_sse_event_fini(&ev);
		if (s->conn == NULL)
			return;
		if (past)
			break;
	}
	const cJSON *last = cJSON_GetObjectItemCaseSensitive(body, "last_seq");
	bool more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "more"));
	if (!more || (cJSON_IsNumber(last) && last->valuedouble >= (double)frontier)) {
		if (s->pos.seq[src] < frontier)
			s->pos.seq[src] = frontier;
		s->mode[src] = ST_LIVE;
		return;
	}
	stream_catchup(s, src);
}

static void since_done(const cJSON *body, void *arg)
{
	st_call *call = arg;
	gw_stream *s = call->s;
	int src = call->src;
	free(call);
	s->calling[src] = false;
	/* a failure leaves it to gw_stream_retry; s lives until calls is 0 */
	if (s->conn != NULL && body != NULL)
		since_take(s, src, body);
	s->calls--;
	stream_free_if_done(s);
}

void gw_stream_drained(gw_stream *s)
{
	for (int i = 0; i < GW_SSE_SRC__COUNT && s->conn != NULL; i++) {
		if (s->paused[i]) {
			s->paused[i] = false;
			stream_catchup(s, i);
		}
	}
}

/* Asks src's events.since for s's tenant from s's position (once the hub
 * knows the frontier; a failure is retried by gw_stream_retry). */
static void stream_catchup(gw_stream *s, int src)
{
	int64_t frontier = gw_sse_hub_frontier(s->hub, src);
	if (s->conn == NULL || s->calling[src])
		return;
	if (frontier == GW_SSE_SEQ_UNKNOWN) {
		s->mode[src] = ST_WAIT;
		return;
	}
	if (s->pos.seq[src] >= frontier) {
		s->mode[src] = ST_LIVE;
		return;
	}
	s->mode[src] = ST_CATCHUP;
	st_call *call = malloc(sizeof(*call));
	if (call == NULL)
		return;
	*call = (st_call) { s, src };
	if (!gw_sse_hub_call(
	        s->hub, src, false, s->tenant, s->pos.seq[src], GW_SSE_PAGE, since_done, call)) {
		free(call);
		return;
	}
	s->calling[src] = true;
	s->calls++;
}

/* Where s starts on src: at the frontier when it names no position there
 * (or when the hub learns the frontier), else catching up from it. */
static void stream_place(gw_stream *s, int src)
{
	int64_t frontier = gw_sse_hub_frontier(s->hub, src);
	if (s->pos.seq[src] == GW_SSE_SEQ_UNKNOWN && frontier != GW_SSE_SEQ_UNKNOWN) {
		s->pos.seq[src] = frontier;
		s->mode[src] = ST_LIVE;
		return;
	}
	stream_catchup(s, src);
}

void gw_stream_source_ready(gw_sse_hub *h, int src)
{
	gw_stream *next;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = next) {
		next = s->next;
		if (s->mode[src] == ST_WAIT)
			stream_place(s, src);
	}
}

void gw_stream_retry(gw_sse_hub *h)
{
	gw_stream *next;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = next) {
		next = s->next;
		for (int i = 0; i < GW_SSE_SRC__COUNT && s->conn != NULL; i++)
			if (s->mode[i] == ST_CATCHUP && !s->calling[i] && !s->paused[i])
				stream_catchup(s, i);
	}
}

void gw_stream_heartbeat(gw_sse_hub *h)
{
	static const char comment[] = ":\n\n";
	int64_t now = (int64_t)time(NULL);
	gw_stream *next;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = next) {
		next = s->next;
		if (s->exp > 0 && now >= s->exp)
			stream_reset(s, "reason=\"token_expired\"");
		else
			stream_write(s, comment, sizeof(comment) - 1, false);
	}
}

void gw_stream_sessions_end(gw_sse_hub *h, const gw_sse_ended *ended)
{
	gw_stream *next;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = next) {
		next = s->next;
		if (gw_sse_ended_matches(ended, s->tenant, s->user, s->jti, s->issued_ms))
			stream_reset(s, "reason=\"session_ended\"");
	}
}

/* The streams one EVAL of gw_session_script checks: one tenant's (their keys
 * share the tenant's hash tag, so one Redis Cluster slot), at most
 * GW_SSE_RECHECK_MAX; each held (calls) until the answer. */
typedef struct recheck_batch {
	int n;
	gw_stream *streams[GW_SSE_RECHECK_MAX];
} recheck_batch;

/* True when the answer's i-th code says the session ended (1 or 2). */
static bool recheck_ended(const hd_redis_reply *r, size_t i)
{
	const hd_redis_reply *e = hd_redis_reply_element(r, i);
	return e != NULL && hd_redis_reply_type(e) == HD_REDIS_INTEGER
	    && hd_redis_reply_integer(e) > 0;
}

static void recheck_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	recheck_batch *b = arg;
	bool ok = err == HD_OK && r != NULL && hd_redis_reply_type(r) == HD_REDIS_ARRAY
	    && hd_redis_reply_elements(r) == (size_t)b->n;
	for (int i = 0; i < b->n; i++) {
		gw_stream *s = b->streams[i];
		/* s is held by this call until calls drops: the reset cannot free it */
		if (ok && s->conn != NULL && recheck_ended(r, (size_t)i))
			stream_reset(s, "reason=\"session_ended\"");
		s->calls--;
		stream_free_if_done(s);
	}
	free(b);
}

/* Sends one EVAL for b's streams (their keys and issued times) and holds
 * them until recheck_cb; false, and b freed, when it could not be sent. */
static bool recheck_send(hd_redis *redis, recheck_batch *b)
{
	enum { N = GW_SSE_RECHECK_MAX };
	gw_rl_keys *k = malloc((size_t)b->n * sizeof *k);
	const char *keys[2 * N], *args[N];
	char issued[N][24];
	int n = 0;
	bool sent = false, none = k != NULL; /* true while no stream has keys */
	for (int i = 0; k != NULL && i < b->n; i++) {
		gw_stream *s = b->streams[i];
		if (!gw_rl_keys_user(&k[n], s->tenant, s->user, s->jti))
			continue; /* admitted with the same keys: cannot happen */
		snprintf(issued[n], sizeof issued[n], "%lld", (long long)s->issued_ms);
		keys[2 * n] = k[n].deny;
		keys[2 * n + 1] = k[n].user_off;
		args[n] = issued[n];
		b->streams[n++] = s;
		none = false;
	}
	b->n = n;
	if (n > 0
	    && hd_redis_eval(redis, gw_session_script, 2 * n, keys, n, args, recheck_cb, b)
	        == HD_OK) {
		for (int i = 0; i < n; i++)
			b->streams[i]->calls++;
		sent = true;
	}
	if (!sent)
		free(b);
	free(k);
	return sent || none;
}

static int recheck_by_tenant(const void *a, const void *b)
{
	return strcmp((*(gw_stream *const *)a)->tenant, (*(gw_stream *const *)b)->tenant);
}

/* The hub's streams, sorted by tenant, in a new array of *n (NULL when
 * there is none or memory is short). */
static gw_stream **recheck_streams(gw_sse_hub *h, size_t *n)
{
	size_t count = 0, i = 0;
	for (gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = s->next)
		count++;
	gw_stream **all = count > 0 ? malloc(count * sizeof *all) : NULL;
	for (gw_stream *s = *gw_sse_hub_streams(h); all != NULL && s != NULL; s = s->next)
		all[i++] = s;
	if (all != NULL)
		qsort(all, count, sizeof *all, recheck_by_tenant);
	*n = all != NULL ? count : 0;
	return all;
}

bool gw_stream_sessions_recheck(gw_sse_hub *h)
{
	hd_redis *redis = gw_sse_hub_loop(h)->redis;
	if (!hd_redis_ready(redis))
		return false;
	size_t n;
	gw_stream **all = recheck_streams(h, &n);
	if (all == NULL && *gw_sse_hub_streams(h) != NULL)
		return false; /* out of memory: the next tick tries again */
	hd_metrics_add("hd_sse_session_rechecks_total", NULL, 1);
	recheck_batch *b = NULL;
	bool asked_all = true;
	for (size_t i = 0; i < n && asked_all; i++) {
		if (b != NULL
		    && (b->n == GW_SSE_RECHECK_MAX
		        || strcmp(b->streams[0]->tenant, all[i]->tenant) != 0)) {
			asked_all = recheck_send(redis, b) && asked_all;
			b = NULL;
		}
		if (b == NULL && (b = calloc(1, sizeof *b)) == NULL)
			asked_all = false; /* asking again is harmless */
		else
			b->streams[b->n++] = all[i];
	}
	if (b != NULL)
		asked_all = recheck_send(redis, b) && asked_all;
	free(all);
	return asked_all;
}

int gw_stream_count_user(gw_sse_hub *h, const char *tenant, const char *user)
{
	int n = 0;
	for (const gw_stream *s = *gw_sse_hub_streams(h); s != NULL; s = s->next)
		n += strcmp(s->user, user) == 0 && strcmp(s->tenant, tenant) == 0;
	return n;
}

/* ---- opening ---- */

/* Reads Last-Event-ID (or, without the header, ?last_event_id=: a new
 * EventSource cannot set the header) into pos (every source unknown
 * without one); false after answering 400. */
static bool start_read(gw_req *gr, gw_sse_pos *pos)
{
	const char *last = gw_req_header(gr, "Last-Event-ID");
	hd_query q;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		pos->seq[i] = GW_SSE_SEQ_UNKNOWN;
	if (last == NULL && gr->head->query != NULL) {
		if (hd_query_parse(gr->head->query, &q) != HD_OK) {
			gw_reply_problem(gr, 400, "the query string is malformed");
			return false;
		}
		last = hd_query_get(&q, "last_event_id");
	}
	if (last == NULL || gw_sse_pos_decode(last, strlen(last), pos))
		return true;
	gw_reply_problem(gr, 400, "Last-Event-ID is not an event id of this stream");
	return false;
}

void gw_stream_open(gw_req *gr)
{
	gw_sse_hub *h = gr->loop->sse;
	const gw_config *cfg = &gr->loop->gw->cfg;
	gw_sse_pos pos;
	if (!start_read(gr, &pos))
		return;
	if (h == NULL) {
		gw_reply_problem(gr, 503, "the event stream is not available: no bus subscription");
		return;
	}
	if (gw_stream_count_user(h, gr->claims.tid, gr->claims.sub) >= cfg->sse_max_per_user) {
		gw_reply_problem(
		    gr, 429, "too many open streams for this user (HD_SSE_MAX_PER_USER)");
		return;
	}
	gw_stream *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		gw_reply_problem(gr, 503, "out of memory");
		return;
	}
	s->hub = h;
	s->pos = pos;
	s->role = gw_role_parse(gr->claims.role);
	s->exp = gr->claims.exp;
	snprintf(s->tenant, sizeof(s->tenant), "%s", gr->claims.tid);
	snprintf(s->user, sizeof(s->user), "%s", gr->claims.sub);
	snprintf(s->jti, sizeof(s->jti), "%s", gr->claims.jti);
	s->issued_ms = gw_token_issued_ms(&gr->claims);
	gw_conn *c = gw_reply_stream(gr, s);
	if (c == NULL) {
		free(s);
		return;
	}
	s->conn = c;
	gw_stream **head = gw_sse_hub_streams(h);
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
	hd_metrics_add("hd_sse_connections", NULL, 1);
	for (int i = 0; i < GW_SSE_SRC__COUNT && s->conn != NULL; i++)
		stream_place(s, i);
}
