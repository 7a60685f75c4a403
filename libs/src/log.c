/* Structured logging: each call renders one JSON object into a bounded
 * stack buffer and hands it to the kernel with one write(2), so lines from
 * concurrent threads never interleave. Text is JSON-escaped; bytes that are
 * not valid UTF-8 become U+FFFD, so every line is valid JSON. Lines longer
 * than HD_LOG_LINE_MAX are cut (the message, never the closing brace). */
#include "hd/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hd/json.h"

#define HD_LOG_LINE_MAX 8192
#define HD_LOG_MSG_MAX 4096
#define HD_LOG_TAIL 4 /* room kept for "}\n" */

static char hd_log_service[64] = "hd";
static atomic_int hd_log_min = HD_LOG_INFO;
static _Thread_local char hd_log_request_id[128];

static const char *const hd_log_level_names[] = { "debug", "info", "warn", "error" };

/* A line being built; len never exceeds HD_LOG_LINE_MAX - HD_LOG_TAIL. */
typedef struct hd_log_line {
	char buf[HD_LOG_LINE_MAX];
	size_t len;
} hd_log_line;

static void hd_log_raw(hd_log_line *l, const char *s, size_t n)
{
	size_t room = HD_LOG_LINE_MAX - HD_LOG_TAIL - l->len;
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void hd_log_escape_byte(char out[8], unsigned char c, size_t *n)
{
	static const char hex[] = "0123456789abcdef";
	const char *esc = NULL;
	switch (c) {
	case '"':
		esc = "\\\"";
		break;
	case '\\':
		esc = "\\\\";
		break;
	case '\n':
		esc = "\\n";
		break;
	case '\r':
		esc = "\\r";
		break;
	case '\t':
		esc = "\\t";
		break;
	default:
		break;
	}
	if (esc != NULL) {
		*n = strlen(esc);
		memcpy(out, esc, *n);
	} else if (c < 0x20 || c == 0x7f) {
		memcpy(out, "\\u00", 4);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 15];
		*n = 6;
	} else {
		out[0] = (char)c;
		*n = 1;
	}
}

/* Appends s as the inside of a JSON string; never splits an escape or a
 * UTF-8 sequence when the line is full. */
static void hd_log_str(hd_log_line *l, const char *s)
{
	size_t len = strlen(s);
	size_t i = 0;
	while (i < len) {
		char piece[8];
		size_t n;
		size_t seq = hd_utf8_seq_len(s + i, len - i);
		if (seq > 1) {
			memcpy(piece, s + i, seq);
			n = seq;
		} else if (seq == 0) {
			memcpy(piece, "\\ufffd", 6);
			n = 6;
			seq = 1;
		} else {
			hd_log_escape_byte(piece, (unsigned char)s[i], &n);
		}
		if (l->len + n > HD_LOG_LINE_MAX - HD_LOG_TAIL - 1)
			return; /* keep one byte for the closing quote */
		hd_log_raw(l, piece, n);
		i += seq;
	}
}

/* Appends ,"key":"value" whole, or nothing when even the key would not fit;
 * only the value may be cut. */
static void hd_log_field(hd_log_line *l, const char *key, const char *value)
{
	size_t room = HD_LOG_LINE_MAX - HD_LOG_TAIL - l->len;
	if (room < strlen(key) * 6 + 16)
		return;
	hd_log_raw(l, ",\"", 2);
	hd_log_str(l, key);
	if (value == NULL) {
		hd_log_raw(l, "\":null", 6);
		return;
	}
	hd_log_raw(l, "\":\"", 3);
	hd_log_str(l, value);
	hd_log_raw(l, "\"", 1);
}

static void hd_log_begin(hd_log_line *l, hd_log_level level)
{
	struct timespec ts;
	struct tm tm;
	char when[40];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000L);

	l->len = 0;
	hd_log_raw(l, "{\"ts\":\"", 7);
	hd_log_str(l, when);
	hd_log_raw(l, "\"", 1);
	hd_log_field(l, "level", hd_log_level_names[level]);
	hd_log_field(l, "service", hd_log_service);
	if (hd_log_request_id[0] != '\0')
		hd_log_field(l, "request_id", hd_log_request_id);
}

static void hd_log_end(hd_log_line *l)
{
	memcpy(l->buf + l->len, "}\n", 2);
	l->len += 2;
	size_t off = 0;
	while (off < l->len) {
		ssize_t w = write(STDERR_FILENO, l->buf + off, l->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

bool hd_log_enabled(hd_log_level level)
{
	return (int)level >= atomic_load(&hd_log_min) && (int)level <= HD_LOG_ERROR;
}

void hd_log_init(const char *service, const char *level)
{
	if (service != NULL)
		snprintf(hd_log_service, sizeof(hd_log_service), "%s", service);
	int min = HD_LOG_INFO;
	for (int i = HD_LOG_DEBUG; level != NULL && i <= HD_LOG_ERROR; i++)
		if (strcasecmp(level, hd_log_level_names[i]) == 0)
			min = i;
	atomic_store(&hd_log_min, min);
}

void hd_log_set_request_id(const char *request_id)
{
	if (request_id == NULL)
		hd_log_request_id[0] = '\0';
	else
		snprintf(hd_log_request_id, sizeof(hd_log_request_id), "%s", request_id);
}

void hd_log(hd_log_level level, const char *fmt, ...)
{
	if (!hd_log_enabled(level))
		return;
	char msg[HD_LOG_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	hd_log_line line;
	hd_log_begin(&line, level);
	hd_log_field(&line, "msg", msg);
	hd_log_end(&line);
}

void hd_log_fields(hd_log_level level, const char *msg, ...)
{
	if (!hd_log_enabled(level))
		return;
	hd_log_line line;
	hd_log_begin(&line, level);
	hd_log_field(&line, "msg", msg != NULL ? msg : "");
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (key == NULL)
			break;
		hd_log_field(&line, key, va_arg(ap, const char *));
	}
	va_end(ap);
	hd_log_end(&line);
}
