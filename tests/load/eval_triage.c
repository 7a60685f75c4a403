/* The scorer of `make eval-triage` (tests/load/eval-triage.sh;
 * docs/benchmarks.md, "Auto-triage evaluation"). Reads one JSON object per
 * line on stdin, a held-out ticket: {"category", "priority": the truth,
 * "model": knowledge.triage_input of its text (the counts learnt from the
 * training split), "similar": ticket.ticket_suggestions' "predicted",
 * "majority": {"category", "priority"} of the training split}; predicts with
 * the classifier's own code (hd/triage.h) and prints, per field, accuracy
 * and macro-F1 of the classifier, the similar-tickets method and the
 * majority class, then the classifier's coverage and accuracy when only its
 * answers at or above a confidence threshold count (auto_triage's value),
 * and its calibration: the answers by confidence band, each band's mean
 * confidence against its accuracy, and the expected calibration error (the
 * bands' gaps weighted by their answers; 0 when a confidence of 0.8 is
 * right 80 % of the time). A silent prediction counts as wrong. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "hd/triage.h"

#define EV_LABELS 64
#define EV_LINE_MAX (1 << 20)

/* The confusion counts of one method on one field. */
typedef struct ev_score {
	int n, right;
	char label[EV_LABELS][64];
	int tp[EV_LABELS], fp[EV_LABELS], fn[EV_LABELS];
	int nlabels;
} ev_score;

static int ev_label(ev_score *s, const char *label)
{
	for (int i = 0; i < s->nlabels; i++)
		if (strcmp(s->label[i], label) == 0)
			return i;
	if (s->nlabels == EV_LABELS)
		return -1;
	snprintf(s->label[s->nlabels], sizeof s->label[0], "%s", label);
	return s->nlabels++;
}

/* Counts one prediction (NULL: silent) against the truth. */
static void ev_count(ev_score *s, const char *truth, const char *predicted)
{
	int t = ev_label(s, truth);
	int p = predicted != NULL ? ev_label(s, predicted) : -1;
	s->n++;
	if (p >= 0 && p == t) {
		s->right++;
		s->tp[t]++;
		return;
	}
	if (t >= 0)
		s->fn[t]++;
	if (p >= 0)
		s->fp[p]++;
}

static double ev_macro_f1(const ev_score *s)
{
	double sum = 0;
	int n = 0;
	for (int i = 0; i < s->nlabels; i++) {
		int d = 2 * s->tp[i] + s->fp[i] + s->fn[i];
		if (d == 0)
			continue;
		sum += 2.0 * s->tp[i] / d;
		n++;
	}
	return n > 0 ? sum / n : 0;
}

static const char *ev_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const double ev_thresholds[] = { 0.5, 0.7, 0.8, 0.9, 0.95 };
#define EV_NTHRESHOLDS (sizeof ev_thresholds / sizeof ev_thresholds[0])
/* confidence bands of 0.1 from HD_TRIAGE_MIN_CONFIDENCE (0.5) up */
#define EV_BANDS 5

/* Per field: the three methods, and the classifier's answers by threshold. */
typedef struct ev_field {
	const char *name;
	ev_score classifier, similar, majority;
	int answered[EV_NTHRESHOLDS], answered_right[EV_NTHRESHOLDS];
	int band_n[EV_BANDS], band_right[EV_BANDS];
	double band_conf[EV_BANDS]; /* sum of the confidences */
} ev_field;

/* Counts an answer in its confidence band. */
static void ev_band(ev_field *f, double confidence, bool right)
{
	int b = (int)((confidence - 0.5) * 10);
	b = b < 0 ? 0 : b >= EV_BANDS ? EV_BANDS - 1 : b;
	f->band_n[b]++;
	f->band_right[b] += right;
	f->band_conf[b] += confidence;
}

