/* If-None-Match (RFC 9110 13.1.2) against one strong entity tag. */
#ifndef GW_ETAG_H
#define GW_ETAG_H
#include <stdbool.h>

/* True when the header value (a comma-separated list of entity tags, weak
 * ones as W/"…", or "*") names etag (quoted, e.g. "\"ab12\""): weak
 * comparison, as If-None-Match asks. A malformed member never matches. */
bool gw_etag_none_match(const char *header, const char *etag);

#endif
