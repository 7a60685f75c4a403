/* Guesses of a secret, counted in Redis before each check (auth.h): a
 * login's password and TOTP code, and the current_password of a user changing
 * their own. The reservation is one Lua call that refuses at the limit and
 * otherwise counts, so concurrent guesses can never pass it; a success clears
 * the counter, an attempt that ended without a verdict gives its count back,
 * and a wrong guess stays counted until the window (HD_LOGIN_FAIL_WINDOW_S)
 * ends. */
#include <stdio.h>
#include <stdlib.h>
#include "auth.h"
#include "hd/reply.h"

static const char RESERVE_LUA[]
    = "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
      "if c >= tonumber(ARGV[1]) then return {1, redis.call('TTL', KEYS[1])} end "
      "c = redis.call('INCR', KEYS[1]) "
      "if c == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
      "return {0, 0}";
static const char REFUND_LUA[]
    = "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end "
      "return 0";

typedef struct attempt {
	hd_rpc_request *req;
	const char *refused; /* the 429 text */
	auth_attempt_cb cb;
	void *arg;
} attempt;

static void noop_redis_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
}

/* Allowed: cb(true). Refused: 429 with Retry-After (the counter's TTL), or
 * 503 when Redis cannot count, then cb(false). */
static void reserved_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	attempt a = *(attempt *)arg;
	free(arg);
	if (err != HD_OK || r == NULL || hd_redis_reply_type(r) != HD_REDIS_ARRAY
	    || hd_redis_reply_elements(r) != 2) {
		hd_reply_problem_ex(a.req, 503, "rate limiter unavailable", NULL, NULL,
		    "Retry-After", HD_RETRY_AFTER_S);
		a.cb(false, a.arg);
		return;
	}
	if (hd_redis_reply_integer(hd_redis_reply_element(r, 0)) != 0) {
		long long ttl = hd_redis_reply_integer(hd_redis_reply_element(r, 1));
		char retry[24];
		snprintf(
		    retry, sizeof retry, "%lld", ttl > 0 ? ttl : auth_cfg()->login_fail_window_s);
		hd_reply_problem_ex(a.req, 429, a.refused, NULL, NULL, "Retry-After", retry);
		a.cb(false, a.arg);
		return;
	}
	a.cb(true, a.arg);
}

void auth_attempt_reserve(hd_rpc_request *req, hd_daemon_worker *dw, const char *key,
    const char *refused, auth_attempt_cb cb, void *arg)
{
	char limit[24], window[24];
	attempt *a = malloc(sizeof *a);
	if (a == NULL) {
		hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
		cb(false, arg);
		return;
	}
	*a = (attempt) { req, refused, cb, arg };
	snprintf(limit, sizeof limit, "%ld", auth_cfg()->login_fail_limit);
	snprintf(window, sizeof window, "%ld", auth_cfg()->login_fail_window_s);
	const char *keys[] = { key };
	const char *args[] = { limit, window };
	if (dw->redis == NULL
	    || hd_redis_eval(dw->redis, RESERVE_LUA, 1, keys, 2, args, reserved_cb, a) != HD_OK)
		reserved_cb(HD_ERR_UNAVAILABLE, NULL, a);
}

void auth_attempt_refund(hd_daemon_worker *dw, const char *key)
{
	const char *keys[] = { key };
	if (dw->redis != NULL)
		(void)hd_redis_eval(dw->redis, REFUND_LUA, 1, keys, 0, NULL, noop_redis_cb, NULL);
}

hd_err auth_attempt_clear(hd_daemon_worker *dw, const char *key, hd_redis_cb cb, void *arg)
{
	const char *argv[] = { "DEL", key };
	if (dw->redis == NULL)
		return HD_ERR_UNAVAILABLE;
	return hd_redis_command(dw->redis, cb != NULL ? cb : noop_redis_cb, arg, 2, argv, NULL);
}
