/* libFuzzer target for the knowledge search cache's key material
 * (services/knowledge/search_key.c): any query text a caller may send
 * (NUL-ended, as the query parser leaves it). The promises: the normalised
 * text is never longer than the query, has no white space at either end
 * nor two spaces in a row, no ASCII capital; normalising it again changes
 * nothing; the digest of the query and of its normalised text are equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "knowledge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = malloc(size + 1), *n1 = malloc(size + 1), *n2 = malloc(size + 1);
	if (q == NULL || n1 == NULL || n2 == NULL)
		abort();
	memcpy(q, data, size);
	q[size] = '\0';
	size_t len = kb_cache_normalise(q, n1);
	if (len > strlen(q) || len != strlen(n1)
	    || (len > 0 && (n1[0] == ' ' || n1[len - 1] == ' ')) || strstr(n1, "  ") != NULL
	    || strpbrk(n1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\t\r\n") != NULL)
		abort();
	if (kb_cache_normalise(n1, n2) != len || strcmp(n1, n2) != 0)
		abort();
	char d1[KB_CACHE_DIGEST_HEX + 1], d2[KB_CACHE_DIGEST_HEX + 1];
	const char *p1[KB_SEARCH_NPARAMS] = { q, NULL, "10", "t", "f" };
	const char *p2[KB_SEARCH_NPARAMS] = { n1, NULL, "10", "t", "f" };
	if (!kb_cache_digest(p1, KB_SEARCH_NPARAMS, d1)
	    || !kb_cache_digest(p2, KB_SEARCH_NPARAMS, d2) || strcmp(d1, d2) != 0)
		abort();
	free(q);
	free(n1);
	free(n2);
	return 0;
}
