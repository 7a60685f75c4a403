/* hd_jwt: signing and strict verification (HS256, RS256, ES256), the libjwt
 * traps (alg none, algorithm confusion with the RSA public key as HMAC
 * secret, unchecked claims), key loading through HD_JWT_* and the JWKS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hd/json.h"
#include "hd/jwt.h"
#include "hd/query.h"

#define SECRET "test-secret-0123456789abcdef0123456789"
#define SUB "aaaaaaaa-0000-4000-8000-0000000000a1"
#define TID "aaaaaaaa-0000-4000-8000-00000000000a"
#define NOW 1700000000

static char dir[] = "/tmp/hd-test-jwt-XXXXXX";
static char rsa_priv[256], rsa_pub[256], ec_priv[256], ec_pub[256];
static EVP_PKEY *rsa_key, *ec_key;

static void write_pem(EVP_PKEY *pkey, const char *path, int private_key)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	int ok = private_key ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
	                     : PEM_write_PUBKEY(f, pkey);
	assert_int_equal(ok, 1);
	fclose(f);
}

static int group_setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	rsa_key = EVP_RSA_gen(2048);
	ec_key = EVP_EC_gen("P-256");
	if (rsa_key == NULL || ec_key == NULL)
		return -1;
	snprintf(rsa_priv, sizeof(rsa_priv), "%s/rsa.pem", dir);
	snprintf(rsa_pub, sizeof(rsa_pub), "%s/rsa.pub.pem", dir);
	snprintf(ec_priv, sizeof(ec_priv), "%s/ec.pem", dir);
	snprintf(ec_pub, sizeof(ec_pub), "%s/ec.pub.pem", dir);
	write_pem(rsa_key, rsa_priv, 1);
	write_pem(rsa_key, rsa_pub, 0);
	write_pem(ec_key, ec_priv, 1);
	write_pem(ec_key, ec_pub, 0);
	return 0;
}

static int group_teardown(void **state)
{
	unlink(rsa_priv);
	unlink(rsa_pub);
	unlink(ec_priv);
	unlink(ec_pub);
	rmdir(dir);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	return 0;
}

static void env_reset(void)
{
	const char *vars[] = { "HD_JWT_ALG", "HD_JWT_SECRET", "HD_JWT_PRIVATE_KEY_FILE",
		"HD_JWT_PUBLIC_KEY_FILE", "HD_JWT_KID", "HD_JWT_ISSUER", "HD_JWT_AUDIENCE",
		"HD_JWT_LEEWAY_S", "HD_ACCESS_TOKEN_TTL_S", NULL };
	for (size_t i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
}

static void load(
    hd_jwt_keys *keys, const char *alg, const char *priv, const char *pub, bool need_private)
{
	env_reset();
	setenv("HD_JWT_ALG", alg, 1);
	setenv("HD_JWT_SECRET", SECRET, 1);
	if (priv != NULL)
		setenv("HD_JWT_PRIVATE_KEY_FILE", priv, 1);
	if (pub != NULL)
		setenv("HD_JWT_PUBLIC_KEY_FILE", pub, 1);
	assert_int_equal(hd_jwt_keys_load(keys, need_private), HD_OK);
}

static hd_jwt_claims base_claims(void)
{
	hd_jwt_claims c;
	memset(&c, 0, sizeof(c));
	strcpy(c.sub, SUB);
	strcpy(c.tid, TID);
	strcpy(c.role, "agent");
	return c;
}

static const char *verify(
    const hd_jwt_keys *keys, const char *token, int64_t now, hd_jwt_claims *out)
{
	const char *why = "unset";
	hd_jwt_claims tmp;
	hd_err err = hd_jwt_verify(keys, token, strlen(token), now, out != NULL ? out : &tmp, &why);
	if (err == HD_OK) {
		assert_null(why);
		return NULL;
	}
	assert_int_equal(err, HD_ERR_UNAUTHORIZED);
	assert_non_null(why);
	return why;
}

static void b64(const void *data, size_t len, char *out, size_t size)
{
	assert_int_equal(hd_base64url_encode(data, len, out, size), HD_OK);
}

/* Builds header.payload.signature by hand; HMAC-SHA256 with key when not NULL,
 * an empty signature otherwise. Caller frees. */
