/* The gateway's HTTP/1.1 connections, on the loop that accepted them. One
 * request at a time per connection: it is parsed in place in the connection's
 * input buffer (http1.c), served (http.c), and answered with one sendmsg of
 * the status line, headers and body; the next pipelined request is taken
 * after that. The read event stays armed for the connection's whole life and
 * the write event is only armed while an answer did not fit in the socket
 * buffer, so a kept-alive request costs one read and one send system call
 * (evhttp, which this replaced, made about eight: docs/gateway.md).
 *
 * Deadlines: one timer per connection, armed only when its state changes:
 * while an answer waits for the client to read it (HD_HTTP_WRITE_TIMEOUT_MS
 * from when it blocked: then closed), else while a request is partly read
 * (HD_HTTP_REQUEST_TIMEOUT_MS from its first byte: then 408). A request that
 * arrives in one read never arms it. While an answer waits, the input buffer
 * does not grow: a client that sends and never reads holds at most one
 * buffer of input and one answer, for at most the write deadline. The input
 * buffers of a loop's connections together stay under
 * HD_HTTP_LOOP_BUFFER_BYTES: a request whose buffer would pass it is 503.
 *
 * Caps at accept: HD_HTTP_MAX_CONNS connections per loop, and
 * HD_HTTP_MAX_CONNS_PER_ADDR per loop from one peer address (not a trusted
 * proxy), counted in the loop's gw_addrcount table (addrcount.h) at accept
 * and released in conn_free. Either way the surplus is closed at once.
 *
 * Lifetime: a connection with a request in flight (active) is never freed;
 * when its client goes away meanwhile it is only marked, and freed once the
 * answer comes (gw_conn_resume). The input buffer only grows while no
 * request is in flight, because the request's strings point into it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <event2/event.h>
#include <event2/listener.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/problem.h"
#include "gateway.h"
#include "http1.h"

#define GW_HEAD_MAX 16384
#define GW_IN_INITIAL 4096
#define GW_IN_KEEP 65536 /* a larger idle buffer is given back */
#define GW_IDLE_TIMEOUT_S 60 /* no byte from a client for this long: closed */
#define GW_LINGER_S 2 /* after an answer with close: wait for the client's FIN */

struct gw_conn {
	gw_loop *loop;
	int fd;
	struct event *ev_read; /* EV_READ|EV_PERSIST with the idle timeout */
	struct event *ev_write; /* armed only while out holds unsent bytes */
	struct event *ev_timer; /* the deadline below, when one applies */
	int64_t timer_at; /* when ev_timer fires (0: not armed) */
	int64_t write_since_ms; /* when out began to hold unsent bytes */
	char *in;
	size_t in_len, in_cap;
	/* the unsent answer: out_copy (malloc'd), or the end of a reply body
	 * where NNG received it, held by out_hold (out_keep) */
	const char *out;
	char *out_copy;
	hd_rpc_reply_hold *out_hold;
	size_t out_len, out_sent;
	gw_http_head head;
	bool head_ok; /* head parsed (the buffer was modified) */
	gw_http_chunked chunked;
	size_t request_len; /* bytes of the request being served */
	int64_t request_start_ms; /* when its first byte came */
	gw_req *active;
	bool continue_sent;
	bool dispatching; /* inside conn_process: answers do not re-enter it */
	bool peer_gone; /* read or write failed, or EOF: nothing more is sent */
	bool close_after; /* close once the answer is out */
	bool lingering; /* write side shut, waiting for the client's FIN */
	bool read_paused;
	bool streaming; /* an event stream's: input is read only for its end */
	gw_stream *stream; /* the stream it carries, until that ends */
	char client_ip[64];
	gw_addr_key addr; /* the peer, counted in loop->addrs when addr_counted */
	bool addr_counted;
	gw_conn *prev, *next;
};

static void conn_process(gw_conn *c);
static void conn_refuse(gw_conn *c, int status, const char *detail, bool with_head);

