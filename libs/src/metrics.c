/* Process-wide metrics registry: families (name, type, help) own series
 * (label string, value or histogram buckets). One mutex guards everything;
 * updates are a short locked lookup. Rendered in the Prometheus text format
 * 0.0.4. The number of families and of series per family is bounded so a
 * label built from outside input cannot exhaust memory. */
#include "hd/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_METRICS_MAX_FAMILIES 256
#define HD_METRICS_MAX_SERIES 2000
#define HD_METRICS_NAME_MAX 128
#define HD_METRICS_LABELS_MAX 256
#define HD_METRICS_BUCKETS 12

static const double hd_metrics_bounds[HD_METRICS_BUCKETS - 1]
    = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

typedef struct hd_metrics_series {
	char labels[HD_METRICS_LABELS_MAX];
	double value; /* counter, gauge; histogram sum */
	uint64_t buckets[HD_METRICS_BUCKETS]; /* histogram, not cumulative; last is +Inf */
	uint64_t count;
} hd_metrics_series;

typedef struct hd_metrics_family {
	char name[HD_METRICS_NAME_MAX];
	char type[16]; /* counter, gauge, histogram or untyped */
	char *help;
	hd_metrics_series *series;
	size_t nseries, cap;
} hd_metrics_family;

static pthread_mutex_t hd_metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static hd_metrics_family hd_metrics_families[HD_METRICS_MAX_FAMILIES];
static size_t hd_metrics_nfamilies;

/* Finds or creates the family; NULL when the registry is full. Locked. */
static hd_metrics_family *hd_metrics_family_get(const char *name, const char *type)
{
	for (size_t i = 0; i < hd_metrics_nfamilies; i++)
		if (strcmp(hd_metrics_families[i].name, name) == 0)
			return &hd_metrics_families[i];
	if (hd_metrics_nfamilies >= HD_METRICS_MAX_FAMILIES || strlen(name) >= HD_METRICS_NAME_MAX)
		return NULL;
	hd_metrics_family *f = &hd_metrics_families[hd_metrics_nfamilies++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->type, sizeof(f->type), "%s", type);
	return f;
}

/* Finds or creates the series; NULL when full or out of memory. Locked. */
static hd_metrics_series *hd_metrics_series_get(hd_metrics_family *f, const char *labels)
{
	if (labels == NULL)
		labels = "";
	for (size_t i = 0; i < f->nseries; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	if (f->nseries >= HD_METRICS_MAX_SERIES || strlen(labels) >= HD_METRICS_LABELS_MAX)
		return NULL;
	if (f->nseries == f->cap) {
		size_t cap = f->cap == 0 ? 8 : f->cap * 2;
		hd_metrics_series *s = realloc(f->series, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		f->series = s;
		f->cap = cap;
	}
	hd_metrics_series *s = &f->series[f->nseries++];
	memset(s, 0, sizeof(*s));
	snprintf(s->labels, sizeof(s->labels), "%s", labels);
	return s;
}

void hd_metrics_describe(const char *name, const char *type, const char *help)
{
	pthread_mutex_lock(&hd_metrics_lock);
	hd_metrics_family *f = hd_metrics_family_get(name, type);
	if (f != NULL) {
		snprintf(f->type, sizeof(f->type), "%s", type);
		char *h = strdup(help != NULL ? help : "");
		if (h != NULL) {
			free(f->help);
			f->help = h;
		}
	}
	pthread_mutex_unlock(&hd_metrics_lock);
}

static void hd_metrics_update(const char *name, const char *labels, double v, int op)
{
	pthread_mutex_lock(&hd_metrics_lock);
	hd_metrics_family *f = hd_metrics_family_get(name, op == 2 ? "histogram" : "untyped");
	hd_metrics_series *s = f != NULL ? hd_metrics_series_get(f, labels) : NULL;
	if (s != NULL && op == 0) {
		s->value += v;
	} else if (s != NULL && op == 1) {
		s->value = v;
	} else if (s != NULL) {
		size_t b = 0;
		while (b < HD_METRICS_BUCKETS - 1 && !(v <= hd_metrics_bounds[b]))
			b++;
		s->buckets[b]++;
		s->count++;
		s->value += v;
	}
	pthread_mutex_unlock(&hd_metrics_lock);
}

void hd_metrics_add(const char *name, const char *labels, double delta)
{
	hd_metrics_update(name, labels, delta, 0);
}

void hd_metrics_set(const char *name, const char *labels, double value)
{
	hd_metrics_update(name, labels, value, 1);
}

void hd_metrics_observe(const char *name, const char *labels, double seconds)
{
	hd_metrics_update(name, labels, seconds, 2);
}

/* ---- rendering ---- */

typedef struct hd_metrics_buf {
	char *s;
	size_t len, cap;
	bool failed;
} hd_metrics_buf;

static void hd_metrics_printf(hd_metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void hd_metrics_printf(hd_metrics_buf *b, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !b->failed; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
		} else if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		} else {
			size_t cap = (b->cap + (size_t)n + 1) * 2;
			char *s = realloc(b->s, cap);
			if (s == NULL)
				b->failed = true;
			b->s = s != NULL ? s : b->s;
			b->cap = cap;
		}
	}
}

