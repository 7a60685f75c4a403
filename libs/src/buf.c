/* hd_buf: see hd/buf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/buf.h"

#define HD_BUF_MIN 1024

bool hd_buf_reserve(hd_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (b->cap - b->len > extra)
		return true;
	size_t cap = b->cap > 0 ? b->cap : HD_BUF_MIN;
	while (cap - b->len <= extra)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void hd_buf_put(hd_buf *b, const char *s, size_t n)
{
	if (!hd_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void hd_buf_puts(hd_buf *b, const char *s)
{
	hd_buf_put(b, s, strlen(s));
}

void hd_buf_put_json_string(hd_buf *b, const char *s)
{
	hd_buf_put(b, "\"", 1);
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			hd_buf_put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			hd_buf_put(b, esc, 6);
		} else {
			hd_buf_put(b, p, 1);
		}
	}
	hd_buf_put(b, "\"", 1);
}

void hd_buf_free(hd_buf *b)
{
	free(b->data);
	*b = (hd_buf) { 0 };
}
