/* Query strings and opaque list cursors from outside: bounded parsing with
 * percent-decoding, and base64url cursors. */
#ifndef HD_QUERY_H
#define HD_QUERY_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

#define HD_QUERY_MAX_PARAMS 16
#define HD_QUERY_MAX_VALUE 512
#define HD_CURSOR_MAX 512

typedef struct hd_query_param {
	char key[32];
	char value[HD_QUERY_MAX_VALUE + 1];
} hd_query_param;

typedef struct hd_query {
	hd_query_param params[HD_QUERY_MAX_PARAMS];
	size_t count;
} hd_query;

/* Parses "a=1&b=x%20y" (raw may be NULL or ""). HD_ERR_INVALID on a bad
 * escape, a NUL, too many parameters, a repeated key, or an over-long key/value. */
hd_err hd_query_parse(const char *raw, hd_query *out);
/* Returns the value of key, or NULL when absent. */
const char *hd_query_get(const hd_query *q, const char *key);
/* Reads ?limit= (1..100, default 25): HD_ERR_INVALID when present but malformed. */
hd_err hd_query_limit(const hd_query *q, int *out);

/* Encodes plain (a short string like "<ts>|<uuid>") as base64url without padding. */
hd_err hd_cursor_encode(const char *plain, char *out, size_t out_size);
/* Decodes a cursor into plain (NUL-terminated); HD_ERR_INVALID on anything malformed. */
hd_err hd_cursor_decode(const char *cursor, char *plain, size_t plain_size);

/* Encodes in[0..len) as base64url without padding into out (NUL-terminated);
 * HD_ERR_INVALID when out_size is too small. */
hd_err hd_base64url_encode(const unsigned char *in, size_t len, char *out, size_t out_size);
/* Decodes unpadded base64url in[0..len) into out; HD_ERR_INVALID on a bad
 * character or length, non-zero trailing bits, or when out_size is too small. */
hd_err hd_base64url_decode(
    const char *in, size_t len, unsigned char *out, size_t out_size, size_t *out_len);

#endif
