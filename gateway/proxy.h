/* The client address behind trusted reverse proxies (HD_TRUSTED_PROXIES).
 * Pure functions, unit-tested (tests/unit/test_proxy.c).
 *
 * Only when the connection's peer is a trusted proxy is X-Forwarded-For
 * read: its entries from the right, skipping trusted proxies, and the first
 * address that is not one is the client. From any other peer the header is
 * ignored and the peer is the client (a client cannot pick its own rate
 * limit key or log address). Addresses come back in inet_ntop form, IPv4
 * mapped IPv6 addresses (::ffff:a.b.c.d) as IPv4. */
#ifndef HD_GW_PROXY_H
#define HD_GW_PROXY_H
#include <stdbool.h>
#include <stddef.h>

#define GW_PROXY_MAX 32
#define GW_PROXY_ADDR_MAX 64

typedef struct gw_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
} gw_cidr;

typedef struct gw_proxies {
	gw_cidr cidr[GW_PROXY_MAX];
	size_t n;
} gw_proxies;

/* Parses a comma-separated list of CIDRs or single addresses (IPv4, IPv6:
 * "10.0.0.0/8, 192.168.1.7, fd00::/8"); empty or NULL: none. False (p
 * empty) on a bad entry or more than GW_PROXY_MAX. */
bool gw_proxies_parse(gw_proxies *p, const char *spec);

/* True when addr (text) is inside one of p's ranges. */
bool gw_proxies_trusts(const gw_proxies *p, const char *addr);

/* Writes the client address to out: peer, or from xff (the X-Forwarded-For
 * value, NULL when none) when peer is trusted, as described above. When
 * every entry is trusted, the leftmost; an entry that is not an address
 * (or "unknown") ends the walk at the trusted address right of it. */
void gw_proxy_client(
    const gw_proxies *p, const char *peer, const char *xff, char *out, size_t size);

/* The value of the last X-Forwarded-For header line of head (the one the
 * nearest proxy wrote or appended to), NULL when none or head is NULL. */
struct gw_http_head;
const char *gw_proxy_xff(const struct gw_http_head *head);

#endif
