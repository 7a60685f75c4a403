/* Mailbox passwords kept encrypted at rest (docs/operations.md, "Mail
 * in"): AES-256-GCM (OpenSSL) under the key of HD_MAIL_KEY, a fresh 96-bit
 * nonce per sealing, the row's tenant and mailbox ids as associated data so
 * that a sealed password copied to another row does not open there. The
 * sealed form is text: "v1:" and base64 of nonce ‖ ciphertext ‖ tag. A
 * rotation keeps the previous key to open old seals (GCM's tag tells a
 * wrong key) until `--reseal-mail` (reseal.c) sealed them again. Pure but
 * for OpenSSL's random source and the settings: unit tests call it. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include "hd/config.h"
#include "hd/log.h"
#include "notification.h"

#define SEAL_NONCE 12
#define SEAL_TAG 16
#define SEAL_PREFIX "v1:"

bool nt_seal_key_parse(const char *hex, unsigned char key[NT_SEAL_KEY_LEN])
{
	if (hex == NULL || strlen(hex) != 2 * NT_SEAL_KEY_LEN)
		return false;
	for (size_t i = 0; i < NT_SEAL_KEY_LEN; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = hex[2 * i + (size_t)k];
			int d = c >= '0' && c <= '9' ? c - '0'
			    : c >= 'a' && c <= 'f'   ? c - 'a' + 10
			    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
			                             : -1;
			if (d < 0)
				return false;
			v = v * 16 + (unsigned)d;
		}
		key[i] = (unsigned char)v;
	}
	return true;
}

/* One AES-256-GCM pass over in (len bytes) into out; tag written when
 * sealing, checked when opening. */
static bool gcm(bool seal, const unsigned char *key, const unsigned char *nonce, const char *aad,
    const unsigned char *in, int len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok = ctx != NULL
	    && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal ? 1 : 0) == 1
	    && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) == 1
	    && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, -1) == 1
	    && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1
	    && EVP_CipherUpdate(ctx, out, &n, in, len) == 1
	    && (seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1)
	    && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1
	    && (!seal || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

char *nt_seal(const unsigned char key[NT_SEAL_KEY_LEN], const char *aad, const char *secret)
{
	size_t len = strlen(secret);
	if (len > NT_SEAL_SECRET_MAX)
		return NULL;
	size_t raw_len = SEAL_NONCE + len + SEAL_TAG;
	unsigned char *raw = malloc(raw_len);
	char *out = malloc(strlen(SEAL_PREFIX) + 4 * ((raw_len + 2) / 3) + 1);
	bool ok = raw != NULL && out != NULL && RAND_bytes(raw, SEAL_NONCE) == 1
	    && gcm(true, key, raw, aad, (const unsigned char *)secret, (int)len, raw + SEAL_NONCE,
	        raw + SEAL_NONCE + len);
	if (ok) {
		strcpy(out, SEAL_PREFIX);
		EVP_EncodeBlock((unsigned char *)out + strlen(SEAL_PREFIX), raw, (int)raw_len);
	}
	if (raw != NULL)
		OPENSSL_cleanse(raw, raw_len);
	free(raw);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

char *nt_unseal(const unsigned char key[NT_SEAL_KEY_LEN], const char *aad, const char *sealed)
{
	size_t plen = strlen(SEAL_PREFIX);
	if (sealed == NULL || strncmp(sealed, SEAL_PREFIX, plen) != 0)
		return NULL;
	const char *b64 = sealed + plen;
	size_t b64_len = strlen(b64);
	if (b64_len % 4 != 0
	    || b64_len > 4 * ((SEAL_NONCE + NT_SEAL_SECRET_MAX + SEAL_TAG + 2) / 3))
		return NULL;
	unsigned char *raw = malloc(b64_len / 4 * 3 + 1);
	if (raw == NULL)
		return NULL;
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)b64_len);
	size_t pad = b64_len >= 2 ? (b64[b64_len - 1] == '=') + (b64[b64_len - 2] == '=') : 0;
	char *secret = NULL;
	if (n >= 0 && (size_t)n >= SEAL_NONCE + SEAL_TAG + pad) {
		size_t len = (size_t)n - pad - SEAL_NONCE - SEAL_TAG;
		secret = malloc(len + 1);
		if (secret != NULL
		    && gcm(false, key, raw, aad, raw + SEAL_NONCE, (int)len,
		        (unsigned char *)secret, raw + SEAL_NONCE + len)
		    && memchr(secret, '\0', len) == NULL)
			secret[len] = '\0';
		else if (secret != NULL) {
			OPENSSL_cleanse(secret, len);
			free(secret);
			secret = NULL;
		}
	}
	OPENSSL_cleanse(raw, b64_len / 4 * 3 + 1);
	free(raw);
	return secret;
}

char *nt_unseal_keys(const nt_seal_keys *keys, const char *aad, const char *sealed, bool *stale)
{
	char *secret = keys->current_set ? nt_unseal(keys->current, aad, sealed) : NULL;
	*stale = false;
	if (secret == NULL && keys->previous_set) {
		secret = nt_unseal(keys->previous, aad, sealed);
		*stale = secret != NULL;
	}
	return secret;
}

/* One key setting: empty leaves *set false. */
static bool seal_key_setting(const char *name, unsigned char key[NT_SEAL_KEY_LEN], bool *set)
{
	const char *hex = hd_config_str(name);
	*set = false;
	if (hex == NULL || hex[0] == '\0')
		return true;
	if (!nt_seal_key_parse(hex, key)) {
		hd_log_error("%s must be 64 hex digits (openssl rand -hex 32)", name);
		return false;
	}
	*set = true;
	return true;
}

bool nt_seal_keys_load(nt_seal_keys *keys)
{
	if (!seal_key_setting("HD_MAIL_KEY", keys->current, &keys->current_set)
	    || !seal_key_setting("HD_MAIL_KEY_PREVIOUS", keys->previous, &keys->previous_set))
		return false;
	if (keys->previous_set && !keys->current_set) {
		hd_log_error("HD_MAIL_KEY_PREVIOUS is set without HD_MAIL_KEY");
		return false;
	}
	return true;
}
