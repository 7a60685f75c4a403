/* `hd-notification --reseal-mail` (docs/operations.md, "Rotating
 * HD_MAIL_KEY"): after HD_MAIL_KEY got a new value and the old one moved to
 * HD_MAIL_KEY_PREVIOUS, every stored mailbox password that only the
 * previous key opens is sealed again with the current one, so the previous
 * key can then be dropped. Runs as the schema's owner
 * (HD_DATABASE_ADMIN_URL: the dispatcher policy lets it see every tenant),
 * one mailbox at a time; each update only replaces the sealed text it read,
 * so a password changed meanwhile through the API is left alone. Secrets
 * never reach the log: mailboxes are named by tenant and id. */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include "hd/log.h"
#include "notification.h"

static const char sql_sealed[]
    = "SELECT COALESCE(json_agg(json_build_array(tenant_id, id, password_sealed)"
      " ORDER BY tenant_id, id), '[]')::text FROM notification.email_channels";
static const char sql_reseal[]
    = "UPDATE notification.email_channels SET password_sealed = $3"
      " WHERE tenant_id = $1::uuid AND id = $2::uuid AND password_sealed = $4";

typedef struct reseal_counts {
	int resealed, current, unreadable;
} reseal_counts;

/* One mailbox [tenant, id, sealed]: sealed again when it is stale. */
static void reseal_one(
    const char *url, const nt_seal_keys *keys, const cJSON *row, reseal_counts *n)
{
	const char *tenant = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
	const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(row, 1));
	const char *sealed = cJSON_GetStringValue(cJSON_GetArrayItem(row, 2));
	char aad[128];
	bool stale = false;
	if (tenant == NULL || id == NULL || sealed == NULL)
		return;
	snprintf(aad, sizeof aad, "%s/%s", tenant, id);
	char *secret = nt_unseal_keys(keys, aad, sealed, &stale);
	if (secret == NULL) {
		hd_log_warn(
		    "--reseal-mail: mailbox %s of tenant %s opens with neither key: set its "
		    "password again (PATCH /v1/channels/email/{id})",
		    id, tenant);
		n->unreadable++;
		return;
	}
	char *again = stale ? nt_seal(keys->current, aad, secret) : NULL;
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	if (!stale) {
		n->current++;
		return;
	}
	const char *p[4] = { tenant, id, again, sealed };
	if (again == NULL || hd_db_exec_sync(url, sql_reseal, 4, p, NULL) != HD_OK) {
		hd_log_warn(
		    "--reseal-mail: mailbox %s of tenant %s could not be sealed again", id, tenant);
		n->unreadable++;
	} else {
		n->resealed++;
	}
	free(again);
}

int nt_reseal_mail(const char *admin_url)
{
	nt_seal_keys keys;
	char *text = NULL;
	reseal_counts n = { 0, 0, 0 };
	if (!nt_seal_keys_load(&keys))
		return 1;
	if (!keys.current_set) {
		hd_log_error(
		    "--reseal-mail needs HD_MAIL_KEY (and the old key in HD_MAIL_KEY_PREVIOUS)");
		return 1;
	}
	if (hd_db_exec_sync(admin_url, sql_sealed, 0, NULL, &text) != HD_OK) {
		hd_log_error("--reseal-mail: the mailboxes could not be read");
		return 1;
	}
	cJSON *rows = cJSON_Parse(text != NULL ? text : "[]");
	bool read = rows != NULL;
	const cJSON *row;
	cJSON_ArrayForEach(row, rows)
	{
		reseal_one(admin_url, &keys, row, &n);
	}
	cJSON_Delete(rows);
	free(text);
	OPENSSL_cleanse(&keys, sizeof keys);
	hd_log_info("--reseal-mail: %d sealed again, %d already under HD_MAIL_KEY, %d unreadable",
	    n.resealed, n.current, n.unreadable);
	return read && n.unreadable == 0 ? 0 : 1;
}
