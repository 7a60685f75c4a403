/* libFuzzer target for the sentiment tokenizer and lexicon (libs/src/
 * sentiment.c): customer text from outside, any bytes. Properties: at most
 * one term per word, each worth -5..+5; comparative is score / words. */
#include <stdint.h>
#include <stdlib.h>
#include "hd/sentiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hd_sentiment s;
	hd_sentiment_score((const char *)data, size, &s);
	if (s.terms < 0 || s.terms > s.words || s.score > 5 * s.terms || s.score < -5 * s.terms)
		abort();
	if (s.words == 0 ? s.comparative != 0.0 : s.comparative != (double)s.score / s.words)
		abort();
	return 0;
}
