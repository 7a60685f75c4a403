/* A process-wide metrics registry rendered in Prometheus text format.
 * Counters, gauges and fixed-bucket histograms, each identified by name plus
 * an optional label string like `route="/v1/auth/me",status="200"`.
 * All functions are thread-safe. */
#ifndef HD_METRICS_H
#define HD_METRICS_H
#include <stddef.h>
#include <stdint.h>

/* Declares a metric family (once, at start-up): type is "counter", "gauge" or "histogram". */
void hd_metrics_describe(const char *name, const char *type, const char *help);
/* Adds delta to the counter or gauge (name, labels); labels may be NULL or "". */
void hd_metrics_add(const char *name, const char *labels, double delta);
/* Sets a gauge. */
void hd_metrics_set(const char *name, const char *labels, double value);
/* Records one observation (in seconds) into the histogram (name, labels). */
void hd_metrics_observe(const char *name, const char *labels, double seconds);
/* Renders every metric; returns a malloc'ed string (caller frees), NULL on ENOMEM. */
char *hd_metrics_render(size_t *len_out);
/* Forgets every metric (tests). */
void hd_metrics_reset(void);

#endif