/* c's input buffer is now cap bytes (the loop's total follows). */
static void in_cap_set(gw_conn *c, size_t cap)
{
	c->loop->in_bytes -= c->in_cap;
	c->loop->in_bytes += cap;
	c->in_cap = cap;
}

/* Re-arms c's timer for the deadline its state has now, if that changed. */
static void deadline_update(gw_conn *c)
{
	const gw_config *cfg = &c->loop->gw->cfg;
	int64_t at = 0;
	if (c->peer_gone || c->lingering)
		at = 0;
	else if (c->out_len > 0)
		at = c->write_since_ms + cfg->write_timeout_ms;
	else if (c->active == NULL && c->in_len > 0)
		at = c->request_start_ms + cfg->request_timeout_ms;
	if (at == c->timer_at)
		return;
	c->timer_at = at;
	if (at == 0) {
		event_del(c->ev_timer);
		return;
	}
	int64_t ms = at - hd_now_ms();
	ms = ms > 0 ? ms : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };
	event_add(c->ev_timer, &tv);
}

/* The body limit of the request being read (its route's, once the head is in). */
static size_t body_max(const gw_conn *c)
{
	const gw_config *cfg = &c->loop->gw->cfg;
	return c->head_ok ? gw_body_max(cfg, &c->head) : (size_t)cfg->max_body;
}

static size_t in_cap_max(const gw_conn *c)
{
	/* a chunked body may take twice its size on the wire, and more is 413 */
	return GW_HEAD_MAX + 2 * body_max(c) + 4096;
}

/* Lets go of the unsent answer's bytes. */
static void out_clear(gw_conn *c)
{
	free(c->out_copy);
	hd_rpc_batch_reply_release(c->out_hold);
	c->out = c->out_copy = NULL;
	c->out_hold = NULL;
	c->out_len = c->out_sent = 0;
}

static void conn_free(gw_conn *c)
{
	gw_loop *loop = c->loop;
	if (c->stream != NULL)
		gw_stream_conn_gone(c->stream);
	c->stream = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		loop->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	loop->conn_count--;
	if (c->addr_counted)
		gw_addrcount_release(&loop->addrs, &c->addr);
	loop->in_bytes -= c->in_cap;
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	out_clear(c);
	free(c);
}

/* The client is gone (or must be): stop reading and writing; the connection
 * is freed now, or when its request in flight has been answered. */
static void conn_drop(gw_conn *c)
{
	c->peer_gone = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_del(c->ev_timer);
	c->timer_at = 0;
	if (c->active == NULL && !c->dispatching)
		conn_free(c);
}

/* After an answer with close: shut the write side, read until the client's
 * FIN (or GW_LINGER_S), so that unread input does not turn into a reset that
 * destroys the answer before the client read it. */
static void conn_linger(gw_conn *c)
{
	struct timeval tv = { GW_LINGER_S, 0 };
	if (c->lingering)
		return;
	c->lingering = true;
	event_del(c->ev_timer);
	c->timer_at = 0;
	shutdown(c->fd, SHUT_WR);
	c->in_len = 0;
	event_del(c->ev_read);
	event_add(c->ev_read, &tv);
}

/* When nothing waits and all that is unsent of iov lies in its last run,
 * held by *hold (a reply body in its NNG message): points c->out there and
 * takes the hold (*hold becomes NULL), so the body is not copied
 * (docs/architecture.md, Attachments). */
static bool out_reference(
    gw_conn *c, const struct iovec *iov, int iovcnt, size_t sent, hd_rpc_reply_hold **hold)
{
	size_t before_last = 0;
	if (*hold == NULL || c->out_len > 0 || iovcnt < 1)
		return false;
	for (int i = 0; i < iovcnt - 1; i++)
		before_last += iov[i].iov_len;
	if (sent < before_last)
		return false;
	c->out = (const char *)iov[iovcnt - 1].iov_base + (sent - before_last);
	c->out_len = iov[iovcnt - 1].iov_len - (sent - before_last);
	c->out_sent = 0;
	c->out_hold = *hold;
	*hold = NULL;
	return true;
}

