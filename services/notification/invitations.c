/* mail.invitation: hd-auth's peer call that mails an invitation
 * (docs/architecture.md, "Invitations"). Not a route of the gateway; the
 * caller is the staff member who invited (admin or agent), forwarded by
 * hd-auth, and the mail is queued under their tenant for the user hd-auth
 * names (notification.queue_invitation, sql/007_invitations.sql), with the
 * link HD_PUBLIC_URL/invitation#token=<token>. The token is checked for
 * shape (it goes into a URL) and never logged. Repeatable: the same
 * invitation is queued once. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "hd/config.h"
#include "hd/json.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/uuid.h"
#include "notification.h"

#define NT_TOKEN_MAX 127
#define NT_LINK_MAX 768

static const char sql_queue[]
    = "SELECT notification.queue_invitation($1::uuid, $2::uuid, $3::uuid, $4, $5)";

static void nt_invitation_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	const char *outcome = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (err != HD_OK) {
		hd_reply_db_error(req, err, res);
		return;
	}
	if (outcome == NULL || strcmp(outcome, "queued") != 0) {
		hd_reply_not_found(req, "user");
		return;
	}
	nt_dispatch_wake();
	hd_daemon_reply_json(req, 201, "{}", 2, NULL);
}

/* True when s is a token hd-auth makes: "<uuid>.<base64url>". */
static bool nt_token_ok(const char *s)
{
	size_t n = strlen(s);
	return n > HD_UUID_STRLEN + 1 && s[HD_UUID_STRLEN] == '.'
	    && strspn(s, "0123456789abcdefABCDEF-") == HD_UUID_STRLEN
	    && strspn(s + HD_UUID_STRLEN + 1,
	           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
	    == n - HD_UUID_STRLEN - 1;
}

/* A required UUID member key into *out (an error naming it otherwise). */
static void nt_uuid_get(const cJSON *body, const char *key, const char **out, hd_field_errors *errs)
{
	if (hd_json_get_string(body, key, true, HD_UUID_STRLEN, HD_UUID_STRLEN, out, errs)
	    && !hd_uuid_valid(*out)) {
		hd_field_errors_add(errs, key, "must be a UUID");
		*out = NULL;
	}
}

void nt_mail_invitation(hd_rpc_request *req, hd_daemon_worker *dw)
{
	static const char *const known[]
	    = { "invitation_id", "user_id", "expires_at", "token", NULL };
	hd_field_errors errs = { .count = 0 };
	const char *invitation = NULL, *user = NULL, *expires = NULL, *token = NULL;
	char link[NT_LINK_MAX];
	hd_caller c;
	cJSON *body = NULL;

	if (!hd_caller_get(req, &c) || !hd_caller_require(req, &c, HD_ROLES_STAFF)
	    || !hd_req_body(req, known, &body))
		return;
	nt_uuid_get(body, "invitation_id", &invitation, &errs);
	nt_uuid_get(body, "user_id", &user, &errs);
	hd_json_get_string(body, "expires_at", true, 1, 40, &expires, &errs);
	if (hd_json_get_string(body, "token", true, 1, NT_TOKEN_MAX, &token, &errs)
	    && !nt_token_ok(token))
		hd_field_errors_add(&errs, "token", "is not an invitation token");
	int n = token != NULL ? snprintf(link, sizeof link, "%s/invitation#token=%s",
	            hd_config_str("HD_PUBLIC_URL"), token)
	                      : 0;
	if (errs.count == 0 && (n <= 0 || (size_t)n >= sizeof link))
		hd_field_errors_add(
		    &errs, "token", "makes a link longer than HD_PUBLIC_URL allows");
	if (!hd_reply_invalid(req, &errs)) {
		const char *p[5] = { c.tenant_id, invitation, user, link, expires };
		hd_db_stmt st = { sql_queue, 5, p };
		hd_daemon_db_run(dw, req, c.tenant_id, &st, 1, nt_invitation_cb, req);
	}
	OPENSSL_cleanse(link, sizeof link);
	if (token != NULL)
		OPENSSL_cleanse((char *)token, strlen(token));
	cJSON_Delete(body);
}
