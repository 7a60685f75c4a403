/* Redis for event loops: hiredis 0.14 async API on a libevent base.
 *
 * One hd_redis owns at most one redisAsyncContext. It connects on create and,
 * after a failure or a disconnect, again after a backoff (100 ms doubling to
 * 2 s). Every command is an redis_cmd tracked in a list with its own timer:
 * REDIS_TIMEOUT_MS after sending, the caller gets HD_ERR_TIMEOUT and the late
 * reply is ignored when it comes (hiredis still holds the redis_cmd until then).
 * A command issued while disconnected fails through a zero timer, never
 * inline. hiredis frees replies itself after our callback returns, and calls
 * every pending callback with a NULL reply when the connection goes away.
 * Scripts run by EVALSHA; a NOSCRIPT error resends the same command as EVAL. */
#include "hd/redis.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <hiredis.h>
#include <async.h>
#include <adapters/libevent.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/log.h"

#define REDIS_TIMEOUT_MS 1000
#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000
#define REDIS_HOST_MAX 255
#define REDIS_PASSWORD_MAX 255
#define REDIS_USER_MAX 127
#define REDIS_MAX_ARGS 1024

typedef struct redis_url {
	char host[REDIS_HOST_MAX + 1];
	int port;
	int db;
	char user[REDIS_USER_MAX + 1]; /* ACL user (Redis 6+); "" = default */
	char password[REDIS_PASSWORD_MAX + 1];
} redis_url;

/* A command from send to callback. */
typedef struct redis_cmd {
	struct redis_cmd *prev, *next; /* in hd_redis.cmds while the caller waits */
	hd_redis *r;
	hd_redis_cb cb; /* NULL once the caller was answered */
	void *arg;
	struct event timer; /* timeout, or the zero timer of a failure */
	bool in_hiredis; /* hiredis holds the redis_cmd as privdata */
	/* EVALSHA fallback: argv of the EVAL form (argv[1] is the script) */
	int eval_argc;
	char **eval_argv;
} redis_cmd;

struct hd_redis {
	struct event_base *base;
	redis_url url;
	redisAsyncContext *ac;
	bool connected;
	bool closing;
	struct event *retry; /* reconnect backoff, also the connect timeout */
	int backoff_ms;
	const struct timeval *common_timeout;
	redis_cmd *cmds; /* commands whose caller waits */
	char *channel; /* hd_redis_subscribe: the channel, NULL when none */
	hd_redis_message_cb on_message;
	void *message_arg;
};

static void redis_start(hd_redis *r);
static void redis_sub_send(hd_redis *r);

/* ---- URL --------------------------------------------------------------- */

static int redis_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	    : c >= 'a' && c <= 'f'  ? c - 'a' + 10
	    : c >= 'A' && c <= 'F'  ? c - 'A' + 10
	                            : -1;
}

/* Copies s[0..n) into out (cap bytes with the NUL), %XX-decoded; false when
 * it does not fit or an escape is bad (a NUL byte included). */
