/* The gateway serves the web console (gateway/static.c, gateway/web.c,
 * docs/web.md): index.html at / and for the app's pages (SPA fallback),
 * hashed assets with their content type and a year's immutable caching,
 * ETag and 304, gzip for clients that take it, the security headers (CSP without inline script,
 * nosniff, Referrer-Policy), 404 for missing files and for every way out of the root
 * (.., encoded dots, dot files), 405 for writes, and the API's paths never
 * answered with the console.
 *
 * Environment: HD_TEST_BASE_URL; HD_TEST_ROOT (the worktree whose web/dist
 * the stack serves: tools/web-build.sh builds it before the suite). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <zlib.h>
#include "httpc.h"

/* The file root/web/dist/rel, malloc'ed (NULL when absent). */
static char *dist_file(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/web/dist/%s", httpc_env("HD_TEST_ROOT"), rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static httpc_resp get(const char *path, const char *const *headers)
{
	httpc_resp r;
	assert_int_equal(httpc_call(&r, "GET", path, NULL, NULL, NULL, headers), 0);
	return r;
}

static void security_headers_check(const httpc_resp *r)
{
	const char *csp = httpc_header(r, "Content-Security-Policy");
	assert_non_null(csp);
	assert_non_null(strstr(csp, "script-src 'self'"));
	assert_null(strstr(csp, "unsafe-inline"));
	assert_non_null(strstr(csp, "frame-ancestors 'none'"));
	assert_string_equal(httpc_header(r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(httpc_header(r, "Referrer-Policy"), "no-referrer");
}

static void test_index(void **state)
{
	(void)state;
	char *index = dist_file("index.html");
	if (index == NULL)
		fail_msg("web/dist/index.html is missing: run tools/web-build.sh (docs/web.md)");
	httpc_resp r = get("/", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, index);
	assert_string_equal(httpc_header(&r, "Content-Type"), "text/html; charset=utf-8");
	assert_string_equal(httpc_header(&r, "Cache-Control"), "no-cache");
	security_headers_check(&r);
	char etag[64];
	snprintf(etag, sizeof etag, "%s", httpc_header(&r, "ETag"));
	assert_int_equal(etag[0], '"');
	httpc_resp_free(&r);

	/* revalidation: 304 without a body, a changed tag: 200 */
	char inm[96];
	snprintf(inm, sizeof inm, "If-None-Match: W/\"x\", %s", etag);
	const char *const revalidate[] = { inm, NULL };
	r = get("/", revalidate);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(httpc_header(&r, "ETag"), etag);
	httpc_resp_free(&r);
	const char *const other[] = { "If-None-Match: \"0000000000000000\"", NULL };
	r = get("/", other);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);

	/* the app's own pages get index.html (the router draws them) */
	r = get("/agent/tickets/01900000-0000-7000-8000-000000000001", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, index);
	httpc_resp_free(&r);
	free(index);
}

static void test_assets(void **state)
{
	(void)state;
	char *index = dist_file("index.html");
	assert_non_null(index);
	/* the script index.html loads: /assets/index-<hash>.js */
	const char *at = strstr(index, "src=\"/assets/");
	assert_non_null(at);
	char path[256];
	size_t len = strcspn(at + 5, "\"");
	assert_true(len < sizeof path);
	memcpy(path, at + 5, len);
	path[len] = '\0';
	char *js = dist_file(path + 1);
	assert_non_null(js);
	httpc_resp r = get(path, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(js));
	assert_memory_equal(r.body, js, r.body_len);
	assert_string_equal(httpc_header(&r, "Content-Type"), "text/javascript; charset=utf-8");
	assert_string_equal(
	    httpc_header(&r, "Cache-Control"), "public, max-age=31536000, immutable");

	/* gzip, compressed at start: its own tag, the same bytes once inflated */
	char tag[64];
	snprintf(tag, sizeof tag, "%s", httpc_header(&r, "ETag"));
	assert_non_null(strstr(r.headers, "Vary: Accept-Encoding"));
	assert_null(httpc_header(&r, "Content-Encoding"));
	httpc_resp_free(&r);
	const char *const gzip[] = { "Accept-Encoding: gzip, deflate, br", NULL };
	r = get(path, gzip);
	assert_int_equal(r.status, 200);
	assert_string_equal(httpc_header(&r, "Content-Encoding"), "gzip");
	assert_true(r.body_len < strlen(js) / 2);
	char gz_tag[64];
	snprintf(gz_tag, sizeof gz_tag, "%.17s-gz\"", tag);
	assert_string_equal(httpc_header(&r, "ETag"), gz_tag);
	size_t cap = strlen(js) + 1;
	char *plain = malloc(cap);
	assert_non_null(plain);
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)r.body;
	z.avail_in = (uInt)r.body_len;
	z.next_out = (Bytef *)plain;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(cap - z.avail_out, strlen(js));
	assert_memory_equal(plain, js, strlen(js));
	inflateEnd(&z);
	free(plain);
	httpc_resp_free(&r);
	char inm[96];
	snprintf(inm, sizeof inm, "If-None-Match: %s", gz_tag);
	const char *const gzip_revalidate[] = { "Accept-Encoding: gzip", inm, NULL };
	r = get(path, gzip_revalidate);
	assert_int_equal(r.status, 304);
	httpc_resp_free(&r);
	const char *const no_gzip[] = { "Accept-Encoding: gzip;q=0, br", NULL };
	r = get(path, no_gzip);
	assert_int_equal(r.status, 200);
	assert_null(httpc_header(&r, "Content-Encoding"));
	assert_int_equal(r.body_len, strlen(js));
	httpc_resp_free(&r);

	/* HEAD: the headers, no body */
	assert_int_equal(httpc_call(&r, "HEAD", path, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	httpc_resp_free(&r);

	/* a missing asset is 404, never index.html served as script */
	r = get("/assets/index-00000000.js", NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	security_headers_check(&r);
	httpc_resp_free(&r);
	r = get("/robots.txt", NULL);
	assert_int_equal(r.status, 404);
	httpc_resp_free(&r);
	free(js);
	free(index);
}

/* The status of GET path sent exactly as given (libcurl would otherwise
 * squash dot segments before sending). */
static long raw_status(const char *path)
{
	char url[1024];
	long status = 0;
	CURL *curl = curl_easy_init();
	assert_non_null(curl);
	snprintf(url, sizeof url, "%s%s", httpc_env("HD_TEST_BASE_URL"), path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	return status;
}

static void test_outside_root(void **state)
{
	(void)state;
	assert_int_equal(raw_status("/index.html"), 200);
	assert_int_equal(raw_status("/../etc/passwd"), 404);
	assert_int_equal(raw_status("/assets/../index.html"), 404);
	assert_int_equal(raw_status("/%2e%2e/%2e%2e/etc/passwd"), 404);
	assert_int_equal(raw_status("/%2E%2E/etc/passwd"), 404);
	assert_int_equal(raw_status("/..%2fetc%2fpasswd"), 404);
	assert_int_equal(raw_status("/.build-stamp"), 404);
	assert_int_equal(raw_status("//etc/passwd"), 404);
	assert_int_equal(raw_status("/a\\..\\b"), 404);
}

static void test_api_paths_and_methods(void **state)
{
	(void)state;
	httpc_resp r = get("/v1/no-such-thing", NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	assert_null(httpc_header(&r, "Content-Security-Policy"));
	httpc_resp_free(&r);
	r = get("/v1", NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
	r = get("/.well-known/nothing", NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	httpc_resp_free(&r);
	r = get("/healthz", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	httpc_resp_free(&r);

	assert_int_equal(httpc_call(&r, "POST", "/", NULL, "{}", NULL, NULL), 0);
	assert_int_equal(r.status, 405);
	assert_string_equal(httpc_header(&r, "Allow"), "GET, HEAD");
	httpc_resp_free(&r);
	assert_int_equal(httpc_call(&r, "DELETE", "/portal", NULL, NULL, NULL, NULL), 0);
	assert_int_equal(r.status, 405);
	httpc_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_assets),
		cmocka_unit_test(test_outside_root),
		cmocka_unit_test(test_api_paths_and_methods),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
