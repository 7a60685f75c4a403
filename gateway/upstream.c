/* Forwarding to the daemons (docs/architecture.md step 4): one hd_rpc_client per
 * service of services.def, the envelope built from the request and its
 * verified claims (the body bytes as the client sent them, referenced where
 * the connection read them and copied once, into the NNG message), and the reply
 * handed back to the request's own loop by the loop's batcher (one post
 * per NNG message, a batch's replies split there without a copy), where it
 * is decoded once and mapped to HTTP: not connected 503 at once, deadline passed 504, garbage 502.
 * Replicas: a service's client dials every address (headless Service names
 * resolve to every pod). When the replica a request went to dies, the call
 * fails HD_ERR_UNAVAILABLE; an idempotent operation (operations.def) is then
 * sent again, up to GW_UPSTREAM_RETRIES times, to whichever replica is still
 * connected, within the original deadline, so clients see no error. A
 * request a draining replica refused unrun is resent up to
 * GW_UPSTREAM_UNRUN_RETRIES times: NNG's REQ socket favours the pipe that
 * answers fastest, and a draining replica answers at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "gateway.h"
#include "http1.h"

#define GW_IDEMPOTENCY_KEY_MAX 255
#define GW_UPSTREAM_RETRIES 2
#define GW_UPSTREAM_UNRUN_RETRIES 16
/* A reply body this large is sent from the reply message by reference
 * (gw_conn_respond): smaller ones nearly always fit the socket at once. */
#define GW_REPLY_HOLD_MIN 65536

static const struct {
	const char *op;
	bool idempotent;
} operations[] = {
#define HD_OP(service, name, idempotent, handler) { name, idempotent },
#include "operations.def"
#undef HD_OP
};

/* True when op may be sent again after its replica went away. */
static bool op_idempotent(const char *op)
{
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		if (strcmp(operations[i].op, op) == 0)
			return operations[i].idempotent;
	return false;
}

static const char *const service_settings[] = {
#define HD_SERVICE(name, setting) setting,
#include "services.def"
#undef HD_SERVICE
};
/* The name each daemon's certificate carries (hd/tls.h): hd-<name>. */
static const char *const service_peers[] = {
#define HD_SERVICE(name, setting) "hd-" #name,
#include "services.def"
#undef HD_SERVICE
};

hd_err gw_upstream_open(gw *g)
{
	for (int i = 0; i < GW_SVC__COUNT; i++) {
		const char *urls = hd_config_str(service_settings[i]);
		if (*urls == '\0') { /* disabled: its routes answer 503 (gw_upstream_forward) */
			hd_log_info("%s is empty: the %s service is disabled", service_settings[i],
			    gw_service_name((gw_service)i));
			continue;
		}
		hd_err err = hd_rpc_client_open_peer(&g->upstream[i], urls, service_peers[i]);
		if (err != HD_OK) {
			hd_log_error("cannot open the %s client (%s): %s",
			    gw_service_name((gw_service)i), service_settings[i], hd_strerror(err));
			gw_upstream_close(g);
			return err;
		}
	}
	hd_metrics_describe("hd_upstream_retries_total", "counter",
	    "Idempotent requests sent again after their replica went away");
	return HD_OK;
}

bool gw_upstream_ready(const gw *g, gw_service svc)
{
	return g->upstream[svc] == NULL || hd_rpc_client_connected(g->upstream[svc]);
}

void gw_upstream_close(gw *g)
{
	for (int i = 0; i < GW_SVC__COUNT; i++) {
		hd_rpc_client_close(g->upstream[i]);
		g->upstream[i] = NULL;
	}
}

hd_err gw_upstream_loop_open(gw_loop *loop)
{
	size_t n = 0;
	const gw_route *table = gw_route_table(&n);
	loop->batcher = calloc(n, sizeof(*loop->batcher));
	if (loop->batcher == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (table[i].service == GW_SVC_gateway
		    || loop->gw->upstream[table[i].service] == NULL)
			continue; /* answered here, or disabled */
		hd_err err
		    = hd_rpc_batcher_new(&loop->batcher[i], loop->gw->upstream[table[i].service],
		        loop->worker, (int)loop->gw->cfg.rpc_batch_max);
		if (err != HD_OK)
			return err;
	}
	return HD_OK;
}

