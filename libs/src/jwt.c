/* Access tokens on top of libjwt 1.10.2, which checks the signature with
 * whatever algorithm the token names and nothing else. Here: the algorithm
 * is pinned by configuration (checked after jwt_decode, so an HS256 token
 * "signed" with the RSA public key PEM is refused), empty keys are refused,
 * and every claim is re-parsed with the strict JSON reader and checked for
 * type and value (exp, nbf, iat with leeway; iss; aud; sub/tid UUIDs; role;
 * jti). Keys are read once by hd_jwt_keys_load; afterwards everything only
 * reads them, so any thread may sign and verify. */
#include "hd/jwt.h"

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hd/config.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/query.h"
#include "hd/uuid.h"
#include "jwt_dir.h"

#define HD_JWT_MAX_TOKEN 8192
#define HD_JWT_MAX_KEY_FILE 65536

static const struct {
	const char *name;
	jwt_alg_t lib;
} hd_jwt_algs[] = {
	[HD_JWT_HS256] = { "HS256", JWT_ALG_HS256 },
	[HD_JWT_RS256] = { "RS256", JWT_ALG_RS256 },
	[HD_JWT_ES256] = { "ES256", JWT_ALG_ES256 },
};

static const char *const hd_jwt_roles[]
    = { "admin", "agent", "technician", "customer", "platform_admin", NULL };

hd_err hd_jwt_alg_parse(const char *name, hd_jwt_alg *out)
{
	for (size_t i = 0; i < sizeof(hd_jwt_algs) / sizeof(hd_jwt_algs[0]); i++)
		if (name != NULL && strcmp(name, hd_jwt_algs[i].name) == 0) {
			*out = (hd_jwt_alg)i;
			return HD_OK;
		}
	return HD_ERR_INVALID;
}

static bool hd_jwt_role_known(const char *role)
{
	for (size_t i = 0; hd_jwt_roles[i] != NULL; i++)
		if (strcmp(role, hd_jwt_roles[i]) == 0)
			return true;
	return false;
}

/* ---- keys ---- */

/* Reads a whole, non-empty, bounded file into a malloc'ed buffer. */
static hd_err hd_jwt_read_file(const char *setting, unsigned char **out, size_t *len_out)
{
	const char *path = hd_config_str(setting);
	const char *step = "open";
	unsigned char *buf = NULL;
	if (path[0] == '\0') {
		hd_log_error("%s is not set", setting);
		return HD_ERR_INVALID;
	}
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		goto fail;
	step = "allocate";
	buf = malloc(HD_JWT_MAX_KEY_FILE + 1);
	if (buf == NULL)
		goto fail_file;
	step = "read";
	size_t n = fread(buf, 1, HD_JWT_MAX_KEY_FILE + 1, f);
	if (ferror(f) || n == 0 || n > HD_JWT_MAX_KEY_FILE)
		goto fail_buf;
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len_out = n;
	return HD_OK;
fail_buf:
	free(buf);
fail_file:
	fclose(f);
fail:
	hd_log_error("%s: cannot %s the key file (empty, missing or too large)", setting, step);
	return HD_ERR_INVALID;
}

static EVP_PKEY *hd_jwt_pem_load(const unsigned char *pem, size_t len, bool private_key)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return NULL;
	EVP_PKEY *pkey = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
	                             : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

/* True when pkey suits alg: RSA of 2048 bits or more, or EC on P-256. */
static bool hd_jwt_pkey_fits(hd_jwt_alg alg, EVP_PKEY *pkey)
{
	if (alg == HD_JWT_RS256)
		return EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= 2048;
	char group[64] = "";
	return EVP_PKEY_is_a(pkey, "EC")
	    && EVP_PKEY_get_utf8_string_param(
	           pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL)
	    == 1
	    && strcmp(group, "prime256v1") == 0;
}

