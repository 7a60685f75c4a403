/* The text rules of mail in (docs/architecture.md, "Mail in"): which
 * messages are automatic (auto-replies, bulk mail and bounces, which never
 * open a ticket nor get an answer), which ticket a reply names (our own
 * Message-IDs in In-Reply-To/References, or "[#<number>]" in the subject),
 * HTML reduced to plain text, and the quoted history cut from a reply.
 * Pure C on NUL-terminated UTF-8: inbound.c feeds it what GMime decoded;
 * unit tests and the fuzz target call it directly. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "hd/buf.h"
#include "notification.h"

/* Header values compared without case, surrounding blanks ignored. */
static bool value_is(const char *v, const char *word)
{
	size_t n = strlen(word);
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, word, n) != 0)
		return false;
	for (v += n; *v != '\0'; v++)
		if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
			return *v == ';';
	return true;
}

static bool local_part_is(const char *addr, const char *name)
{
	size_t n = strlen(name);
	return addr != NULL && strncasecmp(addr, name, n) == 0 && addr[n] == '@';
}

bool nt_in_automatic(const nt_in_headers *h)
{
	if (h->auto_submitted != NULL && !value_is(h->auto_submitted, "no"))
		return true;
	if (h->precedence != NULL
	    && (value_is(h->precedence, "bulk") || value_is(h->precedence, "junk")
	        || value_is(h->precedence, "list")))
		return true;
	if (h->return_path != NULL && value_is(h->return_path, "<>"))
		return true;
	if (h->autoreply_flag || h->report)
		return true;
	return local_part_is(h->from_addr, "mailer-daemon")
	    || local_part_is(h->from_addr, "postmaster") || h->from_addr == NULL
	    || h->from_addr[0] == '\0';
}

long nt_in_subject_number(const char *subject)
{
	for (const char *p = subject != NULL ? strstr(subject, "[#") : NULL; p != NULL;
	     p = strstr(p + 2, "[#")) {
		long n = 0;
		const char *d = p + 2;
		while (*d >= '0' && *d <= '9' && n < 100000000000L)
			n = n * 10 + (*d++ - '0');
		if (d > p + 2 && *d == ']' && n > 0)
			return n;
	}
	return 0;
}

/* "t<number>.<uuid>" (the ticket's root) or "t<number>.c<uuid>" (one of its
 * comments) before the "@": our outgoing Message-IDs (sql/003_email.sql). */
bool nt_in_our_id(const char *id, nt_in_thread *out)
{
	const char *at = id != NULL ? strchr(id, '@') : NULL;
	const char *p = id;
	long n = 0;
	if (at == NULL || *p++ != 't')
		return false;
	while (*p >= '0' && *p <= '9' && n < 100000000000L)
		n = n * 10 + (*p++ - '0');
	if (n <= 0 || *p++ != '.')
		return false;
	bool comment = *p == 'c';
	if (comment)
		p++;
	if (at - p != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? p[i] != '-' : !isxdigit((unsigned char)p[i]))
			return false;
	}
	out->number = n;
	if (comment)
		out->ticket_id[0] = '\0';
	else {
		memcpy(out->ticket_id, p, 36);
		out->ticket_id[36] = '\0';
	}
	return true;
}

/* ---- HTML to text ---- */

#define TAG_NAME_MAX 16

/* Tags whose whole content is dropped: never shown text, or the quoted
 * history a mail client wraps in a blockquote. */
static bool tag_hides(const char *name)
{
	return strcmp(name, "script") == 0 || strcmp(name, "style") == 0
	    || strcmp(name, "head") == 0 || strcmp(name, "title") == 0
	    || strcmp(name, "blockquote") == 0;
}

static bool tag_breaks(const char *name)
{
	static const char *const names[] = { "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4",
		"h5", "h6", "table", "ul", "ol", "pre", "hr", NULL };
	for (size_t i = 0; names[i] != NULL; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

static void put_utf8(hd_buf *b, unsigned long cp)
{
	char u[4];
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)cp;
		hd_buf_put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		hd_buf_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		hd_buf_put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		hd_buf_put(b, u, 4);
	}
}

/* One character reference at s ("&amp;", "&#233;", "&#xE9;"): its code
 * point in *cp and the bytes it takes, or 0 when it is not one we know
 * (the "&" is then kept as text). */
static size_t read_entity(const char *s, unsigned long *cp)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} named[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' }, { "nbsp;", ' ' }, { NULL, 0 } };
	if (s[1] == '#') {
		char *end = NULL;
		bool hex = s[2] == 'x' || s[2] == 'X';
		const char *digits = s + (hex ? 3 : 2);
		if (!(hex ? isxdigit((unsigned char)*digits) : isdigit((unsigned char)*digits)))
			return 0;
		*cp = strtoul(digits, &end, hex ? 16 : 10);
		if (end - digits > 8 || *end != ';')
			return 0;
		return (size_t)(end - s) + 1;
	}
	for (size_t i = 0; named[i].name != NULL; i++)
		if (strncasecmp(s + 1, named[i].name, strlen(named[i].name)) == 0) {
			*cp = named[i].cp;
			return strlen(named[i].name) + 1;
		}
	return 0;
}

/* Reads the tag at s ('<'): its lower-case name and whether it closes;
 * returns the bytes up to and including its '>' (or the rest of the text). */
