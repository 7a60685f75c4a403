/* libFuzzer target for the notification daemon's readers of outside input
 * (services/notification/url.c, guard.c, mail.c): a webhook URL as an admin
 * sends it, an allow list as an operator sets it (HD_WEBHOOK_ALLOW_CIDRS),
 * and users' text (a tenant name, a subject, a comment) in a mail.
 * Checks the invariants every accepted value must hold: an accepted URL
 * names a host that fits, a port in range, and a literal address only when
 * that address may be reached; a parsed allow list stays in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "notification.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	nt_cidr_list allow;
	nt_url u;
	const char *why = NULL;
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (nt_cidr_list_parse(s, &allow)) {
		if (allow.count < 0 || allow.count > NT_CIDR_MAX)
			abort();
		for (int i = 0; i < allow.count; i++)
			if (allow.items[i].bits < 0 || allow.items[i].bits > 128)
				abort();
	}
	if (!nt_cidr_list_parse("127.0.0.2/32,fd00::/8", &allow))
		abort();
	if (nt_url_check(s, true, &allow, &u, &why)) {
		if (u.host[0] == '\0' || strlen(u.host) >= NT_HOST_MAX || u.port < 1
		    || u.port > 65535)
			abort();
		if (u.literal && !nt_addr_allowed(u.addr, &allow))
			abort();
		if (strlen(s) > NT_URL_MAX)
			abort();
	} else if (why == NULL) {
		abort();
	}
	/* users' text in a mail: never a header of its own, never a bare CR or LF */
	nt_mail m = { .from_name = s,
		.from_addr = "desk@example.com",
		.to_addr = "jo@example.org",
		.subject = s,
		.body = s,
		.message_id = "t1.x@example.com",
		.date = 0 };
	size_t len = 0;
	char *mail = nt_mail_build(&m, &len);
	if (mail == NULL || strlen(mail) != len || strstr(mail, "\nBcc:") != NULL)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((mail[i] == '\n' && (i == 0 || mail[i - 1] != '\r'))
		    || (mail[i] == '\r' && mail[i + 1] != '\n'))
			abort();
	free(mail);
	free(s);
	return 0;
}
