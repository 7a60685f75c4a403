/* libFuzzer target for Last-Event-ID of GET /v1/stream (gateway/sse_pos.c):
 * an id that decodes must be the one canonical encoding of what it decodes
 * to, and every component must be in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse_pos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_sse_pos p;
	char out[GW_SSE_POS_MAX];
	if (!gw_sse_pos_decode((const char *)data, size, &p))
		return 0;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++)
		if (p.seq[i] < GW_SSE_SEQ_UNKNOWN || p.seq[i] > GW_SSE_SEQ_MAX)
			abort();
	size_t n = gw_sse_pos_encode(&p, out);
	if (n != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
