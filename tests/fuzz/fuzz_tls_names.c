/* libFuzzer target for the peer-name check of mutual TLS (libs/src/tls.c,
 * hd_tls_name_allowed): the name comes from a peer's certificate (its DNS
 * subject alternative names or CN, any bytes), the list from the operator
 * (HD_TLS_RPC_PEERS, HD_TLS_BUS_PEERS). The input is split at the first NUL
 * into a list and a name. Whatever they hold: a name with a comma, a NUL or
 * nothing is never allowed, and an allowed name is, byte for byte up to
 * ASCII case, one entry of the list with its spaces and tabs trimmed. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hd/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The check done the slow way: every entry, trimmed, compared. */
static bool listed(const char *list, const char *name, size_t len)
{
	for (const char *p = list;;) {
		const char *end = strchr(p, ',');
		const char *stop = end != NULL ? end : p + strlen(p);
		const char *a = p, *b = stop;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		bool same = (size_t)(b - a) == len && len > 0;
		for (size_t i = 0; same && i < len; i++)
			same = tolower((unsigned char)a[i]) == tolower((unsigned char)name[i]);
		if (same)
			return true;
		if (end == NULL)
			return false;
		p = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	size_t list_len = strlen(in);
	const char *name = list_len < size ? in + list_len + 1 : in + size;
	size_t name_len = list_len < size ? size - list_len - 1 : 0;
	bool allowed = hd_tls_name_allowed(in, name, name_len);
	if (allowed
	    && (name_len == 0 || memchr(name, ',', name_len) != NULL
	        || memchr(name, '\0', name_len) != NULL))
		abort();
	bool no_nul = memchr(name, '\0', name_len) == NULL;
	if (allowed != (no_nul && listed(in, name, name_len)))
		abort();
	free(in);
	return 0;
}
