/* Writing answers: every response of the gateway leaves through
 * gw_reply_send, which adds the rate-limit headers, sends, writes the access
 * log line, updates the metrics and frees the request. Problems are RFC 9457
 * bodies built by libs problem.h. */
#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/problem.h"
#include "gateway.h"

void gw_metrics_declare(void)
{
	hd_metrics_describe("hd_http_requests_total", "counter",
	    "HTTP requests answered by route, method and status");
	hd_metrics_describe(
	    "hd_http_request_duration_seconds", "histogram", "HTTP request duration by route");
	hd_metrics_describe("hd_upstream_errors_total", "counter",
	    "forwarded requests that failed, by service and kind");
	hd_metrics_describe("hd_http_inflight", "gauge", "HTTP requests being served");
	hd_metrics_describe("hd_sse_connections", "gauge", "open Server-Sent Events streams");
	hd_metrics_set("hd_sse_connections", NULL, 0);
	hd_metrics_set("hd_http_inflight", NULL, 0);
}

void gw_reply_header(gw_req *gr, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(gr->req), name, value);
}

const char *gw_req_header(const gw_req *gr, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(gr->req), name);
}

static void ratelimit_headers(gw_req *gr)
{
	char v[32];
	if (!gr->rl_set)
		return;
	snprintf(v, sizeof(v), "%ld", gr->rl.limit);
	gw_reply_header(gr, "RateLimit-Limit", v);
	snprintf(v, sizeof(v), "%ld", gr->rl.remaining);
	gw_reply_header(gr, "RateLimit-Remaining", v);
	snprintf(v, sizeof(v), "%ld", gr->rl.reset_s);
	gw_reply_header(gr, "RateLimit-Reset", v);
	if (gr->rl.limited)
		gw_reply_header(gr, "Retry-After", v);
}

/* One access-log line and the request metrics; never the token. */
static void account(const gw_req *gr, int status)
{
	struct timespec now;
	char st[8], ms[32], labels[GW_PATH_MAX + 96];
	const char *route = gr->match.route ? gr->match.route->pattern : "unmatched";
	const char *method = gw_method_name(gr->method);
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - gr->start.tv_sec)
	    + (double)(now.tv_nsec - gr->start.tv_nsec) / 1e9;
	snprintf(st, sizeof(st), "%d", status);
	snprintf(ms, sizeof(ms), "%.3f", secs * 1000.0);
	hd_log_set_request_id(gr->request_id);
	hd_log_fields(HD_LOG_INFO, "request", "tenant", gr->authed ? gr->claims.tid : "", "route",
	    route, "method", method, "status", st, "duration_ms", ms, "client_ip", gr->client_ip,
	    NULL);
	hd_log_set_request_id(NULL);
	snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%d\"", route, method,
	    status);
	hd_metrics_add("hd_http_requests_total", labels, 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	hd_metrics_observe("hd_http_request_duration_seconds", labels, secs);
}

void gw_reply_send(gw_req *gr, int status, const char *content_type, const char *body, size_t len)
{
	struct evbuffer *buf = NULL;
	if (body != NULL && len > 0) {
		buf = evbuffer_new();
		if (buf != NULL && evbuffer_add(buf, body, len) != 0) {
			evbuffer_free(buf);
			buf = NULL;
			status = 500;
			content_type = NULL;
		}
	}
	if (content_type != NULL)
		gw_reply_header(gr, "Content-Type", content_type);
	ratelimit_headers(gr);
	/* Also frees a request whose client left meanwhile (evcon == NULL). */
	evhttp_send_reply(gr->req, status, hd_http_reason(status), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	account(gr, status);
	atomic_fetch_sub(&gr->loop->gw->inflight, 1);
	hd_metrics_add("hd_http_inflight", NULL, -1);
	free(gr);
}

void gw_reply_problem(gw_req *gr, int status, const char *detail)
{
	size_t len = 0;
	char *body = hd_problem_json(status, detail, gr->request_id, NULL, &len);
	if (body == NULL) {
		gw_reply_send(gr, 500, NULL, NULL, 0);
		return;
	}
	gw_reply_send(gr, status, "application/problem+json", body, len);
	free(body);
}
