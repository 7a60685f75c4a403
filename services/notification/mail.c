/* The e-mail messages hd-notification sends (RFC 5322 and MIME): headers
 * with the ticket's threading (Message-ID, In-Reply-To, References), the
 * tenant as sender, and the text both as text/plain and as escaped
 * text/html in one multipart/alternative, each part base64. Everything
 * that comes from users (the tenant's name, the ticket's subject, the
 * comment) is either encoded (RFC 2047 words, base64 bodies) or refused
 * (addresses with anything but plain printable ASCII), so nothing can add a
 * header. Pure: unit tests and a fuzz target. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/buf.h"
#include "hd/json.h"
#include "notification.h"

#define NT_WORD_BYTES 45 /* input bytes per RFC 2047 word: 60 base64 characters */

bool nt_mail_addr_ok(const char *addr)
{
	size_t n = addr != NULL ? strlen(addr) : 0;
	const char *at = n > 0 ? strchr(addr, '@') : NULL;
	if (n < 3 || n > 320 || at == NULL || at == addr || at[1] == '\0'
	    || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = addr; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
			return false;
	return true;
}

bool nt_mail_from_addr(const char *tmpl, const char *slug, char *out, size_t size)
{
	const char *mark = tmpl != NULL ? strstr(tmpl, "{tenant}") : NULL;
	int n = mark == NULL
	    ? snprintf(out, size, "%s", tmpl != NULL ? tmpl : "")
	    : snprintf(out, size, "%.*s%s%s", (int)(mark - tmpl), tmpl, slug, mark + 8);
	return n > 0 && (size_t)n < size && nt_mail_addr_ok(out);
}

static bool putn(hd_buf *b, const char *s, size_t n)
{
	hd_buf_put(b, s, n);
	return !b->failed;
}

static bool put(hd_buf *b, const char *s)
{
	hd_buf_puts(b, s);
	return !b->failed;
}

/* Base64 of len bytes in lines of at most 76 characters, each ended by CRLF. */
static bool put_base64_lines(hd_buf *b, const unsigned char *in, size_t len)
{
	unsigned char line[80];
	for (size_t i = 0; i < len; i += 57) {
		size_t chunk = len - i < 57 ? len - i : 57;
		int n = EVP_EncodeBlock(line, in + i, (int)chunk);
		if (n < 0 || !putn(b, (const char *)line, (size_t)n) || !putn(b, "\r\n", 2))
			return false;
	}
	return true;
}

static bool plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A header's text: as is when printable ASCII (quoted when quote), else
 * RFC 2047 UTF-8 base64 words, never splitting a UTF-8 sequence. */
static bool put_text(hd_buf *b, const char *s, bool quote)
{
	if (plain_ascii(s) && (!quote || strpbrk(s, "\"\\") == NULL)) {
		return (!quote || putn(b, "\"", 1)) && putn(b, s, strlen(s))
		    && (!quote || putn(b, "\"", 1));
	}
	size_t len = strlen(s), i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len) {
			size_t seq = hd_utf8_seq_len(s + end, len - end);
			if (seq == 0)
				seq = 1; /* invalid UTF-8: one byte at a time, still encoded */
			if (end + seq - i > NT_WORD_BYTES)
				break;
			end += seq;
		}
		unsigned char word[NT_WORD_BYTES * 2];
		int n = EVP_EncodeBlock(word, (const unsigned char *)s + i, (int)(end - i));
		if (n < 0 || (i > 0 && !putn(b, "\r\n ", 3)) || !putn(b, "=?UTF-8?B?", 10)
		    || !putn(b, (const char *)word, (size_t)n) || !putn(b, "?=", 2))
			return false;
		i = end;
	}
	return true;
}

/* The comment as HTML: escaped, line breaks as <br>. */
static bool put_html(hd_buf *html, const char *text)
{
	if (!put(html, "<!DOCTYPE html><html><body><p>"))
		return false;
	for (const char *p = text; *p != '\0'; p++) {
		const char *rep = *p == '&' ? "&amp;"
		    : *p == '<'             ? "&lt;"
		    : *p == '>'             ? "&gt;"
		    : *p == '"'             ? "&quot;"
		    : *p == '\''            ? "&#39;"
		    : *p == '\n'            ? "<br>"
		                            : NULL;
		if (!(rep != NULL ? putn(html, rep, strlen(rep)) : putn(html, p, 1)))
			return false;
	}
	return put(html, "</p></body></html>");
}

static bool put_headers(hd_buf *b, const nt_mail *m)
{
	char line[NT_MAIL_ID_MAX * 2 + 64], date[64];
	time_t t = (time_t)m->date;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL
	    || strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return false;
	bool ok = put(b, "Date: ") && put(b, date) && put(b, "\r\nFrom: ")
	    && put_text(b, m->from_name, true) && put(b, " <") && put(b, m->from_addr)
	    && put(b, ">\r\nTo: <") && put(b, m->to_addr) && put(b, ">\r\nSubject: ")
	    && put_text(b, m->subject, false);
	snprintf(line, sizeof line, "\r\nMessage-ID: <%s>\r\n", m->message_id);
	ok = ok && put(b, line);
	if (m->in_reply_to != NULL) {
		snprintf(line, sizeof line, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n",
		    m->in_reply_to, m->in_reply_to);
		ok = ok && put(b, line);
	}
	return ok && put(b, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
}

static bool ids_ok(const nt_mail *m)
{
	const char *ids[] = { m->message_id, m->in_reply_to };
	for (int i = 0; i < 2; i++) {
		if (ids[i] == NULL)
			continue;
		if (strlen(ids[i]) >= NT_MAIL_ID_MAX || !plain_ascii(ids[i])
		    || strpbrk(ids[i], "<> ") != NULL)
			return false;
	}
	return m->message_id != NULL;
}

char *nt_mail_build(const nt_mail *m, size_t *len_out)
{
	hd_buf b = { 0 }, html = { 0 };
	char boundary[64];
	char *out = NULL;
	if (!nt_mail_addr_ok(m->from_addr) || !nt_mail_addr_ok(m->to_addr) || !ids_ok(m))
		return NULL;
	snprintf(boundary, sizeof boundary, "=_hd_%s", m->message_id);
	boundary[strcspn(boundary, "@")] = '\0';
	bool ok = put_headers(&b, m) && put(&b, "Content-Type: multipart/alternative; boundary=\"")
	    && put(&b, boundary) && put(&b, "\"\r\n\r\n--") && put(&b, boundary)
	    && put(&b,
	        "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
	        "base64\r\n\r\n")
	    && put_base64_lines(&b, (const unsigned char *)m->body, strlen(m->body))
	    && put(&b, "--") && put(&b, boundary)
	    && put(&b,
	        "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
	        "base64\r\n\r\n")
	    && put_html(&html, m->body)
	    && put_base64_lines(&b, (const unsigned char *)html.data, html.len) && put(&b, "--")
	    && put(&b, boundary) && put(&b, "--\r\n");
	if (ok) { /* the buffer's NUL-terminated text becomes the caller's */
		out = b.data;
		*len_out = b.len;
		b.data = NULL;
	}
	hd_buf_free(&b);
	hd_buf_free(&html);
	return out;
}
