/* Mail in: a taken message's files, uploaded one at a time as the sender
 * (attachments.create, keyed per file); a file hd-ticket refuses (413, 415,
 * 422), one over HD_MAX_UPLOAD_BYTES, or past the tenth is left out with a
 * line in the text saying so (inbox.c has the design). */
#include <stdio.h>
#include <string.h>
#include "notification.h"
#include "inbox.h"

#define IB_NOTES_MAX 4000 /* bytes of "not kept" lines: the text stays under 64 KiB */
#define IB_NOTE_NAME_MAX 80 /* bytes of a file name in such a line */

/* A line in the text for file p, left out because of why. */
static void mail_note(ib_mail *m, const cJSON *p, const char *why)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "filename"));
	size_t n = name != NULL ? strlen(name) : 0;
	if (n > IB_NOTE_NAME_MAX) /* cut on a character boundary */
		for (n = IB_NOTE_NAME_MAX; n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80; n--)
			;
	if (m->notes.len > IB_NOTES_MAX)
		return;
	hd_buf_puts(&m->notes, "\n\n[attachment \"");
	hd_buf_put(&m->notes, name != NULL ? name : "", n);
	hd_buf_puts(&m->notes, "\" not kept: ");
	hd_buf_puts(&m->notes, why);
	hd_buf_puts(&m->notes, "]");
}

static void mail_file_cb(hd_err err, int status, const char *body, void *arg)
{
	ib_mail *m = arg;
	const cJSON *p = cJSON_GetArrayItem(m->parts, m->part_next);
	if (nt_ib.stopping) {
		nt_ib_mail_free(m);
		return;
	}
	if (err == HD_OK && status == 201 && nt_ib_reply_id(body, m->ids[m->nids]))
		m->nids++;
	else if (err == HD_OK && (status == 413 || status == 415 || status == 422))
		mail_note(m, p,
		    status == 413       ? "too large"
		        : status == 415 ? "a type the helpdesk does not accept"
		                        : "its content is not of its declared type");
	else {
		nt_ib_mail_failed(m, err, status, "hd-ticket refused an attachment");
		return;
	}
	m->part_next++;
	nt_ib_mail_upload_next(m);
}

/* A string member of file p, NULL when absent or not a string. */
static const char *part_string(const cJSON *p, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, key));
}

/* True when file p is to be left out (malformed, or noted in the text:
 * past IB_FILES_MAX, or over HD_MAX_UPLOAD_BYTES). */
static bool part_skipped(ib_mail *m, const cJSON *p)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "size");
	if (part_string(p, "filename") == NULL || part_string(p, "content_type") == NULL
	    || part_string(p, "data") == NULL || !cJSON_IsNumber(size)
	    || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "n")))
		return true;
	if (m->nids == IB_FILES_MAX) {
		mail_note(m, p, "more than 10 files in one message");
		return true;
	}
	if (size->valuedouble > (double)nt_ib.max_upload) {
		mail_note(m, p, "too large");
		return true;
	}
	return false;
}

/* attachments.create's body for file p (its data by reference: p must
 * outlive the body); NULL when out of memory. */
static cJSON *part_body(const cJSON *p)
{
	const char *name = part_string(p, "filename"), *type = part_string(p, "content_type");
	cJSON *body
	    = nt_ib_with_string(cJSON_CreateObject(), "filename", name[0] ? name : "attachment");
	body = nt_ib_with_string(body, "content_type", type[0] ? type : "application/octet-stream");
	if (body != NULL
	    && !cJSON_AddItemToObject(
	        body, "data", cJSON_CreateStringReference(part_string(p, "data")))) {
		cJSON_Delete(body);
		body = NULL;
	}
	return body;
}

/* Uploads the next file as the sender (attachments.create), or writes the
 * message when none is left. */
void nt_ib_mail_upload_next(ib_mail *m)
{
	for (; m->part_next < cJSON_GetArraySize(m->parts); m->part_next++) {
		const cJSON *p = cJSON_GetArrayItem(m->parts, m->part_next);
		char kind[16];
		if (part_skipped(m, p))
			continue;
		snprintf(
		    kind, sizeof kind, "a%d", cJSON_GetObjectItemCaseSensitive(p, "n")->valueint);
		if (!nt_ib_mail_call(m, nt_ib.ticket, "attachments.create", NULL, m->user_id,
		        m->role, kind, part_body(p), mail_file_cb))
			nt_ib_mail_failed(
			    m, HD_ERR_UNAVAILABLE, 0, "an attachment could not be sent");
		return;
	}
	nt_ib_mail_write(m);
}
