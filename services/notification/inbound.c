/* A received mail read into what mail in needs (docs/architecture.md,
 * "Mail in"): the sender, the subject, the Message-ID, whether it is
 * automatic, which ticket it answers, and its text. GMime parses the
 * message (RFC 5322 and MIME, encoded words, transfer encodings) and
 * converts each text part from its charset to UTF-8; the body is the first
 * text/plain part that is not an attachment, else the first text/html one
 * reduced to text, with the quoted history trimmed (inbound_text.c).
 * Attached and forwarded messages are not read. Pure but for GMime: unit
 * tests and a fuzz target call nt_inbound_parse on raw bytes. */
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "notification.h"

#define NT_IN_DEPTH_MAX 16

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
	g_mime_init();
}

/* Copies src into dst (size bytes) as valid UTF-8 without control
 * characters, cut at a character boundary. */
static void copy_text(char *dst, size_t size, const char *src)
{
	gchar *valid = g_utf8_make_valid(src != NULL ? src : "", -1);
	size_t n = 0;
	for (const gchar *p = valid; *p != '\0' && n < size - 1;) {
		const gchar *next = g_utf8_next_char(p);
		size_t len = (size_t)(next - p);
		if (n + len > size - 1)
			break;
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			dst[n++] = ' ';
		else {
			memcpy(dst + n, p, len);
			n += len;
		}
		p = next;
	}
	dst[n] = '\0';
	g_free(valid);
}

/* The first text/plain and text/html parts that are not attachments. */
static void find_text(GMimeObject *obj, int depth, GMimeTextPart **plain, GMimeTextPart **html)
{
	if (depth > NT_IN_DEPTH_MAX || obj == NULL)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int count = g_mime_multipart_get_count(mp);
		for (int i = 0; i < count && *plain == NULL; i++)
			find_text(g_mime_multipart_get_part(mp, i), depth + 1, plain, html);
		return;
	}
	if (!GMIME_IS_TEXT_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	if (*plain == NULL && g_mime_content_type_is_type(ct, "text", "plain"))
		*plain = GMIME_TEXT_PART(obj);
	else if (*html == NULL && g_mime_content_type_is_type(ct, "text", "html"))
		*html = GMIME_TEXT_PART(obj);
}

/* The body as UTF-8 text, bounded, quotes trimmed (malloc'ed); "" when the
 * message has no text. NULL when memory runs out. */
static char *body_text(GMimeMessage *msg)
{
	GMimeTextPart *plain = NULL, *html = NULL;
	find_text(g_mime_message_get_mime_part(msg), 0, &plain, &html);
	char *raw = plain != NULL ? g_mime_text_part_get_text(plain)
	    : html != NULL        ? g_mime_text_part_get_text(html)
	                          : NULL;
	gchar *valid = g_utf8_make_valid(raw != NULL ? raw : "", -1);
	g_free(raw);
	char *text = plain == NULL && html != NULL ? nt_in_html_text(valid) : strdup(valid);
	g_free(valid);
	if (text == NULL)
		return NULL;
	nt_in_trim_quotes(text);
	size_t n = strlen(text);
	if (n > NT_IN_BODY_MAX) {
		n = NT_IN_BODY_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
		text[n] = '\0';
	}
	return text;
}

/* The ticket named by one header's list of Message-IDs, the last first. */
static bool thread_from(GMimeMessage *msg, const char *header, nt_in_thread *out)
{
	const char *value = g_mime_object_get_header(GMIME_OBJECT(msg), header);
	GMimeReferences *refs = value != NULL ? g_mime_references_parse(NULL, value) : NULL;
	bool found = false;
	for (int i = refs != NULL ? g_mime_references_length(refs) - 1 : -1; i >= 0 && !found; i--)
		found = nt_in_our_id(g_mime_references_get_message_id(refs, i), out);
	if (refs != NULL)
		g_mime_references_free(refs);
	return found;
}

static void read_sender(GMimeMessage *msg, nt_inbound *out)
{
	InternetAddressList *from = g_mime_message_get_from(msg);
	InternetAddress *a = from != NULL && internet_address_list_length(from) > 0
	    ? internet_address_list_get_address(from, 0)
	    : NULL;
	if (a == NULL || !INTERNET_ADDRESS_IS_MAILBOX(a))
		return;
	const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
	if (addr == NULL || !nt_mail_addr_ok(addr) || strlen(addr) >= sizeof(out->from_addr))
		return;
	for (size_t i = 0; addr[i] != '\0'; i++)
		out->from_addr[i] = (char)g_ascii_tolower(addr[i]);
	copy_text(out->from_name, sizeof(out->from_name), internet_address_get_name(a));
}

static bool is_automatic(GMimeMessage *msg, const nt_inbound *m)
{
	GMimeObject *o = GMIME_OBJECT(msg);
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	nt_in_headers h = {
		.from_addr = m->from_addr,
		.auto_submitted = g_mime_object_get_header(o, "Auto-Submitted"),
		.precedence = g_mime_object_get_header(o, "Precedence"),
		.return_path = g_mime_object_get_header(o, "Return-Path"),
		.autoreply_flag = g_mime_object_get_header(o, "X-Autoreply") != NULL
		    || g_mime_object_get_header(o, "X-Autorespond") != NULL,
		.report = top != NULL
		    && g_mime_content_type_is_type(
		        g_mime_object_get_content_type(top), "multipart", "report"),
	};
	return nt_in_automatic(&h);
}

hd_err nt_inbound_parse(const char *raw, size_t len, nt_inbound *out)
{
	memset(out, 0, sizeof(*out));
	if (len > NT_IN_MESSAGE_MAX)
		return HD_ERR_INVALID;
	pthread_once(&gmime_once, gmime_start);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL)
		return HD_ERR_INVALID;
	read_sender(msg, out);
	copy_text(out->subject, sizeof(out->subject), g_mime_message_get_subject(msg));
	const char *id = g_mime_message_get_message_id(msg);
	if (id != NULL && strlen(id) <= NT_MAIL_ID_MAX)
		copy_text(out->message_id, sizeof(out->message_id), id);
	out->automatic = is_automatic(msg, out);
	if (!thread_from(msg, "In-Reply-To", &out->thread)
	    && !thread_from(msg, "References", &out->thread))
		out->thread.number = nt_in_subject_number(out->subject);
	out->body = body_text(msg);
	g_object_unref(msg);
	return out->body != NULL ? HD_OK : HD_ERR_NOMEM;
}

void nt_inbound_fini(nt_inbound *m)
{
	if (m == NULL)
		return;
	free(m->body);
	m->body = NULL;
}