static void hd_metrics_number(char out[40], double v)
{
	if (isnan(v))
		snprintf(out, 40, "NaN");
	else if (isinf(v))
		snprintf(out, 40, v > 0 ? "+Inf" : "-Inf");
	else {
		snprintf(out, 40, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, 40, "%.17g", v);
	}
}

/* Prints name{labels[,extra]} value. */
static void hd_metrics_sample(hd_metrics_buf *b, const char *name, const char *suffix,
    const char *labels, const char *extra, double v)
{
	char num[40];
	hd_metrics_number(num, v);
	bool has_labels = labels[0] != '\0', has_extra = extra != NULL;
	if (!has_labels && !has_extra) {
		hd_metrics_printf(b, "%s%s %s\n", name, suffix, num);
		return;
	}
	hd_metrics_printf(b, "%s%s{%s%s%s} %s\n", name, suffix, labels,
	    has_labels && has_extra ? "," : "", has_extra ? extra : "", num);
}

static void hd_metrics_render_histogram(
    hd_metrics_buf *b, const hd_metrics_family *f, const hd_metrics_series *s)
{
	uint64_t cumulative = 0;
	for (size_t i = 0; i < HD_METRICS_BUCKETS; i++) {
		char le[48], num[40];
		cumulative += s->buckets[i];
		if (i < HD_METRICS_BUCKETS - 1)
			hd_metrics_number(num, hd_metrics_bounds[i]);
		else
			snprintf(num, sizeof(num), "+Inf");
		snprintf(le, sizeof(le), "le=\"%s\"", num);
		hd_metrics_sample(b, f->name, "_bucket", s->labels, le, (double)cumulative);
	}
	hd_metrics_sample(b, f->name, "_sum", s->labels, NULL, s->value);
	hd_metrics_sample(b, f->name, "_count", s->labels, NULL, (double)s->count);
}

static void hd_metrics_render_family(hd_metrics_buf *b, const hd_metrics_family *f)
{
	if (f->help != NULL)
		hd_metrics_printf(b, "# HELP %s %s\n", f->name, f->help);
	hd_metrics_printf(b, "# TYPE %s %s\n", f->name, f->type);
	bool histogram = strcmp(f->type, "histogram") == 0;
	for (size_t i = 0; i < f->nseries; i++) {
		if (histogram)
			hd_metrics_render_histogram(b, f, &f->series[i]);
		else
			hd_metrics_sample(
			    b, f->name, "", f->series[i].labels, NULL, f->series[i].value);
	}
}

char *hd_metrics_render(size_t *len_out)
{
	hd_metrics_buf b = { .s = malloc(4096), .len = 0, .cap = 4096, .failed = false };
	if (b.s == NULL)
		return NULL;
	b.s[0] = '\0';
	pthread_mutex_lock(&hd_metrics_lock);
	for (size_t i = 0; i < hd_metrics_nfamilies; i++)
		hd_metrics_render_family(&b, &hd_metrics_families[i]);
	pthread_mutex_unlock(&hd_metrics_lock);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	if (len_out != NULL)
		*len_out = b.len;
	return b.s;
}

void hd_metrics_reset(void)
{
	pthread_mutex_lock(&hd_metrics_lock);
	for (size_t i = 0; i < hd_metrics_nfamilies; i++) {
		free(hd_metrics_families[i].help);
		free(hd_metrics_families[i].series);
	}
	memset(hd_metrics_families, 0, sizeof(hd_metrics_families));
	hd_metrics_nfamilies = 0;
	pthread_mutex_unlock(&hd_metrics_lock);
}