void gw_upstream_loop_close(gw_loop *loop)
{
	size_t n = 0;
	gw_route_table(&n);
	for (size_t i = 0; loop->batcher != NULL && i < n; i++)
		hd_rpc_batcher_free(loop->batcher[i]);
	free(loop->batcher);
	loop->batcher = NULL;
}

static void upstream_error(gw_req *gr, const char *kind, int status, const char *what)
{
	char labels[128], detail[160];
	const char *svc = gw_service_name(gr->match.route->service);
	snprintf(labels, sizeof(labels), "service=\"%s\",kind=\"%s\"", svc, kind);
	hd_metrics_add("hd_upstream_errors_total", labels, 1);
	snprintf(detail, sizeof(detail), "the %s service %s", svc, what);
	gw_reply_problem(gr, status, detail);
}

/* The request headers a daemon sees: longest value accepted, whether a
 * longer one is refused (400), cut (user-agent) or dropped, and whether only
 * the upload route (POST GW_UPLOAD_PATH) forwards it. */
static const struct {
	const char *name;
	size_t max;
	enum { OVER_REFUSE, OVER_CUT, OVER_DROP } over;
	bool upload_only;
} forwarded[] = {
	{ "accept", 511, OVER_DROP, false }, /* text/csv replies (hd-analytics) */
	{ "content-type", 127, OVER_DROP, true }, /* the file's type */
	{ "idempotency-key", GW_IDEMPOTENCY_KEY_MAX, OVER_REFUSE, false },
	{ "if-match", 511, OVER_DROP, false }, { "traceparent", 511, OVER_DROP, false },
	{ "tracestate", 511, OVER_DROP, false }, { "user-agent", 511, OVER_CUT, false },
	{ "x-filename", 511, OVER_REFUSE, true }, /* percent-encoded UTF-8 */
};

/* Copies the forwarded request headers; false (answered) on a bad one. */
static bool headers_fill(gw_req *gr, hd_envelope *e)
{
	char value[sizeof(e->headers[0].value)];
	char detail[96];
	bool upload = gr->method == GW_POST && strcmp(gr->head->path, GW_UPLOAD_PATH) == 0;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		const char *v = gw_req_header(gr, forwarded[i].name);
		if (v == NULL || (forwarded[i].upload_only && !upload))
			continue;
		size_t len = strlen(v);
		if (len > forwarded[i].max || len == 0) {
			if (forwarded[i].over == OVER_REFUSE) {
				snprintf(detail, sizeof(detail), "%s must be 1 to %zu characters",
				    forwarded[i].name, forwarded[i].max);
				gw_reply_problem(gr, 400, detail);
				return false;
			}
			if (forwarded[i].over == OVER_DROP || len == 0)
				continue;
		}
		snprintf(value, sizeof(value), "%.*s", (int)forwarded[i].max, v);
		hd_envelope_add_header(e, forwarded[i].name, value);
	}
	return true;
}