static bool redis_url_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < n ? redis_hex(s[i + 1]) : -1;
			int lo = hi >= 0 ? redis_hex(s[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/* Parses redis://[[user]:password@]host[:port][/db] (user and password
 * %XX-decoded; a user needs a password: Redis 6 ACL, AUTH user password). */
static hd_err redis_url_parse(const char *s, redis_url *u)
{
	const char *p, *at, *colon, *slash;
	size_t n;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (s == NULL || strncmp(s, "redis://", 8) != 0)
		return HD_ERR_INVALID;
	p = s + 8;
	slash = strchr(p, '/');
	at = memrchr(p, '@', slash != NULL ? (size_t)(slash - p) : strlen(p));
	if (at != NULL) {
		const char *pw = memchr(p, ':', (size_t)(at - p));
		if (pw == NULL || !redis_url_decode(p, (size_t)(pw - p), u->user, sizeof u->user)
		    || !redis_url_decode(
		        pw + 1, (size_t)(at - pw - 1), u->password, sizeof u->password))
			return HD_ERR_INVALID;
		p = at + 1;
	}
	colon = strchr(p, ':');
	if (colon != NULL && slash != NULL && colon > slash)
		colon = NULL;
	n = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n > REDIS_HOST_MAX)
		return HD_ERR_INVALID;
	memcpy(u->host, p, n);
	if (colon && (sscanf(colon + 1, "%d", &u->port) != 1 || u->port <= 0 || u->port > 65535))
		return HD_ERR_INVALID;
	if (slash && slash[1] != '\0'
	    && (sscanf(slash + 1, "%d", &u->db) != 1 || u->db < 0 || u->db > 1000))
		return HD_ERR_INVALID;
	return HD_OK;
}

/* ---- replies ----------------------------------------------------------- */

hd_redis_type hd_redis_reply_type(const hd_redis_reply *r)
{
	const redisReply *x = (const redisReply *)r;

	switch (x ? x->type : REDIS_REPLY_NIL) {
	case REDIS_REPLY_INTEGER:
		return HD_REDIS_INTEGER;
	case REDIS_REPLY_STRING:
		return HD_REDIS_STRING;
	case REDIS_REPLY_STATUS:
		return HD_REDIS_STATUS;
	case REDIS_REPLY_ERROR:
		return HD_REDIS_ERROR;
	case REDIS_REPLY_ARRAY:
		return HD_REDIS_ARRAY;
	default:
		return HD_REDIS_NIL;
	}
}

long long hd_redis_reply_integer(const hd_redis_reply *r)
{
	const redisReply *x = (const redisReply *)r;

	return x && x->type == REDIS_REPLY_INTEGER ? x->integer : 0;
}

const char *hd_redis_reply_string(const hd_redis_reply *r, size_t *len)
{
	const redisReply *x = (const redisReply *)r;

	if (x == NULL
	    || (x->type != REDIS_REPLY_STRING && x->type != REDIS_REPLY_STATUS
	        && x->type != REDIS_REPLY_ERROR))
		return NULL;
	if (len)
		*len = x->len;
	return x->str;
}

size_t hd_redis_reply_elements(const hd_redis_reply *r)
{
	const redisReply *x = (const redisReply *)r;

	return x && x->type == REDIS_REPLY_ARRAY ? x->elements : 0;
}

const hd_redis_reply *hd_redis_reply_element(const hd_redis_reply *r, size_t i)
{
	const redisReply *x = (const redisReply *)r;

	if (x == NULL || x->type != REDIS_REPLY_ARRAY || i >= x->elements)
		return NULL;
	return (const hd_redis_reply *)x->element[i];
}

/* ---- commands ---------------------------------------------------------- */

static void redis_cmd_unlink(redis_cmd *c)
{
	hd_redis *r = c->r;

	if (c->prev)
		c->prev->next = c->next;
	else if (r->cmds == c)
		r->cmds = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void redis_cmd_free(redis_cmd *c)
{
	free(c->eval_argv); /* one allocation with the strings */
	free(c);
}

/* Answers the caller once; frees c unless hiredis still holds it. */
static void redis_cmd_answer(redis_cmd *c, hd_err err, const redisReply *reply)
{
	hd_redis_cb cb = c->cb;

	if (cb != NULL) {
		c->cb = NULL;
		event_del(&c->timer);
		redis_cmd_unlink(c);
		cb(err, (const hd_redis_reply *)reply, c->arg);
	}
	if (!c->in_hiredis)
		redis_cmd_free(c);
}

static void redis_cmd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	redis_cmd *c = arg;

	redis_cmd_answer(c, c->in_hiredis ? HD_ERR_TIMEOUT : HD_ERR_UNAVAILABLE, NULL);
}

static bool redis_is_noscript(const redisReply *reply)
{
	return reply && reply->type == REDIS_REPLY_ERROR && reply->len >= 8
	    && memcmp(reply->str, "NOSCRIPT", 8) == 0;
}

static bool redis_cmd_send(redis_cmd *c, int argc, const char **argv, const size_t *argvlen);

static void redis_cmd_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	redis_cmd *c = privdata;
	hd_redis *r = c->r;

	c->in_hiredis = false;
	if (reply == NULL) {
		r->connected = false;
		redis_cmd_answer(c, r->closing ? HD_ERR_CLOSED : HD_ERR_UNAVAILABLE, NULL);
		return;
	}
	if (c->cb != NULL && c->eval_argc > 0 && redis_is_noscript(reply)) {
		int argc = c->eval_argc;
		c->eval_argc = 0; /* fall back once */
		if (!redis_cmd_send(c, argc, (const char **)c->eval_argv, NULL))
			redis_cmd_answer(c, HD_ERR_UNAVAILABLE, NULL);
		return;
	}
	redis_cmd_answer(c, HD_OK, reply);
}

