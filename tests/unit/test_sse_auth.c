/* gateway/sse_auth.c: stream tickets (fresh ones differ and have a key; a
 * key only for the exact form; the key never holds the ticket), the stored
 * value round trip and its refusals, the ticket's life against the token's,
 * and the ended-session messages with what they end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "sse_auth.h"

#define TENANT "01a24f8a-4ad3-7c07-95da-c33e2fbf443f"
#define USER "01a24f8a-4ad3-7c07-95da-c33e2fe3d0ef"
#define JTI "01a24f8a-4ad3-7c07-95da-c33e2fe3d0aa"

static void test_ticket_new_and_key(void **state)
{
	(void)state;
	char a[GW_SSE_TICKET_LEN + 1], b[GW_SSE_TICKET_LEN + 1];
	char ka[GW_SSE_TICKET_KEY_MAX], kb[GW_SSE_TICKET_KEY_MAX];
	assert_true(gw_sse_ticket_new(a));
	assert_true(gw_sse_ticket_new(b));
	assert_int_equal(strlen(a), GW_SSE_TICKET_LEN);
	assert_string_not_equal(a, b);
	assert_true(gw_sse_ticket_key(a, strlen(a), ka));
	assert_true(gw_sse_ticket_key(b, strlen(b), kb));
	assert_string_not_equal(ka, kb);
	assert_int_equal(strncmp(ka, "hd:{sse_ticket:", 15), 0);
	assert_int_equal(strlen(ka), 15 + 64 + 1);
	assert_null(strstr(ka, a)); /* the key is the hash, never the ticket */
	/* the same ticket: the same key */
	assert_true(gw_sse_ticket_key(a, strlen(a), kb));
	assert_string_equal(ka, kb);
}

static void test_ticket_key_refusals(void **state)
{
	(void)state;
	char t[GW_SSE_TICKET_LEN + 2], key[GW_SSE_TICKET_KEY_MAX];
	assert_true(gw_sse_ticket_new(t));
	assert_false(gw_sse_ticket_key(t, GW_SSE_TICKET_LEN - 1, key)); /* short */
	assert_false(gw_sse_ticket_key(NULL, 0, key));
	char longer[GW_SSE_TICKET_LEN + 2];
	memcpy(longer, t, GW_SSE_TICKET_LEN);
	memcpy(longer + GW_SSE_TICKET_LEN, "A", 2);
	assert_false(gw_sse_ticket_key(longer, strlen(longer), key));
	char bad[GW_SSE_TICKET_LEN + 1];
	memcpy(bad, t, sizeof(bad));
	bad[5] = '+'; /* base64, not base64url */
	assert_false(gw_sse_ticket_key(bad, strlen(bad), key));
	bad[5] = '\0';
	assert_false(gw_sse_ticket_key(bad, GW_SSE_TICKET_LEN, key));
	/* 43 characters whose last one carries bits past the 32 bytes */
	memcpy(bad, t, sizeof(bad));
	bad[GW_SSE_TICKET_LEN - 1] = 'B';
	memset(bad, 'A', GW_SSE_TICKET_LEN - 1);
	assert_false(gw_sse_ticket_key(bad, GW_SSE_TICKET_LEN, key));
	bad[GW_SSE_TICKET_LEN - 1] = 'E'; /* 0b000100: trailing bits zero */
	assert_true(gw_sse_ticket_key(bad, GW_SSE_TICKET_LEN, key));
}

static hd_jwt_claims claims_of(void)
{
	hd_jwt_claims c = { 0 };
	snprintf(c.tid, sizeof(c.tid), TENANT);
	snprintf(c.sub, sizeof(c.sub), USER);
	snprintf(c.role, sizeof(c.role), "agent");
	snprintf(c.jti, sizeof(c.jti), JTI);
	c.iat = 1700000000;
	c.exp = 1700000900;
	c.nbf = 1699999999; /* not kept */
	return c;
}

static bool claims_of_text(const char *v, hd_jwt_claims *c)
{
	return gw_sse_ticket_claims(v, strlen(v), c);
}