/* Appends the unsent part of iov (after skipping sent bytes) to what c->out
 * still holds, in a copy. */
static bool out_keep(gw_conn *c, const struct iovec *iov, int iovcnt, size_t sent)
{
	size_t pending = c->out_len - c->out_sent, rest = pending;
	for (int i = 0; i < iovcnt; i++)
		rest += iov[i].iov_len;
	rest -= sent;
	char *buf = malloc(rest);
	if (buf == NULL)
		return false;
	if (pending > 0)
		memcpy(buf, c->out + c->out_sent, pending);
	size_t at = pending;
	for (int i = 0; i < iovcnt; i++) {
		size_t len = iov[i].iov_len, skip = sent < len ? sent : len;
		sent -= skip;
		memcpy(buf + at, (const char *)iov[i].iov_base + skip, len - skip);
		at += len - skip;
	}
	out_clear(c);
	c->out = c->out_copy = buf;
	c->out_len = rest;
	return true;
}

/* Sends iov now; what the socket does not take waits in c->out. hold (NULL
 * or a hold on the last run's bytes) is taken or released here. */
static void conn_send_held(gw_conn *c, struct iovec *iov, int iovcnt, hd_rpc_reply_hold *hold)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	size_t total = 0;
	if (c->peer_gone) {
		hd_rpc_batch_reply_release(hold);
		return;
	}
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	/* behind bytes still waiting, the socket must not take these first */
	ssize_t n = c->out_len > 0 ? 0 : sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		n = 0;
	if (n < 0 || (size_t)n == total) {
		c->peer_gone = c->peer_gone || n < 0;
		hd_rpc_batch_reply_release(hold);
		return;
	}
	if (c->out_len == 0)
		c->write_since_ms = hd_now_ms();
	bool kept = out_reference(c, iov, iovcnt, (size_t)n, &hold)
	    || out_keep(c, iov, iovcnt, (size_t)n);
	hd_rpc_batch_reply_release(hold);
	if (!kept) {
		hd_log_error("out of memory for an answer of %zu bytes", total);
		c->peer_gone = true;
		return;
	}
	event_add(c->ev_write, NULL);
}

static void conn_send(gw_conn *c, struct iovec *iov, int iovcnt)
{
	conn_send_held(c, iov, iovcnt, NULL);
}

/* Reading was paused (input full while a request was in flight or an
 * answer waited): it goes on, with the idle timeout. */
static void read_resume(gw_conn *c)
{
	if (c->read_paused && !c->peer_gone && !c->lingering) {
		c->read_paused = false;
		struct timeval tv = { GW_IDLE_TIMEOUT_S, 0 };
		event_add(c->ev_read, &tv);
	}
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_conn *c = arg;
	(void)what;
	ssize_t n = send(fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		conn_drop(c);
		return;
	}
	c->out_sent += (size_t)n;
	if (c->out_sent < c->out_len)
		return;
	event_del(c->ev_write);
	out_clear(c);
	read_resume(c);
	if (c->stream != NULL)
		gw_stream_drained(c->stream);
	if (c->close_after && c->active == NULL)
		conn_linger(c);
	else
		conn_process(c);
}

/* Makes room to read: grows the buffer while no request is in flight (its
 * strings point into it), else pauses reading until it is answered. */
