/* HTTP POSTs for webhook deliveries through libcurl's multi interface,
 * driven by one libevent loop (libcurl's hiperfifo design): libcurl tells
 * which sockets to watch and when its timer runs out (socket_cb, timer_cb),
 * the loop tells libcurl what became ready (curl_multi_socket_action), and
 * finished transfers are collected after each action. Nothing blocks the
 * loop: name resolution is the caller's (dispatch.c resolves, checks and
 * pins the address), so libcurl only connects.
 *
 * Mails go out the same way (nt_http_mail: SMTP with STARTTLS, or
 * smtps://), to the operator's relay, so without the address guard; and
 * mail in's IMAP commands (nt_http_imap: imaps://, or imap:// with
 * STARTTLS) to the mailboxes admins set, whose answer is kept (bounded)
 * and whose connections pass the same guard with their own allow list
 * (HD_MAIL_ALLOW_CIDRS): a tenant's admin reaches no internal address.
 *
 * Every webhook transfer: POST only, no redirects followed, no proxy, http and https
 * only, connect and total timeouts, at most NT_HTTP_REPLY_MAX bytes of reply
 * read (the rest ends the transfer; the status still counts), and every
 * socket libcurl opens is checked once more against the address guard
 * (opensocket_cb), so that no connection reaches a refused address
 * whatever a name resolves to. One nt_http per loop, used on its thread. */
#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include "hd/buf.h"
#include "hd/log.h"
#include "notification.h"

#define NT_HTTP_REPLY_MAX 65536

struct nt_http {
	CURLM *multi;
	struct event_base *base;
	struct event *timer;
	const nt_cidr_list *allow;
	struct http_xfer *xfers; /* every transfer started and not yet called back */
};

typedef struct http_xfer {
	struct http_xfer *prev, *next;
	nt_http *h;
	CURL *easy;
	struct curl_slist *headers, *resolve; /* headers: the recipients of a mail */
	size_t reply_bytes;
	char *upload; /* a mail's message, sent from upload_pos */
	size_t upload_len, upload_pos;
	nt_http_cb cb;
	nt_imap_cb imap_cb; /* an IMAP command: its answer goes here instead */
	hd_buf got; /* the IMAP answer, at most got_max bytes */
	size_t got_max;
	bool too_large; /* the answer went past got_max */
	void *arg;
	char error[CURL_ERROR_SIZE];
} http_xfer;

typedef struct http_sock {
	struct event *ev;
} http_sock;

static void xfer_free(http_xfer *x)
{
	if (x == NULL)
		return;
	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (x->h->xfers == x)
		x->h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	curl_slist_free_all(x->resolve);
	free(x->upload);
	hd_buf_free(&x->got);
	free(x);
}

/* Calls x back (its IMAP answer, or the status) and frees it. */
static void xfer_finish(http_xfer *x, long status, const char *error)
{
	if (x->imap_cb != NULL) {
		if (error == NULL && x->got.failed)
			error = "out of memory";
		if (error != NULL && x->too_large)
			error = nt_imap_too_large;
		x->imap_cb(error, x->got.data != NULL ? x->got.data : "", x->got.len, x->arg);
	} else
		x->cb(status, error, x->arg);
	xfer_free(x);
}

/* Hands every finished transfer to its callback. */
static void http_collect(nt_http *h)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		http_xfer *x = NULL;
		long status = 0;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		CURLcode rc = msg->data.result;
		const char *error = NULL;
		if (rc != CURLE_OK)
			error = x->error[0] != '\0' ? x->error : curl_easy_strerror(rc);
		xfer_finish(x, status, error);
	}
}

static void http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	nt_http *h = arg;
	int running = 0;
	int action
	    = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_collect(h);
}

static void http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	nt_http *h = arg;
	int running = 0;
	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_collect(h);
}

static int http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	nt_http *h = userp;
	http_sock *hs = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
		}
		curl_multi_assign(h->multi, s, NULL);
		return 0;
	}
	short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0)
	    | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (hs == NULL) {
		hs = calloc(1, sizeof(*hs));
		if (hs == NULL)
			return -1;
		curl_multi_assign(h->multi, s, hs);
	} else {
		event_free(hs->ev);
	}
	hs->ev = event_new(h->base, s, kind, http_event_cb, h);
	return hs->ev != NULL && event_add(hs->ev, NULL) == 0 ? 0 : -1;
}

static int http_timer_set_cb(CURLM *multi, long timeout_ms, void *userp)
{
	nt_http *h = userp;
	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(h->timer);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	return evtimer_add(h->timer, &tv);
}

/* The last check before a connection: the address libcurl is about to
 * connect to must be one a webhook (or, for mail in, a mailbox) may reach;
 * clientp is the allow list of the transfer's kind. */
