/* libFuzzer target for mail in's reader of outside input
 * (services/notification/inbound.c, inbound_text.c): any bytes as a
 * received message, as a sender may send them. Checks what every read
 * message must hold: a sender that is empty or a plain lower-case address,
 * bounded valid UTF-8 text without NUL in the body, and a thread that is a
 * positive number with a full ticket id or none. The same bytes also go
 * through the HTML reducer and the quote trimmer alone. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "notification.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max || !g_utf8_validate(s, (gssize)n, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nt_inbound m;
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
