/* The event type names of proto/events.def (hd/events.h). */
#include "hd/events.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const char *const hd_event_names[HD_EVENT__COUNT + 1] = {
#define HD_EVENT(resource, verb, name, fields, description) name,
#include "events.def"
#undef HD_EVENT
	NULL,
};

const char *hd_event_name(hd_event_type t)
{
	return (int)t >= 0 && t < HD_EVENT__COUNT ? hd_event_names[t] : NULL;
}

bool hd_event_known(const char *name)
{
	for (size_t i = 0; name != NULL && i < HD_EVENT__COUNT; i++)
		if (strcmp(hd_event_names[i], name) == 0)
			return true;
	return false;
}

static const char *const hd_event_field_lists[HD_EVENT__COUNT] = {
#define HD_EVENT(resource, verb, name, fields, description) fields,
#include "events.def"
#undef HD_EVENT
};

const char *hd_event_fields(hd_event_type t)
{
	return (int)t >= 0 && t < HD_EVENT__COUNT ? hd_event_field_lists[t] : NULL;
}

/* True when the comma-separated list holds member (written "member?" when
 * the payload may leave it out: a field added later, events.def). */
static bool fields_hold(const char *list, const char *member)
{
	size_t n = strlen(member);
	if (strchr(member, '?') != NULL)
		return false;
	for (const char *at = list; at != NULL; at = strchr(at, ',')) {
		if (*at == ',')
			at++;
		size_t end = n + (strncmp(at, member, n) == 0 && at[n] == '?');
		if (strncmp(at, member, n) == 0 && (at[end] == ',' || at[end] == '\0'))
			return true;
	}
	return false;
}

bool hd_event_payload_check(const char *name, const cJSON *data, char *why, size_t why_size)
{
	const char *list = NULL;
	for (int i = 0; name != NULL && i < HD_EVENT__COUNT; i++)
		if (strcmp(hd_event_names[i], name) == 0)
			list = hd_event_field_lists[i];
	if (list == NULL) {
		snprintf(why, why_size, "unknown event type %s", name != NULL ? name : "(none)");
		return false;
	}
	if (!cJSON_IsObject(data)) {
		snprintf(why, why_size, "%s: data is not an object", name);
		return false;
	}
	size_t want = 1;
	for (const char *c = list; *c != '\0'; c++)
		want += *c == ',';
	size_t have = 0;
	for (const cJSON *m = data->child; m != NULL; m = m->next, have++) {
		if (!fields_hold(list, m->string)) {
			snprintf(
			    why, why_size, "%s: member %s is not in events.def", name, m->string);
			return false;
		}
	}
	char member[64];
	for (const char *at = list; *at != '\0';) {
		size_t n = strcspn(at, ",");
		snprintf(member, sizeof member, "%.*s", (int)n, at);
		if (at[n - 1] != '?' && cJSON_GetObjectItemCaseSensitive(data, member) == NULL) {
			snprintf(why, why_size, "%s: member %s is missing", name, member);
			return false;
		}
		at += n + (at[n] == ',');
	}
	if (have > want) { /* a member twice */
		snprintf(why, why_size, "%s: %zu members, events.def lists %zu (%s)", name, have,
		    want, list);
		return false;
	}
	return true;
}
