/* The end-to-end tests' HTTP client (httpc.h) on libcurl's easy API: one
 * request per call, no connection reuse (every call is independent), a 15 s
 * overall timeout. A path that starts with "http://" or "https://" is used
 * as the whole URL, so a test can talk to a gateway it started itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "httpc.h"

#define HTTPC_TIMEOUT_MS 15000L
#define HTTPC_HEADER_VALUE_MAX 2048

typedef struct httpc_buf {
	char *data;
	size_t len;
} httpc_buf;

static size_t buf_append(httpc_buf *b, const char *data, size_t n)
{
	char *p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	return buf_append(arg, data, size * nmemb);
}

/* Keeps only the last response's header block (after a 100 Continue). */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	httpc_buf *b = arg;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		b->len = 0;
	return buf_append(b, data, n);
}

static void url_make(char *out, size_t size, const char *path)
{
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
		snprintf(out, size, "%s", path);
	else
		snprintf(out, size, "%s%s", httpc_env("HD_TEST_BASE_URL"), path);
}

static struct curl_slist *headers_make(
    const char *token, const char *body, const char *content_type, const char *const *extra)
{
	struct curl_slist *h = NULL;
	char line[8300];
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (content_type != NULL && content_type[0] != '\0') {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		h = curl_slist_append(h, line);
	} else if (content_type != NULL || body == NULL) {
		h = curl_slist_append(h, "Content-Type:"); /* none at all */
	} else {
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		h = curl_slist_append(h, extra[i]);
	return h;
}

int httpc_call(httpc_resp *out, const char *method, const char *path, const char *token,
    const char *body, const char *content_type, const char *const *extra_headers)
{
	static int inited;
	httpc_buf b = { 0 }, hb = { 0 };
	char url[2048];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) == 0)
		inited = 1;
	CURL *c = curl_easy_init();
	if (c == NULL)
		return -1;
	url_make(url, sizeof(url), path);
	struct curl_slist *h = headers_make(token, body, content_type, extra_headers);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HTTPC_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		rc = 0;
	}
	out->body = b.data ? b.data : calloc(1, 1);
	out->body_len = b.len;
	out->headers = hb.data ? hb.data : calloc(1, 1);
	if (rc == 0 && out->body_len > 0)
		out->json = cJSON_ParseWithLength(out->body, out->body_len);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

const char *httpc_header(const httpc_resp *r, const char *name)
{
	static _Thread_local char value[HTTPC_HEADER_VALUE_MAX];
	size_t nlen = strlen(name);
	for (const char *line = r->headers; line != NULL && *line != '\0';) {
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t vlen = len - (size_t)(v - line);
			if (vlen >= sizeof(value))
				vlen = sizeof(value) - 1;
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			return value;
		}
		line = end ? end + 2 : NULL;
	}
	return NULL;
}

void httpc_resp_free(httpc_resp *r)
{
	free(r->body);
	free(r->headers);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

double httpc_metric(const char *url, const char *prefix)
{
	httpc_resp r;
	double sum = 0;
	if (httpc_call(&r, "GET", url, NULL, NULL, NULL, NULL) != 0 || r.status != 200
	    || r.body == NULL) {
		httpc_resp_free(&r);
		return -1;
	}
	size_t pl = strlen(prefix);
	for (const char *line = r.body; line != NULL && *line != '\0';) {
		const char *sp = strchr(line, ' ');
		const char *nl = strchr(line, '\n');
		if (strncmp(line, prefix, pl) == 0 && sp != NULL && (nl == NULL || sp < nl))
			sum += strtod(sp + 1, NULL);
		line = nl != NULL ? nl + 1 : NULL;
	}
	httpc_resp_free(&r);
	return sum;
}

char *httpc_login(const char *tenant, const char *email, const char *password, char **refresh_out)
{
	httpc_resp r;
	char *token = NULL, *body;
	cJSON *req = cJSON_CreateObject();
	if (refresh_out != NULL)
		*refresh_out = NULL;
	cJSON_AddStringToObject(req, "tenant", tenant);
	cJSON_AddStringToObject(req, "email", email);
	cJSON_AddStringToObject(req, "password", password);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (body == NULL)
		return NULL;
	if (httpc_call(&r, "POST", "/v1/auth/login", NULL, body, NULL, NULL) == 0
	    && r.status == 200) {
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(r.json, "access_token");
		const cJSON *rt = cJSON_GetObjectItemCaseSensitive(r.json, "refresh_token");
		if (cJSON_IsString(at))
			token = strdup(at->valuestring);
		if (refresh_out != NULL && cJSON_IsString(rt))
			*refresh_out = strdup(rt->valuestring);
	}
	httpc_resp_free(&r);
	free(body);
	return token;
}

const char *httpc_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0')
		fail_msg("environment variable %s is not set", name);
	return v;
}

double httpc_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
