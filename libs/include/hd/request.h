/* Decoding a request the same way in every daemon: the body must be a JSON
 * object whose members the route knows, the query string holds only the
 * parameters the route knows, a path id must be a UUID. Each getter replies
 * itself (400 for bytes that are not JSON or not a query string, 422 naming
 * the unknown fields or parameters, 404 naming the resource for an id that
 * cannot exist) and returns false, so a handler reads:
 *
 *     if (!hd_caller_get(req, &c) || !hd_req_body(req, known, &body))
 *             return;
 */
#ifndef HD_REQUEST_H
#define HD_REQUEST_H
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "hd/problem.h"
#include "hd/query.h"
#include "hd/rpc.h"

/* Parses the body as a JSON object whose members are all in the NULL-ended
 * list known (NULL: any member). Empty body or invalid JSON: 400; not an
 * object or unknown members: 422 naming them. On success the caller owns *out. */
bool hd_req_body(hd_rpc_request *req, const char *const *known, cJSON **out);
/* Parses the query string into q; 400 when malformed, 422 naming every
 * parameter not in the NULL-ended list known. */
bool hd_req_query(hd_rpc_request *req, const char *const *known, hd_query *q);
/* Adds "unknown query parameter" for each parameter of q not in known. */
void hd_query_reject_unknown(const hd_query *q, const char *const *known, hd_field_errors *errs);
/* Typed query getters: an absent or empty parameter is NULL without error;
 * a bad value adds an error naming key and gives NULL. */
const char *hd_query_enum(
    const hd_query *q, const char *key, const char *const *allowed, hd_field_errors *errs);
const char *hd_query_uuid(const hd_query *q, const char *key, hd_field_errors *errs);
/* Valid UTF-8 of at most max_chars characters. */
const char *hd_query_text(
    const hd_query *q, const char *key, size_t max_chars, hd_field_errors *errs);
/* The path parameter name when it is a UUID; else replies 404 "<resource>
 * not found" (an id that cannot exist names no object) and returns NULL. */
const char *hd_req_path_uuid(hd_rpc_request *req, const char *name, const char *resource);
/* If-Match of an object whose ETag is its version number ("3", W/"3" or
 * *), value NULL when absent. Returns true with *has false (and version
 * "") when absent or *,
 * true with *has set and the digits in version when a quoted number of at
 * most 9 digits (so it always fits an int); false when it can never match. */
#define HD_IF_MATCH_MAX 16
bool hd_if_match_parse(const char *value, char version[HD_IF_MATCH_MAX], bool *has);
/* hd_if_match_parse of the request's If-Match header. */
bool hd_req_if_match(hd_rpc_request *req, char version[HD_IF_MATCH_MAX], bool *has);
/* True when s is a locale: a language code with an optional region or
 * variant, [a-z]{2,3}([-_][A-Za-z0-9]{2,8})? ("en", "de-AT", "pt_BR"). */
bool hd_locale_valid(const char *s);
/* The request header name (case-insensitive), or NULL. */
const char *hd_req_header(hd_rpc_request *req, const char *name);

#endif
