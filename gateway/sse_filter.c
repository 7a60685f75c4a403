/* Who may read an event on the stream (sse_filter.h). */
#include <stdio.h>
#include <string.h>
#include "hd/uuid.h"
#include "route.h"
#include "sse_filter.h"

/* obj.key when it is a UUID string, else NULL. */
static const char *uuid_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && hd_uuid_valid(v->valuestring) ? v->valuestring : NULL;
}

static bool type_is(const char *type, const char *prefix)
{
	return strncmp(type, prefix, strlen(prefix)) == 0;
}

/* The customer who requested the ticket the event is about, or NULL. */
static const char *requester_of(const char *type, const cJSON *data)
{
	if (strcmp(type, "ticket.created") == 0 || strcmp(type, "ticket.deleted") == 0)
		return uuid_member(data, "requester_id");
	if (strcmp(type, "ticket.updated") == 0 || strcmp(type, "ticket.merged") == 0)
		return uuid_member(
		    cJSON_GetObjectItemCaseSensitive(data, "ticket"), "requester_id");
	if (strcmp(type, "comment.added") == 0
	    && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "public")))
		return uuid_member(data, "requester_id");
	return NULL;
}

/* The technician the work order of a workorder.* event is assigned to, or NULL. */
static const char *technician_of(const char *type, const cJSON *data)
{
	if (!type_is(type, "workorder."))
		return NULL;
	const char *t
	    = uuid_member(cJSON_GetObjectItemCaseSensitive(data, "work_order"), "technician_id");
	return t != NULL ? t : uuid_member(data, "technician_id");
}

bool gw_sse_audience_of(const char *type, const char *tenant, const cJSON *data, gw_sse_audience *a)
{
	memset(a, 0, sizeof(*a));
	if (tenant == NULL || !hd_uuid_valid(tenant) || type == NULL || !cJSON_IsObject(data))
		return false;
	snprintf(a->tenant, sizeof(a->tenant), "%s", tenant);
	a->roles = strcmp(type, "automation.webhook") == 0 ? GW_ROLE_ADMIN
	                                                   : GW_ROLE_ADMIN | GW_ROLE_AGENT;
	const char *who = requester_of(type, data);
	a->user_role = GW_ROLE_CUSTOMER;
	if (who == NULL) {
		who = technician_of(type, data);
		a->user_role = GW_ROLE_TECHNICIAN;
	}
	if (who != NULL)
		snprintf(a->user, sizeof(a->user), "%s", who);
	else
		a->user_role = 0;
	return true;
}

bool gw_sse_visible(const gw_sse_audience *a, const char *tenant, const char *user, unsigned role)
{
	if (a->tenant[0] == '\0' || strcmp(a->tenant, tenant) != 0)
		return false;
	if (a->roles & role)
		return true;
	return a->user_role != 0 && role == a->user_role && strcmp(a->user, user) == 0;
}
