/* Stream positions of GET /v1/stream: the SSE `id:` and `Last-Event-ID`.
 * A position is one `seq` per event source (sse_sources.def, in that order):
 * the last event of that source the stream has passed (delivered, or
 * skipped because the reader may not see it). Encoded as
 * "1.<seq>.<seq>..." (the format version, then each source's seq in decimal,
 * or "-" when the stream never knew that source's position); opaque to
 * clients (docs/openapi.yaml). Pure functions. */
#ifndef GW_SSE_POS_H
#define GW_SSE_POS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
#define GW_SSE_SOURCE(name, svc, prefixes, since, replay) GW_SSE_SRC_##name,
#include "sse_sources.def"
#undef GW_SSE_SOURCE
	GW_SSE_SRC__COUNT
};

/* A position component that is unknown. */
#define GW_SSE_SEQ_UNKNOWN (-1)
/* Largest seq (events are numbered in JSON: 2^53). */
#define GW_SSE_SEQ_MAX ((int64_t)1 << 53)
/* Longest encoded position, with its NUL. */
#define GW_SSE_POS_MAX (2 + GW_SSE_SRC__COUNT * 18)

typedef struct gw_sse_pos {
	int64_t seq[GW_SSE_SRC__COUNT]; /* 0..GW_SSE_SEQ_MAX, or GW_SSE_SEQ_UNKNOWN */
} gw_sse_pos;

/* Reads the len bytes at s (not NUL-terminated) into p; false unless they
 * are exactly a position this gateway writes: version 1, one component per
 * source, each "-" or 1..16 decimal digits without a leading zero, at most
 * GW_SSE_SEQ_MAX. p is unchanged on failure. */
bool gw_sse_pos_decode(const char *s, size_t len, gw_sse_pos *p);
/* Writes p NUL-terminated into out (GW_SSE_POS_MAX bytes); returns the length. */
size_t gw_sse_pos_encode(const gw_sse_pos *p, char out[GW_SSE_POS_MAX]);

#endif