bool hd__jwt_public_key_ok(hd_jwt_alg alg, const unsigned char *pem, size_t len)
{
	EVP_PKEY *pub = hd_jwt_pem_load(pem, len, false);
	bool ok = pub != NULL && hd_jwt_pkey_fits(alg, pub);
	EVP_PKEY_free(pub);
	return ok;
}

/* Writes the public half of pkey as a malloc'ed PEM. */
static hd_err hd_jwt_pubkey_pem(EVP_PKEY *pkey, unsigned char **out, size_t *len_out)
{
	hd_err err = HD_ERR_NOMEM;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	if (bio == NULL)
		return HD_ERR_NOMEM;
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
		goto done;
	long n = BIO_get_mem_data(bio, &data);
	unsigned char *copy = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (copy == NULL)
		goto done;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*out = copy;
	*len_out = (size_t)n;
	err = HD_OK;
done:
	BIO_free(bio);
	return err;
}

/* Checks the asymmetric keys and derives the public PEM when only the
 * private one was given. */
static hd_err hd_jwt_keys_check(hd_jwt_keys *keys)
{
	if (keys->sign_key != NULL) {
		EVP_PKEY *priv = hd_jwt_pem_load(keys->sign_key, keys->sign_key_len, true);
		bool ok = priv != NULL && hd_jwt_pkey_fits(keys->alg, priv);
		hd_err err = HD_OK;
		if (ok && keys->verify_key == NULL)
			err = hd_jwt_pubkey_pem(priv, &keys->verify_key, &keys->verify_key_len);
		EVP_PKEY_free(priv);
		if (!ok || err != HD_OK) {
			hd_log_error("HD_JWT_PRIVATE_KEY_FILE is not a %s private key",
			    hd_jwt_algs[keys->alg].name);
			return HD_ERR_INVALID;
		}
	}
	if (keys->verify_key == NULL
	    || !hd__jwt_public_key_ok(keys->alg, keys->verify_key, keys->verify_key_len)) {
		hd_log_error(
		    "HD_JWT_PUBLIC_KEY_FILE is not a %s public key", hd_jwt_algs[keys->alg].name);
		return HD_ERR_INVALID;
	}
	return HD_OK;
}

static hd_err hd_jwt_keys_load_secret(hd_jwt_keys *keys)
{
	const char *secret = hd_config_str("HD_JWT_SECRET");
	size_t n = strlen(secret);
	if (n == 0) {
		hd_log_error("HD_JWT_SECRET is empty: refusing to sign or verify with no key");
		return HD_ERR_INVALID;
	}
	if (n < 32 && hd_config_production()) {
		hd_log_error(
		    "HD_JWT_SECRET is shorter than 32 bytes: refused with HD_ENV=production");
		return HD_ERR_INVALID;
	}
	if (n < 32)
		hd_log_warn(
		    "HD_JWT_SECRET is shorter than 32 bytes (refused with HD_ENV=production)");
	keys->sign_key = (unsigned char *)strdup(secret);
	keys->verify_key = (unsigned char *)strdup(secret);
	if (keys->sign_key == NULL || keys->verify_key == NULL)
		return HD_ERR_NOMEM;
	keys->sign_key_len = keys->verify_key_len = n;
	return HD_OK;
}

static hd_err hd_jwt_keys_load_pem(hd_jwt_keys *keys, bool need_private)
{
	hd_err err;
	if (need_private) {
		err = hd_jwt_read_file(
		    "HD_JWT_PRIVATE_KEY_FILE", &keys->sign_key, &keys->sign_key_len);
		if (err != HD_OK)
			return err;
	}
	if (!need_private || hd_config_str("HD_JWT_PUBLIC_KEY_FILE")[0] != '\0') {
		err = hd_jwt_read_file(
		    "HD_JWT_PUBLIC_KEY_FILE", &keys->verify_key, &keys->verify_key_len);
		if (err != HD_OK)
			return err;
	}
	return hd_jwt_keys_check(keys);
}

