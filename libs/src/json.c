/* Strict JSON input on top of cJSON. cJSON alone accepts trailing bytes,
 * duplicate keys, invalid UTF-8, raw control characters, "\u0000" (which
 * silently truncates a string), numbers like "+1" or "01", and 1000 levels
 * of nesting. hd_json_parse therefore runs a lexical pass first (UTF-8,
 * strings, numbers, depth), then cJSON on a NUL-terminated copy of exactly
 * len bytes, then a pass over the tree for duplicate keys. */
#include "hd/json.h"
#include "hd/uuid.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HD_JSON_INT_LIMIT 9007199254740992.0 /* 2^53: integers must stay below */

size_t hd_utf8_seq_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	if (len == 0 || s[0] == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		if (s[0] == 0xE0)
			lo = 0xA0; /* overlong */
		if (s[0] == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		if (s[0] == 0xF0)
			lo = 0x90; /* overlong */
		if (s[0] == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

bool hd_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = hd_utf8_seq_len(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t hd_utf8_length(const char *s)
{
	size_t count = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != 0; p++)
		if ((*p & 0xC0) != 0x80)
			count++;
	return count;
}

/* ---- lexical pass ---- */

typedef struct hd_json_lex {
	const char *s;
	size_t len, i;
	const char *why;
} hd_json_lex;

static bool hd_json_fail(hd_json_lex *lx, const char *why)
{
	lx->why = why;
	return false;
}

static bool hd_json_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t hd_json_digits(const hd_json_lex *lx, size_t i)
{
	while (i < lx->len && hd_json_is_digit(lx->s[i]))
		i++;
	return i;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool hd_json_lex_number(hd_json_lex *lx)
{
	size_t i = lx->i;
	if (lx->s[i] == '-')
		i++;
	if (i >= lx->len || !hd_json_is_digit(lx->s[i]))
		return hd_json_fail(lx, "invalid number");
	if (lx->s[i] == '0')
		i++;
	else
		i = hd_json_digits(lx, i);
	if (i < lx->len && lx->s[i] == '.') {
		size_t j = hd_json_digits(lx, i + 1);
		if (j == i + 1)
			return hd_json_fail(lx, "invalid number");
		i = j;
	}
	if (i < lx->len && (lx->s[i] == 'e' || lx->s[i] == 'E')) {
		i++;
		if (i < lx->len && (lx->s[i] == '+' || lx->s[i] == '-'))
			i++;
		size_t j = hd_json_digits(lx, i);
		if (j == i)
			return hd_json_fail(lx, "invalid number");
		i = j;
	}
	if (i < lx->len
	    && (hd_json_is_digit(lx->s[i]) || lx->s[i] == '.' || lx->s[i] == '+'
	        || lx->s[i] == '-'))
		return hd_json_fail(lx, "invalid number");
	lx->i = i;
	return true;
}

static bool hd_json_lex_string(hd_json_lex *lx)
{
	size_t i = lx->i + 1;
	while (i < lx->len && lx->s[i] != '"') {
		unsigned char c = (unsigned char)lx->s[i];
		if (c < 0x20)
			return hd_json_fail(lx, "control character in string");
		if (c == '\\') {
			if (i + 5 < lx->len && lx->s[i + 1] == 'u'
			    && memcmp(lx->s + i + 2, "0000", 4) == 0)
				return hd_json_fail(lx, "NUL character in string");
			i += 2;
			continue;
		}
		i++;
	}
	if (i >= lx->len)
		return hd_json_fail(lx, "unterminated string");
	lx->i = i + 1;
	return true;
}

/* Checks what cJSON lets through; the grammar itself is left to cJSON. */
static bool hd_json_lex_all(hd_json_lex *lx)
{
	int depth = 0;
	if (memchr(lx->s, '\0', lx->len) != NULL)
		return hd_json_fail(lx, "NUL byte in input");
	if (!hd_utf8_valid(lx->s, lx->len))
		return hd_json_fail(lx, "invalid UTF-8");
	while (lx->i < lx->len) {
		char c = lx->s[lx->i];
		if (c == '"') {
			if (!hd_json_lex_string(lx))
				return false;
		} else if (c == '-' || hd_json_is_digit(c)) {
			if (!hd_json_lex_number(lx))
				return false;
		} else if (c == '+' || c == '.') {
			return hd_json_fail(lx, "invalid number");
		} else {
			if (c == '[' || c == '{') {
				if (++depth > HD_JSON_MAX_DEPTH)
					return hd_json_fail(lx, "nesting too deep");
			} else if (c == ']' || c == '}') {
				depth--;
			}
			lx->i++;
		}
	}
	return true;
}

/* ---- duplicate keys ---- */

static int hd_json_key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 0: none, 1: duplicate found, -1: out of memory. */
static int hd_json_object_has_dup(const cJSON *obj)
{
	size_t n = 0;
	for (const cJSON *c = obj->child; c != NULL; c = c->next)
		n++;
	if (n < 2)
		return 0;
	const char **keys = malloc(n * sizeof(*keys));
	if (keys == NULL)
		return -1;
	size_t i = 0;
	for (const cJSON *c = obj->child; c != NULL; c = c->next)
		keys[i++] = c->string;
	qsort(keys, n, sizeof(*keys), hd_json_key_cmp);
	int dup = 0;
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(keys[i - 1], keys[i]) == 0;
	free(keys);
	return dup;
}

static int hd_json_tree_has_dup(const cJSON *item)
{
	if (cJSON_IsObject(item)) {
		int r = hd_json_object_has_dup(item);
		if (r != 0)
			return r;
	}
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		for (const cJSON *c = item->child; c != NULL; c = c->next) {
			int r = hd_json_tree_has_dup(c);
			if (r != 0)
				return r;
		}
	return 0;
}

static void hd_json_why(char why[128], const char *msg)
{
	if (why != NULL)
		snprintf(why, 128, "%s", msg);
}

hd_err hd_json_parse(const char *buf, size_t len, cJSON **out, char why[128])
{
	hd_json_lex lx = { .s = buf, .len = len, .i = 0, .why = NULL };
	*out = NULL;
	if (buf == NULL || len == 0) {
		hd_json_why(why, "empty body");
		return HD_ERR_INVALID;
	}
	if (!hd_json_lex_all(&lx)) {
		hd_json_why(why, lx.why);
		return HD_ERR_INVALID;
	}
	/* cJSON wants the terminating NUL inside the length it is given. */
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return HD_ERR_NOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	hd_err err = HD_OK;
	if (root == NULL || end != copy + len) {
		hd_json_why(why, "malformed JSON");
		err = HD_ERR_INVALID;
		goto done;
	}
	int dup = hd_json_tree_has_dup(root);
	if (dup != 0) {
		hd_json_why(why, dup < 0 ? "out of memory" : "duplicate key");
		err = dup < 0 ? HD_ERR_NOMEM : HD_ERR_INVALID;
		goto done;
	}
	*out = root;
	root = NULL;
done:
	cJSON_Delete(root);
	free(copy);
	return err;
}

/* ---- getters ---- */

static void hd_json_field_error(hd_field_errors *errs, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void hd_json_field_error(hd_field_errors *errs, const char *key, const char *fmt, ...)
{
	char msg[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hd_field_errors_add(errs, key, msg);
}

/* Returns the member or NULL when absent (or null), adding "is required". */
static const cJSON *hd_json_member(
    const cJSON *obj, const char *key, bool required, hd_field_errors *errs)
{
	const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (item == NULL || cJSON_IsNull(item)) {
		if (required)
			hd_json_field_error(errs, key, "is required");
		return NULL;
	}
	return item;
}

bool hd_json_get_string(const cJSON *obj, const char *key, bool required, size_t min_chars,
    size_t max_chars, const char **out, hd_field_errors *errs)
{
	const cJSON *item = hd_json_member(obj, key, required, errs);
	if (item == NULL)
		return false;
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		hd_json_field_error(errs, key, "must be a string");
		return false;
	}
	size_t n = hd_utf8_length(item->valuestring);
	if (n < min_chars || n > max_chars) {
		if (min_chars > 0 && n < min_chars && max_chars == SIZE_MAX)
			hd_json_field_error(
			    errs, key, "must be at least %zu characters", min_chars);
		else
			hd_json_field_error(
			    errs, key, "must be %zu to %zu characters", min_chars, max_chars);
		return false;
	}
	*out = item->valuestring;
	return true;
}

bool hd_json_get_int(const cJSON *obj, const char *key, bool required, int64_t min, int64_t max,
    int64_t *out, hd_field_errors *errs)
{
	const cJSON *item = hd_json_member(obj, key, required, errs);
	if (item == NULL)
		return false;
	double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
	if (!isfinite(v) || floor(v) != v || fabs(v) >= HD_JSON_INT_LIMIT) {
		hd_json_field_error(errs, key, "must be an integer");
		return false;
	}
	int64_t i = (int64_t)v;
	if (i < min || i > max) {
		hd_json_field_error(
		    errs, key, "must be between %lld and %lld", (long long)min, (long long)max);
		return false;
	}
	*out = i;
	return true;
}

bool hd_json_get_bool(
    const cJSON *obj, const char *key, bool required, bool *out, hd_field_errors *errs)
{
	const cJSON *item = hd_json_member(obj, key, required, errs);
	if (item == NULL)
		return false;
	if (!cJSON_IsBool(item)) {
		hd_json_field_error(errs, key, "must be true or false");
		return false;
	}
	*out = cJSON_IsTrue(item);
	return true;
}

void hd_field_error_enum(hd_field_errors *errs, const char *key, const char *const *allowed)
{
	char list[112] = "";
	size_t used = 0;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		int n = snprintf(
		    list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "", allowed[i]);
		if (n > 0 && (size_t)n < sizeof(list) - used)
			used += (size_t)n;
	}
	hd_json_field_error(errs, key, "must be one of: %s", list);
}

bool hd_json_get_enum(const cJSON *obj, const char *key, bool required, const char *const *allowed,
    const char **out, hd_field_errors *errs)
{
	const char *v = NULL;
	if (!hd_json_get_string(obj, key, required, 0, SIZE_MAX, &v, errs))
		return false;
	for (size_t i = 0; allowed[i] != NULL; i++) {
		if (strcmp(v, allowed[i]) == 0) {
			*out = allowed[i];
			return true;
		}
	}
	hd_field_error_enum(errs, key, allowed);
	return false;
}

void hd_json_reject_unknown(const cJSON *obj, const char *const *known, hd_field_errors *errs)
{
	if (!cJSON_IsObject(obj))
		return;
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		bool found = false;
		for (size_t i = 0; known[i] != NULL && !found; i++)
			found = strcmp(c->string, known[i]) == 0;
		if (!found)
			hd_json_field_error(errs, c->string, "unknown field");
	}
}

/* Copies the bytes compact JSON keeps (out NULL: counts them). */
static size_t json_compact_into(char *out, const char *text, size_t len)
{
	bool in_str = false, esc = false;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			continue;
		} else if (c == '"') {
			in_str = true;
		}
		if (out != NULL)
			out[n] = c;
		n++;
	}
	return n;
}

size_t hd_json_compact_len(const char *text, size_t len)
{
	return json_compact_into(NULL, text, len);
}

size_t hd_json_compact(char *out, const char *text, size_t len)
{
	return json_compact_into(out, text, len);
}

char *hd_json_print(const cJSON *item, size_t *len_out)
{
	char *s = cJSON_PrintUnformatted(item);
	if (s != NULL && len_out != NULL)
		*len_out = strlen(s);
	return s;
}

#define HD_JSON_MAX_TAGS 20
#define HD_JSON_MAX_TAG_CHARS 50

bool hd_json_tags_read(const cJSON *body, char **out, hd_field_errors *errs)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "tags");
	if (tags == NULL || cJSON_IsNull(tags))
		return false;
	if (!cJSON_IsArray(tags)) {
		hd_field_errors_add(errs, "tags", "must be an array of strings");
		return false;
	}
	if (cJSON_GetArraySize(tags) > HD_JSON_MAX_TAGS) {
		hd_field_errors_add(errs, "tags", "at most 20 tags");
		return false;
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, tags)
	{
		size_t n = cJSON_IsString(t) ? hd_utf8_length(t->valuestring) : 0;
		if (n < 1 || n > HD_JSON_MAX_TAG_CHARS) {
			hd_field_errors_add(
			    errs, "tags", "each tag must be a string of 1 to 50 characters");
			return false;
		}
	}
	*out = hd_json_print(tags, NULL);
	if (*out == NULL) {
		hd_field_errors_add(errs, "tags", "could not be stored");
		return false;
	}
	return true;
}