static size_t read_tag(const char *s, char name[TAG_NAME_MAX], bool *closing)
{
	size_t i = 1, n = 0;
	*closing = s[i] == '/';
	if (*closing)
		i++;
	while (isalnum((unsigned char)s[i]) && n < TAG_NAME_MAX - 1)
		name[n++] = (char)tolower((unsigned char)s[i++]);
	name[n] = '\0';
	if (strncmp(s, "<!--", 4) == 0) {
		const char *end = strstr(s + 4, "-->");
		return end != NULL ? (size_t)(end - s) + 3 : strlen(s);
	}
	const char *end = strchr(s + i, '>');
	return end != NULL ? (size_t)(end - s) + 1 : strlen(s);
}

/* The text being written: where the line stands, for folding blanks. */
typedef struct text_out {
	hd_buf b;
	size_t col; /* characters on the current line */
	bool blank; /* blanks seen since the last character */
	int breaks; /* line breaks in a row (2 at the start: none leading) */
} text_out;

/* Appends n bytes of one character (or, n == 0, the code point cp). */
static void put_text_bytes(text_out *t, const char *bytes, size_t n, unsigned long cp)
{
	if (t->blank)
		hd_buf_put(&t->b, " ", 1);
	t->blank = false;
	if (n > 0)
		hd_buf_put(&t->b, bytes, n);
	else
		put_utf8(&t->b, cp);
	t->col++;
	t->breaks = 0;
}

/* Appends one character, folding runs of blanks into one space and
 * dropping blanks at a line's start. */
static void put_text_char(text_out *t, unsigned long cp)
{
	if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n') {
		t->blank = t->col > 0;
		return;
	}
	char u[4];
	size_t n = 0;
	if (cp > 0 && cp < 0x80)
		u[n++] = (char)cp;
	put_text_bytes(t, u, n, cp);
}

static void put_break(text_out *t)
{
	if (t->col == 0 && t->breaks >= 2)
		return;
	hd_buf_put(&t->b, "\n", 1);
	t->breaks = t->col == 0 ? t->breaks + 1 : 1;
	t->col = 0;
	t->blank = false;
}

char *nt_in_html_text(const char *html)
{
	text_out t = { .b = { 0 }, .breaks = 2 };
	int hidden = 0;
	if (!hd_buf_reserve(&t.b, strlen(html) + 1))
		return NULL;
	t.b.data[0] = '\0';
	for (const char *s = html; *s != '\0';) {
		unsigned long cp = (unsigned char)*s;
		size_t n = 1;
		if (*s == '<') {
			char name[TAG_NAME_MAX];
			bool closing;
			n = read_tag(s, name, &closing);
			if (tag_hides(name))
				hidden += closing ? (hidden > 0 ? -1 : 0) : 1;
			else if (hidden == 0 && tag_breaks(name))
				put_break(&t);
		} else if (hidden == 0) {
			size_t e = *s == '&' ? read_entity(s, &cp) : 0;
			n = e > 0 ? e : 1;
			if (e == 0 && cp >= 0x80) {
				/* a UTF-8 sequence (the caller made the text valid), as is */
				n = 1;
				while (n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80)
					n++;
				put_text_bytes(&t, s, n, 0);
			} else
				put_text_char(&t, cp);
		}
		s += n;
	}
	while (t.b.len > 0 && t.b.data[t.b.len - 1] == '\n')
		t.b.data[--t.b.len] = '\0';
	if (t.b.failed) {
		hd_buf_free(&t.b);
		return NULL;
	}
	return t.b.data;
}

/* ---- quoted history ---- */

static bool starts_with(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp(line, prefix, n) == 0;
}

static bool ends_with(const char *line, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r'))
		len--;
	return len >= n && strncasecmp(line + len - n, suffix, n) == 0;
}

/* True when the line (len bytes, no newline) opens the quoted history: an
 * attribution ("On <date>, <someone> wrote:" — possibly wrapped onto the
 * next line — and its French and German forms), Outlook's separators, or
 * a signature delimiter "-- ". */
static bool history_starts(const char *line, size_t len, const char *next, size_t next_len)
{
	if (starts_with(line, len, "On ")
	    && (ends_with(line, len, "wrote:")
	        || (next != NULL && ends_with(next, next_len, "wrote:"))))
		return true;
	if ((starts_with(line, len, "Le ") && ends_with(line, len, "a écrit :"))
	    || (starts_with(line, len, "Am ") && ends_with(line, len, "schrieb:")))
		return true;
	if (starts_with(line, len, "-----Original Message-----")
	    || starts_with(line, len, "________________________________")
	    || starts_with(line, len, "-----Ursprüngliche Nachricht-----"))
		return true;
	return (len == 3 && strncmp(line, "-- ", 3) == 0)
	    || (len == 4 && strncmp(line, "-- \r", 4) == 0);
}

static bool line_quoted_or_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return line[i] == '>';
	return true;
}

size_t nt_in_trim_quotes(char *text)
{
	size_t keep = 0; /* bytes up to the end of the last line with own text */
	for (char *line = text; *line != '\0';) {
		char *nl = strchr(line, '\n');
		size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char *next = nl != NULL ? nl + 1 : NULL;
		size_t next_len = 0;
		if (next != NULL) {
			char *nnl = strchr(next, '\n');
			next_len = nnl != NULL ? (size_t)(nnl - next) : strlen(next);
		}
		if (history_starts(line, len, next, next_len))
			break;
		if (!line_quoted_or_blank(line, len))
			keep = (size_t)(line - text) + len;
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	if (keep == 0)
		return strlen(text); /* nothing but history: keep it all */
	while (keep > 0 && (text[keep - 1] == ' ' || text[keep - 1] == '\r'))
		keep--;
	text[keep] = '\0';
	return keep;
}