/* Hands c to hiredis; false when it refused (disconnecting). */
static bool redis_cmd_send(redis_cmd *c, int argc, const char **argv, const size_t *argvlen)
{
	hd_redis *r = c->r;

	if (r->ac == NULL || !r->connected
	    || redisAsyncCommandArgv(r->ac, redis_cmd_reply_cb, c, argc, argv, argvlen) != REDIS_OK)
		return false;
	c->in_hiredis = true;
	return true;
}

static redis_cmd *redis_cmd_new(hd_redis *r, hd_redis_cb cb, void *arg)
{
	redis_cmd *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	evtimer_assign(&c->timer, r->base, redis_cmd_timer_cb, c);
	c->next = r->cmds;
	if (r->cmds)
		r->cmds->prev = c;
	r->cmds = c;
	return c;
}

/* Sends c or arranges its failure from the loop; arms the timeout. */
static void redis_cmd_start(redis_cmd *c, int argc, const char **argv, const size_t *argvlen)
{
	static const struct timeval now = { 0, 0 };

	if (redis_cmd_send(c, argc, argv, argvlen))
		evtimer_add(&c->timer, c->r->common_timeout);
	else
		evtimer_add(&c->timer, &now);
}

hd_err hd_redis_command(hd_redis *r, hd_redis_cb cb, void *arg, int argc, const char *const *argv,
    const size_t *argvlen)
{
	redis_cmd *c;

	if (r == NULL || cb == NULL || argc < 1 || argc > REDIS_MAX_ARGS || argv == NULL)
		return HD_ERR_INVALID;
	if (r->closing)
		return HD_ERR_CLOSED;
	c = redis_cmd_new(r, cb, arg);
	if (c == NULL)
		return HD_ERR_NOMEM;
	redis_cmd_start(c, argc, (const char **)argv, argvlen);
	return HD_OK;
}

/* Builds "EVAL script nkeys keys... args..." in one allocation. */
static char **redis_eval_argv(const char *script, int nkeys, const char *const *keys, int nargs,
    const char *const *args, int *argc_out)
{
	int argc = 3 + nkeys + nargs;
	char nk[16];
	size_t bytes = strlen("EVAL") + strlen(script) + 2;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	bytes += strlen(nk) + 1;
	for (int i = 0; i < nkeys; i++)
		bytes += strlen(keys[i]) + 1;
	for (int i = 0; i < nargs; i++)
		bytes += strlen(args[i]) + 1;
	char **argv = malloc((size_t)argc * sizeof(char *) + bytes);
	if (argv == NULL)
		return NULL;
	char *p = (char *)(argv + argc);
	int k = 0;
#define REDIS_PUT(s) (argv[k++] = strcpy(p, (s)), p += strlen(s) + 1)
	REDIS_PUT("EVAL");
	REDIS_PUT(script);
	REDIS_PUT(nk);
	for (int i = 0; i < nkeys; i++)
		REDIS_PUT(keys[i]);
	for (int i = 0; i < nargs; i++)
		REDIS_PUT(args[i]);
#undef REDIS_PUT
	*argc_out = argc;
	return argv;
}

static void redis_sha1_hex(const char *script, char hex[41])
{
	unsigned char md[SHA_DIGEST_LENGTH];

	SHA1((const unsigned char *)script, strlen(script), md);
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

hd_err hd_redis_eval(hd_redis *r, const char *script, int nkeys, const char *const *keys, int nargs,
    const char *const *args, hd_redis_cb cb, void *arg)
{
	char sha[41];
	redis_cmd *c;

	if (r == NULL || script == NULL || cb == NULL || nkeys < 0 || nargs < 0
	    || nkeys + nargs > REDIS_MAX_ARGS - 3 || (nkeys && !keys) || (nargs && !args))
		return HD_ERR_INVALID;
	if (r->closing)
		return HD_ERR_CLOSED;
	c = redis_cmd_new(r, cb, arg);
	if (c == NULL)
		return HD_ERR_NOMEM;
	c->eval_argv = redis_eval_argv(script, nkeys, keys, nargs, args, &c->eval_argc);
	if (c->eval_argv == NULL) {
		redis_cmd_unlink(c);
		free(c);
		return HD_ERR_NOMEM;
	}
	redis_sha1_hex(script, sha);
	const char *argv0 = c->eval_argv[0], *argv1 = c->eval_argv[1];
	c->eval_argv[0] = (char *)"EVALSHA";
	c->eval_argv[1] = sha;
	redis_cmd_start(c, c->eval_argc, (const char **)c->eval_argv, NULL);
	c->eval_argv[0] = (char *)argv0;
	c->eval_argv[1] = (char *)argv1;
	return HD_OK;
}

/* ---- connection -------------------------------------------------------- */

static void redis_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_redis *r = arg;

	if (r->ac != NULL) { /* the connect timed out */
		hd_log_warn("redis: connect to %s:%d timed out", r->url.host, r->url.port);
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		redisAsyncFree(ac);
	}
	redis_start(r);
}

