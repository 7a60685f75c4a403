/* Stream tickets and ended sessions (sse_auth.h): making and checking
 * tickets, the stored value, the sessions channel's messages. Pure but for
 * getrandom. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/sha.h>
#include "hd/query.h"
#include "sse_auth.h"

bool gw_sse_ticket_new(char out[GW_SSE_TICKET_LEN + 1])
{
	unsigned char raw[GW_SSE_TICKET_BYTES];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return false;
	bool ok = hd_base64url_encode(raw, sizeof(raw), out, GW_SSE_TICKET_LEN + 1) == HD_OK;
	memset(raw, 0, sizeof(raw));
	return ok;
}

bool gw_sse_ticket_key(const char *ticket, size_t len, char key[GW_SSE_TICKET_KEY_MAX])
{
	static const char b64url[]
	    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[SHA256_DIGEST_LENGTH];
	unsigned char raw[GW_SSE_TICKET_BYTES + 3];
	size_t raw_len = 0;
	if (ticket == NULL || len != GW_SSE_TICKET_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (ticket[i] == '\0' || strchr(b64url, ticket[i]) == NULL)
			return false;
	/* exactly what gw_sse_ticket_new makes: no stray trailing bits */
	if (hd_base64url_decode(ticket, len, raw, sizeof(raw), &raw_len) != HD_OK
	    || raw_len != GW_SSE_TICKET_BYTES)
		return false;
	SHA256((const unsigned char *)ticket, len, digest);
	int n = snprintf(key, GW_SSE_TICKET_KEY_MAX, "hd:{sse_ticket:");
	for (size_t i = 0; i < sizeof(digest); i++) {
		key[n++] = hex[digest[i] >> 4];
		key[n++] = hex[digest[i] & 15];
	}
	memcpy(key + n, "}", 2);
	return true;
}

/* A claim that may stand between blanks: not empty, no blank, no control. */
static bool field_ok(const char *s)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

bool gw_sse_ticket_value(const hd_jwt_claims *c, char *out, size_t cap)
{
	if (!field_ok(c->tid) || !field_ok(c->sub) || !field_ok(c->role) || !field_ok(c->jti))
		return false;
	int n = snprintf(out, cap, "v1 %s %s %s %s %lld %lld", c->tid, c->sub, c->role, c->jti,
	    (long long)c->iat, (long long)c->exp);
	return n > 0 && (size_t)n < cap;
}

/* Copies the next blank-separated field of s[*at..len) into out (cap
 * bytes with the NUL); false when it is empty or too long. */
static bool field_next(const char *s, size_t len, size_t *at, char *out, size_t cap)
{
	size_t i = *at, n = 0;
	while (i < len && s[i] != ' ') {
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f || n + 1 >= cap)
			return false;
		out[n++] = s[i++];
	}
	out[n] = '\0';
	if (n == 0)
		return false;
	*at = i < len ? i + 1 : i; /* past the blank */
	return i == len || i + 1 < len; /* a blank is followed by a field */
}

/* A canonical non-negative decimal of at most 15 digits. */
static bool number_read(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int64_t v = 0;
	if (n == 0 || n > 15 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool gw_sse_ticket_claims(const char *value, size_t len, hd_jwt_claims *c)
{
	char tag[4], iat[24], exp[24];
	size_t at = 0;
	memset(c, 0, sizeof(*c));
	if (value == NULL || len >= GW_SSE_TICKET_VALUE_MAX)
		return false;
	bool ok = field_next(value, len, &at, tag, sizeof(tag)) && strcmp(tag, "v1") == 0
	    && field_next(value, len, &at, c->tid, sizeof(c->tid))
	    && field_next(value, len, &at, c->sub, sizeof(c->sub))
	    && field_next(value, len, &at, c->role, sizeof(c->role))
	    && field_next(value, len, &at, c->jti, sizeof(c->jti))
	    && field_next(value, len, &at, iat, sizeof(iat))
	    && field_next(value, len, &at, exp, sizeof(exp)) && at == len
	    && number_read(iat, &c->iat) && number_read(exp, &c->exp);
	if (!ok)
		memset(c, 0, sizeof(*c));
	return ok;
}

long gw_sse_ticket_ttl(int64_t now, int64_t exp, long max_s)
{
	int64_t left = exp - now;
	if (left <= 0 || max_s <= 0)
		return 0;
	return left < max_s ? (long)left : max_s;
}

bool gw_sse_ended_parse(const char *msg, size_t len, gw_sse_ended *out)
{
	char kind[16], ms[24];
	size_t at = 0;
	memset(out, 0, sizeof(*out));
	if (msg == NULL || len >= 256 || !field_next(msg, len, &at, kind, sizeof(kind))
	    || !field_next(msg, len, &at, out->tenant, sizeof(out->tenant)))
		goto bad;
	if (strcmp(kind, "deny") == 0) {
		if (!field_next(msg, len, &at, out->jti, sizeof(out->jti)) || at != len)
			goto bad;
		return true;
	}
	if (strcmp(kind, "user_off") != 0
	    || !field_next(msg, len, &at, out->user, sizeof(out->user))
	    || !field_next(msg, len, &at, ms, sizeof(ms)) || at != len
	    || !number_read(ms, &out->before_ms))
		goto bad;
	if (out->before_ms == 1)
		out->before_ms = INT64_MAX; /* deactivated: every token */
	return true;
bad:
	memset(out, 0, sizeof(*out));
	return false;
}

bool gw_sse_ended_matches(
    const gw_sse_ended *e, const char *tenant, const char *user, const char *jti, int64_t issued_ms)
{
	if (strcmp(e->tenant, tenant) != 0)
		return false;
	if (e->jti[0] != '\0')
		return strcmp(e->jti, jti) == 0;
	return strcmp(e->user, user) == 0 && issued_ms < e->before_ms;
}