static char *forge(const char *header, const char *payload, const void *key, size_t key_len)
{
	char h[1024], p[2048], sig[128] = "";
	b64(header, strlen(header), h, sizeof(h));
	b64(payload, strlen(payload), p, sizeof(p));
	size_t n = strlen(h) + strlen(p) + 2;
	char *input = malloc(n + sizeof(sig));
	assert_non_null(input);
	snprintf(input, n, "%s.%s", h, p);
	if (key != NULL) {
		unsigned char mac[32];
		unsigned int mac_len = 0;
		assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, (unsigned char *)input,
		    strlen(input), mac, &mac_len));
		b64(mac, mac_len, sig, sizeof(sig));
	}
	strcat(input, ".");
	strcat(input, sig);
	return input;
}

#define GOOD_PAYLOAD_FMT                                                                           \
	"{\"iss\":%s,\"aud\":%s,\"sub\":\"" SUB "\",\"tid\":\"" TID "\",\"role\":\"agent\","       \
	"\"iat\":%d,\"exp\":%s,\"jti\":\"j1\"}"

static char *forge_claims(const char *iss, const char *aud, const char *exp)
{
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, iss, aud, NOW, exp);
	return forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET, strlen(SECRET));
}

static void test_jwt_hs256_valid(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, true);
	hd_jwt_claims c = base_claims(), out;
	char *token = NULL;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &token), HD_OK);
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 900);
	assert_true(strlen(c.jti) > 0);
	assert_null(verify(&keys, token, NOW + 10, &out));
	assert_string_equal(out.sub, SUB);
	assert_string_equal(out.tid, TID);
	assert_string_equal(out.role, "agent");
	assert_string_equal(out.jti, c.jti);
	assert_int_equal(out.exp, NOW + 900);
	/* a hand-made token with the right secret verifies too */
	char *forged = forge_claims("\"helpdesk\"", "\"helpdesk\"", "1700000900");
	assert_null(verify(&keys, forged, NOW, NULL));
	free(forged);
	free(token);
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_alg_none(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, false);
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, "\"helpdesk\"", "\"helpdesk\"", NOW,
	    "1700000900");
	char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, 0);
	assert_non_null(verify(&keys, t, NOW, NULL));
	free(t);
	t = forge("{\"alg\":\"none\"}", payload, SECRET, strlen(SECRET));
	assert_non_null(verify(&keys, t, NOW, NULL));
	free(t);
	/* and a key set with no key verifies nothing */
	hd_jwt_keys empty;
	memset(&empty, 0, sizeof(empty));
	t = forge_claims("\"helpdesk\"", "\"helpdesk\"", "1700000900");
	assert_string_equal(verify(&empty, t, NOW, NULL), "no verification key");
	free(t);
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_wrong_key(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, false);
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, "\"helpdesk\"", "\"helpdesk\"", NOW,
	    "1700000900");
	char *t = forge("{\"alg\":\"HS256\"}", payload, "another-secret", 14);
	assert_string_equal(verify(&keys, t, NOW, NULL), "invalid token or signature");
	free(t);
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_times(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, true);
	hd_jwt_claims c = base_claims();
	char *t = NULL;
	c.exp = NOW + 60;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &t), HD_OK);
	assert_null(verify(&keys, t, NOW + 64, NULL)); /* within 5 s leeway */
	assert_string_equal(verify(&keys, t, NOW + 66, NULL), "token expired");
	free(t);
	c = base_claims();
	c.nbf = NOW + 100;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &t), HD_OK);
	assert_string_equal(verify(&keys, t, NOW, NULL), "token not yet valid");
	assert_null(verify(&keys, t, NOW + 100, NULL));
	free(t);
	c = base_claims();
	c.iat = NOW + 600;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &t), HD_OK);
	assert_string_equal(verify(&keys, t, NOW, NULL), "token issued in the future");
	free(t);
	hd_jwt_keys_fini(&keys);
}

