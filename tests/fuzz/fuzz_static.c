/* libFuzzer target for the web console's lookup (gateway/static.c): the
 * request path and If-None-Match come from outside. The input is split at
 * the first NUL into a path and a header value. Whatever they hold: the
 * lookup gives NULL, the file named exactly, or index.html; a path with
 * "/." or "%" is never a file; the ETag comparison and the Accept-Encoding
 * reading never read past their strings (what a list matches: fuzz_etag.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "etag.h"
#include "static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gw_static_file files[] = {
	{ .path = "/assets/index-abc.js", .etag = "\"00000000000000aa\"" },
	{ .path = "/favicon.svg", .etag = "\"00000000000000bb\"" },
	{ .path = "/index.html", .etag = "\"00000000000000cc\"" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gw_static st = { .files = files, .count = 3, .index = &files[2] };
	char *in = malloc(size + 2);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	in[size + 1] = '\0';
	const char *path = in, *inm = in + strlen(in) + (strlen(in) < size ? 1 : 0);
	const gw_static_file *f = gw_static_lookup(&st, path);
	if (f != NULL && f != st.index && strcmp(f->path, path) != 0)
		abort();
	if (f != NULL && (strstr(path, "/.") != NULL || strchr(path, '%') != NULL))
		abort();
	(void)gw_etag_none_match(inm, files[0].etag);
	(void)gw_static_accepts_gzip(inm);
	if (!gw_static_accepts_gzip("br, gzip") || gw_static_accepts_gzip("br"))
		abort();
	/* what a well-formed list matches: fuzz_etag.c */
	free(in);
	return 0;
}
