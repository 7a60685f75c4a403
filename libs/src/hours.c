/* Weekly hours (hd/hours.h): validation of the shape shared by SLA business
 * hours and technicians' working hours. */
#include <stdio.h>
#include <string.h>
#include "hd/hours.h"
#include "hd/json.h"

/* Parses "HH:MM" (00:00..24:00) into minutes; -1 when malformed. */
static int hours_minutes(const cJSON *v)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	if (strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789:") != 5)
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* Validates one day's windows (sorted, disjoint, start < end); returns their count or -1. */
static int hours_day(const cJSON *day)
{
	const cJSON *w;
	int n = 0, last_end = -1;
	if (!cJSON_IsArray(day) || cJSON_GetArraySize(day) > HD_HOURS_MAX_WINDOWS)
		return -1;
	cJSON_ArrayForEach(w, day)
	{
		if (!cJSON_IsArray(w) || cJSON_GetArraySize(w) != 2)
			return -1;
		int a = hours_minutes(cJSON_GetArrayItem(w, 0)),
		    b = hours_minutes(cJSON_GetArrayItem(w, 1));
		if (a < 0 || b <= a || a < last_end)
			return -1;
		last_end = b;
		n++;
	}
	return n;
}

char *hd_hours_read(const cJSON *obj, const char *member, hd_field_errors *errs)
{
	static const char *const known[] = { "timezone", "days", NULL };
	static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
	const cJSON *bh = cJSON_GetObjectItemCaseSensitive(obj, member), *d;
	const char *tz = NULL;
	hd_field_errors local = { .count = 0 };
	int windows = 0;
	if (bh == NULL || cJSON_IsNull(bh))
		return NULL;
	if (!cJSON_IsObject(bh)) {
		hd_field_errors_add(errs, member, "must be an object {timezone, days}");
		return NULL;
	}
	hd_json_reject_unknown(bh, known, &local);
	hd_json_get_string(bh, "timezone", true, 1, HD_HOURS_TZ_MAX, &tz, &local);
	const cJSON *dayobj = cJSON_GetObjectItemCaseSensitive(bh, "days");
	if (!cJSON_IsObject(dayobj))
		hd_field_errors_add(&local, "days", "must be an object keyed by mon..sun");
	hd_json_reject_unknown(dayobj, days, &local);
	cJSON_ArrayForEach(d, dayobj)
	{
		int n = hours_day(d);
		if (n < 0)
			hd_field_errors_add(&local, "days",
			    "each day is a list of up to 4 sorted, disjoint [\"HH:MM\",\"HH:MM\"] "
			    "windows");
		windows += n > 0 ? n : 0;
	}
	if (local.count == 0 && windows == 0)
		hd_field_errors_add(&local, "days", "must hold at least one window");
	for (size_t i = 0; i < local.count; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%.20s.%.40s", member, local.items[i].field);
		hd_field_errors_add(errs, name, local.items[i].message);
	}
	return local.count == 0 ? hd_json_print(bh, NULL) : NULL;
}
