/* hd_jwt key rotation (libs/src/jwt_dir.c; docs/operations.md, Key
 * rotation): a verifier holds the current key (HD_JWT_KID) and the keys of
 * HD_JWT_KEYS_DIR, one file per kid; a token is checked with the key its
 * header's kid names. HS256: tokens of the old and the new key both pass
 * during the overlap, an unknown kid and a token without a kid are refused,
 * the retired key is refused once it left the folder. ES256: the JWKS lists
 * every key by kid. Folders with a bad name, a key of another algorithm, an
 * empty secret or too many keys are refused at load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hd/json.h"
#include "hd/jwt.h"

#define S1 "old-secret-0123456789abcdef0123456789"
#define S2 "new-secret-0123456789abcdef0123456789"
#define SUB "aaaaaaaa-0000-4000-8000-0000000000a1"
#define TID "aaaaaaaa-0000-4000-8000-00000000000a"
#define NOW 1700000000

static char g_dir[] = "/tmp/hd-test-jwt-keys-XXXXXX";

static void write_file(const char *sub, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", g_dir, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/%s/%s", g_dir, sub, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_pem(const char *path, EVP_PKEY *pkey, int private_key)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(private_key ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
	                             : PEM_write_PUBKEY(f, pkey),
	    1);
	fclose(f);
}

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Loads keys: alg, current kid with secret (HS256) or key files, folder sub
 * of g_dir (NULL: none). */
static hd_err load(hd_jwt_keys *keys, const char *alg, const char *kid, const char *secret,
    const char *priv, const char *pub, const char *sub)
{
	char path[256];
	setenv("HD_JWT_ALG", alg, 1);
	setenv("HD_JWT_KID", kid, 1);
	setenv("HD_JWT_SECRET", secret != NULL ? secret : "", 1);
	setenv("HD_JWT_PRIVATE_KEY_FILE", priv != NULL ? priv : "", 1);
	setenv("HD_JWT_PUBLIC_KEY_FILE", pub != NULL ? pub : "", 1);
	snprintf(path, sizeof path, "%s/%s", g_dir, sub != NULL ? sub : "");
	setenv("HD_JWT_KEYS_DIR", sub != NULL ? path : "", 1);
	return hd_jwt_keys_load(keys, priv != NULL || (secret != NULL && sub == NULL));
}

static char *sign(const hd_jwt_keys *keys)
{
	hd_jwt_claims c = { .sub = SUB, .tid = TID, .role = "agent" };
	char *token = NULL;
	assert_int_equal(hd_jwt_sign(keys, &c, NOW, &token), HD_OK);
	return token;
}

/* NULL when keys accept token, else why not. */
static const char *verify(const hd_jwt_keys *keys, const char *token)
{
	hd_jwt_claims out;
	const char *why = NULL;
	hd_err err = hd_jwt_verify(keys, token, strlen(token), NOW + 1, &out, &why);
	assert_true((err == HD_OK) == (why == NULL));
	return why;
}

/* An HS256 token with valid claims and no kid in its header (libjwt alone). */
static char *sign_without_kid(const char *secret)
{
	jwt_t *jwt = NULL;
	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)secret, (int)strlen(secret)), 0);
	const char *grants = "{\"iss\":\"helpdesk\",\"aud\":\"helpdesk\",\"sub\":\"" SUB
	                     "\",\"tid\":\"" TID "\",\"role\":\"agent\",\"jti\":\"j1\"}";
	assert_int_equal(jwt_add_grants_json(jwt, grants), 0);
	assert_int_equal(jwt_add_grant_int(jwt, "iat", NOW), 0);
	assert_int_equal(jwt_add_grant_int(jwt, "exp", NOW + 900), 0);
	char *s = jwt_encode_str(jwt);
	assert_non_null(s);
	jwt_free(jwt);
	return s;
}

static void test_hs256_rotation(void **state)
{
	(void)state;
	hd_jwt_keys old_signer, new_signer, stray, overlap, retired;
	write_file("next", "hd-2", S2 "\n"); /* a Secret's file: its line break is no part */
	write_file("next", "hd-1", "ignored: the current key comes from HD_JWT_SECRET");
	write_file("prev", "hd-1", S1);
	assert_int_equal(load(&old_signer, "HS256", "hd-1", S1, NULL, NULL, NULL), HD_OK);
	assert_int_equal(load(&new_signer, "HS256", "hd-2", S2, NULL, NULL, NULL), HD_OK);
	assert_int_equal(load(&stray, "HS256", "hd-9", S2, NULL, NULL, NULL), HD_OK);
	/* step 1: the verifiers learn the next key; step 2: the signer switches */
	assert_int_equal(load(&overlap, "HS256", "hd-1", S1, NULL, NULL, "next"), HD_OK);
	assert_int_equal(overlap.nmore, 1);
	char *t1 = sign(&old_signer), *t2 = sign(&new_signer), *t9 = sign(&stray);
	char *bare = sign_without_kid(S1);
	assert_null(verify(&overlap, t1));
	assert_null(verify(&overlap, t2));
	assert_string_equal(verify(&overlap, t9), "unknown key id");
	assert_string_equal(verify(&overlap, bare), "token has no key id");
	assert_null(verify(&old_signer, bare)); /* one key only: as before rotations */
	assert_string_equal(verify(&old_signer, t2), "unknown key id");
	/* the same overlap seen from the new current key */
	hd_jwt_keys_fini(&overlap);
	assert_int_equal(load(&overlap, "HS256", "hd-2", S2, NULL, NULL, "prev"), HD_OK);
	assert_null(verify(&overlap, t1));
	assert_null(verify(&overlap, t2));
	/* step 3: the old key retired */
	assert_int_equal(load(&retired, "HS256", "hd-2", S2, NULL, NULL, NULL), HD_OK);
	assert_string_equal(verify(&retired, t1), "unknown key id");
	assert_null(verify(&retired, t2));
	/* the kid picks the key: a token naming hd-2 signed with hd-1's secret fails */
	hd_jwt_keys liar;
	assert_int_equal(load(&liar, "HS256", "hd-2", S1, NULL, NULL, NULL), HD_OK);
	char *forged = sign(&liar);
	assert_string_equal(verify(&overlap, forged), "invalid token or signature");
	free(forged);
	free(t1);
	free(t2);
	free(t9);
	free(bare);
	hd_jwt_keys *all[] = { &old_signer, &new_signer, &stray, &overlap, &retired, &liar };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		hd_jwt_keys_fini(all[i]);
}

