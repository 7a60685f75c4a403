/* Answers GET and HEAD of the web console's paths (static.h) from the files
 * loaded at start: content type, ETag and 304, Cache-Control, and the
 * security headers of docs/web.md on every answer, found or not. */
#include <string.h>
#include "hd/config.h"
#include "hd/log.h"
#include "etag.h"
#include "gateway.h"
#include "http1.h"

/* The console loads only its own files and talks only to its own origin. */
#define GW_WEB_CSP                                                                                 \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "                \
	"form-action 'self'; frame-ancestors 'none'"

/* What the access log and the metrics name these answers by. */
static const gw_route web_route = {
	.method = GW_GET,
	.pattern = "/(web console)",
	.service = GW_SVC_gateway,
	.op = "gateway.web",
	.roles = GW_ROLES_ANY,
	.public_route = true,
};

bool gw_web_wants(const char *path)
{
	gw_match m;
	return gw_static_owns(path)
	    && gw_route_match(GW_GET, path, strlen(path), &m) == GW_MATCH_NOT_FOUND;
}

hd_err gw_web_load(gw_static *web)
{
	long max_bytes = 0;
	const char *root = hd_config_str("HD_WEB_ROOT");
	if (hd_config_int("HD_WEB_MAX_BYTES", 1, 1L << 32, &max_bytes) != HD_OK)
		return HD_ERR_INVALID;
	hd_err err = gw_static_load(web, root, (size_t)max_bytes);
	if (err == HD_OK && web->index != NULL)
		hd_log_info(
		    "web console: %zu files, %zu bytes from %s", web->count, web->bytes, root);
	return err;
}

static void security_headers(gw_req *gr)
{
	gw_reply_header(gr, "Content-Security-Policy", GW_WEB_CSP);
	gw_reply_header(gr, "X-Content-Type-Options", "nosniff");
	gw_reply_header(gr, "Referrer-Policy", "no-referrer");
	gw_reply_header(gr, "X-Frame-Options", "DENY");
}

void gw_web_answer(gw_req *gr)
{
	const gw_static *st = &gr->loop->gw->web;
	gr->match.route = &web_route;
	security_headers(gr);
	if (gr->method != GW_GET && gr->method != GW_HEAD) {
		gw_reply_header(gr, "Allow", "GET, HEAD");
		gw_reply_problem(gr, 405, "the web console's files are only read (GET, HEAD)");
		return;
	}
	const gw_static_file *f = gw_static_lookup(st, gr->head->path);
	if (f == NULL) {
		gw_reply_problem(gr, 404,
		    st->index == NULL
		        ? "the web console is not installed (HD_WEB_ROOT, docs/web.md)"
		        : "no such file");
		return;
	}
	/* two representations when a compressed copy exists, each its own tag */
	bool gz = f->gz != NULL && gw_static_accepts_gzip(gw_req_header(gr, "Accept-Encoding"));
	const char *etag = gz ? f->gz_etag : f->etag;
	gw_reply_header(gr, "Cache-Control", gw_static_cache_control(f));
	gw_reply_header(gr, "ETag", etag);
	if (f->gz != NULL)
		gw_reply_header(gr, "Vary", "Accept-Encoding");
	if (gw_etag_none_match(gw_req_header(gr, "If-None-Match"), etag)) {
		gw_reply_send(gr, 304, NULL, NULL, 0);
		return;
	}
	if (gz)
		gw_reply_header(gr, "Content-Encoding", "gzip");
	gw_reply_send(gr, 200, f->content_type, gz ? f->gz : f->body, gz ? f->gz_len : f->len);
}
