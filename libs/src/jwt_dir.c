/* Verification keys by key id from a folder (HD_JWT_KEYS_DIR; hd/jwt.h;
 * docs/operations.md, Key rotation): one file per key, named by its kid,
 * holding the HS256 secret or the RS256/ES256 public key PEM — the layout a
 * Kubernetes Secret mounted as a volume gives (its `..data` links and other
 * dot names are skipped). They are the keys of a rotation: the next one
 * before any signer uses it, the previous one until every token it signed
 * has expired. The current key (HD_JWT_KID) comes from the usual settings; a
 * file of that name is ignored. Read once, at start. */
#include "jwt_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

#include "hd/config.h"
#include "hd/log.h"

#define JWT_DIR_MAX_FILE 65536

/* True for a kid we accept as a file name: 1..63 of [A-Za-z0-9._-], not
 * starting with a dot. */
static bool jwt_dir_kid_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(((hd_jwt_vkey *)0)->kid) || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Reads path (a regular file, non-empty, bounded) into a malloc'ed buffer. */
static hd_err jwt_dir_read(const char *path, unsigned char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return HD_ERR_INVALID;
	unsigned char *buf = malloc(JWT_DIR_MAX_FILE + 1);
	size_t n = buf != NULL ? fread(buf, 1, JWT_DIR_MAX_FILE + 1, f) : 0;
	bool failed = ferror(f) != 0;
	fclose(f);
	if (buf == NULL || failed || n == 0 || n > JWT_DIR_MAX_FILE) {
		free(buf);
		return HD_ERR_INVALID;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return HD_OK;
}

/* An HS256 secret from a file: without its trailing line break (what
 * `kubectl create secret --from-file` and editors leave); the same rules as
 * HD_JWT_SECRET. */
static bool jwt_dir_secret_ok(const char *kid, unsigned char *key, size_t *len)
{
	while (*len > 0 && (key[*len - 1] == '\n' || key[*len - 1] == '\r'))
		key[--*len] = '\0';
	if (*len == 0 || (*len < 32 && hd_config_production())) {
		hd_log_error("HD_JWT_KEYS_DIR: the secret of kid %s is empty or, with "
		             "HD_ENV=production, shorter than 32 bytes",
		    kid);
		return false;
	}
	return true;
}

/* Adds the key in file name of dir to keys->more, unless it is the current kid. */
static hd_err jwt_dir_add(hd_jwt_keys *keys, const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n <= 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return HD_OK; /* a folder or a dangling link: not a key */
	if (!jwt_dir_kid_ok(name)) {
		hd_log_error(
		    "HD_JWT_KEYS_DIR: %s is not a key id (1-63 of A-Z a-z 0-9 . _ -)", name);
		return HD_ERR_INVALID;
	}
	if (strcmp(name, keys->kid) == 0)
		return HD_OK; /* the current key comes from HD_JWT_SECRET / _KEY_FILE */
	if (keys->nmore == HD_JWT_MAX_KEYS) {
		hd_log_error("HD_JWT_KEYS_DIR holds more than %d keys", HD_JWT_MAX_KEYS);
		return HD_ERR_INVALID;
	}
	hd_jwt_vkey *k = &keys->more[keys->nmore];
	if (jwt_dir_read(path, &k->key, &k->key_len) != HD_OK) {
		hd_log_error("HD_JWT_KEYS_DIR: cannot read the key of kid %s (empty, "
		             "unreadable or too large)",
		    name);
		return HD_ERR_INVALID;
	}
	keys->nmore++;
	snprintf(k->kid, sizeof k->kid, "%s", name);
	bool ok = keys->alg == HD_JWT_HS256 ? jwt_dir_secret_ok(name, k->key, &k->key_len)
	                                    : hd__jwt_public_key_ok(keys->alg, k->key, k->key_len);
	if (!ok && keys->alg != HD_JWT_HS256)
		hd_log_error("HD_JWT_KEYS_DIR: the key of kid %s is not a public key for "
		             "HD_JWT_ALG",
		    name);
	return ok ? HD_OK : HD_ERR_INVALID;
}

static int jwt_dir_kid_cmp(const void *a, const void *b)
{
	return strcmp(((const hd_jwt_vkey *)a)->kid, ((const hd_jwt_vkey *)b)->kid);
}

hd_err hd__jwt_dir_load(hd_jwt_keys *keys, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		hd_log_error("HD_JWT_KEYS_DIR=%s: %s", dir, strerror(errno));
		return HD_ERR_INVALID;
	}
	hd_err err = HD_OK;
	for (struct dirent *e = readdir(d); err == HD_OK && e != NULL; e = readdir(d))
		if (e->d_name[0] != '.')
			err = jwt_dir_add(keys, dir, e->d_name);
	closedir(d);
	if (err == HD_OK) /* in kid order: the JWKS is the same on every replica */
		qsort(keys->more, keys->nmore, sizeof keys->more[0], jwt_dir_kid_cmp);
	return err;
}

void hd__jwt_dir_free(hd_jwt_keys *keys)
{
	for (size_t i = 0; i < keys->nmore; i++) {
		if (keys->more[i].key != NULL)
			OPENSSL_cleanse(keys->more[i].key, keys->more[i].key_len);
		free(keys->more[i].key);
		keys->more[i] = (hd_jwt_vkey) { .kid = "" };
	}
	keys->nmore = 0;
}
