/* Unit tests of the mailbox password sealing (services/notification/seal.c):
 * the key setting's form, a round trip, fresh nonces, and refusals of a
 * wrong key, another row's associated data, a changed byte and junk; a
 * key rotation (HD_MAIL_KEY_PREVIOUS opens, never seals; a stale seal is
 * told). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "notification.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define AAD "tenant-a/mailbox-1"

static void test_key(void **state)
{
	(void)state;
	unsigned char key[NT_SEAL_KEY_LEN];
	assert_true(nt_seal_key_parse(KEY_HEX, key));
	assert_int_equal(key[0], 0);
	assert_int_equal(key[31], 0x1f);
	assert_true(nt_seal_key_parse(
	    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", key));
	assert_int_equal(key[5], 0xff);
	assert_false(nt_seal_key_parse(NULL, key));
	assert_false(nt_seal_key_parse("", key));
	assert_false(nt_seal_key_parse(KEY_HEX "00", key));
	assert_false(nt_seal_key_parse(
	    "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", key));
}

static void test_round_trip(void **state)
{
	(void)state;
	unsigned char key[NT_SEAL_KEY_LEN], other[NT_SEAL_KEY_LEN];
	assert_true(nt_seal_key_parse(KEY_HEX, key));
	memcpy(other, key, sizeof other);
	other[0] ^= 1;
	char *a = nt_seal(key, AAD, "s3cret pässword");
	char *b = nt_seal(key, AAD, "s3cret pässword");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b); /* a fresh nonce each time */
	assert_null(strstr(a, "s3cret"));
	assert_memory_equal(a, "v1:", 3);
	char *plain = nt_unseal(key, AAD, a);
	assert_non_null(plain);
	assert_string_equal(plain, "s3cret pässword");
	free(plain);
	assert_null(nt_unseal(other, AAD, a));
	assert_null(nt_unseal(key, "tenant-a/mailbox-2", a));
	a[10] = a[10] == 'A' ? 'B' : 'A';
	assert_null(nt_unseal(key, AAD, a));
	static const char *const junk[] = { "", "v1:", "v1:AAAA",
		"v2:"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"v1:!!!!", "v1:AAA", NULL };
	for (int i = 0; junk[i] != NULL; i++)
		assert_null(nt_unseal(key, AAD, junk[i]));
	free(a);
	free(b);
	char *empty = nt_seal(key, AAD, "");
	assert_non_null(empty);
	plain = nt_unseal(key, AAD, empty);
	assert_non_null(plain);
	assert_string_equal(plain, "");
	free(plain);
	free(empty);
	char *big = calloc(1, NT_SEAL_SECRET_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', NT_SEAL_SECRET_MAX + 1);
	assert_null(nt_seal(key, AAD, big));
	free(big);
}

#define OLD_HEX "f0e0d0c0b0a090807060504030201000f0e0d0c0b0a090807060504030201000"

static void test_rotation(void **state)
{
	(void)state;
	nt_seal_keys keys;
	bool stale = true;
	unsigned char old_key[NT_SEAL_KEY_LEN];
	assert_true(nt_seal_key_parse(OLD_HEX, old_key));
	char *before = nt_seal(old_key, AAD, "old secret");
	assert_non_null(before);
	/* a previous key needs a current one; malformed ones are refused */
	setenv("HD_MAIL_KEY", "", 1);
	setenv("HD_MAIL_KEY_PREVIOUS", OLD_HEX, 1);
	assert_false(nt_seal_keys_load(&keys));
	setenv("HD_MAIL_KEY", KEY_HEX, 1);
	setenv("HD_MAIL_KEY_PREVIOUS", "abc", 1);
	assert_false(nt_seal_keys_load(&keys));
	/* without the previous key the old seal does not open */
	setenv("HD_MAIL_KEY_PREVIOUS", "", 1);
	assert_true(nt_seal_keys_load(&keys));
	assert_true(keys.current_set);
	assert_false(keys.previous_set);
	assert_null(nt_unseal_keys(&keys, AAD, before, &stale));
	/* with it, it opens and is told stale */
	setenv("HD_MAIL_KEY_PREVIOUS", OLD_HEX, 1);
	assert_true(nt_seal_keys_load(&keys));
	assert_true(keys.previous_set);
	char *plain = nt_unseal_keys(&keys, AAD, before, &stale);
	assert_non_null(plain);
	assert_string_equal(plain, "old secret");
	assert_true(stale);
	free(plain);
	/* sealed again with the current key: opens, not stale, old key alone fails */
	char *after = nt_seal(keys.current, AAD, "old secret");
	assert_non_null(after);
	plain = nt_unseal_keys(&keys, AAD, after, &stale);
	assert_non_null(plain);
	assert_false(stale);
	free(plain);
	assert_null(nt_unseal(old_key, AAD, after));
	assert_null(nt_unseal_keys(&keys, "tenant-a/mailbox-2", before, &stale));
	unsetenv("HD_MAIL_KEY");
	unsetenv("HD_MAIL_KEY_PREVIOUS");
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
