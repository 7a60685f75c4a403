/* The webhook dispatcher, on worker 0's loop (docs/architecture.md,
 * "Notifications"). Deliveries are rows that the event consumer queued in
 * the same transaction as the event's position (sql/002_functions.sql), so
 * none is lost or doubled by a crash. Rounds, started by a 1 s timer and by
 * nt_dispatch_wake, claim due ones (notification.deliveries_claim, which
 * leases them so that no other replica takes them meanwhile); each claimed
 * delivery then
 *   1. has its URL checked again (url.c) and, for a host name, is resolved
 *      asynchronously (evdns on this loop) and refused, without any
 *      connection, when any address it resolves to is one a webhook may not
 *      reach (guard.c);
 *   2. is signed (sign.c) and POSTed through libcurl's multi interface on
 *      this loop (http.c), pinned to the checked address (CURLOPT_RESOLVE);
 *   3. reports its outcome (notification.delivery_done, in its tenant): a
 *      2xx answer succeeds, anything else is retried after nt_backoff_ms
 *      with the same delivery id, for up to HD_WEBHOOK_RETRY_HOURS, and a
 *      run of HD_WEBHOOK_MAX_FAILURES turns the webhook off.
 * Mails (sql/003_email.sql) go the same way: claimed by
 * notification.emails_claim, built by mail.c with the tenant as sender,
 * sent over SMTP to HD_SMTP_URL through the same libcurl multi handle, and
 * their outcome written by notification.email_done with the same backoff.
 * At most HD_WEBHOOK_PARALLEL deliveries and as many mails are in flight.
 * Mail in (inbox.c) polls mailboxes over the same multi handle. */
#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hd/log.h"
#include "hd/metrics.h"
#include "hd/uuid.h"
#include "notification.h"

#define NT_TICK_MS 1000
#define NT_LEASE_MS 120000
#define NT_ERROR_MAX 200

static const char sql_mail_done[] = "SELECT notification.email_done($1::uuid, $2::uuid, $3::bool,"
                                    " $4::text, $5::bigint, $6::bigint)";
static const char sql_done[] = "SELECT notification.delivery_done($1::uuid, $2::uuid, $3::bool,"
                               " $4::int, $5::text, $6::bigint, $7::bigint, $8::int)";

typedef struct nt_job {
	char tenant_id[HD_UUID_STRLEN + 1];
	char id[HD_UUID_STRLEN + 1];
	char *url, *secret, *event_type, *body;
	int attempts;
	nt_url target;
} nt_job;

/* One kind of queued work (webhook deliveries, mails): its claim and what
 * starts one claimed row; at most HD_WEBHOOK_PARALLEL of each in flight. */
typedef struct disp_queue {
	nt_queue queue;
	void (*start_row)(const hd_db_result *res, int row);
	int inflight;
	int want; /* rows the claim in flight asked for */
	bool claiming, again;
} disp_queue;

static void hook_start_row(const hd_db_result *res, int row);
static void mail_start_row(const hd_db_result *res, int row);
static disp_queue q_hooks = { .queue = NT_QUEUE_DELIVERIES, .start_row = hook_start_row };
static disp_queue q_mail = { .queue = NT_QUEUE_EMAILS, .start_row = mail_start_row };

/* Worker 0's thread only, but for wake_posted. */
static struct {
	hd_daemon_worker *dw;
	struct event *timer;
	struct evdns_base *dns;
	nt_http *http;
	bool stopping;
	atomic_bool wake_posted;
} nt_disp;

static void disp_round(disp_queue *q);

static void job_free(nt_job *j)
{
	if (j == NULL)
		return;
	free(j->url);
	free(j->secret);
	free(j->event_type);
	free(j->body);
	free(j);
}

static void disp_done_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_job *j = arg;
	const char *outcome = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (err != HD_OK)
		hd_log_warn(
		    "webhook: delivery %s: outcome not recorded (%s); retried after its lease",
		    j->id, hd_strerror(err));
	else if (outcome != NULL && strcmp(outcome, "disabled") == 0)
		hd_log_warn("webhook: delivery %s failed again: the webhook was turned off", j->id);
	char labels[64];
	snprintf(
	    labels, sizeof(labels), "outcome=\"%s\"", outcome != NULL ? outcome : "unrecorded");
	hd_metrics_add("hd_notification_webhook_attempts_total", labels, 1);
	job_free(j);
	q_hooks.inflight--;
	if (!nt_disp.stopping)
		disp_round(&q_hooks);
}

/* The wait before the next attempt after attempts failed ones, as text. */
static void disp_delay(int attempts, char delay[24])
{
	const nt_settings *s = nt_settings_get();
	uint32_t rnd = 0;
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint32_t)time(NULL);
	snprintf(delay, 24, "%lld",
	    (long long)nt_backoff_ms(attempts, s->retry_base_ms, s->retry_max_ms, rnd));
}

