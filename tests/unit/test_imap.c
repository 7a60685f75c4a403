/* Unit tests of mail in's IMAP text (services/notification/imap.c): the
 * UIDVALIDITY of an EXAMINE answer, the UIDs of a UID SEARCH answer (only
 * those past the last taken, ascending, without repeats, bounded), and the
 * URLs of a folder and of one message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "notification.h"

static bool validity(const char *text, int64_t *v)
{
	return nt_imap_uidvalidity(text, strlen(text), v);
}

static void test_uidvalidity(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_true(validity("* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 1796641712] UIDs valid\r\n"
	                     "* OK [UIDNEXT 4] Predicted next UID\r\n",
	    &v));
	assert_int_equal(v, 1796641712);
	assert_true(validity("* OK [UIDVALIDITY 4294967295]", &v));
	assert_int_equal(v, 4294967295LL);
	assert_false(validity("* OK [UIDVALIDITY 4294967296]", &v));
	assert_false(validity("* OK [UIDVALIDITY 0]", &v));
	assert_false(validity("* OK [UIDVALIDITY ]", &v));
	assert_false(validity("* OK [UIDVALIDITY 12", &v));
	assert_false(validity("* OK [UIDNEXT 12]", &v));
	assert_false(validity("", &v));
	/* a bad one first, a good one after */
	assert_true(validity("[UIDVALIDITY x] [UIDVALIDITY 7]", &v));
	assert_int_equal(v, 7);
}

static size_t search(const char *text, int64_t after, int64_t *uids, size_t max)
{
	return nt_imap_search_uids(text, strlen(text), after, uids, max);
}

static void test_search(void **state)
{
	(void)state;
	int64_t uids[4];
	assert_int_equal(search("* SEARCH 9 3 5 3 12\r\n", 0, uids, 4), 4);
	assert_int_equal(uids[0], 3);
	assert_int_equal(uids[1], 5);
	assert_int_equal(uids[2], 9);
	assert_int_equal(uids[3], 12);
	/* "n:*" always names the highest UID, even when it is not above n */
	assert_int_equal(search("* SEARCH 4\r\n", 4, uids, 4), 0);
	assert_int_equal(search("* SEARCH 2 8 6 1 7 20 9\r\n", 5, uids, 3), 3);
	assert_int_equal(uids[0], 6);
	assert_int_equal(uids[1], 7);
	assert_int_equal(uids[2], 8);
	assert_int_equal(search("* SEARCH\r\n", 0, uids, 4), 0);
	assert_int_equal(search("* OK nothing\r\n* SEARCH 5 x 6\r\n", 0, uids, 4), 1);
	assert_int_equal(uids[0], 5);
	assert_int_equal(search("* SEARCH 4294967296 0 1", 0, uids, 4), 0);
	assert_int_equal(search("* SEARCH 1\r\n* SEARCH 2", 0, uids, 4), 2);
}

static void test_urls(void **state)
{
	(void)state;
	char url[128];
	assert_true(
	    nt_imap_message_url(url, sizeof url, "imaps://mx.example.com:993/", "INBOX", 0, 0));
	assert_string_equal(url, "imaps://mx.example.com:993/INBOX");
	assert_true(nt_imap_message_url(url, sizeof url, "imap://h", "Support/In box", 42, 7));
	assert_string_equal(url, "imap://h/Support/In%20box;UIDVALIDITY=42/;UID=7");
	assert_false(nt_imap_message_url(url, 16, "imap://h", "INBOX", 42, 7));
	assert_false(nt_imap_message_url(url, 12, "imap://h", "a b c", 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uidvalidity),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
