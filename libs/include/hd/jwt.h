/* Access tokens: signing (auth daemon) and strict verification (gateway) on
 * top of libjwt 1.10, which verifies far less than it seems: the algorithm is
 * pinned by configuration, an empty key is refused, and exp/nbf/iss/aud and
 * every claim's type are checked here. Thread-safe after hd_jwt_keys_load. */
#ifndef HD_JWT_H
#define HD_JWT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hd/err.h"

typedef enum hd_jwt_alg { HD_JWT_HS256, HD_JWT_RS256, HD_JWT_ES256 } hd_jwt_alg;

#define HD_JWT_MAX_KEYS 8 /* verification keys besides the current one */

/* A verification key and its key id (`kid` in the token header). */
typedef struct hd_jwt_vkey {
	char kid[64];
	unsigned char *key; /* HS: secret; RS/ES: public key PEM */
	size_t key_len;
} hd_jwt_vkey;

/* The keys and rules of one deployment. A token is verified with the key
 * its header's kid names: kid (the current key, verify_key) or one of more
 * (keys being rotated in or out, from HD_JWT_KEYS_DIR); an unknown kid is
 * refused, and so is a token without one unless the current key is the only
 * one (docs/operations.md, Key rotation). */
typedef struct hd_jwt_keys {
	hd_jwt_alg alg;
	unsigned char
	    *sign_key; /* HS: secret; RS/ES: private key PEM (NULL where only verifying) */
	size_t sign_key_len;
	unsigned char *verify_key; /* HS: secret; RS/ES: public key PEM */
	size_t verify_key_len;
	char kid[64];
	char issuer[128];
	char audience[128];
	int leeway_s;
	int access_ttl_s;
	hd_jwt_vkey more[HD_JWT_MAX_KEYS]; /* verification only, by kid */
	size_t nmore;
} hd_jwt_keys;

/* The claims of a verified access token. */
typedef struct hd_jwt_claims {
	char sub[37]; /* user id */
	char tid[37]; /* tenant id */
	char role[32];
	char jti[64];
	int64_t iat, exp, nbf;
} hd_jwt_claims;

/* Loads keys from HD_JWT_ALG, HD_JWT_KID, HD_JWT_SECRET,
 * HD_JWT_PRIVATE_KEY_FILE, HD_JWT_PUBLIC_KEY_FILE, HD_JWT_KEYS_DIR (more
 * verification keys: one file per kid, named by it), HD_JWT_ISSUER,
 * HD_JWT_AUDIENCE, HD_JWT_LEEWAY_S, HD_ACCESS_TOKEN_TTL_S. need_private:
 * the caller signs. Refuses an empty or missing key, or a key of the folder
 * that does not suit HD_JWT_ALG. hd_jwt_keys_fini frees what it loaded. */
hd_err hd_jwt_keys_load(hd_jwt_keys *keys, bool need_private);
void hd_jwt_keys_fini(hd_jwt_keys *keys);
/* Parses "HS256"/"RS256"/"ES256". */
hd_err hd_jwt_alg_parse(const char *name, hd_jwt_alg *out);

/* Signs an access token for claims (iat/exp/jti filled in when zero/empty);
 * *out is malloc'ed (caller frees). */
hd_err hd_jwt_sign(const hd_jwt_keys *keys, hd_jwt_claims *claims, int64_t now, char **out);
/* Verifies token at time now: HD_ERR_UNAUTHORIZED with a short reason in why
 * (never the token itself) on any failure. */
hd_err hd_jwt_verify(const hd_jwt_keys *keys, const char *token, size_t len, int64_t now,
    hd_jwt_claims *out, const char **why);
/* A cache of tokens this thread verified (a gateway loop's): a front end
 * sends the same access token with every call, and the signature, issuer,
 * audience and claims of the same bytes cannot change, so a token found here
 * (compared byte for byte) is only checked against the clock again (exp,
 * nbf, iat with the leeway). Only successes are kept; revocation is not the
 * cache's business (the gateway checks the jti denylist on every call).
 * Not thread-safe: one per thread. */
typedef struct hd_jwt_cache hd_jwt_cache;
hd_jwt_cache *hd_jwt_cache_new(void);
void hd_jwt_cache_free(hd_jwt_cache *cache);
/* hd_jwt_verify through cache (NULL: no cache). */
hd_err hd_jwt_verify_cached(hd_jwt_cache *cache, const hd_jwt_keys *keys, const char *token,
    size_t len, int64_t now, hd_jwt_claims *out, const char **why);
/* Writes the JWKS document (every public key by kid, the current one first;
 * {"keys":[]} for HS256) as a malloc'ed string. */
hd_err hd_jwt_jwks_json(const hd_jwt_keys *keys, char **out);

#endif