static hd_err hd_jwt_keys_load_text(hd_jwt_keys *keys)
{
	long leeway, ttl;
	int n1 = snprintf(keys->kid, sizeof(keys->kid), "%s", hd_config_str("HD_JWT_KID"));
	int n2 = snprintf(keys->issuer, sizeof(keys->issuer), "%s", hd_config_str("HD_JWT_ISSUER"));
	int n3 = snprintf(
	    keys->audience, sizeof(keys->audience), "%s", hd_config_str("HD_JWT_AUDIENCE"));
	if (n1 <= 0 || n2 <= 0 || n3 <= 0 || (size_t)n1 >= sizeof(keys->kid)
	    || (size_t)n2 >= sizeof(keys->issuer) || (size_t)n3 >= sizeof(keys->audience)) {
		hd_log_error("HD_JWT_KID, HD_JWT_ISSUER and HD_JWT_AUDIENCE must be set and short");
		return HD_ERR_INVALID;
	}
	if (hd_config_int("HD_JWT_LEEWAY_S", 0, 300, &leeway) != HD_OK
	    || hd_config_int("HD_ACCESS_TOKEN_TTL_S", 1, 86400, &ttl) != HD_OK)
		return HD_ERR_INVALID;
	keys->leeway_s = (int)leeway;
	keys->access_ttl_s = (int)ttl;
	return HD_OK;
}

hd_err hd_jwt_keys_load(hd_jwt_keys *keys, bool need_private)
{
	memset(keys, 0, sizeof(*keys));
	hd_err err = hd_jwt_alg_parse(hd_config_str("HD_JWT_ALG"), &keys->alg);
	if (err != HD_OK) {
		hd_log_error("HD_JWT_ALG must be HS256, RS256 or ES256");
		return err;
	}
	err = hd_jwt_keys_load_text(keys);
	if (err != HD_OK)
		goto fail;
	err = keys->alg == HD_JWT_HS256 ? hd_jwt_keys_load_secret(keys)
	                                : hd_jwt_keys_load_pem(keys, need_private);
	if (err != HD_OK)
		goto fail;
	const char *dir = hd_config_str("HD_JWT_KEYS_DIR");
	if (dir[0] != '\0' && (err = hd__jwt_dir_load(keys, dir)) != HD_OK)
		goto fail;
	return HD_OK;
fail:
	hd_jwt_keys_fini(keys);
	return err;
}

static void hd_jwt_key_free(unsigned char **key, size_t *len)
{
	if (*key != NULL)
		OPENSSL_cleanse(*key, *len);
	free(*key);
	*key = NULL;
	*len = 0;
}

void hd_jwt_keys_fini(hd_jwt_keys *keys)
{
	if (keys == NULL)
		return;
	hd_jwt_key_free(&keys->sign_key, &keys->sign_key_len);
	hd_jwt_key_free(&keys->verify_key, &keys->verify_key_len);
	hd__jwt_dir_free(keys);
}

/* ---- signing ---- */

static hd_err hd_jwt_fill(const hd_jwt_keys *keys, hd_jwt_claims *c, int64_t now)
{
	if (!hd_uuid_valid(c->sub) || !hd_uuid_valid(c->tid) || !hd_jwt_role_known(c->role))
		return HD_ERR_INVALID;
	if (c->iat == 0)
		c->iat = now;
	if (c->exp == 0)
		c->exp = c->iat + keys->access_ttl_s;
	if (c->jti[0] == '\0') {
		char id[HD_UUID_STRLEN + 1];
		hd_err err = hd_uuid_v7(id);
		if (err != HD_OK)
			return err;
		snprintf(c->jti, sizeof(c->jti), "%s", id);
	}
	return HD_OK;
}

