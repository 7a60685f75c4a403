/* Open connections per client address (HD_HTTP_MAX_CONNS_PER_ADDR), one
 * table per loop, on the loop's thread only. Pure: unit-tested
 * (tests/unit/test_addrcount.c).
 *
 * The key is the TCP peer as 16 bytes: IPv6 as is, IPv4 (and an IPv4-mapped
 * IPv6 peer, ::ffff:a.b.c.d) as the mapped form, so both count as one
 * address. The table is open addressing with linear probing and
 * backward-shift deletion (no tombstones), sized once for the loop's
 * connection cap: at most that many addresses are ever in it, so it stays
 * at most half full and every operation is O(1) without allocating. The
 * hash is keyed with a per-table seed, so a client cannot choose addresses
 * that collide. */
#ifndef HD_GW_ADDRCOUNT_H
#define HD_GW_ADDRCOUNT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

typedef struct gw_addr_key {
	unsigned char b[16];
} gw_addr_key;

typedef struct gw_addr_slot {
	gw_addr_key key;
	uint32_t count; /* 0: the slot is empty */
} gw_addr_slot;

typedef struct gw_addrcount {
	gw_addr_slot *slot;
	size_t mask; /* slots - 1 (a power of two) */
	size_t used; /* addresses with a count */
	uint64_t seed[2];
} gw_addrcount;

/* Sizes t for max_addrs addresses at once (at least twice as many slots);
 * seed keys the hash. False when out of memory (t is then empty). */
bool gw_addrcount_init(gw_addrcount *t, size_t max_addrs, uint64_t seed);
void gw_addrcount_fini(gw_addrcount *t);

/* The key of an AF_INET or AF_INET6 address; false for any other family. */
bool gw_addr_key_of(const struct sockaddr *sa, gw_addr_key *key);

/* Counts one more connection from key unless it already has limit (or the
 * table is full: never when init's max_addrs is respected); true when
 * counted. */
bool gw_addrcount_take(gw_addrcount *t, const gw_addr_key *key, uint32_t limit);
/* One connection from key closed (a key without a count is ignored). */
void gw_addrcount_release(gw_addrcount *t, const gw_addr_key *key);
/* How many connections key has. */
uint32_t gw_addrcount_get(const gw_addrcount *t, const gw_addr_key *key);

#endif
