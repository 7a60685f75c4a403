/* libFuzzer target for the gateway's request rules (gateway/route.c): route
 * matching on arbitrary paths and methods, and the Content-Type,
 * X-Request-Id and Authorization parsers. Build: clang
 * -fsanitize=fuzzer,address,undefined -I gateway with gateway/route.c and libhd.a. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_match m;
	const char *tok;
	size_t len;
	char allow[96];
	if (size == 0)
		return 0;
	unsigned method = 1u << (data[0] % 7);
	const char *path = (const char *)data + 1;
	gw_match_result r = gw_route_match(method, path, size - 1, &m);
	if (r == GW_MATCH_OK) {
		/* HEAD is served by the GET route */
		unsigned served = method == GW_HEAD ? GW_GET : method;
		if (m.route == NULL || (m.route->method != method && m.route->method != served)
		    || m.nparams > HD_ENVELOPE_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < m.nparams; i++) {
			/* {n}: 1..9 digits; {..._slug}: 2..63 of [a-z0-9-]; else a UUID */
			const char *v = m.params[i].value, *name = m.params[i].name;
			size_t n = strlen(v), nl = strlen(name);
			bool ok = strcmp(name, "n") == 0
			    ? n >= 1 && n <= 9 && strspn(v, "0123456789") == n
			    : nl >= 4 && strcmp(name + nl - 4, "slug") == 0 ? n >= 2 && n <= 63
			        && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == n
			                                                    : n == 36;
			if (!ok)
				abort();
		}
	} else if (r == GW_MATCH_METHOD && (m.allow == 0 || (m.allow & method))) {
		abort();
	}
	gw_method_list(m.allow, allow, sizeof(allow));

	char *s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	(void)gw_content_type_is_json(s);
	if (gw_request_id_valid(s) && (strlen(s) == 0 || strlen(s) > GW_REQUEST_ID_MAX))
		abort();
	if (gw_bearer_token(s, &tok, &len) && (len == 0 || tok < s || tok + len > s + strlen(s)))
		abort();
	(void)gw_role_parse(s);
	(void)gw_method_parse(s);
	free(s);
	return 0;
}
