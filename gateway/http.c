/* The HTTP side: one listener per worker loop, all bound to the same port
 * with SO_REUSEPORT so the kernel spreads connections (conn.c reads and
 * writes them), and the steps every request goes through, the early rules of
 * docs/architecture.md step 1 in order: request id, CORS, route (404/405), body
 * size (413), content type (415); then the gateway's own routes, the token
 * (auth.c), admission (admit.c) and the hop (upstream.c). Everything here
 * runs on the loop's own thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/uuid.h"
#include "gateway.h"
#include "http1.h"

/* Keeps the client's X-Request-Id when sane, else makes a UUIDv7. */
static void request_id_assign(gw_req *gr)
{
	const char *id = gw_req_header(gr, "X-Request-Id");
	if (gw_request_id_valid(id))
		snprintf(gr->request_id, sizeof(gr->request_id), "%s", id);
	else if (hd_uuid_v7(gr->request_id) != HD_OK)
		snprintf(gr->request_id, sizeof(gr->request_id), "unknown");
}

/* Adds the CORS response headers; returns the Origin when it is allowed. */
static const char *cors_apply(gw_req *gr)
{
	const char *origin = gw_req_header(gr, "Origin");
	const gw_cors *cors = &gr->loop->gw->cors;
	gw_reply_header(gr, "Vary", "Origin");
	if (!gw_cors_allowed(cors, origin))
		return NULL;
	gw_reply_header(gr, "Access-Control-Allow-Origin", cors->any ? "*" : origin);
	gw_reply_header(gr, "Access-Control-Expose-Headers", GW_CORS_EXPOSE_HEADERS);
	return origin;
}

/* OPTIONS: a CORS preflight or a plain "what may I do here". */
static void options_answer(gw_req *gr, const char *path, bool origin_ok)
{
	gw_match m;
	char allow[96], age[16];
	bool preflight = gw_req_header(gr, "Origin") != NULL
	    && gw_req_header(gr, "Access-Control-Request-Method") != NULL;

	if (gw_route_match(GW_GET, path, strlen(path), &m) == GW_MATCH_NOT_FOUND) {
		gw_reply_problem(gr, 404, "no such route");
		return;
	}
	gw_method_list(m.allow | GW_OPTIONS, allow, sizeof(allow));
	if (preflight && !origin_ok) {
		gw_reply_problem(gr, 403, "this origin is not allowed (HD_CORS_ORIGINS)");
		return;
	}
	if (preflight) {
		snprintf(age, sizeof(age), "%d", GW_CORS_MAX_AGE_S);
		gw_reply_header(gr, "Access-Control-Allow-Methods", allow);
		gw_reply_header(gr, "Access-Control-Allow-Headers", GW_CORS_ALLOW_HEADERS);
		gw_reply_header(gr, "Access-Control-Max-Age", age);
	} else {
		gw_reply_header(gr, "Allow", allow);
	}
	gw_reply_send(gr, 204, NULL, NULL, 0);
}

static bool is_upload(const gw_http_head *head)
{
	return strcmp(head->method, "POST") == 0 && strcmp(head->path, GW_UPLOAD_PATH) == 0;
}

size_t gw_body_max(const gw_config *cfg, const gw_http_head *head)
{
	return (size_t)(is_upload(head) ? cfg->max_upload : cfg->max_body);
}

/* 413 and 415; false when answered. */
static bool body_check(gw_req *gr)
{
	size_t max = gw_body_max(&gr->loop->gw->cfg, gr->head);
	int64_t cl = gr->head->content_length;
	size_t len = gr->body_len;
	char detail[96];

	if ((cl > 0 && (uint64_t)cl > max) || len > max) {
		snprintf(detail, sizeof(detail), "the body is larger than %zu bytes", max);
		gw_reply_problem(gr, 413, detail);
		return false;
	}
	if (len > 0 && (gr->method & (GW_POST | GW_PUT | GW_PATCH)) && !is_upload(gr->head)
	    && !gw_content_type_is_json(gw_req_header(gr, "Content-Type"))) {
		gw_reply_problem(gr, 415, "the body must be application/json");
		return false;
	}
	return true;
}