static bool in_room(gw_conn *c)
{
	if (c->in_len < c->in_cap)
		return true;
	size_t max = in_cap_max(c);
	/* no more input is taken on while an answer waits for the client */
	if (c->active != NULL || c->out_len > 0 || c->in_cap >= max) {
		c->read_paused = true;
		event_del(c->ev_read);
		return false;
	}
	size_t cap = c->in_cap ? c->in_cap * 2 : GW_IN_INITIAL;
	/* a large body of known length (an upload): room for all of it at once,
	 * not a copy per doubling (docs/architecture.md, Attachments) */
	if (c->head_ok && !c->head.chunked && c->head.content_length > 0
	    && (uint64_t)c->head.content_length <= body_max(c)
	    && c->head.head_len + (size_t)c->head.content_length > cap)
		cap = c->head.head_len + (size_t)c->head.content_length;
	cap = cap < max ? cap : max;
	if (cap > GW_IN_INITIAL
	    && c->loop->in_bytes - c->in_cap + cap > (size_t)c->loop->gw->cfg.loop_buffer_bytes) {
		/* the loop's clients together send more than it buffers */
		hd_metrics_add("hd_gateway_connections_closed_total", "reason=\"loop_buffers\"", 1);
		conn_refuse(c, 503, "the gateway is busy: try again later", c->head_ok);
		return false;
	}
	char *in = malloc(cap);
	if (in == NULL)
		return false;
	if (c->in_len > 0)
		memcpy(in, c->in, c->in_len);
	if (c->head_ok) /* a head whose body is still coming */
		gw_http_head_rebase(&c->head, c->in, c->in_cap, in);
	free(c->in);
	c->in = in;
	in_cap_set(c, cap);
	return true;
}

static void conn_read(gw_conn *c)
{
	if (c->lingering || c->streaming) { /* only the client's end matters */
		char sink[4096];
		ssize_t n = read(c->fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_drop(c);
		return;
	}
	if (!in_room(c))
		return;
	if (c->in_len == 0)
		c->request_start_ms = hd_now_ms();
	ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n > 0) {
		c->in_len += (size_t)n;
		conn_process(c);
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_drop(c);
	}
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_conn *c = arg;
	(void)fd;
	if (!(what & EV_TIMEOUT)) {
		conn_read(c);
		return;
	}
	/* quiet for GW_IDLE_TIMEOUT_S (or GW_LINGER_S): a request in flight
	 * keeps it; an idle or half-sent one is closed */
	if (c->active == NULL)
		conn_drop(c);
}

/* A new request on c: the gw_req that carries it through the gateway. */
static gw_req *req_new(gw_conn *c, const gw_http_head *head)
{
	gw_req *gr = calloc(1, sizeof(*gr));
	if (gr == NULL)
		return NULL;
	gr->loop = c->loop;
	gr->conn = c;
	gr->head = head;
	gw_proxy_client(&c->loop->gw->cfg.proxies, c->client_ip, gw_proxy_xff(head), gr->client_ip,
	    sizeof(gr->client_ip));
	c->active = gr;
	return gr;
}

/* Answers a request the server cannot take (status with detail) and closes. */
static void conn_refuse(gw_conn *c, int status, const char *detail, bool with_head)
{
	c->close_after = true;
	c->request_len = c->in_len;
	gw_req *gr = req_new(c, with_head ? &c->head : NULL);
	if (gr == NULL) {
		conn_drop(c);
		return;
	}
	gw_request_refuse(gr, status, detail);
}

static int refusal_status(gw_http_result r)
{
	switch (r) {
	case GW_HTTP_HEAD_TOO_LARGE:
		return 431;
	case GW_HTTP_URI_TOO_LONG:
		return 414;
	case GW_HTTP_BAD_VERSION:
		return 505;
	case GW_HTTP_UNSUPPORTED_CODING:
		return 501;
	case GW_HTTP_BODY_TOO_LARGE:
		return 413;
	default:
		return 400;
	}
}

/* Tells a client that waits for it (Expect: 100-continue) to send the body. */
static void continue_send(gw_conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct iovec iov = { (void *)line, sizeof(line) - 1 };
	if (!c->head.expect_continue || c->continue_sent)
		return;
	c->continue_sent = true;
	conn_send(c, &iov, 1);
}

