/* Attachment checks (hd/attach.h): the accepted types with their magic
 * bytes, and the file name sanitiser. Only the first bytes of a file are
 * looked at, except for text, which must be UTF-8 throughout. */
#include "hd/attach.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "hd/json.h"

typedef struct sig {
	size_t off;
	const char *bytes;
	size_t len;
} sig;

/* type, then up to two signatures that must all match (WebP: RIFF....WEBP). */
static const struct {
	const char *type;
	sig a, b;
} binary_types[] = {
	{ "image/png", { 0, "\x89PNG\r\n\x1a\n", 8 }, { 0, NULL, 0 } },
	{ "image/jpeg", { 0, "\xff\xd8\xff", 3 }, { 0, NULL, 0 } },
	{ "image/gif", { 0, "GIF8", 4 }, { 0, NULL, 0 } },
	{ "image/webp", { 0, "RIFF", 4 }, { 8, "WEBP", 4 } },
	{ "application/pdf", { 0, "%PDF-", 5 }, { 0, NULL, 0 } },
	{ "application/zip", { 0, "PK\x03\x04", 4 }, { 0, NULL, 0 } },
};
#define NBINARY (sizeof(binary_types) / sizeof(binary_types[0]))

static bool sig_match(const sig *s, const unsigned char *data, size_t len)
{
	return s->bytes == NULL
	    || (len >= s->off + s->len && memcmp(data + s->off, s->bytes, s->len) == 0);
}

static bool is_token_char(unsigned char c)
{
	return isalnum(c) || strchr("!#$&-^_.+", c) != NULL;
}

bool hd_attach_type_normalise(const char *value, char out[HD_ATTACH_TYPE_MAX + 1])
{
	size_t n = 0, slashes = 0;
	const char *p = value;
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p != '\0' && *p != ';' && *p != ' ' && *p != '\t'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/')
			slashes++;
		else if (!is_token_char(c))
			return false;
		if (n == HD_ATTACH_TYPE_MAX)
			return false;
		out[n++] = (char)tolower(c);
	}
	out[n] = '\0';
	return slashes == 1 && out[0] != '/' && n > 0 && out[n - 1] != '/';
}

/* The index of the binary type whose signature data carries, or -1. */
static int binary_kind(const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < NBINARY; i++)
		if (sig_match(&binary_types[i].a, data, len)
		    && sig_match(&binary_types[i].b, data, len))
			return (int)i;
	return -1;
}

hd_attach_verdict hd_attach_sniff(const char *type, const unsigned char *data, size_t len)
{
	if (strcmp(type, "application/octet-stream") == 0)
		return HD_ATTACH_OK;
	if (strcmp(type, "text/plain") == 0 || strcmp(type, "text/csv") == 0)
		return binary_kind(data, len) < 0 && hd_utf8_valid((const char *)data, len)
		    ? HD_ATTACH_OK
		    : HD_ATTACH_BYTES_MISMATCH;
	for (size_t i = 0; i < NBINARY; i++)
		if (strcmp(type, binary_types[i].type) == 0)
			return sig_match(&binary_types[i].a, data, len)
			        && sig_match(&binary_types[i].b, data, len)
			    ? HD_ATTACH_OK
			    : HD_ATTACH_BYTES_MISMATCH;
	return HD_ATTACH_TYPE_REFUSED;
}

bool hd_attach_type_is_image(const char *type)
{
	return strncmp(type, "image/", 6) == 0
	    && hd_attach_sniff(type, NULL, 0) != HD_ATTACH_TYPE_REFUSED;
}

/* Characters a display name never keeps: controls, path separators,
 * quotes and ';' (they would need escaping in Content-Disposition). */
static bool name_char_dropped(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '/' || c == ';' || c == '\'';
}

bool hd_attach_filename_clean(const char *raw, size_t len, char out[HD_ATTACH_FILENAME_MAX + 1])
{
	size_t start = 0, n = 0;
	for (size_t i = 0; i < len; i++)
		if (raw[i] == '/' || raw[i] == '\\')
			start = i + 1;
	for (size_t i = start; i < len;) {
		size_t seq = hd_utf8_seq_len(raw + i, len - i);
		if (seq == 0) {
			i++;
			continue;
		}
		bool keep = seq > 1 || !name_char_dropped((unsigned char)raw[i]);
		if (keep && n == 0 && (raw[i] == '.' || raw[i] == ' '))
			keep = false;
		if (keep && n + seq > HD_ATTACH_FILENAME_MAX)
			break;
		if (keep) {
			memcpy(out + n, raw + i, seq);
			n += seq;
		}
		i += seq;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n > 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool hd_base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
	size_t n = 0;
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=') : 0;
		int v[4];
		if (pad == 1 && in[i + 2] == '=') /* "x=y=" */
			return false;
		for (int j = 0; j < 4 - pad; j++)
			if ((v[j] = b64_value((unsigned char)in[i + (size_t)j])) < 0)
				return false;
		for (int j = 4 - pad; j < 4; j++)
			v[j] = 0;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6
		    | (uint32_t)v[3];
		out[n++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)w;
	}
	*out_len = n;
	return true;
}

void hd_attach_disposition(const char *filename, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(out, size, "attachment; filename=\"");
	for (const char *p = filename; *p != '\0' && n + 2 < size; p++)
		out[n++] = (unsigned char)*p < 0x80 ? *p : '_';
	if (n + 2 >= size) {
		snprintf(out, size, "attachment");
		return;
	}
	out[n++] = '"';
	out[n] = '\0';
	size_t mark = n;
	static const char star[] = "; filename*=UTF-8''";
	if (n + sizeof star >= size)
		return;
	memcpy(out + n, star, sizeof star - 1);
	n += sizeof star - 1;
	for (const unsigned char *p = (const unsigned char *)filename; *p != '\0'; p++) {
		bool plain = isalnum(*p) || strchr("!#$&+-.^_`|~", *p) != NULL;
		if (n + (plain ? 1 : 3) >= size) {
			out[mark] = '\0'; /* does not fit: the ASCII name alone */
			return;
		}
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void hd_attach_filename_header(const char *value, char out[HD_ATTACH_FILENAME_MAX + 1])
{
	char decoded[4 * HD_ATTACH_FILENAME_MAX];
	size_t n = 0;
	for (const char *p = value; *p != '\0' && n < sizeof decoded; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hex_value((unsigned char)p[1])) >= 0
		    && (lo = hex_value((unsigned char)p[2])) >= 0) {
			decoded[n++] = (char)(hi << 4 | lo);
			p += 2;
		} else {
			decoded[n++] = *p;
		}
	}
	if (!hd_attach_filename_clean(decoded, n, out))
		snprintf(out, HD_ATTACH_FILENAME_MAX + 1, "attachment");
}
