/* End to end: mail in (docs/architecture.md, "Mail in"; /v1/channels/email
 * in docs/openapi.yaml). The test runner starts a real IMAP server
 * (tests/lib/imapd.sh: Debian's dovecot-imapd on a free port) with one
 * mailbox, which this program fills by writing messages into its Maildir.
 * Mailboxes: admins only, another tenant's is 404, the password is stored
 * sealed and never returned, a stale If-Match is 412, one on an internal
 * address not allowed (HD_MAIL_ALLOW_CIDRS) is never connected to. Mail: a new message
 * opens a ticket whose requester is the sender (a new customer account,
 * invited by an agent, never by itself, to set a password); a
 * reply naming our Message-ID, or "[#n]" in the subject, becomes a public
 * comment with the quoted history trimmed; a message's files become the
 * ticket's (or the comment's) attachments and download with the same bytes
 * and sha256, a file of a refused type is left out with a line in the
 * text; an auto-reply and a bounce open nothing; a message delivered twice
 * opens one ticket; hd-notification killed (-9) in the middle of a poll of
 * many messages (each with a file) loses and doubles none, nor their
 * files. A PATCH of the mailbox polls it at once, so the test need not wait
 * for its interval. Environment as tickets_e2e.h, plus HD_TEST_IMAP_DIR,
 * HD_TEST_IMAP_PORT, HD_TEST_IMAP_USER, HD_TEST_IMAP_PASSWORD,
 * HD_TEST_STACK_CTL (tests/lib/stackctl.sh), HD_TEST_STACK_DIR (its logs)
 * and HD_TEST_DATABASE_SUPER_URL. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "hd/db.h"
#include "hd/storage.h"
#include "tickets_e2e.h"
#include "mail_e2e.h"

#define WAIT_S 60
#define BATCH 40

static struct {
	char channel[37];
	char word[24]; /* a word unique to this run, for ticket searches */
	int seq;
} M;

static int setup(void **state)
{
	(void)state;
	char uuid[HD_UUID_STRLEN + 1];
	if (hd_uuid_v7(uuid) != HD_OK)
		return -1;
	snprintf(M.word, sizeof M.word, "mw%.8s%.4s", uuid + 28, uuid + 19);
	return tk_setup("mi");
}

/* Puts one message into the test mailbox (tmp/, then renamed into new/). */
static void deliver(const char *raw)
{
	char tmp[1024], dst[1024];
	const char *dir = httpc_env("HD_TEST_IMAP_DIR"), *user = httpc_env("HD_TEST_IMAP_USER");
	snprintf(
	    tmp, sizeof tmp, "%s/mail/%s/tmp/%ld.%d.e2e", dir, user, (long)time(NULL), ++M.seq);
	snprintf(dst, sizeof dst, "%s/mail/%s/new/%ld.%d.e2e", dir, user, (long)time(NULL), M.seq);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fputs(raw, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(tmp, 0666), 0);
	assert_int_equal(rename(tmp, dst), 0);
}

/* A message from from with subject, extra header lines (each ending CRLF)
 * and a text body. */
static void deliver_mail(const char *from, const char *subject, const char *headers,
    const char *message_id, const char *body)
{
	char raw[8192];
	snprintf(raw, sizeof raw,
	    "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%sMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
	    from, httpc_env("HD_TEST_IMAP_USER"), subject, message_id, headers, body);
	deliver(raw);
}

/* A PNG with NUL bytes (its signature and IHDR chunk), and its base64. */
static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',
	'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0 };
#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA="

/* A multipart/mixed message: a text body, then each file as a base64 part
 * ("type|name|base64" entries, NULL-ended). */
static void deliver_files(const char *from, const char *subject, const char *headers,
    const char *message_id, const char *body, const char *const *files)
{
	char raw[8192];
	int n = snprintf(raw, sizeof raw,
	    "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n%sMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
	    from, httpc_env("HD_TEST_IMAP_USER"), subject, message_id, headers, body);
	for (const char *const *f = files; *f != NULL; f++) {
		char type[64], name[128];
		const char *b64 = strrchr(*f, '|') + 1;
		assert_int_equal(sscanf(*f, "%63[^|]|%127[^|]|", type, name), 2);
		n += snprintf(raw + n, sizeof raw - (size_t)n,
		    "--b1\r\nContent-Type: %s\r\nContent-Disposition: attachment; "
		    "filename=\"%s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n",
		    type, name, b64);
	}
	snprintf(raw + n, sizeof raw - (size_t)n, "--b1--\r\n");
	deliver(raw);
}

