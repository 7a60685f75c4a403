/* Entity tags of what the gateway serves from memory (the web console's
 * files, the OpenAPI document) and If-None-Match (RFC 9110 13.1.2). */
#ifndef GW_ETAG_H
#define GW_ETAG_H
#include <stdbool.h>
#include <stddef.h>

/* Writes the strong entity tag of body ("\"<16 hex>\"", FNV-1a 64: it only
 * has to change when the bytes do) into out (size >= 19). */
void gw_etag_make(const char *body, size_t len, char *out, size_t size);

/* True when the header value (a comma-separated list of entity tags, weak
 * ones as W/"…", or "*") names etag (quoted, e.g. "\"ab12\""): weak
 * comparison, as If-None-Match asks. A malformed member never matches;
 * a NULL header (none sent) never matches. */
bool gw_etag_none_match(const char *header, const char *etag);

#endif