bool hd_json_uuid_list_read(
    const cJSON *body, const char *key, int max, char *out, size_t size, hd_field_errors *errs)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, key);
	size_t len = 1; /* "{" so far */
	snprintf(out, size, "{}");
	if (list == NULL || cJSON_IsNull(list))
		return true;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > max) {
		char msg[64];
		snprintf(msg, sizeof msg, "must be an array of at most %d ids", max);
		hd_field_errors_add(errs, key, msg);
		return false;
	}
	const cJSON *id;
	cJSON_ArrayForEach(id, list)
	{
		if (!cJSON_IsString(id) || !hd_uuid_valid(id->valuestring)) {
			hd_field_errors_add(errs, key, "each id must be a UUID");
			return false;
		}
		for (const cJSON *prev = list->child; prev != id; prev = prev->next)
			if (strcasecmp(prev->valuestring, id->valuestring) == 0) {
				hd_field_errors_add(errs, key, "an id is given twice");
				return false;
			}
		/* ",uuid}" must fit with its NUL */
		if (len + 1 + HD_UUID_STRLEN + 2 > size) {
			hd_field_errors_add(errs, key, "too many ids");
			return false;
		}
		if (len > 1)
			out[len++] = ',';
		memcpy(out + len, id->valuestring, HD_UUID_STRLEN);
		len += HD_UUID_STRLEN;
	}
	out[len] = '}';
	out[len + 1] = '\0';
	return true;
}