static void test_es256_rotation_and_jwks(void **state)
{
	(void)state;
	char priv0[256], pub1[256], pub0[256];
	EVP_PKEY *k0 = EVP_EC_gen("P-256"), *k1 = EVP_EC_gen("P-256");
	assert_non_null(k0);
	assert_non_null(k1);
	snprintf(priv0, sizeof priv0, "%s/k0.pem", g_dir);
	snprintf(pub1, sizeof pub1, "%s/k1.pub.pem", g_dir);
	snprintf(pub0, sizeof pub0, "%s/es/hd-0", g_dir);
	write_file("es", "hd-0", "");
	write_pem(priv0, k0, 1);
	write_pem(pub1, k1, 0);
	write_pem(pub0, k0, 0);
	hd_jwt_keys old_signer, verifier;
	assert_int_equal(load(&old_signer, "ES256", "hd-0", NULL, priv0, NULL, NULL), HD_OK);
	assert_int_equal(load(&verifier, "ES256", "hd-1", NULL, NULL, pub1, "es"), HD_OK);
	char *t0 = sign(&old_signer);
	assert_null(verify(&verifier, t0));
	char *doc = NULL;
	assert_int_equal(hd_jwt_jwks_json(&verifier, &doc), HD_OK);
	cJSON *jwks = NULL;
	assert_int_equal(hd_json_parse(doc, strlen(doc), &jwks, NULL), HD_OK);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(jwks, "keys");
	assert_int_equal(cJSON_GetArraySize(list), 2);
	const char *kids[] = { "hd-1", "hd-0" }; /* the current key first */
	for (int i = 0; i < 2; i++) {
		const cJSON *kid
		    = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, i), "kid");
		assert_true(cJSON_IsString(kid));
		assert_string_equal(kid->valuestring, kids[i]);
	}
	cJSON_Delete(jwks);
	free(doc);
	free(t0);
	hd_jwt_keys_fini(&old_signer);
	hd_jwt_keys_fini(&verifier);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

static void test_dir_refuses(void **state)
{
	(void)state;
	hd_jwt_keys keys;
	write_file("badname", "hd 1", S1);
	assert_int_equal(load(&keys, "HS256", "hd-1", S1, NULL, NULL, "badname"), HD_ERR_INVALID);
	write_file("empty", "hd-0", "\n");
	assert_int_equal(load(&keys, "HS256", "hd-1", S1, NULL, NULL, "empty"), HD_ERR_INVALID);
	write_file("notpem", "hd-0", S1); /* a secret where ES256 needs a public key */
	char pub[256];
	snprintf(pub, sizeof pub, "%s/only.pub.pem", g_dir);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	write_pem(pub, k, 0);
	EVP_PKEY_free(k);
	assert_int_equal(load(&keys, "ES256", "hd-1", NULL, NULL, pub, "notpem"), HD_ERR_INVALID);
	assert_int_equal(load(&keys, "HS256", "hd-1", S1, NULL, NULL, "missing"), HD_ERR_INVALID);
	for (int i = 0; i <= HD_JWT_MAX_KEYS; i++) {
		char name[16];
		snprintf(name, sizeof name, "k%d", i);
		write_file("many", name, S2);
	}
	assert_int_equal(load(&keys, "HS256", "hd-1", S1, NULL, NULL, "many"), HD_ERR_INVALID);
	/* dot names (a mounted Secret's ..data) and folders are no keys */
	write_file("mounted", "..data", "x");
	write_file("mounted", "hd-2", S2);
	char sub[256];
	snprintf(sub, sizeof sub, "%s/mounted/folder", g_dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(load(&keys, "HS256", "hd-1", S1, NULL, NULL, "mounted"), HD_OK);
	assert_int_equal(keys.nmore, 1);
	assert_string_equal(keys.more[0].kid, "hd-2");
	hd_jwt_keys_fini(&keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hs256_rotation),
		cmocka_unit_test(test_es256_rotation_and_jwks),
		cmocka_unit_test(test_dir_refuses),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
