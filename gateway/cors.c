/* CORS origin list (see cors.h). */
#include "cors.h"
#include <string.h>

bool gw_cors_init(gw_cors *c, const char *list)
{
	memset(c, 0, sizeof(*c));
	while (list != NULL && *list != '\0') {
		const char *comma = strchr(list, ',');
		size_t n = comma ? (size_t)(comma - list) : strlen(list);
		while (n > 0 && (*list == ' ' || *list == '\t'))
			list++, n--;
		while (n > 0 && (list[n - 1] == ' ' || list[n - 1] == '\t'))
			n--;
		if (n == 1 && *list == '*') {
			c->any = true;
		} else if (n > 0) {
			if (n >= GW_CORS_ORIGIN_MAX || c->count >= GW_CORS_MAX_ORIGINS)
				return false;
			memcpy(c->origins[c->count], list, n);
			c->origins[c->count++][n] = '\0';
		}
		list = comma ? comma + 1 : NULL;
	}
	return true;
}

bool gw_cors_allowed(const gw_cors *c, const char *origin)
{
	if (origin == NULL || origin[0] == '\0')
		return false;
	if (c->any)
		return true;
	for (int i = 0; i < c->count; i++)
		if (strcmp(c->origins[i], origin) == 0)
			return true;
	return false;
}
