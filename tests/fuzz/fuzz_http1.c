/* libFuzzer target for the gateway's HTTP/1.1 parser (gateway/http1.c). The
 * input is parsed as a request head with a few max_head values; on OK the
 * head must be consistent (strings inside the buffer and NUL-terminated
 * within the head, or the static "/" path; framing rules held) and must
 * survive a rebase onto a copy. Then the bytes after the head (or, when the
 * head was refused, the input after its first byte) go through the chunked
 * decoder in one piece, in two pieces split at a point taken from the
 * first input byte (its share of 256 of the way in), and in pieces of 1 to
 * 64 bytes (also from that byte): every way must give the same result. Inputs are copied into
 * malloc'd buffers of their exact size so ASan sees any overread. Build:
 * clang -fsanitize=fuzzer,address,undefined -I gateway with gateway/http1.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http1.h"

#define FUZZ_MAX_BODY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dup_bytes(const void *p, size_t n)
{
	char *s = malloc(n ? n : 1);
	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	return s;
}

/* p is a string cut inside buf's head (NUL within it), or NULL when allowed. */
static void check_str(const char *p, const char *buf, size_t head_len, int nullable)
{
	if (p == NULL) {
		if (!nullable)
			abort();
		return;
	}
	if (p < buf || p >= buf + head_len || memchr(p, '\0', (size_t)(buf + head_len - p)) == NULL)
		abort();
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void check_headers(const gw_http_head *h, const char *buf)
{
	int hosts = 0;
	if (h->nheaders > GW_HTTP_MAX_HEADERS)
		abort();
	for (size_t i = 0; i < h->nheaders; i++) {
		const gw_http_header *f = &h->headers[i];
		check_str(f->name, buf, h->head_len, 0);
		check_str(f->value, buf, h->head_len, 0);
		size_t vlen = strlen(f->value);
		if (f->name[0] == '\0' || strpbrk(f->name, " \t:\r\n") != NULL)
			abort();
		if (vlen > 0 && (is_blank(f->value[0]) || is_blank(f->value[vlen - 1])))
			abort();
		for (const char *p = f->value; *p != '\0'; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
				abort();
		hosts += strcasecmp(f->name, "host") == 0;
	}
	if (h->minor_version == 1 && hosts != 1)
		abort();
}

static void check_head(const gw_http_head *h, const char *buf, size_t len, size_t max_head)
{
	if (h->head_len == 0 || h->head_len > len || h->head_len > max_head)
		abort();
	if (h->minor_version != 0 && h->minor_version != 1)
		abort();
	check_str(h->method, buf, h->head_len, 0);
	if (h->method[0] == '\0')
		abort();
	/* the path is in the head, or the static "/" of an absolute-form target */
	if (h->path >= buf && h->path < buf + h->head_len)
		check_str(h->path, buf, h->head_len, 0);
	else if (h->path == NULL || strcmp(h->path, "/") != 0)
		abort();
	if (h->path[0] != '/' && strcmp(h->path, "*") != 0)
		abort();
	check_str(h->query, buf, h->head_len, 1);
	if (strlen(h->path) > GW_HTTP_TARGET_MAX)
		abort();
	check_headers(h, buf);
	if (h->content_length < -1 || (h->chunked && h->content_length >= 0))
		abort();
	if (h->chunked && h->minor_version == 0)
		abort();
	if (h->expect_continue && h->minor_version == 0)
		abort();
}

/* Rebases h onto a copy of buf: every string must sit at the same offset in
 * the copy (the static "/" path stays as it is). */
static void check_rebase(const gw_http_head *h, const char *buf, size_t len)
{
	char *copy = dup_bytes(buf, len);
	gw_http_head r = *h;
	gw_http_head_rebase(&r, buf, len, copy);
	if (r.method - copy != h->method - buf || strcmp(r.method, h->method) != 0)
		abort();
	if (strcmp(r.path, h->path) != 0 || (r.query == NULL) != (h->query == NULL))
		abort();
	if (r.query != NULL && r.query - copy != h->query - buf)
		abort();
	for (size_t i = 0; i < h->nheaders; i++)
		if (r.headers[i].name - copy != h->headers[i].name - buf
		    || r.headers[i].value - copy != h->headers[i].value - buf)
			abort();
	free(copy);
}

static void check_chunked_ok(const gw_http_chunked *c, size_t len)
{
	if (!c->done || c->in_pos > len || c->out_len > c->in_pos || c->out_len > FUZZ_MAX_BODY)
		abort();
}

/* Decodes body[0..n) as it arrives: first bytes, then step more at a time,
 * each time into a new buffer of exactly the bytes arrived so far (holding
 * what earlier calls decoded). *out: the last buffer, the caller frees it. */
static gw_http_result decode_arriving(
    const char *body, size_t n, size_t first, size_t step, gw_http_chunked *c, char **out)
{
	size_t have = first < n ? first : n;
	char *buf = dup_bytes(body, have);
	memset(c, 0, sizeof(*c));
	gw_http_result r = gw_http_chunked_decode(buf, have, FUZZ_MAX_BODY, c);
	while (r == GW_HTTP_INCOMPLETE && have < n) {
		size_t more = n - have < step ? n - have : step;
		char *grown = dup_bytes(body, have + more);
		memcpy(grown, buf, have);
		free(buf);
		buf = grown;
		have += more;
		r = gw_http_chunked_decode(buf, have, FUZZ_MAX_BODY, c);
	}
	*out = buf;
	return r;
}

/* Decodes body[0..n) in one piece, in two split at cut, and step bytes at a
 * time: the same answer every way. */
static void check_chunked(const char *body, size_t n, size_t cut, size_t step)
{
	gw_http_chunked whole, c;
	char *a, *b;
	gw_http_result want = decode_arriving(body, n, n, n, &whole, &a);
	if (want == GW_HTTP_OK)
		check_chunked_ok(&whole, n);
	else if (want != GW_HTTP_INCOMPLETE && whole.error == NULL)
		abort();
	for (int way = 0; way < 2; way++) {
		gw_http_result r = way == 0 ? decode_arriving(body, n, cut, n, &c, &b)
		                            : decode_arriving(body, n, step, step, &c, &b);
		if (r != want)
			abort();
		if (r == GW_HTTP_OK
		    && (c.in_pos != whole.in_pos || c.out_len != whole.out_len
		        || memcmp(a, b, whole.out_len) != 0))
			abort();
		free(b);
	}
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_heads[] = { 16384, 256, 24 };
	const char *rest = size > 0 ? (const char *)data + 1 : NULL;
	size_t rest_len = size > 0 ? size - 1 : 0;
	for (size_t i = 0; i < sizeof(max_heads) / sizeof(max_heads[0]); i++) {
		gw_http_head h;
		char *buf = dup_bytes(data, size);
		gw_http_result r = gw_http_head_parse(buf, size, max_heads[i], &h);
		if (r == GW_HTTP_INCOMPLETE
		    && (size >= max_heads[i] || memcmp(buf, data, size) != 0))
			abort();
		if (r != GW_HTTP_OK && r != GW_HTTP_INCOMPLETE && h.error == NULL)
			abort();
		if (r == GW_HTTP_OK) {
			check_head(&h, buf, size, max_heads[i]);
			check_rebase(&h, buf, size);
			rest = (const char *)data + h.head_len;
			rest_len = size - h.head_len;
		}
		free(buf);
	}
	if (rest != NULL) {
		size_t cut = (size_t)data[0] * (rest_len + 1) / 256;
		check_chunked(rest, rest_len, cut, 1 + data[0] % 64);
	}
	return 0;
}
