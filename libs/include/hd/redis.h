/* Redis for worker and gateway loops: an asynchronous hiredis client bound to
 * one event_base, reconnecting with backoff, with scripts run by EVALSHA
 * (loading them on NOSCRIPT). Keys carry the tenant in a {hash tag}. */
#ifndef HD_REDIS_H
#define HD_REDIS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hd/err.h"

/* The channel where services/auth announces ended sessions and the gateway
 * listens ("deny <tenant> <jti>", "user_off <tenant> <user> <mark>";
 * gateway/sse_auth.h). */
#define HD_REDIS_SESSIONS_CHANNEL "hd:sessions"

struct event_base;
typedef struct hd_redis hd_redis;

typedef enum hd_redis_type {
	HD_REDIS_NIL,
	HD_REDIS_INTEGER,
	HD_REDIS_STRING,
	HD_REDIS_STATUS,
	HD_REDIS_ERROR,
	HD_REDIS_ARRAY
} hd_redis_type;

/* A reply, valid only during the callback. */
typedef struct hd_redis_reply hd_redis_reply;
hd_redis_type hd_redis_reply_type(const hd_redis_reply *r);
long long hd_redis_reply_integer(const hd_redis_reply *r);
/* String/status/error text (len in *len if not NULL), NULL for other types. */
const char *hd_redis_reply_string(const hd_redis_reply *r, size_t *len);
size_t hd_redis_reply_elements(const hd_redis_reply *r);
const hd_redis_reply *hd_redis_reply_element(const hd_redis_reply *r, size_t i);

/* err is HD_OK with a reply (which may be an error reply), or
 * HD_ERR_UNAVAILABLE / HD_ERR_TIMEOUT (1 s) / HD_ERR_CLOSED with r NULL. */
typedef void (*hd_redis_cb)(hd_err err, const hd_redis_reply *r, void *arg);

/* Connects to url (redis://[[user]:password@]host[:port][/db]; user and
 * password %XX-decoded, a user is an ACL user: AUTH user password)
 * asynchronously on base. No rediss:// (hiredis 0.14 has no TLS). */
hd_err hd_redis_create(hd_redis **out, struct event_base *base, const char *url);
/* Fails pending commands with HD_ERR_CLOSED and frees. NULL ok; not from a callback. */
void hd_redis_destroy(hd_redis *r);
/* True while connected. */
bool hd_redis_ready(const hd_redis *r);
/* Sends a command given as argv (binary safe); cb runs exactly once, later, on base's thread. */
hd_err hd_redis_command(hd_redis *r, hd_redis_cb cb, void *arg, int argc, const char *const *argv,
    const size_t *argvlen);
/* Runs a Lua script (EVALSHA, falling back to EVAL) with keys and args. */
hd_err hd_redis_eval(hd_redis *r, const char *script, int nkeys, const char *const *keys, int nargs,
    const char *const *args, hd_redis_cb cb, void *arg);

/* A message published on a subscribed channel (valid only during the call);
 * called with msg NULL each time the subscription is (re)established, since
 * messages published while it was down are lost (Redis pub/sub keeps none). */
typedef void (*hd_redis_message_cb)(const char *msg, size_t len, void *arg);
/* Turns r into a subscriber of channel (once per hd_redis): SUBSCRIBE now
 * when connected and again after every reconnect; cb runs on base's thread.
 * r takes no other command after this. */
hd_err hd_redis_subscribe(hd_redis *r, const char *channel, hd_redis_message_cb cb, void *arg);

/* Blocking one-off command for tools and tests: returns HD_OK and, when
 * out is not NULL, a malloc'ed copy of a string/integer reply as text. */
hd_err hd_redis_command_sync(const char *url, int argc, const char *const *argv, char **out);

#endif
