/* Domain event types, from proto/events.def (the single list; the event
 * format and payloads: proto/README.md, Events). C names a type with
 * HD_EVENT_NAME(resource, verb): the string "resource.verb", a constant
 * (usable in static tables) that fails to build unless events.def lists the
 * type (it indexes the literal with the type's enum constant times 0). Types
 * written inside SQL text are checked against events.def by
 * tests/unit/test_events.c. Any thread. */
#ifndef HD_EVENTS_H
#define HD_EVENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

typedef enum hd_event_type {
#define HD_EVENT(resource, verb, name, fields, description) HD_EVENT_##resource##_##verb,
#include "events.def"
#undef HD_EVENT
	HD_EVENT__COUNT
} hd_event_type;

#define HD_EVENT_NAME(resource, verb) (&(#resource "." #verb)[0 * HD_EVENT_##resource##_##verb])
/* The bus topic prefix of a resource's events ("ticket."). */
#define HD_EVENT_TOPIC(resource) (&(#resource ".")[0 * sizeof(hd_event_type)])

/* Every type's name, in events.def order, then NULL. */
extern const char *const hd_event_names[HD_EVENT__COUNT + 1];
/* The name of t, or NULL when t is not a type. */
const char *hd_event_name(hd_event_type t);
/* True when name is a type of events.def. */
bool hd_event_known(const char *name);
/* The payload members of t, comma-separated ("id,slug,name"), or NULL. */
const char *hd_event_fields(hd_event_type t);
/* True when data is the payload of an event of type name: a JSON object
 * holding exactly the members events.def lists for it. Else false with the
 * reason in why (unknown type, not an object, a member missing or unknown). */
bool hd_event_payload_check(const char *name, const cJSON *data, char *why, size_t why_size);

#endif
