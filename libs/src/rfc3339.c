/* RFC 3339 times from outside (hd/rfc3339.h): strict parsing to Unix
 * milliseconds, no locale and no time zone database. */
#include "hd/rfc3339.h"

#include <ctype.h>
#include <string.h>

/* Reads n digits at s into *out; false when any is not a digit. */
static bool time_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long long time_days(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool time_date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

bool hd_time_parse(const char *s, long long *epoch_ms)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, ms = 0;
	size_t len = s != NULL ? strlen(s) : 0;
	if (len < 20 || !time_digits(s, 4, &y) || s[4] != '-' || !time_digits(s + 5, 2, &mo)
	    || s[7] != '-' || !time_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't')
	    || !time_digits(s + 11, 2, &h) || s[13] != ':' || !time_digits(s + 14, 2, &mi)
	    || s[16] != ':' || !time_digits(s + 17, 2, &se))
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		int n = 0;
		for (p++; isdigit((unsigned char)*p); p++, n++)
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		if (n == 0 || n > 9)
			return false;
		for (; n < 3; n++)
			ms *= 10;
	}
	int sign = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && time_digits(p + 1, 2, &oh)
	    && p[3] == ':' && time_digits(p + 4, 2, &om) && oh < 24 && om < 60) {
		sign = *p == '+' ? 1 : -1;
	} else {
		return false;
	}
	if (!time_date_valid(y, mo, d) || h > 23 || mi > 59 || se > 59)
		return false;
	long long secs = time_days(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se
	    - sign * (oh * 3600LL + om * 60LL);
	*epoch_ms = secs * 1000LL + ms;
	return true;
}
