/* E-mail through a relay that requires STARTTLS and that is down for a while
 * (docs/operations.md, E-mail). tests/run.sh runs the stack's SMTP relay with
 * tests/lib/smtpd.sh: aiosmtpd offering STARTTLS with a certificate for
 * 127.0.0.1 from a test CA that hd-notification trusts through
 * HD_SMTP_CA_FILE, and refusing mail before STARTTLS. First the relay's
 * rules are checked with libcurl (so every mail the other programs read back
 * came over TLS with a verified certificate); then the relay is stopped, a
 * ticket's acknowledgement is attempted and retried with backoff while it is
 * down, and once it is back the mail arrives, once. Environment:
 * tickets_e2e.h's, HD_SMTP_URL, HD_SMTP_CA_FILE, HD_TEST_SMTPD,
 * HD_TEST_SMTP_DIR, HD_TEST_SMTP_PORT, HD_TEST_MAILDIR,
 * HD_TEST_DATABASE_SUPER_URL. */
#include <curl/curl.h>
#include <libpq-fe.h>
#include "tickets_e2e.h"
#include "mail_e2e.h"

static const char MESSAGE[] = "From: <probe@relay.test>\r\nTo: <probe@relay.test>\r\n"
                              "Subject: relay probe\r\n\r\nprobe\r\n";

typedef struct upload {
	size_t at;
} upload;

static size_t upload_cb(char *buf, size_t size, size_t n, void *arg)
{
	upload *u = arg;
	size_t left = sizeof MESSAGE - 1 - u->at, take = size * n < left ? size * n : left;
	memcpy(buf, MESSAGE + u->at, take);
	u->at += take;
	return take;
}

/* Sends MESSAGE to the stack's relay with use_ssl (CURLUSESSL_*), trusting
 * ca (NULL: the system's CAs); libcurl's result. */
static CURLcode relay_send(long use_ssl, const char *ca)
{
	CURL *e = curl_easy_init();
	struct curl_slist *rcpt = curl_slist_append(NULL, "<probe@relay.test>");
	upload u = { 0 };
	assert_non_null(e);
	curl_easy_setopt(e, CURLOPT_URL, httpc_env("HD_SMTP_URL"));
	curl_easy_setopt(e, CURLOPT_USE_SSL, use_ssl);
	if (ca != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, "<probe@relay.test>");
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, upload_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, &u);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	CURLcode rc = curl_easy_perform(e);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(e);
	return rc;
}

static void test_relay_requires_verified_starttls(void **state)
{
	(void)state;
	const char *ca = httpc_env("HD_SMTP_CA_FILE");
	assert_int_not_equal(relay_send(CURLUSESSL_NONE, NULL), CURLE_OK); /* 530 */
	assert_int_not_equal(
	    relay_send(CURLUSESSL_ALL, "/etc/ssl/certs/ca-certificates.crt"), CURLE_OK);
	assert_int_equal(relay_send(CURLUSESSL_ALL, ca), CURLE_OK);
	free(mail_wait("Subject: relay probe", NULL));
}

/* The relay: "stop", or "start" again on its port. */
static void relay(const char *what)
{
	char cmd[1024];
	if (strcmp(what, "stop") == 0)
		snprintf(cmd, sizeof cmd, "'%s' stop '%s'", httpc_env("HD_TEST_SMTPD"),
		    httpc_env("HD_TEST_SMTP_DIR"));
	else
		snprintf(cmd, sizeof cmd, "'%s' start '%s' '%s' '%s'", httpc_env("HD_TEST_SMTPD"),
		    httpc_env("HD_TEST_SMTP_DIR"), httpc_env("HD_TEST_SMTP_PORT"),
		    httpc_env("HD_TEST_MAILDIR"));
	assert_int_equal(system(cmd), 0);
}

/* The attempts and status of the mail whose Message-ID starts with key. */
static int mail_attempts(const char *key, char status[16])
{
	PGconn *db = PQconnectdb(httpc_env("HD_TEST_DATABASE_SUPER_URL"));
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	const char *p[] = { key };
	PGresult *res = PQexecParams(db,
	    "SELECT attempts, status FROM notification.emails WHERE message_key = $1", 1, NULL, p,
	    NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	int n = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	snprintf(status, 16, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 1) : "");
	PQclear(res);
	PQfinish(db);
	return n;
}

static void test_mail_waits_for_the_relay(void **state)
{
	(void)state;
	char key[96], hdr[160], status[16] = "";
	relay("stop");
	cJSON *t = ticket_new(W.cust1, "{\"subject\":\"While the relay is down\"}");
	snprintf(key, sizeof key, "t%ld.%s", jnum(t, "number"), jstr(t, "id"));
	cJSON_Delete(t);
	/* attempted and retried with backoff (HD_WEBHOOK_RETRY_*), kept pending */
	int attempts = -1;
	for (double end = httpc_now_s() + MAIL_WAIT_S; httpc_now_s() < end && attempts < 2;
	     usleep(100 * 1000))
		attempts = mail_attempts(key, status);
	assert_true(attempts >= 2);
	assert_string_equal(status, "pending");
	snprintf(hdr, sizeof hdr, "Message-ID: <%s@", key);
	assert_null(mail_scan(hdr, NULL, NULL));

	relay("start");
	free(mail_wait(hdr, NULL));
	for (double end = httpc_now_s() + MAIL_WAIT_S;
	     httpc_now_s() < end && strcmp(status, "sent") != 0; usleep(100 * 1000))
		mail_attempts(key, status);
	assert_string_equal(status, "sent");
	int copies = 0;
	free(mail_scan(hdr, NULL, &copies));
	assert_int_equal(copies, 1);
}

static int setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? tk_setup("smtp") : -1;
}

/* The relay runs again for the programs after this one, whatever failed. */
static int teardown(void **state)
{
	char pid[512];
	snprintf(pid, sizeof pid, "%s/pid", httpc_env("HD_TEST_SMTP_DIR"));
	if (access(pid, F_OK) != 0)
		relay("start");
	return tk_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_requires_verified_starttls),
		cmocka_unit_test(test_mail_waits_for_the_relay),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
