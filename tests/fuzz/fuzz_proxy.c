/* libFuzzer target for the client address behind trusted proxies
 * (gateway/proxy.c): X-Forwarded-For comes from outside, and so, from the
 * operator, does HD_TRUSTED_PROXIES. The input is split at the first NUL
 * into a proxy list and a header value. Whatever they hold: the client
 * written is NUL-terminated within its buffer, an untrusted peer's header is
 * never read, and a trusted peer's answer is an address or the peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 2);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	in[size + 1] = '\0';
	const char *spec = in, *xff = in + strlen(in) + (strlen(in) < size ? 1 : 0);
	gw_proxies p;
	char out[GW_PROXY_ADDR_MAX];
	if (!gw_proxies_parse(&p, spec))
		gw_proxies_parse(&p, "127.0.0.1, ::1/128");
	/* an untrusted peer is its own client, whatever it forwards */
	gw_proxy_client(&p, "203.0.113.9", xff, out, sizeof out);
	if (!gw_proxies_trusts(&p, "203.0.113.9") && strcmp(out, "203.0.113.9") != 0)
		abort();
	/* a trusted peer: some address, NUL-terminated inside out */
	gw_proxy_client(&p, "127.0.0.1", xff, out, sizeof out);
	if (memchr(out, '\0', sizeof out) == NULL || out[0] == '\0')
		abort();
	free(in);
	return 0;
}