/* Finds the body of the parsed head; true when the request is complete. */
static bool body_ready(gw_conn *c, const char **body, size_t *len)
{
	size_t have = c->in_len - c->head.head_len;
	char *start = c->in + c->head.head_len;
	if (c->head.chunked) {
		gw_http_result r = gw_http_chunked_decode(start, have, body_max(c), &c->chunked);
		if (r == GW_HTTP_OK) {
			*body = start;
			*len = c->chunked.out_len;
			c->request_len = c->head.head_len + c->chunked.in_pos;
			return true;
		}
		if (r != GW_HTTP_INCOMPLETE)
			conn_refuse(c, refusal_status(r), c->chunked.error, true);
		else if (c->in_len >= in_cap_max(c))
			conn_refuse(c, 413, "the chunked body is too large", true);
		else
			continue_send(c);
		return false;
	}
	uint64_t want = c->head.content_length > 0 ? (uint64_t)c->head.content_length : 0;
	if (want > (uint64_t)body_max(c)) {
		/* served without its body: http.c answers 413, then close */
		c->close_after = true;
		*body = NULL;
		*len = 0;
		c->request_len = c->in_len;
		return true;
	}
	if (have < want) {
		continue_send(c);
		return false;
	}
	*body = want ? start : NULL;
	*len = (size_t)want;
	c->request_len = c->head.head_len + (size_t)want;
	return true;
}

/* Parses what c holds; true when a whole request is ready (c->head, body). */
static bool request_ready(gw_conn *c, const char **body, size_t *len)
{
	if (!c->head_ok) {
		gw_http_result r = gw_http_head_parse(c->in, c->in_len, GW_HEAD_MAX, &c->head);
		if (r == GW_HTTP_INCOMPLETE)
			return false;
		if (r != GW_HTTP_OK) {
			conn_refuse(c, refusal_status(r), c->head.error, false);
			return false;
		}
		c->head_ok = true;
	}
	return body_ready(c, body, len);
}

/* Serves the requests c holds, one at a time, until one waits for its
 * answer or more bytes are needed. */
