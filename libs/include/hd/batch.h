/* Batches (spec: proto/README.md, Batches): several request envelopes, or their
 * replies in the same order, in one NNG message, so that one trip through
 * NNG's threads carries many requests. A batch is told from a lone envelope
 * by its magic ("HB" instead of "HD"). The parts are opaque here: each is a
 * whole envelope or reply, decoded by envelope.c. */
#ifndef HD_BATCH_H
#define HD_BATCH_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

#define HD_BATCH_VERSION 1
#define HD_BATCH_PREAMBLE 8 /* "HB", version, flags, u32 big-endian count */
#define HD_BATCH_PART_HEADER 4 /* u32 big-endian length before each part */
#define HD_BATCH_MAX 64 /* parts in one batch */

/* One part: data[len], then (encoding only) tail[tail_len] right after it
 * in the same part, so that a request's envelope head and the body it
 * announces (hd_envelope_encode_head) are copied once, into the message.
 * Decoding sets tail to NULL. */
typedef struct hd_batch_part {
	const char *data;
	size_t len;
	const char *tail;
	size_t tail_len;
} hd_batch_part;

/* A part's bytes: len + tail_len, and both written to out (which holds them). */
size_t hd_batch_part_len(const hd_batch_part *part);
void hd_batch_part_write(const hd_batch_part *part, char *out);
/* True when buf starts with a batch's magic (then decode it as a batch). */
bool hd_batch_is(const char *buf, size_t len);
/* Encodes n (1..HD_BATCH_MAX) parts into a malloc'ed buffer (caller frees). */
hd_err hd_batch_encode(const hd_batch_part *parts, size_t n, char **out, size_t *len);
/* The same in two steps, for a caller that owns the buffer: the encoded
 * size (0 when the parts cannot be encoded), then the bytes into out. */
size_t hd_batch_size(const hd_batch_part *parts, size_t n);
void hd_batch_write(const hd_batch_part *parts, size_t n, char *out);
/* Splits buf into at most max parts pointing into buf; *n gets the count.
 * HD_ERR_INVALID for anything malformed (see the spec's decoding rules). */
hd_err hd_batch_decode(const char *buf, size_t len, hd_batch_part *parts, size_t max, size_t *n);

#endif
