/* libFuzzer target for keyset pages (libs/src/page.c): a query string's
 * ?limit= and ?cursor= as hd_page_read takes them from outside. Whatever the
 * input, the page is sane: limit 1..100 and fetch = limit + 1; a cursor it
 * accepts holds a valid time and UUID, and writing it back and reading it
 * again gives the same bound. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hd/page.h"
#include "hd/uuid.h"

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
		hd_page p, again;
		hd_field_errors errs = { .count = 0 };
		char fetch[16], json[HD_PAGE_CURSOR_JSON_MAX], query[HD_PAGE_CURSOR_JSON_MAX + 16];
		hd_page_read(&q, &p, &errs);
		snprintf(fetch, sizeof fetch, "%d", p.limit + 1);
		if (p.limit < 1 || p.limit > 100 || strcmp(fetch, p.fetch) != 0)
			abort();
		if (p.after) {
			if (!hd_page_ts_valid(p.ts) || !hd_uuid_valid(p.id))
				abort();
			hd_page_cursor_json(p.ts, p.id, json);
			if (json[0] != '"')
				abort();
			json[strlen(json) - 1] = '\0';
			snprintf(query, sizeof query, "cursor=%s", json + 1);
			hd_field_errors e2 = { .count = 0 };
			if (hd_query_parse(query, &q) != HD_OK)
				abort();
			hd_page_read(&q, &again, &e2);
			if (!again.after || strcmp(again.ts, p.ts) != 0
			    || strcmp(again.id, p.id) != 0)
				abort();
		}
	}
	free(raw);
	return 0;
}
