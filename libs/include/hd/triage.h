/* The auto-triage classifier's maths (docs/architecture.md, "Auto-triage"):
 * multinomial naive Bayes over a ticket's terms, from the counts the
 * knowledge schema keeps per tenant and field (category, priority) and
 * knowledge.triage_field_input gives (services/knowledge/sql/003_triage.sql).
 * Laplace smoothing (alpha 1), term frequencies damped to log(1 + tf), terms
 * the model never saw ignored; the confidence is the winning label's
 * posterior probability. It stays silent (no label) with too few examples,
 * a single label, no known term in the text, or a confidence under
 * HD_TRIAGE_MIN_CONFIDENCE. Pure and thread-safe. */
#ifndef HD_TRIAGE_H
#define HD_TRIAGE_H
#include <cjson/cJSON.h>

/* Examples of a field (people's decisions) before the classifier speaks. */
#define HD_TRIAGE_MIN_EXAMPLES 20
/* The lowest confidence it answers with. */
#define HD_TRIAGE_MIN_CONFIDENCE 0.5
/* Labels considered (the first ones of the input; more are ignored). */
#define HD_TRIAGE_MAX_LABELS 256

/* Why a prediction was made or not. */
typedef enum hd_triage_outcome {
	HD_TRIAGE_SPOKE = 0, /* label and confidence set */
	HD_TRIAGE_FEW_EXAMPLES, /* fewer than HD_TRIAGE_MIN_EXAMPLES examples */
	HD_TRIAGE_ONE_LABEL, /* fewer than two labels to choose from */
	HD_TRIAGE_NO_KNOWN_TERMS, /* none of the text's terms was ever seen */
	HD_TRIAGE_UNSURE, /* the best label's confidence is under the floor */
	HD_TRIAGE_BAD_INPUT, /* input is not the shape described above */
} hd_triage_outcome;

typedef struct hd_triage_prediction {
	hd_triage_outcome outcome;
	const char *label; /* the predicted label (points into the input), or NULL */
	double confidence; /* the best label's posterior, 0..1 (also when unsure) */
	int examples; /* the examples the model learnt from */
} hd_triage_prediction;

/* Predicts one field from input, {"vocab": n, "labels": [{"label","docs",
 * "terms"}...], "terms": [{"tf": n, "counts": {label: n}}...]}, into *out;
 * returns out->outcome. Counts are numbers from 0 to 1e12 (bad_input
 * otherwise). */
hd_triage_outcome hd_triage_predict(const cJSON *input, hd_triage_prediction *out);
/* The outcome's name in replies: "spoke", "few_examples", "one_label",
 * "no_known_terms", "unsure", "bad_input". */
const char *hd_triage_outcome_name(hd_triage_outcome outcome);

#endif
