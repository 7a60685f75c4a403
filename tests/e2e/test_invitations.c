/* Invitations (docs/architecture.md, "Invitations"; API: POST
 * /v1/users/{id}/invitations, POST /v1/auth/invitations/accept): staff invite
 * a customer who has a password nobody knows (as mail in makes them); the
 * mail reaches the stack's SMTP server (mail_e2e.h), its link's token sets
 * the password once, and login works with it. A newer invitation revokes
 * the older; a used, revoked, expired, wrong or malformed token, or one of a
 * user deactivated since, is 422 problem+json naming the token and changes
 * nothing; agents invite customers only; a deactivated user cannot be
 * invited. The token is never in the API's reply and leaves the mail queue
 * once sent. Environment: tickets_e2e.h's, HD_TEST_MAILDIR,
 * HD_TEST_DATABASE_SUPER_URL. */
#include <libpq-fe.h>
#include "tickets_e2e.h"
#include "mail_e2e.h"

#define NEW_PASSWORD "invited and chosen 1"

/* A customer of W with a password the test does not use afterwards. */
static void customer_new(const char *name, char email[128], char id[37])
{
	snprintf(email, 128, "%s@%s.test", name, W.slug);
	user_new(email, "customer", id);
}

/* POSTs an invitation of user as token; returns the status, the
 * invitation's id into inv_id when 201. */
static long invite(const char *token, const char *user, char inv_id[37])
{
	char path[128];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/users/%s/invitations", user);
	long status = req(&r, "POST", path, token, NULL);
	if (status == 201) {
		assert_string_equal(jstr(r.json, "user_id"), user);
		assert_non_null(jstr(r.json, "expires_at"));
		assert_null(strstr(r.body, "token")); /* only the mail carries it */
		snprintf(inv_id, 37, "%s", jstr(r.json, "id"));
	} else if (status >= 400) {
		assert_string_equal(httpc_header(&r, "Content-Type"), "application/problem+json");
	}
	httpc_resp_free(&r);
	return status;
}

/* The body of POST /v1/auth/invitations/accept. */
static void accept_body(char *out, size_t n, const char *token, const char *password)
{
	snprintf(out, n, "{\"token\":\"%s\",\"password\":\"%s\"}", token, password);
}

static void expect_refused(const char *token, const char *password)
{
	char body[512];
	accept_body(body, sizeof body, token, password);
	expect_invalid("POST", "/v1/auth/invitations/accept", NULL, body, "token");
}

/* True when email logs in to W's tenant with password. */
static bool logs_in(const char *email, const char *password)
{
	char *t = httpc_login(W.slug, email, password, NULL);
	free(t);
	return t != NULL;
}

/* Runs sql (one text parameter: p1) as the superuser; returns the first
 * value of its first row (malloc'ed) or NULL. */
static char *super_sql(const char *sql, const char *p1)
{
	PGconn *db = PQconnectdb(httpc_env("HD_TEST_DATABASE_SUPER_URL"));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	const char *params[] = { p1 };
	PGresult *res = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	assert_true(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
	char *v
	    = st == PGRES_TUPLES_OK && PQntuples(res) > 0 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	PQclear(res);
	PQfinish(db);
	return v;
}

static void test_invitation_sets_the_password(void **state)
{
	(void)state;
	char email[128], user[37], inv1[37], inv2[37], body[512];
	customer_new("invited", email, user);
	assert_int_equal(invite(W.admin, user, inv1), 201);
	char *token1 = mail_invitation_token(inv1, email);
	/* an agent may invite a customer; the newer invitation revokes the older */
	assert_int_equal(invite(W.agent, user, inv2), 201);
	char *token2 = mail_invitation_token(inv2, email);
	assert_string_not_equal(token1, token2);
	expect_refused(token1, NEW_PASSWORD);

	/* wrong and malformed tokens, a bad password: refused, nothing changes */
	char wrong[160];
	snprintf(wrong, sizeof wrong, "%.37sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", token2);
	expect_refused(wrong, NEW_PASSWORD);
	expect_refused("not-a-token", NEW_PASSWORD);
	accept_body(body, sizeof body, token2, "short");
	expect_invalid("POST", "/v1/auth/invitations/accept", NULL, body, "password");
	expect_invalid(
	    "POST", "/v1/auth/invitations/accept", NULL, "{\"token\":\"x\"}", "password");
	assert_false(logs_in(email, NEW_PASSWORD));

	/* the link's token sets the password, once */
	accept_body(body, sizeof body, token2, NEW_PASSWORD);
	expect(204, "POST", "/v1/auth/invitations/accept", NULL, body);
	assert_true(logs_in(email, NEW_PASSWORD));
	assert_false(logs_in(email, TK_PASSWORD));
	expect_refused(token2, "another password 2");
	assert_false(logs_in(email, "another password 2"));
	assert_true(logs_in(email, NEW_PASSWORD));

	/* the sent mail's row keeps no token */
	char *queued = NULL;
	for (double end = httpc_now_s() + MAIL_WAIT_S; httpc_now_s() < end && queued == NULL;
	     usleep(100 * 1000)) /* the relay took it before hd-notification writes so */
		queued = super_sql("SELECT body FROM notification.emails WHERE cause_id = $1::uuid "
		                   "AND status = 'sent'",
		    inv2);
	assert_non_null(queued);
	assert_null(strstr(queued, token2));
	free(queued);
	free(token1);
	free(token2);
}

static void test_invitation_refusals(void **state)
{
	(void)state;
	char email[128], user[37], inv[37];
	/* who may invite whom */
	assert_int_equal(invite(W.agent, W.admin_id, inv), 403);
	assert_int_equal(invite(W.cust1, W.cust2_id, inv), 403);
	assert_int_equal(invite(W.admin, "0190a0a0-0000-7000-8000-000000000000", inv), 404);
	assert_int_equal(invite(W.demo, W.cust1_id, inv), 404); /* another tenant's user */

	/* an expired invitation */
	customer_new("expired", email, user);
	assert_int_equal(invite(W.admin, user, inv), 201);
	char *token = mail_invitation_token(inv, email);
	free(super_sql("UPDATE auth.invitations SET expires_at = now() - interval '1 second' "
	               "WHERE id = $1::uuid",
	    inv));
	expect_refused(token, NEW_PASSWORD);
	assert_false(logs_in(email, NEW_PASSWORD));
	free(token);

	/* deactivated after the invitation: its token is refused; no new one */
	customer_new("leaver", email, user);
	assert_int_equal(invite(W.admin, user, inv), 201);
	token = mail_invitation_token(inv, email);
	char path[128];
	snprintf(path, sizeof path, "/v1/users/%s", user);
	expect(204, "DELETE", path, W.admin, NULL);
	expect_refused(token, NEW_PASSWORD);
	assert_int_equal(invite(W.admin, user, inv), 409);
	free(token);
}

static int setup(void **state)
{
	(void)state;
	return tk_setup("inv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invitation_sets_the_password),
		cmocka_unit_test(test_invitation_refusals),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
