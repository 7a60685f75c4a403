/* The API's ticket object, written in C from plain columns (TK_TICKET_COLS)
 * for the read paths (GET one, the list). The output is byte for byte what
 * the SQL function ticket.ticket_json(t)::text gives (001_init.sql), so a
 * ticket reads the same whichever path produced it: json_build_object's
 * members and values in the same order, made compact as every reply is
 * (hd_json_compact: no ", " nor " : "), escape_json's escaping (\b \f \n \r \t \" \\
 * and \u00xx for the other control characters, everything else verbatim:
 * PostgreSQL text is valid UTF-8), array_to_json's "[...]" for tags, and
 * to_char(... 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') for times (milliseconds
 * truncated, NULL for an infinite time). Times come as extract(epoch ...)
 * text, exact to the microsecond and independent of the session's TimeZone
 * and DateStyle; the calendar arithmetic is proleptic Gregorian, as
 * PostgreSQL's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "hd/log.h"
#include "ticket.h"

/* The escape of byte c as escape_json writes it, or NULL when c is copied. */
static const char *tk_json_escape(unsigned char c, char tmp[8])
{
	switch (c) {
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	default:
		break;
	}
	if (c >= 0x20)
		return NULL;
	snprintf(tmp, 8, "\\u%04x", c);
	return tmp;
}

/* Appends s[0..n) as a JSON string, copying runs that need no escape whole. */
static void tk_json_str_n(hd_buf *b, const char *s, size_t n)
{
	char tmp[8];
	size_t run = 0;
	hd_buf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') /* the common case, no call */
			continue;
		const char *esc = tk_json_escape(c, tmp);
		if (esc == NULL)
			continue;
		hd_buf_put(b, s + run, i - run);
		hd_buf_puts(b, esc);
		run = i + 1;
	}
	hd_buf_put(b, s + run, n - run);
	hd_buf_put(b, "\"", 1);
}

/* Reads extract(epoch ...) text ("-12.345678", at most 6 decimals) into
 * microseconds; false for "Infinity", "-Infinity" and anything malformed. */
static bool tk_epoch_us(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	int64_t sec = 0, frac = 0;
	int ndig = 0, nfrac = 0;
	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++, ndig++) {
		if (ndig >= 15) /* PostgreSQL's range is < 10^13 s */
			return false;
		sec = sec * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if (nfrac >= 6)
				return false;
			frac = frac * 10 + (*s - '0');
		}
	}
	if (ndig == 0 || *s != '\0')
		return false;
	for (; nfrac < 6; nfrac++)
		frac *= 10;
	*out = (sec * 1000000 + frac) * (neg ? -1 : 1);
	return true;
}

