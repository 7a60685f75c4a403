/* The auto-triage classifier's maths (hd/triage.h): multinomial naive Bayes
 * over the counts of one tenant's field. The counts come from PostgreSQL
 * (knowledge.triage_field_input), so a prediction is one query and this
 * pure function; the learning is SQL in the consumer's transaction. */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include "hd/triage.h"

#define TRIAGE_ALPHA 1.0
/* The largest count believed: the database's are integers far below it. */
#define TRIAGE_COUNT_MAX 1e12

typedef struct triage_labels {
	const char *name[HD_TRIAGE_MAX_LABELS];
	double docs[HD_TRIAGE_MAX_LABELS], terms[HD_TRIAGE_MAX_LABELS];
	double logp[HD_TRIAGE_MAX_LABELS];
	int n;
	double examples;
} triage_labels;

static bool triage_number(const cJSON *o, const char *name, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= TRIAGE_COUNT_MAX))
		return false;
	*out = v->valuedouble;
	return true;
}

/* Reads the labels with at least one example; false on a malformed one. */
static bool triage_labels_read(const cJSON *arr, triage_labels *l)
{
	const cJSON *it;
	l->n = 0;
	l->examples = 0;
	if (!cJSON_IsArray(arr))
		return false;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "label");
		double docs, terms;
		if (!cJSON_IsString(name) || !triage_number(it, "docs", &docs)
		    || !triage_number(it, "terms", &terms))
			return false;
		if (docs < 1 || l->n == HD_TRIAGE_MAX_LABELS)
			continue;
		l->name[l->n] = name->valuestring;
		l->docs[l->n] = docs;
		l->terms[l->n] = terms;
		l->n++;
		l->examples += docs;
	}
	return true;
}

/* Adds the log likelihood of each known term to l->logp; returns the number
 * of known terms, or -1 on a malformed one. */
static int triage_terms_add(const cJSON *arr, double vocab, triage_labels *l)
{
	const cJSON *it;
	int known = 0;
	if (!cJSON_IsArray(arr))
		return -1;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *counts = cJSON_GetObjectItemCaseSensitive(it, "counts");
		double tf;
		if (!triage_number(it, "tf", &tf) || tf < 1 || !cJSON_IsObject(counts))
			return -1;
		double weight = log1p(tf);
		for (int c = 0; c < l->n; c++) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(counts, l->name[c]);
			double count = cJSON_IsNumber(n) && n->valuedouble > 0 ? n->valuedouble : 0;
			if (count > TRIAGE_COUNT_MAX)
				return -1;
			l->logp[c] += weight
			    * log((count + TRIAGE_ALPHA) / (l->terms[c] + TRIAGE_ALPHA * vocab));
		}
		known++;
	}
	return known;
}

/* The best label of l->logp and its posterior (a softmax). */
static int triage_best(const triage_labels *l, double *posterior)
{
	int best = 0;
	for (int c = 1; c < l->n; c++)
		if (l->logp[c] > l->logp[best])
			best = c;
	double sum = 0;
	for (int c = 0; c < l->n; c++)
		sum += exp(l->logp[c] - l->logp[best]);
	*posterior = 1.0 / sum;
	return best;
}

static hd_triage_outcome triage_done(hd_triage_prediction *out, hd_triage_outcome outcome)
{
	out->outcome = outcome;
	return outcome;
}

hd_triage_outcome hd_triage_predict(const cJSON *input, hd_triage_prediction *out)
{
	triage_labels l;
	double vocab;
	*out = (hd_triage_prediction) { .outcome = HD_TRIAGE_BAD_INPUT };
	if (!cJSON_IsObject(input) || !triage_number(input, "vocab", &vocab)
	    || !triage_labels_read(cJSON_GetObjectItemCaseSensitive(input, "labels"), &l))
		return triage_done(out, HD_TRIAGE_BAD_INPUT);
	out->examples = l.examples < INT_MAX ? (int)l.examples : INT_MAX;
	for (int c = 0; c < l.n; c++)
		l.logp[c] = log(l.docs[c] / l.examples);
	/* at least 1: a smoothed probability never divides by zero */
	int known = triage_terms_add(
	    cJSON_GetObjectItemCaseSensitive(input, "terms"), vocab < 1 ? 1 : vocab, &l);
	if (known < 0)
		return triage_done(out, HD_TRIAGE_BAD_INPUT);
	if (l.examples < HD_TRIAGE_MIN_EXAMPLES)
		return triage_done(out, HD_TRIAGE_FEW_EXAMPLES);
	if (l.n < 2)
		return triage_done(out, HD_TRIAGE_ONE_LABEL);
	if (known == 0)
		return triage_done(out, HD_TRIAGE_NO_KNOWN_TERMS);
	int best = triage_best(&l, &out->confidence);
	if (out->confidence < HD_TRIAGE_MIN_CONFIDENCE)
		return triage_done(out, HD_TRIAGE_UNSURE);
	out->label = l.name[best];
	return triage_done(out, HD_TRIAGE_SPOKE);
}

const char *hd_triage_outcome_name(hd_triage_outcome outcome)
{
	switch (outcome) {
	case HD_TRIAGE_SPOKE:
		return "spoke";
	case HD_TRIAGE_FEW_EXAMPLES:
		return "few_examples";
	case HD_TRIAGE_ONE_LABEL:
		return "one_label";
	case HD_TRIAGE_NO_KNOWN_TERMS:
		return "no_known_terms";
	case HD_TRIAGE_UNSURE:
		return "unsure";
	case HD_TRIAGE_BAD_INPUT:
		break;
	}
	return "bad_input";
}