/* Fills the envelope; false (answered) when the request cannot be sent. */
static bool envelope_fill(gw_req *gr, hd_envelope *e)
{
	struct timespec now;
	const char *query = gr->head->query;

	memset(e, 0, sizeof(*e));
	e->version = HD_ENVELOPE_VERSION;
	snprintf(e->op, sizeof(e->op), "%s", gr->match.route->op);
	snprintf(e->request_id, sizeof(e->request_id), "%s", gr->request_id);
	snprintf(e->client_ip, sizeof(e->client_ip), "%s", gr->client_ip);
	if (gr->authed) {
		snprintf(e->tenant_id, sizeof(e->tenant_id), "%s", gr->claims.tid);
		snprintf(e->user_id, sizeof(e->user_id), "%s", gr->claims.sub);
		snprintf(e->role, sizeof(e->role), "%s", gr->claims.role);
		snprintf(e->token_id, sizeof(e->token_id), "%s", gr->claims.jti);
		e->token_exp = gr->claims.exp;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	e->deadline_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000
	    + gr->loop->gw->cfg.upstream_timeout_ms;
	if (query != NULL && strlen(query) >= sizeof(e->query)) {
		gw_reply_problem(gr, 414, "the query string is too long");
		return false;
	}
	snprintf(e->query, sizeof(e->query), "%s", query ? query : "");
	for (size_t i = 0; i < gr->match.nparams; i++)
		hd_envelope_add_param(e, gr->match.params[i].name, gr->match.params[i].value);
	if (!headers_fill(gr, e))
		return false;
	e->body_len = gr->body_len;
	e->body = gr->body_len ? gr->body : NULL;
	return true;
}

static void reply_headers_copy(gw_req *gr, const hd_reply *rep)
{
	static const char *const own[] = { "content-type", "content-length", "connection",
		"transfer-encoding", "x-request-id", "keep-alive", HD_REPLY_DRAINING_HEADER };
	for (size_t i = 0; i < rep->nheaders; i++) {
		bool skip = false;
		for (size_t j = 0; j < sizeof(own) / sizeof(own[0]); j++)
			skip = skip || strcasecmp(rep->headers[i].name, own[j]) == 0;
		if (!skip)
			gw_reply_header(gr, rep->headers[i].name, rep->headers[i].value);
	}
}

/* Reply header name of rep, or NULL. */
static const char *reply_header(const hd_reply *rep, const char *name)
{
	for (size_t i = 0; i < rep->nheaders; i++)
		if (strcasecmp(rep->headers[i].name, name) == 0)
			return rep->headers[i].value;
	return NULL;
}

/* The Content-Type of a daemon's reply: JSON (problem+json for errors),
 * CSV when a daemon answered a 2xx in CSV, or an attachment's own type
 * when the 2xx is a download (Content-Disposition: attachment, with
 * nosniff: docs/architecture.md, Attachments). */
static const char *reply_content_type(const hd_reply *rep)
{
	static const char csv[] = "text/csv; charset=utf-8";
	const char *type = reply_header(rep, "content-type");
	const char *disposition = reply_header(rep, "content-disposition");
	if (rep->body_len == 0)
		return NULL;
	if (rep->status >= 400)
		return "application/problem+json";
	if (type != NULL && strcmp(type, csv) == 0)
		return csv;
	if (type != NULL && disposition != NULL && strncmp(disposition, "attachment", 10) == 0)
		return type;
	return "application/json";
}

static void forward_reply_cb(hd_err err, const char *raw, size_t raw_len, void *arg);

/* The loop's batcher for gr's route. */
static hd_rpc_batcher *forward_batcher(const gw_req *gr)
{
	size_t nroutes = 0;
	return gr->loop->batcher[gr->match.route - gw_route_table(&nroutes)];
}

/* True when rep is a draining daemon's refusal (the request did not run). */
static bool reply_is_draining(const hd_reply *rep)
{
	if (rep->status != 503)
		return false;
	for (size_t i = 0; i < rep->nheaders; i++)
		if (strcasecmp(rep->headers[i].name, HD_REPLY_DRAINING_HEADER) == 0)
			return true;
	return false;
}

/* gr's request as sent: the envelope's head, then the body where the
 * connection's buffer holds it (until gr is answered), so the body is
 * copied once, into the NNG message, on every try (docs/architecture.md,
 * Attachments). */
static hd_batch_part forward_msg(const gw_req *gr)
{
	return (hd_batch_part) { .data = gr->up_msg,
		.len = gr->up_msg_len,
		.tail = gr->body_len ? gr->body : NULL,
		.tail_len = gr->body_len };
}

/* Sends gr's request again when its replica went away (err) and the
 * operation is idempotent (or the replica refused it unrun: not_run), while
 * tries and time are left and a replica is connected. Sent alone, at once. */
static bool forward_retry(gw_req *gr, hd_err err, bool not_run)
{
	hd_rpc_client *c = gr->loop->gw->upstream[gr->match.route->service];
	int64_t left = gr->up_deadline_ms - hd_now_ms();
	char labels[96];

	bool budget_left = not_run ? gr->up_tries < GW_UPSTREAM_UNRUN_RETRIES
	                           : gr->up_lost < GW_UPSTREAM_RETRIES;
	if (gr->loop->detached || err != HD_ERR_UNAVAILABLE || !budget_left || left < 1
	    || !(not_run || op_idempotent(gr->match.route->op)) || !hd_rpc_client_connected(c))
		return false;
	gr->up_tries++;
	gr->up_lost += not_run ? 0 : 1;
	hd_batch_part msg = forward_msg(gr);
	if (hd_rpc_batcher_call_alone(forward_batcher(gr), &msg, (int)left, forward_reply_cb, gr)
	    != HD_OK)
		return false;
	snprintf(
	    labels, sizeof(labels), "service=\"%s\"", gw_service_name(gr->match.route->service));
	hd_metrics_add("hd_upstream_retries_total", labels, 1);
	hd_log_info("request %s: %s retried on another replica (try %d)", gr->request_id,
	    gr->match.route->op, gr->up_tries + 1);
	return true;
}

/* Runs on the request's loop (the batcher hands every reply back there, a
 * whole batch in one post) with the upstream answer, borrowed: decoded once,
 * then resent, or mapped to the HTTP answer. */
static void forward_reply_cb(hd_err err, const char *raw, size_t raw_len, void *arg)
{
	gw_req *gr = arg;
	hd_reply rep;

	bool valid = err == HD_OK && hd_reply_decode(raw, raw_len, &rep) == HD_OK
	    && rep.status >= 100 && rep.status <= 599;
	bool not_run = valid && reply_is_draining(&rep);
	if (not_run)
		err = HD_ERR_UNAVAILABLE; /* another replica may take it */
	if (forward_retry(gr, err, not_run))
		return;
	free(gr->up_msg);
	gr->up_msg = NULL;
	if (err == HD_ERR_TIMEOUT)
		upstream_error(gr, "timeout", 504, "did not answer in time");
	else if (err != HD_OK)
		upstream_error(gr, "unavailable", 503, "is unavailable");
	else if (!valid)
		upstream_error(gr, "bad_reply", 502, "sent a malformed reply");
	else {
		reply_headers_copy(gr, &rep);
		/* a large body is written from the reply message, not copied */
		if (rep.body_len >= GW_REPLY_HOLD_MIN)
			gr->reply_hold = hd_rpc_batch_reply_keep();
		gw_reply_send(gr, rep.status, reply_content_type(&rep), rep.body, rep.body_len);
	}
}

void gw_upstream_forward(gw_req *gr)
{
	hd_rpc_client *c = gr->loop->gw->upstream[gr->match.route->service];
	hd_envelope *e = malloc(sizeof(*e));
	char *msg = NULL;
	size_t len = 0;

	if (e == NULL) {
		gw_reply_problem(gr, 500, "out of memory");
		return;
	}
	if (!envelope_fill(gr, e))
		goto done;
	if (c == NULL) {
		upstream_error(gr, "disabled", 503, "is disabled in this installation");
		goto done;
	}
	if (gr->loop->detached || !hd_rpc_client_connected(c)) {
		upstream_error(gr, "unavailable", 503, "is unavailable");
		goto done;
	}
	if (hd_envelope_encode_head(e, &msg, &len) != HD_OK) {
		gw_reply_problem(gr, 500, "cannot encode the request envelope");
		goto done;
	}
	gr->up_deadline_ms = hd_now_ms() + gr->loop->gw->cfg.upstream_timeout_ms;
	gr->up_msg = msg;
	gr->up_msg_len = len;
	msg = NULL; /* gr's until the final answer (forward_reply_cb) */
	/* gathered with the loop's other calls of this route (one NNG trip) */
	hd_batch_part whole = forward_msg(gr);
	hd_err err = hd_rpc_batcher_call(forward_batcher(gr), &whole,
	    (int)gr->loop->gw->cfg.upstream_timeout_ms, forward_reply_cb, gr);
	if (err != HD_OK) {
		free(gr->up_msg);
		gr->up_msg = NULL;
		upstream_error(gr, "unavailable", 503, "is unavailable");
	}
done:
	free(msg);
	free(e);
}
