/* AFINN-165 scoring (hd/sentiment.h): a tokenizer over the bytes, a
 * lookahead of three words for the list's phrases, binary search in the
 * sorted table. */
#include "hd/sentiment.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "sentiment_table.h"

/* Longer words are in no list: they count as words but match nothing. */
#define SENT_WORD_MAX 40
#define SENT_LOOKAHEAD 3

typedef struct sent_word {
	char text[SENT_WORD_MAX + 1];
	bool too_long;
} sent_word;

static int sent_cmp(const void *key, const void *entry)
{
	return strcmp(key, ((const hd_sentiment_entry *)entry)->term);
}

int hd_sentiment_term(const char *term)
{
	const hd_sentiment_entry *e
	    = bsearch(term, hd_afinn165, hd_afinn165_count, sizeof(hd_afinn165[0]), sent_cmp);
	return e != NULL ? e->valence : 0;
}

/* Length of the apostrophe at s[0..left): 1 for ', 3 for ’ (U+2019), else 0. */
static size_t sent_apostrophe(const unsigned char *s, size_t left)
{
	if (s[0] == '\'')
		return 1;
	if (left >= 3 && s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x99)
		return 3;
	return 0;
}

static bool sent_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	    || c >= 0x80;
}

/* Reads the next word of text[*pos..len) into w; false at the end. */
static bool sent_next_word(const char *text, size_t len, size_t *pos, sent_word *w)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = *pos, n = 0;
	while (i < len && !sent_word_byte(s[i]))
		i++;
	if (i >= len) {
		*pos = len;
		return false;
	}
	w->too_long = false;
	while (i < len) {
		size_t ap = sent_apostrophe(s + i, len - i);
		unsigned char c = ap > 0 ? '\'' : s[i];
		if (ap == 0 && !sent_word_byte(c))
			break;
		if (n < SENT_WORD_MAX)
			w->text[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		else
			w->too_long = true;
		i += ap > 0 ? ap : 1;
	}
	w->text[n] = '\0';
	*pos = i;
	return true;
}

/* The valence of the first k words of q joined by spaces, 0 when none. */
static int sent_lookup(const sent_word *q, int k)
{
	char term[SENT_LOOKAHEAD * (SENT_WORD_MAX + 1)];
	size_t used = 0;
	for (int i = 0; i < k; i++) {
		if (q[i].too_long)
			return 0;
		size_t n = strlen(q[i].text);
		if (i > 0)
			term[used++] = ' ';
		memcpy(term + used, q[i].text, n);
		used += n;
	}
	term[used] = '\0';
	return hd_sentiment_term(term);
}

void hd_sentiment_score(const char *text, size_t len, hd_sentiment *out)
{
	sent_word q[SENT_LOOKAHEAD];
	int have = 0;
	size_t pos = 0;
	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return;
	for (;;) {
		while (have < SENT_LOOKAHEAD && sent_next_word(text, len, &pos, &q[have]))
			have++;
		if (have == 0)
			break;
		int used = 1, v = 0;
		for (int k = have; k >= 1; k--) {
			if ((v = sent_lookup(q, k)) != 0) {
				used = k;
				break;
			}
		}
		if (v != 0) {
			out->score += v;
			out->terms++;
		}
		out->words += used;
		memmove(q, q + used, sizeof(q[0]) * (size_t)(have - used));
		have -= used;
	}
	out->comparative = out->words > 0 ? (double)out->score / out->words : 0.0;
}
