/* The web console's files in memory (static.h, docs/web.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "hd/log.h"
#include "etag.h"
#include "static.h"

#define PATH_MAX_LEN 512

bool gw_static_owns(const char *path)
{
	if (strcmp(path, "/v1") == 0 || strncmp(path, "/v1/", 4) == 0)
		return false;
	return strncmp(path, "/.well-known/", 13) != 0;
}

static const struct {
	const char *ext;
	const char *type;
} content_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "txt", "text/plain; charset=utf-8" },
};

const char *gw_static_content_type(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash != NULL ? slash : name, '.');
	if (dot != NULL)
		for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++)
			if (strcasecmp(dot + 1, content_types[i].ext) == 0)
				return content_types[i].type;
	return "application/octet-stream";
}

/* The q-value of one Accept-Encoding element's parameters at p (up to
 * end): 0 only for q=0, q=0., q=0.0, ... */
static bool q_is_zero(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && (q = memchr(q, ';', (size_t)(end - q))) != NULL) {
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
			q += 2;
			if (q >= end || *q != '0')
				return false;
			for (q++; q < end && (*q == '.' || *q == '0'); q++)
				;
			return q >= end || *q == ' ' || *q == '\t' || *q == ';';
		}
	}
	return false;
}

bool gw_static_accepts_gzip(const char *ae)
{
	const char *p = ae;
	if (ae == NULL)
		return false;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p + strcspn(p, ",");
		size_t name = strcspn(p, ";, \t");
		if (name > (size_t)(end - p))
			name = (size_t)(end - p);
		bool gzip = (name == 4 && strncasecmp(p, "gzip", 4) == 0)
		    || (name == 6 && strncasecmp(p, "x-gzip", 6) == 0) || (name == 1 && *p == '*');
		if (gzip && !q_is_zero(p + name, end))
			return true;
		p = end;
	}
	return false;
}

const char *gw_static_cache_control(const gw_static_file *f)
{
	return f->immutable ? "public, max-age=31536000, immutable" : "no-cache";
}

/* True when no file could be named by path (see gw_static_lookup). */
static bool path_refused(const char *path)
{
	if (path[0] != '/' || strlen(path) >= PATH_MAX_LEN)
		return true;
	for (const char *p = path; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f || ch == '%' || ch == '\\')
			return true;
		if (ch == '/' && (p[1] == '/' || p[1] == '.'))
			return true;
	}
	return false;
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_static_file *)a)->path, ((const gw_static_file *)b)->path);
}

/* The loaded file at exactly path, or NULL. */
static const gw_static_file *file_find(const gw_static *st, const char *path)
{
	gw_static_file key = { .path = (char *)path };
	if (st->count == 0)
		return NULL;
	return bsearch(&key, st->files, st->count, sizeof(*st->files), file_cmp);
}

const gw_static_file *gw_static_lookup(const gw_static *st, const char *path)
{
	if (st->index == NULL || path_refused(path))
		return NULL;
	if (strcmp(path, "/") == 0)
		return st->index;
	const gw_static_file *f = file_find(st, path);
	if (f != NULL)
		return f;
	const char *last = strrchr(path, '/');
	if (strchr(last, '.') != NULL
	    || strncmp(path, GW_STATIC_IMMUTABLE_DIR, strlen(GW_STATIC_IMMUTABLE_DIR)) == 0)
		return NULL;
	return st->index;
}

/* A walk's state: where it loads to and its bounds. */
typedef struct walk {
	gw_static *st;
	size_t cap;
	size_t max_bytes;
	const char *root;
} walk;

/* Reads the regular file fd of size bytes into a new buffer (with a NUL
 * after them, though answers use the length). */
static hd_err file_read(int fd, size_t size, char **out)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	if (buf == NULL)
		return HD_ERR_NOMEM;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return HD_ERR_IO;
		}
		got += (size_t)n;
	}
	buf[size] = '\0';
	*out = buf;
	return HD_OK;
}

/* True for the content types worth compressing. */
static bool compressible(const char *type)
{
	return strncmp(type, "text/", 5) == 0 || strcmp(type, "application/json") == 0
	    || strcmp(type, "application/manifest+json") == 0 || strcmp(type, "image/svg+xml") == 0;
}

/* Keeps f's body gzip-compressed too when that saves a tenth and the copy
 * fits in what the files left of the bound. */
static hd_err gzip_add(walk *w, gw_static_file *f)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (f->len < GW_STATIC_GZIP_MIN || !compressible(f->content_type))
		return HD_OK;
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return HD_ERR_NOMEM;
	size_t cap = (size_t)deflateBound(&z, (uLong)f->len);
	char *out = malloc(cap);
	if (out == NULL) {
		deflateEnd(&z);
		return HD_ERR_NOMEM;
	}
	z.next_in = (Bytef *)f->body;
	z.avail_in = (uInt)f->len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	size_t len = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || len > f->len - f->len / 10 || len > w->max_bytes - w->st->bytes) {
		free(out);
		return HD_OK; /* not worth it, or no room: served as it is */
	}
	f->gz = out;
	f->gz_len = len;
	w->st->bytes += len;
	snprintf(f->gz_etag, sizeof(f->gz_etag), "%.17s-gz\"", f->etag);
	return HD_OK;
}

