/* The search result cache's key material (services/knowledge/search_key.c;
 * docs/architecture.md, "Knowledge search cache"): the query's
 * normalisation and the digest of a search's parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "knowledge.h"

static void normalised_is(const char *q, const char *want)
{
	char out[128];
	assert_int_equal(kb_cache_normalise(q, out), strlen(want));
	assert_string_equal(out, want);
}

static void test_normalise(void **state)
{
	(void)state;
	normalised_is("Printer  Network", "printer network");
	normalised_is("  \tVPN\r\n login ", "vpn login");
	normalised_is("", "");
	normalised_is("   ", "");
	/* bytes past ASCII are kept as they are (Drucker, Ünterlage) */
	normalised_is("\xc3\x9cnterlage DRUCKER", "\xc3\x9cnterlage drucker");
	/* quotes and the minus of a web search are kept */
	normalised_is("\"Paper Jam\" -Toner", "\"paper jam\" -toner");
}

static void digest_of(const char *q, const char *locale, const char *limit, const char *published,
    char out[KB_CACHE_DIGEST_HEX + 1])
{
	const char *p[KB_SEARCH_NPARAMS] = { q, locale, limit, published, "f" };
	assert_true(kb_cache_digest(p, KB_SEARCH_NPARAMS, out));
	assert_int_equal(strlen(out), KB_CACHE_DIGEST_HEX);
}

static void test_digest(void **state)
{
	(void)state;
	char a[KB_CACHE_DIGEST_HEX + 1], b[KB_CACHE_DIGEST_HEX + 1];
	digest_of("Printer network", NULL, "10", "t", a);
	digest_of(" printer   NETWORK", NULL, "10", "t", b);
	assert_string_equal(a, b);
	/* the audience: staff's reply (drafts) is never a customer's */
	digest_of("printer network", NULL, "10", "f", b);
	assert_string_not_equal(a, b);
	digest_of("printer network", NULL, "20", "t", b);
	assert_string_not_equal(a, b);
	digest_of("printer network", "en", "10", "t", b);
	assert_string_not_equal(a, b);
	/* no locale is not the empty locale, nor a locale spelt "\x01" */
	digest_of("printer network", "", "10", "t", b);
	assert_string_not_equal(a, b);
	/* the separators: moving text between fields changes the digest */
	digest_of("printer", "network", "10", "t", a);
	digest_of("printer network", NULL, "10", "t", b);
	assert_string_not_equal(a, b);
	digest_of("printers network", NULL, "10", "t", a);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