static void conn_process(gw_conn *c)
{
	c->dispatching = true;
	while (c->active == NULL && !c->peer_gone && !c->close_after && c->out_len == 0
	    && c->in_len > 0) {
		const char *body = NULL;
		size_t len = 0;
		if (!request_ready(c, &body, &len))
			break;
		if (c->loop->stopping)
			c->close_after = true;
		gw_req *gr = req_new(c, &c->head);
		if (gr == NULL) {
			c->peer_gone = true;
			break;
		}
		gr->body = body;
		gr->body_len = len;
		gw_request_serve(gr);
	}
	c->dispatching = false;
	if (c->active != NULL) {
		deadline_update(c);
		return;
	}
	if (c->peer_gone)
		conn_drop(c);
	else if (c->close_after && c->out_len == 0)
		conn_linger(c);
	else
		deadline_update(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_conn *c = arg;
	(void)fd;
	(void)what;
	c->timer_at = 0;
	if (c->out_len > 0) {
		hd_metrics_add(
		    "hd_gateway_connections_closed_total", "reason=\"write_timeout\"", 1);
		conn_drop(c);
	} else if (c->active == NULL && c->in_len > 0 && !c->peer_gone && !c->lingering) {
		hd_metrics_add(
		    "hd_gateway_connections_closed_total", "reason=\"request_timeout\"", 1);
		conn_refuse(c, 408, "the request took too long to arrive", false);
	}
}

/* Drops the served request's bytes and readies c for the next one. */
static void request_consume(gw_conn *c)
{
	size_t used = c->request_len < c->in_len ? c->request_len : c->in_len;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->request_len = 0;
	c->head_ok = false;
	c->continue_sent = false;
	memset(&c->chunked, 0, sizeof(c->chunked));
	c->request_start_ms = hd_now_ms();
	if (c->in_len == 0 && c->in_cap > GW_IN_KEEP) {
		free(c->in);
		c->in = NULL;
		in_cap_set(c, 0);
	}
}

/* "Date: ..." for now, formatted once a second per loop. */
static const char *date_line(gw_loop *loop)
{
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	if (now.tv_sec != loop->date_sec) {
		loop->date_sec = now.tv_sec;
		gmtime_r(&now.tv_sec, &tm);
		strftime(loop->date_line, sizeof(loop->date_line),
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	}
	return loop->date_line;
}

static size_t put(char *at, const char *s)
{
	size_t n = strlen(s);
	memcpy(at, s, n);
	return n;
}

static size_t put_uint(char *at, size_t v)
{
	char digits[24];
	size_t n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		at[i] = digits[n - 1 - i];
	return n;
}

/* The status line and the headers the server owns. */
static size_t status_head(gw_conn *c, int status, size_t body_len, char *out)
{
	size_t n = put(out, "HTTP/1.1 ");
	n += put_uint(out + n, (size_t)status);
	out[n++] = ' ';
	n += put(out + n, hd_http_reason(status));
	n += put(out + n, "\r\n");
	n += put(out + n, date_line(c->loop));
	if (status >= 200 && status != 204 && status != 304) {
		n += put(out + n, "Content-Length: ");
		n += put_uint(out + n, body_len);
		n += put(out + n, "\r\n");
	}
	if (c->close_after)
		n += put(out + n, "Connection: close\r\n");
	else if (c->head.minor_version == 0)
		n += put(out + n, "Connection: keep-alive\r\n");
	return n;
}

void gw_conn_respond(gw_req *gr, int status, const char *body, size_t len)
{
	gw_conn *c = gr->conn;
	char line[256];
	if (gr->head == NULL || !gr->head->keep_alive || c->loop->stopping)
		c->close_after = true;
	bool head_only = gr->method == GW_HEAD;
	if (status == 204 || status == 304)
		len = 0;
	struct iovec iov[3] = {
		{ line, status_head(c, status, len, line) },
		{ gr->out_headers, gr->out_headers_len },
		{ (void *)body, head_only ? 0 : len },
	};
	hd_rpc_reply_hold *hold = gr->reply_hold; /* the body's, when it is a reply's */
	gr->reply_hold = NULL;
	conn_send_held(c, iov, iov[2].iov_len ? 3 : 2, iov[2].iov_len ? hold : NULL);
	if (iov[2].iov_len == 0)
		hd_rpc_batch_reply_release(hold);
	c->active = NULL;
	request_consume(c);
}

gw_conn *gw_conn_stream_begin(gw_req *gr, gw_stream *s)
{
	gw_conn *c = gr->conn;
	char line[160];
	size_t n = put(line, "HTTP/1.1 200 OK\r\n");
	n += put(line + n, date_line(c->loop));
	n += put(line + n, "Connection: close\r\n");
	struct iovec iov[2] = { { line, n }, { gr->out_headers, gr->out_headers_len } };
	c->active = NULL;
	c->streaming = true;
	c->head_ok = false;
	c->in_len = c->request_len = 0; /* pipelined bytes are dropped */
	free(c->in);
	c->in = NULL;
	in_cap_set(c, 0);
	conn_send(c, iov, 2);
	if (c->peer_gone) {
		conn_drop(c);
		return NULL;
	}
	/* the kernel's send buffer fixed at the size of ours (no autotuning to
	 * megabytes): a client that stops reading is reset that much sooner */
	int sndbuf = (int)c->loop->gw->cfg.sse_buffer_bytes;
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) != 0)
		hd_log_warn("stream: cannot set SO_SNDBUF: %s", strerror(errno));
	c->stream = s;
	c->read_paused = false;
	event_del(c->ev_read);
	event_add(c->ev_read, NULL); /* no idle timeout: a stream may be quiet */
	deadline_update(c);
	return c;
}

bool gw_conn_stream_write(gw_conn *c, struct iovec *iov, int iovcnt)
{
	conn_send(c, iov, iovcnt);
	if (!c->peer_gone)
		deadline_update(c);
	return !c->peer_gone;
}

size_t gw_conn_unsent(const gw_conn *c)
{
	return c->out_len - c->out_sent;
}

void gw_conn_stream_end(gw_conn *c)
{
	c->stream = NULL;
	c->close_after = true;
	if (c->peer_gone)
		conn_drop(c);
	else if (c->out_len == 0)
		conn_linger(c);
}

