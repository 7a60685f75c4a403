/* Structured logging: one JSON object per line on stderr, with time, level,
 * service, the calling thread's current request id, message and optional
 * extra fields. Thread-safe; lines are written with one write(2). Never pass
 * secrets (passwords, tokens, keys) to these functions. */
#ifndef HD_LOG_H
#define HD_LOG_H
#include <stdarg.h>
#include <stdbool.h>

typedef enum hd_log_level { HD_LOG_DEBUG, HD_LOG_INFO, HD_LOG_WARN, HD_LOG_ERROR } hd_log_level;

/* Sets the service name and the minimum level ("debug".."error"); call once at start. */
void hd_log_init(const char *service, const char *level);
/* True when a message at level would be written (skip building it if not). */
bool hd_log_enabled(hd_log_level level);
/* Sets the request id the calling thread is working for (NULL clears it). */
void hd_log_set_request_id(const char *request_id);
/* Logs a printf-style message. */
void hd_log(hd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs msg with extra string fields given as key, value pairs ending with NULL. */
void hd_log_fields(hd_log_level level, const char *msg, ...) __attribute__((sentinel));

#define hd_log_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__)
#define hd_log_info(...) hd_log(HD_LOG_INFO, __VA_ARGS__)
#define hd_log_warn(...) hd_log(HD_LOG_WARN, __VA_ARGS__)
#define hd_log_error(...) hd_log(HD_LOG_ERROR, __VA_ARGS__)

#endif