hd_err hd_jwt_sign(const hd_jwt_keys *keys, hd_jwt_claims *claims, int64_t now, char **out)
{
	*out = NULL;
	if (keys->sign_key == NULL || keys->sign_key_len == 0)
		return HD_ERR_INVALID;
	hd_err err = hd_jwt_fill(keys, claims, now);
	if (err != HD_OK)
		return err;
	jwt_t *jwt = NULL;
	if (jwt_new(&jwt) != 0)
		return HD_ERR_NOMEM;
	err = HD_ERR_INTERNAL;
	if (jwt_set_alg(jwt, hd_jwt_algs[keys->alg].lib, keys->sign_key, (int)keys->sign_key_len)
	        != 0
	    || jwt_add_header(jwt, "kid", keys->kid) != 0
	    || jwt_add_grant(jwt, "iss", keys->issuer) != 0
	    || jwt_add_grant(jwt, "aud", keys->audience) != 0
	    || jwt_add_grant(jwt, "sub", claims->sub) != 0
	    || jwt_add_grant(jwt, "tid", claims->tid) != 0
	    || jwt_add_grant(jwt, "role", claims->role) != 0
	    || jwt_add_grant(jwt, "jti", claims->jti) != 0
	    || jwt_add_grant_int(jwt, "iat", (long)claims->iat) != 0
	    || jwt_add_grant_int(jwt, "exp", (long)claims->exp) != 0
	    || (claims->nbf != 0 && jwt_add_grant_int(jwt, "nbf", (long)claims->nbf) != 0))
		goto done;
	char *s = jwt_encode_str(jwt);
	if (s == NULL)
		goto done;
	*out = strdup(s);
	free(s);
	err = *out != NULL ? HD_OK : HD_ERR_NOMEM;
done:
	jwt_free(jwt);
	return err;
}

/* ---- verification ---- */

/* Reads an integral number claim; false when absent or of another type. */
static bool hd_jwt_claim_int(const cJSON *claims, const char *name, int64_t *out)
{
	int64_t v = 0;
	if (!hd_json_get_int(claims, name, true, INT64_MIN, INT64_MAX, &v, NULL))
		return false;
	*out = v;
	return true;
}

/* Copies a string claim of at most size-1 bytes; false otherwise. */
static bool hd_jwt_claim_str(const cJSON *claims, const char *name, char *out, size_t size)
{
	const char *v = NULL;
	if (!hd_json_get_string(claims, name, true, 1, size - 1, &v, NULL) || strlen(v) >= size)
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

static bool hd_jwt_aud_ok(const cJSON *claims, const char *audience)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, audience) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	const cJSON *a;
	cJSON_ArrayForEach(
	    a, aud) if (cJSON_IsString(a) && strcmp(a->valuestring, audience) == 0) return true;
	return false;
}

/* Why claims are not valid at time now (NULL: they are). */
static const char *hd_jwt_times_why(const hd_jwt_keys *keys, const hd_jwt_claims *c, int64_t now)
{
	int64_t leeway = keys->leeway_s;
	if (now > c->exp + leeway)
		return "token expired";
	if (c->nbf != 0 && now + leeway < c->nbf)
		return "token not yet valid";
	if (now + leeway < c->iat)
		return "token issued in the future";
	return NULL;
}

static const char *hd_jwt_check_times(
    const hd_jwt_keys *keys, const cJSON *claims, int64_t now, hd_jwt_claims *out)
{
	if (!hd_jwt_claim_int(claims, "exp", &out->exp))
		return "exp missing or not an integer";
	if (!hd_jwt_claim_int(claims, "iat", &out->iat))
		return "iat missing or not an integer";
	out->nbf = 0;
	if (cJSON_GetObjectItemCaseSensitive(claims, "nbf") != NULL
	    && !hd_jwt_claim_int(claims, "nbf", &out->nbf))
		return "nbf not an integer";
	return hd_jwt_times_why(keys, out, now);
}

