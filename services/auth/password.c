/* Password hashing: argon2id (t=4, m=9216 KiB, p=1: one of OWASP's
 * equivalent minimum settings, chosen over t=2/m=19 MiB for the same CPU
 * time with half the memory, so HD_CPU_THREADS hashes at once keep hd-auth
 * under its 32 MiB; docs/architecture.md, "Passwords") run on the daemon's
 * CPU pool so a ~30 ms hash never blocks a worker loop; the result comes
 * back on the worker that asked. Hashes made with earlier settings carry
 * them in their encoding and still verify. Plaintext copies are wiped. */
#include <argon2.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "auth.h"
#include "hd/log.h"

#define ARGON_T 4
#define ARGON_M 9216
#define ARGON_P 1
#define ARGON_SALT 16
#define ARGON_HASHLEN 32

/* One job; owned by the CPU pool between submit and done, freed in done. */
typedef struct pw_job {
	char password[AUTH_PASSWORD_BYTES + 1];
	char hash[AUTH_HASH_MAX];
	bool verify;
	bool ok;
	auth_password_cb cb;
	void *arg;
} pw_job;

hd_err auth_password_hash_sync(const char *password, char out[AUTH_HASH_MAX])
{
	unsigned char salt[ARGON_SALT];

	if (argon2_encodedlen(ARGON_T, ARGON_M, ARGON_P, ARGON_SALT, ARGON_HASHLEN, Argon2_id)
	    > AUTH_HASH_MAX)
		return HD_ERR_INTERNAL;
	if (RAND_bytes(salt, sizeof salt) != 1)
		return HD_ERR_INTERNAL;
	int rc = argon2id_hash_encoded(ARGON_T, ARGON_M, ARGON_P, password, strlen(password), salt,
	    sizeof salt, ARGON_HASHLEN, out, AUTH_HASH_MAX);
	if (rc != ARGON2_OK) {
		hd_log_error("auth: argon2id_hash_encoded: %s", argon2_error_message(rc));
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

static void pw_work(void *arg)
{
	pw_job *job = arg;

	if (job->verify) {
		job->ok
		    = argon2id_verify(job->hash, job->password, strlen(job->password)) == ARGON2_OK;
	} else {
		job->ok = auth_password_hash_sync(job->password, job->hash) == HD_OK;
	}
	OPENSSL_cleanse(job->password, sizeof job->password);
}

static void pw_done(void *arg)
{
	pw_job *job = arg;

	job->cb(job->ok, job->verify ? NULL : job->hash, job->arg);
	free(job);
}

static hd_err pw_submit(hd_worker *w, const char *hash, const char *password, bool verify,
    auth_password_cb cb, void *arg)
{
	pw_job *job = calloc(1, sizeof *job);

	if (job == NULL)
		return HD_ERR_NOMEM;
	if (strlen(password) > AUTH_PASSWORD_BYTES
	    || (hash != NULL && strlen(hash) >= AUTH_HASH_MAX)) {
		free(job);
		return HD_ERR_INVALID;
	}
	strcpy(job->password, password);
	if (hash != NULL)
		strcpy(job->hash, hash);
	job->verify = verify;
	job->cb = cb;
	job->arg = arg;
	hd_err err = hd_cpu_pool_submit(hd_daemon_cpu_pool(), pw_work, pw_done, job, w);
	if (err != HD_OK) {
		OPENSSL_cleanse(job->password, sizeof job->password);
		free(job);
	}
	return err;
}

hd_err auth_password_hash(hd_worker *w, const char *password, auth_password_cb cb, void *arg)
{
	return pw_submit(w, NULL, password, false, cb, arg);
}

/* With hash NULL the dummy hash is verified, so a missing user costs the
 * same time as a wrong password; the result is then forced to false. */
typedef struct pw_dummy {
	auth_password_cb cb;
	void *arg;
} pw_dummy;

static void pw_dummy_done(bool ok, const char *hash, void *arg)
{
	pw_dummy d = *(pw_dummy *)arg;

	free(arg);
	d.cb(false, NULL, d.arg);
}

hd_err auth_password_verify(
    hd_worker *w, const char *hash, const char *password, auth_password_cb cb, void *arg)
{
	if (hash != NULL)
		return pw_submit(w, hash, password, true, cb, arg);
	pw_dummy *d = malloc(sizeof *d);
	if (d == NULL)
		return HD_ERR_NOMEM;
	d->cb = cb;
	d->arg = arg;
	hd_err err = pw_submit(w, auth_cfg()->dummy_hash, password, true, pw_dummy_done, d);
	if (err != HD_OK)
		free(d);
	return err;
}
