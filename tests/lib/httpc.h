/* A small blocking HTTP client for end-to-end tests (libcurl), with the
 * response status, headers and parsed JSON body. */
#ifndef HD_TEST_HTTPC_H
#define HD_TEST_HTTPC_H
#include <stddef.h>
#include <cjson/cJSON.h>

typedef struct httpc_resp {
	long status;
	char *body; /* NUL-terminated, malloc'ed */
	size_t body_len;
	char *headers; /* raw header block, malloc'ed */
	cJSON *json; /* parsed body or NULL */
} httpc_resp;

/* Performs method url (base from HD_TEST_BASE_URL + path) with optional bearer
 * token, body (sent as application/json unless content_type says otherwise)
 * and extra headers ("Name: value", NULL-ended). Returns 0, or -1 on transport error. */
int httpc_call(httpc_resp *out, const char *method, const char *path, const char *token,
    const char *body, const char *content_type, const char *const *extra_headers);
/* Returns the value of response header name (case-insensitive) in a static
 * per-thread buffer, or NULL. */
const char *httpc_header(const httpc_resp *r, const char *name);
/* Frees the response's buffers. */
void httpc_resp_free(httpc_resp *r);
/* Logs in and returns a malloc'ed access token (NULL on failure); refresh_out may be NULL. */
/* Sum of the Prometheus series at url (absolute) whose line starts with
 * prefix (e.g. `hd_rpc_requests_total{op="tickets.get"`); -1 when the page
 * cannot be fetched. */
double httpc_metric(const char *url, const char *prefix);
char *httpc_login(const char *tenant, const char *email, const char *password, char **refresh_out);
/* Returns getenv(name) or fails the test when unset. */
const char *httpc_env(const char *name);
/* Seconds on the monotonic clock (deadlines and delays in tests). */
double httpc_now_s(void);

#endif