/* Polls the mailbox now (a PATCH starts a poll at once); 503 while
 * hd-notification restarts (test_restart_mid_poll) is a nudge missed. */
static void poke(void)
{
	char path[128];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/channels/email/%s", M.channel);
	long status = req(&r, "PATCH", path, W.admin, "{\"active\":true}");
	if (status != 200 && status != 503)
		fprintf(stderr, "PATCH %s: %ld %s\n", path, status, r.body ? r.body : "");
	assert_true(status == 200 || status == 503);
	httpc_resp_free(&r);
}

/* The tickets of this tenant whose text has word (as W.admin). */
static int tickets_with(const char *word, char id[37], long *number)
{
	char path[256];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/tickets?q=%s&limit=100", word);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	int n = cJSON_GetArraySize(jitems(&r));
	if (n > 0 && id != NULL) {
		const cJSON *t = cJSON_GetArrayItem(jitems(&r), 0);
		snprintf(id, 37, "%s", jstr(t, "id"));
		*number = jnum(t, "number");
	}
	httpc_resp_free(&r);
	return n;
}

/* Waits until want tickets have word; pokes the mailbox meanwhile. */
static void wait_tickets(const char *word, int want, char id[37], long *number)
{
	int n = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end; usleep(300 * 1000)) {
		if ((n = tickets_with(word, id, number)) >= want)
			break;
		poke();
	}
	if (n != want)
		fprintf(stderr, "tickets with %s: %d, want %d\n", word, n, want);
	assert_int_equal(n, want);
}

/* The first value of sql (params: the channel) over the super URL, as a number. */
static long sql_number(const char *sql, const char *param)
{
	char *v = NULL;
	const char *p[2] = { M.channel, param };
	assert_int_equal(hd_db_exec_sync(httpc_env("HD_TEST_DATABASE_SUPER_URL"), sql,
	                     strstr(sql, "$2") != NULL ? 2 : 1, p, &v),
	    HD_OK);
	long n = v != NULL ? strtol(v, NULL, 10) : -1;
	free(v);
	return n;
}

/* Waits until every message delivered so far was taken (the test is the
 * mailbox's only writer, so its UIDs are 1..M.seq) and none waits to be
 * applied; pokes the mailbox meanwhile. */
static void wait_settled(void)
{
	char seq[24];
	long settled = 0;
	snprintf(seq, sizeof seq, "%d", M.seq);
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && settled != 1;
	     usleep(300 * 1000)) {
		settled
		    = sql_number("SELECT (c.last_uid >= $2::bigint AND NOT EXISTS (SELECT 1 FROM"
		                 " notification.inbound_mails m WHERE m.channel_id = c.id"
		                 " AND m.status = 'pending'))::int"
		                 " FROM notification.email_channels c WHERE c.id = $1",
		        seq);
		if (settled != 1)
			poke();
	}
	assert_int_equal(settled, 1);
}

