/* libFuzzer target for access-token verification (libs/src/jwt.c) with an
 * HS256 key set: arbitrary bytes must be refused cleanly, and whatever is
 * accepted must carry well-formed claims. The seed is a valid token for
 * the secret below at time FUZZ_NOW, so mutations reach the claim checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/jwt.h"
#include "hd/uuid.h"

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef01234"
#define FUZZ_NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char secret[] = FUZZ_SECRET;
	static hd_jwt_keys keys = {
		.alg = HD_JWT_HS256,
		.sign_key = secret,
		.sign_key_len = sizeof(secret) - 1,
		.verify_key = secret,
		.verify_key_len = sizeof(secret) - 1,
		.kid = "fuzz",
		.issuer = "helpdesk",
		.audience = "helpdesk",
		.leeway_s = 5,
		.access_ttl_s = 900,
	};
	hd_jwt_claims c;
	const char *why = NULL;
	if (hd_jwt_verify(&keys, (const char *)data, size, FUZZ_NOW, &c, &why) == HD_OK) {
		if (why != NULL || !hd_uuid_valid(c.sub) || !hd_uuid_valid(c.tid)
		    || c.jti[0] == '\0' || c.exp + keys.leeway_s < FUZZ_NOW)
			abort();
	} else if (why == NULL) {
		abort();
	}
	return 0;
}