/* Verifies through cache; the reason, NULL when accepted. */
static const char *verify_cached(
    hd_jwt_cache *cache, hd_jwt_keys *keys, const char *t, int64_t now, hd_jwt_claims *out)
{
	hd_jwt_claims tmp;
	const char *why = NULL;
	hd_err err = hd_jwt_verify_cached(cache, keys, t, strlen(t), now, out ? out : &tmp, &why);
	assert_true((err == HD_OK) == (why == NULL));
	return why;
}

/* The cache answers a token it verified with the same claims, still checks
 * the clock (expiry, not-before), and never lets other bytes in: a
 * tampered signature, another key's token, alg none. */
static void test_jwt_cache(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, true);
	hd_jwt_cache *cache = hd_jwt_cache_new();
	assert_non_null(cache);
	hd_jwt_claims c = base_claims(), out;
	c.exp = NOW + 60;
	char *t = NULL;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &t), HD_OK);
	for (int i = 0; i < 3; i++) { /* first verified, then from the cache */
		memset(&out, 0, sizeof(out));
		assert_null(verify_cached(cache, &keys, t, NOW + i, &out));
		assert_string_equal(out.sub, SUB);
		assert_string_equal(out.tid, TID);
		assert_string_equal(out.jti, c.jti);
		assert_int_equal(out.exp, NOW + 60);
	}
	assert_null(verify_cached(cache, &keys, t, NOW + 64, NULL)); /* leeway */
	assert_string_equal(verify_cached(cache, &keys, t, NOW + 66, NULL), "token expired");
	assert_string_equal(
	    verify_cached(cache, &keys, t, NOW - 600, NULL), "token issued in the future");
	/* the same token with its last signature character changed */
	size_t len = strlen(t);
	t[len - 1] = t[len - 1] == 'A' ? 'B' : 'A';
	assert_string_equal(
	    verify_cached(cache, &keys, t, NOW, NULL), "invalid token or signature");
	assert_string_equal(
	    verify_cached(cache, &keys, t, NOW, NULL), "invalid token or signature");
	free(t);
	/* tokens the keys never signed stay out, however often they come */
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, "\"helpdesk\"", "\"helpdesk\"", NOW,
	    "1700000900");
	t = forge("{\"alg\":\"HS256\"}", payload, "another-secret", 14);
	for (int i = 0; i < 2; i++)
		assert_non_null(verify_cached(cache, &keys, t, NOW, NULL));
	free(t);
	t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, 0);
	for (int i = 0; i < 2; i++)
		assert_non_null(verify_cached(cache, &keys, t, NOW, NULL));
	free(t);
	/* no cache: plain verification */
	c = base_claims();
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &t), HD_OK);
	assert_null(verify_cached(NULL, &keys, t, NOW, NULL));
	free(t);
	hd_jwt_cache_free(cache);
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_iss_aud(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, false);
	struct {
		const char *iss, *aud, *why;
	} cases[] = {
		{ "\"evil\"", "\"helpdesk\"", "wrong issuer" },
		{ "1", "\"helpdesk\"", "wrong issuer" },
		{ "\"helpdesk\"", "\"other\"", "wrong audience" },
		{ "\"helpdesk\"", "[\"other\",\"x\"]", "wrong audience" },
		{ "\"helpdesk\"", "7", "wrong audience" },
		{ "\"helpdesk\"", "[\"other\",\"helpdesk\"]", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = forge_claims(cases[i].iss, cases[i].aud, "1700000900");
		const char *why = verify(&keys, t, NOW, NULL);
		if (cases[i].why == NULL)
			assert_null(why);
		else
			assert_string_equal(why, cases[i].why);
		free(t);
	}
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_missing_and_mistyped_claims(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, false);
	const char *payloads[] = {
		/* no exp */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"jti\":\"j\"}",
		/* string exp */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":\"1700000900\",\"jti\":\"j\"}",
		/* fractional exp */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900.5,\"jti\":\"j\"}",
		/* no iat */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"exp\":1700000900,\"jti\":\"j\"}",
		/* no sub */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"j\"}",
		/* sub not a UUID */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"bob\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"j\"}",
		/* no tid */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"j\"}",
		/* unknown role */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"root\",\"iat\":1700000000,\"exp\":1700000900,\"jti\":\"j\"}",
		/* no jti */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900}",
		/* nbf of the wrong type */
		"{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB "\",\"tid\":\"" TID
		"\",\"role\":\"agent\",\"iat\":1700000000,\"exp\":1700000900,\"nbf\":true,"
		"\"jti\":\"j\"}",
		NULL,
	};
	for (size_t i = 0; payloads[i] != NULL; i++) {
		char *t = forge("{\"alg\":\"HS256\"}", payloads[i], SECRET, strlen(SECRET));
		if (verify(&keys, t, NOW, NULL) == NULL)
			fail_msg("accepted payload %zu: %s", i, payloads[i]);
		free(t);
	}
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_malformed(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "HS256", NULL, NULL, true);
	const char *bad[] = { "", "abc", "a.b", "a.b.c.d", "a.b.c", "e30.e30.", "a b.c.d", NULL };
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_non_null(verify(&keys, bad[i], NOW, NULL));
	/* too large, even when otherwise fine */
	size_t n = 9000;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'A', n);
	big[10] = '.';
	big[20] = '.';
	big[n] = '\0';
	assert_string_equal(verify(&keys, big, NOW, NULL), "token too large");
	free(big);
	/* typ other than JWT (libjwt refuses it first; we check again) */
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, "\"helpdesk\"", "\"helpdesk\"", NOW,
	    "1700000900");
	char *t = forge("{\"alg\":\"HS256\",\"typ\":\"refresh\"}", payload, SECRET, strlen(SECRET));
	assert_non_null(verify(&keys, t, NOW, NULL));
	free(t);
	/* signing refuses bad claims */
	hd_jwt_claims c = base_claims();
	strcpy(c.role, "root");
	char *out = NULL;
	assert_int_equal(hd_jwt_sign(&keys, &c, NOW, &out), HD_ERR_INVALID);
	assert_null(out);
	hd_jwt_keys_fini(&keys);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 65536);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static void test_jwt_rs256_confusion(void **state)
{
	hd_jwt_keys keys;
	load(&keys, "RS256", NULL, rsa_pub, false);
	size_t pem_len = 0;
	char *pem = read_file(rsa_pub, &pem_len);
	char payload[1024];
	snprintf(payload, sizeof(payload), GOOD_PAYLOAD_FMT, "\"helpdesk\"", "\"helpdesk\"", NOW,
	    "1700000900");
	char *t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, pem, pem_len);
	assert_string_equal(verify(&keys, t, NOW, NULL), "unexpected algorithm");
	free(t);
	free(pem);
	hd_jwt_keys_fini(&keys);
}

