/* gateway/static.c: loading a web root (files, nested folders, symbolic
 * links and dot files skipped, the byte bound), the lookup (exact files, the
 * single-page fallback, hashed assets never falling back, traversal and
 * encoded paths refused), content types, ETag matching and Cache-Control. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "etag.h"
#include "static.h"

static char root[64];
static char outside[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A root as Vite builds it, plus what must never be served. */
static int setup(void **state)
{
	char path[256];
	(void)state;
	snprintf(root, sizeof(root), "/tmp/hd-static-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/hd-outside-XXXXXX");
	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(outside));
	snprintf(path, sizeof(path), "%s/assets", root);
	assert_int_equal(mkdir(path, 0755), 0);
	put("index.html", "<!doctype html><div id=root></div>");
	put("favicon.svg", "<svg/>");
	put("assets/index-abc123.js", "console.log(1)");
	put("assets/index-abc123.css", "body{}");
	put(".env", "SECRET=1");
	snprintf(path, sizeof(path), "%s/secret.txt", outside);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("outside", f);
	fclose(f);
	char link[256];
	snprintf(link, sizeof(link), "%s/leak.txt", root);
	assert_int_equal(symlink(path, link), 0);
	snprintf(link, sizeof(link), "%s/out", root);
	assert_int_equal(symlink(outside, link), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[192];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_load(void **state)
{
	gw_static st;
	(void)state;
	assert_int_equal(gw_static_load(&st, root, 1 << 20), HD_OK);
	assert_int_equal(st.count, 4); /* no .env, no symbolic links */
	assert_non_null(st.index);
	assert_string_equal(st.index->path, "/index.html");
	assert_string_equal(st.index->content_type, "text/html; charset=utf-8");
	assert_int_equal(st.bytes,
	    strlen("<!doctype html><div id=root></div>") + strlen("<svg/>")
	        + strlen("console.log(1)") + strlen("body{}"));
	gw_static_free(&st);
	assert_int_equal(st.count, 0);
}

static void test_bounds(void **state)
{
	gw_static st;
	(void)state;
	assert_int_equal(gw_static_load(&st, root, 20), HD_ERR_INVALID);
	assert_int_equal(st.count, 0);
	assert_null(st.files);
	/* no folder: nothing served, not an error */
	assert_int_equal(gw_static_load(&st, "/nonexistent/hd-web", 1 << 20), HD_OK);
	assert_null(st.index);
	assert_null(gw_static_lookup(&st, "/"));
	assert_int_equal(gw_static_load(&st, "", 1 << 20), HD_OK);
	assert_null(gw_static_lookup(&st, "/tickets"));
}

static void test_lookup(void **state)
{
	gw_static st;
	(void)state;
	assert_int_equal(gw_static_load(&st, root, 1 << 20), HD_OK);
	assert_ptr_equal(gw_static_lookup(&st, "/"), st.index);
	assert_ptr_equal(gw_static_lookup(&st, "/index.html"), st.index);
	const gw_static_file *js = gw_static_lookup(&st, "/assets/index-abc123.js");
	assert_non_null(js);
	assert_int_equal(js->len, strlen("console.log(1)"));
	assert_memory_equal(js->body, "console.log(1)", js->len);
	assert_true(js->immutable);
	assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
	assert_string_equal(gw_static_cache_control(js), "public, max-age=31536000, immutable");
	assert_string_equal(gw_static_cache_control(st.index), "no-cache");
	assert_false(st.index->immutable);
	/* pages of the app fall back to index.html */
	assert_ptr_equal(gw_static_lookup(&st, "/tickets"), st.index);
	assert_ptr_equal(gw_static_lookup(&st, "/agent/tickets/5b1e"), st.index);
	/* a missing file, or any missing hashed asset, is 404 */
	assert_null(gw_static_lookup(&st, "/robots.txt"));
	assert_null(gw_static_lookup(&st, "/assets/index-old"));
	assert_null(gw_static_lookup(&st, "/assets/gone.js"));
	/* never outside the root, never a dot file */
	assert_null(gw_static_lookup(&st, "/.env"));
	assert_null(gw_static_lookup(&st, "/../etc/passwd"));
	assert_null(gw_static_lookup(&st, "/assets/../index.html"));
	assert_null(gw_static_lookup(&st, "/%2e%2e/etc/passwd"));
	assert_null(gw_static_lookup(&st, "/%2E%2E/secret"));
	assert_null(gw_static_lookup(&st, "/leak.txt"));
	assert_null(gw_static_lookup(&st, "/out/secret.txt"));
	assert_null(gw_static_lookup(&st, "//etc/passwd"));
	assert_null(gw_static_lookup(&st, "/a\\..\\b"));
	assert_null(gw_static_lookup(&st, "/x\x01y"));
	assert_null(gw_static_lookup(&st, "relative"));
	gw_static_free(&st);
}

static void test_owns(void **state)
{
	(void)state;
	assert_true(gw_static_owns("/"));
	assert_true(gw_static_owns("/tickets"));
	assert_true(gw_static_owns("/v1x"));
	assert_false(gw_static_owns("/v1"));
	assert_false(gw_static_owns("/v1/tickets"));
	assert_false(gw_static_owns("/.well-known/jwks.json"));
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(gw_static_content_type("a.CSS"), "text/css; charset=utf-8");
	assert_string_equal(gw_static_content_type("x.woff2"), "font/woff2");
	assert_string_equal(gw_static_content_type("x.svg"), "image/svg+xml");
	assert_string_equal(gw_static_content_type("noext"), "application/octet-stream");
	assert_string_equal(gw_static_content_type("dir.js/file"), "application/octet-stream");
}

static void test_etag(void **state)
{
	gw_static st;
	(void)state;
	assert_int_equal(gw_static_load(&st, root, 1 << 20), HD_OK);
	const char *tag = st.index->etag;
	char list[96];
	assert_int_equal(strlen(tag), 18);
	assert_true(tag[0] == '"' && tag[17] == '"');
	assert_string_not_equal(tag, gw_static_lookup(&st, "/favicon.svg")->etag);
	assert_true(gw_etag_none_match(tag, tag));
	assert_true(gw_etag_none_match("*", tag));
	snprintf(list, sizeof(list), "\"x\", W/%s", tag);
	assert_true(gw_etag_none_match(list, tag));
	snprintf(list, sizeof(list), "\"x\",%s ", tag);
	assert_true(gw_etag_none_match(list, tag));
	assert_false(gw_etag_none_match(NULL, tag));
	assert_false(gw_etag_none_match("", tag));
	assert_false(gw_etag_none_match("\"0000000000000000\"", tag));
	snprintf(list, sizeof(list), "%.17s", tag); /* a prefix is no match */
	assert_false(gw_etag_none_match(list, tag));
	gw_static_free(&st);
}

/* Inflates a gzip member of len bytes; returns the size written to out. */
static size_t gunzip(const char *in, size_t len, char *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = cap - z.avail_out;
	inflateEnd(&z);
	return n;
}

static void test_gzip(void **state)
{
	char dir[64], path[256], big[8192], out[8192];
	gw_static st;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hd-gzip-XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = "function f(){return 1}\n"[i % 23];
	big[sizeof(big) - 1] = '\0';
	const char *names[] = { "index.html", "app.js", "logo.png", "tiny.css" };
	const char *bodies[] = { big, big, big, "a{}" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(bodies[i], f);
		fclose(f);
	}
	assert_int_equal(gw_static_load(&st, dir, 1 << 20), HD_OK);
	const gw_static_file *js = gw_static_lookup(&st, "/app.js");
	assert_non_null(js);
	assert_non_null(js->gz);
	assert_true(js->gz_len < js->len / 10);
	assert_int_equal(gunzip(js->gz, js->gz_len, out, sizeof(out)), js->len);
	assert_memory_equal(out, js->body, js->len);
	/* its own tag: the same hash, marked */
	assert_int_equal(strncmp(js->gz_etag, js->etag, 17), 0);
	assert_string_equal(js->gz_etag + 17, "-gz\"");
	assert_non_null(st.index->gz); /* html too */
	assert_null(gw_static_lookup(&st, "/logo.png")->gz); /* not a text type */
	assert_null(gw_static_lookup(&st, "/tiny.css")->gz); /* under GW_STATIC_GZIP_MIN */
	assert_int_equal(st.bytes, 3 * (sizeof(big) - 1) + 3 + js->gz_len + st.index->gz_len);
	gw_static_free(&st);
	/* the copies count in the bound: no room, no copy, still served */
	assert_int_equal(gw_static_load(&st, dir, 3 * (sizeof(big) - 1) + 3), HD_OK);
	assert_null(gw_static_lookup(&st, "/app.js")->gz);
	gw_static_free(&st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void test_accepts_gzip(void **state)
{
	(void)state;
	assert_true(gw_static_accepts_gzip("gzip"));
	assert_true(gw_static_accepts_gzip("gzip, deflate, br, zstd"));
	assert_true(gw_static_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
	assert_true(gw_static_accepts_gzip("x-gzip"));
	assert_true(gw_static_accepts_gzip("*"));
	assert_true(gw_static_accepts_gzip("gzip;q=0.001"));
	assert_false(gw_static_accepts_gzip(NULL));
	assert_false(gw_static_accepts_gzip(""));
	assert_false(gw_static_accepts_gzip("identity"));
	assert_false(gw_static_accepts_gzip("br, deflate"));
	assert_false(gw_static_accepts_gzip("gzip;q=0"));
	assert_false(gw_static_accepts_gzip("gzip; q=0.000, br"));
	assert_false(gw_static_accepts_gzip("gzipx, xgzip"));
	assert_false(gw_static_accepts_gzip("*;q=0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_owns),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_accepts_gzip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
