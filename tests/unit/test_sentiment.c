/* hd/sentiment.h: AFINN-165 lookups, phrases before words, the tokenizer's
 * edges (case, apostrophes, UTF-8, over-long words, no words). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "hd/sentiment.h"

static hd_sentiment score(const char *text)
{
	hd_sentiment s;
	hd_sentiment_score(text, text != NULL ? strlen(text) : 0, &s);
	return s;
}

static void test_terms(void **state)
{
	(void)state;
	assert_int_equal(hd_sentiment_term("good"), 3);
	assert_int_equal(hd_sentiment_term("bad"), -3);
	assert_int_equal(hd_sentiment_term("does not work"), -3);
	assert_int_equal(hd_sentiment_term("naïve"), -2);
	assert_int_equal(hd_sentiment_term("printer"), 0);
	assert_int_equal(hd_sentiment_term(""), 0);
}

static void test_scores(void **state)
{
	(void)state;
	hd_sentiment s = score("The printer is GOOD, the toner bad.");
	assert_int_equal(s.score, 0);
	assert_int_equal(s.terms, 2);
	assert_int_equal(s.words, 7);
	s = score("I hate this, I am angry!");
	assert_true(s.score < 0);
	assert_true(s.comparative < 0);
	s = score("Thank you, I love it");
	assert_true(s.score > 0);
}

/* A phrase of the list counts once, not as its words. */
static void test_phrases(void **state)
{
	(void)state;
	hd_sentiment s = score("The VPN does not work since Monday");
	assert_int_equal(s.score, hd_sentiment_term("does not work"));
	assert_int_equal(s.terms, 1);
	assert_int_equal(s.words, 7);
	s = score("I can’t stand it"); /* typographic apostrophe */
	assert_int_equal(s.score, hd_sentiment_term("can't stand"));
	s = score("not good");
	assert_int_equal(s.score, hd_sentiment_term("not good"));
}

static void test_edges(void **state)
{
	(void)state;
	hd_sentiment s = score(NULL);
	assert_int_equal(s.words, 0);
	assert_true(s.comparative == 0.0);
	s = score("  ,.;  ");
	assert_int_equal(s.words, 0);
	char longword[200];
	memset(longword, 'g', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	s = score(longword);
	assert_int_equal(s.words, 1);
	assert_int_equal(s.terms, 0);
	s = score("NAÏVE naïve"); /* only ASCII is lowered */
	assert_int_equal(s.score, hd_sentiment_term("naïve"));
	/* len bounds the text, not its NUL */
	hd_sentiment_score("good bad", 4, &s);
	assert_int_equal(s.score, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_scores),
		cmocka_unit_test(test_phrases),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
