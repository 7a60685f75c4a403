/* Small helpers of the integration tests that read the database as its
 * owner (around row-level security) and wait. Header-only: each test is one
 * translation unit. */
#ifndef HD_TESTS_ADMIN_SQL_H
#define HD_TESTS_ADMIN_SQL_H

#include <stdlib.h>
#include <time.h>
#include "hd/db.h"

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Runs sql at url with up to two parameters (NULL ends them); returns the
 * first value as a number (-1 when none). */
static inline long long admin_value(
    const char *url, const char *sql, const char *p1, const char *p2)
{
	char *v = NULL;
	const char *p[2] = { p1, p2 };
	int n = p1 == NULL ? 0 : p2 == NULL ? 1 : 2;
	assert_int_equal(hd_db_exec_sync(url, sql, n, p, &v), HD_OK);
	long long c = v != NULL ? strtoll(v, NULL, 10) : -1;
	free(v);
	return c;
}

/* Same, returning the text (malloc'ed, NULL when none). */
static inline char *admin_text(const char *url, const char *sql, const char *p1)
{
	char *v = NULL;
	assert_int_equal(hd_db_exec_sync(url, sql, p1 != NULL ? 1 : 0, &p1, &v), HD_OK);
	return v;
}

#endif