static void test_value_round_trip(void **state)
{
	(void)state;
	hd_jwt_claims c = claims_of(), back;
	char v[GW_SSE_TICKET_VALUE_MAX];
	assert_true(gw_sse_ticket_value(&c, v, sizeof(v)));
	assert_string_equal(v, "v1 " TENANT " " USER " agent " JTI " 1700000000 1700000900");
	assert_true(gw_sse_ticket_claims(v, strlen(v), &back));
	assert_string_equal(back.tid, TENANT);
	assert_string_equal(back.sub, USER);
	assert_string_equal(back.role, "agent");
	assert_string_equal(back.jti, JTI);
	assert_int_equal(back.iat, 1700000000);
	assert_int_equal(back.exp, 1700000900);
	assert_int_equal(back.nbf, 0);
	/* a claim that would break the format is not stored */
	snprintf(c.role, sizeof(c.role), "a b");
	assert_false(gw_sse_ticket_value(&c, v, sizeof(v)));
	c = claims_of();
	c.jti[0] = '\0';
	assert_false(gw_sse_ticket_value(&c, v, sizeof(v)));
	c = claims_of();
	assert_false(gw_sse_ticket_value(&c, v, 20)); /* does not fit */
}

static void test_value_refusals(void **state)
{
	(void)state;
	hd_jwt_claims c;
	static const char *const bad[] = {
		"",
		"v2 " TENANT " " USER " agent " JTI " 1 2",
		"v1 " TENANT " " USER " agent " JTI " 1",
		"v1 " TENANT " " USER " agent " JTI " 1 2 3",
		"v1 " TENANT " " USER " agent " JTI " 1 2 ",
		"v1 " TENANT "  " USER " agent " JTI " 1 2",
		"v1 " TENANT " " USER " agent " JTI " 01 2",
		"v1 " TENANT " " USER " agent " JTI " 1 -2",
		"v1 " TENANT " " USER " agent " JTI " 1 1234567890123456",
		"v1 " TENANT "x " USER " agent " JTI " 1 2", /* tenant too long */
		"v1 " TENANT " " USER " ag\tent " JTI " 1 2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(claims_of_text(bad[i], &c));
		assert_string_equal(c.tid, ""); /* nothing half-read is left */
	}
	assert_true(claims_of_text("v1 t u customer j 0 5", &c));
	assert_int_equal(c.exp, 5);
}

static void test_ttl(void **state)
{
	(void)state;
	assert_int_equal(gw_sse_ticket_ttl(1000, 2000, 30), 30);
	assert_int_equal(gw_sse_ticket_ttl(1000, 1010, 30), 10); /* never past the token */
	assert_int_equal(gw_sse_ticket_ttl(1000, 1000, 30), 0);
	assert_int_equal(gw_sse_ticket_ttl(1000, 900, 30), 0);
}

static void test_ended_messages(void **state)
{
	(void)state;
	gw_sse_ended e;
	assert_true(gw_sse_ended_parse("deny " TENANT " " JTI, strlen("deny " TENANT " " JTI), &e));
	assert_string_equal(e.tenant, TENANT);
	assert_string_equal(e.jti, JTI);
	assert_true(gw_sse_ended_matches(&e, TENANT, USER, JTI, 5));
	assert_true(gw_sse_ended_matches(&e, TENANT, "someone", JTI, 5)); /* the token's */
	assert_false(gw_sse_ended_matches(&e, TENANT, USER, "another jti", 5));
	assert_false(gw_sse_ended_matches(&e, "other tenant", USER, JTI, 5));

	const char *off = "user_off " TENANT " " USER " 1700000000123";
	assert_true(gw_sse_ended_parse(off, strlen(off), &e));
	assert_int_equal(e.before_ms, 1700000000123);
	assert_true(gw_sse_ended_matches(&e, TENANT, USER, "any", 1700000000122));
	assert_false(gw_sse_ended_matches(&e, TENANT, USER, "any", 1700000000123)); /* newer */
	assert_false(gw_sse_ended_matches(&e, TENANT, "other user", "any", 5));

	const char *deact = "user_off " TENANT " " USER " 1";
	assert_true(gw_sse_ended_parse(deact, strlen(deact), &e));
	assert_true(gw_sse_ended_matches(&e, TENANT, USER, "any", INT64_MAX - 1));

	static const char *const bad[] = { "", "deny", "deny " TENANT, "deny " TENANT " " JTI " x",
		"user_off " TENANT " " USER, "user_off " TENANT " " USER " x1",
		"user_off " TENANT " " USER " 1 2", "logout " TENANT " " JTI,
		"deny  " TENANT " x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(gw_sse_ended_parse(bad[i], strlen(bad[i]), &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_new_and_key),
		cmocka_unit_test(test_ticket_key_refusals),
		cmocka_unit_test(test_value_round_trip),
		cmocka_unit_test(test_value_refusals),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_ended_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
