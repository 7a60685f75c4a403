/* libFuzzer target for list cursors (libs/src/query.c): a cursor that
 * decodes must be the one canonical encoding of what it decodes to, and any
 * plain text must survive encode + decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	char plain[HD_CURSOR_MAX + 1], cursor[HD_CURSOR_MAX + 1], back[HD_CURSOR_MAX + 1];
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (hd_cursor_decode(in, plain, sizeof(plain)) == HD_OK) {
		if (hd_cursor_encode(plain, cursor, sizeof(cursor)) != HD_OK
		    || strcmp(cursor, in) != 0)
			abort();
	}
	if (strlen(in) == size && hd_cursor_encode(in, cursor, sizeof(cursor)) == HD_OK) {
		if (hd_cursor_decode(cursor, back, sizeof(back)) == HD_OK && strcmp(back, in) != 0)
			abort();
	}
	free(in);
	return 0;
}
