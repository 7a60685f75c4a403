/* libFuzzer target for the strict JSON reader (libs/src/json.c): parsing
 * arbitrary bytes, the typed getters on whatever parsed, and the invariant
 * that what we print from a strictly parsed document parses again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_json_getters(const cJSON *root)
{
	static const char *const keys[] = { "a", "name", "n", "role", "", NULL };
	static const char *const roles[] = { "admin", "agent", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *s = NULL;
	int64_t i = 0;
	bool b = false;
	for (size_t k = 0; keys[k] != NULL; k++) {
		if (hd_json_get_string(root, keys[k], true, 1, 16, &s, &errs)
		    && (hd_utf8_length(s) < 1 || hd_utf8_length(s) > 16))
			abort();
		if (hd_json_get_int(root, keys[k], false, -1000, 1000, &i, &errs)
		    && (i < -1000 || i > 1000))
			abort();
		(void)hd_json_get_bool(root, keys[k], false, &b, &errs);
		(void)hd_json_get_enum(root, keys[k], false, roles, &s, &errs);
	}
	hd_json_reject_unknown(root, keys, &errs);
	if (errs.count > HD_PROBLEM_MAX_FIELD_ERRORS)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = NULL;
	char why[128];
	if (hd_json_parse((const char *)data, size, &root, why) != HD_OK) {
		if (root != NULL || memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return 0;
	}
	if (!hd_utf8_valid((const char *)data, size))
		abort();
	fuzz_json_getters(root);
	size_t len = 0;
	char *printed = hd_json_print(root, &len);
	if (printed != NULL) {
		cJSON *again = NULL;
		if (hd_json_parse(printed, len, &again, why) != HD_OK)
			abort();
		cJSON_Delete(again);
		free(printed);
	}
	cJSON_Delete(root);
	return 0;
}
