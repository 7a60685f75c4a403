/* A growing output buffer for replies built piece by piece (lists, objects
 * written from columns). NUL-terminated once anything was put; after a failed
 * allocation it keeps failed set and ignores further puts, so a writer checks
 * once at the end. Zero-initialise ({ 0 }) before use. */
#ifndef HD_BUF_H
#define HD_BUF_H
#include <stdbool.h>
#include <stddef.h>

typedef struct hd_buf {
	char *data; /* owned (malloc) */
	size_t len, cap;
	bool failed;
} hd_buf;

/* Makes room for extra more bytes (plus the NUL); false once failed. */
bool hd_buf_reserve(hd_buf *b, size_t extra);
void hd_buf_put(hd_buf *b, const char *s, size_t n);
void hd_buf_puts(hd_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included (s is valid UTF-8). */
void hd_buf_put_json_string(hd_buf *b, const char *s);
void hd_buf_free(hd_buf *b);

#endif