/* Route match; false when answered (404/405). */
static bool route_check(gw_req *gr, const char *path)
{
	char allow[96];
	switch (gw_route_match(gr->method, path, strlen(path), &gr->match)) {
	case GW_MATCH_OK:
		return true;
	case GW_MATCH_METHOD:
		gw_method_list(gr->match.allow | GW_OPTIONS, allow, sizeof(allow));
		gw_reply_header(gr, "Allow", allow);
		gw_reply_problem(gr, 405, "this route does not take this method");
		return false;
	case GW_MATCH_NO_OBJECT: {
		char detail[64];
		snprintf(detail, sizeof detail, "%s not found", gr->match.missing);
		gw_reply_problem(gr, 404, detail);
		return false;
	}
	default:
		gw_reply_problem(gr, 404, "no such route");
		return false;
	}
}

/* What every request gets first: its id, the in-flight count, CORS. */
static bool request_begin(gw_req *gr)
{
	clock_gettime(CLOCK_MONOTONIC, &gr->start);
	gr->out_headers = gr->out_headers_inline;
	gr->out_headers_cap = sizeof(gr->out_headers_inline);
	atomic_fetch_add(&gr->loop->gw->inflight, 1);
	hd_metrics_add("hd_http_inflight", NULL, 1);
	request_id_assign(gr);
	gw_reply_header(gr, "X-Request-Id", gr->request_id);
	return cors_apply(gr) != NULL;
}

void gw_request_refuse(gw_req *gr, int status, const char *detail)
{
	request_begin(gr);
	gw_reply_problem(gr, status, detail);
}

void gw_request_serve(gw_req *gr)
{
	bool origin_ok = request_begin(gr);
	const char *path = gr->head->path;
	gr->method = gw_method_parse(gr->head->method);
	if (gr->method == GW_OPTIONS) {
		options_answer(gr, path, origin_ok);
		return;
	}
	if (gw_web_wants(path)) {
		gw_web_answer(gr);
		return;
	}
	if (!route_check(gr, path) || !body_check(gr))
		return;
	if (gr->match.route->service == GW_SVC_gateway && gr->match.route->public_route) {
		gw_local_answer(gr);
		return;
	}
	if (gw_sse_ticket_wanted(gr)) {
		gw_sse_ticket_redeem(gr); /* EventSource: a ticket for a token */
		return;
	}
	if (!gw_auth_check(gr))
		return;
	gw_admit_start(gr);
}

