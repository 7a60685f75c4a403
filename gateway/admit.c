/* Admission in one Redis round trip per request (ratelimit.h has the script
 * and keys): denylisted token or deactivated user → 401, over a limit → 429
 * with Retry-After, Redis unreachable → 503 (fail closed: without Redis we
 * can neither honour logout nor bound login attempts). Then forward. */
#include <stdio.h>
#include "hd/uuid.h"
#include "hd/metrics.h"
#include "gateway.h"

static void redis_down(gw_req *gr)
{
	hd_metrics_add("hd_upstream_errors_total", "service=\"redis\",kind=\"unavailable\"", 1);
	gw_reply_problem(gr, 503, "rate limiter unavailable: redis is not reachable");
}

/* Reads the script's {code, count, ttl}; false when the shape is wrong. */
static bool reply_read(const hd_redis_reply *r, long long v[3])
{
	if (r == NULL || hd_redis_reply_type(r) != HD_REDIS_ARRAY
	    || hd_redis_reply_elements(r) != 3)
		return false;
	for (size_t i = 0; i < 3; i++) {
		const hd_redis_reply *e = hd_redis_reply_element(r, i);
		if (e == NULL || hd_redis_reply_type(e) != HD_REDIS_INTEGER)
			return false;
		v[i] = hd_redis_reply_integer(e);
	}
	return true;
}

static void admit_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	gw_req *gr = arg;
	const gw_config *cfg = &gr->loop->gw->cfg;
	long login = gr->match.route->login_like ? cfg->login_ip_limit : 0;
	long long v[3];
	char detail[128];

	if (err != HD_OK || !reply_read(r, v)
	    || !gw_rl_decide(v[0], v[1], v[2], cfg->rate_limit, login, &gr->rl)) {
		redis_down(gr);
		return;
	}
	if (gr->rl.code == GW_RL_TOKEN_REVOKED || gr->rl.code == GW_RL_USER_OFF) {
		gw_reply_header(
		    gr, "WWW-Authenticate", "Bearer realm=\"helpdesk\", error=\"invalid_token\"");
		gw_reply_problem(gr, 401,
		    gr->rl.code == GW_RL_TOKEN_REVOKED
		        ? "invalid access token: revoked"
		        : "invalid access token: the user is deactivated or their sessions were "
		          "ended");
		return;
	}
	gr->rl_set = true;
	if (gr->rl.limited) {
		snprintf(detail, sizeof(detail), "%s exceeded; retry in %ld s",
		    gr->rl.code == GW_RL_LOGIN_LIMITED ? "login rate limit" : "rate limit",
		    gr->rl.reset_s);
		gw_reply_problem(gr, 429, detail);
		return;
	}
	if (gr->match.route->stream_ticket)
		gw_sse_ticket_issue(gr);
	else if (gr->match.route->service == GW_SVC_gateway)
		gw_stream_open(gr); /* the signed-in routes the gateway answers */
	else
		gw_upstream_forward(gr);
}

/* When the token was issued, to the millisecond: its jti is the UUIDv7 auth
 * made when signing it; iat (whole seconds) for any other jti. A password or
 * role change marks the millisecond it happened (services/auth/users.c), so
 * a token issued earlier in that same second is refused too. */
int64_t gw_token_issued_ms(const hd_jwt_claims *claims)
{
	int64_t ms = 0;
	if (hd_uuid_v7_ms(claims->jti, &ms))
		return ms;
	return (int64_t)claims->iat * 1000;
}

void gw_admit_start(gw_req *gr)
{
	const gw_config *cfg = &gr->loop->gw->cfg;
	bool login = gr->match.route->login_like;
	gw_rl_keys k;
	char limit[24], window[24], login_limit[24], issued_ms[24];
	bool ok = gr->authed ? gw_rl_keys_user(&k, gr->claims.tid, gr->claims.sub, gr->claims.jti)
	                     : gw_rl_keys_anon(&k, gr->client_ip);

	if (!ok) {
		if (gr->authed)
			gw_reply_header(gr, "WWW-Authenticate",
			    "Bearer realm=\"helpdesk\", error=\"invalid_token\"");
		gw_reply_problem(gr, gr->authed ? 401 : 400,
		    gr->authed ? "invalid access token: tid, sub and jti are required"
		               : "the client address is unknown");
		return;
	}
	if (!hd_redis_ready(gr->loop->redis)) {
		redis_down(gr);
		return;
	}
	snprintf(limit, sizeof(limit), "%ld", cfg->rate_limit);
	snprintf(window, sizeof(window), "%d", GW_RL_WINDOW_S);
	snprintf(login_limit, sizeof(login_limit), "%ld", login ? cfg->login_ip_limit : 0L);
	snprintf(issued_ms, sizeof(issued_ms), "%lld",
	    gr->authed ? (long long)gw_token_issued_ms(&gr->claims) : 0LL);
	const char *keys[4] = { k.counter, k.login, k.deny, k.user_off };
	const char *args[5] = { limit, window, login_limit, gr->authed ? "1" : "0", issued_ms };
	if (hd_redis_eval(gr->loop->redis, gw_rl_script, 4, keys, 5, args, admit_cb, gr) != HD_OK)
		redis_down(gr);
}
