/* libFuzzer target for the outside inputs of stream tickets
 * (gateway/sse_auth.c): the ?ticket= of GET /v1/stream (a key only for the
 * exact form), a stored ticket value (what reads back must write back the
 * same), and a message of the sessions channel. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char key[GW_SSE_TICKET_KEY_MAX], back[GW_SSE_TICKET_VALUE_MAX];
	hd_jwt_claims c;
	gw_sse_ended e;
	if (gw_sse_ticket_key(s, size, key) && (size != GW_SSE_TICKET_LEN || strlen(key) != 80))
		abort();
	if (gw_sse_ticket_claims(s, size, &c)) {
		if (!gw_sse_ticket_value(&c, back, sizeof(back)) || strlen(back) != size
		    || memcmp(back, s, size) != 0)
			abort();
	}
	if (gw_sse_ended_parse(s, size, &e) && e.tenant[0] == '\0')
		abort();
	return 0;
}
