/* RFC 3339 date-times from outside (request bodies, query strings). */
#ifndef HD_RFC3339_H
#define HD_RFC3339_H
#include <stdbool.h>

/* Parses an RFC 3339 date-time ("2024-05-01T12:00:00Z", fractions of a
 * second, "+02:00" offsets) into Unix milliseconds (digits past the third
 * of the fraction are dropped); false on anything else, an impossible date
 * or time included. Pure. */
bool hd_time_parse(const char *s, long long *epoch_ms);

#endif
