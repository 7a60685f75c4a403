/* libFuzzer target for the readers of an upload's outside input
 * (hd/attach.h): X-Filename and mail part names, the declared Content-Type
 * with the bytes' signature, base64 data of attachments.create, and the
 * Content-Disposition written back from a stored name. Checks that a clean
 * name is short, valid UTF-8 and free of separators, quotes and controls;
 * that a disposition holds no line break and quotes only its name; and
 * that base64 decodes within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hd/attach.h"
#include "hd/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void name_check(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > HD_ATTACH_FILENAME_MAX || !hd_utf8_valid(name, n))
		abort();
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || strchr("/\\\";'", *p) != NULL)
			abort();
	if (name[0] == '.' || name[0] == ' ' || name[n - 1] == ' ')
		if (strcmp(name, "attachment") != 0)
			abort();
}

static void disposition_check(const char *name)
{
	char out[480];
	hd_attach_disposition(name, out, sizeof out);
	if (strchr(out, '\r') != NULL || strchr(out, '\n') != NULL)
		abort();
	const char *q = strchr(out, '"');
	if (q != NULL && (q = strchr(q + 1, '"')) != NULL && strchr(q + 1, '"') != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), name[HD_ATTACH_FILENAME_MAX + 1], type[HD_ATTACH_TYPE_MAX + 1];
	unsigned char *dec = malloc(size / 4 * 3 + 1);
	size_t n = 0;
	if (s == NULL || dec == NULL)
		goto out;
	memcpy(s, data, size);
	s[size] = '\0';
	hd_attach_filename_header(s, name);
	name_check(name);
	disposition_check(name);
	if (hd_attach_filename_clean((const char *)data, size, name)) {
		name_check(name);
		disposition_check(name);
	}
	if (hd_base64_decode(s, size, dec, &n) && n > size / 4 * 3)
		abort();
	if (hd_attach_type_normalise(s, type)) {
		if (strchr(type, '/') == NULL || strlen(type) > HD_ATTACH_TYPE_MAX)
			abort();
		hd_attach_verdict v = hd_attach_sniff(type, data, size);
		if (v != HD_ATTACH_OK && v != HD_ATTACH_TYPE_REFUSED
		    && v != HD_ATTACH_BYTES_MISMATCH)
			abort();
	}
out:
	free(dec);
	free(s);
	return 0;
}
