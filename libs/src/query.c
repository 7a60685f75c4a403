/* Query strings and list cursors from outside. Parsing is bounded by the
 * fixed-size hd_query; keys and values are percent-decoded ('+' is a space)
 * and must be valid UTF-8 without NUL. Cursors are base64url without
 * padding, decoded canonically (no stray bits), so a plain value has exactly
 * one cursor. */
#include "hd/query.h"

#include <stdint.h>
#include <string.h>

#include "hd/json.h"

static const char hd_b64url_alphabet[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int hd_query_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out (out_size counts the NUL). */
static hd_err hd_query_decode(const char *s, size_t n, char *out, size_t out_size)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return HD_ERR_INVALID;
			int hi = hd_query_hex(s[i + 1]);
			int lo = hd_query_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return HD_ERR_INVALID;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= out_size)
			return HD_ERR_INVALID;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return hd_utf8_valid(out, o) ? HD_OK : HD_ERR_INVALID;
}

/* Parses one "key=value" (or "key") segment into the next free slot. */
static hd_err hd_query_add(hd_query *q, const char *seg, size_t n)
{
	if (q->count >= HD_QUERY_MAX_PARAMS)
		return HD_ERR_INVALID;
	hd_query_param *p = &q->params[q->count];
	const char *eq = memchr(seg, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - seg) : n;
	if (klen == 0 || hd_query_decode(seg, klen, p->key, sizeof(p->key)) != HD_OK)
		return HD_ERR_INVALID;
	if (eq == NULL)
		p->value[0] = '\0';
	else if (hd_query_decode(eq + 1, n - klen - 1, p->value, sizeof(p->value)) != HD_OK)
		return HD_ERR_INVALID;
	if (hd_query_get(q, p->key) != NULL)
		return HD_ERR_INVALID;
	q->count++;
	return HD_OK;
}

hd_err hd_query_parse(const char *raw, hd_query *out)
{
	out->count = 0;
	if (raw == NULL)
		return HD_OK;
	const char *s = raw;
	while (*s != '\0') {
		size_t n = strcspn(s, "&");
		if (n > 0 && hd_query_add(out, s, n) != HD_OK) {
			out->count = 0;
			return HD_ERR_INVALID;
		}
		s += n;
		if (*s == '&')
			s++;
	}
	return HD_OK;
}

const char *hd_query_get(const hd_query *q, const char *key)
{
	for (size_t i = 0; i < q->count; i++)
		if (strcmp(q->params[i].key, key) == 0)
			return q->params[i].value;
	return NULL;
}

hd_err hd_query_limit(const hd_query *q, int *out)
{
	const char *v = hd_query_get(q, "limit");
	if (v == NULL) {
		*out = 25;
		return HD_OK;
	}
	size_t n = strlen(v);
	if (n == 0 || n > 3 || strspn(v, "0123456789") != n)
		return HD_ERR_INVALID;
	int limit = 0;
	for (size_t i = 0; i < n; i++)
		limit = limit * 10 + (v[i] - '0');
	if (limit < 1 || limit > 100)
		return HD_ERR_INVALID;
	*out = limit;
	return HD_OK;
}

hd_err hd_base64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
	size_t need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if (need + 1 > out_size)
		return HD_ERR_INVALID;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = len - i;
		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = hd_b64url_alphabet[v >> 18 & 63];
		out[o++] = hd_b64url_alphabet[v >> 12 & 63];
		if (left > 1)
			out[o++] = hd_b64url_alphabet[v >> 6 & 63];
		if (left > 2)
			out[o++] = hd_b64url_alphabet[v & 63];
	}
	out[o] = '\0';
	return HD_OK;
}

static int hd_base64url_value(char c)
{
	const char *p = c != '\0' ? strchr(hd_b64url_alphabet, c) : NULL;
	return p != NULL ? (int)(p - hd_b64url_alphabet) : -1;
}

hd_err hd_base64url_decode(
    const char *in, size_t len, unsigned char *out, size_t out_size, size_t *out_len)
{
	if (len % 4 == 1)
		return HD_ERR_INVALID;
	size_t need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	if (need > out_size)
		return HD_ERR_INVALID;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = hd_base64url_value(in[i]);
		if (v < 0)
			return HD_ERR_INVALID;
		acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return HD_ERR_INVALID; /* non-canonical trailing bits */
	*out_len = o;
	return HD_OK;
}

hd_err hd_cursor_encode(const char *plain, char *out, size_t out_size)
{
	size_t n = strlen(plain);
	/* unpadded base64url: 4 characters per 3 bytes, 2 or 3 for the rest;
	 * the bound is exact, so every cursor hd_cursor_decode accepts
	 * encodes again */
	size_t encoded = n / 3 * 4 + (n % 3 != 0 ? n % 3 + 1 : 0);
	if (n == 0 || encoded > HD_CURSOR_MAX)
		return HD_ERR_INVALID;
	return hd_base64url_encode((const unsigned char *)plain, n, out, out_size);
}

hd_err hd_cursor_decode(const char *cursor, char *plain, size_t plain_size)
{
	size_t len = cursor != NULL ? strnlen(cursor, HD_CURSOR_MAX + 1) : 0;
	if (len == 0 || len > HD_CURSOR_MAX || plain_size == 0)
		return HD_ERR_INVALID;
	size_t n = 0;
	if (hd_base64url_decode(cursor, len, (unsigned char *)plain, plain_size - 1, &n) != HD_OK)
		return HD_ERR_INVALID;
	plain[n] = '\0';
	if (memchr(plain, '\0', n) != NULL || !hd_utf8_valid(plain, n))
		return HD_ERR_INVALID;
	return HD_OK;
}
