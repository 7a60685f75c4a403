/* Attachment storage (hd/storage.h): a local folder or an S3-compatible
 * bucket. Both backends write whole objects or nothing: the local one
 * through a temporary file renamed into place, S3 by its single PUT. The S3
 * requests are signed by libcurl (CURLOPT_AWS_SIGV4) with the payload's
 * SHA-256 passed in x-amz-content-sha256 (libcurl signs that value instead
 * of hashing the body itself), so a PUT streams from the caller's buffer. */
#include "hd/storage.h"
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/uuid.h"

#define HD_STORAGE_CHUNK 65536

struct hd_storage {
	hd_storage_config cfg;
};

static hd_err copy_setting(char *dst, size_t size, const char *v, const char *name, char *why)
{
	if (strlen(v) >= size) {
		snprintf(why, 160, "%s is longer than %zu characters", name, size - 1);
		return HD_ERR_INVALID;
	}
	snprintf(dst, size, "%s", v);
	return HD_OK;
}

static const char *setting(hd_storage_getenv get, void *arg, const char *name, const char *def)
{
	const char *v = get(name, arg);
	return v != NULL && *v != '\0' ? v : def;
}

/* A bucket name as S3 allows it: 3-63 of [a-z0-9.-], starting and ending
 * with a letter or digit (it becomes part of a host name or a path). */
static bool bucket_valid(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.'
		        || b[i] == '-'))
			return false;
	return true;
}

/* http(s)://host[:port] with no path, query or white space. */
static bool endpoint_valid(const char *e)
{
	const char *host;
	if (strncmp(e, "https://", 8) == 0)
		host = e + 8;
	else if (strncmp(e, "http://", 7) == 0)
		host = e + 7;
	else
		return false;
	if (*host == '\0')
		return false;
	for (const char *p = host; *p != '\0'; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '['
		        || *p == ']'))
			return false;
	return true;
}