static void test_mailbox_api(void **state)
{
	(void)state;
	char body[1024], path[128], id[37], etag_path[160];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"imap_url\":\"imap://"
	    "127.0.0.1:%s\",\"username\":\"x@y.z\",\"password\":\"pw-visible\"}",
	    httpc_env("HD_TEST_IMAP_PORT"));
	expect(403, "POST", "/v1/channels/email", W.agent, body);
	expect_invalid("POST", "/v1/channels/email", W.admin,
	    "{\"imap_url\":\"http://example.com\",\"username\":\"x\",\"password\":\"p\"}",
	    "imap_url");
	expect_invalid("POST", "/v1/channels/email", W.admin,
	    "{\"imap_url\":\"imaps://u:p@example.com/\",\"username\":\"x\",\"password\":\"p\"}",
	    "imap_url");
	expect_invalid("POST", "/v1/channels/email", W.admin,
	    "{\"imap_url\":\"imaps://example.com\",\"username\":\"x\",\"password\":\"p\","
	    "\"folder\":\"a\\\"b\"}",
	    "folder");
	expect_invalid("POST", "/v1/channels/email", W.admin,
	    "{\"imap_url\":\"imaps://example.com\",\"username\":\"x\"}", "password");
	assert_int_equal(req(&r, "POST", "/v1/channels/email", W.admin, body), 201);
	assert_null(strstr(r.body, "pw-visible"));
	assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "password"));
	assert_string_equal(jstr(r.json, "folder"), "INBOX");
	assert_int_equal(jnum(r.json, "poll_interval_s"), 60);
	snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/channels/email/%s", id);
	M.channel[0] = '\0';
	snprintf(M.channel, sizeof M.channel, "%s", id);
	assert_int_equal(sql_number("SELECT count(*) FROM notification.email_channels WHERE id = $1"
	                            " AND password_sealed LIKE 'v1:%' AND password_sealed NOT LIKE"
	                            " '%pw-visible%'",
	                     NULL),
	    1);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_null(strstr(r.body, "pw-visible"));
	httpc_resp_free(&r);
	assert_int_equal(req(&r, "GET", "/v1/channels/email", W.admin, NULL), 200);
	assert_int_equal(cJSON_GetArraySize(jitems(&r)), 1);
	httpc_resp_free(&r);
	expect(404, "GET", path, W.demo, NULL); /* another tenant's admin */
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.admin, "{\"poll_interval_s\":30}", "If-Match: \"1\""), 200);
	assert_int_equal(jnum(r.json, "poll_interval_s"), 30);
	httpc_resp_free(&r);
	assert_int_equal(
	    req_h(&r, "PATCH", path, W.admin, "{\"active\":false}", "If-Match: \"1\""), 412);
	httpc_resp_free(&r);
	snprintf(etag_path, sizeof etag_path, "%s", path);
	expect(204, "DELETE", etag_path, W.admin, NULL);
	expect(404, "GET", path, W.admin, NULL);
}

/* How many times the stack's hd-notification log says it refused an
 * internal address. */
static int refusals_logged(void)
{
	char path[1024], line[4096];
	int n = 0;
	snprintf(path, sizeof path, "%s/log/notification.log", httpc_env("HD_TEST_STACK_DIR"));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, "refused a connection to an internal address") != NULL;
	fclose(f);
	return n;
}

/* A mailbox on an internal address that HD_MAIL_ALLOW_CIDRS does not list
 * (tests/run.sh allows 127.0.0.1 only) is never connected to. */
static void test_mailbox_internal_refused(void **state)
{
	(void)state;
	char body[512], path[128], id[37];
	httpc_resp r;
	int before = refusals_logged();
	snprintf(body, sizeof body,
	    "{\"imap_url\":\"imap://127.0.0.2:%s\",\"username\":\"x\",\"password\":\"p\"}",
	    httpc_env("HD_TEST_IMAP_PORT"));
	assert_int_equal(req(&r, "POST", "/v1/channels/email", W.admin, body), 201);
	snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	snprintf(path, sizeof path, "/v1/channels/email/%s", id);
	bool failed = false;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && !failed;
	     usleep(200 * 1000)) {
		assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
		failed = jstr(r.json, "last_error") != NULL;
		httpc_resp_free(&r);
	}
	assert_true(failed);
	assert_true(refusals_logged() > before);
	expect(204, "DELETE", path, W.admin, NULL);
}

/* The mailbox the other tests fill. */
static void test_mailbox_live(void **state)
{
	(void)state;
	char body[1024];
	httpc_resp r;
	snprintf(body, sizeof body,
	    "{\"imap_url\":\"imap://127.0.0.1:%s\",\"username\":\"%s\",\"password\":\"%s\","
	    "\"poll_interval_s\":10}",
	    httpc_env("HD_TEST_IMAP_PORT"), httpc_env("HD_TEST_IMAP_USER"),
	    httpc_env("HD_TEST_IMAP_PASSWORD"));
	assert_int_equal(req(&r, "POST", "/v1/channels/email", W.admin, body), 201);
	snprintf(M.channel, sizeof M.channel, "%s", jstr(r.json, "id"));
	httpc_resp_free(&r);
	/* the first poll succeeds (no error recorded) */
	long polled = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && polled == 0;
	     usleep(200 * 1000))
		polled = sql_number("SELECT count(*) FROM notification.email_channels WHERE id = $1"
		                    " AND last_polled_at IS NOT NULL AND last_error IS NULL",
		    NULL);
	assert_int_equal(polled, 1);
}

static char T_id[37], T_from[80];
static long T_number;

