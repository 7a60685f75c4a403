/* hd/triage.h: the naive Bayes posterior against a hand computation, the
 * rules for staying silent (few examples, one label, no known term, unsure),
 * and malformed inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "hd/triage.h"

/* The last input parsed: a prediction's label points into it. */
static cJSON *input;

static hd_triage_outcome predict(const char *json, hd_triage_prediction *p)
{
	cJSON_Delete(input);
	input = cJSON_Parse(json);
	return hd_triage_predict(input, p);
}

static int input_free(void **state)
{
	(void)state;
	cJSON_Delete(input);
	input = NULL;
	return 0;
}

#define TWO_LABELS                                                                                 \
	"\"labels\":[{\"label\":\"billing\",\"docs\":10,\"terms\":20},"                            \
	"{\"label\":\"hardware\",\"docs\":10,\"terms\":20}]"

static void test_posterior(void **state)
{
	(void)state;
	hd_triage_prediction p;
	assert_int_equal(predict("{\"vocab\":10," TWO_LABELS
	                         ",\"terms\":[{\"tf\":1,\"counts\":{\"hardware\":9}}]}",
	                     &p),
	    HD_TRIAGE_SPOKE);
	assert_string_equal(p.label, "hardware");
	assert_int_equal(p.examples, 20);
	/* equal priors: the odds are ((9+1)/(20+10) / (0+1)/(20+10)) ^ log(1+1) */
	double odds = pow(10.0, log(2.0));
	assert_true(fabs(p.confidence - odds / (1 + odds)) < 1e-9);
	/* more evidence, more confidence; a term's counts of both labels weigh */
	hd_triage_prediction q;
	double first = p.confidence;
	assert_int_equal(predict("{\"vocab\":10," TWO_LABELS
	                         ",\"terms\":[{\"tf\":3,\"counts\":{\"hardware\":9}},"
	                         "{\"tf\":1,\"counts\":{\"hardware\":4,\"billing\":1}}]}",
	                     &q),
	    HD_TRIAGE_SPOKE);
	assert_string_equal(q.label, "hardware");
	assert_true(q.confidence > first && q.confidence < 1.0);
	assert_string_equal(hd_triage_outcome_name(q.outcome), "spoke");
}

static void test_prior_decides_a_tie(void **state)
{
	(void)state;
	hd_triage_prediction p;
	/* the term is as likely in both: the label with more examples wins */
	assert_int_equal(
	    predict("{\"vocab\":4,\"labels\":[{\"label\":\"a\",\"docs\":10,\"terms\":10},"
	            "{\"label\":\"b\",\"docs\":30,\"terms\":10}],"
	            "\"terms\":[{\"tf\":1,\"counts\":{\"a\":2,\"b\":2}}]}",
	        &p),
	    HD_TRIAGE_SPOKE);
	assert_string_equal(p.label, "b");
	assert_true(fabs(p.confidence - 0.75) < 1e-9);
}

static void test_silent(void **state)
{
	(void)state;
	hd_triage_prediction p;
	/* 19 examples: too few */
	assert_int_equal(
	    predict("{\"vocab\":3,\"labels\":[{\"label\":\"a\",\"docs\":9,\"terms\":9},"
	            "{\"label\":\"b\",\"docs\":10,\"terms\":9}],"
	            "\"terms\":[{\"tf\":1,\"counts\":{\"a\":5}}]}",
	        &p),
	    HD_TRIAGE_FEW_EXAMPLES);
	assert_null(p.label);
	assert_int_equal(p.examples, 19);
	/* one label, however many examples; a label without examples does not count */
	assert_int_equal(
	    predict("{\"vocab\":3,\"labels\":[{\"label\":\"a\",\"docs\":50,\"terms\":9},"
	            "{\"label\":\"b\",\"docs\":0,\"terms\":0}],"
	            "\"terms\":[{\"tf\":1,\"counts\":{\"a\":5}}]}",
	        &p),
	    HD_TRIAGE_ONE_LABEL);
	assert_null(p.label);
	/* nothing of the text is known */
	assert_int_equal(
	    predict("{\"vocab\":10," TWO_LABELS ",\"terms\":[]}", &p), HD_TRIAGE_NO_KNOWN_TERMS);
	assert_string_equal(hd_triage_outcome_name(p.outcome), "no_known_terms");
	/* three equal labels: a third each, under the floor */
	assert_int_equal(
	    predict("{\"vocab\":3,\"labels\":[{\"label\":\"a\",\"docs\":10,\"terms\":9},"
	            "{\"label\":\"b\",\"docs\":10,\"terms\":9},"
	            "{\"label\":\"c\",\"docs\":10,\"terms\":9}],"
	            "\"terms\":[{\"tf\":2,\"counts\":{\"a\":3,\"b\":3,\"c\":3}}]}",
	        &p),
	    HD_TRIAGE_UNSURE);
	assert_null(p.label);
	assert_true(fabs(p.confidence - 1.0 / 3) < 1e-9);
}

/* Sums past an int: the examples count saturates, nothing overflows. */
static void test_huge_counts(void **state)
{
	(void)state;
	hd_triage_prediction p;
	assert_int_equal(
	    predict("{\"vocab\":1,\"labels\":[{\"label\":\"a\",\"docs\":3e10,\"terms\":0},"
	            "{\"label\":\"b\",\"docs\":1e12,\"terms\":1e12}],\"terms\":[]}",
	        &p),
	    HD_TRIAGE_NO_KNOWN_TERMS);
	assert_int_equal(p.examples, INT_MAX);
}

static void test_bad_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"[]",
		"{\"labels\":[],\"terms\":[]}",
		"{\"vocab\":-1,\"labels\":[],\"terms\":[]}",
		"{\"vocab\":1,\"labels\":{},\"terms\":[]}",
		"{\"vocab\":1,\"labels\":[{\"label\":1,\"docs\":1,\"terms\":1}],\"terms\":[]}",
		"{\"vocab\":1,\"labels\":[{\"label\":\"a\",\"terms\":1}],\"terms\":[]}",
		"{\"vocab\":1,\"labels\":[],\"terms\":[{\"tf\":0,\"counts\":{}}]}",
		"{\"vocab\":1,\"labels\":[],\"terms\":[{\"tf\":1,\"counts\":[]}]}",
		"{\"vocab\":1,\"labels\":[]}",
		"{\"vocab\":1e308,\"labels\":[],\"terms\":[]}",
		"{\"vocab\":1,\"labels\":[{\"label\":\"a\",\"docs\":1e13,\"terms\":1}],\"terms\":[]"
		"}",
		"{\"vocab\":1,\"labels\":[{\"label\":\"a\",\"docs\":1,\"terms\":1}],"
		"\"terms\":[{\"tf\":1,\"counts\":{\"a\":1e300}}]}",
	};
	hd_triage_prediction p;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(predict(bad[i], &p), HD_TRIAGE_BAD_INPUT);
	assert_int_equal(hd_triage_predict(NULL, &p), HD_TRIAGE_BAD_INPUT);
	assert_string_equal(hd_triage_outcome_name(HD_TRIAGE_BAD_INPUT), "bad_input");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_posterior, input_free),
		cmocka_unit_test_teardown(test_prior_decides_a_tie, input_free),
		cmocka_unit_test_teardown(test_silent, input_free),
		cmocka_unit_test_teardown(test_huge_counts, input_free),
		cmocka_unit_test_teardown(test_bad_input, input_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
