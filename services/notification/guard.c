/* Which addresses a webhook may reach (API "Notifications and real time"):
 * never the platform's own networks (loopback, link-local, private,
 * unique-local, the cloud metadata addresses) unless the operator allows a
 * CIDR (HD_WEBHOOK_ALLOW_CIDRS). Addresses are handled in one 16-byte form,
 * IPv4 as IPv4-mapped IPv6, so that ::ffff:10.0.0.1 is the 10.0.0.1 it is.
 * Pure: unit tests (tests/unit/test_notification.c) and a fuzz target. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "notification.h"

#define NT_CIDR_TEXT_MAX 64

static const unsigned char v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
/* 64:ff9b::/96, NAT64: the IPv4 address in the last 4 bytes */
static const unsigned char nat64_prefix[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

bool nt_addr_from_text(const char *text, unsigned char out[16])
{
	struct in_addr v4;
	if (text == NULL)
		return false;
	if (inet_pton(AF_INET, text, &v4) == 1) {
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, text, out) == 1;
}

bool nt_addr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

/* An IPv4 address (a, b the first two bytes) the platform keeps to itself. */
static bool v4_internal(const unsigned char *v4)
{
	unsigned a = v4[0], b = v4[1];
	return a == 0 /* this network */ || a == 10 || a == 127 || (a == 100 && (b & 0xc0) == 64)
	    || (a == 169 && b == 254) /* link-local, 169.254.169.254 metadata */
	    || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168)
	    || (a == 192 && b == 0 && v4[2] == 0) /* IETF protocol assignments */
	    || (a == 198 && (b & 0xfe) == 18) /* benchmarking */
	    || a >= 224; /* multicast, reserved, broadcast */
}

bool nt_addr_internal(const unsigned char a[16])
{
	static const unsigned char zero[16] = { 0 };
	static const unsigned char loop6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const unsigned char ec2_metadata6[16]
	    = { 0xfd, 0, 0, 0xec, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 };
	if (memcmp(a, v4_mapped_prefix, 12) == 0 || memcmp(a, nat64_prefix, 12) == 0)
		return v4_internal(a + 12);
	if (memcmp(a, zero, 12) == 0) /* ::/96: unspecified, loopback, IPv4-compatible */
		return memcmp(a, loop6, 16) == 0 || memcmp(a, zero, 16) == 0 || v4_internal(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02) /* 2002::/16, 6to4: the IPv4 address in bytes 2..5 */
		return v4_internal(a + 2);
	return memcmp(a, ec2_metadata6, 16) == 0 || (a[0] & 0xfe) == 0xfc /* fc00::/7 */
	    || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) /* fe80::/10 */
	    || (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) /* fec0::/10, site-local */
	    || a[0] == 0xff; /* multicast */
}

static bool cidr_contains(const nt_cidr *c, const unsigned char a[16])
{
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->net, a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (c->net[full] & mask) == (a[full] & mask);
}

bool nt_addr_allowed(const unsigned char a[16], const nt_cidr_list *allow)
{
	if (!nt_addr_internal(a))
		return true;
	for (int i = 0; allow != NULL && i < allow->count; i++)
		if (cidr_contains(&allow->items[i], a))
			return true;
	return false;
}

/* One entry "addr[/bits]" of len bytes (white space trimmed by the caller). */
static bool cidr_parse(const char *s, size_t len, nt_cidr *out)
{
	char text[NT_CIDR_TEXT_MAX];
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	char *slash = strchr(text, '/');
	long bits = -1;
	if (slash != NULL) {
		char *end;
		*slash = '\0';
		if (slash[1] < '0' || slash[1] > '9')
			return false;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0')
			return false;
	}
	bool v4 = strchr(text, ':') == NULL;
	if (!nt_addr_from_text(text, out->net))
		return false;
	long max = v4 ? 32 : 128;
	if (bits < 0)
		bits = max;
	if (bits > max)
		return false;
	out->bits = (int)(v4 ? bits + 96 : bits);
	return true;
}

bool nt_cidr_list_parse(const char *text, nt_cidr_list *out)
{
	out->count = 0;
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);
		const char *s = p;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		const char *e = end;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			if (out->count == NT_CIDR_MAX
			    || !cidr_parse(s, (size_t)(e - s), &out->items[out->count]))
				return false;
			out->count++;
		}
		p = comma != NULL ? comma + 1 : end;
	}
	return true;
}