static bool region_valid(const char *r)
{
	if (*r == '\0')
		return false;
	for (const char *p = r; *p != '\0'; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			return false;
	return true;
}

static hd_err parse_bool(const char *v, bool *out)
{
	if (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0
	    || strcasecmp(v, "on") == 0)
		*out = true;
	else if (strcasecmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0
	    || strcasecmp(v, "off") == 0)
		*out = false;
	else
		return HD_ERR_INVALID;
	return HD_OK;
}

static hd_err s3_config_parse(hd_s3_config *s3, hd_storage_getenv get, void *arg, char *why)
{
	const char *endpoint = setting(get, arg, "HD_S3_ENDPOINT", "");
	const char *bucket = setting(get, arg, "HD_S3_BUCKET", "");
	const char *region = setting(get, arg, "HD_S3_REGION", "us-east-1");
	const char *sse = setting(get, arg, "HD_S3_SSE", "AES256");
	const char *timeout = setting(get, arg, "HD_S3_TIMEOUT_MS", "30000");
	char *end = NULL;
	if (!endpoint_valid(endpoint)) {
		snprintf(why, 160, "HD_S3_ENDPOINT must be http(s)://host[:port] without a path");
		return HD_ERR_INVALID;
	}
	if (!bucket_valid(bucket)) {
		snprintf(why, 160, "HD_S3_BUCKET must be 3-63 of a-z 0-9 . -");
		return HD_ERR_INVALID;
	}
	if (!region_valid(region)) {
		snprintf(why, 160, "HD_S3_REGION must be of a-z 0-9 -");
		return HD_ERR_INVALID;
	}
	if (parse_bool(setting(get, arg, "HD_S3_PATH_STYLE", "false"), &s3->path_style) != HD_OK) {
		snprintf(why, 160, "HD_S3_PATH_STYLE must be true or false");
		return HD_ERR_INVALID;
	}
	errno = 0;
	s3->timeout_ms = strtol(timeout, &end, 10);
	if (errno != 0 || *end != '\0' || s3->timeout_ms < 100 || s3->timeout_ms > 600000) {
		snprintf(why, 160, "HD_S3_TIMEOUT_MS must be 100..600000");
		return HD_ERR_INVALID;
	}
	if (strcmp(sse, "none") == 0)
		sse = "";
	if (*sse != '\0' && strcmp(sse, "AES256") != 0 && strcmp(sse, "aws:kms") != 0) {
		snprintf(why, 160, "HD_S3_SSE must be AES256, aws:kms or none");
		return HD_ERR_INVALID;
	}
	const char *ak = setting(get, arg, "HD_S3_ACCESS_KEY_ID", "");
	const char *sk = setting(get, arg, "HD_S3_SECRET_ACCESS_KEY", "");
	if (*ak == '\0' || *sk == '\0' || strchr(ak, ':') != NULL) {
		snprintf(why, 160,
		    "HD_S3_ACCESS_KEY_ID (without ':') and HD_S3_SECRET_ACCESS_KEY are required");
		return HD_ERR_INVALID;
	}
	if (copy_setting(s3->endpoint, sizeof s3->endpoint, endpoint, "HD_S3_ENDPOINT", why)
	        != HD_OK
	    || copy_setting(s3->bucket, sizeof s3->bucket, bucket, "HD_S3_BUCKET", why) != HD_OK
	    || copy_setting(s3->region, sizeof s3->region, region, "HD_S3_REGION", why) != HD_OK
	    || copy_setting(s3->sse, sizeof s3->sse, sse, "HD_S3_SSE", why) != HD_OK
	    || copy_setting(s3->access_key, sizeof s3->access_key, ak, "HD_S3_ACCESS_KEY_ID", why)
	        != HD_OK
	    || copy_setting(
	           s3->secret_key, sizeof s3->secret_key, sk, "HD_S3_SECRET_ACCESS_KEY", why)
	        != HD_OK)
		return HD_ERR_INVALID;
	return HD_OK;
}

hd_err hd_storage_config_parse(
    hd_storage_config *out, hd_storage_getenv get, void *arg, char why[160])
{
	const char *backend = setting(get, arg, "HD_STORAGE_BACKEND", "local");
	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (strcmp(backend, "local") == 0) {
		out->backend = HD_STORAGE_LOCAL;
		return copy_setting(out->dir, sizeof out->dir,
		    setting(get, arg, "HD_STORAGE_DIR", "var/attachments"), "HD_STORAGE_DIR", why);
	}
	if (strcmp(backend, "s3") == 0) {
		out->backend = HD_STORAGE_S3;
		return s3_config_parse(&out->s3, get, arg, why);
	}
	snprintf(why, 160, "HD_STORAGE_BACKEND must be local or s3");
	return HD_ERR_INVALID;
}

static const char *config_get(const char *name, void *arg)
{
	(void)arg;
	return hd_config_str(name);
}

hd_err hd_storage_config_load(hd_storage_config *out)
{
	char why[160];
	hd_err err = hd_storage_config_parse(out, config_get, NULL, why);
	if (err != HD_OK)
		hd_log(HD_LOG_ERROR, "storage settings: %s", why);
	return err;
}

hd_err hd_s3_object_url(const hd_s3_config *c, const char *key, char *out, size_t size)
{
	int n;
	if (c->path_style) {
		n = snprintf(out, size, "%s/%s/%s", c->endpoint, c->bucket, key);
	} else {
		const char *host = strstr(c->endpoint, "://") + 3;
		n = snprintf(out, size, "%.*s%s.%s/%s", (int)(host - c->endpoint), c->endpoint,
		    c->bucket, host, key);
	}
	return n < 0 || (size_t)n >= size ? HD_ERR_TOO_LARGE : HD_OK;
}

hd_err hd_s3_sigv4_scope(const hd_s3_config *c, char *out, size_t size)
{
	int n = snprintf(out, size, "aws:amz:%s:s3", c->region);
	return n < 0 || (size_t)n >= size ? HD_ERR_TOO_LARGE : HD_OK;
}

bool hd_storage_key_valid(const char *key)
{
	char part[HD_UUID_STRLEN + 1];
	const char *slash = strchr(key, '/');
	if (slash == NULL || (size_t)(slash - key) != HD_UUID_STRLEN
	    || strlen(slash + 1) != HD_UUID_STRLEN)
		return false;
	memcpy(part, key, HD_UUID_STRLEN);
	part[HD_UUID_STRLEN] = '\0';
	for (const char *p = key; *p != '\0'; p++)
		if (isupper((unsigned char)*p))
			return false;
	return hd_uuid_valid(part) && hd_uuid_valid(slash + 1);
}

bool hd_storage_key(const char *tenant_id, const char *id, char out[HD_STORAGE_KEY_MAX])
{
	snprintf(out, HD_STORAGE_KEY_MAX, "%s/%s", tenant_id, id);
	return hd_storage_key_valid(out);
}

void hd_sha256_hex(const void *data, size_t len, char out[HD_SHA256_HEX + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- local folder ---- */

static hd_err local_path(const hd_storage *s, const char *key, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", s->cfg.dir, key);
	return n < 0 || (size_t)n >= size ? HD_ERR_TOO_LARGE : HD_OK;
}

static hd_err mkdir_one(const char *path)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return HD_OK;
	hd_log(HD_LOG_ERROR, "storage: mkdir %s: %s", path, strerror(errno));
	return HD_ERR_IO;
}

/* mkdir -p: the backend's folder and its missing parents. */
static hd_err mkdir_parents(const char *path)
{
	char buf[sizeof(((hd_storage_config *)0)->dir)];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		hd_err err = mkdir_one(buf);
		*p = '/';
		if (err != HD_OK)
			return err;
	}
	return mkdir_one(buf);
}

static hd_err write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return HD_ERR_IO;
		p += n;
		len -= (size_t)n;
	}
	return HD_OK;
}