static curl_socket_t http_opensocket_cb(
    void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	const nt_cidr_list *allow = clientp;
	unsigned char addr[16];
	(void)purpose;
	if (!nt_addr_from_sockaddr(&a->addr, addr) || !nt_addr_allowed(addr, allow)) {
		hd_log_warn("refused a connection to an internal address (webhook or mailbox)");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static size_t http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	http_xfer *x = arg;
	(void)data;
	x->reply_bytes += size * n;
	return x->reply_bytes <= NT_HTTP_REPLY_MAX ? size * n : 0;
}

hd_err nt_http_create(nt_http **out, struct event_base *base)
{
	nt_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return HD_ERR_NOMEM;
	h->base = base;
	h->allow = &nt_settings_get()->allow;
	h->multi = curl_multi_init();
	h->timer = evtimer_new(base, http_timer_cb, h);
	if (h->multi == NULL || h->timer == NULL) {
		nt_http_destroy(h);
		return HD_ERR_NOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_set_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*out = h;
	return HD_OK;
}

void nt_http_destroy(nt_http *h)
{
	if (h == NULL)
		return;
	if (h->multi != NULL) {
		while (h->xfers != NULL) {
			xfer_finish(h->xfers, 0, "the daemon is stopping");
		}
		curl_multi_cleanup(h->multi);
	}
	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
}

/* Sets the options of one POST on x->easy; false when one is refused. */
static bool xfer_setup(http_xfer *x, const nt_http_post *p)
{
	CURL *e = x->easy;
	for (const char *const *hd = p->headers; hd != NULL && *hd != NULL; hd++) {
		struct curl_slist *n = curl_slist_append(x->headers, *hd);
		if (n == NULL)
			return false;
		x->headers = n;
	}
	if (p->addr != NULL) {
		char entry[NT_HOST_MAX + 80];
		bool v6 = strchr(p->addr, ':') != NULL;
		snprintf(entry, sizeof(entry), v6 ? "%s:%ld:[%s]" : "%s:%ld:%s", p->host, p->port,
		    p->addr);
		if ((x->resolve = curl_slist_append(NULL, entry)) == NULL)
			return false;
	}
	return curl_easy_setopt(e, CURLOPT_URL, p->url) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_RESOLVE, x->resolve) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, p->body) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x->h->allow) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->error) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_USERAGENT, "helpdesk-webhooks/1") == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK;
}

static size_t http_read_cb(char *out, size_t size, size_t n, void *arg)
{
	http_xfer *x = arg;
	size_t room = size * n, left = x->upload_len - x->upload_pos;
	size_t take = left < room ? left : room;
	memcpy(out, x->upload + x->upload_pos, take);
	x->upload_pos += take;
	return take;
}

/* Sets the options of one mail on x->easy (x->upload holds the message). */
static bool xfer_setup_mail(http_xfer *x, const nt_smtp_send *p)
{
	CURL *e = x->easy;
	char from[NT_HOST_MAX + 80];
	snprintf(from, sizeof(from), "<%s>", p->from);
	if ((x->headers = curl_slist_append(NULL, p->to)) == NULL)
		return false;
	return curl_easy_setopt(e, CURLOPT_URL, p->url) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK
	    && curl_easy_setopt(
	           e, CURLOPT_USE_SSL, p->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY)
	    == CURLE_OK
	    && (p->ca_file == NULL || curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file) == CURLE_OK)
	    && (p->user == NULL || curl_easy_setopt(e, CURLOPT_USERNAME, p->user) == CURLE_OK)
	    && (p->password == NULL
	        || curl_easy_setopt(e, CURLOPT_PASSWORD, p->password) == CURLE_OK)
	    && curl_easy_setopt(e, CURLOPT_MAIL_FROM, from) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->headers) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->upload_len) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_READFUNCTION, http_read_cb) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_READDATA, x) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->error) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK;
}

/* A transfer of h with its callback, its easy handle not yet set up. */
static http_xfer *xfer_new(nt_http *h, nt_http_cb cb, void *arg)
{
	http_xfer *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

/* Hands the set-up transfer to the multi handle (x is freed on failure). */
static hd_err xfer_add(nt_http *h, http_xfer *x)
{
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		xfer_free(x);
		return HD_ERR_INTERNAL;
	}
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	return HD_OK;
}

hd_err nt_http_start(nt_http *h, const nt_http_post *p, nt_http_cb cb, void *arg)
{
	http_xfer *x = xfer_new(h, cb, arg);
	if (x == NULL)
		return HD_ERR_NOMEM;
	if (!xfer_setup(x, p)) {
		xfer_free(x);
		return HD_ERR_NOMEM;
	}
	return xfer_add(h, x);
}

hd_err nt_http_mail(nt_http *h, const nt_smtp_send *p, nt_http_cb cb, void *arg)
{
	http_xfer *x = xfer_new(h, cb, arg);
	if (x == NULL)
		return HD_ERR_NOMEM;
	x->upload = malloc(p->len);
	x->upload_len = p->len;
	if (x->upload == NULL || (memcpy(x->upload, p->message, p->len), !xfer_setup_mail(x, p))) {
		xfer_free(x);
		return HD_ERR_NOMEM;
	}
	return xfer_add(h, x);
}

const char nt_imap_too_large[] = "the answer is larger than allowed";

static size_t imap_write_cb(char *data, size_t size, size_t n, void *arg)
{
	http_xfer *x = arg;
	if (x->got.len + size * n > x->got_max) {
		x->too_large = true;
		return 0; /* ends the transfer */
	}
	hd_buf_put(&x->got, data, size * n);
	return size * n;
}

/* Sets the options of one IMAP command on x->easy. */
static bool xfer_setup_imap(http_xfer *x, const nt_imap_cmd *p)
{
	CURL *e = x->easy;
	return curl_easy_setopt(e, CURLOPT_URL, p->url) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "imap,imaps") == CURLE_OK
	    && curl_easy_setopt(
	           e, CURLOPT_USE_SSL, p->require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY)
	    == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_USERNAME, p->user) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PASSWORD, p->password) == CURLE_OK
	    && (p->command == NULL
	        || curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, p->command) == CURLE_OK)
	    && curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &nt_settings_get()->mail_allow)
	    == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, imap_write_cb) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->error) == CURLE_OK
	    && curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK;
}

hd_err nt_http_imap(nt_http *h, const nt_imap_cmd *p, nt_imap_cb cb, void *arg)
{
	http_xfer *x = xfer_new(h, NULL, arg);
	if (x == NULL)
		return HD_ERR_NOMEM;
	x->imap_cb = cb;
	x->got_max = p->max_bytes;
	if (!xfer_setup_imap(x, p)) {
		xfer_free(x);
		return HD_ERR_NOMEM;
	}
	return xfer_add(h, x);
}
