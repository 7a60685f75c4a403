/* Open connections per client address: see addrcount.h. */
#include "addrcount.h"
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t slot_of(const gw_addrcount *t, const gw_addr_key *key)
{
	uint64_t a, b;
	memcpy(&a, key->b, 8);
	memcpy(&b, key->b + 8, 8);
	return (size_t)(mix(mix(a ^ t->seed[0]) ^ b ^ t->seed[1])) & t->mask;
}

bool gw_addrcount_init(gw_addrcount *t, size_t max_addrs, uint64_t seed)
{
	size_t n = 16;
	memset(t, 0, sizeof(*t));
	while (n < 2 * max_addrs && n < ((size_t)1 << 40))
		n *= 2;
	t->slot = calloc(n, sizeof(*t->slot));
	if (t->slot == NULL)
		return false;
	t->mask = n - 1;
	t->seed[0] = mix(seed ^ 0x9e3779b97f4a7c15ULL);
	t->seed[1] = mix(t->seed[0] + seed);
	return true;
}

void gw_addrcount_fini(gw_addrcount *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

bool gw_addr_key_of(const struct sockaddr *sa, gw_addr_key *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		key->b[10] = key->b[11] = 0xff;
		memcpy(key->b + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(key->b, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

/* key's slot, or the empty slot where it would go. */
static size_t find(const gw_addrcount *t, const gw_addr_key *key)
{
	size_t i = slot_of(t, key);
	while (t->slot[i].count != 0 && memcmp(&t->slot[i].key, key, sizeof(*key)) != 0)
		i = (i + 1) & t->mask;
	return i;
}

bool gw_addrcount_take(gw_addrcount *t, const gw_addr_key *key, uint32_t limit)
{
	if (t->slot == NULL)
		return false;
	size_t i = find(t, key);
	gw_addr_slot *s = &t->slot[i];
	if (s->count == 0) {
		if (limit == 0 || t->used >= t->mask) /* one slot always stays empty */
			return false;
		s->key = *key;
		t->used++;
	} else if (s->count >= limit) {
		return false;
	}
	s->count++;
	return true;
}

void gw_addrcount_release(gw_addrcount *t, const gw_addr_key *key)
{
	if (t->slot == NULL)
		return;
	size_t i = find(t, key);
	if (t->slot[i].count == 0 || --t->slot[i].count > 0)
		return;
	t->used--;
	/* backward-shift deletion: move later entries of the run into the hole
	 * when their home slot is not between the hole and them */
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (t->slot[j].count == 0)
			break;
		size_t home = slot_of(t, &t->slot[j].key);
		if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
			t->slot[hole] = t->slot[j];
			hole = j;
		}
	}
	t->slot[hole].count = 0;
}

uint32_t gw_addrcount_get(const gw_addrcount *t, const gw_addr_key *key)
{
	return t->slot != NULL ? t->slot[find(t, key)].count : 0;
}
