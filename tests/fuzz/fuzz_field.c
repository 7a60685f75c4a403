/* libFuzzer target for the field daemon's readers of outside input
 * (services/field/geo.c): ?near=, ?radius_km=, ?skill= and RFC 3339 times
 * from the query string, and the skills, location and working hours of a
 * JSON body (with libs' hd_hours_read). Checks the invariants every accepted
 * value must hold. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#define FS_PURE_ONLY
#include "field.h"
#include "hd/hours.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_text(const char *s)
{
	fs_point p;
	double v;
	long long ms;
	char skills[FS_SKILLS_JSON_MAX];
	if (fs_near_parse(s, &p) && !fs_point_valid(p.lat, p.lon))
		abort();
	if (fs_positive_parse(s, 100.0, &v) && !(v > 0.0 && v <= 100.0))
		abort();
	if (fs_skill_filter_parse(s, skills, sizeof skills)) {
		cJSON *arr = cJSON_Parse(skills);
		if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1
		    || cJSON_GetArraySize(arr) > FS_SKILLS_MAX)
			abort();
		cJSON_Delete(arr);
	}
	(void)hd_time_parse(s, &ms);
}

static void fuzz_body(const char *s)
{
	hd_field_errors errs = { .count = 0 };
	cJSON *body = cJSON_Parse(s);
	char skills[FS_SKILLS_JSON_MAX];
	fs_point p;
	const char *addr;
	if (body == NULL)
		return;
	if (fs_skills_read(body, "skills", skills, &errs)) {
		cJSON *arr = cJSON_Parse(skills);
		const cJSON *it;
		if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > FS_SKILLS_MAX)
			abort();
		cJSON_ArrayForEach(it, arr)
		{
			if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
				abort();
		}
		cJSON_Delete(arr);
	}
	size_t before = errs.count;
	if (fs_location_read(body, "location", true, &p, &addr, &errs)
	    && (errs.count != before || !fs_point_valid(p.lat, p.lon)))
		abort();
	free(hd_hours_read(body, "working_hours", &errs));
	cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_text(s);
	fuzz_body(s);
	free(s);
	return 0;
}