void gw_conn_resume(gw_conn *c)
{
	if (c->out_len == 0)
		read_resume(c);
	if (c->dispatching)
		return; /* answered at once: conn_process goes on */
	if (c->peer_gone) {
		conn_drop(c);
		return;
	}
	if (c->out_len > 0) {
		deadline_update(c); /* conn_write_cb goes on once the answer is out */
		return;
	}
	if (c->close_after)
		conn_linger(c);
	else
		conn_process(c);
}

static void peer_format(const struct sockaddr *sa, char *out, size_t size)
{
	const void *addr = NULL;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, out, (socklen_t)size) == NULL)
		out[0] = '\0';
}

void gw_conn_accept_cb(
    struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	gw_loop *loop = arg;
	struct event_base *base = evconnlistener_get_base(lev);
	struct timeval tv = { GW_IDLE_TIMEOUT_S, 0 };
	(void)socklen;
	if (loop->conn_count >= loop->gw->cfg.max_conns) {
		hd_metrics_add("hd_gateway_connections_refused_total", "reason=\"loop_full\"", 1);
		close(fd);
		return;
	}
	gw_addr_key key = { { 0 } };
	bool counted = false;
	char ip[sizeof(((gw_conn *)NULL)->client_ip)];
	peer_format(sa, ip, sizeof(ip));
	/* per peer address, except trusted proxies (HD_TRUSTED_PROXIES): many
	 * clients come through each of them */
	if (loop->gw->cfg.max_conns_per_addr > 0 && gw_addr_key_of(sa, &key)
	    && (loop->gw->cfg.proxies.n == 0 || !gw_proxies_trusts(&loop->gw->cfg.proxies, ip))) {
		if (!gw_addrcount_take(
		        &loop->addrs, &key, (uint32_t)loop->gw->cfg.max_conns_per_addr)) {
			hd_metrics_add(
			    "hd_gateway_connections_refused_total", "reason=\"addr_full\"", 1);
			close(fd);
			return;
		}
		counted = true;
	}
	gw_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		if (counted)
			gw_addrcount_release(&loop->addrs, &key);
		close(fd);
		return;
	}
	loop->conn_count++;
	c->loop = loop;
	c->addr = key;
	c->addr_counted = counted;
	c->fd = fd;
	memcpy(c->client_ip, ip, sizeof(ip));
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->ev_timer = evtimer_new(base, conn_timer_cb, c);
	c->next = loop->conns;
	if (loop->conns != NULL)
		loop->conns->prev = c;
	loop->conns = c;
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timer == NULL
	    || event_add(c->ev_read, &tv) != 0) {
		hd_log_error("cannot watch a new connection");
		conn_free(c);
	}
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	gw_loop *loop = arg;
	(void)fd;
	(void)what;
	if (loop->listener != NULL)
		evconnlistener_enable(loop->listener);
}

void gw_conn_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	gw_loop *loop = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, 100 * 1000 };
	hd_metrics_add("hd_gateway_connections_refused_total", "reason=\"accept_error\"", 1);
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	if (loop->accept_pause == NULL)
		loop->accept_pause
		    = evtimer_new(evconnlistener_get_base(lev), accept_resume_cb, loop);
	if (loop->accept_pause == NULL)
		return;
	hd_log_warn("accept: %s: not accepting for 100 ms", strerror(err));
	evconnlistener_disable(lev);
	event_add(loop->accept_pause, &tv);
}

void gw_conn_close_idle(gw_loop *loop)
{
	gw_conn *next;
	for (gw_conn *c = loop->conns; c != NULL; c = next) {
		next = c->next;
		if (c->active == NULL && c->out_len == 0)
			conn_free(c);
	}
}

void gw_conn_free_all(gw_loop *loop)
{
	if (loop->accept_pause != NULL)
		event_free(loop->accept_pause);
	loop->accept_pause = NULL;
	while (loop->conns != NULL) {
		if (loop->conns->active != NULL)
			hd_log_warn("closing a connection with request %s unanswered",
			    loop->conns->active->request_id);
		conn_free(loop->conns);
	}
}
