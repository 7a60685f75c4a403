/* Error values shared by every module: one enum, its names and its HTTP
 * status, generated from the single HD_ERR_MAP list below. */
#ifndef HD_ERR_H
#define HD_ERR_H

/* XX(name, http status, message) */
#define HD_ERR_MAP(XX)                                                                             \
	XX(OK, 200, "ok")                                                                          \
	XX(INVALID, 400, "invalid request")                                                        \
	XX(UNAUTHORIZED, 401, "unauthorized")                                                      \
	XX(FORBIDDEN, 403, "forbidden")                                                            \
	XX(NOT_FOUND, 404, "not found")                                                            \
	XX(METHOD, 405, "method not allowed")                                                      \
	XX(CONFLICT, 409, "conflict")                                                              \
	XX(PRECONDITION, 412, "precondition failed")                                               \
	XX(TOO_LARGE, 413, "payload too large")                                                    \
	XX(MEDIA_TYPE, 415, "unsupported media type")                                              \
	XX(VALIDATION, 422, "validation failed")                                                   \
	XX(RATE_LIMITED, 429, "too many requests")                                                 \
	XX(NOMEM, 500, "out of memory")                                                            \
	XX(INTERNAL, 500, "internal error")                                                        \
	XX(IO, 500, "i/o error")                                                                   \
	XX(UNAVAILABLE, 503, "service unavailable")                                                \
	XX(CLOSED, 503, "closed")                                                                  \
	XX(BUSY, 503, "conflicting concurrent update, retry")                                      \
	XX(TIMEOUT, 504, "timed out")

typedef enum hd_err {
#define HD__ERR_ENUM(name, status, msg) HD_ERR_##name,
	HD_ERR_MAP(HD__ERR_ENUM)
#undef HD__ERR_ENUM
	    HD_ERR__COUNT
} hd_err;

#define HD_OK HD_ERR_OK

/* Returns a static, human readable message for err. */
const char *hd_strerror(hd_err err);
/* Returns the upper-case name of err ("NOT_FOUND"). */
const char *hd_err_name(hd_err err);
/* Returns the HTTP status that err maps to. */
int hd_err_http_status(hd_err err);

#endif
