/* UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits from OpenSSL,
 * monotonic within a process. */
#ifndef HD_UUID_H
#define HD_UUID_H
#include <stdbool.h>
#include <stdint.h>
#include "hd/err.h"

#define HD_UUID_STRLEN 36

/* Writes a new lower-case UUIDv7 and its NUL into out. */
hd_err hd_uuid_v7(char out[HD_UUID_STRLEN + 1]);
/* True when s is a canonical 8-4-4-4-12 hex UUID string. */
bool hd_uuid_valid(const char *s);
/* When s is a UUIDv7, writes its Unix milliseconds into *ms and returns
 * true; false for anything else (other versions, not a UUID). */
bool hd_uuid_v7_ms(const char *s, int64_t *ms);

#endif
