/* Unit tests of hd/attach.h (type normalising, magic-byte sniffing, file
 * names, base64, Content-Disposition), the attachment_ids reader of
 * hd/json.h and the pure parts of hd/storage.h (settings, S3 URLs and
 * signing scope, keys). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/attach.h"
#include "hd/json.h"
#include "hd/storage.h"

#define T "0190a000-0000-7000-8000-000000000001"
#define A "0190a000-0000-7000-8000-000000000002"

static void test_type_normalise(void **state)
{
	(void)state;
	char out[HD_ATTACH_TYPE_MAX + 1];
	assert_true(hd_attach_type_normalise("Image/PNG; charset=x", out));
	assert_string_equal(out, "image/png");
	assert_true(hd_attach_type_normalise(" text/plain", out));
	assert_string_equal(out, "text/plain");
	assert_false(hd_attach_type_normalise("image", out));
	assert_false(hd_attach_type_normalise("image/", out));
	assert_false(hd_attach_type_normalise("/png", out));
	assert_false(hd_attach_type_normalise("a/b/c", out));
	assert_false(hd_attach_type_normalise("image/p\"ng", out));
	assert_false(hd_attach_type_normalise("", out));
}

static void test_sniff(void **state)
{
	(void)state;
	static const unsigned char png[] = "\x89PNG\r\n\x1a\nrest";
	static const unsigned char jpeg[] = "\xff\xd8\xff\xe0";
	static const unsigned char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
	static const unsigned char riff_wav[] = "RIFF\x10\0\0\0WAVEfmt ";
	static const unsigned char pdf[] = "%PDF-1.7";
	static const unsigned char text[] = "caf\xc3\xa9\n";
	assert_int_equal(hd_attach_sniff("image/png", png, sizeof png - 1), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("image/png", png, 7), HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(hd_attach_sniff("image/jpeg", jpeg, 4), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("image/jpeg", png, 8), HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(
	    hd_attach_sniff("image/gif", (const unsigned char *)"GIF89a", 6), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("image/webp", webp, sizeof webp - 1), HD_ATTACH_OK);
	assert_int_equal(
	    hd_attach_sniff("image/webp", riff_wav, sizeof riff_wav - 1), HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(hd_attach_sniff("application/pdf", pdf, 8), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("application/zip", (const unsigned char *)"PK\x03\x04", 4),
	    HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("text/plain", text, sizeof text - 1), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("text/csv", text, sizeof text - 1), HD_ATTACH_OK);
	/* a PDF declared as text, invalid UTF-8, a NUL */
	assert_int_equal(hd_attach_sniff("text/plain", pdf, 8), HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(hd_attach_sniff("text/plain", (const unsigned char *)"\xff\xfe", 2),
	    HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(hd_attach_sniff("text/plain", (const unsigned char *)"a\0b", 3),
	    HD_ATTACH_BYTES_MISMATCH);
	assert_int_equal(hd_attach_sniff("application/octet-stream", png, 3), HD_ATTACH_OK);
	assert_int_equal(hd_attach_sniff("text/html", text, 3), HD_ATTACH_TYPE_REFUSED);
	assert_int_equal(hd_attach_sniff("image/svg+xml", text, 3), HD_ATTACH_TYPE_REFUSED);
	assert_true(hd_attach_type_is_image("image/png"));
	assert_false(hd_attach_type_is_image("image/svg+xml"));
	assert_false(hd_attach_type_is_image("application/pdf"));
}

static void test_filename(void **state)
{
	(void)state;
	char out[HD_ATTACH_FILENAME_MAX + 1], longname[600];
	const char *raw = "../../etc/passwd";
	assert_true(hd_attach_filename_clean(raw, strlen(raw), out));
	assert_string_equal(out, "passwd");
	raw = "C:\\Users\\me\\..report\";x.pdf ";
	assert_true(hd_attach_filename_clean(raw, strlen(raw), out));
	assert_string_equal(out, "reportx.pdf");
	raw = "a\r\nSet-Cookie: x\x01.txt";
	assert_true(hd_attach_filename_clean(raw, strlen(raw), out));
	assert_string_equal(out, "aSet-Cookie: x.txt");
	raw = "bad\xff\xfe utf8 \xc3\xa9.txt";
	assert_true(hd_attach_filename_clean(raw, strlen(raw), out));
	assert_string_equal(out, "bad utf8 \xc3\xa9.txt");
	assert_false(hd_attach_filename_clean("../..", 5, out));
	assert_false(hd_attach_filename_clean("", 0, out));
	/* cut on a character boundary: 300 two-byte characters */
	for (int i = 0; i < 300; i++)
		memcpy(longname + 2 * i, "\xc3\xa9", 2);
	assert_true(hd_attach_filename_clean(longname, 600, out));
	assert_int_equal(strlen(out), 254);
	hd_attach_filename_header("r%C3%A9sum%C3%A9%2Fx.pdf", out);
	assert_string_equal(out, "x.pdf");
	hd_attach_filename_header("100%zz.txt", out);
	assert_string_equal(out, "100%zz.txt");
	hd_attach_filename_header("%2e%2e%2F", out);
	assert_string_equal(out, "attachment");
	hd_attach_filename_header("%", out);
	assert_string_equal(out, "%");
}

static void test_base64(void **state)
{
	(void)state;
	unsigned char out[16];
	size_t n = 0;
	assert_true(hd_base64_decode("aGVsbG8=", 8, out, &n));
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_true(hd_base64_decode("aGk=", 4, out, &n));
	assert_int_equal(n, 2);
	assert_true(hd_base64_decode("YQ==", 4, out, &n));
	assert_int_equal(n, 1);
	assert_true(hd_base64_decode("", 0, out, &n));
	assert_int_equal(n, 0);
	assert_true(hd_base64_decode("+/+/", 4, out, &n));
	assert_memory_equal(out, "\xfb\xff\xbf", 3);
	assert_false(hd_base64_decode("aGVsbG8", 7, out, &n)); /* no padding */
	assert_false(hd_base64_decode("aGV sbG8", 8, out, &n));
	assert_false(hd_base64_decode("YQ=a", 4, out, &n));
	assert_false(hd_base64_decode("Y===", 4, out, &n));
	assert_false(hd_base64_decode("YQ==YQ==", 8, out, &n)); /* padding inside */
	assert_false(hd_base64_decode("aGVs-G8=", 8, out, &n)); /* base64url */
}

static void test_disposition(void **state)
{
	(void)state;
	char out[480], small[40];
	hd_attach_disposition("report.pdf", out, sizeof out);
	assert_string_equal(
	    out, "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
	hd_attach_disposition("\xc3\xa9t\xc3\xa9 1.txt", out, sizeof out);
	assert_string_equal(
	    out, "attachment; filename=\"__t__ 1.txt\"; filename*=UTF-8''%C3%A9t%C3%A9%201.txt");
	hd_attach_disposition("\xc3\xa9\xc3\xa9\xc3\xa9.txt", small, sizeof small);
	assert_string_equal(small, "attachment; filename=\"______.txt\"");
}

static void test_uuid_list(void **state)
{
	(void)state;
	char out[10 * 37 + 3];
	hd_field_errors errs = { .count = 0 };
	cJSON *b = cJSON_Parse("{\"ids\":[\"" T "\",\"" A "\"],\"none\":null,\"dup\":[\"" T
	                       "\",\"" T "\"],\"bad\":[\"x\"],\"num\":3}");
	assert_true(hd_json_uuid_list_read(b, "ids", 10, out, sizeof out, &errs));
	assert_string_equal(out, "{" T "," A "}");
	assert_true(hd_json_uuid_list_read(b, "none", 10, out, sizeof out, &errs));
	assert_string_equal(out, "{}");
	assert_true(hd_json_uuid_list_read(b, "absent", 10, out, sizeof out, &errs));
	assert_int_equal(errs.count, 0);
	assert_false(hd_json_uuid_list_read(b, "ids", 1, out, sizeof out, &errs));
	assert_false(hd_json_uuid_list_read(b, "dup", 10, out, sizeof out, &errs));
	assert_false(hd_json_uuid_list_read(b, "bad", 10, out, sizeof out, &errs));
	assert_false(hd_json_uuid_list_read(b, "num", 10, out, sizeof out, &errs));
	assert_false(hd_json_uuid_list_read(b, "ids", 10, out, 40, &errs)); /* does not fit */
	assert_int_equal(errs.count, 5);
	cJSON_Delete(b);
}

/* A settings source from a NULL-ended name, value list. */
static const char *vars_get(const char *name, void *arg)
{
	const char *const *kv = arg;
	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static void test_storage_config(void **state)
{
	(void)state;
	hd_storage_config cfg;
	char why[160], url[256], scope[64];
	const char *local[] = { NULL };
	assert_int_equal(hd_storage_config_parse(&cfg, vars_get, (void *)local, why), HD_OK);
	assert_int_equal(cfg.backend, HD_STORAGE_LOCAL);
	assert_string_equal(cfg.dir, "var/attachments");
	const char *s3[]
	    = { "HD_STORAGE_BACKEND", "s3", "HD_S3_ENDPOINT", "https://s3.eu-west-3.amazonaws.com",
		      "HD_S3_BUCKET", "hd-files", "HD_S3_REGION", "eu-west-3",
		      "HD_S3_ACCESS_KEY_ID", "AKID", "HD_S3_SECRET_ACCESS_KEY", "secret", NULL };
	assert_int_equal(hd_storage_config_parse(&cfg, vars_get, (void *)s3, why), HD_OK);
	assert_int_equal(cfg.backend, HD_STORAGE_S3);
	assert_false(cfg.s3.path_style);
	assert_string_equal(cfg.s3.sse, "AES256");
	assert_int_equal(hd_s3_object_url(&cfg.s3, T "/" A, url, sizeof url), HD_OK);
	assert_string_equal(url, "https://hd-files.s3.eu-west-3.amazonaws.com/" T "/" A);
	assert_int_equal(hd_s3_sigv4_scope(&cfg.s3, scope, sizeof scope), HD_OK);
	assert_string_equal(scope, "aws:amz:eu-west-3:s3");
	assert_int_equal(hd_s3_object_url(&cfg.s3, T "/" A, url, 20), HD_ERR_TOO_LARGE);
	const char *minio[]
	    = { "HD_STORAGE_BACKEND", "s3", "HD_S3_ENDPOINT", "http://127.0.0.1:9000",
		      "HD_S3_BUCKET", "hd", "HD_S3_PATH_STYLE", "true", "HD_S3_SSE", "none",
		      "HD_S3_ACCESS_KEY_ID", "a", "HD_S3_SECRET_ACCESS_KEY", "b", NULL };
	assert_int_equal(
	    hd_storage_config_parse(&cfg, vars_get, (void *)minio, why), HD_ERR_INVALID);
	assert_non_null(strstr(why, "HD_S3_BUCKET")); /* 2 characters */
	minio[5] = "hd-bucket";
	assert_int_equal(hd_storage_config_parse(&cfg, vars_get, (void *)minio, why), HD_OK);
	assert_true(cfg.s3.path_style);
	assert_string_equal(cfg.s3.sse, "");
	assert_string_equal(cfg.s3.region, "us-east-1");
	assert_int_equal(hd_s3_object_url(&cfg.s3, T "/" A, url, sizeof url), HD_OK);
	assert_string_equal(url, "http://127.0.0.1:9000/hd-bucket/" T "/" A);
}

static void test_storage_config_refused(void **state)
{
	(void)state;
	hd_storage_config cfg;
	char why[160];
	static const struct {
		const char *name, *value, *why;
	} bad[] = {
		{ "HD_STORAGE_BACKEND", "ftp", "HD_STORAGE_BACKEND" },
		{ "HD_S3_ENDPOINT", "s3.amazonaws.com", "HD_S3_ENDPOINT" },
		{ "HD_S3_ENDPOINT", "https://h/path", "HD_S3_ENDPOINT" },
		{ "HD_S3_BUCKET", "Bad_Bucket", "HD_S3_BUCKET" },
		{ "HD_S3_REGION", "EU West", "HD_S3_REGION" },
		{ "HD_S3_PATH_STYLE", "maybe", "HD_S3_PATH_STYLE" },
		{ "HD_S3_SSE", "des", "HD_S3_SSE" },
		{ "HD_S3_TIMEOUT_MS", "5", "HD_S3_TIMEOUT_MS" },
		{ "HD_S3_ACCESS_KEY_ID", "a:b", "HD_S3_ACCESS_KEY_ID" },
		{ "HD_S3_SECRET_ACCESS_KEY", "", "HD_S3_SECRET_ACCESS_KEY" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *kv[] = { "HD_STORAGE_BACKEND", "s3", "HD_S3_ENDPOINT", "http://h:1",
			"HD_S3_BUCKET", "bucket", "HD_S3_ACCESS_KEY_ID", "a",
			"HD_S3_SECRET_ACCESS_KEY", "top-secret", bad[i].name, bad[i].value, NULL };
		/* the bad value comes last and wins: look it up from the end */
		const char *rev[13];
		for (int j = 0; j < 6; j++) {
			rev[2 * j] = kv[10 - 2 * j];
			rev[2 * j + 1] = kv[11 - 2 * j];
		}
		rev[12] = NULL;
		assert_int_equal(
		    hd_storage_config_parse(&cfg, vars_get, (void *)rev, why), HD_ERR_INVALID);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s=%s: %s", bad[i].name, bad[i].value, why);
		assert_null(strstr(why, "top-secret"));
	}
}

static void test_storage_keys(void **state)
{
	(void)state;
	char key[HD_STORAGE_KEY_MAX];
	assert_true(hd_storage_key(T, A, key));
	assert_string_equal(key, T "/" A);
	assert_true(hd_storage_key_valid(T "/" A));
	assert_false(hd_storage_key_valid(T "/../" A));
	assert_false(hd_storage_key_valid("0190A000-0000-7000-8000-000000000001/" A));
	assert_false(hd_storage_key_valid(T));
	assert_false(hd_storage_key_valid(T "/" A "/x"));
	assert_false(hd_storage_key("x", A, key));
	char hex[HD_SHA256_HEX + 1];
	hd_sha256_hex("", 0, hex);
	assert_string_equal(
	    hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_normalise),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_disposition),
		cmocka_unit_test(test_uuid_list),
		cmocka_unit_test(test_storage_config),
		cmocka_unit_test(test_storage_config_refused),
		cmocka_unit_test(test_storage_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
