/* libFuzzer target: the envelope decoders (requests and replies) on
 * arbitrary bytes. A decoded request or reply must re-encode and decode to
 * the same fields, and its body must lie inside the input. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/envelope.h"

static void check_request(const char *buf, size_t len)
{
	hd_envelope e, again;
	if (hd_envelope_decode(buf, len, &e) != HD_OK)
		return;
	assert(e.body >= buf && e.body + e.body_len == buf + len);
	char *out = NULL;
	size_t out_len = 0;
	if (hd_envelope_encode(&e, &out, &out_len) != HD_OK)
		return; /* escaping can push a legal header past the limit */
	assert(hd_envelope_decode(out, out_len, &again) == HD_OK);
	assert(strcmp(e.op, again.op) == 0 && strcmp(e.query, again.query) == 0);
	assert(e.nparams == again.nparams && e.nheaders == again.nheaders);
	assert(e.body_len == again.body_len && memcmp(e.body, again.body, e.body_len) == 0);
	free(out);
}

static void check_reply(const char *buf, size_t len)
{
	hd_reply r, again;
	if (hd_reply_decode(buf, len, &r) != HD_OK)
		return;
	assert(r.status >= 100 && r.status <= 599);
	char *out = NULL;
	size_t out_len = 0;
	if (hd_reply_encode(&r, &out, &out_len) != HD_OK)
		return;
	assert(hd_reply_decode(out, out_len, &again) == HD_OK);
	assert(r.status == again.status && r.nheaders == again.nheaders);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end are caught */
	char *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check_request(buf, size);
	check_reply(buf, size);
	free(buf);
	return 0;
}