/* Binds a listener with SO_REUSEPORT on the configured address. */
static struct evconnlistener *listener_open(struct event_base *base, gw_loop *loop)
{
	const gw_config *cfg = &loop->gw->cfg;
	char spec[160];
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	bool v6 = strchr(cfg->bind, ':') != NULL;
	snprintf(spec, sizeof(spec), v6 ? "[%s]:%ld" : "%s:%ld", cfg->bind, cfg->port);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
		hd_log_error("HD_HTTP_BIND/HD_HTTP_PORT do not form an address: %s", spec);
		return NULL;
	}
	struct evconnlistener *lev = evconnlistener_new_bind(base, gw_conn_accept_cb, loop,
	    LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_FREE, 1024,
	    (struct sockaddr *)&ss, sslen);
	if (lev == NULL) {
		hd_log_error("cannot listen on %s: %s", spec,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(lev, gw_conn_accept_error_cb);
	/* Accepted sockets inherit TCP_NODELAY on Linux. Without it, a reply
	 * larger than one segment (a list page) has its tail held by Nagle's
	 * algorithm until the client's delayed ACK: +40 ms per reply on a
	 * kept-alive connection. */
	int one = 1;
	if (setsockopt(evconnlistener_get_fd(lev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
	    != 0)
		hd_log_warn("cannot set TCP_NODELAY on %s: %s", spec,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	return lev;
}

static hd_err http_open(gw_loop *loop, struct event_base *base)
{
	loop->listener = listener_open(base, loop);
	return loop->listener != NULL ? HD_OK : HD_ERR_IO;
}

hd_err gw_loop_init_cb(hd_worker *w, void *arg)
{
	gw_loop *loop = calloc(1, sizeof(*loop));
	hd_err err;
	const char *step;

	if (loop == NULL)
		return HD_ERR_NOMEM;
	loop->gw = arg;
	loop->worker = w;
	step = "address table";
	if (loop->gw->cfg.max_conns_per_addr > 0) {
		/* a seed clients cannot guess, so they cannot pick colliding
		 * addresses (the clock is the fallback) */
		uint64_t seed = 0;
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
			seed = (uint64_t)hd_now_ms() ^ (uint64_t)(uintptr_t)loop;
		if (!gw_addrcount_init(&loop->addrs, (size_t)loop->gw->cfg.max_conns, seed)) {
			err = HD_ERR_NOMEM;
			goto fail;
		}
	}
	step = "http";
	if ((err = http_open(loop, hd_worker_base(w))) != HD_OK)
		goto fail;
	step = "redis";
	if ((err = hd_redis_create(&loop->redis, hd_worker_base(w), loop->gw->cfg.redis_url))
	    != HD_OK)
		goto fail;
	step = "token cache";
	if ((loop->jwt_cache = hd_jwt_cache_new()) == NULL) {
		err = HD_ERR_NOMEM;
		goto fail;
	}
	step = "batchers";
	if ((err = gw_upstream_loop_open(loop)) != HD_OK)
		goto fail;
	hd_worker_set_data(w, loop);
	/* without the bus the API still works; GET /v1/stream answers 503 */
	if ((loop->sse = gw_sse_hub_create(loop)) == NULL)
		hd_log_error("loop %d: no bus subscription (HD_BUS_SUB_URL): no event streams",
		    hd_worker_index(w));
	return HD_OK;
fail:
	hd_log_error("loop %d: %s set-up failed: %s", hd_worker_index(w), step, hd_strerror(err));
	gw_upstream_loop_close(loop);
	hd_jwt_cache_free(loop->jwt_cache);
	hd_redis_destroy(loop->redis);
	if (loop->listener != NULL)
		evconnlistener_free(loop->listener);
	gw_addrcount_fini(&loop->addrs);
	free(loop);
	return err;
}

void gw_loop_drain_start(void *arg)
{
	gw_loop *loop = hd_worker_data(arg);
	if (loop != NULL)
		loop->stopping = true;
}

void gw_loop_stop_accepting(void *arg)
{
	gw_loop *loop = hd_worker_data(arg);
	if (loop == NULL)
		return;
	if (loop->listener != NULL)
		evconnlistener_free(loop->listener);
	loop->listener = NULL;
	/* kept-alive clients reconnect, to a gateway that is not stopping */
	loop->stopping = true;
	gw_conn_close_idle(loop);
}

void gw_loop_detach(void *arg)
{
	gw_loop *loop = hd_worker_data(arg);
	if (loop == NULL)
		return;
	loop->detached = true;
	gw_sse_hub_detach(loop->sse);
	gw_upstream_loop_close(loop);
	pthread_mutex_lock(&loop->gw->detach_mu);
	loop->gw->detached_loops++;
	pthread_cond_broadcast(&loop->gw->detach_cv);
	pthread_mutex_unlock(&loop->gw->detach_mu);
}

void gw_loop_fini_cb(hd_worker *w, void *arg)
{
	gw_loop *loop = hd_worker_data(w);
	if (loop == NULL)
		return;
	/* Pending Redis commands fail (answered 503) while the connections
	 * still live. */
	hd_redis_destroy(loop->redis);
	gw_upstream_loop_close(loop);
	hd_jwt_cache_free(loop->jwt_cache);
	if (loop->listener != NULL)
		evconnlistener_free(loop->listener);
	gw_conn_free_all(loop);
	gw_sse_hub_destroy(loop->sse);
	gw_addrcount_fini(&loop->addrs);
	hd_worker_set_data(w, NULL);
	free(loop);
}
