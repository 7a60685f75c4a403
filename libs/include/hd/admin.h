/* The admin HTTP port every process has (docs/architecture.md, "Operations"):
 * GET /healthz (200 while the process runs, 503 when the owner's liveness
 * check says it is broken for good), GET /readyz (200, or 503 naming
 * what fails; only when the owner gives a readiness probe) and GET /metrics
 * (Prometheus text of hd/metrics.h). No login: it binds HD_ADMIN_BIND, which
 * the local stack sets to 127.0.0.1 and the chart opens only to metricsFrom.
 * Runs on the event_base given, on that base's thread. */
#ifndef HD_ADMIN_H
#define HD_ADMIN_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

struct event_base;
typedef struct hd_admin hd_admin;

/* Readiness: returns true when ready; else writes the failing dependencies
 * as JSON strings separated by commas ("\"postgres\",\"redis\"") into
 * failing (cap bytes, NUL-terminated). Called on the admin loop's thread. */
typedef bool (*hd_admin_ready_fn)(void *ctx, char *failing, size_t cap);

typedef struct hd_admin_spec {
	const char *service; /* "ticket": named in /healthz */
	const char *version; /* named in /healthz */
	const char *port_setting; /* "HD_TICKET_ADMIN_PORT" */
	hd_admin_ready_fn ready; /* NULL: no /readyz on this port */
	void *ready_ctx;
	/* NULL, or false when the process cannot recover and should be
	 * restarted: /healthz answers 503 (the bus forwarder's thread ended) */
	bool (*alive)(void);
} hd_admin_spec;

/* Listens on HD_ADMIN_BIND, port from spec->port_setting. spec must outlive
 * the server. HD_ERR_INVALID for a bad port setting, HD_ERR_UNAVAILABLE when
 * the port cannot be bound. */
hd_err hd_admin_start(hd_admin **out, struct event_base *base, const hd_admin_spec *spec);
/* Stops listening and frees (on the base's thread). NULL ok. */
void hd_admin_free(hd_admin *admin);

/* Publishes hd_build_info{service,version} 1 in /metrics. */
void hd_admin_build_info(const char *service, const char *version);

#endif