static void test_new_mail_opens_ticket(void **state)
{
	(void)state;
	char subject[128], msgid[128], path[128];
	httpc_resp r;
	snprintf(T_from, sizeof T_from, "jo.%s@example.org", M.word);
	snprintf(subject, sizeof subject, "Printer on fire %snew", M.word);
	snprintf(msgid, sizeof msgid, "new.%s@example.org", M.word);
	deliver_mail(T_from, subject, "", msgid,
	    "It is broken.\r\n\r\nOn Mon, 7 Dec 2026, Someone <s@example.org> wrote:\r\n> old "
	    "text\r\n");
	char word[64];
	snprintf(word, sizeof word, "%snew", M.word);
	wait_tickets(word, 1, T_id, &T_number);
	cJSON *t = tk_ticket_get(W.admin, T_id);
	assert_string_equal(jstr(t, "subject"), subject);
	assert_string_equal(jstr(t, "description"), "It is broken.");
	snprintf(path, sizeof path, "/v1/users/%s", jstr(t, "requester_id"));
	cJSON_Delete(t);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_string_equal(jstr(r.json, "email"), T_from);
	assert_string_equal(jstr(r.json, "role"), "customer");
	httpc_resp_free(&r);
}

/* The sender of a new mail is a customer nobody knows the password of
 * (docs/operations.md, Mail in: no invitation is sent by itself): an agent
 * invites them (POST /v1/users/{id}/invitations), the mail reaches the
 * sender's address, its link sets their password, and they log in and see
 * the ticket their mail opened. */
static void test_mail_customer_invited(void **state)
{
	(void)state;
	char path[128], body[512];
	httpc_resp r;
	cJSON *t = tk_ticket_get(W.admin, T_id);
	char requester[37];
	snprintf(requester, sizeof requester, "%s", jstr(t, "requester_id"));
	cJSON_Delete(t);
	assert_null(mail_scan("/invitation#token=", T_from, NULL)); /* none by itself */
	snprintf(path, sizeof path, "/v1/users/%s/invitations", requester);
	assert_int_equal(req(&r, "POST", path, W.agent, NULL), 201);
	char *token = mail_invitation_token(jstr(r.json, "id"), T_from);
	httpc_resp_free(&r);
	snprintf(
	    body, sizeof body, "{\"token\":\"%s\",\"password\":\"mail sender chose 1\"}", token);
	expect(204, "POST", "/v1/auth/invitations/accept", NULL, body);
	free(token);
	char *own = httpc_login(W.slug, T_from, "mail sender chose 1", NULL);
	assert_non_null(own);
	snprintf(path, sizeof path, "/v1/tickets/%s", T_id);
	expect(200, "GET", path, own, NULL);
	free(own);
}

/* The public comments of ticket T_id whose body is text. */
static int comments_with(const char *text)
{
	char path[128];
	httpc_resp r;
	const cJSON *c;
	int n = 0;
	tk_path(path, sizeof path, T_id, "/comments?limit=100");
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	cJSON_ArrayForEach(c, jitems(&r))
	{
		const cJSON *pub = cJSON_GetObjectItemCaseSensitive(c, "public");
		if (strcmp(jstr(c, "body"), text) == 0 && cJSON_IsTrue(pub))
			n++;
	}
	httpc_resp_free(&r);
	return n;
}

static void wait_comment(const char *text)
{
	int n = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && n == 0;
	     usleep(300 * 1000)) {
		if ((n = comments_with(text)) == 0)
			poke();
	}
	assert_int_equal(n, 1);
}

static void test_reply_becomes_comment(void **state)
{
	(void)state;
	char headers[256], msgid[128], subject[128];
	assert_true(T_id[0] != '\0');
	snprintf(
	    headers, sizeof headers, "In-Reply-To: <t%ld.%s@helpdesk.local>\r\n", T_number, T_id);
	snprintf(msgid, sizeof msgid, "reply1.%s@example.org", M.word);
	deliver_mail(T_from, "Re: your ticket", headers, msgid,
	    "Thanks, that helped.\r\n\r\n> We received your request\r\n> more\r\n");
	wait_comment("Thanks, that helped.");
	/* by the ticket number in the subject only */
	snprintf(subject, sizeof subject, "Re: [#%ld] Printer", T_number);
	snprintf(msgid, sizeof msgid, "reply2.%s@example.org", M.word);
	deliver_mail(T_from, subject, "", msgid, "One more thing.\r\n");
	wait_comment("One more thing.");
}