static void redis_schedule_retry(hd_redis *r)
{
	struct timeval tv = { r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000 };

	r->ac = NULL;
	r->connected = false;
	if (r->closing)
		return;
	evtimer_add(r->retry, &tv);
	r->backoff_ms
	    = r->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void redis_ignore_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	const redisReply *x = reply;

	if (x && x->type == REDIS_REPLY_ERROR)
		hd_log_error("redis: session setup failed: %s", x->str);
}

static void redis_connect_cb(const redisAsyncContext *ac, int status)
{
	hd_redis *r = ac->data;

	evtimer_del(r->retry);
	if (status != REDIS_OK) {
		hd_log_warn(
		    "redis: connect to %s:%d failed: %s", r->url.host, r->url.port, ac->errstr);
		redis_schedule_retry(r); /* hiredis frees ac */
		return;
	}
	r->connected = true;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	if (r->url.user[0])
		redisAsyncCommand(
		    r->ac, redis_ignore_cb, NULL, "AUTH %s %s", r->url.user, r->url.password);
	else if (r->url.password[0])
		redisAsyncCommand(r->ac, redis_ignore_cb, NULL, "AUTH %s", r->url.password);
	if (r->url.db)
		redisAsyncCommand(r->ac, redis_ignore_cb, NULL, "SELECT %d", r->url.db);
	redis_sub_send(r);
}

/* Every reply of the subscription: ["subscribe", channel, n] once, then
 * ["message", channel, payload]; NULL when the connection goes away. */
static void redis_sub_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	const redisReply *x = reply;
	hd_redis *r = privdata;

	(void)ac;
	if (x == NULL || r->closing || x->type != REDIS_REPLY_ARRAY || x->elements != 3
	    || x->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(x->element[0]->str, "subscribe") == 0)
		r->on_message(NULL, 0, r->message_arg);
	else if (strcmp(x->element[0]->str, "message") == 0
	    && x->element[2]->type == REDIS_REPLY_STRING)
		r->on_message(x->element[2]->str, x->element[2]->len, r->message_arg);
}

static void redis_sub_send(hd_redis *r)
{
	if (r->channel != NULL && r->ac != NULL && r->connected
	    && redisAsyncCommand(r->ac, redis_sub_reply_cb, r, "SUBSCRIBE %s", r->channel)
	        != REDIS_OK)
		hd_log_warn("redis: cannot subscribe to %s", r->channel);
}

hd_err hd_redis_subscribe(hd_redis *r, const char *channel, hd_redis_message_cb cb, void *arg)
{
	if (r == NULL || channel == NULL || cb == NULL || r->channel != NULL)
		return HD_ERR_INVALID;
	r->channel = strdup(channel);
	if (r->channel == NULL)
		return HD_ERR_NOMEM;
	r->on_message = cb;
	r->message_arg = arg;
	redis_sub_send(r);
	return HD_OK;
}

static void redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	hd_redis *r = ac->data;

	if (!r->closing)
		hd_log_warn("redis: disconnected from %s:%d", r->url.host, r->url.port);
	redis_schedule_retry(r);
}

/* Starts a connection attempt; its failure schedules the next one. */
static void redis_start(hd_redis *r)
{
	struct timeval tv = { REDIS_CONNECT_TIMEOUT_MS / 1000, 0 };
	redisAsyncContext *ac = redisAsyncConnect(r->url.host, r->url.port);

	if (ac == NULL || ac->err) {
		hd_log_warn("redis: connect to %s:%d failed: %s", r->url.host, r->url.port,
		    ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
		redisAsyncFree(ac);
		redis_schedule_retry(r);
		return;
	}
	redisAsyncSetConnectCallback(ac, redis_connect_cb);
	redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb);
	r->ac = ac;
	evtimer_add(r->retry, &tv); /* connect timeout */
}