static const char *hd_jwt_check_claims(
    const hd_jwt_keys *keys, const cJSON *claims, int64_t now, hd_jwt_claims *out)
{
	const char *iss = NULL;
	const char *why = hd_jwt_check_times(keys, claims, now, out);
	if (why != NULL)
		return why;
	if (!hd_json_get_string(claims, "iss", true, 1, 512, &iss, NULL)
	    || strcmp(iss, keys->issuer) != 0)
		return "wrong issuer";
	if (!hd_jwt_aud_ok(claims, keys->audience))
		return "wrong audience";
	if (!hd_jwt_claim_str(claims, "sub", out->sub, sizeof(out->sub))
	    || !hd_uuid_valid(out->sub))
		return "sub missing or not a UUID";
	if (!hd_jwt_claim_str(claims, "tid", out->tid, sizeof(out->tid))
	    || !hd_uuid_valid(out->tid))
		return "tid missing or not a UUID";
	if (!hd_jwt_claim_str(claims, "role", out->role, sizeof(out->role))
	    || !hd_jwt_role_known(out->role))
		return "role missing or unknown";
	if (!hd_jwt_claim_str(claims, "jti", out->jti, sizeof(out->jti)))
		return "jti missing";
	return NULL;
}

/* Shape check before libjwt sees the token: base64url parts, two dots. */
static bool hd_jwt_shape_ok(const char *token, size_t len)
{
	size_t dots = 0;
	for (size_t i = 0; i < len; i++) {
		char c = token[i];
		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
		             || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return dots == 2;
}

static const char *hd_jwt_check_header(const hd_jwt_keys *keys, jwt_t *jwt)
{
	if (jwt_get_alg(jwt) != hd_jwt_algs[keys->alg].lib)
		return "unexpected algorithm";
	const char *typ = jwt_get_header(jwt, "typ");
	if (typ != NULL && strcasecmp(typ, "JWT") != 0)
		return "unexpected token type";
	return NULL;
}

/* Reads the kid of the token's header into kid ("" when it has none);
 * false when the header is not a JSON object or its kid not a short string. */
static bool hd_jwt_header_kid(const char *token, char kid[64])
{
	unsigned char header[1024];
	size_t len = 0;
	cJSON *obj = NULL;
	const char *v = NULL;
	kid[0] = '\0';
	if (hd_base64url_decode(token, strcspn(token, "."), header, sizeof header, &len) != HD_OK
	    || hd_json_parse((const char *)header, len, &obj, NULL) != HD_OK)
		return false;
	const cJSON *item
	    = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "kid") : NULL;
	bool ok = cJSON_IsObject(obj)
	    && (item == NULL || hd_json_get_string(obj, "kid", true, 1, 63, &v, NULL));
	if (ok && v != NULL)
		snprintf(kid, 64, "%s", v);
	cJSON_Delete(obj);
	return ok;
}

/* The key that the token's kid names (hd/jwt.h); NULL: why says. */
static const hd_jwt_vkey *hd_jwt_pick_key(
    const hd_jwt_keys *keys, const char *token, hd_jwt_vkey *current, const char **why)
{
	char kid[64];
	*current = (hd_jwt_vkey) { .key = keys->verify_key, .key_len = keys->verify_key_len };
	snprintf(current->kid, sizeof current->kid, "%s", keys->kid);
	*why = "malformed token header";
	if (!hd_jwt_header_kid(token, kid))
		return NULL;
	*why = "token has no key id";
	if (kid[0] == '\0')
		return keys->nmore == 0 ? current : NULL;
	if (strcmp(kid, keys->kid) == 0)
		return current;
	for (size_t i = 0; i < keys->nmore; i++)
		if (strcmp(kid, keys->more[i].kid) == 0)
			return &keys->more[i];
	*why = "unknown key id";
	return NULL;
}