/* Floor division (C's "/" truncates toward zero). */
static int64_t tk_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 to the proleptic Gregorian y-m-d (H. Hinnant's civil_from_days). */
static void tk_civil(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = tk_floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Writes v as n decimal digits (zero-padded) at p. */
static void tk_put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" for a year 1..9999. */
static void tk_ts_digits(char *out, int y, int mo, int d, int sod, int millis)
{
	memcpy(out, "0000-00-00T00:00:00.000Z", 25);
	tk_put_digits(out, y, 4);
	tk_put_digits(out + 5, mo, 2);
	tk_put_digits(out + 8, d, 2);
	tk_put_digits(out + 11, sod / 3600, 2);
	tk_put_digits(out + 14, sod / 60 % 60, 2);
	tk_put_digits(out + 17, sod % 60, 2);
	tk_put_digits(out + 20, millis, 3);
}

bool tk_ts_format(const char *epoch, char out[TK_TS_MAX])
{
	int64_t us, y;
	int mo, d;
	if (epoch == NULL || !tk_epoch_us(epoch, &us))
		return false;
	int64_t ms = tk_floor_div(us, 1000); /* to_char's MS truncates */
	int64_t secs = tk_floor_div(ms, 1000);
	int64_t days = tk_floor_div(secs, 86400);
	int64_t sod = secs - days * 86400;
	tk_civil(days, &y, &mo, &d);
	int millis = (int)(ms - secs * 1000);
	if (y >= 1 && y <= 9999) { /* every real ticket: digits by hand, no printf */
		tk_ts_digits(out, (int)y, mo, d, (int)sod, millis);
		return true;
	}
	/* to_char's YYYY: at least 4 digits, a year BC as its positive number */
	snprintf(out, TK_TS_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
	    (long long)(y <= 0 ? 1 - y : y), (unsigned char)mo, (unsigned char)d,
	    (unsigned char)(sod / 3600), (unsigned char)(sod / 60 % 60), (unsigned char)(sod % 60),
	    (unsigned short)millis);
	return true;
}

/* Days from 1970-01-01 to the proleptic Gregorian y-m-d (Hinnant's days_from_civil). */
static int64_t tk_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = tk_floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits at s as a number; -1 when one is not a digit. */
static int tk_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool tk_ts_parse_ms(const char *ts, int64_t *epoch_ms)
{
	static const char shape[] = "0000-00-00T00:00:00.000Z";
	if (ts == NULL || strlen(ts) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == '0' ? !(ts[i] >= '0' && ts[i] <= '9') : ts[i] != shape[i])
			return false;
	int y = tk_digits(ts, 4), mo = tk_digits(ts + 5, 2), d = tk_digits(ts + 8, 2);
	int h = tk_digits(ts + 11, 2), mi = tk_digits(ts + 14, 2), s = tk_digits(ts + 17, 2);
	int ms = tk_digits(ts + 20, 3);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || ms < 0)
		return false;
	int64_t days = tk_days_from_civil(y, mo, d);
	*epoch_ms = ((days * 86400 + h * 3600 + mi * 60 + s) * 1000) + ms;
	return true;
}

/* Appends a time column as a JSON string, or null for an infinite time (as
 * to_char gives); false when epoch is malformed. */
static bool tk_json_ts(hd_buf *b, const char *epoch)
{
	char ts[TK_TS_MAX];
	if (!tk_ts_format(epoch, ts)) {
		if (strcmp(epoch, "Infinity") != 0 && strcmp(epoch, "-Infinity") != 0)
			return false;
		hd_buf_put(b, "null", 4);
		return true;
	}
	hd_buf_put(b, "\"", 1);
	hd_buf_puts(b, ts);
	hd_buf_put(b, "\"", 1);
	return true;
}

/* Appends one element of PostgreSQL's array text format starting at *p as
 * JSON and moves *p past it: "..." with \-escapes, or bare text up to the
 * next ',' or '}' (NULL, any case, is SQL NULL). False when malformed. */
static bool tk_pg_elem(hd_buf *b, const char **p, hd_buf *tmp)
{
	const char *s = *p;
	if (*s != '"') {
		size_t n = strcspn(s, ",}");
		if (n == 0 || s[n] == '\0')
			return false;
		if (n == 4 && strncasecmp(s, "NULL", 4) == 0)
			hd_buf_put(b, "null", 4);
		else
			tk_json_str_n(b, s, n);
		*p = s + n;
		return true;
	}
	tmp->len = 0;
	for (s++; *s != '"'; s++) {
		if (*s == '\\')
			s++;
		if (*s == '\0')
			return false;
		hd_buf_put(tmp, s, 1);
	}
	tk_json_str_n(b, tmp->data != NULL ? tmp->data : "", tmp->len);
	*p = s + 1;
	return true;
}

bool tk_pg_array_json(hd_buf *b, const char *arr)
{
	hd_buf tmp = { 0 };
	const char *s = arr;
	bool ok = false;
	if (s[0] == '[') /* "[lo:hi]=" when the lower bound is not 1 */
		s = strchr(s, '=') != NULL ? strchr(s, '=') + 1 : s;
	int depth = 0;
	while (*s != '\0') {
		if (*s == '{') {
			hd_buf_put(b, "[", 1);
			depth++;
			s++;
			continue;
		}
		if (depth == 0)
			goto out;
		if (*s == '}') {
			hd_buf_put(b, "]", 1);
			depth--;
			s++;
		} else if (*s == ',') {
			hd_buf_put(b, ",", 1);
			s++;
		} else if (!tk_pg_elem(b, &s, &tmp)) {
			goto out;
		}
		if (depth == 0 && *s != '\0')
			goto out;
	}
	ok = depth == 0 && s != arr;
out:
	hd_buf_free(&tmp);
	return ok && !b->failed;
}

/* How a column is written. */
typedef enum tk_kind { TK_STR, TK_NUM, TK_BOOL, TK_TS, TK_TAGS } tk_kind;

/* The object's members in TK_TICKET_COLS order: what precedes the value
 * (json_build_object's separators), and the value's kind. */
static const struct tk_member {
	const char *before;
	tk_kind kind;
} tk_members[TK_TICKET_NCOLS] = {
	{ "{\"id\":", TK_STR },
	{ ",\"number\":", TK_NUM },
	{ ",\"subject\":", TK_STR },
	{ ",\"description\":", TK_STR },
	{ ",\"status\":", TK_STR },
	{ ",\"priority\":", TK_STR },
	{ ",\"category\":", TK_STR },
	{ ",\"tags\":", TK_TAGS },
	{ ",\"requester_id\":", TK_STR },
	{ ",\"assignee_id\":", TK_STR },
	{ ",\"created_at\":", TK_TS },
	{ ",\"updated_at\":", TK_TS },
	{ ",\"first_response_at\":", TK_TS },
	{ ",\"solved_at\":", TK_TS },
	{ ",\"merged_into\":", TK_STR },
	{ ",\"time_spent_minutes\":", TK_NUM },
	{ ",\"satisfaction\":", TK_STR },
	{ ",\"sla\":{\"first_response_due\":", TK_TS },
	{ ",\"resolution_due\":", TK_TS },
	{ ",\"breached\":", TK_BOOL },
	{ "},\"version\":", TK_NUM },
	{ ",\"sentiment\":", TK_NUM },
};

/* Appends one non-NULL value; false when it is not of its kind. */
static bool tk_json_value(hd_buf *b, tk_kind kind, const char *v)
{
	switch (kind) {
	case TK_STR:
		tk_json_str_n(b, v, strlen(v));
		return true;
	case TK_TS:
		return tk_json_ts(b, v);
	case TK_TAGS:
		return tk_pg_array_json(b, v);
	case TK_BOOL:
		if (strcmp(v, "t") != 0 && strcmp(v, "f") != 0)
			return false;
		hd_buf_puts(b, v[0] == 't' ? "true" : "false");
		return true;
	case TK_NUM:
		if (v[strspn(v, "-0123456789")] != '\0' || v[0] == '\0')
			return false;
		hd_buf_puts(b, v);
		return true;
	}
	return false;
}

bool tk_ticket_json_write(hd_buf *b, const char *const *cols)
{
	size_t need = 700;
	for (int i = 0; i < TK_TICKET_NCOLS; i++)
		need += tk_members[i].kind == TK_STR && cols[i] != NULL ? strlen(cols[i]) : 0;
	if (!hd_buf_reserve(b, need + need / 8))
		return false;
	for (int i = 0; i < TK_TICKET_NCOLS; i++) {
		hd_buf_puts(b, tk_members[i].before);
		if (cols[i] == NULL)
			hd_buf_put(b, "null", 4);
		else if (!tk_json_value(b, tk_members[i].kind, cols[i]))
			return false;
	}
	hd_buf_put(b, "}", 1);
	return !b->failed;
}

bool tk_ticket_json_row(hd_buf *b, const hd_db_result *res, int stmt, int row)
{
	const char *cols[TK_TICKET_NCOLS];
	for (int i = 0; i < TK_TICKET_NCOLS; i++)
		cols[i] = hd_db_result_value(res, stmt, row, i);
	return tk_ticket_json_write(b, cols);
}

void tk_ticket_json_failed(hd_rpc_request *req)
{
	hd_log_fields(HD_LOG_ERROR, "ticket row malformed or out of memory", NULL);
	hd_reply_problem(req, 500, HD_TEXT_INTERNAL);
}
