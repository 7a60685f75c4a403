/* If-None-Match matching (etag.h): walks the list once, bounded by its NUL. */
#include "etag.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void gw_etag_make(const char *body, size_t len, char *out, size_t size)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)body[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, size, "\"%016llx\"", (unsigned long long)h);
}

static const char *skip_list_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

bool gw_etag_none_match(const char *header, const char *etag)
{
	if (header == NULL)
		return false;
	size_t etag_len = strlen(etag);
	const char *p = skip_list_space(header);
	if (*p == '*' && *skip_list_space(p + 1) == '\0')
		return true;
	while (*p != '\0') {
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false; /* not an entity tag: the rest cannot be read */
		const char *close = strchr(p + 1, '"');
		if (close == NULL)
			return false;
		size_t len = (size_t)(close - p) + 1;
		if (len == etag_len && memcmp(p, etag, len) == 0)
			return true;
		p = close + 1;
		if (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			return false;
		p = skip_list_space(p);
	}
	return false;
}