static const char *hd_jwt_decode(
    const hd_jwt_keys *keys, const char *token, int64_t now, hd_jwt_claims *out)
{
	jwt_t *jwt = NULL;
	cJSON *claims = NULL;
	char *json = NULL;
	hd_jwt_vkey current;
	const char *why = NULL;
	const hd_jwt_vkey *key = hd_jwt_pick_key(keys, token, &current, &why);
	if (key == NULL)
		return why;
	why = "invalid token or signature";
	if (key->key == NULL || key->key_len == 0
	    || jwt_decode(&jwt, token, key->key, (int)key->key_len) != 0 || jwt == NULL)
		goto done;
	why = hd_jwt_check_header(keys, jwt);
	if (why != NULL)
		goto done;
	why = "invalid claims";
	json = jwt_get_grants_json(jwt, NULL);
	if (json == NULL || hd_json_parse(json, strlen(json), &claims, NULL) != HD_OK
	    || !cJSON_IsObject(claims))
		goto done;
	why = hd_jwt_check_claims(keys, claims, now, out);
done:
	cJSON_Delete(claims);
	free(json);
	jwt_free(jwt);
	return why;
}

hd_err hd_jwt_verify(const hd_jwt_keys *keys, const char *token, size_t len, int64_t now,
    hd_jwt_claims *out, const char **why)
{
	const char *reason;
	char copy[HD_JWT_MAX_TOKEN + 1];
	hd_jwt_claims claims;
	memset(&claims, 0, sizeof(claims));
	if (keys->verify_key == NULL || keys->verify_key_len == 0) {
		reason = "no verification key";
	} else if (token == NULL || len == 0) {
		reason = "missing token";
	} else if (len > HD_JWT_MAX_TOKEN) {
		reason = "token too large";
	} else if (!hd_jwt_shape_ok(token, len)) {
		reason = "malformed token";
	} else {
		memcpy(copy, token, len);
		copy[len] = '\0';
		reason = hd_jwt_decode(keys, copy, now, &claims);
	}
	if (why != NULL)
		*why = reason;
	if (reason != NULL)
		return HD_ERR_UNAUTHORIZED;
	*out = claims;
	return HD_OK;
}

/* ---- verified-token cache ---- */

#define HD_JWT_CACHE_SLOTS 256 /* direct-mapped */
#define HD_JWT_CACHE_TOKEN_MAX 2048 /* longer tokens are always verified */

typedef struct hd_jwt_cache_slot {
	char *token; /* NULL: empty */
	size_t len;
	hd_jwt_claims claims;
} hd_jwt_cache_slot;

struct hd_jwt_cache {
	hd_jwt_cache_slot slots[HD_JWT_CACHE_SLOTS];
};

hd_jwt_cache *hd_jwt_cache_new(void)
{
	return calloc(1, sizeof(hd_jwt_cache));
}

void hd_jwt_cache_free(hd_jwt_cache *cache)
{
	if (cache == NULL)
		return;
	for (size_t i = 0; i < HD_JWT_CACHE_SLOTS; i++)
		free(cache->slots[i].token);
	free(cache);
}

/* FNV-1a: spreads tokens over the slots (a collision only evicts). */
static size_t hd_jwt_cache_index(const char *token, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
	return (size_t)(h % HD_JWT_CACHE_SLOTS);
}

static void hd_jwt_cache_put(
    hd_jwt_cache_slot *slot, const char *token, size_t len, const hd_jwt_claims *claims)
{
	char *copy = malloc(len);
	if (copy == NULL)
		return; /* not kept: the next call verifies again */
	memcpy(copy, token, len);
	free(slot->token);
	slot->token = copy;
	slot->len = len;
	slot->claims = *claims;
}

hd_err hd_jwt_verify_cached(hd_jwt_cache *cache, const hd_jwt_keys *keys, const char *token,
    size_t len, int64_t now, hd_jwt_claims *out, const char **why)
{
	if (cache == NULL || token == NULL || len == 0 || len > HD_JWT_CACHE_TOKEN_MAX)
		return hd_jwt_verify(keys, token, len, now, out, why);
	hd_jwt_cache_slot *slot = &cache->slots[hd_jwt_cache_index(token, len)];
	if (slot->token != NULL && slot->len == len && memcmp(slot->token, token, len) == 0) {
		const char *reason = hd_jwt_times_why(keys, &slot->claims, now);
		if (why != NULL)
			*why = reason;
		if (reason != NULL)
			return HD_ERR_UNAUTHORIZED;
		*out = slot->claims;
		return HD_OK;
	}
	hd_err err = hd_jwt_verify(keys, token, len, now, out, why);
	if (err == HD_OK)
		hd_jwt_cache_put(slot, token, len, out);
	return err;
}