/* Records the attempt's outcome; the job is freed once it is written. */
static void job_finish(nt_job *j, bool ok, long status, const char *error)
{
	const nt_settings *s = nt_settings_get();
	char code[24], delay[24], window[24], max[24];
	snprintf(code, sizeof(code), "%ld", status);
	disp_delay(j->attempts + 1, delay);
	snprintf(window, sizeof(window), "%ld", s->retry_window_ms);
	snprintf(max, sizeof(max), "%ld", s->max_failures);
	const char *p[8] = { j->tenant_id, j->id, ok ? "t" : "f", status > 0 ? code : NULL, error,
		delay, window, max };
	hd_db_stmt st = { sql_done, 8, p };
	if (nt_disp.stopping
	    || hd_db_run(nt_disp.dw->db, j->tenant_id, &st, 1, disp_done_cb, j) != HD_OK) {
		/* not recorded: the lease runs out and the delivery is tried again */
		job_free(j);
		q_hooks.inflight--;
	}
}

static void job_http_cb(long status, const char *error, void *arg)
{
	nt_job *j = arg;
	char why[NT_ERROR_MAX];
	bool ok = status >= 200 && status <= 299;
	if (status > 0 && !ok)
		snprintf(why, sizeof(why), "the receiver answered %ld", status);
	else
		snprintf(why, sizeof(why), "%s", error != NULL ? error : "");
	job_finish(j, ok, status, ok ? NULL : why);
}

/* Signs and POSTs j, pinned to addr (NULL: the URL's literal address). */
static void job_post(nt_job *j, const char *addr)
{
	const nt_settings *s = nt_settings_get();
	char sig[NT_SIG_MAX], h_sig[NT_SIG_MAX + 32], h_event[128], h_id[64];
	size_t len = strlen(j->body);
	if (!nt_sign(j->secret, (int64_t)time(NULL), j->body, len, sig)) {
		job_finish(j, false, 0, "could not sign the delivery");
		return;
	}
	snprintf(h_sig, sizeof(h_sig), "X-Helpdesk-Signature: %s", sig);
	snprintf(h_event, sizeof(h_event), "X-Helpdesk-Event: %s", j->event_type);
	snprintf(h_id, sizeof(h_id), "X-Helpdesk-Delivery: %s", j->id);
	const char *headers[]
	    = { "Content-Type: application/json", h_event, h_id, h_sig, "Expect:", NULL };
	nt_http_post p = { .url = j->url,
		.host = j->target.host,
		.addr = addr,
		.port = j->target.port,
		.headers = headers,
		.body = j->body,
		.body_len = len,
		.connect_timeout_ms = s->connect_timeout_ms,
		.timeout_ms = s->timeout_ms };
	if (nt_http_start(nt_disp.http, &p, job_http_cb, j) != HD_OK)
		job_finish(j, false, 0, "could not start the request");
}

/* Every address must be one a webhook may reach; the first is used. */
static void job_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	nt_job *j = arg;
	char addr[INET6_ADDRSTRLEN] = "";
	const char *refused = NULL;
	if (result == EVUTIL_EAI_CANCEL || nt_disp.stopping) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		job_free(j);
		q_hooks.inflight--;
		return;
	}
	for (struct evutil_addrinfo *ai = result == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
		unsigned char a[16];
		if (!nt_addr_from_sockaddr(ai->ai_addr, a))
			continue;
		if (!nt_addr_allowed(a, &nt_settings_get()->allow))
			refused = "the host name resolves to an internal address: refused";
		else if (addr[0] == '\0')
			inet_ntop(ai->ai_family,
			    ai->ai_family == AF_INET
			        ? (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)
			              ->sin_addr
			        : (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)
			              ->sin6_addr,
			    addr, sizeof(addr));
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (refused != NULL || addr[0] == '\0') {
		job_finish(j, false, 0,
		    refused != NULL ? refused
		                    : (result != 0 ? evutil_gai_strerror(result) : "no address"));
		return;
	}
	job_post(j, addr);
}

static void job_start(nt_job *j)
{
	const nt_settings *s = nt_settings_get();
	const char *why = NULL;
	q_hooks.inflight++;
	if (!nt_url_check(j->url, s->allow_http, &s->allow, &j->target, &why)) {
		job_finish(j, false, 0, why);
		return;
	}
	if (j->target.literal) {
		job_post(j, NULL);
		return;
	}
	struct evutil_addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* the callback may run before this returns (hosts file): j is its own */
	evdns_getaddrinfo(nt_disp.dns, j->target.host, NULL, &hints, job_resolved_cb, j);
}

static char *dup_value(const hd_db_result *res, int row, int col)
{
	const char *v = hd_db_result_value(res, 0, row, col);
	return v != NULL ? strdup(v) : NULL;
}

