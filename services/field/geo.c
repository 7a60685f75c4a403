/* Pure readers of field-service input (field.h): points, ?near=,
 * skills, times. No database, no daemon: unit-tested and fuzzed alone
 * (tests/unit/test_field_geo.c, tests/fuzz/fuzz_field.c). */
#define FS_PURE_ONLY
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "field.h"
#include "hd/json.h"

bool fs_point_valid(double lat, double lon)
{
	return lat >= -90.0 && lat <= 90.0 && lon >= -180.0 && lon <= 180.0;
}

/* Parses a plain decimal ([-+]digits[.digits]) of s[0..len); no exponent,
 * no hex, no inf/nan, no white space. */
static bool fs_decimal(const char *s, size_t len, double *out)
{
	char buf[40];
	size_t i = 0, digits = 0;
	if (len == 0 || len >= sizeof buf)
		return false;
	if (s[0] == '-' || s[0] == '+')
		i++;
	for (; i < len && isdigit((unsigned char)s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && isdigit((unsigned char)s[i]); i++)
			digits++;
	if (i != len || digits == 0)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, NULL);
	return errno == 0 && isfinite(*out);
}

bool fs_near_parse(const char *s, fs_point *out)
{
	const char *comma = s != NULL ? strchr(s, ',') : NULL;
	if (comma == NULL)
		return false;
	double lat, lon;
	if (!fs_decimal(s, (size_t)(comma - s), &lat)
	    || !fs_decimal(comma + 1, strlen(comma + 1), &lon) || !fs_point_valid(lat, lon))
		return false;
	out->lat = lat;
	out->lon = lon;
	return true;
}

bool fs_positive_parse(const char *s, double max, double *out)
{
	double v;
	if (s == NULL || !fs_decimal(s, strlen(s), &v) || !(v > 0.0) || v > max)
		return false;
	*out = v;
	return true;
}

bool fs_skill_normalise(const char *in, char *out, size_t out_size)
{
	size_t len = strlen(in);
	while (len > 0 && isspace((unsigned char)in[0])) {
		in++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)in[len - 1]))
		len--;
	if (len == 0 || len >= out_size)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch < 0x20 || ch == 0x7f || ch == ',')
			return false;
		out[i] = (char)tolower(ch);
	}
	out[len] = '\0';
	size_t chars = hd_utf8_length(out);
	return chars != (size_t)-1 && chars >= 1 && chars <= FS_SKILL_CHARS;
}

static int fs_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes the n skills (sorted here, duplicates dropped) as a JSON array. */
static bool fs_skills_json(char **skills, size_t n, char *out, size_t out_size)
{
	qsort(skills, n, sizeof(*skills), fs_strcmp);
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr != NULL && i < n; i++)
		if (i == 0 || strcmp(skills[i], skills[i - 1]) != 0)
			cJSON_AddItemToArray(arr, cJSON_CreateString(skills[i]));
	char *json = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
	bool ok = json != NULL && strlen(json) < out_size;
	if (ok)
		strcpy(out, json);
	cJSON_free(json);
	cJSON_Delete(arr);
	return ok;
}

typedef struct fs_skill_set {
	char names[FS_SKILLS_MAX][FS_SKILL_CHARS * 4 + 1];
	char *ptrs[FS_SKILLS_MAX];
	size_t n;
} fs_skill_set;

bool fs_skills_read(const cJSON *body, const char *key, char *out, hd_field_errors *errs)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, key), *v;
	fs_skill_set set;
	if (arr == NULL)
		return false;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > FS_SKILLS_MAX) {
		hd_field_errors_add(errs, key, "must be an array of at most 32 skills");
		return false;
	}
	set.n = 0;
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v)
		    || !fs_skill_normalise(v->valuestring, set.names[set.n], sizeof set.names[0])) {
			hd_field_errors_add(errs, key,
			    "each skill is a string of 1 to 64 characters, no commas or control "
			    "characters");
			return false;
		}
		set.ptrs[set.n] = set.names[set.n];
		set.n++;
	}
	if (!fs_skills_json(set.ptrs, set.n, out, FS_SKILLS_JSON_MAX)) {
		hd_field_errors_add(errs, key, "could not be stored");
		return false;
	}
	return true;
}

bool fs_skill_filter_parse(const char *s, char *out, size_t out_size)
{
	fs_skill_set set;
	char item[FS_SKILL_CHARS * 4 + 2];
	set.n = 0;
	for (const char *p = s;; p++) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len >= sizeof item || set.n == FS_SKILLS_MAX)
			return false;
		memcpy(item, p, len);
		item[len] = '\0';
		if (!fs_skill_normalise(item, set.names[set.n], sizeof set.names[0]))
			return false;
		set.ptrs[set.n] = set.names[set.n];
		set.n++;
		if (end == NULL)
			break;
		p = end;
	}
	return fs_skills_json(set.ptrs, set.n, out, out_size);
}

/* Reads one coordinate member; false with an error naming "<key>.<name>". */
static bool fs_coord(const cJSON *loc, const char *key, const char *name, double lo, double hi,
    double *out, hd_field_errors *errs)
{
	char field[64];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(loc, name);
	snprintf(field, sizeof field, "%s%s%s", key, key[0] != '\0' ? "." : "", name);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo
	    || v->valuedouble > hi) {
		char msg[64];
		snprintf(msg, sizeof msg, "is required, a number from %g to %g", lo, hi);
		hd_field_errors_add(errs, field, msg);
		return false;
	}
	*out = v->valuedouble;
	return true;
}

bool fs_location_read(const cJSON *body, const char *key, bool address_ok, fs_point *p,
    const char **address, hd_field_errors *errs)
{
	static const char *const known_addr[] = { "lat", "lon", "address", NULL };
	static const char *const known[] = { "lat", "lon", NULL };
	const cJSON *loc = key[0] != '\0' ? cJSON_GetObjectItemCaseSensitive(body, key) : body;
	size_t before = errs->count;
	*address = NULL;
	if (!cJSON_IsObject(loc)) {
		hd_field_errors_add(errs, key, "is required, an object {lat, lon}");
		return false;
	}
	hd_field_errors local = { .count = 0 };
	hd_json_reject_unknown(loc, address_ok ? known_addr : known, &local);
	for (size_t i = 0; i < local.count; i++) {
		char field[64];
		snprintf(field, sizeof field, "%s%s%.40s", key, key[0] != '\0' ? "." : "",
		    local.items[i].field);
		hd_field_errors_add(errs, field, local.items[i].message);
	}
	fs_coord(loc, key, "lat", -90.0, 90.0, &p->lat, errs);
	fs_coord(loc, key, "lon", -180.0, 180.0, &p->lon, errs);
	if (address_ok) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(loc, "address");
		size_t n = cJSON_IsString(a) ? hd_utf8_length(a->valuestring) : 0;
		if (a != NULL && !cJSON_IsNull(a) && (n < 1 || n > 500 || n == (size_t)-1)) {
			char field[64];
			snprintf(field, sizeof field, "%s.address", key);
			hd_field_errors_add(errs, field, "must be a string of 1 to 500 characters");
		} else if (cJSON_IsString(a)) {
			*address = a->valuestring;
		}
	}
	return errs->count == before;
}

long fs_eta_minutes(double km, double speed_kmh)
{
	if (!(km > 0.0) || !(speed_kmh > 0.0))
		return 0;
	return (long)ceil(km / speed_kmh * 60.0);
}
