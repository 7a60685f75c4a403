/* The IMAP side of mail in that is only text (docs/architecture.md, "Mail
 * in"): the commands and URLs the poller (inbox.c) hands libcurl, and
 * readers of the server's untagged answers — UIDVALIDITY from EXAMINE,
 * the UIDs of UID SEARCH. Pure: unit tests and the fuzz target call it. */
#include <stdio.h>
#include <string.h>
#include "notification.h"

#define UID_MAX 4294967295LL /* UIDs and UIDVALIDITY are 32-bit (RFC 3501) */

/* Reads a decimal number of 1..UID_MAX at *p, moving *p past it. */
static bool read_number(const char **p, const char *end, int64_t *out)
{
	int64_t n = 0;
	const char *s = *p;
	while (s < end && *s >= '0' && *s <= '9' && n <= UID_MAX)
		n = n * 10 + (*s++ - '0');
	if (s == *p || n < 1 || n > UID_MAX)
		return false;
	*p = s;
	*out = n;
	return true;
}

bool nt_imap_uidvalidity(const char *text, size_t len, int64_t *out)
{
	static const char key[] = "[UIDVALIDITY ";
	const char *end = text + len;
	for (const char *p = text; p != NULL && p + sizeof(key) - 1 < end;) {
		p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1);
		if (p == NULL)
			break;
		p += sizeof(key) - 1;
		if (read_number(&p, end, out) && p < end && *p == ']')
			return true;
	}
	return false;
}

size_t nt_imap_search_uids(const char *text, size_t len, int64_t after, int64_t *uids, size_t max)
{
	static const char key[] = "* SEARCH";
	const char *end = text + len;
	size_t n = 0;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl != NULL ? nl : end;
		if ((size_t)(stop - line) >= sizeof(key) - 1
		    && memcmp(line, key, sizeof(key) - 1) == 0) {
			for (const char *p = line + sizeof(key) - 1; p < stop;) {
				int64_t uid;
				if (*p == ' ' || *p == '\r') {
					p++;
					continue;
				}
				if (!read_number(&p, stop, &uid))
					break;
				if (uid <= after)
					continue;
				/* keep the max smallest, ascending, without repeats */
				size_t at = 0;
				while (at < n && uids[at] < uid)
					at++;
				if ((at < n && uids[at] == uid) || at == max)
					continue;
				size_t move = n < max ? n - at : n - at - 1;
				memmove(uids + at + 1, uids + at, move * sizeof(*uids));
				uids[at] = uid;
				if (n < max)
					n++;
			}
		}
		line = stop + 1;
	}
	return n;
}

/* Copies folder percent-encoded but for letters, digits, "-._~/". */
static bool put_folder(char **out, const char *end, const char *folder)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *f = (const unsigned char *)folder; *f != '\0'; f++) {
		bool plain = (*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z')
		    || (*f >= '0' && *f <= '9') || strchr("-._~/", *f) != NULL;
		if (end - *out < (plain ? 1 : 3) + 1)
			return false;
		if (plain)
			*(*out)++ = (char)*f;
		else {
			*(*out)++ = '%';
			*(*out)++ = hex[*f >> 4];
			*(*out)++ = hex[*f & 15];
		}
	}
	**out = '\0';
	return true;
}

bool nt_imap_message_url(
    char *out, size_t size, const char *base, const char *folder, int64_t validity, int64_t uid)
{
	size_t blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	int n = snprintf(out, size, "%.*s/", (int)blen, base);
	if (n < 0 || (size_t)n >= size)
		return false;
	char *p = out + n;
	if (!put_folder(&p, out + size, folder))
		return false;
	if (uid <= 0)
		return true;
	n = snprintf(p, (size_t)(out + size - p), ";UIDVALIDITY=%lld/;UID=%lld",
	    (long long)validity, (long long)uid);
	return n > 0 && n < out + size - p;
}
