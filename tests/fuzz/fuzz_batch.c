/* libFuzzer target: the batch decoder (libs/src/batch.c) on arbitrary bytes. A
 * decoded batch's parts must lie inside the input, in order, without
 * overlap, and re-encode to exactly the input. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	hd_batch_part parts[HD_BATCH_MAX];
	size_t n = 0;
	if (hd_batch_decode(buf, size, parts, HD_BATCH_MAX, &n) != HD_OK)
		return 0;
	assert(n >= 1 && n <= HD_BATCH_MAX);
	const char *at = buf + HD_BATCH_PREAMBLE;
	for (size_t i = 0; i < n; i++) {
		assert(parts[i].data == at + HD_BATCH_PART_HEADER);
		at = parts[i].data + parts[i].len;
		assert(at <= buf + size);
	}
	assert(at == buf + size);
	char *out = NULL;
	size_t out_len = 0;
	assert(hd_batch_encode(parts, n, &out, &out_len) == HD_OK);
	assert(out_len == size && memcmp(out, buf, size) == 0);
	free(out);
	return 0;
}
