/* Weekly hours in a time zone, one shape for every daemon that counts time
 * in them (the ticket SLA's business hours, field technicians' working
 * hours; docs/openapi.yaml, BusinessHours):
 *     {"timezone":"Europe/Paris","days":{"mon":[["09:00","17:00"]],...}}
 * days keyed mon..sun, each up to 4 sorted, disjoint [start, end) windows
 * of "HH:MM" (00:00..24:00), at least one window in all. Whether the time
 * zone exists is the database's check (AT TIME ZONE, SQLSTATE 22023). */
#ifndef HD_HOURS_H
#define HD_HOURS_H
#include <cjson/cJSON.h>
#include "hd/problem.h"

#define HD_HOURS_MAX_WINDOWS 4
#define HD_HOURS_TZ_MAX 64

/* Validates member `member` of obj; returns its JSON (malloc'ed) or NULL
 * when absent, JSON null, or invalid (then with errors named
 * "<member>.timezone" / "<member>.days"). */
char *hd_hours_read(const cJSON *obj, const char *member, hd_field_errors *errs);

#endif
