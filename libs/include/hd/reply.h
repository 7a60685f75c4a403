/* Replies every daemon shares: problem+json with the same words for the same
 * failure, and one table from hd_err (and so from a SQLSTATE class) to an
 * HTTP status, so that a database outcome reads the same from every daemon:
 * unreachable or timed out, serialization failure or deadlock -> 503 with
 * Retry-After; unique violation -> 409; check violation or invalid input ->
 * 422; anything else -> 500, logged. docs/architecture.md, "Service kit". */
#ifndef HD_REPLY_H
#define HD_REPLY_H
#include <stdbool.h>
#include "hd/db.h"
#include "hd/err.h"
#include "hd/problem.h"
#include "hd/rpc.h"

/* The words of the common failures (problem "detail"). */
#define HD_TEXT_SIGN_IN "sign in first"
#define HD_TEXT_ROLE "your role may not do this"
#define HD_TEXT_VALIDATION "validation failed"
#define HD_TEXT_BODY_REQUIRED "a JSON body is required"
#define HD_TEXT_BODY_OBJECT "must be a JSON object"
#define HD_TEXT_UNKNOWN_FIELD "unknown field"
#define HD_TEXT_UNKNOWN_PARAM "unknown query parameter"
#define HD_TEXT_QUERY "malformed query string"
#define HD_TEXT_DB_DOWN "database unavailable, retry later"
#define HD_TEXT_BUSY "conflicting concurrent update, retry"
#define HD_TEXT_EXISTS "conflicts with an existing object"
#define HD_TEXT_OUT_OF_RANGE "a value is out of range or malformed"
#define HD_TEXT_INTERNAL "internal error"
#define HD_TEXT_SHUTTING_DOWN "the service is shutting down, retry"
/* Seconds a client is asked to wait after a 503 (Retry-After). */
#define HD_RETRY_AFTER_S "1"

/* What a violated constraint means to the user: the daemon's own table,
 * ended by a NULL constraint, registered once at start-up. */
typedef struct hd_constraint_text {
	const char *constraint; /* e.g. "users_email_key" */
	int status; /* 409 or 422 */
	const char *detail; /* "email already taken" */
} hd_constraint_text;
/* Registers the table hd_reply_db_error consults (main thread, before serving). */
void hd_reply_set_constraints(const hd_constraint_text *table);

/* problem+json with status and detail (NULL: the status's title only). */
void hd_reply_problem(hd_rpc_request *req, int status, const char *detail);
/* The same with validation errors (may be NULL), an extra member appended to
 * the object ("\"k\":v", may be NULL) and one extra header (may be NULL). */
void hd_reply_problem_ex(hd_rpc_request *req, int status, const char *detail,
    const hd_field_errors *errs, const char *extra_member, const char *header, const char *value);
/* Replies 422 "validation failed" with errs when it holds any error; returns
 * true when it replied. */
bool hd_reply_invalid(hd_rpc_request *req, const hd_field_errors *errs);
/* 422 naming one field. */
void hd_reply_invalid_field(hd_rpc_request *req, const char *field, const char *message);
/* 404 "<resource> not found" ("ticket not found"). */
void hd_reply_not_found(hd_rpc_request *req, const char *resource);
/* The reply err deserves (hd_err_http_status), detail or the error's own
 * words; 503s carry Retry-After. */
void hd_reply_error(hd_rpc_request *req, hd_err err, const char *detail);
/* The reply a failed database batch deserves (see the top of this file);
 * res may be NULL when the batch never ran. */
void hd_reply_db_error(hd_rpc_request *req, hd_err err, const hd_db_result *res);
/* The HTTP status and detail hd_reply_db_error would send (for tests and
 * for replies stored before they are sent). */
int hd_db_error_status(hd_err err, const hd_db_result *res, const char **detail);

#endif