static void round_trip(const char *alg, const char *priv, const char *pub, size_t sig_len)
{
	hd_jwt_keys signer, verifier;
	load(&signer, alg, priv, NULL, true); /* public half derived from the private key */
	load(&verifier, alg, NULL, pub, false);
	assert_null(verifier.sign_key);
	hd_jwt_claims c = base_claims(), out;
	strcpy(c.role, "platform_admin");
	char *t = NULL;
	assert_int_equal(hd_jwt_sign(&signer, &c, NOW, &t), HD_OK);
	assert_int_equal(strlen(strrchr(t, '.') + 1), (sig_len * 8 + 5) / 6);
	assert_null(verify(&verifier, t, NOW + 1, &out));
	assert_null(verify(&signer, t, NOW + 1, NULL));
	assert_string_equal(out.role, "platform_admin");
	/* a verifier cannot sign */
	char *t2 = NULL;
	assert_int_equal(hd_jwt_sign(&verifier, &c, NOW, &t2), HD_ERR_INVALID);
	/* flip one signature character */
	char *last = t + strlen(t) - 2;
	*last = *last == 'A' ? 'B' : 'A';
	assert_non_null(verify(&verifier, t, NOW + 1, NULL));
	free(t);
	/* an HS256 verifier refuses the token, and vice versa */
	hd_jwt_keys hs;
	load(&hs, "HS256", NULL, NULL, true);
	assert_int_equal(hd_jwt_sign(&hs, &c, NOW, &t), HD_OK);
	assert_string_equal(verify(&verifier, t, NOW, NULL), "invalid token or signature");
	free(t);
	hd_jwt_keys_fini(&hs);
	hd_jwt_keys_fini(&signer);
	hd_jwt_keys_fini(&verifier);
}

