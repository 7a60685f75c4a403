/* UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, version, 12 + 62 bits
 * from RAND_bytes. Monotonic within the process (method 2 of §6.2): when the
 * clock has not moved past the last id, the 74 random bits of the last id
 * are increased by a random step instead of being drawn anew, carrying into
 * the timestamp on overflow. */
#include "hd/uuid.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HD_UUID_RB_MAX (UINT64_C(1) << 62)

static pthread_mutex_t hd_uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t hd_uuid_last_ms;
static uint16_t hd_uuid_last_ra; /* 12 bits */
static uint64_t hd_uuid_last_rb; /* 62 bits */

#define HD_UUID_POOL_BYTES 512

static _Thread_local unsigned char hd_uuid_pool[HD_UUID_POOL_BYTES];
static _Thread_local size_t hd_uuid_pool_used = HD_UUID_POOL_BYTES;
static _Thread_local unsigned hd_uuid_pool_generation;
static _Atomic unsigned hd_uuid_fork_generation;
static pthread_once_t hd_uuid_atfork_once = PTHREAD_ONCE_INIT;

static void hd_uuid_forked(void)
{
	hd_uuid_fork_generation++;
}

static void hd_uuid_atfork_register(void)
{
	pthread_atfork(NULL, NULL, hd_uuid_forked);
}

/* Copies n fresh random bytes from this thread's pool (n <= the pool). */
static hd_err hd_uuid_random(unsigned char *out, size_t n)
{
	pthread_once(&hd_uuid_atfork_once, hd_uuid_atfork_register);
	unsigned generation = hd_uuid_fork_generation;
	if (hd_uuid_pool_generation != generation || hd_uuid_pool_used + n > sizeof(hd_uuid_pool)) {
		if (RAND_bytes(hd_uuid_pool, (int)sizeof(hd_uuid_pool)) != 1)
			return HD_ERR_INTERNAL;
		hd_uuid_pool_used = 0;
		hd_uuid_pool_generation = generation;
	}
	memcpy(out, hd_uuid_pool + hd_uuid_pool_used, n);
	/* a byte handed out is never handed out again */
	memset(hd_uuid_pool + hd_uuid_pool_used, 0, n);
	hd_uuid_pool_used += n;
	return HD_OK;
}

static uint64_t hd_uuid_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t hd_uuid_be(const unsigned char *b, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

/* Computes the next (ms, ra, rb) under the lock. */
static hd_err hd_uuid_next(uint64_t *ms, uint16_t *ra, uint64_t *rb)
{
	unsigned char rnd[10];
	if (hd_uuid_random(rnd, sizeof(rnd)) != HD_OK)
		return HD_ERR_INTERNAL;
	uint64_t now = hd_uuid_now_ms();
	pthread_mutex_lock(&hd_uuid_lock);
	if (now > hd_uuid_last_ms) {
		hd_uuid_last_ms = now;
		hd_uuid_last_ra = (uint16_t)(hd_uuid_be(rnd, 2) & 0x0FFF);
		hd_uuid_last_rb = hd_uuid_be(rnd + 2, 8) & (HD_UUID_RB_MAX - 1);
	} else {
		uint64_t step = (hd_uuid_be(rnd + 2, 4) & 0xFFFFFFu) + 1;
		hd_uuid_last_rb += step;
		if (hd_uuid_last_rb >= HD_UUID_RB_MAX) {
			hd_uuid_last_rb -= HD_UUID_RB_MAX;
			if (++hd_uuid_last_ra > 0x0FFF) {
				hd_uuid_last_ra = 0;
				hd_uuid_last_ms++;
			}
		}
	}
	*ms = hd_uuid_last_ms;
	*ra = hd_uuid_last_ra;
	*rb = hd_uuid_last_rb;
	pthread_mutex_unlock(&hd_uuid_lock);
	return HD_OK;
}

hd_err hd_uuid_v7(char out[HD_UUID_STRLEN + 1])
{
	uint64_t ms, rb;
	uint16_t ra;
	hd_err err = hd_uuid_next(&ms, &ra, &rb);
	if (err != HD_OK)
		return err;
	unsigned char b[16];
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (ra >> 8));
	b[7] = (unsigned char)ra;
	b[8] = (unsigned char)(0x80 | (rb >> 56));
	for (int i = 9; i < 16; i++)
		b[i] = (unsigned char)(rb >> (8 * (15 - i)));
	snprintf(out, HD_UUID_STRLEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	    b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]);
	return HD_OK;
}

bool hd_uuid_valid(const char *s)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < HD_UUID_STRLEN; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
		               || (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return s[HD_UUID_STRLEN] == '\0';
}

static int uuid_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10; /* hd_uuid_valid checked it is hex */
}

bool hd_uuid_v7_ms(const char *s, int64_t *ms)
{
	if (!hd_uuid_valid(s) || s[14] != '7')
		return false;
	int64_t v = 0;
	for (int i = 0; i < 13; i++) /* 8 hex, '-', 4 hex: the 48-bit time */
		if (i != 8)
			v = v * 16 + uuid_hex_digit(s[i]);
	*ms = v;
	return true;
}