static hd_err local_put(hd_storage *s, const char *key, const void *data, size_t len)
{
	char path[700], dir[700], tmp[720];
	const char *step;
	hd_err err = local_path(s, key, path, sizeof path);
	if (err != HD_OK)
		return err;
	snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
	if ((err = mkdir_one(dir)) != HD_OK)
		return err;
	snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		step = "mkstemp";
		goto fail;
	}
	step = "write";
	if (write_all(fd, data, len) != HD_OK)
		goto fail_fd;
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail_fd;
	step = "close";
	if (close(fd) != 0)
		goto fail_tmp;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto fail_tmp;
	return HD_OK;
fail_fd:
	close(fd);
fail_tmp:
	unlink(tmp);
fail:
	hd_log(HD_LOG_ERROR, "storage: %s of %s failed: %s", step, key, strerror(errno));
	return HD_ERR_IO;
}

static hd_err local_get(hd_storage *s, const char *key, hd_storage_sink sink, void *arg)
{
	char path[700], chunk[HD_STORAGE_CHUNK];
	hd_err err = local_path(s, key, path, sizeof path);
	if (err != HD_OK)
		return err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? HD_ERR_NOT_FOUND : HD_ERR_IO;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = HD_ERR_IO;
		else if (n > 0 && !sink(chunk, (size_t)n, arg))
			err = HD_ERR_CLOSED;
		if (n <= 0 || err != HD_OK)
			break;
	}
	close(fd);
	return err;
}

static hd_err local_delete(hd_storage *s, const char *key)
{
	char path[700];
	hd_err err = local_path(s, key, path, sizeof path);
	if (err != HD_OK)
		return err;
	return unlink(path) == 0 || errno == ENOENT ? HD_OK : HD_ERR_IO;
}

/* ---- S3 ---- */

typedef struct s3_body {
	const char *data;
	size_t len, off;
} s3_body;

typedef struct s3_sink {
	hd_storage_sink sink;
	void *arg;
	long status; /* filled once the headers came */
	CURL *curl;
	bool stopped;
} s3_sink;

static size_t s3_read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	s3_body *b = arg;
	size_t n = size * nmemb;
	if (n > b->len - b->off)
		n = b->len - b->off;
	memcpy(buf, b->data + b->off, n);
	b->off += n;
	return n;
}

/* A GET's body goes to the sink only on 200 (an error's XML is dropped). */
static size_t s3_write_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	s3_sink *s = arg;
	size_t n = size * nmemb;
	if (s->status == 0)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200 || s->sink == NULL)
		return n;
	if (!s->sink(buf, n, s->arg)) {
		s->stopped = true;
		return 0;
	}
	return n;
}

/* One signed request: method, key, the headers to add, an upload body or
 * NULL, a sink for the answer's body or NULL. *status: the HTTP status. */
