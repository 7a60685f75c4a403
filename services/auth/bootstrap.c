/* `hd-auth --bootstrap`: makes sure the platform tenant with its platform
 * admin and the demo tenant `acme` with its admin exist (run after
 * --migrate, by `make run` and the tests). Blocking, as the owner role, one
 * statement per user through auth.bootstrap_ensure, which sets app.tenant_id
 * itself so row-level security applies. Existing users are left alone. A
 * password not given in the environment is generated and printed once.
 * With HD_ENV=production only the platform tenant is made: no demo tenant. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth.h"
#include "hd/config.h"
#include "hd/db.h"
#include "hd/log.h"
#include "hd/uuid.h"

static const char SQL_ENSURE[]
    = "SELECT auth.bootstrap_ensure($1::uuid, $2, $3, $4::uuid, lower($5), $6, $7, $8)";

typedef struct seed {
	const char *label;
	const char *slug;
	const char *tenant_name;
	const char *email_setting;
	const char *password_setting;
	const char *user_name;
	const char *role;
	bool demo; /* never made with HD_ENV=production */
} seed;

static const seed seeds[] = {
	{ "platform admin", "platform", "Platform", "HD_PLATFORM_ADMIN_EMAIL",
	    "HD_PLATFORM_ADMIN_PASSWORD", "Platform Admin", "platform_admin", false },
	{ "acme admin", "acme", "Acme Inc.", "HD_DEMO_ADMIN_EMAIL", "HD_DEMO_ADMIN_PASSWORD",
	    "Acme Admin", "admin", true },
};

static hd_err seed_run(const char *url, const seed *s)
{
	char tenant_id[HD_UUID_STRLEN + 1], user_id[HD_UUID_STRLEN + 1], hash[AUTH_HASH_MAX];
	char generated[40];
	const char *email = hd_config_str(s->email_setting);
	const char *password = hd_config_str(s->password_setting);
	char *outcome = NULL;
	hd_err err;

	if (password[0] == '\0') {
		if ((err = auth_random_b64url(18, generated, sizeof generated)) != HD_OK)
			return err;
		password = generated;
	} else if (strlen(password) < AUTH_PASSWORD_MIN || strlen(password) > AUTH_PASSWORD_MAX) {
		hd_log_error("bootstrap: %s must be %d to %d characters", s->password_setting,
		    AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		return HD_ERR_INVALID;
	}
	if ((err = hd_uuid_v7(tenant_id)) != HD_OK || (err = hd_uuid_v7(user_id)) != HD_OK
	    || (err = auth_password_hash_sync(password, hash)) != HD_OK)
		goto out;
	const char *params[]
	    = { tenant_id, s->slug, s->tenant_name, user_id, email, s->user_name, s->role, hash };
	if ((err = hd_db_exec_sync(url, SQL_ENSURE, 8, params, &outcome)) != HD_OK) {
		hd_log_error("bootstrap: ensuring %s failed: %s", s->label, hd_strerror(err));
		goto out;
	}
	if (outcome != NULL && strcmp(outcome, "created") == 0 && password == generated)
		printf("%s: %s created, password %s\n", s->label, email, generated);
	else if (outcome != NULL && strcmp(outcome, "created") == 0)
		printf("%s: %s created\n", s->label, email); /* its password is the caller's */
	else
		printf("%s: %s exists\n", s->label, email);
	fflush(stdout);
out:
	OPENSSL_cleanse(generated, sizeof generated);
	free(outcome);
	return err;
}

int auth_bootstrap_run(void)
{
	const char *url = hd_config_str("HD_DATABASE_ADMIN_URL");

	bool production = hd_config_production();

	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		if (seeds[i].demo && production) {
			printf("%s: not created (HD_ENV=production)\n", seeds[i].label);
			fflush(stdout);
			continue;
		}
		if (seed_run(url, &seeds[i]) != HD_OK)
			return 1;
	}
	return 0;
}
