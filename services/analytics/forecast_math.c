/* Forecasts of a daily series (analytics.h, an_forecast_fit): additive
 * Holt-Winters with a weekly season when the history holds two weeks,
 * simple exponential smoothing below that. The smoothing constants are
 * chosen on a grid by the one-step squared error; the prediction intervals
 * use the residuals' standard deviation and the h-step variance factors of
 * the additive models (Hyndman et al., "Forecasting with Exponential
 * Smoothing", table 6.1: class 1 models). Pure: no I/O, no allocation. */
#define AN_PURE_ONLY
#include "analytics.h"

#include <math.h>
#include <string.h>

/* One pass of additive Holt-Winters over y with the given constants: the sum
 * of squared one-step errors (from the second season on) and how many; the
 * final level, trend and seasons in *l, *b and s[AN_SEASON] (indexed by
 * t mod AN_SEASON). */
static double hw_run(const double *y, size_t n, double a, double bt, double g, double *l, double *b,
    double s[AN_SEASON], size_t *count)
{
	double m1 = 0, m2 = 0;
	for (size_t i = 0; i < AN_SEASON; i++) {
		m1 += y[i];
		m2 += y[i + AN_SEASON];
	}
	m1 /= AN_SEASON;
	m2 /= AN_SEASON;
	/* start half a season before the first point: level and trend of week 1 */
	double level = m1 - (m2 - m1) / AN_SEASON * (AN_SEASON + 1) / 2.0;
	double trend = (m2 - m1) / AN_SEASON;
	for (size_t i = 0; i < AN_SEASON; i++)
		s[i] = y[i] - (m1 + trend * ((double)i - (AN_SEASON - 1) / 2.0));
	double sse = 0;
	*count = 0;
	for (size_t t = 0; t < n; t++) {
		size_t k = t % AN_SEASON;
		double e = y[t] - (level + trend + s[k]);
		if (t >= AN_SEASON) {
			sse += e * e;
			(*count)++;
		}
		double prev = level;
		level = a * (y[t] - s[k]) + (1 - a) * (level + trend);
		trend = bt * (level - prev) + (1 - bt) * trend;
		s[k] = g * (y[t] - level) + (1 - g) * s[k];
	}
	*l = level;
	*b = trend;
	return sse;
}

static void hw_fit(const double *y, size_t n, size_t horizon, double z, an_fit *fc, double *value,
    double *low, double *high)
{
	static const double alphas[] = { 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9 };
	static const double betas[] = { 0.0, 0.01, 0.05, 0.1, 0.2 };
	static const double gammas[] = { 0.01, 0.05, 0.1, 0.2, 0.3, 0.5 };
	double best = INFINITY, l, b, s[AN_SEASON];
	size_t count = 0;
	for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++)
		for (size_t j = 0; j < sizeof betas / sizeof betas[0]; j++)
			for (size_t k = 0; k < sizeof gammas / sizeof gammas[0]; k++) {
				double sse = hw_run(
				    y, n, alphas[i], betas[j], gammas[k], &l, &b, s, &count);
				if (sse < best) {
					best = sse;
					fc->alpha = alphas[i];
					fc->beta = betas[j];
					fc->gamma = gammas[k];
				}
			}
	hw_run(y, n, fc->alpha, fc->beta, fc->gamma, &l, &b, s, &count);
	/* three constants were fitted on count residuals */
	fc->sigma = sqrt(best / (double)(count > 3 ? count - 3 : 1));
	fc->method = "holt_winters_additive";
	double factor = 0; /* sum of c_j^2 for j < h */
	for (size_t h = 1; h <= horizon; h++) {
		if (h > 1) {
			double j = (double)(h - 1);
			double c = fc->alpha * (1 + j * fc->beta)
			    + ((h - 1) % AN_SEASON == 0 ? fc->gamma : 0.0);
			factor += c * c;
		}
		double v = l + (double)h * b + s[(n + h - 1) % AN_SEASON];
		double w = z * fc->sigma * sqrt(1 + factor);
		value[h - 1] = v;
		low[h - 1] = v - w;
		high[h - 1] = v + w;
	}
}

/* Simple exponential smoothing: level only, flat forecast. */
static void ses_fit(const double *y, size_t n, size_t horizon, double z, an_fit *fc, double *value,
    double *low, double *high)
{
	double best = INFINITY, best_level = y[0];
	for (int i = 1; i <= 19; i++) {
		double a = i * 0.05, level = y[0], sse = 0;
		for (size_t t = 1; t < n; t++) {
			double e = y[t] - level;
			sse += e * e;
			level += a * e;
		}
		if (sse < best) {
			best = sse;
			best_level = level;
			fc->alpha = a;
		}
	}
	double mean = 0;
	for (size_t t = 0; t < n; t++)
		mean += y[t];
	mean /= (double)n;
	/* too few residuals to estimate from: a count's Poisson spread */
	fc->sigma = n >= 3 ? sqrt(best / (double)(n - 2)) : sqrt(mean > 1 ? mean : 1);
	fc->method = "simple_exponential_smoothing";
	for (size_t h = 1; h <= horizon; h++) {
		double w = z * fc->sigma * sqrt(1 + (double)(h - 1) * fc->alpha * fc->alpha);
		value[h - 1] = best_level;
		low[h - 1] = best_level - w;
		high[h - 1] = best_level + w;
	}
}

void an_forecast_fit(const double *y, size_t n, size_t horizon, double z, an_fit *fc, double *value,
    double *low, double *high)
{
	memset(fc, 0, sizeof *fc);
	if (n >= 2 * AN_SEASON) {
		hw_fit(y, n, horizon, z, fc, value, low, high);
	} else if (n >= 1) {
		ses_fit(y, n, horizon, z, fc, value, low, high);
	} else {
		fc->method = "none";
		for (size_t h = 0; h < horizon; h++)
			value[h] = low[h] = high[h] = 0;
	}
	for (size_t h = 0; h < horizon; h++) {
		value[h] = value[h] > 0 ? value[h] : 0;
		low[h] = low[h] > 0 ? low[h] : 0;
		high[h] = high[h] > value[h] ? high[h] : value[h];
	}
}
