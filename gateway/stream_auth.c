/* Stream tickets and ended sessions over Redis (sse_auth.h has the design):
 * POST /v1/stream/tickets stores one, GET /v1/stream?ticket=… takes it
 * back once, and each loop's subscription to the sessions channel ends the
 * streams of a logout or a user mark. On the loop's thread. A ticket is
 * never logged: the access log has no query, and problem details never
 * repeat it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/log.h"
#include "hd/query.h"
#include "gateway.h"
#include "http1.h"
#include "sse_auth.h"

/* ---- POST /v1/stream/tickets ---- */

typedef struct issue_ctx {
	gw_req *gr;
	long ttl;
	char ticket[GW_SSE_TICKET_LEN + 1];
} issue_ctx;

static void issue_stored_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	issue_ctx *ctx = arg;
	gw_req *gr = ctx->gr;
	char body[128];
	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) != HD_REDIS_STATUS) {
		gw_reply_problem(gr, 503, "stream tickets unavailable: redis is not reachable");
	} else {
		int n = snprintf(body, sizeof(body), "{\"ticket\":\"%s\",\"expires_in\":%ld}",
		    ctx->ticket, ctx->ttl);
		gw_reply_header(gr, "Cache-Control", "no-store");
		gw_reply_send(gr, 201, "application/json", body, (size_t)n);
	}
	memset(ctx, 0, sizeof(*ctx));
	free(ctx);
}

void gw_sse_ticket_issue(gw_req *gr)
{
	const gw_config *cfg = &gr->loop->gw->cfg;
	char key[GW_SSE_TICKET_KEY_MAX], value[GW_SSE_TICKET_VALUE_MAX], ttl[24];
	long left = gw_sse_ticket_ttl((int64_t)time(NULL), gr->claims.exp, cfg->sse_ticket_ttl_s);
	if (left <= 0) {
		gw_reply_header(
		    gr, "WWW-Authenticate", "Bearer realm=\"helpdesk\", error=\"invalid_token\"");
		gw_reply_problem(gr, 401, "invalid access token: expired");
		return;
	}
	issue_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL || !gw_sse_ticket_new(ctx->ticket)
	    || !gw_sse_ticket_key(ctx->ticket, strlen(ctx->ticket), key)
	    || !gw_sse_ticket_value(&gr->claims, value, sizeof(value))) {
		free(ctx);
		gw_reply_problem(gr, 500, "cannot make a stream ticket");
		return;
	}
	ctx->gr = gr;
	ctx->ttl = left;
	snprintf(ttl, sizeof(ttl), "%ld", left);
	const char *argv[] = { "SET", key, value, "EX", ttl, "NX" };
	if (hd_redis_command(gr->loop->redis, issue_stored_cb, ctx, 6, argv, NULL) != HD_OK)
		issue_stored_cb(HD_ERR_UNAVAILABLE, NULL, ctx);
}

/* ---- GET /v1/stream?ticket=… ---- */

bool gw_sse_ticket_wanted(const gw_req *gr)
{
	return strcmp(gr->match.route->op, "gateway.stream") == 0
	    && gw_req_header(gr, "Authorization") == NULL && gr->head->query != NULL;
}

static void ticket_refused(gw_req *gr, const char *detail)
{
	gw_reply_header(
	    gr, "WWW-Authenticate", "Bearer realm=\"helpdesk\", error=\"invalid_token\"");
	gw_reply_problem(gr, 401, detail);
}

static void redeemed_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	gw_req *gr = arg;
	size_t len = 0;
	const char *value = r != NULL ? hd_redis_reply_string(r, &len) : NULL;
	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) == HD_REDIS_ERROR) {
		gw_reply_problem(gr, 503, "stream tickets unavailable: redis is not reachable");
		return;
	}
	if (hd_redis_reply_type(r) != HD_REDIS_STRING
	    || !gw_sse_ticket_claims(value, len, &gr->claims)) {
		ticket_refused(gr, "invalid stream ticket: unknown, used or expired");
		return;
	}
	if (gr->claims.exp <= (int64_t)time(NULL)) {
		ticket_refused(gr, "invalid stream ticket: its access token expired");
		return;
	}
	if (!(gw_role_parse(gr->claims.role) & gr->match.route->roles)) {
		gw_reply_problem(gr, 403, "this role may not open the event stream");
		return;
	}
	/* from here as with the token itself: denylist, deactivated user, limits */
	gr->authed = true;
	gw_admit_start(gr);
}

void gw_sse_ticket_redeem(gw_req *gr)
{
	hd_query q;
	char key[GW_SSE_TICKET_KEY_MAX];
	if (hd_query_parse(gr->head->query, &q) != HD_OK) {
		gw_reply_problem(gr, 400, "the query string is malformed");
		return;
	}
	const char *ticket = hd_query_get(&q, "ticket");
	if (ticket == NULL) {
		gw_auth_check(gr); /* no token, no ticket: its 401 */
		return;
	}
	if (!gw_sse_ticket_key(ticket, strlen(ticket), key)) {
		ticket_refused(gr, "invalid stream ticket: not one this gateway makes");
		return;
	}
	if (!hd_redis_ready(gr->loop->redis)) {
		gw_reply_problem(gr, 503, "stream tickets unavailable: redis is not reachable");
		return;
	}
	const char *argv[] = { "GETDEL", key };
	if (hd_redis_command(gr->loop->redis, redeemed_cb, gr, 2, argv, NULL) != HD_OK)
		gw_reply_problem(gr, 503, "stream tickets unavailable: redis is not reachable");
}

/* ---- ended sessions ---- */

static void sessions_message_cb(const char *msg, size_t len, void *arg)
{
	gw_sse_hub *h = arg;
	gw_sse_ended ended;
	if (msg == NULL) {
		hd_log_info(
		    "stream: listening for ended sessions on %s", HD_REDIS_SESSIONS_CHANNEL);
		gw_sse_hub_sessions_subscribed(h);
		return;
	}
	if (!gw_sse_ended_parse(msg, len, &ended)) {
		hd_log_warn(
		    "stream: a malformed message on %s was ignored", HD_REDIS_SESSIONS_CHANNEL);
		return;
	}
	gw_stream_sessions_end(h, &ended);
}

hd_redis *gw_sse_sessions_open(gw_sse_hub *h)
{
	gw_loop *loop = gw_sse_hub_loop(h);
	hd_redis *r = NULL;
	if (hd_redis_create(&r, hd_worker_base(loop->worker), loop->gw->cfg.redis_url) != HD_OK)
		return NULL;
	if (hd_redis_subscribe(r, HD_REDIS_SESSIONS_CHANNEL, sessions_message_cb, h) != HD_OK) {
		hd_redis_destroy(r);
		return NULL;
	}
	return r;
}