static nt_job *job_from_row(const hd_db_result *res, int row)
{
	nt_job *j = calloc(1, sizeof(*j));
	const char *tenant = hd_db_result_value(res, 0, row, 0);
	const char *id = hd_db_result_value(res, 0, row, 1);
	const char *attempts = hd_db_result_value(res, 0, row, 6);
	if (j == NULL || tenant == NULL || id == NULL || strlen(tenant) != HD_UUID_STRLEN
	    || strlen(id) != HD_UUID_STRLEN) {
		free(j);
		return NULL;
	}
	memcpy(j->tenant_id, tenant, HD_UUID_STRLEN + 1);
	memcpy(j->id, id, HD_UUID_STRLEN + 1);
	j->url = dup_value(res, row, 2);
	j->secret = dup_value(res, row, 3);
	j->event_type = dup_value(res, row, 4);
	j->body = dup_value(res, row, 5);
	j->attempts = attempts != NULL ? atoi(attempts) : 0;
	if (j->url == NULL || j->secret == NULL || j->event_type == NULL || j->body == NULL) {
		job_free(j);
		return NULL;
	}
	return j;
}

static void hook_start_row(const hd_db_result *res, int row)
{
	nt_job *j = job_from_row(res, row);
	if (j != NULL)
		job_start(j);
}

static void disp_claimed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	disp_queue *q = arg;
	int n = 0;
	q->claiming = false;
	if (nt_disp.stopping)
		return;
	if (err != HD_OK) {
		hd_log_warn("dispatcher: claiming due work failed: %s", hd_strerror(err));
		return;
	}
	n = hd_db_result_ntuples(res, 0);
	for (int i = 0; i < n; i++)
		q->start_row(res, i);
	if (n == q->want || q->again)
		disp_round(q);
}

/* Claims as many due rows of q as there is room for. */
static void disp_round(disp_queue *q)
{
	long room = nt_settings_get()->parallel - q->inflight;
	if (q->claiming) {
		q->again = true;
		return;
	}
	q->again = false;
	if (room <= 0 || nt_disp.stopping || (q == &q_mail && nt_settings_get()->smtp_url == NULL))
		return;
	q->want = (int)room;
	if (nt_claim(nt_disp.dw, q->queue, room, NT_LEASE_MS, disp_claimed_cb, q) == HD_OK)
		q->claiming = true;
}

/* ---- mails ---- */

typedef struct nt_mail_job {
	char tenant_id[HD_UUID_STRLEN + 1];
	char id[HD_UUID_STRLEN + 1];
	int attempts;
} nt_mail_job;

static void mail_done_cb(hd_err err, const hd_db_result *res, void *arg)
{
	nt_mail_job *m = arg;
	const char *outcome = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	char labels[64];
	snprintf(
	    labels, sizeof(labels), "outcome=\"%s\"", outcome != NULL ? outcome : "unrecorded");
	hd_metrics_add("hd_notification_mail_attempts_total", labels, 1);
	free(m);
	q_mail.inflight--;
	if (!nt_disp.stopping)
		disp_round(&q_mail);
}

static void mail_finish(nt_mail_job *m, const char *error)
{
	char delay[24], window[24];
	disp_delay(m->attempts + 1, delay);
	snprintf(window, sizeof(window), "%ld", nt_settings_get()->retry_window_ms);
	const char *p[6] = { m->tenant_id, m->id, error == NULL ? "t" : "f", error, delay, window };
	hd_db_stmt st = { sql_mail_done, 6, p };
	if (error != NULL)
		hd_log_warn("mail %s not sent: %s", m->id, error);
	if (nt_disp.stopping
	    || hd_db_run(nt_disp.dw->db, m->tenant_id, &st, 1, mail_done_cb, m) != HD_OK) {
		free(m); /* the lease runs out and it is sent again */
		q_mail.inflight--;
	}
}

static void mail_sent_cb(long status, const char *error, void *arg)
{
	(void)status;
	mail_finish(arg, error);
}

