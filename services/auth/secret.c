/* Token secrets: random bytes as base64url (refresh tokens, generated
 * passwords) and SHA-256 hex digests (what the database stores instead). */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "auth.h"

#define SECRET_MAX_BYTES 64

hd_err auth_random_b64url(size_t n, char *out, size_t out_size)
{
	unsigned char raw[SECRET_MAX_BYTES];
	unsigned char b64[SECRET_MAX_BYTES * 4 / 3 + 8];

	if (n == 0 || n > SECRET_MAX_BYTES || out_size < (n * 4 + 2) / 3 + 1)
		return HD_ERR_INVALID;
	if (RAND_bytes(raw, (int)n) != 1)
		return HD_ERR_INTERNAL;
	int len = EVP_EncodeBlock(b64, raw, (int)n);
	while (len > 0 && b64[len - 1] == '=')
		len--;
	for (int i = 0; i < len; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[len] = '\0';
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(b64, sizeof b64);
	return HD_OK;
}

void auth_sha256_hex(const char *s, size_t len, char out[AUTH_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, len, md);
	for (size_t i = 0; i < sizeof md; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof md] = '\0';
}
