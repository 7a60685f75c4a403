/* libFuzzer target for the auto-triage classifier's maths (libs/src/triage.c,
 * hd_triage_predict): any JSON as its input (the counts come from the
 * database, but a malformed or hostile shape must still be refused, never
 * read out of bounds), and the promises of an answer: a label only when it
 * spoke, a confidence within [0, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hd/triage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	hd_triage_prediction p;
	hd_triage_outcome o = hd_triage_predict(root, &p);
	if (o != p.outcome || (o == HD_TRIAGE_SPOKE) != (p.label != NULL)
	    || !(p.confidence >= 0 && p.confidence <= 1.0 + 1e-9) || isnan(p.confidence))
		abort();
	cJSON_Delete(root);
	return 0;
}
