/* An analytics reply as CSV for spreadsheets (RFC 4180; analytics.h,
 * an_csv_from_json). Numbers are written so that they read back as the
 * same double ("%.17g" unless an integer); null is an empty field. Pure. */
#define AN_PURE_ONLY
#include "analytics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/buf.h"

/* Appends one field, quoted when it must be. */
static void csv_text(hd_buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		hd_buf_puts(b, s);
		return;
	}
	hd_buf_put(b, "\"", 1);
	for (const char *q = strchr(s, '"'); q != NULL; q = strchr(s, '"')) {
		hd_buf_put(b, s, (size_t)(q - s) + 1);
		hd_buf_put(b, "\"", 1); /* a quote is written twice */
		s = q + 1;
	}
	hd_buf_puts(b, s);
	hd_buf_put(b, "\"", 1);
}

static void csv_value(hd_buf *b, const cJSON *v)
{
	char num[40];
	if (cJSON_IsString(v)) {
		csv_text(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			snprintf(num, sizeof num, "%.0f", d);
		else
			snprintf(num, sizeof num, "%.17g", d);
		hd_buf_puts(b, num);
	} else if (cJSON_IsBool(v)) {
		csv_text(b, cJSON_IsTrue(v) ? "true" : "false");
	}
}

/* "metric,value" rows of every scalar under obj, by dotted path. */
static void csv_flatten(hd_buf *b, const cJSON *obj, const char *prefix)
{
	char path[256];
	for (const cJSON *m = obj->child; m != NULL; m = m->next) {
		snprintf(
		    path, sizeof path, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", m->string);
		if (cJSON_IsObject(m)) {
			csv_flatten(b, m, path);
			continue;
		}
		if (cJSON_IsArray(m))
			continue;
		csv_text(b, path);
		hd_buf_put(b, ",", 1);
		csv_value(b, m);
		hd_buf_put(b, "\r\n", 2);
	}
}

/* A header of the first row's member names, then one line per row. */
static void csv_table(hd_buf *b, const cJSON *rows)
{
	const cJSON *first = rows->child;
	if (!cJSON_IsObject(first))
		return;
	for (const cJSON *m = first->child; m != NULL; m = m->next) {
		if (m != first->child)
			hd_buf_put(b, ",", 1);
		csv_text(b, m->string);
	}
	hd_buf_put(b, "\r\n", 2);
	for (const cJSON *row = first; row != NULL; row = row->next) {
		for (const cJSON *m = first->child; m != NULL; m = m->next) {
			if (m != first->child)
				hd_buf_put(b, ",", 1);
			csv_value(b, cJSON_GetObjectItemCaseSensitive(row, m->string));
		}
		hd_buf_put(b, "\r\n", 2);
	}
}

char *an_csv_from_json(const cJSON *reply)
{
	hd_buf b = { 0 };
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(reply, "points");
	if (rows == NULL)
		rows = cJSON_GetObjectItemCaseSensitive(reply, "items");
	if (cJSON_IsArray(rows)) {
		csv_table(&b, rows);
	} else if (cJSON_IsObject(reply)) {
		hd_buf_put(&b, "metric,value\r\n", 14);
		csv_flatten(&b, reply, "");
	}
	if (b.failed || (b.data == NULL && !hd_buf_reserve(&b, 0))) {
		hd_buf_free(&b);
		return NULL;
	}
	b.data[b.len] = '\0';
	return b.data;
}
