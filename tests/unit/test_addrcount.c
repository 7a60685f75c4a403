/* gateway/addrcount.c: the per-address connection counts (keys of IPv4,
 * IPv6 and IPv4-mapped peers, the cap, release, and a long random churn
 * against a plain array, which exercises collisions and backward-shift
 * deletion in a small table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "addrcount.h"

static gw_addr_key v4(const char *text)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(1234) };
	gw_addr_key k;
	assert_int_equal(inet_pton(AF_INET, text, &a.sin_addr), 1);
	assert_true(gw_addr_key_of((struct sockaddr *)&a, &k));
	return k;
}

static gw_addr_key v6(const char *text)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(4321) };
	gw_addr_key k;
	assert_int_equal(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
	assert_true(gw_addr_key_of((struct sockaddr *)&a, &k));
	return k;
}

static void test_keys(void **state)
{
	(void)state;
	gw_addr_key a = v4("127.0.0.2"), b = v6("::ffff:127.0.0.2"), c = v4("127.0.0.3"),
	            d = v6("::1"), e = v6("::7f00:2"); /* IPv4-compatible: not the same */
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(&a, &c, sizeof(a));
	assert_memory_not_equal(&a, &d, sizeof(a));
	assert_memory_not_equal(&a, &e, sizeof(a));
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	gw_addr_key k;
	assert_false(gw_addr_key_of((struct sockaddr *)&u, &k));
}

static void test_cap(void **state)
{
	(void)state;
	gw_addrcount t;
	gw_addr_key a = v4("10.0.0.1"), mapped = v6("::ffff:10.0.0.1"), b = v6("2001:db8::1");
	assert_true(gw_addrcount_init(&t, 100, 42));
	for (int i = 0; i < 3; i++)
		assert_true(gw_addrcount_take(&t, i == 1 ? &mapped : &a, 3));
	assert_false(gw_addrcount_take(&t, &a, 3));
	assert_false(gw_addrcount_take(&t, &mapped, 3));
	assert_int_equal(gw_addrcount_get(&t, &a), 3);
	assert_true(gw_addrcount_take(&t, &b, 3)); /* another address is not held up */
	gw_addrcount_release(&t, &mapped);
	assert_int_equal(gw_addrcount_get(&t, &a), 2);
	assert_true(gw_addrcount_take(&t, &a, 3));
	for (int i = 0; i < 3; i++)
		gw_addrcount_release(&t, &a);
	gw_addrcount_release(&t, &a); /* no count: ignored */
	assert_int_equal(gw_addrcount_get(&t, &a), 0);
	assert_int_equal(gw_addrcount_get(&t, &b), 1);
	assert_int_equal(t.used, 1);
	assert_false(gw_addrcount_take(&t, &a, 0)); /* limit 0 counts nothing */
	gw_addrcount_fini(&t);
	assert_false(gw_addrcount_take(&t, &a, 3)); /* no table */
	gw_addrcount_release(&t, &a);
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random takes and releases over 40 addresses in a table sized for 16 at
 * once (32 slots), checked after every step against plain counts. */
static void test_churn(void **state)
{
	(void)state;
	enum { ADDRS = 40, AT_ONCE = 16, LIMIT = 5, STEPS = 200000 };
	gw_addrcount t;
	gw_addr_key keys[ADDRS];
	uint32_t want[ADDRS] = { 0 };
	size_t held = 0;
	for (int i = 0; i < ADDRS; i++) {
		char text[32];
		snprintf(text, sizeof text, i % 2 ? "192.0.2.%d" : "2001:db8::%d", i);
		keys[i] = i % 2 ? v4(text) : v6(text);
	}
	for (uint64_t seed = 0; seed < 4; seed++) {
		assert_true(gw_addrcount_init(&t, AT_ONCE, seed));
		memset(want, 0, sizeof want);
		held = 0;
		for (int step = 0; step < STEPS; step++) {
			int i = (int)(next() % ADDRS);
			if (next() % 2) {
				bool room = want[i] > 0 || held < AT_ONCE;
				if (!room)
					continue;
				bool ok = gw_addrcount_take(&t, &keys[i], LIMIT);
				assert_int_equal(ok, want[i] < LIMIT);
				if (ok && want[i]++ == 0)
					held++;
			} else {
				gw_addrcount_release(&t, &keys[i]);
				if (want[i] > 0 && --want[i] == 0)
					held--;
			}
			assert_int_equal(t.used, held);
			if (step % 97 == 0)
				for (int j = 0; j < ADDRS; j++)
					assert_int_equal(gw_addrcount_get(&t, &keys[j]), want[j]);
		}
		gw_addrcount_fini(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
