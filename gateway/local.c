/* The gateway's own endpoints: /healthz, /readyz (Redis of this loop and
 * every service client; 503 while draining on SIGTERM), the JWKS document and the OpenAPI document
 * (openapi.c), served from memory without a hop to a daemon. /metrics is on
 * the admin port (main.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway.h"

static void healthz(gw_req *gr)
{
	static const char body[] = "{\"status\":\"ok\",\"version\":\"" GW_VERSION "\"}";
	gw_reply_send(gr, 200, "application/json", body, sizeof(body) - 1);
}

static void readyz(gw_req *gr)
{
	static const char body[] = "{\"status\":\"ok\"}";
	char failing[256] = "", detail[300];
	size_t used = 0;
	gw *g = gr->loop->gw;

	if (atomic_load(&g->draining)) {
		gw_reply_problem(gr, 503, "not ready: draining (shutting down)");
		return;
	}
	if (!hd_redis_ready(gr->loop->redis))
		used += (size_t)snprintf(failing + used, sizeof(failing) - used, "redis");
	for (int i = 0; i < GW_SVC__COUNT && used < sizeof(failing); i++)
		if (!gw_upstream_ready(g, (gw_service)i))
			used += (size_t)snprintf(failing + used, sizeof(failing) - used, "%s%s",
			    used ? ", " : "", gw_service_name((gw_service)i));
	if (used == 0) {
		gw_reply_send(gr, 200, "application/json", body, sizeof(body) - 1);
		return;
	}
	snprintf(detail, sizeof(detail), "not ready: %s", failing);
	gw_reply_problem(gr, 503, detail);
}

static void jwks(gw_req *gr)
{
	gw_reply_header(gr, "Cache-Control", "public, max-age=300");
	gw_reply_send(gr, 200, "application/json", gr->loop->gw->jwks, gr->loop->gw->jwks_len);
}

void gw_local_answer(gw_req *gr)
{
	static const struct {
		const char *op;
		void (*answer)(gw_req *gr);
	} ops[] = {
		{ "gateway.healthz", healthz },
		{ "gateway.readyz", readyz },
		{ "gateway.openapi", gw_openapi_answer },
		{ "gateway.jwks", jwks },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(ops[i].op, gr->match.route->op) == 0) {
			ops[i].answer(gr);
			return;
		}
	}
	gw_reply_problem(gr, 500, "local route without an answer");
}
