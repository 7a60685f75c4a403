/* Token and role check of one request (docs/architecture.md step 2): the
 * algorithm and keys are pinned by configuration in libs jwt.c, which also
 * checks exp/nbf/iss/aud (a token this loop verified before is only checked
 * against the clock again: hd_jwt_verify_cached); here: the Bearer scheme, the 401 answers with
 * WWW-Authenticate, and the route's roles (403). The jti denylist and the
 * deactivated-user flag are checked in Redis by admit.c. */
#include <stdio.h>
#include <time.h>
#include "gateway.h"

#define GW_TOKEN_MAX 8192

static bool unauthorized(gw_req *gr, const char *challenge, const char *detail)
{
	gw_reply_header(gr, "WWW-Authenticate", challenge);
	gw_reply_problem(gr, 401, detail);
	return false;
}

bool gw_auth_check(gw_req *gr)
{
	const gw_route *route = gr->match.route;
	const char *value, *token, *why = "invalid token";
	size_t len;
	char detail[192];

	if (route->public_route)
		return true;
	value = gw_req_header(gr, "Authorization");
	if (value == NULL)
		return unauthorized(
		    gr, "Bearer realm=\"helpdesk\"", "a Bearer access token is required");
	if (!gw_bearer_token(value, &token, &len) || len > GW_TOKEN_MAX)
		return unauthorized(gr, "Bearer realm=\"helpdesk\", error=\"invalid_request\"",
		    "Authorization must be \"Bearer <access token>\"");
	if (hd_jwt_verify_cached(gr->loop->jwt_cache, &gr->loop->gw->keys, token, len,
	        (int64_t)time(NULL), &gr->claims, &why)
	    != HD_OK) {
		snprintf(
		    detail, sizeof(detail), "invalid access token: %s", why ? why : "rejected");
		return unauthorized(
		    gr, "Bearer realm=\"helpdesk\", error=\"invalid_token\"", detail);
	}
	if (!(gw_role_parse(gr->claims.role) & route->roles)) {
		snprintf(detail, sizeof(detail), "role %.32s may not call %s %s", gr->claims.role,
		    gw_method_name(route->method), route->pattern);
		gw_reply_problem(gr, 403, detail);
		return false;
	}
	gr->authed = true;
	return true;
}