static void test_jwt_rs256_round_trip(void **state)
{
	round_trip("RS256", rsa_priv, rsa_pub, 256);
}

static void test_jwt_es256_round_trip(void **state)
{
	round_trip("ES256", ec_priv, ec_pub, 64); /* JWS R||S, not DER */
}

static const char *jwk_str(const cJSON *jwk, const char *key)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(jwk, key);
	assert_true(cJSON_IsString(m));
	return m->valuestring;
}

static void assert_jwk_bn(
    const cJSON *jwk, const char *key, EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char bin[512];
	char expect[1024];
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
	int n = pad > 0 ? pad : BN_num_bytes(bn);
	assert_int_equal(BN_bn2binpad(bn, bin, n), n);
	b64(bin, (size_t)n, expect, sizeof(expect));
	assert_string_equal(jwk_str(jwk, key), expect);
	BN_free(bn);
}

static cJSON *jwks_first(const hd_jwt_keys *keys)
{
	char *s = NULL;
	assert_int_equal(hd_jwt_jwks_json(keys, &s), HD_OK);
	cJSON *doc = NULL;
	assert_int_equal(hd_json_parse(s, strlen(s), &doc, NULL), HD_OK);
	free(s);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	return doc;
}

static void test_jwt_jwks(void **state)
{
	hd_jwt_keys keys;
	char *s = NULL;
	load(&keys, "HS256", NULL, NULL, false);
	assert_int_equal(hd_jwt_jwks_json(&keys, &s), HD_OK);
	assert_string_equal(s, "{\"keys\":[]}");
	free(s);
	hd_jwt_keys_fini(&keys);

	load(&keys, "RS256", NULL, rsa_pub, false);
	cJSON *doc = jwks_first(&keys);
	cJSON *jwk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "keys"), 0);
	assert_string_equal(jwk_str(jwk, "kty"), "RSA");
	assert_string_equal(jwk_str(jwk, "kid"), "hd-1");
	assert_string_equal(jwk_str(jwk, "alg"), "RS256");
	assert_string_equal(jwk_str(jwk, "use"), "sig");
	assert_string_equal(jwk_str(jwk, "e"), "AQAB");
	assert_jwk_bn(jwk, "n", rsa_key, OSSL_PKEY_PARAM_RSA_N, 0);
	cJSON_Delete(doc);
	hd_jwt_keys_fini(&keys);

	load(&keys, "ES256", NULL, ec_pub, false);
	doc = jwks_first(&keys);
	jwk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "keys"), 0);
	assert_string_equal(jwk_str(jwk, "kty"), "EC");
	assert_string_equal(jwk_str(jwk, "crv"), "P-256");
	assert_string_equal(jwk_str(jwk, "alg"), "ES256");
	assert_int_equal(strlen(jwk_str(jwk, "x")), 43);
	assert_jwk_bn(jwk, "x", ec_key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
	assert_jwk_bn(jwk, "y", ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
	cJSON_Delete(doc);
	hd_jwt_keys_fini(&keys);
}

static void test_jwt_keys_load_refuses(void **state)
{
	hd_jwt_keys keys;
	env_reset();
	setenv("HD_JWT_ALG", "HS256", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID); /* no secret */
	setenv("HD_JWT_SECRET", "", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID);
	/* a short HS256 secret: a warning in development, refused in production */
	setenv("HD_JWT_SECRET", "0123456789abcdef0123456789abcde", 1); /* 31 bytes */
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_OK);
	hd_jwt_keys_fini(&keys);
	setenv("HD_ENV", "production", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID);
	setenv("HD_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1); /* 32 bytes */
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_OK);
	hd_jwt_keys_fini(&keys);
	unsetenv("HD_ENV");
	setenv("HD_JWT_SECRET", SECRET, 1);
	setenv("HD_JWT_ALG", "none", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID);
	setenv("HD_JWT_ALG", "RS256", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID); /* no public key */
	setenv("HD_JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID);
	setenv("HD_JWT_PUBLIC_KEY_FILE", ec_pub, 1); /* an EC key for RS256 */
	assert_int_equal(hd_jwt_keys_load(&keys, false), HD_ERR_INVALID);
	setenv("HD_JWT_PUBLIC_KEY_FILE", rsa_pub, 1);
	assert_int_equal(hd_jwt_keys_load(&keys, true), HD_ERR_INVALID); /* no private key */
	setenv("HD_JWT_PRIVATE_KEY_FILE", rsa_pub, 1); /* not a private key */
	assert_int_equal(hd_jwt_keys_load(&keys, true), HD_ERR_INVALID);
	setenv("HD_JWT_PRIVATE_KEY_FILE", rsa_priv, 1);
	setenv("HD_JWT_LEEWAY_S", "-1", 1);
	assert_int_equal(hd_jwt_keys_load(&keys, true), HD_ERR_INVALID);
	unsetenv("HD_JWT_LEEWAY_S");
	assert_int_equal(hd_jwt_keys_load(&keys, true), HD_OK);
	assert_int_equal(keys.alg, HD_JWT_RS256);
	assert_int_equal(keys.leeway_s, 5);
	assert_int_equal(keys.access_ttl_s, 900);
	assert_string_equal(keys.issuer, "helpdesk");
	hd_jwt_keys_fini(&keys);
	hd_jwt_keys_fini(&keys); /* twice is fine */
	hd_jwt_alg alg;
	assert_int_equal(hd_jwt_alg_parse("ES256", &alg), HD_OK);
	assert_int_equal(alg, HD_JWT_ES256);
	assert_int_equal(hd_jwt_alg_parse("hs256", &alg), HD_ERR_INVALID);
	assert_int_equal(hd_jwt_alg_parse(NULL, &alg), HD_ERR_INVALID);
	env_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_hs256_valid),
		cmocka_unit_test(test_jwt_alg_none),
		cmocka_unit_test(test_jwt_wrong_key),
		cmocka_unit_test(test_jwt_times),
		cmocka_unit_test(test_jwt_cache),
		cmocka_unit_test(test_jwt_iss_aud),
		cmocka_unit_test(test_jwt_missing_and_mistyped_claims),
		cmocka_unit_test(test_jwt_malformed),
		cmocka_unit_test(test_jwt_rs256_confusion),
		cmocka_unit_test(test_jwt_rs256_round_trip),
		cmocka_unit_test(test_jwt_es256_round_trip),
		cmocka_unit_test(test_jwt_jwks),
		cmocka_unit_test(test_jwt_keys_load_refuses),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
