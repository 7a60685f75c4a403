/* Unit tests of the gateway's rate-limit arithmetic and key names
 * (gateway/ratelimit.c): the verdict and RateLimit-* values derived from the
 * script's {code, count, ttl}, and the Redis keys shared with the auth daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "ratelimit.h"

#define TID "0190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e8f"
#define UID "0190c7a2-7b1e-7cc3-9a4e-3f2b1c0d9e90"

static void test_under_limit(void **state)
{
	gw_rl_decision d;
	assert_true(gw_rl_decide(GW_RL_OK, 1, 60, 600, 0, &d));
	assert_false(d.limited);
	assert_int_equal(d.code, GW_RL_OK);
	assert_int_equal(d.limit, 600);
	assert_int_equal(d.remaining, 599);
	assert_int_equal(d.reset_s, 60);
	assert_true(gw_rl_decide(GW_RL_OK, 600, 3, 600, 0, &d));
	assert_false(d.limited);
	assert_int_equal(d.remaining, 0);
	assert_int_equal(d.reset_s, 3);
}

static void test_over_limit(void **state)
{
	gw_rl_decision d;
	assert_true(gw_rl_decide(GW_RL_LIMITED, 601, 17, 600, 0, &d));
	assert_true(d.limited);
	assert_int_equal(d.remaining, 0);
	assert_int_equal(d.reset_s, 17);
	/* the login limit reports its own limit */
	assert_true(gw_rl_decide(GW_RL_LOGIN_LIMITED, 61, 40, 600, 60, &d));
	assert_true(d.limited);
	assert_int_equal(d.limit, 60);
	assert_int_equal(d.remaining, 0);
	assert_int_equal(d.reset_s, 40);
}

static void test_reset_bounds(void **state)
{
	gw_rl_decision d;
	assert_true(gw_rl_decide(GW_RL_LIMITED, 5, 0, 2, 0, &d));
	assert_int_equal(d.reset_s, 1); /* never "retry after 0" */
	assert_true(gw_rl_decide(GW_RL_LIMITED, 5, -2, 2, 0, &d));
	assert_int_equal(d.reset_s, 1);
	assert_true(gw_rl_decide(GW_RL_OK, 1, 100000, 2, 0, &d));
	assert_int_equal(d.reset_s, GW_RL_WINDOW_S);
}

static void test_revocation_codes(void **state)
{
	gw_rl_decision d;
	assert_true(gw_rl_decide(GW_RL_TOKEN_REVOKED, 0, 0, 600, 0, &d));
	assert_int_equal(d.code, GW_RL_TOKEN_REVOKED);
	assert_false(d.limited);
	assert_true(gw_rl_decide(GW_RL_USER_OFF, 0, 0, 600, 0, &d));
	assert_int_equal(d.code, GW_RL_USER_OFF);
	assert_false(gw_rl_decide(5, 0, 0, 600, 0, &d));
	assert_false(gw_rl_decide(-1, 0, 0, 600, 0, &d));
	assert_false(gw_rl_decide(GW_RL_OK, -1, 0, 600, 0, &d));
}

static void test_user_keys(void **state)
{
	gw_rl_keys k;
	assert_true(gw_rl_keys_user(&k, TID, UID, "jti-1"));
	assert_string_equal(k.counter, "hd:{" TID "}:rl:" UID);
	assert_string_equal(k.deny, "hd:{" TID "}:deny:jti-1");
	assert_string_equal(k.user_off, "hd:{" TID "}:user_off:" UID);
	assert_false(gw_rl_keys_user(&k, "", UID, "j"));
	assert_false(gw_rl_keys_user(&k, TID, UID, ""));
	assert_false(gw_rl_keys_user(&k, "t}x", UID, "j"));
	assert_false(gw_rl_keys_user(&k, TID, UID, NULL));
}

static void test_anon_keys(void **state)
{
	gw_rl_keys k;
	char big[200];
	assert_true(gw_rl_keys_anon(&k, "127.0.0.1"));
	assert_string_equal(k.counter, "hd:{ip:127.0.0.1}:rl");
	assert_string_equal(k.login, "hd:{ip:127.0.0.1}:login");
	/* unused keys repeat the counter: one hash slot */
	assert_string_equal(k.deny, k.counter);
	assert_string_equal(k.user_off, k.counter);
	assert_true(gw_rl_keys_anon(&k, "::1"));
	assert_string_equal(k.counter, "hd:{ip:::1}:rl");
	assert_false(gw_rl_keys_anon(&k, ""));
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(gw_rl_keys_anon(&k, big));
}

static void test_script_shape(void **state)
{
	/* the script reads the four KEYS and four ARGV it is given */
	assert_non_null(strstr(gw_rl_script, "KEYS[4]"));
	assert_non_null(strstr(gw_rl_script, "ARGV[4]"));
	assert_non_null(strstr(gw_rl_script, "ARGV[5]")); /* iat against the user's not-before */
	assert_non_null(strstr(gw_rl_script, "EXPIRE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_under_limit),
		cmocka_unit_test(test_over_limit),
		cmocka_unit_test(test_reset_bounds),
		cmocka_unit_test(test_revocation_codes),
		cmocka_unit_test(test_user_keys),
		cmocka_unit_test(test_anon_keys),
		cmocka_unit_test(test_script_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
