/* HTTP/1.1 request parsing (RFC 9112) for the gateway's own server (conn.c).
 * Pure functions over a byte buffer: no I/O, no allocation. A head is only
 * parsed once its blank line has arrived, then in place: the strings of
 * gw_http_head are NUL-terminated inside the caller's buffer, so they live as
 * long as the buffer's first head_len bytes are left alone.
 *
 * What is refused, and how (the caller maps each result to a status):
 * - GW_HTTP_BAD (400): a malformed request line, header line or chunk; a
 *   header folded over lines (obs-fold); control characters; a
 *   Content-Length that is not digits, or given twice with other values;
 *   Content-Length together with Transfer-Encoding (request smuggling);
 *   Transfer-Encoding on HTTP/1.0; more than one Host, or an HTTP/1.1
 *   request without one; a request target that is not origin-form,
 *   absolute-form, or "*". "close" in any Connection header ends the
 *   connection after the answer.
 * - GW_HTTP_HEAD_TOO_LARGE (431): no blank line within max_head bytes, or
 *   more than GW_HTTP_MAX_HEADERS headers.
 * - GW_HTTP_URI_TOO_LONG (414): a request target over GW_HTTP_TARGET_MAX.
 * - GW_HTTP_BAD_VERSION (505): a version other than HTTP/1.0 and HTTP/1.1.
 * - GW_HTTP_UNSUPPORTED_CODING (501): a transfer coding other than chunked.
 * - GW_HTTP_BODY_TOO_LARGE (413): a chunked body over the limit. */
#ifndef GW_HTTP1_H
#define GW_HTTP1_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_HTTP_MAX_HEADERS 64
#define GW_HTTP_TARGET_MAX 8192

typedef enum gw_http_result {
	GW_HTTP_INCOMPLETE = 0,
	GW_HTTP_OK,
	GW_HTTP_BAD,
	GW_HTTP_HEAD_TOO_LARGE,
	GW_HTTP_URI_TOO_LONG,
	GW_HTTP_BAD_VERSION,
	GW_HTTP_UNSUPPORTED_CODING,
	GW_HTTP_BODY_TOO_LARGE,
} gw_http_result;

typedef struct gw_http_header {
	const char *name; /* as sent (compare case-insensitively) */
	const char *value; /* without leading and trailing blanks */
} gw_http_header;

typedef struct gw_http_head {
	const char *method; /* as sent: methods are case-sensitive */
	const char *path; /* "/..." without the query, or "*" */
	const char *query; /* after '?', or NULL when there is no '?' */
	int minor_version; /* HTTP/1.<minor_version>: 0 or 1 */
	size_t nheaders;
	gw_http_header headers[GW_HTTP_MAX_HEADERS];
	size_t head_len; /* bytes up to and including the blank line */
	int64_t content_length; /* -1: none given */
	bool chunked; /* Transfer-Encoding: chunked */
	bool keep_alive; /* the client allows another request on the connection */
	bool expect_continue; /* Expect: 100-continue */
	const char *error; /* when not OK: what was wrong, for the problem detail */
} gw_http_head;

/* Parses the request head at buf[0..len). INCOMPLETE until the blank line
 * is there; OK fills h. Leading empty lines are skipped (RFC 9112 §2.2). buf
 * is modified once the blank line is in it, whatever the result. */
gw_http_result gw_http_head_parse(char *buf, size_t len, size_t max_head, gw_http_head *h);

/* Points h's strings into new_base, a copy of the buffer old_base (of
 * old_size bytes, still allocated) they point into. */
void gw_http_head_rebase(gw_http_head *h, const char *old_base, size_t old_size, char *new_base);

/* The value of header name (case-insensitive), the first when repeated. */
const char *gw_http_head_header(const gw_http_head *h, const char *name);

/* True when the comma-separated list value holds token (case-insensitive). */
bool gw_http_list_has(const char *value, const char *token);

/* A chunked body being decoded in place: chunks are moved down to the start
 * of the body as they complete, so decoding can resume when more arrives. */
typedef struct gw_http_chunked {
	size_t in_pos; /* encoded bytes consumed (complete chunks only) */
	size_t out_len; /* decoded bytes at the start of the body */
	bool done; /* the last chunk and the trailers have been read */
	const char *error;
} gw_http_chunked;

/* Decodes body[0..len) (the bytes after the head) into body[0..out_len).
 * INCOMPLETE until the last chunk and the trailer section have arrived; OK
 * then, with c->in_pos the encoded length. BODY_TOO_LARGE when the decoded
 * body would pass max_body. Trailer fields are read and dropped. */
gw_http_result gw_http_chunked_decode(char *body, size_t len, size_t max_body, gw_http_chunked *c);

#endif
