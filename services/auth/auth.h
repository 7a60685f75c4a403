/* The auth daemon's internal contract: settings read once at start, the
 * operation handlers (one file per resource), and helpers they share —
 * request parsing and validation, replies, password hashing on the CPU pool,
 * and the token secrets. Handlers run on a worker thread; everything they
 * start (database batches, Redis commands, CPU jobs) calls back on it. */
#ifndef HD_AUTH_H
#define HD_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/ops.h"
#include "hd/idem.h"
#include "hd/request.h"
#include "hd/jwt.h"

#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256 /* characters */
#define AUTH_PASSWORD_BYTES 1024 /* UTF-8 bytes: argon2's input, never truncated */
#define AUTH_EMAIL_MAX 254
#define AUTH_NAME_MAX 200
#define AUTH_HASH_MAX 128 /* an encoded argon2id hash fits easily */
#define AUTH_REFRESH_MAX 128 /* "<tenant uuid>.<43 base64url chars>" */
#define AUTH_SHA256_HEX 65

/* Settings, loaded once by auth_settings_load (main thread) and read-only after. */
typedef struct auth_settings {
	hd_jwt_keys jwt;
	long access_ttl_s, refresh_ttl_s, leeway_s;
	long login_fail_limit, login_fail_window_s;
	char totp_issuer[64];
	char dummy_hash[AUTH_HASH_MAX]; /* verified against when no user matched */
} auth_settings;

hd_err auth_settings_load(void);
void auth_settings_fini(void);
const auth_settings *auth_cfg(void);

/* Operation handlers: one per `auth` line of proto/operations.def, declared
 * from it (hd/ops.h); main.c's table is generated the same way. */
#define HD_OPS_auth HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* --bootstrap: ensures the platform and demo tenants; returns an exit code. */
int auth_bootstrap_run(void);

/* common.c ------------------------------------------------------------ */

/* Copies a validated email, lower-cased, into out; adds an error naming
 * field when it is malformed. */
bool auth_email_get(const cJSON *obj, const char *field, bool required,
    char out[AUTH_EMAIL_MAX + 1], hd_field_errors *errs);
/* Gets a password of AUTH_PASSWORD_MIN..MAX characters and at most
 * AUTH_PASSWORD_BYTES bytes (an error naming field otherwise). */
bool auth_password_get(
    const cJSON *obj, const char *field, bool required, const char **out, hd_field_errors *errs);
/* The roles a tenant admin may hand out, NULL-ended. */
extern const char *const auth_tenant_roles[];

/* Reads one row under tenant_id and replies 200 with its first column (a
 * JSON text) and, when there is a second column, ETag "<it>"; no row is 404
 * "<resource> not found". */
void auth_fetch_one(hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant_id,
    const char *resource, const char *sql, int nparams, const char *const *params);

/* A zeroed request state of size bytes (caller frees), or NULL after
 * replying 500. */
void *auth_ctx_alloc(hd_rpc_request *req, size_t size);

/* The daemon's Idempotency-Key replies (auth.idempotency_keys, hd/idem.h). */
extern const hd_idem_table auth_idem_table;

/* password.c ---------------------------------------------------------- */

/* Result of a CPU job: ok tells whether hashing worked / the password matched. */
typedef void (*auth_password_cb)(bool ok, const char *hash, void *arg);
/* Hashes password with argon2id on the CPU pool; cb runs later on worker w. */
hd_err auth_password_hash(hd_worker *w, const char *password, auth_password_cb cb, void *arg);
/* Verifies password against hash (NULL: the dummy hash, always false) on the
 * CPU pool; cb runs later on w with hash NULL. */
hd_err auth_password_verify(
    hd_worker *w, const char *hash, const char *password, auth_password_cb cb, void *arg);
/* Blocking argon2id hash (start-up and bootstrap only). */
hd_err auth_password_hash_sync(const char *password, char out[AUTH_HASH_MAX]);

/* secret.c ------------------------------------------------------------ */

/* Writes n random bytes as base64url without padding (out: 4*n/3+4 bytes). */
hd_err auth_random_b64url(size_t n, char *out, size_t out_size);
/* Writes the lower-case hex SHA-256 of s[0..len). */
void auth_sha256_hex(const char *s, size_t len, char out[AUTH_SHA256_HEX]);

/* attempts.c ---------------------------------------------------------- */

/* Guesses of a secret (a login, a current_password), HD_LOGIN_FAIL_LIMIT per
 * HD_LOGIN_FAIL_WINDOW_S for each Redis key: reserve one before checking.
 * cb(true) when allowed; when refused the reply is sent (429 with `refused`
 * and Retry-After, or 503 without Redis) and cb(false) lets the caller free. */
typedef void (*auth_attempt_cb)(bool allowed, void *arg);
void auth_attempt_reserve(hd_rpc_request *req, hd_daemon_worker *dw, const char *key,
    const char *refused, auth_attempt_cb cb, void *arg);
/* Gives the reserved attempt back (it ended without a verdict). */
void auth_attempt_refund(hd_daemon_worker *dw, const char *key);
/* A right guess: forgets the key's failures (cb NULL: nobody waits). */
hd_err auth_attempt_clear(hd_daemon_worker *dw, const char *key, hd_redis_cb cb, void *arg);

/* sessions.c ---------------------------------------------------------- */

/* A login or refresh that succeeded: signs an access token for user and
 * replies 200 with the token pair and user_json. */
void auth_session_reply(hd_rpc_request *req, const char *user_id, const char *tenant_id,
    const char *role, const char *refresh_token, const char *user_json);
/* Builds "<tenant>.<random>", its hash and a new token id. */
hd_err auth_refresh_token_new(
    const char *tenant_id, char token[AUTH_REFRESH_MAX], char hash[AUTH_SHA256_HEX]);

/* users.c ------------------------------------------------------------ */

/* Writes the gateway's key of user_id (hd:{tenant}:user_off:<user>): off
 * ("1": every token refused), or the current Unix millisecond as not-before
 * (tokens issued earlier are refused: the gateway reads a token's issue time
 * from its UUIDv7 jti); on_again replaces an off mark (reactivation). The
 * key outlives every access token issued before it; a mark that ends
 * sessions is published so the gateways end that user's streams. cb(arg)
 * runs on dw's worker; HD_ERR_UNAVAILABLE without Redis (cb never runs). */
hd_err auth_user_mark(hd_daemon_worker *dw, const char *tenant_id, const char *user_id, bool off,
    bool on_again, hd_redis_cb cb, void *arg);

/* invitations.c ------------------------------------------------------- */

/* Opens / closes the client of hd-notification that mails invitations. */
hd_err auth_invitations_start(void);
void auth_invitations_stop(void);

/* mfa.c --------------------------------------------------------------- */

/* Checks a 6-digit code against a base32 secret at time now; on success
 * stores the accepted time step in *step. */
bool auth_totp_check(const char *secret_b32, const char *code, int64_t now, int64_t *step);

#endif
