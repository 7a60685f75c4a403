/* The signature of a webhook delivery, its retry schedule and the secrets
 * (API "Notifications and real time"). Pure but for OpenSSL's HMAC and
 * random bytes; unit tests in tests/unit/test_notification.c. */
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include "notification.h"

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool nt_sign(const char *secret, int64_t t, const char *body, size_t len, char out[NT_SIG_MAX])
{
	char ts[24], digest[] = "SHA256";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	int n = snprintf(ts, sizeof(ts), "%" PRId64 ".", t);
	OSSL_PARAM params[]
	    = { OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end() };
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
	bool ok = ctx != NULL && n > 0
	    && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) == 1
	    && EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)n) == 1
	    && EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1
	    && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1 && mac_len == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (!ok)
		return false;
	char mac_hex[65];
	hex(mac, mac_len, mac_hex);
	return snprintf(out, NT_SIG_MAX, "t=%" PRId64 ",v1=%s", t, mac_hex) < NT_SIG_MAX;
}

int64_t nt_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, uint32_t rnd)
{
	int64_t full = base_ms > 0 ? base_ms : 1;
	for (int i = 1; i < attempts && full < cap_ms; i++)
		full *= 2;
	if (full > cap_ms)
		full = cap_ms;
	int64_t half = full / 2;
	/* [half, full]: "equal jitter", never sooner than half the schedule */
	return half + (int64_t)(((uint64_t)rnd * (uint64_t)(full - half + 1)) >> 32);
}

bool nt_secret_new(char out[NT_SECRET_LEN + 1])
{
	unsigned char raw[24];
	if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
		return false;
	memcpy(out, "whsec_", 6);
	hex(raw, sizeof(raw), out + 6);
	return true;
}
