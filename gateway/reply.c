/* Writing answers: every response of the gateway leaves through
 * gw_reply_send, which adds the rate-limit headers, sends, writes the access
 * log line, updates the metrics and frees the request. Problems are RFC 9457
 * bodies built by libs problem.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/problem.h"
#include "gateway.h"
#include "http1.h"

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
	hd_metrics_describe("hd_gateway_connections_refused_total", "counter",
	    "connections closed at accept (loop_full: HD_HTTP_MAX_CONNS; addr_full: "
	    "HD_HTTP_MAX_CONNS_PER_ADDR) or not accepted "
	    "(accept_error: EMFILE and the like), by reason");
	hd_metrics_describe("hd_gateway_connections_closed_total", "counter",
	    "connections the gateway closed on a deadline (write_timeout, request_timeout) or "
	    "because its loop buffered too much (loop_buffers)");
	hd_metrics_describe("hd_sse_resets_total", "counter",
	    "streams ended with event: reset, by reason (slow_client: its buffer was full; "
	    "token_expired)");
	hd_metrics_set("hd_sse_connections", NULL, 0);
	hd_metrics_set("hd_http_inflight", NULL, 0);
}

/* Grows gr's header buffer to hold need more bytes. */
static bool out_headers_room(gw_req *gr, size_t need)
{
	if (gr->out_headers_len + need <= gr->out_headers_cap)
		return true;
	size_t cap = 2 * (gr->out_headers_len + need);
	char *buf = malloc(cap);
	if (buf == NULL)
		return false;
	memcpy(buf, gr->out_headers, gr->out_headers_len);
	if (gr->out_headers != gr->out_headers_inline)
		free(gr->out_headers);
	gr->out_headers = buf;
	gr->out_headers_cap = cap;
	return true;
}

void gw_reply_header(gw_req *gr, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	if (strpbrk(name, ":\r\n") != NULL || strpbrk(value, "\r\n") != NULL) {
		hd_log_warn("request %s: header %.64s dropped: it holds a line break",
		    gr->request_id, name);
		return;
	}
	if (!out_headers_room(gr, nlen + vlen + 4))
		return;
	char *at = gr->out_headers + gr->out_headers_len;
	memcpy(at, name, nlen);
	memcpy(at + nlen, ": ", 2);
	memcpy(at + nlen + 2, value, vlen);
	memcpy(at + nlen + 2 + vlen, "\r\n", 2);
	gr->out_headers_len += nlen + vlen + 4;
}

const char *gw_req_header(const gw_req *gr, const char *name)
{
	return gr->head != NULL ? gw_http_head_header(gr->head, name) : NULL;
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
	if (hd_log_enabled(HD_LOG_INFO)) {
		snprintf(st, sizeof(st), "%d", status);
		snprintf(ms, sizeof(ms), "%.3f", secs * 1000.0);
		hd_log_set_request_id(gr->request_id);
		hd_log_fields(HD_LOG_INFO, "request", "tenant", gr->authed ? gr->claims.tid : "",
		    "route", route, "method", method, "status", st, "duration_ms", ms, "client_ip",
		    gr->client_ip, NULL);
		hd_log_set_request_id(NULL);
	}
	snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%d\"", route, method,
	    status);
	hd_metrics_add("hd_http_requests_total", labels, 1);
	snprintf(labels, sizeof(labels), "route=\"%s\"", route);
	hd_metrics_observe("hd_http_request_duration_seconds", labels, secs);
}

/* The last headers: Content-Type, the rate limit's, the blank line. */
static void headers_end(gw_req *gr, const char *content_type)
{
	if (content_type != NULL)
		gw_reply_header(gr, "Content-Type", content_type);
	ratelimit_headers(gr);
	if (out_headers_room(gr, 2)) {
		memcpy(gr->out_headers + gr->out_headers_len, "\r\n", 2);
		gr->out_headers_len += 2;
	}
}

/* The answer is out: log, count and free gr. */
static void request_end(gw_req *gr, int status)
{
	account(gr, status);
	atomic_fetch_sub(&gr->loop->gw->inflight, 1);
	hd_metrics_add("hd_http_inflight", NULL, -1);
	if (gr->out_headers != gr->out_headers_inline)
		free(gr->out_headers);
	free(gr);
}

void gw_reply_send(gw_req *gr, int status, const char *content_type, const char *body, size_t len)
{
	gw_conn *conn = gr->conn;
	headers_end(gr, content_type);
	gw_conn_respond(gr, status, body, body != NULL ? len : 0);
	request_end(gr, status);
	gw_conn_resume(conn);
}

gw_conn *gw_reply_stream(gw_req *gr, gw_stream *s)
{
	gw_reply_header(gr, "Cache-Control", "no-store");
	gw_reply_header(gr, "X-Accel-Buffering", "no"); /* proxies: do not hold events back */
	headers_end(gr, "text/event-stream");
	gw_conn *c = gw_conn_stream_begin(gr, s);
	request_end(gr, 200);
	return c;
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
