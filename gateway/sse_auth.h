/* Who may hold a GET /v1/stream open (docs/architecture.md, "Stream
 * tickets and ended sessions"): the pure parts, no I/O.
 *
 * A browser's EventSource cannot send Authorization, so a signed-in client
 * first trades its bearer token for a stream ticket (POST
 * /v1/stream/tickets): 32 random bytes in base64url, stored in Redis under
 * the SHA-256 of the ticket (never the ticket itself) with the token's
 * tenant, user, role, jti, iat and expiry, for HD_SSE_TICKET_TTL_S at most
 * and never past the token's expiry. GET /v1/stream?ticket=… takes it with
 * GETDEL (single use, on any gateway replica), then runs the same admission
 * as a bearer token (denylist, deactivated user, rate limit).
 *
 * Ended sessions: the auth daemon publishes on the Redis channel
 * HD_REDIS_SESSIONS_CHANNEL (hd/redis.h) when it denylists a token (logout) or marks a user
 * (deactivation, password or role change); every gateway loop subscribes and
 * ends the matching streams with `event: reset`. */
#ifndef GW_SSE_AUTH_H
#define GW_SSE_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hd/jwt.h"

/* base64url (no padding) of GW_SSE_TICKET_BYTES random bytes */
#define GW_SSE_TICKET_BYTES 32
#define GW_SSE_TICKET_LEN 43
/* "hd:{sse_ticket:<64 hex>}" */
#define GW_SSE_TICKET_KEY_MAX 96
#define GW_SSE_TICKET_VALUE_MAX 256

/* Makes a fresh ticket into out (NUL-terminated); false when the kernel
 * gave no randomness. */
bool gw_sse_ticket_new(char out[GW_SSE_TICKET_LEN + 1]);
/* The Redis key of ticket[0..len): false (no key) when it is not
 * GW_SSE_TICKET_LEN base64url characters. */
bool gw_sse_ticket_key(const char *ticket, size_t len, char key[GW_SSE_TICKET_KEY_MAX]);
/* The stored value for the claims of the token that asked for a ticket:
 * "v1 <tid> <sub> <role> <jti> <iat> <exp>"; false when a claim is empty,
 * holds a blank or does not fit. */
bool gw_sse_ticket_value(const hd_jwt_claims *c, char *out, size_t cap);
/* Reads a stored value back into claims (the rest zeroed); false on
 * anything malformed. */
bool gw_sse_ticket_claims(const char *value, size_t len, hd_jwt_claims *c);
/* How long a ticket asked for at now for a token expiring at exp lives:
 * max_s, or less when the token ends sooner; 0 when it has ended. */
long gw_sse_ticket_ttl(int64_t now, int64_t exp, long max_s);

/* One message of the sessions channel: the token jti of tenant was revoked
 * ("deny <tid> <jti>"), or user's tokens issued before before_ms were
 * ("user_off <tid> <uid> <ms>"; every token when the value is "1":
 * before_ms is INT64_MAX). */
typedef struct gw_sse_ended {
	char tenant[37];
	char user[37]; /* "" for a denied token */
	char jti[64]; /* "" for a user mark */
	int64_t before_ms;
} gw_sse_ended;

/* Parses msg[0..len); false when it is neither form. */
bool gw_sse_ended_parse(const char *msg, size_t len, gw_sse_ended *out);
/* True when a stream of (tenant, user, jti, issued_ms) is ended by e. */
bool gw_sse_ended_matches(const gw_sse_ended *e, const char *tenant, const char *user,
    const char *jti, int64_t issued_ms);

#endif
