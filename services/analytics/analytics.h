/* hd-analytics' internal contract (docs/architecture.md "Analytics"): the
 * operation handlers (reports.c, forecast.c, settings.c), the pure modules
 * they use (forecast_math.c: Holt-Winters and exponential smoothing;
 * csv.c: a reply as RFC 4180 CSV), and the helpers they share (common.c).
 * Handlers run on a worker thread, one request at a time; the figures are
 * SQL functions of the analytics schema (sql/R_reports.sql). */
#ifndef HD_ANALYTICS_H
#define HD_ANALYTICS_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

/* ---- pure modules (unit-tested, no daemon needed) ---- */

/* A forecast of horizon points after the series y[0..n) (one value a day),
 * with a central prediction interval of level given by z (1.96: 95 %).
 * method: "holt_winters_additive" (weekly season) when n >= 2 weeks,
 * "simple_exponential_smoothing" when 1 <= n < 2 weeks, "none" when n == 0
 * (zeros). Smoothing constants minimise the one-step squared error on y;
 * the intervals come from those residuals. Counts cannot go below zero, so
 * value and low are clamped at 0. value, low and high hold horizon doubles. */
#define AN_SEASON 7
typedef struct an_fit {
	const char *method;
	double alpha, beta, gamma; /* the constants chosen (0 when unused) */
	double sigma; /* residual standard deviation */
} an_fit;
void an_forecast_fit(const double *y, size_t n, size_t horizon, double z, an_fit *fc, double *value,
    double *low, double *high);

/* The CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma,
 * quote or line break) of an analytics reply: the rows of its "points" or
 * "items" array under a header of the first row's member names, or, for an
 * object without such an array (the summary), "metric,value" rows of every
 * scalar member by its dotted path. Null is an empty field. Returns a
 * malloc'ed NUL-terminated text (caller frees), NULL on ENOMEM. */
char *an_csv_from_json(const cJSON *reply);

#ifndef AN_PURE_ONLY
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/ops.h"
#include "hd/problem.h"
#include "hd/query.h"

/* Operation handlers: one per `analytics` line of proto/operations.def. */
#define HD_OPS_analytics HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* The consumed sources: their positions, as_of and lag (main.c). */
extern const char *const an_sources[];

/* Replies 200 with json (a compact object) and "as_of" first in it, as
 * JSON or, when the request's Accept names text/csv, as CSV (an
 * "analytics-as-of" header then carries as_of). */
void an_report_json(hd_rpc_request *req, const char *json);
/* hd_db_cb replying an_report_json of column 0 of the last statement (arg:
 * the request). */
void an_report_cb(hd_err err, const hd_db_result *res, void *arg);
/* Writes the window of ?from= and ?to= (RFC 3339; default: the 30 days up
 * to now) as RFC 3339 UTC into from and to; adds errors naming the
 * parameter (from after to, more than max_days apart). */
#define AN_TIME_MAX 32
void an_window_read(const hd_query *q, long long max_days, char from[AN_TIME_MAX],
    char to[AN_TIME_MAX], long long *span_ms, hd_field_errors *errs);
/* The metric names of the timeseries and forecast routes, NULL-ended. */
extern const char *const an_metrics[];
#endif

#endif
