/* libFuzzer target for the small parsers of outside input the knowledge
 * routes added (libs/src/request.c): If-Match as a version number and the
 * locale of a query or body. Properties: a parsed If-Match is 1 to 9 digits;
 * a valid locale starts with 2 or 3 lower-case letters and has only letters,
 * digits and one - or _. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hd/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), version[HD_IF_MATCH_MAX];
	bool has = false;
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (hd_if_match_parse(s, version, &has) && has) {
		size_t n = strlen(version);
		if (n < 1 || n > 9 || strspn(version, "0123456789") != n)
			abort();
	}
	if (hd_locale_valid(s)) {
		size_t n = strlen(s);
		if (n < 2 || n > 12 || s[0] < 'a' || s[0] > 'z'
		    || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
		        != n
		    || strcspn(s, "-_") < 2)
			abort();
	}
	free(s);
	return 0;
}
