/* Bounded JSON input on top of cJSON: strict parsing (no trailing bytes, no
 * duplicate keys, valid UTF-8 without NUL, limited depth) and typed field
 * getters that record a validation error naming the field. */
#ifndef HD_JSON_H
#define HD_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "hd/err.h"
#include "hd/problem.h"

#define HD_JSON_MAX_DEPTH 32

/* Parses exactly len bytes. HD_ERR_INVALID (with a reason in why, if not
 * NULL, of at most 128 bytes) on malformed JSON, duplicate keys, bad UTF-8 or
 * too deep nesting. On success the caller owns *out (cJSON_Delete). */
hd_err hd_json_parse(const char *buf, size_t len, cJSON **out, char why[128]);
/* True when s[0..len) is valid UTF-8 with no NUL byte. */
bool hd_utf8_valid(const char *s, size_t len);
/* Returns the length (1..4) of the valid, shortest-form UTF-8 sequence that
 * starts s[0..len), or 0 when it is invalid, truncated or a NUL byte. */
size_t hd_utf8_seq_len(const char *s, size_t len);
/* Returns the number of code points of a valid UTF-8 string. */
size_t hd_utf8_length(const char *s);

/* Getters: look key up case-sensitively in obj (an object). When absent (a
 * JSON null counts as absent):
 * required adds "is required" to errs, else *out keeps its value and the
 * getter returns false. On a wrong type or out-of-range value an error naming
 * key is added. Return true only when a valid value was stored in *out. */
bool hd_json_get_string(const cJSON *obj, const char *key, bool required, size_t min_chars,
    size_t max_chars, const char **out, hd_field_errors *errs);
bool hd_json_get_int(const cJSON *obj, const char *key, bool required, int64_t min, int64_t max,
    int64_t *out, hd_field_errors *errs);
bool hd_json_get_bool(
    const cJSON *obj, const char *key, bool required, bool *out, hd_field_errors *errs);
/* Adds "must be one of: a, b, c" for key (a value outside the NULL-ended allowed). */
void hd_field_error_enum(hd_field_errors *errs, const char *key, const char *const *allowed);
/* Like hd_json_get_string, and the value must be one of the NULL-ended allowed list. */
bool hd_json_get_enum(const cJSON *obj, const char *key, bool required, const char *const *allowed,
    const char **out, hd_field_errors *errs);
/* Adds "unknown field" for every member of obj not in the NULL-ended known list. */
void hd_json_reject_unknown(const cJSON *obj, const char *const *known, hd_field_errors *errs);
/* Compact JSON: the length of text[0..len) without the white space outside
 * strings (PostgreSQL's json_build_object writes "k" : v, "k2" : v2), or len
 * when there is none to drop. */
size_t hd_json_compact_len(const char *text, size_t len);
/* Copies text[0..len) to out without that white space; returns the length
 * written (hd_json_compact_len's). out must hold it; no NUL is added. */
size_t hd_json_compact(char *out, const char *text, size_t len);
/* Prints item without formatting into a malloc'ed string (caller frees), NULL on ENOMEM. */
char *hd_json_print(const cJSON *item, size_t *len_out);
/* Reads an optional "tags" member of body: an array of at most 20 strings of
 * 1..50 characters, printed as JSON into *out (malloc'ed, caller frees).
 * Absent or null: false without error; invalid: false with an error naming
 * "tags". */
bool hd_json_tags_read(const cJSON *body, char **out, hd_field_errors *errs);
/* Reads an optional member key of body: an array of at most max distinct
 * UUIDs, written as a PostgreSQL array literal ("{a,b}") into out (size
 * bytes; 37 per UUID + 3 is enough). Absent or null: "{}" and true; invalid:
 * false with an error naming key (e.g. attachment_ids). */
bool hd_json_uuid_list_read(
    const cJSON *body, const char *key, int max, char *out, size_t size, hd_field_errors *errs);

#endif
