/* The client address behind trusted reverse proxies (proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http1.h"

/* An address in binary: IPv4-mapped IPv6 becomes IPv4. */
typedef struct ip {
	int family;
	unsigned char addr[16];
} ip;

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses text (len bytes, no surrounding blanks) as an address; accepts
 * "[v6]", "[v6]:port" and "v4:port" as proxies write them. */
static bool ip_parse(const char *text, size_t len, ip *out)
{
	char buf[GW_PROXY_ADDR_MAX];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	char *s = buf;
	if (s[0] == '[') {
		char *end = strchr(s, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		*end = '\0';
		s++;
	} else {
		char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL && strchr(s, '.') != NULL)
			*colon = '\0'; /* v4:port */
	}
	if (inet_pton(AF_INET, s, out->addr) == 1) {
		out->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->addr) != 1)
		return false;
	out->family = AF_INET6;
	if (memcmp(out->addr, v4_mapped, sizeof(v4_mapped)) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		out->family = AF_INET;
	}
	return true;
}

static void ip_format(const ip *a, char *out, size_t size)
{
	char buf[INET6_ADDRSTRLEN];
	if (inet_ntop(a->family, a->addr, buf, sizeof(buf)) == NULL)
		buf[0] = '\0';
	snprintf(out, size, "%s", buf);
}

static bool cidr_has(const gw_cidr *c, const ip *a)
{
	if (c->family != a->family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, a->addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (a->addr[full] & mask);
}

static bool ip_trusted(const gw_proxies *p, const ip *a)
{
	for (size_t i = 0; i < p->n; i++)
		if (cidr_has(&p->cidr[i], a))
			return true;
	return false;
}

/* Trims blanks around [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static bool cidr_parse(const char *s, size_t len, gw_cidr *out)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	char buf[GW_PROXY_ADDR_MAX];
	int max;
	bool mapped = false;

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
		mapped = memcmp(out->addr, v4_mapped, sizeof(v4_mapped)) == 0;
	} else
		return false;
	out->bits = max;
	if (slash != NULL) {
		size_t blen = len - alen - 1;
		if (blen == 0 || blen > 3 || strspn(slash + 1, "0123456789") < blen)
			return false;
		memcpy(buf, slash + 1, blen);
		buf[blen] = '\0';
		out->bits = atoi(buf);
		if (out->bits > max)
			return false;
	}
	if (mapped) { /* ::ffff:a.b.c.d/n (n >= 96) is the IPv4 range a.b.c.d/(n - 96) */
		if (out->bits < 96)
			return false;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->bits -= 96;
	}
	return true;
}

bool gw_proxies_parse(gw_proxies *p, const char *spec)
{
	p->n = 0;
	for (const char *s = spec; s != NULL && *s != '\0';) {
		size_t len = strcspn(s, ",");
		const char *item = s;
		size_t ilen = len;
		s += len;
		if (*s == ',')
			s++;
		trim(&item, &ilen);
		if (ilen == 0)
			continue;
		if (p->n == GW_PROXY_MAX || !cidr_parse(item, ilen, &p->cidr[p->n])) {
			p->n = 0;
			return false;
		}
		p->n++;
	}
	return true;
}

bool gw_proxies_trusts(const gw_proxies *p, const char *addr)
{
	ip a;
	return addr != NULL && ip_parse(addr, strlen(addr), &a) && ip_trusted(p, &a);
}

void gw_proxy_client(const gw_proxies *p, const char *peer, const char *xff, char *out, size_t size)
{
	ip a, client;
	if (peer == NULL || !ip_parse(peer, strlen(peer), &client)) {
		snprintf(out, size, "%s", peer != NULL ? peer : "");
		return;
	}
	if (xff != NULL && ip_trusted(p, &client)) {
		/* from the right: each trusted entry passes the walk on leftwards */
		for (size_t end = strlen(xff); end > 0;) {
			size_t start = end;
			while (start > 0 && xff[start - 1] != ',')
				start--;
			const char *item = xff + start;
			size_t len = end - start;
			end = start > 0 ? start - 1 : 0;
			trim(&item, &len);
			if (len == 0 && start > 0)
				continue; /* an empty list element */
			if (!ip_parse(item, len, &a))
				break; /* not an address: the trusted hop right of it */
			client = a;
			if (!ip_trusted(p, &a))
				break;
			if (start == 0)
				break;
		}
	}
	ip_format(&client, out, size);
}

const char *gw_proxy_xff(const struct gw_http_head *head)
{
	const char *v = NULL;
	for (size_t i = 0; head != NULL && i < head->nheaders; i++)
		if (strcasecmp(head->headers[i].name, "X-Forwarded-For") == 0)
			v = head->headers[i].value;
	return v;
}
