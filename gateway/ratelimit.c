/* Rate-limit script, keys and arithmetic (see ratelimit.h). Fixed windows:
 * INCR then EXPIRE on the first hit of a window (and whenever a key lost its
 * TTL), so a counter can never live forever. Revocation is checked first and
 * costs no count: the jti denylist, and the user's key, "1" (deactivated) or
 * the Unix millisecond before which their tokens were issued in vain
 * (ARGV[5]: when the token was issued, in ms; a mark under 1e11 is an older
 * auth's seconds). */
#include "ratelimit.h"
#include <stdio.h>
#include <string.h>

/* ended(deny, user_off, issued_ms): 1 when the token is denylisted
 * (logout), 2 when the user is off (deactivated: "1") or the token predates
 * their mark (a password or role change, in ms, or s from older auth
 * daemons), else 0. Shared by both scripts. */
#define GW_RL_ENDED_LUA                                                                            \
	"local function ended(deny, off, issued)\n"                                                \
	"  if redis.call('EXISTS', deny) == 1 then return 1 end\n"                                 \
	"  local nb = redis.call('GET', off)\n"                                                    \
	"  if nb == '1' then return 2 end\n"                                                       \
	"  local nbms = tonumber(nb) or 0\n"                                                       \
	"  if nbms < 100000000000 then nbms = nbms * 1000 end\n"                                   \
	"  if nb and tonumber(issued) < nbms then return 2 end\n"                                  \
	"  return 0\n"                                                                             \
	"end\n"

const char gw_rl_script[]
    = GW_RL_ENDED_LUA "local function hit(key, win)\n"
                      "  local c = redis.call('INCR', key)\n"
                      "  local ttl = redis.call('TTL', key)\n"
                      "  if ttl < 0 then redis.call('EXPIRE', key, win); ttl = win end\n"
                      "  return c, ttl\n"
                      "end\n"
                      "if ARGV[4] == '1' then\n"
                      "  local e = ended(KEYS[3], KEYS[4], ARGV[5])\n"
                      "  if e > 0 then return {e, 0, 0} end\n"
                      "end\n"
                      "local win = tonumber(ARGV[2])\n"
                      "local c, ttl = hit(KEYS[1], win)\n"
                      "if c > tonumber(ARGV[1]) then return {3, c, ttl} end\n"
                      "if tonumber(ARGV[3]) > 0 then\n"
                      "  local lc, lttl = hit(KEYS[2], win)\n"
                      "  if lc > tonumber(ARGV[3]) then return {4, lc, lttl} end\n"
                      "end\n"
                      "return {0, c, ttl}\n";

const char gw_session_script[]
    = GW_RL_ENDED_LUA "local codes = {}\n"
                      "for i = 1, #ARGV do\n"
                      "  codes[i] = ended(KEYS[2 * i - 1], KEYS[2 * i], ARGV[i])\n"
                      "end\n"
                      "return codes\n";

/* Writes fmt into out; false when it did not fit. */
static bool key_fmt(char *out, const char *a, const char *b, const char *c)
{
	int n = snprintf(out, GW_RL_KEY_MAX, "hd:{%s}:%s%s", a, b, c);
	return n > 0 && n < GW_RL_KEY_MAX;
}

static bool part_ok(const char *s)
{
	/* A hash tag must not contain braces; key parts are ids we produced. */
	return s != NULL && s[0] != '\0' && strpbrk(s, "{}") == NULL && strlen(s) < 100;
}

bool gw_rl_keys_user(gw_rl_keys *k, const char *tid, const char *uid, const char *jti)
{
	if (!part_ok(tid) || !part_ok(uid) || !part_ok(jti))
		return false;
	return key_fmt(k->counter, tid, "rl:", uid) && key_fmt(k->login, tid, "rl:", uid)
	    && key_fmt(k->deny, tid, "deny:", jti) && key_fmt(k->user_off, tid, "user_off:", uid);
}

bool gw_rl_keys_anon(gw_rl_keys *k, const char *addr)
{
	char tag[GW_RL_KEY_MAX];
	if (!part_ok(addr))
		return false;
	snprintf(tag, sizeof(tag), "ip:%s", addr);
	return key_fmt(k->counter, tag, "rl", "") && key_fmt(k->login, tag, "login", "")
	    && key_fmt(k->deny, tag, "rl", "") && key_fmt(k->user_off, tag, "rl", "");
}

bool gw_rl_decide(
    long long code, long long count, long long ttl, long limit, long login_limit, gw_rl_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (code < GW_RL_OK || code > GW_RL_LOGIN_LIMITED || count < 0)
		return false;
	d->code = (gw_rl_code)code;
	d->limit = code == GW_RL_LOGIN_LIMITED ? login_limit : limit;
	d->limited = code == GW_RL_LIMITED || code == GW_RL_LOGIN_LIMITED;
	d->remaining = count >= d->limit ? 0 : (long)(d->limit - count);
	/* TTL 0 means "expires within the second": tell clients 1, never 0. */
	d->reset_s = ttl < 1 ? 1 : ttl > GW_RL_WINDOW_S ? GW_RL_WINDOW_S : (long)ttl;
	return true;
}
