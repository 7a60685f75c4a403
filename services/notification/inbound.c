/* A received mail read into what mail in needs (docs/architecture.md,
 * "Mail in"): the sender, the subject, the Message-ID, whether it is
 * automatic, which ticket it answers, and its text. GMime parses the
 * message (RFC 5322 and MIME, encoded words, transfer encodings) and
 * converts each text part from its charset to UTF-8; the body is the first
 * text/plain part that is not an attachment, else the first text/html one
 * reduced to text, with the quoted history trimmed (inbound_text.c); every
 * other leaf part (attachments, inline images) is kept as a file with its
 * decoded bytes. Attached and forwarded messages are not read (nor kept as
 * files). Pure but for GMime: unit
 * tests and a fuzz target call nt_inbound_parse on raw bytes. */
#include <cjson/cJSON.h>
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

/* The body as UTF-8 text from plain, else html (NULL: none), bounded,
 * quotes trimmed (malloc'ed); "" when the message has no text. NULL when
 * memory runs out. */
static char *body_text(GMimeTextPart *plain, GMimeTextPart *html)
{
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

/* Appends part's decoded bytes to files as {filename, content_type, size,
 * data}; false when memory runs out. */
static bool file_add(GMimePart *part, cJSON *files)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (content == NULL)
		return true; /* no bytes: nothing to keep */
	GMimeStream *mem = g_mime_stream_mem_new();
	bool ok = g_mime_data_wrapper_write_to_stream(content, mem) >= 0;
	GByteArray *bytes = ok ? g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem)) : NULL;
	char name[256];
	copy_text(name, sizeof name, g_mime_part_get_filename(part));
	gchar *type
	    = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(GMIME_OBJECT(part)));
	gchar *b64 = bytes != NULL ? g_base64_encode(bytes->data, bytes->len) : NULL;
	cJSON *o = b64 != NULL ? cJSON_CreateObject() : NULL;
	if (b64 != NULL) /* a part GMime cannot decode is left out */
		ok = o != NULL && cJSON_AddStringToObject(o, "filename", name) != NULL
		    && cJSON_AddStringToObject(o, "content_type", type != NULL ? type : "") != NULL
		    && cJSON_AddNumberToObject(o, "size", (double)bytes->len) != NULL
		    && cJSON_AddStringToObject(o, "data", b64) != NULL
		    && cJSON_AddItemToArray(files, o);
	if (!ok)
		cJSON_Delete(o);
	g_free(b64);
	g_free(type);
	g_object_unref(mem);
	return ok || bytes == NULL;
}

/* The files of obj: every leaf part but body and the text alternatives
 * (text parts that are neither attachments nor named); false when memory
 * runs out. */
static bool find_files(GMimeObject *obj, int depth, GMimeObject *body, cJSON *files)
{
	if (depth > NT_IN_DEPTH_MAX || obj == NULL || cJSON_GetArraySize(files) >= NT_IN_PARTS_MAX)
		return true;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int count = g_mime_multipart_get_count(mp);
		bool ok = true;
		for (int i = 0; i < count && ok; i++)
			ok = find_files(g_mime_multipart_get_part(mp, i), depth + 1, body, files);
		return ok;
	}
	if (!GMIME_IS_PART(obj) || obj == body) /* message/rfc822 parts are not GMimeParts */
		return true;
	GMimePart *part = GMIME_PART(obj);
	if (GMIME_IS_TEXT_PART(obj) && !g_mime_part_is_attachment(part)
	    && g_mime_part_get_filename(part) == NULL)
		return true;
	return file_add(part, files);
}

/* The files of msg as JSON text (malloc'ed), their count in *n. */
static char *files_json(GMimeMessage *msg, GMimeObject *body, int *n)
{
	cJSON *files = cJSON_CreateArray();
	char *text = NULL;
	if (files != NULL && find_files(g_mime_message_get_mime_part(msg), 0, body, files))
		text = cJSON_PrintUnformatted(files);
	*n = cJSON_GetArraySize(files);
	cJSON_Delete(files);
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
	GMimeTextPart *plain = NULL, *html = NULL;
	find_text(g_mime_message_get_mime_part(msg), 0, &plain, &html);
	out->body = body_text(plain, html);
	GMimeObject *read = plain != NULL ? GMIME_OBJECT(plain)
	    : html != NULL                ? GMIME_OBJECT(html)
	                                  : NULL;
	out->parts = files_json(msg, read, &out->nparts);
	g_object_unref(msg);
	if (out->body == NULL || out->parts == NULL) {
		nt_inbound_fini(out);
		return HD_ERR_NOMEM;
	}
	return HD_OK;
}

void nt_inbound_fini(nt_inbound *m)
{
	if (m == NULL)
		return;
	free(m->body);
	free(m->parts);
	m->body = NULL;
	m->parts = NULL;
}
