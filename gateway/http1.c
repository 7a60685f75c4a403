/* HTTP/1.1 request heads and chunked bodies (see http1.h). One pass over the
 * head: the request line, then one header line at a time, each checked
 * against the grammar of RFC 9110/9112 and cut into NUL-terminated strings
 * in place. */
#include "http1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GW_HTTP_CHUNK_LINE_MAX 1024
#define GW_HTTP_TRAILERS_MAX 8192

/* tchar of RFC 9110 §5.6.2 */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP and HTAB: what a field value may hold */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Finds the end of the head: the index after the blank line, or 0. */
static size_t head_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && *p == '\n')
			return (size_t)(p + 1 - buf);
		if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - buf);
	}
	return 0;
}

/* Cuts the line starting at *pos (ends at '\n', an optional '\r' before it
 * dropped): NUL-terminates it and advances *pos past it. */
static char *line_cut(char *buf, size_t *pos, size_t end, size_t *line_len)
{
	char *start = buf + *pos;
	char *nl = memchr(start, '\n', end - *pos);
	size_t n = (size_t)(nl - start);
	*pos += n + 1;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	start[n] = '\0';
	*line_len = n;
	return start;
}

static gw_http_result fail(gw_http_head *h, gw_http_result r, const char *why)
{
	h->error = why;
	return r;
}

/* Splits the request target into path and query (RFC 9112 §3.2). */
static gw_http_result target_split(gw_http_head *h, char *target, size_t len)
{
	if (len > GW_HTTP_TARGET_MAX)
		return fail(h, GW_HTTP_URI_TOO_LONG, "the request target is too long");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7F
		    || target[i] == '#')
			return fail(
			    h, GW_HTTP_BAD, "the request target holds a character it may not");
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		char *authority = strstr(target, "//") + 2;
		char *slash = strpbrk(authority, "/?");
		if (slash == NULL || *slash == '?') {
			/* absolute-form without a path: the path is "/" */
			h->path = "/";
			h->query = slash ? slash + 1 : NULL;
			return GW_HTTP_OK;
		}
		target = slash;
	} else if (strcmp(target, "*") != 0 && target[0] != '/') {
		return fail(h, GW_HTTP_BAD, "the request target must be a path");
	}
	char *q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	h->path = target;
	h->query = q ? q + 1 : NULL;
	return GW_HTTP_OK;
}

/* method SP request-target SP HTTP-version */
static gw_http_result request_line(gw_http_head *h, char *line, size_t len)
{
	char *sp1 = memchr(line, ' ', len);
	char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1)
		return fail(h, GW_HTTP_BAD, "malformed request line");
	for (char *p = line; p < sp1; p++)
		if (!is_tchar((unsigned char)*p))
			return fail(h, GW_HTTP_BAD, "malformed method");
	const char *version = sp2 + 1;
	size_t vlen = len - (size_t)(version - line);
	if (vlen != 8 || strncmp(version, "HTTP/", 5) != 0 || version[6] != '.' || version[5] < '0'
	    || version[5] > '9' || version[7] < '0' || version[7] > '9')
		return fail(h, GW_HTTP_BAD, "malformed HTTP version");
	if (version[5] != '1' || version[7] > '1')
		return fail(h, GW_HTTP_BAD_VERSION, "only HTTP/1.0 and HTTP/1.1 are served");
	h->minor_version = version[7] - '0';
	*sp1 = '\0';
	*sp2 = '\0';
	h->method = line;
	return target_split(h, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

static gw_http_result content_length(gw_http_head *h, const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 18 || strspn(v, "0123456789") != n)
		return fail(h, GW_HTTP_BAD, "Content-Length must be a number of bytes");
	int64_t cl = strtoll(v, NULL, 10);
	if (h->content_length >= 0 && h->content_length != cl)
		return fail(h, GW_HTTP_BAD, "conflicting Content-Length headers");
	h->content_length = cl;
	return GW_HTTP_OK;
}

/* What the headers said about the connection, applied once all are read. */
typedef struct head_state {
	int hosts;
	bool close; /* "close" in any Connection header wins (RFC 9112 §9.3) */
	bool keep_alive; /* "keep-alive" in a Connection header (HTTP/1.0) */
} head_state;

