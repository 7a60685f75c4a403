/* The web console's static files (docs/web.md): the whole of HD_WEB_ROOT is
 * read into memory once at start, bounded by HD_WEB_MAX_BYTES, and served
 * from there, so a request makes no disk I/O and can only ever get a file
 * that was loaded. Symbolic links, dot files and anything but regular files
 * and directories are skipped at load, so nothing outside the root is ever
 * in the table. Pure code apart from the loading: unit-tested
 * (tests/unit/test_static.c) and fuzzed (tests/fuzz/fuzz_static.c). */
#ifndef GW_STATIC_H
#define GW_STATIC_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

#define GW_STATIC_MAX_FILES 4096
#define GW_STATIC_MAX_DEPTH 16
/* Vite writes its content-hashed bundles here: cached for a year. */
#define GW_STATIC_IMMUTABLE_DIR "/assets/"

/* Text files from this size on are also kept gzip-compressed (at level 9,
 * once, at load), when that saves at least a tenth. */
#define GW_STATIC_GZIP_MIN 1024

typedef struct gw_static_file {
	char *path; /* "/index.html", "/assets/index-3fa2b1c9.js" */
	char *body;
	size_t len;
	char *gz; /* body gzip-compressed, or NULL */
	size_t gz_len;
	const char *content_type;
	char etag[24]; /* "\"<16 hex digits>\"", a hash of body */
	char gz_etag[24]; /* the compressed representation's: "\"<same>-gz\"" */
	bool immutable; /* under GW_STATIC_IMMUTABLE_DIR */
} gw_static_file;

typedef struct gw_static {
	gw_static_file *files; /* sorted by path */
	size_t count;
	size_t bytes; /* the bodies' sizes, in all */
	const gw_static_file *index; /* "/index.html", or NULL: no console */
} gw_static;

/* True for the paths the console owns: everything but /v1, /v1/...,
 * /.well-known/... (the API's; those get the route table's 404). */
bool gw_static_owns(const char *path);

/* Reads every regular file under root into st. A root that does not exist
 * is not an error (st stays empty: the console is not installed); a root
 * whose files together (with their compressed copies) exceed max_bytes, or
 * that holds more than
 * GW_STATIC_MAX_FILES files, is HD_ERR_INVALID (logged). */
hd_err gw_static_load(gw_static *st, const char *root, size_t max_bytes);
void gw_static_free(gw_static *st);

/* The file for request path (raw, without the query): an exact file, else
 * index.html for a path that names a page of the single-page app (its last
 * segment has no dot and it is not under GW_STATIC_IMMUTABLE_DIR), else
 * NULL. A path with "%", "\", "//", a segment starting with "." (so "..")
 * or a control character is NULL: no file is named that way. */
const gw_static_file *gw_static_lookup(const gw_static *st, const char *path);

/* The content type for a file name, by its extension. */
const char *gw_static_content_type(const char *name);

/* True when Accept-Encoding value ae takes gzip (RFC 9110 §12.5.3: "gzip"
 * or "x-gzip" or "*", with a q-value other than 0). */
bool gw_static_accepts_gzip(const char *ae);

/* Cache-Control for f: a year and immutable for hashed assets, else
 * revalidate every time (index.html must never be stale). */
const char *gw_static_cache_control(const gw_static_file *f);

#endif
