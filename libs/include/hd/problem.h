/* RFC 9457 problem details: the one place that builds error bodies. */
#ifndef HD_PROBLEM_H
#define HD_PROBLEM_H
#include <stddef.h>

#define HD_PROBLEM_MAX_FIELD_ERRORS 32

/* One validation error: which field and what is wrong with it. */
typedef struct hd_field_error {
	char field[64];
	char message[128];
} hd_field_error;

/* A bounded list of validation errors, filled by validators. */
typedef struct hd_field_errors {
	hd_field_error items[HD_PROBLEM_MAX_FIELD_ERRORS];
	size_t count;
} hd_field_errors;

/* Appends an error (silently drops past the maximum). */
void hd_field_errors_add(hd_field_errors *errs, const char *field, const char *message);

/* Builds {"type","title","status","detail","request_id","errors"?} as a
 * malloc'ed NUL-terminated string (caller frees); errors may be NULL.
 * detail and request_id may be NULL. Returns NULL on allocation failure. */
char *hd_problem_json(int status, const char *detail, const char *request_id,
    const hd_field_errors *errs, size_t *len_out);
/* Returns the standard reason phrase for an HTTP status ("Not Found"). */
const char *hd_http_reason(int status);

#endif
