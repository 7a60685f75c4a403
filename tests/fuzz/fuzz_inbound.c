/* libFuzzer target for mail in's readers of outside input
 * (services/notification/inbound.c, inbound_text.c, imap.c): any bytes as a
 * received message, as a sender may send them. Checks what every read
 * message must hold: a sender that is empty or a plain lower-case address,
 * bounded valid UTF-8 text without NUL in the body, and a thread that is a
 * positive number with a full ticket id or none. The same bytes also go
 * through the HTML reducer and the quote trimmer alone, and are read as an
 * IMAP server's answer (services/notification/imap.c). */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "notification.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max || !g_utf8_validate(s, (gssize)n, NULL))
		abort();
}

/* The same bytes as an IMAP server's answer (imap.c): UIDVALIDITY and
 * SEARCH results stay 32-bit, positive, ascending and bounded. */
static void check_imap(const char *data, size_t size)
{
	int64_t v = 0, uids[16];
	if (nt_imap_uidvalidity(data, size, &v) && (v < 1 || v > 4294967295LL))
		abort();
	size_t n = nt_imap_search_uids(data, size, 3, uids, 16);
	if (n > 16)
		abort();
	for (size_t i = 0; i < n; i++)
		if (uids[i] <= 3 || uids[i] > 4294967295LL || (i > 0 && uids[i] <= uids[i - 1]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nt_inbound m;
	check_imap((const char *)data, size);
	if (nt_inbound_parse((const char *)data, size, &m) == HD_OK) {
		if (m.from_addr[0] != '\0' && !nt_mail_addr_ok(m.from_addr))
			abort();
		if (m.from_addr[0] == '\0' && !m.automatic)
			abort();
		for (const char *p = m.from_addr; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		check_text(m.body, NT_IN_BODY_MAX);
		check_text(m.subject, sizeof(m.subject) - 1);
		check_text(m.from_name, sizeof(m.from_name) - 1);
		if (m.thread.number < 0 || (m.thread.ticket_id[0] != '\0' && m.thread.number == 0)
		    || (m.thread.ticket_id[0] != '\0' && strlen(m.thread.ticket_id) != 36))
			abort();
		cJSON *parts = cJSON_Parse(m.parts); /* the files: a JSON array, bounded */
		if (!cJSON_IsArray(parts) || cJSON_GetArraySize(parts) != m.nparts
		    || m.nparts > NT_IN_PARTS_MAX)
			abort();
		cJSON_Delete(parts);
		nt_inbound_fini(&m);
	}
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char *text = nt_in_html_text(s);
	if (text != NULL && strlen(text) > 4 * strlen(s))
		abort(); /* a reference expands to at most 4 bytes of UTF-8 */
	free(text);
	size_t len = nt_in_trim_quotes(s);
	if (len != strlen(s))
		abort();
	free(s);
	return 0;
}
