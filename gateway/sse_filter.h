/* Who may read an event on GET /v1/stream (docs/architecture.md, "The live
 * stream"). An event's audience is worked out once, when it arrives, and
 * each stream then checks its reader against it in a few comparisons:
 * - every event stays in its tenant;
 * - admins and agents see every event of their tenant, except that only
 *   admins see automation.webhook (it carries an automation's target URL);
 * - a customer sees the ticket.* events of the tickets they requested and
 *   the public comment.added events on them: never an internal note, an SLA
 *   breach, a work order or an article;
 * - a technician sees the workorder.* events of the work orders assigned to
 *   them, and nothing else.
 * The requester comes from the payload (proto/events.def: ticket.created
 * and the `ticket` of ticket.updated / ticket.merged carry requester_id,
 * ticket.deleted and comment.added carry the ticket's requester_id); the
 * technician from work_order.technician_id (and technician_id of
 * workorder.dispatched). Pure functions. */
#ifndef GW_SSE_FILTER_H
#define GW_SSE_FILTER_H
#include <stdbool.h>
#include <cjson/cJSON.h>

typedef struct gw_sse_audience {
	char tenant[37];
	unsigned roles; /* GW_ROLE_* bits that see it across the tenant */
	char user[37]; /* one more reader by user id, "" for none ... */
	unsigned user_role; /* ... who must hold this role (GW_ROLE_CUSTOMER or _TECHNICIAN) */
} gw_sse_audience;

/* Works out who may read an event of type with tenant and payload data;
 * false (nobody) when tenant is no UUID. */
bool gw_sse_audience_of(
    const char *type, const char *tenant, const cJSON *data, gw_sse_audience *a);

/* True when the reader (tenant, user id, GW_ROLE_* bit) may read it. */
bool gw_sse_visible(const gw_sse_audience *a, const char *tenant, const char *user, unsigned role);

#endif
