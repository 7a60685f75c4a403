/* The event bus: publishers and subscribers dial the forwarder (a raw SUB ↔
 * raw PUB device). A message is the topic (the event type, e.g.
 * "ticket.created") then a NUL, then the event JSON. Pub/sub may drop:
 * durability comes from each service's outbox and events.since. */
#ifndef HD_BUS_H
#define HD_BUS_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

typedef struct hd_bus_pub hd_bus_pub;
typedef struct hd_bus_sub hd_bus_sub;
typedef struct hd_bus_forwarder hd_bus_forwarder;

/* Runs the forwarder: listens on sub_url (publishers dial it) and pub_url
 * (subscribers dial it) and copies messages in a thread. */
hd_err hd_bus_forwarder_start(hd_bus_forwarder **out, const char *sub_url, const char *pub_url);
void hd_bus_forwarder_stop(hd_bus_forwarder *f);
/* True while the forwarder's thread forwards (false once it ended on an
 * error, or for NULL). Any thread. Metrics: hd_bus_forwarded_total,
 * hd_bus_dropped_total{reason}; a publisher counts events sent with no
 * forwarder connected in hd_bus_publish_unconnected_total{type}. */
bool hd_bus_forwarder_running(const hd_bus_forwarder *f);
/* False when one of its listeners stopped taking connections and could not
 * be made again (a self-probe watchdog on each, as on a daemon's RPC
 * listener: docs/operations.md, RPC listener watchdog). Any thread. */
bool hd_bus_forwarder_listening(const hd_bus_forwarder *f);

/* Opens a publisher dialing url (non-blocking: the forwarder may come later). */
hd_err hd_bus_pub_open(hd_bus_pub **out, const char *url);
void hd_bus_pub_close(hd_bus_pub *p);
/* Publishes one event (thread-safe, never blocks). */
hd_err hd_bus_publish(hd_bus_pub *p, const char *type, const char *json, size_t len);

/* Called on an NNG thread for each received event. */
typedef void (*hd_bus_event_cb)(const char *type, const char *json, size_t len, void *arg);
/* Subscribes to the comma-separated topic prefixes ("" = everything). */
hd_err hd_bus_sub_open(
    hd_bus_sub **out, const char *url, const char *prefixes, hd_bus_event_cb cb, void *arg);
/* Stops and frees; once an NNG close hung in this process (nng_close.h),
 * leaves everything to the process exit instead of hanging it. */
void hd_bus_sub_close(hd_bus_sub *s);

#endif
