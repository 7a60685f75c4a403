/* gateway/proxy.c: HD_TRUSTED_PROXIES parsing (IPv4, IPv6, single
 * addresses, bad entries) and the client address behind trusted proxies
 * (X-Forwarded-For read only from a trusted peer, the rightmost untrusted
 * entry, mapped addresses, junk). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "proxy.h"

static const char *client(const gw_proxies *p, const char *peer, const char *xff)
{
	static char out[GW_PROXY_ADDR_MAX];
	gw_proxy_client(p, peer, xff, out, sizeof(out));
	return out;
}

static void test_parse(void **state)
{
	gw_proxies p;
	(void)state;
	assert_true(gw_proxies_parse(&p, NULL));
	assert_int_equal(p.n, 0);
	assert_true(gw_proxies_parse(&p, ""));
	assert_int_equal(p.n, 0);
	assert_true(
	    gw_proxies_parse(&p, " 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1,, ::ffff:172.16.0.0/108"));
	assert_int_equal(p.n, 5);
	assert_true(gw_proxies_trusts(&p, "10.200.3.4"));
	assert_false(gw_proxies_trusts(&p, "11.0.0.1"));
	assert_true(gw_proxies_trusts(&p, "192.168.1.7"));
	assert_false(gw_proxies_trusts(&p, "192.168.1.8"));
	assert_true(gw_proxies_trusts(&p, "fd12:3456::1"));
	assert_false(gw_proxies_trusts(&p, "fe80::1"));
	assert_true(gw_proxies_trusts(&p, "::1"));
	assert_true(gw_proxies_trusts(&p, "172.16.9.9")); /* the mapped range is IPv4's */
	assert_true(gw_proxies_trusts(&p, "::ffff:10.1.2.3")); /* a mapped peer is IPv4 */
	assert_false(gw_proxies_trusts(&p, "not-an-ip"));
	assert_false(gw_proxies_trusts(&p, NULL));
	assert_true(gw_proxies_parse(&p, "0.0.0.0/0"));
	assert_true(gw_proxies_trusts(&p, "1.2.3.4"));
	assert_false(gw_proxies_trusts(&p, "::2"));
	assert_true(gw_proxies_parse(&p, "10.1.2.0/23"));
	assert_true(gw_proxies_trusts(&p, "10.1.3.255"));
	assert_false(gw_proxies_trusts(&p, "10.1.4.0"));
	/* refused, and the list left empty */
	const char *bad[] = { "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "host.local",
		"10.0.0.0/8x", "/8", "10.0.0.1:80", "[::1]", "::ffff:10.0.0.0/64", "10.0.0.0/-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(gw_proxies_parse(&p, bad[i]));
		assert_int_equal(p.n, 0);
	}
	char many[40 * 16] = "";
	for (int i = 0; i <= GW_PROXY_MAX; i++)
		strcat(many, "10.0.0.1,");
	assert_false(gw_proxies_parse(&p, many));
}

static void test_client(void **state)
{
	gw_proxies none, p;
	(void)state;
	assert_true(gw_proxies_parse(&none, ""));
	assert_true(gw_proxies_parse(&p, "10.0.0.0/8, fd00::/8"));
	/* untrusted peer: the header is ignored, whatever it says */
	assert_string_equal(client(&none, "203.0.113.5", "198.51.100.1"), "203.0.113.5");
	assert_string_equal(client(&p, "203.0.113.5", "198.51.100.1"), "203.0.113.5");
	/* trusted peer, no header: the peer */
	assert_string_equal(client(&p, "10.0.0.2", NULL), "10.0.0.2");
	assert_string_equal(client(&p, "10.0.0.2", ""), "10.0.0.2");
	/* the rightmost entry that is not a trusted proxy; a forged left part is skipped */
	assert_string_equal(client(&p, "10.0.0.2", "198.51.100.1"), "198.51.100.1");
	assert_string_equal(
	    client(&p, "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.9.9.9"), "198.51.100.1");
	assert_string_equal(
	    client(&p, "10.0.0.2", "1.1.1.1,198.51.100.1,10.9.9.9 , 10.0.0.3"), "198.51.100.1");
	/* every entry trusted: the leftmost */
	assert_string_equal(client(&p, "10.0.0.2", "10.1.1.1, 10.2.2.2"), "10.1.1.1");
	/* IPv6, brackets and ports, mapped addresses */
	assert_string_equal(client(&p, "fd00::2", "2001:db8::1"), "2001:db8::1");
	assert_string_equal(client(&p, "::ffff:10.0.0.2", "[2001:db8::7]:4711"), "2001:db8::7");
	assert_string_equal(client(&p, "10.0.0.2", "198.51.100.9:1234"), "198.51.100.9");
	assert_string_equal(client(&p, "10.0.0.2", "::ffff:198.51.100.9"), "198.51.100.9");
	assert_string_equal(client(&none, "::ffff:127.0.0.1", NULL), "127.0.0.1");
	/* junk stops the walk at the trusted hop right of it */
	assert_string_equal(client(&p, "10.0.0.2", "198.51.100.1, unknown"), "10.0.0.2");
	assert_string_equal(client(&p, "10.0.0.2", "198.51.100.1, x, 10.3.3.3"), "10.3.3.3");
	assert_string_equal(client(&p, "10.0.0.2", "{ip:x}:rl, 10.3.3.3"), "10.3.3.3");
	/* empty elements are skipped; the result is canonical */
	assert_string_equal(client(&p, "10.0.0.2", "2001:DB8:0::1,,"), "2001:db8::1");
	/* a peer that is not an address (a unix socket) is kept as it is */
	assert_string_equal(client(&p, "", "198.51.100.1"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