hd_err hd_redis_create(hd_redis **out, struct event_base *base, const char *url)
{
	struct timeval tv = { REDIS_TIMEOUT_MS / 1000, (REDIS_TIMEOUT_MS % 1000) * 1000 };
	hd_redis *r;

	if (out == NULL || base == NULL)
		return HD_ERR_INVALID;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return HD_ERR_NOMEM;
	if (redis_url_parse(url, &r->url) != HD_OK) {
		/* the URL holds a password: never logged */
		hd_log_error("HD_REDIS_URL is not redis://[[user]:password@]host[:port][/db]%s",
		    url != NULL && strncmp(url, "rediss://", 9) == 0
		        ? " (rediss://: this build's hiredis has no TLS, docs/operations.md)"
		        : "");
		free(r);
		return HD_ERR_INVALID;
	}
	r->base = base;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	r->common_timeout = event_base_init_common_timeout(base, &tv);
	r->retry = evtimer_new(base, redis_retry_cb, r);
	if (r->retry == NULL || r->common_timeout == NULL) {
		if (r->retry)
			event_free(r->retry);
		free(r);
		return HD_ERR_NOMEM;
	}
	redis_start(r);
	*out = r;
	return HD_OK;
}

void hd_redis_destroy(hd_redis *r)
{
	if (r == NULL)
		return;
	r->closing = true;
	if (r->ac != NULL) {
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		redisAsyncFree(ac); /* NULL replies: callers get HD_ERR_CLOSED */
	}
	while (r->cmds != NULL) /* failures still waiting for their zero timer */
		redis_cmd_answer(r->cmds, HD_ERR_CLOSED, NULL);
	event_free(r->retry);
	free(r->channel);
	free(r);
}

bool hd_redis_ready(const hd_redis *r)
{
	return r != NULL && r->connected;
}

/* ---- blocking ---------------------------------------------------------- */

static hd_err redis_sync_reply(redisReply *x, char **out)
{
	char num[32];

	if (x->type == REDIS_REPLY_ERROR) {
		hd_log_warn("redis: command failed: %s", x->str);
		return HD_ERR_IO;
	}
	if (out == NULL)
		return HD_OK;
	if (x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS) {
		*out = malloc(x->len + 1);
		if (*out == NULL)
			return HD_ERR_NOMEM;
		memcpy(*out, x->str, x->len);
		(*out)[x->len] = '\0';
	} else if (x->type == REDIS_REPLY_INTEGER) {
		snprintf(num, sizeof(num), "%lld", x->integer);
		if ((*out = strdup(num)) == NULL)
			return HD_ERR_NOMEM;
	}
	return HD_OK;
}

/* Runs one command on a sync context; HD_ERR_UNAVAILABLE on I/O failure. */
static hd_err redis_sync_run(redisContext *ctx, int argc, const char **argv, char **out)
{
	redisReply *x = redisCommandArgv(ctx, argc, argv, NULL);
	hd_err err;

	if (x == NULL)
		return HD_ERR_UNAVAILABLE;
	err = redis_sync_reply(x, out);
	freeReplyObject(x);
	return err;
}

hd_err hd_redis_command_sync(const char *url, int argc, const char *const *argv, char **out)
{
	struct timeval tv = { REDIS_CONNECT_TIMEOUT_MS / 1000, 0 };
	redis_url u;
	redisContext *ctx;
	char db[16];
	hd_err err = HD_OK;

	if (out)
		*out = NULL;
	if (argc < 1 || argc > REDIS_MAX_ARGS || argv == NULL || redis_url_parse(url, &u) != HD_OK)
		return HD_ERR_INVALID;
	ctx = redisConnectWithTimeout(u.host, u.port, tv);
	if (ctx == NULL || ctx->err) {
		err = HD_ERR_UNAVAILABLE;
		goto out;
	}
	redisSetTimeout(ctx, tv);
	snprintf(db, sizeof(db), "%d", u.db);
	if (u.user[0])
		err = redis_sync_run(ctx, 3, (const char *[]) { "AUTH", u.user, u.password }, NULL);
	else if (u.password[0])
		err = redis_sync_run(ctx, 2, (const char *[]) { "AUTH", u.password }, NULL);
	if (err == HD_OK && u.db)
		err = redis_sync_run(ctx, 2, (const char *[]) { "SELECT", db }, NULL);
	if (err == HD_OK)
		err = redis_sync_run(ctx, argc, (const char **)argv, out);
out:
	if (ctx)
		redisFree(ctx);
	return err;
}
