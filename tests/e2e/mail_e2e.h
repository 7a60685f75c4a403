/* Mails that the stack's SMTP server recorded (tests/run.sh: Debian's
 * aiosmtpd writing a Maildir at HD_TEST_MAILDIR), for the end-to-end
 * programs that check what hd-notification sent (test_notification.c,
 * test_invitations.c, test_mail_in.c): find a mail by text, wait for one,
 * read its text/plain part (base64, as services/notification/mail.c
 * writes it), and take an invitation's token from its link.
 * Each program includes this once; everything is static inline. */
#ifndef HD_TEST_MAIL_E2E_H
#define HD_TEST_MAIL_E2E_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "httpc.h"

#define MAIL_WAIT_S 20

/* The text of a recorded mail (HD_TEST_MAILDIR, the SMTP recorder's
 * Maildir) holding needle and also (when not NULL), or NULL; caller frees.
 * *count (when not NULL) gets how many such mails there are. */
static inline char *mail_scan(const char *needle, const char *also, int *count)
{
	static const char *const subdirs[] = { "new", "cur", NULL };
	char *found = NULL;
	int n_found = 0;
	for (int i = 0; subdirs[i] != NULL; i++) {
		char dir[512];
		snprintf(dir, sizeof dir, "%s/%s", httpc_env("HD_TEST_MAILDIR"), subdirs[i]);
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			char path[1024], *text = calloc(1, 262144);
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			FILE *f = e->d_name[0] != '.' && text != NULL ? fopen(path, "r") : NULL;
			if (f != NULL) {
				size_t n = fread(text, 1, 262143, f);
				text[n] = '\0';
				fclose(f);
				if (strstr(text, needle) != NULL
				    && (also == NULL || strstr(text, also) != NULL)) {
					n_found++;
					if (found == NULL) {
						found = text;
						text = NULL;
					}
				}
			}
			free(text);
		}
		if (d != NULL)
			closedir(d);
	}
	if (count != NULL)
		*count = n_found;
	return found;
}

static inline char *mail_wait(const char *needle, const char *also)
{
	char *m = NULL;
	for (double end = httpc_now_s() + MAIL_WAIT_S; httpc_now_s() < end && m == NULL;
	     usleep(100 * 1000))
		m = mail_scan(needle, also, NULL);
	if (m == NULL)
		fprintf(stderr, "no mail with %s\n", needle);
	assert_non_null(m);
	return m;
}

/* The decoded text/plain part of mail (malloc'ed, NUL-ended), or NULL. */
static inline char *mail_text_part(const char *mail)
{
	const char *part = strstr(mail, "Content-Type: text/plain");
	const char *start = part != NULL ? strstr(part, "\n\n") : NULL;
	if (start == NULL)
		return NULL;
	start += 2;
	const char *stop = strstr(start, "\n--");
	size_t n = stop != NULL ? (size_t)(stop - start) : strlen(start);
	char *b64 = malloc(n + 1), *text = malloc(n + 1);
	size_t m = 0;
	for (size_t i = 0; b64 != NULL && i < n; i++)
		if (start[i] != '\r' && start[i] != '\n')
			b64[m++] = start[i];
	int len = b64 != NULL && text != NULL
	    ? EVP_DecodeBlock((unsigned char *)text, (const unsigned char *)b64, (int)m)
	    : -1;
	free(b64);
	if (len < 0) {
		free(text);
		return NULL;
	}
	while (len > 0 && text[len - 1] == '\0') /* the padding's zero bytes */
		len--;
	text[len] = '\0';
	return text;
}

/* Waits for the mail of invitation inv_id to email, checks that it names
 * what to sign in with, and returns the token of its link (malloc'ed). */
static inline char *mail_invitation_token(const char *inv_id, const char *email)
{
	char hdr[128], to[160];
	snprintf(hdr, sizeof hdr, "Message-ID: <i%s@", inv_id);
	snprintf(to, sizeof to, "To: <%s>", email);
	char *mail = mail_wait(hdr, to);
	char *text = mail_text_part(mail);
	free(mail);
	assert_non_null(text);
	/* it says what to sign in with: the organisation's name and the address */
	char sign_in[200];
	snprintf(sign_in, sizeof sign_in, "and your e-mail address %s.", email);
	assert_non_null(strstr(text, "sign in with the organisation name "));
	assert_non_null(strstr(text, sign_in));
	const char *at = strstr(text, "/invitation#token=");
	assert_non_null(at);
	at += strlen("/invitation#token=");
	size_t n = strspn(at, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	assert_true(n > 37);
	char *token = strndup(at, n);
	free(text);
	return token;
}

#endif
