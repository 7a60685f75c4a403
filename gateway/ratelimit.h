/* Per-request admission in one Redis round trip: the Lua script that checks
 * the token denylist and the deactivated-user flag and counts fixed-window
 * rate limits, the key names it uses (shared with the auth daemon, see
 * gateway/README.md), and the pure arithmetic that turns its answer into a
 * verdict and RateLimit-* header values. No I/O here. */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H
#include <stdbool.h>
#include <stddef.h>

#define GW_RL_WINDOW_S 60
#define GW_RL_KEY_MAX 192

/* The script's KEYS (always 4; unused ones repeat KEYS[1] so every key
 * hashes to one Redis Cluster slot) and ARGV (limit, window, login limit,
 * check revocation 0/1, the token's iat). It answers {code, count, ttl}. */
extern const char gw_rl_script[];
/* The same revocation check alone, for tokens already admitted (streams
 * checked again after the gateway missed messages of the sessions channel),
 * n at once: KEYS deny and user_off of each (gw_rl_keys_user), ARGV each
 * token's issued ms; it answers an array of n gw_rl_code 0, 1 or 2, in
 * order. Counts nothing. */
extern const char gw_session_script[];

/* What the script answered. */
typedef enum gw_rl_code {
	GW_RL_OK = 0,
	GW_RL_TOKEN_REVOKED = 1, /* the jti is denylisted (logout) */
	GW_RL_USER_OFF
	= 2, /* the user was deactivated, or the token predates a password/role change */
	GW_RL_LIMITED = 3, /* the general limit is exceeded */
	GW_RL_LOGIN_LIMITED = 4 /* the per-address login limit is exceeded */
} gw_rl_code;

/* The four keys of one request. */
typedef struct gw_rl_keys {
	char counter[GW_RL_KEY_MAX];
	char login[GW_RL_KEY_MAX];
	char deny[GW_RL_KEY_MAX];
	char user_off[GW_RL_KEY_MAX];
} gw_rl_keys;

/* Fills keys for a signed-in caller: hd:{tid}:rl:<uid>, hd:{tid}:deny:<jti>,
 * hd:{tid}:user_off:<uid>. False when a part is empty or too long. */
bool gw_rl_keys_user(gw_rl_keys *k, const char *tid, const char *uid, const char *jti);
/* Fills keys for an anonymous caller: hd:{ip:<addr>}:rl and hd:{ip:<addr>}:login. */
bool gw_rl_keys_anon(gw_rl_keys *k, const char *addr);

/* The verdict and the header values of one request. */
typedef struct gw_rl_decision {
	gw_rl_code code;
	bool limited; /* answer 429 */
	long limit; /* RateLimit-Limit */
	long remaining; /* RateLimit-Remaining */
	long reset_s; /* RateLimit-Reset and, when limited, Retry-After */
} gw_rl_decision;

/* Turns the script's answer into a decision. code outside the known values is
 * false (the caller answers 503). limit/login_limit are the configured ones. */
bool gw_rl_decide(long long code, long long count, long long ttl, long limit, long login_limit,
    gw_rl_decision *d);

#endif