static void ev_line(ev_field *f, const cJSON *row)
{
	const char *truth = ev_str(row, f->name);
	if (truth == NULL)
		return;
	hd_triage_prediction p;
	hd_triage_predict(cJSON_GetObjectItemCaseSensitive(
	                      cJSON_GetObjectItemCaseSensitive(row, "model"), f->name),
	    &p);
	ev_count(&f->classifier, truth, p.label);
	ev_count(
	    &f->similar, truth, ev_str(cJSON_GetObjectItemCaseSensitive(row, "similar"), f->name));
	ev_count(&f->majority, truth,
	    ev_str(cJSON_GetObjectItemCaseSensitive(row, "majority"), f->name));
	if (p.label != NULL)
		ev_band(f, p.confidence, strcmp(p.label, truth) == 0);
	for (size_t i = 0; i < EV_NTHRESHOLDS; i++) {
		if (p.label == NULL || p.confidence < ev_thresholds[i])
			continue;
		f->answered[i]++;
		f->answered_right[i] += strcmp(p.label, truth) == 0;
	}
}

static void ev_print_calibration(const ev_field *f)
{
	int answers = 0;
	double gap = 0;
	printf("\nclassifier calibration (its answers by confidence):\n\n"
	       "| confidence | answers | mean confidence | accuracy |\n|---|---|---|---|\n");
	for (int b = 0; b < EV_BANDS; b++) {
		if (f->band_n[b] == 0)
			continue;
		double conf = f->band_conf[b] / f->band_n[b];
		double acc = (double)f->band_right[b] / f->band_n[b];
		printf("| %.1f-%.1f | %d | %.3f | %.3f |\n", 0.5 + b / 10.0, 0.6 + b / 10.0,
		    f->band_n[b], conf, acc);
		answers += f->band_n[b];
		gap += f->band_n[b] * (conf > acc ? conf - acc : acc - conf);
	}
	printf("\nexpected calibration error: %.3f over %d answers\n",
	    answers > 0 ? gap / answers : 0, answers);
}

static void ev_print(const ev_field *f)
{
	const struct {
		const char *name;
		const ev_score *s;
	} rows[] = { { "classifier (naive Bayes, hd/triage.h)", &f->classifier },
		{ "similar solved tickets (ticket_suggestions)", &f->similar },
		{ "majority class of the training split", &f->majority } };
	printf("\n%s, %d held-out tickets:\n\n| method | accuracy | macro-F1 |\n|---|---|---|\n",
	    f->name, f->classifier.n);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		printf("| %s | %.3f | %.3f |\n", rows[i].name,
		    rows[i].s->n > 0 ? (double)rows[i].s->right / rows[i].s->n : 0,
		    ev_macro_f1(rows[i].s));
	printf("\nclassifier answers at a threshold (auto_triage's value):\n\n"
	       "| threshold | coverage | accuracy of the answers |\n|---|---|---|\n");
	for (size_t i = 0; i < EV_NTHRESHOLDS; i++)
		printf("| %.2f | %.3f | %.3f |\n", ev_thresholds[i],
		    f->classifier.n > 0 ? (double)f->answered[i] / f->classifier.n : 0,
		    f->answered[i] > 0 ? (double)f->answered_right[i] / f->answered[i] : 0);
	ev_print_calibration(f);
}

int main(void)
{
	static ev_field fields[2] = { { .name = "category" }, { .name = "priority" } };
	char *line = malloc(EV_LINE_MAX);
	if (line == NULL)
		return 1;
	while (fgets(line, EV_LINE_MAX, stdin) != NULL) {
		cJSON *row = cJSON_Parse(line);
		if (row == NULL) {
			fprintf(stderr, "eval_triage: a line is not JSON\n");
			free(line);
			return 1;
		}
		for (size_t i = 0; i < 2; i++)
			ev_line(&fields[i], row);
		cJSON_Delete(row);
	}
	free(line);
	for (size_t i = 0; i < 2; i++)
		ev_print(&fields[i]);
	return 0;
}