/* ---- JWKS ---- */

/* Adds name: base64url of the big-endian integer param, padded to pad bytes. */
static bool hd_jwt_jwk_bn(cJSON *jwk, EVP_PKEY *pkey, const char *param, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char bin[1024];
	char b64[1400];
	bool ok = false;
	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return false;
	int n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n > 0 && (size_t)n <= sizeof(bin) && BN_bn2binpad(bn, bin, n) == n
	    && hd_base64url_encode(bin, (size_t)n, b64, sizeof(b64)) == HD_OK)
		ok = cJSON_AddStringToObject(jwk, name, b64) != NULL;
	BN_free(bn);
	return ok;
}

static bool hd_jwt_jwk_fill(const hd_jwt_keys *keys, const char *kid, cJSON *jwk, EVP_PKEY *pkey)
{
	bool rsa = keys->alg == HD_JWT_RS256;
	if (cJSON_AddStringToObject(jwk, "kty", rsa ? "RSA" : "EC") == NULL
	    || cJSON_AddStringToObject(jwk, "kid", kid) == NULL
	    || cJSON_AddStringToObject(jwk, "alg", hd_jwt_algs[keys->alg].name) == NULL
	    || cJSON_AddStringToObject(jwk, "use", "sig") == NULL)
		return false;
	if (rsa)
		return hd_jwt_jwk_bn(jwk, pkey, OSSL_PKEY_PARAM_RSA_N, "n", 0)
		    && hd_jwt_jwk_bn(jwk, pkey, OSSL_PKEY_PARAM_RSA_E, "e", 0);
	return cJSON_AddStringToObject(jwk, "crv", "P-256") != NULL
	    && hd_jwt_jwk_bn(jwk, pkey, OSSL_PKEY_PARAM_EC_PUB_X, "x", 32)
	    && hd_jwt_jwk_bn(jwk, pkey, OSSL_PKEY_PARAM_EC_PUB_Y, "y", 32);
}

/* Appends the JWK of public key pem under kid to list. */
static bool hd_jwt_jwk_add(
    const hd_jwt_keys *keys, cJSON *list, const char *kid, const unsigned char *pem, size_t len)
{
	EVP_PKEY *pkey = hd_jwt_pem_load(pem, len, false);
	cJSON *jwk = cJSON_CreateObject();
	bool ok = jwk != NULL && cJSON_AddItemToArray(list, jwk);
	if (!ok)
		cJSON_Delete(jwk);
	ok = ok && pkey != NULL && hd_jwt_jwk_fill(keys, kid, jwk, pkey);
	EVP_PKEY_free(pkey);
	return ok;
}

hd_err hd_jwt_jwks_json(const hd_jwt_keys *keys, char **out)
{
	*out = NULL;
	cJSON *doc = cJSON_CreateObject();
	cJSON *list = doc != NULL ? cJSON_AddArrayToObject(doc, "keys") : NULL;
	bool ok = list != NULL;
	if (ok && keys->alg != HD_JWT_HS256) {
		ok = hd_jwt_jwk_add(keys, list, keys->kid, keys->verify_key, keys->verify_key_len);
		for (size_t i = 0; ok && i < keys->nmore; i++)
			ok = hd_jwt_jwk_add(keys, list, keys->more[i].kid, keys->more[i].key,
			    keys->more[i].key_len);
	}
	if (ok)
		*out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!ok)
		return list == NULL ? HD_ERR_NOMEM : HD_ERR_INVALID;
	return *out != NULL ? HD_OK : HD_ERR_NOMEM;
}