/* Applies the headers that frame the message or the connection. */
static gw_http_result header_apply(gw_http_head *h, const gw_http_header *f, head_state *st)
{
	if (strcasecmp(f->name, "content-length") == 0)
		return content_length(h, f->value);
	if (strcasecmp(f->name, "transfer-encoding") == 0) {
		if (h->chunked)
			return fail(h, GW_HTTP_BAD, "Transfer-Encoding given twice");
		if (strcasecmp(f->value, "chunked") != 0)
			return fail(h, GW_HTTP_UNSUPPORTED_CODING,
			    "only the chunked transfer coding is accepted");
		h->chunked = true;
	} else if (strcasecmp(f->name, "host") == 0) {
		st->hosts++;
	} else if (strcasecmp(f->name, "connection") == 0) {
		st->close = st->close || gw_http_list_has(f->value, "close");
		st->keep_alive = st->keep_alive || gw_http_list_has(f->value, "keep-alive");
	} else if (strcasecmp(f->name, "expect") == 0) {
		h->expect_continue
		    = h->minor_version == 1 && strcasecmp(f->value, "100-continue") == 0;
	}
	return GW_HTTP_OK;
}

/* field-name ":" OWS field-value OWS */
static gw_http_result header_line(gw_http_head *h, char *line, size_t len, head_state *st)
{
	if (is_blank(line[0]))
		return fail(h, GW_HTTP_BAD, "folded header lines are not accepted");
	char *colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return fail(h, GW_HTTP_BAD, "malformed header line");
	for (char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return fail(h, GW_HTTP_BAD, "malformed header name");
	char *v = colon + 1, *end = line + len;
	while (v < end && is_blank(*v))
		v++;
	while (end > v && is_blank(end[-1]))
		end--;
	for (char *p = v; p < end; p++)
		if (!is_value_char((unsigned char)*p))
			return fail(h, GW_HTTP_BAD, "a header value holds a control character");
	if (h->nheaders == GW_HTTP_MAX_HEADERS)
		return fail(h, GW_HTTP_HEAD_TOO_LARGE, "too many headers");
	*colon = '\0';
	*end = '\0';
	gw_http_header *f = &h->headers[h->nheaders++];
	f->name = line;
	f->value = v;
	return header_apply(h, f, st);
}

/* The rules between headers (RFC 9112 §3.2, §6.1, §6.3). */
static gw_http_result head_check(gw_http_head *h, const head_state *st)
{
	if (st->hosts > 1 || (h->minor_version == 1 && st->hosts != 1))
		return fail(h, GW_HTTP_BAD, "a request needs exactly one Host header");
	h->keep_alive = !st->close && (h->minor_version == 1 || st->keep_alive);
	if (h->chunked && h->minor_version == 0)
		return fail(h, GW_HTTP_BAD, "Transfer-Encoding is not allowed in HTTP/1.0");
	if (h->chunked && h->content_length >= 0)
		return fail(h, GW_HTTP_BAD, "Content-Length and Transfer-Encoding together");
	return GW_HTTP_OK;
}

gw_http_result gw_http_head_parse(char *buf, size_t len, size_t max_head, gw_http_head *h)
{
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	size_t start = 0;
	while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
		start++;
	size_t scan = len < max_head ? len : max_head;
	size_t end = start < scan ? head_end(buf + start, scan - start) : 0;
	if (end == 0) {
		if (len < max_head)
			return GW_HTTP_INCOMPLETE;
		if (start >= scan)
			return fail(
			    h, GW_HTTP_HEAD_TOO_LARGE, "too many empty lines before the request");
		if (memchr(buf + start, '\n', scan - start) == NULL)
			return fail(h, GW_HTTP_URI_TOO_LONG, "the request line is too long");
		return fail(h, GW_HTTP_HEAD_TOO_LARGE, "the request head is too large");
	}
	end += start;
	if (memchr(buf, '\0', end) != NULL)
		return fail(h, GW_HTTP_BAD, "the request head holds a NUL byte");
	size_t pos = start, n = 0;
	char *line = line_cut(buf, &pos, end, &n);
	gw_http_result r = request_line(h, line, n);
	if (r != GW_HTTP_OK)
		return r;
	head_state st = { 0 };
	while ((line = line_cut(buf, &pos, end, &n)) != NULL && n > 0)
		if ((r = header_line(h, line, n, &st)) != GW_HTTP_OK)
			return r;
	h->head_len = end;
	return head_check(h, &st);
}

static void rebase(const char **p, const char *old_base, size_t old_size, char *new_base)
{
	/* compared as integers: *p may point elsewhere (a static "/") */
	uintptr_t at = (uintptr_t)*p, old = (uintptr_t)old_base;
	if (*p != NULL && at - old < old_size)
		*p = new_base + (at - old);
}

void gw_http_head_rebase(gw_http_head *h, const char *old_base, size_t old_size, char *new_base)
{
	rebase(&h->method, old_base, old_size, new_base);
	rebase(&h->path, old_base, old_size, new_base);
	rebase(&h->query, old_base, old_size, new_base);
	for (size_t i = 0; i < h->nheaders; i++) {
		rebase(&h->headers[i].name, old_base, old_size, new_base);
		rebase(&h->headers[i].value, old_base, old_size, new_base);
	}
}

const char *gw_http_head_header(const gw_http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}

bool gw_http_list_has(const char *value, const char *token)
{
	size_t tlen = strlen(token);
	for (const char *p = value; p != NULL && *p != '\0';) {
		while (is_blank(*p) || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && is_blank(p[m - 1]))
			m--;
		if (m == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Reads a chunk-size line at body[pos..len): the size, and *next after it.
 * INCOMPLETE when the line has not fully arrived. */
static gw_http_result chunk_size(
    const char *body, size_t pos, size_t len, uint64_t *size, size_t *next, gw_http_chunked *c)
{
	size_t avail = len - pos;
	const char *nl = memchr(body + pos, '\n', avail);
	if (nl == NULL) {
		c->error = "a chunk size line is too long";
		return avail > GW_HTTP_CHUNK_LINE_MAX ? GW_HTTP_BAD : GW_HTTP_INCOMPLETE;
	}
	const char *p = body + pos, *eol = nl;
	if ((size_t)(nl - p) > GW_HTTP_CHUNK_LINE_MAX) {
		c->error = "a chunk size line is too long";
		return GW_HTTP_BAD;
	}
	if (eol == p || eol[-1] != '\r') {
		/* a bare LF here is how request smuggling splits bodies */
		c->error = "a chunk size line does not end with CRLF";
		return GW_HTTP_BAD;
	}
	eol--;
	uint64_t v = 0;
	size_t digits = 0;
	for (; p < eol && strchr("0123456789abcdefABCDEF", *p) != NULL && *p != '\0';
	     p++, digits++) {
		if (digits == 15) {
			c->error = "a chunk size is too large";
			return GW_HTTP_BAD;
		}
		int d = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;
		v = v << 4 | (uint64_t)d;
	}
	/* the rest may only be chunk extensions (BWS ";" ...), which are ignored */
	while (p < eol && is_blank(*p))
		p++;
	bool ok = digits > 0 && (p == eol || *p == ';');
	for (; ok && p < eol; p++)
		ok = is_value_char((unsigned char)*p);
	if (!ok) {
		c->error = "malformed chunk size line";
		return GW_HTTP_BAD;
	}
	*size = v;
	*next = (size_t)(nl + 1 - body);
	return GW_HTTP_OK;
}

/* After the last chunk: trailer lines up to an empty line, all dropped. */
static gw_http_result chunk_trailers(const char *body, size_t pos, size_t len, gw_http_chunked *c)
{
	size_t at = pos;
	for (;;) {
		const char *nl = memchr(body + at, '\n', len - at);
		if (nl == NULL) {
			c->error = "the trailer section is too large";
			return len - pos > GW_HTTP_TRAILERS_MAX ? GW_HTTP_BAD : GW_HTTP_INCOMPLETE;
		}
		size_t n = (size_t)(nl - (body + at));
		if (n == 0 || body[at + n - 1] != '\r') {
			c->error = "a trailer line does not end with CRLF";
			return GW_HTTP_BAD;
		}
		bool empty = n == 1;
		for (size_t i = 0; i + 1 < n && !empty; i++)
			if (!is_value_char((unsigned char)body[at + i])) {
				c->error = "a trailer line holds a control character";
				return GW_HTTP_BAD;
			}
		at += n + 1;
		if (at - pos > GW_HTTP_TRAILERS_MAX) {
			c->error = "the trailer section is too large";
			return GW_HTTP_BAD;
		}
		if (empty) {
			c->in_pos = at;
			c->done = true;
			return GW_HTTP_OK;
		}
	}
}

gw_http_result gw_http_chunked_decode(char *body, size_t len, size_t max_body, gw_http_chunked *c)
{
	while (!c->done) {
		uint64_t size = 0;
		size_t data = 0;
		gw_http_result r = chunk_size(body, c->in_pos, len, &size, &data, c);
		if (r != GW_HTTP_OK)
			return r;
		if (size == 0)
			return chunk_trailers(body, data, len, c);
		if (size > max_body - c->out_len) {
			c->error = "the body is too large";
			return GW_HTTP_BODY_TOO_LARGE;
		}
		if (len - data < size + 1)
			return GW_HTTP_INCOMPLETE;
		size_t after = data + (size_t)size, crlf = 2;
		if (body[after] != '\r') {
			c->error = "a chunk does not end with CRLF";
			return GW_HTTP_BAD;
		}
		if (len - after < crlf)
			return GW_HTTP_INCOMPLETE;
		if (body[after + 1] != '\n') {
			c->error = "a chunk does not end with CRLF";
			return GW_HTTP_BAD;
		}
		memmove(body + c->out_len, body + data, (size_t)size);
		c->out_len += (size_t)size;
		c->in_pos = after + crlf;
	}
	return GW_HTTP_OK;
}
