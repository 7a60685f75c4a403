/* Batch framing (proto/README.md, Batches). */
#include "hd/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void batch_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t batch_get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

size_t hd_batch_part_len(const hd_batch_part *part)
{
	return part->len + (part->tail != NULL ? part->tail_len : 0);
}

void hd_batch_part_write(const hd_batch_part *part, char *out)
{
	if (part->len > 0)
		memcpy(out, part->data, part->len);
	if (part->tail != NULL && part->tail_len > 0)
		memcpy(out + part->len, part->tail, part->tail_len);
}

bool hd_batch_is(const char *buf, size_t len)
{
	return buf != NULL && len >= 2 && buf[0] == 'H' && buf[1] == 'B';
}

size_t hd_batch_size(const hd_batch_part *parts, size_t n)
{
	if (parts == NULL || n == 0 || n > HD_BATCH_MAX)
		return 0;
	size_t total = HD_BATCH_PREAMBLE;
	for (size_t i = 0; i < n; i++) {
		size_t len = hd_batch_part_len(&parts[i]);
		if (len > UINT32_MAX || len < parts[i].len
		    || (parts[i].data == NULL && parts[i].len > 0)
		    || (parts[i].tail == NULL && parts[i].tail_len > 0))
			return 0;
		total += HD_BATCH_PART_HEADER + len;
	}
	return total;
}

void hd_batch_write(const hd_batch_part *parts, size_t n, char *out)
{
	unsigned char *buf = (unsigned char *)out;
	buf[0] = 'H';
	buf[1] = 'B';
	buf[2] = HD_BATCH_VERSION;
	buf[3] = 0;
	batch_put_u32(buf + 4, (uint32_t)n);
	unsigned char *p = buf + HD_BATCH_PREAMBLE;
	for (size_t i = 0; i < n; i++) {
		batch_put_u32(p, (uint32_t)hd_batch_part_len(&parts[i]));
		hd_batch_part_write(&parts[i], (char *)p + HD_BATCH_PART_HEADER);
		p += HD_BATCH_PART_HEADER + hd_batch_part_len(&parts[i]);
	}
}

hd_err hd_batch_encode(const hd_batch_part *parts, size_t n, char **out, size_t *len)
{
	size_t total = hd_batch_size(parts, n);
	if (total == 0 || out == NULL || len == NULL)
		return HD_ERR_INVALID;
	char *buf = malloc(total);
	if (buf == NULL)
		return HD_ERR_NOMEM;
	hd_batch_write(parts, n, buf);
	*out = buf;
	*len = total;
	return HD_OK;
}

hd_err hd_batch_decode(const char *buf, size_t len, hd_batch_part *parts, size_t max, size_t *n)
{
	const unsigned char *b = (const unsigned char *)buf;
	if (buf == NULL || parts == NULL || n == NULL || len < HD_BATCH_PREAMBLE
	    || !hd_batch_is(buf, len) || b[2] != HD_BATCH_VERSION || b[3] != 0)
		return HD_ERR_INVALID;
	uint32_t count = batch_get_u32(b + 4);
	if (count == 0 || count > HD_BATCH_MAX || count > max)
		return HD_ERR_INVALID;
	size_t off = HD_BATCH_PREAMBLE;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < HD_BATCH_PART_HEADER)
			return HD_ERR_INVALID;
		uint32_t part = batch_get_u32(b + off);
		off += HD_BATCH_PART_HEADER;
		if (part > len - off)
			return HD_ERR_INVALID;
		parts[i] = (hd_batch_part) { buf + off, part, NULL, 0 };
		off += part;
	}
	if (off != len) /* trailing bytes */
		return HD_ERR_INVALID;
	*n = count;
	return HD_OK;
}