/* Builds the message of claimed row and hands it to libcurl. */
static void mail_start_row(const hd_db_result *res, int row)
{
	const nt_settings *s = nt_settings_get();
	const char *v[10];
	char from[NT_HOST_MAX + 80], msg_id[NT_MAIL_ID_MAX], reply_id[NT_MAIL_ID_MAX];
	for (int i = 0; i < 10; i++)
		v[i] = hd_db_result_value(res, 0, row, i);
	nt_mail_job *m = calloc(1, sizeof(*m));
	if (m == NULL || v[0] == NULL || v[1] == NULL || strlen(v[0]) != HD_UUID_STRLEN
	    || strlen(v[1]) != HD_UUID_STRLEN) {
		free(m);
		return;
	}
	memcpy(m->tenant_id, v[0], HD_UUID_STRLEN + 1);
	memcpy(m->id, v[1], HD_UUID_STRLEN + 1);
	m->attempts = v[9] != NULL ? atoi(v[9]) : 0;
	q_mail.inflight++;
	if (!nt_mail_from_addr(s->smtp_from, v[4] != NULL ? v[4] : "", from, sizeof(from))) {
		mail_finish(m, "HD_SMTP_FROM does not make an address for this tenant");
		return;
	}
	const char *domain = strchr(from, '@') + 1;
	snprintf(msg_id, sizeof(msg_id), "%s@%s", v[7] != NULL ? v[7] : "", domain);
	snprintf(reply_id, sizeof(reply_id), "%s@%s", v[8] != NULL ? v[8] : "", domain);
	nt_mail mail = { .from_name = v[3] != NULL ? v[3] : "",
		.from_addr = from,
		.to_addr = v[2],
		.subject = v[5] != NULL ? v[5] : "",
		.body = v[6] != NULL ? v[6] : "",
		.message_id = msg_id,
		.in_reply_to = v[8] != NULL ? reply_id : NULL,
		.date = (int64_t)time(NULL) };
	size_t len = 0;
	char *text = nt_mail_build(&mail, &len);
	if (text == NULL) {
		mail_finish(m, "the message could not be built (a refused address or id)");
		return;
	}
	nt_smtp_send send = { .url = s->smtp_url,
		.user = s->smtp_user,
		.password = s->smtp_password,
		.from = from,
		.to = v[2],
		.ca_file = s->smtp_ca_file,
		.message = text,
		.len = len,
		.require_tls = !s->allow_http && strncmp(s->smtp_url, "smtp://", 7) == 0,
		.connect_timeout_ms = s->connect_timeout_ms,
		.timeout_ms = s->timeout_ms };
	if (nt_http_mail(nt_disp.http, &send, mail_sent_cb, m) != HD_OK)
		mail_finish(m, "could not start sending");
	free(text);
}

static void disp_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	disp_round(&q_hooks);
	disp_round(&q_mail);
}

static void disp_wake_cb(void *arg)
{
	(void)arg;
	atomic_store(&nt_disp.wake_posted, false);
	if (nt_disp.dw != NULL && !nt_disp.stopping) {
		disp_round(&q_hooks);
		disp_round(&q_mail);
	}
}

void nt_dispatch_wake(void)
{
	hd_daemon_worker *dw = nt_disp.dw;
	if (dw == NULL || atomic_exchange(&nt_disp.wake_posted, true))
		return;
	if (hd_worker_post(dw->worker, disp_wake_cb, NULL) != HD_OK)
		atomic_store(&nt_disp.wake_posted, false);
}

hd_err nt_dispatch_start(hd_daemon_worker *dw)
{
	struct event_base *base = hd_worker_base(dw->worker);
	struct timeval tv = { NT_TICK_MS / 1000, (NT_TICK_MS % 1000) * 1000 };
	hd_metrics_describe("hd_notification_webhook_attempts_total", "counter",
	    "webhook delivery attempts by outcome (succeeded, retry, failed, disabled)");
	hd_metrics_describe("hd_notification_mail_attempts_total", "counter",
	    "e-mail sending attempts by outcome (sent, retry, failed)");
	nt_disp.stopping = false;
	nt_disp.dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (nt_disp.dns == NULL) /* no resolv.conf: /etc/hosts and literals still work */
		nt_disp.dns = evdns_base_new(base, 0);
	nt_disp.timer = event_new(base, -1, EV_PERSIST, disp_tick_cb, NULL);
	if (nt_disp.dns == NULL || nt_disp.timer == NULL || event_add(nt_disp.timer, &tv) != 0
	    || nt_http_create(&nt_disp.http, base) != HD_OK) {
		hd_log_error("webhook dispatcher: setup failed");
		nt_dispatch_stop();
		return HD_ERR_INTERNAL;
	}
	if (nt_disp.dns != NULL)
		evdns_base_load_hosts(nt_disp.dns, NULL);
	nt_disp.dw = dw;
	if (nt_inbox_start(dw, nt_disp.http) != HD_OK) {
		nt_dispatch_stop();
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

void nt_dispatch_stop(void)
{
	nt_disp.stopping = true;
	nt_disp.dw = NULL;
	nt_inbox_stop(); /* before the transfers it may have in flight end */
	if (nt_disp.timer != NULL)
		event_free(nt_disp.timer);
	nt_disp.timer = NULL;
	nt_http_destroy(nt_disp.http); /* transfers in flight: their leases run out */
	nt_disp.http = NULL;
	if (nt_disp.dns != NULL)
		evdns_base_free(nt_disp.dns, 1); /* pending lookups get EVUTIL_EAI_CANCEL */
	nt_disp.dns = NULL;
}
