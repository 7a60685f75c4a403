/* The key material of the search result cache (search_cache.c): pure
 * functions, unit tested (tests/unit/test_kb_search_key.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "knowledge.h"

size_t kb_cache_normalise(const char *q, char *out)
{
	size_t n = 0;
	bool space = false;
	for (const char *s = q; *s != '\0'; s++) {
		char ch = *s;
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	return n;
}

bool kb_cache_digest(const char *const *p, int n_params, char out[KB_CACHE_DIGEST_HEX + 1])
{
	size_t cap = 0;
	for (int i = 0; i < n_params; i++)
		cap += (p[i] != NULL ? strlen(p[i]) : 1) + 1;
	char *text = malloc(cap);
	if (text == NULL)
		return false;
	size_t n = kb_cache_normalise(p[0], text) + 1;
	for (int i = 1; i < n_params; i++) {
		const char *v = p[i] != NULL ? p[i] : "\x01";
		size_t len = strlen(v);
		memcpy(text + n, v, len + 1);
		n += len + 1;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok = EVP_Digest(text, n, md, &mdlen, EVP_sha256(), NULL) == 1;
	free(text);
	for (unsigned int i = 0; ok && i < mdlen && 2 * i + 2 <= KB_CACHE_DIGEST_HEX; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return ok;
}