/* The files of ticket id (as W.admin): their count; the first's id and
 * recorded sha256 (NULL: not wanted). */
static int ticket_files(const char *ticket, char first[37], char sha[HD_SHA256_HEX + 1])
{
	char path[128];
	httpc_resp r;
	tk_path(path, sizeof path, ticket, "/attachments");
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	int n = cJSON_GetArraySize(jitems(&r));
	if (n > 0 && first != NULL) {
		const cJSON *a = cJSON_GetArrayItem(jitems(&r), 0);
		snprintf(first, 37, "%s", jstr(a, "id"));
		snprintf(sha, HD_SHA256_HEX + 1, "%s", jstr(a, "sha256"));
		assert_null(
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "comment_id")));
	}
	httpc_resp_free(&r);
	return n;
}

/* GET /v1/attachments/{id}: the PNG's bytes and type; the recorded sha256
 * is the bytes'. */
static void expect_png(const char *id, const char *recorded_sha)
{
	char path[96], sha[HD_SHA256_HEX + 1];
	httpc_resp r;
	snprintf(path, sizeof path, "/v1/attachments/%s", id);
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	assert_int_equal(r.body_len, sizeof png);
	assert_memory_equal(r.body, png, sizeof png);
	assert_string_equal(httpc_header(&r, "Content-Type"), "image/png");
	hd_sha256_hex(r.body, r.body_len, sha);
	assert_string_equal(recorded_sha, sha);
	httpc_resp_free(&r);
}

static void test_mail_files(void **state)
{
	(void)state;
	static const char *const files[] = { "image/png|photo.png|" PNG_B64,
		"application/x-msdownload|tool.exe|TVqQAA==", NULL };
	char subject[128], msgid[128], word[64], ticket[37], file[37], headers[256], path[160];
	char sha[HD_SHA256_HEX + 1];
	long number;
	httpc_resp r;
	snprintf(word, sizeof word, "%sfiles", M.word);
	snprintf(subject, sizeof subject, "Photo of the printer %s", word);
	snprintf(msgid, sizeof msgid, "files.%s@example.org", M.word);
	deliver_files(T_from, subject, "", msgid, "Here is a photo.", files);
	wait_tickets(word, 1, ticket, &number);
	assert_int_equal(ticket_files(ticket, file, sha), 1);
	expect_png(file, sha);
	cJSON *t = tk_ticket_get(W.admin, ticket);
	assert_string_equal(jstr(t, "description"),
	    "Here is a photo.\n\n[attachment \"tool.exe\" not kept: a type the helpdesk does not"
	    " accept]");
	cJSON_Delete(t);
	/* the stored parts go once the message is applied */
	wait_settled();
	assert_int_equal(sql_number("SELECT count(*) FROM notification.inbound_parts p"
	                            " JOIN notification.inbound_mails m ON m.id = p.mail_id"
	                            " WHERE m.channel_id = $1",
	                     NULL),
	    0);
	/* a reply's file goes with its comment */
	snprintf(
	    headers, sizeof headers, "In-Reply-To: <t%ld.%s@helpdesk.local>\r\n", number, ticket);
	snprintf(msgid, sizeof msgid, "files2.%s@example.org", M.word);
	static const char *const one[] = { "image/png|again.png|" PNG_B64, NULL };
	deliver_files(T_from, "Re: photo", headers, msgid, "Another one.", one);
	for (double end = httpc_now_s() + WAIT_S;
	     httpc_now_s() < end && ticket_files(ticket, NULL, NULL) < 2; usleep(300 * 1000))
		poke();
	assert_int_equal(ticket_files(ticket, NULL, NULL), 2);
	tk_path(path, sizeof path, ticket, "/comments");
	assert_int_equal(req(&r, "GET", path, W.admin, NULL), 200);
	const cJSON *c = cJSON_GetArrayItem(jitems(&r), 0);
	assert_string_equal(jstr(c, "body"), "Another one.");
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(c, "attachments");
	assert_int_equal(cJSON_GetArraySize(atts), 1);
	expect_png(
	    jstr(cJSON_GetArrayItem(atts, 0), "id"), jstr(cJSON_GetArrayItem(atts, 0), "sha256"));
	httpc_resp_free(&r);
}

