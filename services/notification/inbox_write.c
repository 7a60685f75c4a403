/* Mail in: what a taken message becomes once its files are uploaded, through
 * hd-ticket as the sender: a public comment on the ticket it answers (a
 * refusal opens a ticket of their own instead), or a new ticket whose
 * requester is the sender (inbox.c has the design). */
#include <stdio.h>
#include <string.h>
#include "notification.h"
#include "inbox.h"

#define IB_SUBJECT_MAX 200 /* characters: hd-ticket's limit */

static void mail_ticket_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	char ticket[HD_UUID_STRLEN + 1];
	if (nt_ib.stopping)
		nt_ib_mail_free(m);
	else if (err == HD_OK && (status == 201 || status == 200) && nt_ib_reply_id(body, ticket))
		nt_ib_mail_done(m, "applied", ticket, NULL, NULL);
	else
		nt_ib_mail_failed(m, err, status, "hd-ticket refused the new ticket");
}

/* The subject cut to hd-ticket's limit in characters; "(no subject)" when empty. */
static void mail_subject(const char *subject, char *out, size_t size)
{
	size_t chars = 0, i = 0;
	while (subject[i] != '\0' && chars < IB_SUBJECT_MAX && i < size - 4) {
		i++;
		while (((unsigned char)subject[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	snprintf(out, size, "%.*s", (int)i, subject);
	if (out[strspn(out, " ")] == '\0')
		snprintf(out, size, "(no subject)");
}

/* body with the text of m (its body, "(no text)" when empty, then the
 * lines of the files left out) under key, and attachment_ids when files
 * were uploaded; NULL (body deleted) on failure. */
static cJSON *with_text_and_files(cJSON *body, const char *key, const ib_mail *m)
{
	hd_buf text = { 0 };
	hd_buf_puts(&text, m->body[0] != '\0' || m->notes.len > 0 ? m->body : "(no text)");
	if (m->notes.len > 0)
		hd_buf_put(&text, m->notes.data, m->notes.len);
	body = text.failed ? (cJSON_Delete(body), NULL) : nt_ib_with_string(body, key, text.data);
	hd_buf_free(&text);
	cJSON *ids
	    = body != NULL && m->nids > 0 ? cJSON_AddArrayToObject(body, "attachment_ids") : NULL;
	for (int i = 0; ids != NULL && i < m->nids; i++)
		if (!cJSON_AddItemToArray(ids, cJSON_CreateString(m->ids[i])))
			ids = NULL;
	if (body != NULL && m->nids > 0 && ids == NULL) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

static void mail_open_ticket(ib_mail *m)
{
	char subject[4 * IB_SUBJECT_MAX + 4];
	mail_subject(m->subject, subject, sizeof(subject));
	cJSON *body = nt_ib_with_string(cJSON_CreateObject(), "subject", subject);
	body = body != NULL ? with_text_and_files(body, "description", m) : NULL;
	if (!nt_ib_mail_call(m, nt_ib.ticket, "tickets.create", NULL, m->user_id, m->role, "t",
	        body, mail_ticket_cb))
		nt_ib_mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the new ticket could not be sent");
}

static void mail_comment_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	char comment[HD_UUID_STRLEN + 1];
	if (nt_ib.stopping)
		nt_ib_mail_free(m);
	else if (err == HD_OK && (status == 201 || status == 200) && nt_ib_reply_id(body, comment))
		nt_ib_mail_done(m, "applied", m->ticket_id, comment, NULL);
	else if (err == HD_OK && (status == 404 || status == 403))
		mail_open_ticket(m); /* not theirs to answer after all: a ticket of their own */
	else
		nt_ib_mail_failed(m, err, status, "hd-ticket refused the comment");
}

static void mail_add_comment(ib_mail *m)
{
	cJSON *body = cJSON_CreateObject();
	body = body != NULL ? with_text_and_files(body, "body", m) : NULL;
	if (body != NULL && cJSON_AddBoolToObject(body, "public", 1) == NULL) {
		cJSON_Delete(body);
		body = NULL;
	}
	if (!nt_ib_mail_call(m, nt_ib.ticket, "comments.create", m->ticket_id, m->user_id, m->role,
	        "c", body, mail_comment_cb))
		nt_ib_mail_failed(m, HD_ERR_UNAVAILABLE, 0, "the comment could not be sent");
}

/* With the files uploaded: a comment on the ticket the reply names
 * (hd-ticket decides whether the sender may: customers only on their own),
 * or a ticket. */
void nt_ib_mail_write(ib_mail *m)
{
	if (m->ticket_id[0] != '\0')
		mail_add_comment(m);
	else
		mail_open_ticket(m);
}
