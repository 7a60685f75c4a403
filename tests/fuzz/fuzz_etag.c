/* libFuzzer target for If-None-Match (gateway/etag.c): the header comes from
 * outside. The raw input is matched as it is (ASan: nothing read past its
 * NUL); and a well-formed list built from the input's bytes (a tag per byte,
 * weak or strong, varied separators) does not match the served tag until
 * the tag is appended to it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "etag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TAG[] = "\"5e\"";

static void check_built_list(const uint8_t *data, size_t size)
{
	static const char *const seps[] = { ",", ", ", " ,\t", ",," };
	char list[4096];
	size_t len = 0;
	for (size_t i = 0; i < size && len + 16 < sizeof list; i++) {
		int n = snprintf(list + len, sizeof list - len, "%s%s\"%02x\"",
		    i ? seps[data[i] & 3] : "", (data[i] & 4) ? "W/" : "", data[i] & 0xf8u);
		len += (size_t)n;
	}
	if (gw_etag_none_match(list, TAG))
		abort(); /* tags are multiples of 8 in hex: never "5e" */
	snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", TAG);
	if (!gw_etag_none_match(list, TAG))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	gw_etag_none_match(in, TAG);
	gw_etag_none_match(in, "\"\"");
	free(in);
	check_built_list(data, size);
	return 0;
}
