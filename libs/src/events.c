/* The event type names of proto/events.def (hd/events.h). */
#include "hd/events.h"

#include <stddef.h>
#include <string.h>

const char *const hd_event_names[HD_EVENT__COUNT + 1] = {
#define HD_EVENT(resource, verb, name, description) name,
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
