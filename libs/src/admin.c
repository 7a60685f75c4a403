/* The admin HTTP port (hd/admin.h): libevent's evhttp on the owner's loop,
 * GET and HEAD only, small bounded requests, a 10 s timeout. */
#include "hd/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/problem.h"

#define ADMIN_TIMEOUT_S 10
#define ADMIN_MAX_HEADERS 8192
#define ADMIN_MAX_BODY 1024

struct hd_admin {
	struct evhttp *http;
	const hd_admin_spec *spec;
};

static void admin_send(
    struct evhttp_request *hr, int status, const char *type, const char *body, size_t len)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(hr);
	evhttp_add_header(headers, "Content-Type", type);
	evhttp_add_header(headers, "Cache-Control", "no-store");
	evbuffer_add(evhttp_request_get_output_buffer(hr), body, len);
	evhttp_send_reply(hr, status, hd_http_reason(status), NULL);
}

static bool admin_get_only(struct evhttp_request *hr)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(hr);
	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return true;
	static const char body[] = "{\"status\":405,\"title\":\"Method Not Allowed\"}";
	evhttp_add_header(evhttp_request_get_output_headers(hr), "Allow", "GET, HEAD");
	admin_send(hr, 405, "application/problem+json", body, sizeof body - 1);
	return false;
}

static void admin_healthz_cb(struct evhttp_request *hr, void *arg)
{
	const hd_admin *admin = arg;
	char body[256];
	if (!admin_get_only(hr))
		return;
	bool alive = admin->spec->alive == NULL || admin->spec->alive();
	int n = snprintf(body, sizeof body,
	    "{\"status\":\"%s\",\"service\":\"%s\",\"version\":\"%s\"}", alive ? "ok" : "failing",
	    admin->spec->service, admin->spec->version != NULL ? admin->spec->version : "");
	admin_send(hr, alive ? 200 : 503, "application/json", body, (size_t)n);
}

static void admin_readyz_cb(struct evhttp_request *hr, void *arg)
{
	const hd_admin *admin = arg;
	char failing[128] = "", body[192];
	if (!admin_get_only(hr))
		return;
	if (admin->spec->ready(admin->spec->ready_ctx, failing, sizeof failing)) {
		static const char ok[] = "{\"status\":\"ready\"}";
		admin_send(hr, 200, "application/json", ok, sizeof ok - 1);
		return;
	}
	int n
	    = snprintf(body, sizeof body, "{\"status\":\"unavailable\",\"failing\":[%s]}", failing);
	admin_send(hr, 503, "application/json", body, (size_t)n);
}

static void admin_metrics_cb(struct evhttp_request *hr, void *arg)
{
	(void)arg;
	if (!admin_get_only(hr))
		return;
	size_t len = 0;
	char *text = hd_metrics_render(&len);
	if (text == NULL) {
		static const char body[] = "{\"status\":500,\"title\":\"Internal Server Error\"}";
		admin_send(hr, 500, "application/problem+json", body, sizeof body - 1);
		return;
	}
	admin_send(hr, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void admin_notfound_cb(struct evhttp_request *hr, void *arg)
{
	(void)arg;
	static const char body[] = "{\"status\":404,\"title\":\"Not Found\"}";
	admin_send(hr, 404, "application/problem+json", body, sizeof body - 1);
}

hd_err hd_admin_start(hd_admin **out, struct event_base *base, const hd_admin_spec *spec)
{
	long port = 0;
	*out = NULL;
	if (hd_config_int(spec->port_setting, 1, 65535, &port) != HD_OK)
		return HD_ERR_INVALID;
	hd_admin *admin = calloc(1, sizeof *admin);
	if (admin == NULL || (admin->http = evhttp_new(base)) == NULL) {
		free(admin);
		return HD_ERR_NOMEM;
	}
	admin->spec = spec;
	evhttp_set_allowed_methods(admin->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_max_body_size(admin->http, ADMIN_MAX_BODY);
	evhttp_set_max_headers_size(admin->http, ADMIN_MAX_HEADERS);
	evhttp_set_timeout(admin->http, ADMIN_TIMEOUT_S);
	evhttp_set_cb(admin->http, "/healthz", admin_healthz_cb, admin);
	if (spec->ready != NULL)
		evhttp_set_cb(admin->http, "/readyz", admin_readyz_cb, admin);
	evhttp_set_cb(admin->http, "/metrics", admin_metrics_cb, admin);
	evhttp_set_gencb(admin->http, admin_notfound_cb, admin);
	const char *bind = hd_config_str("HD_ADMIN_BIND");
	if (evhttp_bind_socket_with_handle(admin->http, bind, (ev_uint16_t)port) == NULL) {
		hd_log_error("admin: cannot listen on %s port %ld", bind, port);
		hd_admin_free(admin);
		return HD_ERR_UNAVAILABLE;
	}
	hd_log_info("admin: listening on %s port %ld", bind, port);
	*out = admin;
	return HD_OK;
}

void hd_admin_free(hd_admin *admin)
{
	if (admin == NULL)
		return;
	evhttp_free(admin->http);
	free(admin);
}

void hd_admin_build_info(const char *service, const char *version)
{
	char labels[160];
	snprintf(labels, sizeof labels, "service=\"%s\",version=\"%s\"", service,
	    version != NULL ? version : "");
	hd_metrics_describe("hd_build_info", "gauge", "Build information.");
	hd_metrics_set("hd_build_info", labels, 1);
}