static hd_err s3_request(hd_storage *s, const char *method, const char *key,
    struct curl_slist *headers, s3_body *up, s3_sink *down, long *status)
{
	const hd_s3_config *c = &s->cfg.s3;
	char url[512], scope[64], userpwd[300];
	s3_sink drop = { 0 };
	hd_err err = hd_s3_object_url(c, key, url, sizeof url);
	if (err == HD_OK)
		err = hd_s3_sigv4_scope(c, scope, sizeof scope);
	if (err != HD_OK)
		return err;
	snprintf(userpwd, sizeof userpwd, "%s:%s", c->access_key, c->secret_key);
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return HD_ERR_NOMEM;
	if (down == NULL)
		down = &drop;
	down->curl = curl;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, scope);
	curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, down);
	if (up != NULL) {
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(curl, CURLOPT_READDATA, up);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(curl);
	explicit_bzero(userpwd, sizeof userpwd);
	if (down->stopped)
		return HD_ERR_CLOSED;
	if (rc != CURLE_OK) {
		hd_log(HD_LOG_ERROR, "storage: S3 %s %s: %s", method, key, curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? HD_ERR_TIMEOUT : HD_ERR_UNAVAILABLE;
	}
	return HD_OK;
}

static struct curl_slist *header_add(struct curl_slist *l, const char *name, const char *value)
{
	char line[160];
	snprintf(line, sizeof line, "%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(l, line);
	if (n == NULL)
		curl_slist_free_all(l);
	return n;
}

static hd_err s3_status_err(const char *method, const char *key, long status)
{
	if (status >= 200 && status < 300)
		return HD_OK;
	if (status == 404)
		return HD_ERR_NOT_FOUND;
	hd_log(HD_LOG_ERROR, "storage: S3 %s %s answered %ld", method, key, status);
	return HD_ERR_UNAVAILABLE;
}

static hd_err s3_put(
    hd_storage *s, const char *key, const void *data, size_t len, const char *sha256_hex)
{
	struct curl_slist *h = header_add(NULL, "x-amz-content-sha256", sha256_hex);
	h = h ? header_add(h, "Content-Type", "application/octet-stream") : NULL;
	if (h != NULL && s->cfg.s3.sse[0] != '\0')
		h = header_add(h, "x-amz-server-side-encryption", s->cfg.s3.sse);
	if (h == NULL)
		return HD_ERR_NOMEM;
	s3_body up = { data, len, 0 };
	long status = 0;
	hd_err err = s3_request(s, "PUT", key, h, &up, NULL, &status);
	curl_slist_free_all(h);
	return err != HD_OK ? err : s3_status_err("PUT", key, status);
}

/* The empty body's SHA-256: what GET and DELETE sign. */
#define HD_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static hd_err s3_get(hd_storage *s, const char *key, hd_storage_sink sink, void *arg)
{
	struct curl_slist *h = header_add(NULL, "x-amz-content-sha256", HD_SHA256_EMPTY);
	if (h == NULL)
		return HD_ERR_NOMEM;
	s3_sink down = { .sink = sink, .arg = arg };
	long status = 0;
	hd_err err = s3_request(s, "GET", key, h, NULL, &down, &status);
	curl_slist_free_all(h);
	return err != HD_OK ? err : s3_status_err("GET", key, status);
}

static hd_err s3_delete(hd_storage *s, const char *key)
{
	struct curl_slist *h = header_add(NULL, "x-amz-content-sha256", HD_SHA256_EMPTY);
	if (h == NULL)
		return HD_ERR_NOMEM;
	long status = 0;
	hd_err err = s3_request(s, "DELETE", key, h, NULL, NULL, &status);
	curl_slist_free_all(h);
	if (err == HD_OK && status == 404)
		return HD_OK;
	return err != HD_OK ? err : s3_status_err("DELETE", key, status);
}

/* ---- the interface ---- */

hd_err hd_storage_open(hd_storage **out, const hd_storage_config *cfg)
{
	hd_storage *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return HD_ERR_NOMEM;
	s->cfg = *cfg;
	if (cfg->backend == HD_STORAGE_LOCAL && mkdir_parents(cfg->dir) != HD_OK) {
		free(s);
		return HD_ERR_IO;
	}
	if (cfg->backend == HD_STORAGE_S3 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(s);
		return HD_ERR_INTERNAL;
	}
	*out = s;
	return HD_OK;
}

void hd_storage_close(hd_storage *s)
{
	if (s == NULL)
		return;
	explicit_bzero(&s->cfg.s3, sizeof s->cfg.s3);
	free(s);
}

hd_storage_backend hd_storage_kind(const hd_storage *s)
{
	return s->cfg.backend;
}

hd_err hd_storage_put(hd_storage *s, const char *key, const void *data, size_t len,
    const char sha256_hex[HD_SHA256_HEX + 1])
{
	if (!hd_storage_key_valid(key))
		return HD_ERR_INVALID;
	return s->cfg.backend == HD_STORAGE_S3 ? s3_put(s, key, data, len, sha256_hex)
	                                       : local_put(s, key, data, len);
}

hd_err hd_storage_get(hd_storage *s, const char *key, hd_storage_sink sink, void *arg)
{
	if (!hd_storage_key_valid(key))
		return HD_ERR_INVALID;
	return s->cfg.backend == HD_STORAGE_S3 ? s3_get(s, key, sink, arg)
	                                       : local_get(s, key, sink, arg);
}

hd_err hd_storage_delete(hd_storage *s, const char *key)
{
	if (!hd_storage_key_valid(key))
		return HD_ERR_INVALID;
	return s->cfg.backend == HD_STORAGE_S3 ? s3_delete(s, key) : local_delete(s, key);
}
