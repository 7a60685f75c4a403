/* What an attachment may be, checked before its bytes are stored (pure
 * code, no I/O; docs/architecture.md, "Attachments"): the declared
 * Content-Type must be one the platform accepts (415 otherwise) and the
 * bytes must carry that type's signature (magic bytes; 422 otherwise); the
 * file name from X-Filename (or a mail part) is reduced to a safe display
 * name. Any thread. */
#ifndef HD_ATTACH_H
#define HD_ATTACH_H
#include <stdbool.h>
#include <stddef.h>

#define HD_ATTACH_FILENAME_MAX 255 /* bytes of UTF-8 */
#define HD_ATTACH_TYPE_MAX 127

typedef enum hd_attach_verdict {
	HD_ATTACH_OK,
	HD_ATTACH_TYPE_REFUSED, /* a type we do not take: 415 */
	HD_ATTACH_BYTES_MISMATCH, /* the bytes are not of the declared type: 422 */
} hd_attach_verdict;

/* Normalises a Content-Type value into out: the media type in lower case,
 * parameters dropped ("Image/PNG; x=y" → "image/png"); false when it is not
 * type/subtype of token characters or does not fit. */
bool hd_attach_type_normalise(const char *value, char out[HD_ATTACH_TYPE_MAX + 1]);

/* Checks data[0..len) against type (normalised): image/png, image/jpeg,
 * image/gif, image/webp, application/pdf, application/zip need their
 * signature; text/plain and text/csv need UTF-8 without NUL and without
 * another type's signature; application/octet-stream takes any bytes. */
hd_attach_verdict hd_attach_sniff(const char *type, const unsigned char *data, size_t len);

/* True for the image types (a work order's signature must be one). */
bool hd_attach_type_is_image(const char *type);

/* Writes a display name for raw into out: the last path component (after
 * '/' or '\'), control characters, quotes, ';' and invalid UTF-8 dropped,
 * leading dots and spaces trimmed, cut at HD_ATTACH_FILENAME_MAX bytes on
 * a character boundary. False when nothing is left (the caller then uses a
 * default such as "attachment"). */
bool hd_attach_filename_clean(const char *raw, size_t len, char out[HD_ATTACH_FILENAME_MAX + 1]);

/* The display name of an X-Filename header value: percent-decoded (clients
 * send UTF-8 names as %XX; a malformed escape is kept as is), then
 * hd_attach_filename_clean; "attachment" when nothing is left. */
void hd_attach_filename_header(const char *value, char out[HD_ATTACH_FILENAME_MAX + 1]);

/* Decodes standard base64 (RFC 4648 section 4, '=' padding required, no
 * white space) of in[0..len) into out, which must hold len / 4 * 3 bytes;
 * false when malformed. */
bool hd_base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);

/* Writes the Content-Disposition value of a download of filename (already
 * clean): attachment; filename="ASCII fallback"; filename*=UTF-8''pct when
 * that fits size, else without filename*. */
void hd_attach_disposition(const char *filename, char *out, size_t size);

#endif