static hd_err file_add(walk *w, int dirfd, const char *name, const char *url_path)
{
	gw_static *st = w->st;
	struct stat sb;
	hd_err err;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return HD_OK; /* gone or changed kind since the listing: skipped */
	}
	size_t size = (size_t)sb.st_size;
	if (st->count >= GW_STATIC_MAX_FILES || size > w->max_bytes - st->bytes) {
		close(fd);
		hd_log_error(
		    "HD_WEB_ROOT %s: more than %d files or %zu bytes (HD_WEB_MAX_BYTES) at %s",
		    w->root, GW_STATIC_MAX_FILES, w->max_bytes, url_path);
		return HD_ERR_INVALID;
	}
	if (st->count == w->cap) {
		size_t cap = w->cap > 0 ? 2 * w->cap : 64;
		gw_static_file *files = realloc(st->files, cap * sizeof(*files));
		if (files == NULL) {
			close(fd);
			return HD_ERR_NOMEM;
		}
		st->files = files;
		w->cap = cap;
	}
	gw_static_file *f = &st->files[st->count];
	memset(f, 0, sizeof(*f));
	err = file_read(fd, size, &f->body);
	close(fd);
	if (err != HD_OK)
		return err;
	if ((f->path = strdup(url_path)) == NULL) {
		free(f->body);
		return HD_ERR_NOMEM;
	}
	f->len = size;
	f->content_type = gw_static_content_type(name);
	gw_etag_make(f->body, size, f->etag, sizeof(f->etag));
	f->immutable
	    = strncmp(url_path, GW_STATIC_IMMUTABLE_DIR, strlen(GW_STATIC_IMMUTABLE_DIR)) == 0;
	st->count++;
	st->bytes += size;
	return HD_OK;
}

static hd_err dir_walk(walk *w, int dirfd, const char *prefix, int depth);

/* One entry of a directory: a file, a directory to descend, or skipped. */
static hd_err entry_add(walk *w, int dirfd, const char *prefix, const char *name, int depth)
{
	char url_path[PATH_MAX_LEN];
	struct stat sb;
	if (name[0] == '.' || fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return HD_OK;
	int n = snprintf(url_path, sizeof(url_path), "%s/%s", prefix, name);
	if (n < 0 || (size_t)n >= sizeof(url_path) || path_refused(url_path))
		return HD_OK; /* a name no request could reach */
	if (S_ISREG(sb.st_mode))
		return file_add(w, dirfd, name, url_path);
	if (!S_ISDIR(sb.st_mode) || depth >= GW_STATIC_MAX_DEPTH)
		return HD_OK; /* symbolic links, devices, sockets: never served */
	int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return HD_OK;
	return dir_walk(w, sub, url_path, depth + 1);
}

/* Loads the directory dirfd (closed here) whose URL path is prefix. */
static hd_err dir_walk(walk *w, int dirfd, const char *prefix, int depth)
{
	DIR *dir = fdopendir(dirfd);
	hd_err err = HD_OK;
	if (dir == NULL) {
		close(dirfd);
		return HD_ERR_IO;
	}
	const struct dirent *de;
	while (err == HD_OK && (de = readdir(dir)) != NULL)
		err = entry_add(w, dirfd, prefix, de->d_name, depth);
	closedir(dir);
	return err;
}

hd_err gw_static_load(gw_static *st, const char *root, size_t max_bytes)
{
	memset(st, 0, sizeof(*st));
	walk w = { .st = st, .max_bytes = max_bytes, .root = root };
	int fd = root[0] != '\0' ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0) {
		hd_log_warn("HD_WEB_ROOT %s: no such folder, the web console is not served "
		            "(build it: make run, docs/web.md)",
		    root);
		return HD_OK;
	}
	hd_err err = dir_walk(&w, fd, "", 0);
	for (size_t i = 0; err == HD_OK && i < st->count; i++)
		err = gzip_add(&w, &st->files[i]);
	if (err != HD_OK) {
		gw_static_free(st);
		return err;
	}
	if (st->count > 0)
		qsort(st->files, st->count, sizeof(*st->files), file_cmp);
	st->index = file_find(st, "/index.html");
	if (st->index == NULL)
		hd_log_warn(
		    "HD_WEB_ROOT %s has no index.html: the web console is not served", root);
	return HD_OK;
}

void gw_static_free(gw_static *st)
{
	for (size_t i = 0; i < st->count; i++) {
		free(st->files[i].path);
		free(st->files[i].body);
		free(st->files[i].gz);
	}
	free(st->files);
	memset(st, 0, sizeof(*st));
}
