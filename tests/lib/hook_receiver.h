/* A webhook receiver for tests, written from the API contract alone
 * (../../docs/openapi.yaml, "Webhooks"): an HTTP/1.1 server on a thread
 * that answers each POST with the next status of a script (then a final
 * one), records the X-Helpdesk-Delivery, X-Helpdesk-Event and body of
 * each, and checks X-Helpdesk-Signature: "t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>", with t no older than 5 minutes.
 * Static inline: one receiver header for the programs that need it. */
#ifndef HD_TEST_HOOK_RECEIVER_H
#define HD_TEST_HOOK_RECEIVER_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOOK_MAX_REQS 64
#define HOOK_HEAD_MAX 8192
#define HOOK_BODY_MAX 65536

typedef struct hook_req {
	char delivery[64];
	char event[64];
	bool signature_ok;
	char *body;
} hook_req;

typedef struct hook_receiver {
	int fd, port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	/* set before traffic: answers in order, then final_status */
	int script[16];
	int nscript;
	int final_status;
	char location[128]; /* Location of a 3xx answer */
	char secret[128]; /* set once the webhook is created */
	/* what came in (under mu) */
	int connections;
	int nreqs;
	hook_req reqs[HOOK_MAX_REQS];
} hook_receiver;

/* True when sig is a valid X-Helpdesk-Signature of body under secret. */
static inline bool hook_signature_ok(
    const char *secret, const char *sig, const char *body, size_t len)
{
	long long t;
	char v1[65], want[65], digest[] = "SHA256", prefix[32];
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	if (secret[0] == '\0' || sscanf(sig, "t=%lld,v1=%64[0-9a-f]", &t, v1) != 2
	    || strlen(v1) != 64)
		return false;
	if (llabs((long long)time(NULL) - t) > 300)
		return false;
	int n = snprintf(prefix, sizeof prefix, "%lld.", t);
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end() };
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
	bool ok = c != NULL
	    && EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) == 1
	    && EVP_MAC_update(c, (const unsigned char *)prefix, (size_t)n) == 1
	    && EVP_MAC_update(c, (const unsigned char *)body, len) == 1
	    && EVP_MAC_final(c, mac, &mac_len, sizeof mac) == 1 && mac_len == 32;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	for (size_t i = 0; ok && i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", mac[i]);
	return ok && CRYPTO_memcmp(want, v1, 64) == 0;
}

/* The value of header name in head (NUL-terminated copy into out), or false. */
static inline bool hook_header(const char *head, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			const char *end = strstr(v, "\r\n");
			size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
			if (len >= size)
				return false;
			memcpy(out, v, len);
			out[len] = '\0';
			return true;
		}
	}
	return false;
}

/* Reads one request from fd (head, then Content-Length bytes), records it
 * and answers. */
static inline void hook_serve(hook_receiver *h, int fd)
{
	char *buf = malloc(HOOK_HEAD_MAX + HOOK_BODY_MAX + 1), cl[32] = "0", sig[160] = "";
	size_t got = 0, head_len = 0, body_len = 0;
	if (buf == NULL)
		return;
	while (got < HOOK_HEAD_MAX + HOOK_BODY_MAX) {
		ssize_t n = read(fd, buf + got, HOOK_HEAD_MAX + HOOK_BODY_MAX - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		char *end = head_len == 0 ? strstr(buf, "\r\n\r\n") : NULL;
		if (end != NULL) {
			head_len = (size_t)(end - buf) + 4;
			end[2] = '\0';
			hook_header(buf, "Content-Length", cl, sizeof cl);
			body_len = strtoul(cl, NULL, 10);
		}
		if (head_len > 0 && got >= head_len + body_len)
			break;
	}
	if (head_len == 0 || got < head_len + body_len) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&h->mu);
	int i = h->nreqs;
	int status = i < h->nscript ? h->script[i] : h->final_status;
	if (i < HOOK_MAX_REQS) {
		hook_req *r = &h->reqs[i];
		hook_header(buf, "X-Helpdesk-Delivery", r->delivery, sizeof r->delivery);
		hook_header(buf, "X-Helpdesk-Event", r->event, sizeof r->event);
		hook_header(buf, "X-Helpdesk-Signature", sig, sizeof sig);
		r->body = strndup(buf + head_len, body_len);
		r->signature_ok
		    = r->body != NULL && hook_signature_ok(h->secret, sig, r->body, body_len);
		h->nreqs++;
	}
	char reply[512];
	int n = snprintf(reply, sizeof reply,
	    "HTTP/1.1 %d Test\r\nContent-Length: 2\r\nConnection: close\r\n%s%s%s\r\nok", status,
	    status / 100 == 3 ? "Location: " : "", status / 100 == 3 ? h->location : "",
	    status / 100 == 3 ? "\r\n" : "");
	pthread_mutex_unlock(&h->mu);
	if (write(fd, reply, (size_t)n) < 0)
		perror("hook receiver: write");
	free(buf);
}

static inline void *hook_main(void *arg)
{
	hook_receiver *h = arg;
	while (!atomic_load(&h->stop)) {
		struct pollfd p = { h->fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int c = accept(h->fd, NULL, NULL);
		if (c < 0)
			continue;
		pthread_mutex_lock(&h->mu);
		h->connections++;
		pthread_mutex_unlock(&h->mu);
		hook_serve(h, c);
		close(c);
	}
	return NULL;
}

/* Starts a receiver on addr (e.g. "127.0.0.2"), a free port; final_status
 * answers every request past the script. 0 on success. */
static inline int hook_start(hook_receiver *h, const char *addr, int final_status)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->mu, NULL);
	h->final_status = final_status;
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (h->fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1
	    || bind(h->fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(h->fd, 64) != 0
	    || getsockname(h->fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	h->port = ntohs(sa.sin_port);
	return pthread_create(&h->thread, NULL, hook_main, h) == 0 ? 0 : -1;
}

static inline void hook_set_secret(hook_receiver *h, const char *secret)
{
	pthread_mutex_lock(&h->mu);
	snprintf(h->secret, sizeof h->secret, "%s", secret);
	pthread_mutex_unlock(&h->mu);
}

/* Requests received so far (and connections, when not NULL). */
static inline int hook_count(hook_receiver *h, int *connections)
{
	pthread_mutex_lock(&h->mu);
	int n = h->nreqs;
	if (connections != NULL)
		*connections = h->connections;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static inline void hook_stop(hook_receiver *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	close(h->fd);
	for (int i = 0; i < h->nreqs && i < HOOK_MAX_REQS; i++)
		free(h->reqs[i].body);
	pthread_mutex_destroy(&h->mu);
}

#endif
