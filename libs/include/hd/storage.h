/* Where attachment bytes live: one interface, two backends chosen by
 * HD_STORAGE_BACKEND (docs/operations.md, Attachments and storage):
 *   local  files under HD_STORAGE_DIR (the default; `make run`: var/attachments),
 *          written to a temporary name, fsync'ed, then renamed, so a reader
 *          never sees half an object;
 *   s3     an S3-compatible bucket through libcurl's CURLOPT_AWS_SIGV4
 *          (endpoint, bucket, region, path-style or virtual-host addressing,
 *          server-side encryption requested with HD_S3_SSE).
 * Keys are "<tenant uuid>/<attachment uuid>" (hd_storage_key_valid). Every
 * call blocks on I/O: daemons call it from their CPU pool
 * (hd_daemon_cpu_pool), never from a worker loop. A hd_storage is shared by
 * threads (it holds only settings); libcurl's global state is set up by
 * hd_storage_open, which must run before other threads use libcurl. libcurl
 * is this module's alone (link with pkg-config's libcurl). */
#ifndef HD_STORAGE_H
#define HD_STORAGE_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

#define HD_STORAGE_KEY_MAX 80
#define HD_SHA256_HEX 64

typedef enum hd_storage_backend { HD_STORAGE_LOCAL, HD_STORAGE_S3 } hd_storage_backend;

/* An S3-compatible bucket. endpoint: "https://s3.eu-west-1.amazonaws.com" or
 * "http://127.0.0.1:9000" (no path); path_style: URL endpoint/bucket/key
 * (MinIO, s3rver) instead of bucket.host/key; sse: the
 * x-amz-server-side-encryption value ("AES256", "aws:kms"; "" for none). */
typedef struct hd_s3_config {
	char endpoint[256];
	char bucket[64];
	char region[32];
	bool path_style;
	char access_key[128];
	char secret_key[128];
	char sse[32];
	long timeout_ms;
} hd_s3_config;

typedef struct hd_storage_config {
	hd_storage_backend backend;
	char dir[512];
	hd_s3_config s3;
} hd_storage_config;

/* A settings source for hd_storage_config_parse: the value of name or NULL. */
typedef const char *(*hd_storage_getenv)(const char *name, void *arg);

/* Reads HD_STORAGE_BACKEND, HD_STORAGE_DIR and HD_S3_* through get into out.
 * HD_ERR_INVALID with why (no secret in it) when a setting is malformed or a
 * required one is missing. Pure, for tests. */
hd_err hd_storage_config_parse(
    hd_storage_config *out, hd_storage_getenv get, void *arg, char why[160]);
/* The same from the process's settings (hd/config.h), logging why. */
hd_err hd_storage_config_load(hd_storage_config *out);

/* The URL of key in c's bucket (path-style or virtual-host); HD_ERR_TOO_LARGE
 * when it does not fit size. Pure, for tests. */
hd_err hd_s3_object_url(const hd_s3_config *c, const char *key, char *out, size_t size);
/* The x-amz-... signing scope libcurl takes ("aws:amz:<region>:s3"). */
hd_err hd_s3_sigv4_scope(const hd_s3_config *c, char *out, size_t size);

/* True when key is "<uuid>/<uuid>" in lower-case hex (nothing else reaches
 * a file name or a URL). */
bool hd_storage_key_valid(const char *key);
/* Writes "<tenant>/<id>" into out; false when either is not a UUID. */
bool hd_storage_key(const char *tenant_id, const char *id, char out[HD_STORAGE_KEY_MAX]);

typedef struct hd_storage hd_storage;

/* Opens the backend of cfg (copied): local creates dir when missing. */
hd_err hd_storage_open(hd_storage **out, const hd_storage_config *cfg);
/* Frees s (NULL ok). */
void hd_storage_close(hd_storage *s);
/* Which backend s uses. */
hd_storage_backend hd_storage_kind(const hd_storage *s);

/* Stores len bytes of data under key, whole or not at all. sha256_hex is
 * their SHA-256 in lower-case hex (the S3 request's signed payload hash;
 * the caller computed it anyway). Overwrites an object of the same key. */
hd_err hd_storage_put(hd_storage *s, const char *key, const void *data, size_t len,
    const char sha256_hex[HD_SHA256_HEX + 1]);

/* Receives an object's bytes in order; false stops the transfer
 * (hd_storage_get then returns HD_ERR_CLOSED). */
typedef bool (*hd_storage_sink)(const void *chunk, size_t len, void *arg);
/* Streams key's bytes to sink in chunks (never the whole object at once);
 * HD_ERR_NOT_FOUND when there is no such object. */
hd_err hd_storage_get(hd_storage *s, const char *key, hd_storage_sink sink, void *arg);
/* Removes key; an absent object is HD_OK. */
hd_err hd_storage_delete(hd_storage *s, const char *key);

/* SHA-256 of data as lower-case hex. */
void hd_sha256_hex(const void *data, size_t len, char out[HD_SHA256_HEX + 1]);

#endif
