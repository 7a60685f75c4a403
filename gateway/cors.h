/* CORS policy from HD_CORS_ORIGINS: an exact list of allowed origins, or `*`.
 * Pure; http.c writes the headers. */
#ifndef GW_CORS_H
#define GW_CORS_H
#include <stdbool.h>

#define GW_CORS_MAX_ORIGINS 32
#define GW_CORS_ORIGIN_MAX 256
#define GW_CORS_MAX_AGE_S 600
#define GW_CORS_ALLOW_HEADERS                                                                      \
	"Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id, traceparent"
#define GW_CORS_EXPOSE_HEADERS                                                                     \
	"X-Request-Id, ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, "        \
	"RateLimit-Reset"

typedef struct gw_cors {
	bool any;
	int count;
	char origins[GW_CORS_MAX_ORIGINS][GW_CORS_ORIGIN_MAX];
} gw_cors;

/* Parses a comma-separated list ("" allows none, "*" any); false when an
 * entry is too long or there are too many. */
bool gw_cors_init(gw_cors *c, const char *list);
/* True when origin may read responses. */
bool gw_cors_allowed(const gw_cors *c, const char *origin);

#endif
