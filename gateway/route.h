/* The gateway's route table (routes.def) and the pure request rules applied
 * before anything is forwarded: method + path matching with UUID path
 * parameters, role bits, the JSON content-type rule, X-Request-Id sanity and
 * Bearer extraction. No I/O and no libevent here: unit-tested and fuzzed. */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/caller.h"
#include "hd/envelope.h"

/* HTTP methods as bits, so a route set can be answered with an Allow list. */
enum {
	GW_GET = 1 << 0,
	GW_POST = 1 << 1,
	GW_PUT = 1 << 2,
	GW_PATCH = 1 << 3,
	GW_DELETE = 1 << 4,
	GW_HEAD = 1 << 5,
	GW_OPTIONS = 1 << 6
};

/* Roles as bits: the daemons' own (hd/caller.h), so a route's roles and a
 * handler's checks name the same sets. */
enum {
	GW_ROLE_ADMIN = HD_ROLE_ADMIN,
	GW_ROLE_AGENT = HD_ROLE_AGENT,
	GW_ROLE_TECHNICIAN = HD_ROLE_TECHNICIAN,
	GW_ROLE_CUSTOMER = HD_ROLE_CUSTOMER,
	GW_ROLE_PLATFORM_ADMIN = HD_ROLE_PLATFORM_ADMIN,
	GW_ROLES_ANY = HD_ROLES_ANY,
	/* the roles inside a tenant (no platform admin) */
	GW_ROLES_ANY_TENANT = HD_ROLES_TENANT
};

/* Upstream services (services.def), then GW_SVC_gateway for local answers. */
typedef enum gw_service {
#define HD_SERVICE(name, setting) GW_SVC_##name,
#include "services.def"
#undef HD_SERVICE
	GW_SVC__COUNT,
	GW_SVC_gateway = GW_SVC__COUNT
} gw_service;

/* A route's admission attributes (routes.def's last column), as bits. */
enum {
	GW_ROUTE_PUBLIC = 1 << 0, /* no token needed */
	/* guesses at a secret without a token (login, accepting an invitation):
	 * counted per client address against HD_LOGIN_IP_LIMIT */
	GW_ROUTE_LOGIN_LIKE = 1 << 1,
	/* the gateway issues a stream ticket (gw_sse_ticket_issue), known at
	 * admission by this bit rather than by comparing the operation's name */
	GW_ROUTE_STREAM_TICKET = 1 << 2
};

#define GW_PATH_MAX 1024
#define GW_REQUEST_ID_MAX 128

/* One entry of routes.def. */
typedef struct gw_route {
	unsigned method; /* one GW_* method bit */
	const char *pattern; /* "/v1/users/{id}" */
	gw_service service;
	const char *op; /* "users.get" */
	unsigned roles; /* GW_ROLE_* bits */
	bool public_route; /* GW_ROUTE_PUBLIC */
	bool login_like; /* GW_ROUTE_LOGIN_LIKE */
	bool stream_ticket; /* GW_ROUTE_STREAM_TICKET */
} gw_route;

/* What a match found: the route and its path parameters. */
typedef struct gw_match {
	const gw_route *route;
	size_t nparams;
	struct {
		char name[32];
		char value[64]; /* a UUID, a version number or a slug */
	} params[HD_ENVELOPE_MAX_PARAMS];
	unsigned allow; /* GW_* bits of every route with this path (405's Allow) */
	char missing[32]; /* GW_MATCH_NO_OBJECT: the resource an id named ("ticket") */
} gw_match;

typedef enum gw_match_result {
	GW_MATCH_OK, /* m->route set */
	GW_MATCH_NOT_FOUND, /* no pattern takes this path (404) */
	GW_MATCH_METHOD, /* the path exists, not with this method (405, m->allow) */
	GW_MATCH_NO_OBJECT /* a route's shape, with an id that is no UUID: 404 naming m->missing */
} gw_match_result;

/* Returns the route table and its size. */
const gw_route *gw_route_table(size_t *count);
/* Matches method (one GW_* bit) and path[0..len) (raw, without the query). */
gw_match_result gw_route_match(unsigned method, const char *path, size_t len, gw_match *m);
/* Returns the GW_* bit of a method name ("PATCH"), 0 when unknown. */
unsigned gw_method_parse(const char *name);
/* Returns the name of one GW_* bit ("GET"), "OTHER" when unknown. */
const char *gw_method_name(unsigned method);
/* Writes "GET, PATCH" for the bits of allow into out (always NUL-terminated). */
void gw_method_list(unsigned allow, char *out, size_t size);
/* Returns the GW_ROLE_* bit of a role claim, 0 when unknown. */
unsigned gw_role_parse(const char *role);
/* Returns the service name ("auth"), "gateway" for local routes. */
const char *gw_service_name(gw_service svc);

/* True when a Content-Type is JSON: application/json, optionally with
 * "; charset=utf-8" (case-insensitive, optional spaces). */
bool gw_content_type_is_json(const char *value);
/* True when a client X-Request-Id is sane: [A-Za-z0-9._:-]{1,128}. */
bool gw_request_id_valid(const char *value);
/* Finds the token of an "Authorization: Bearer <token>" value: returns true
 * with *token and *len pointing into value, false when the scheme is not Bearer
 * or the token is empty or contains spaces. */
bool gw_bearer_token(const char *value, const char **token, size_t *len);

#endif