static void test_auto_replies_ignored(void **state)
{
	(void)state;
	char subject[128], msgid[128], word[64];
	snprintf(word, sizeof word, "%sauto", M.word);
	snprintf(subject, sizeof subject, "Out of office %s", word);
	snprintf(msgid, sizeof msgid, "auto.%s@example.org", M.word);
	deliver_mail(T_from, subject, "Auto-Submitted: auto-replied\r\n", msgid, "Away.\r\n");
	snprintf(msgid, sizeof msgid, "bulk.%s@example.org", M.word);
	deliver_mail("news@example.org", subject, "Precedence: bulk\r\n", msgid, "News.\r\n");
	snprintf(msgid, sizeof msgid, "bounce.%s@example.org", M.word);
	deliver_mail("Mail Delivery System <MAILER-DAEMON@example.org>", subject, "", msgid,
	    "Undeliverable.\r\n");
	wait_settled();
	assert_int_equal(tickets_with(word, NULL, NULL), 0);
	assert_int_equal(
	    sql_number("SELECT count(*) FROM notification.inbound_mails WHERE channel_id"
	               " = $1 AND status = 'ignored' AND subject LIKE '%' || $2",
	        word),
	    3);
}

static void test_twice_applied_once(void **state)
{
	(void)state;
	char subject[128], msgid[128], word[64];
	snprintf(word, sizeof word, "%stwice", M.word);
	snprintf(subject, sizeof subject, "Sent twice %s", word);
	snprintf(msgid, sizeof msgid, "twice.%s@example.org", M.word);
	deliver_mail(T_from, subject, "", msgid, "Same message.\r\n");
	deliver_mail(T_from, subject, "", msgid, "Same message.\r\n");
	wait_settled();
	assert_int_equal(tickets_with(word, NULL, NULL), 1);
}

static void stack(const char *verb)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "%s %s notification", httpc_env("HD_TEST_STACK_CTL"), verb);
	assert_int_equal(system(cmd), 0);
}

static void test_restart_mid_poll(void **state)
{
	(void)state;
	char subject[128], msgid[128], word[64], file[128];
	const char *const files[] = { file, NULL };
	snprintf(word, sizeof word, "%sbatch", M.word);
	for (int i = 0; i < BATCH; i++) {
		snprintf(subject, sizeof subject, "Batch %s number %d", word, i);
		snprintf(msgid, sizeof msgid, "batch%d.%s@example.org", i, M.word);
		snprintf(file, sizeof file, "text/plain|%s-%d.txt|T25lIGZpbGUu", word, i);
		deliver_files(T_from, subject, "", msgid, "One of many.", files);
	}
	poke();
	/* killed once the poll has taken some of them */
	long taken = 0;
	for (double end = httpc_now_s() + WAIT_S; httpc_now_s() < end && taken == 0;
	     usleep(20 * 1000))
		taken = sql_number(
		    "SELECT count(*) FROM notification.inbound_mails WHERE channel_id = $1"
		    " AND subject LIKE 'Batch ' || $2 || '%'",
		    word);
	assert_true(taken > 0);
	stack("kill");
	stack("start");
	wait_tickets(word, BATCH, NULL, NULL);
	assert_int_equal(
	    sql_number("SELECT count(*) FROM notification.inbound_mails WHERE channel_id"
	               " = $1 AND subject LIKE 'Batch ' || $2 || '%'",
	        word),
	    BATCH);
	/* each file uploaded once, and on its ticket: none doubled, none left over */
	wait_settled();
	assert_int_equal(sql_number("SELECT count(*) FROM ticket.attachments WHERE $1::uuid IS NOT"
	                            " NULL AND filename LIKE $2 || '-%.txt'",
	                     word),
	    BATCH);
	assert_int_equal(sql_number("SELECT count(DISTINCT ticket_id) FROM ticket.attachments"
	                            " WHERE $1::uuid IS NOT NULL AND filename LIKE $2 || '-%.txt'",
	                     word),
	    BATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailbox_api),
		cmocka_unit_test(test_mailbox_internal_refused),
		cmocka_unit_test(test_mailbox_live),
		cmocka_unit_test(test_new_mail_opens_ticket),
		cmocka_unit_test(test_mail_customer_invited),
		cmocka_unit_test(test_reply_becomes_comment),
		cmocka_unit_test(test_mail_files),
		cmocka_unit_test(test_auto_replies_ignored),
		cmocka_unit_test(test_twice_applied_once),
		cmocka_unit_test(test_restart_mid_poll),
	};
	return cmocka_run_group_tests(tests, setup, tk_teardown);
}
