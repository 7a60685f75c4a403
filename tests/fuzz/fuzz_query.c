/* libFuzzer target for query strings (libs/src/query.c): parsing, the
 * limit reader, and the bounds every parsed parameter must respect. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/json.h"
#include "hd/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = malloc(size + 1);
	if (raw == NULL)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	hd_query q;
	if (hd_query_parse(raw, &q) == HD_OK) {
		if (q.count > HD_QUERY_MAX_PARAMS)
			abort();
		for (size_t i = 0; i < q.count; i++) {
			const hd_query_param *p = &q.params[i];
			size_t vlen = strlen(p->value);
			if (p->key[0] == '\0' || strlen(p->key) >= sizeof(p->key)
			    || vlen > HD_QUERY_MAX_VALUE || !hd_utf8_valid(p->value, vlen)
			    || hd_query_get(&q, p->key) != p->value)
				abort();
		}
		int limit = 0;
		if (hd_query_limit(&q, &limit) == HD_OK && (limit < 1 || limit > 100))
			abort();
	} else if (q.count != 0) {
		abort();
	}
	free(raw);
	return 0;
}
