/* The notification daemon's internal contract (docs/architecture.md,
 * "Notifications"): operation handlers (notifications.c, webhooks.c), the
 * pure pieces the tests check alone (guard.c: which addresses a webhook may
 * reach; url.c: which URLs it may have; sign.c: the signature and the
 * backoff), and the webhook dispatcher on worker 0 (dispatch.c, over the
 * libcurl multi glue of http.c). Handlers run on a worker thread, for one
 * request; the dispatcher on worker 0's loop. */
#ifndef HD_NOTIFICATION_H
#define HD_NOTIFICATION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/ops.h"
#include "hd/problem.h"

/* Operation handlers: one per `notification` line of proto/operations.def. */
#define HD_OPS_notification HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* ---- resource.c: what webhooks.c and channels.c answer alike ---- */

/* Replies status with row 0's JSON (column 0) and its version (column 1) as
 * ETag; 404 naming resource when there is no row; the database error else. */
void nt_reply_row(
    hd_rpc_request *req, int status, hd_err err, const hd_db_result *res, const char *resource);
/* An update's answer: nt_reply_row, or 412 when column 2 says the object
 * exists but column 0 is NULL (If-Match did not match). */
void nt_reply_updated(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, const char *resource);
/* A delete's answer: 204, or 404 when it deleted no row. */
void nt_reply_deleted(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, const char *resource);
/* The {id} an admin names (c filled in), or NULL after replying 401/403/404. */
const char *nt_admin_target(hd_rpc_request *req, const char *resource, hd_caller *c);
/* An admin's newest-first page: sql takes $1 tenant, $2 and $3 the keyset
 * bound, $4 the rows to fetch, and lists json, cursor time and id. */
void nt_admin_list(hd_rpc_request *req, hd_daemon_worker *dw, const char *sql);

/* ---- guard.c: addresses (pure) ---- */

#define NT_CIDR_MAX 32
/* One allowed network: 16 bytes (IPv4 as IPv4-mapped IPv6) and a prefix
 * length counted on those 128 bits. */
typedef struct nt_cidr {
	unsigned char net[16];
	int bits;
} nt_cidr;
typedef struct nt_cidr_list {
	nt_cidr items[NT_CIDR_MAX];
	int count;
} nt_cidr_list;
/* Reads a comma-separated list of CIDRs ("127.0.0.1/32, ::1/128"; a bare
 * address is a host); false for a malformed entry or more than NT_CIDR_MAX
 * (HD_WEBHOOK_ALLOW_CIDRS). NULL or "" is the empty list. */
bool nt_cidr_list_parse(const char *text, nt_cidr_list *out);
/* True when the 16-byte address (IPv4-mapped for IPv4) is one a webhook
 * must not reach: unspecified, loopback, link-local, private (10/8,
 * 172.16/12, 192.168/16, 100.64/10 shared), unique-local fc00::/7,
 * multicast, broadcast, reserved 0/8 and 240/4, the metadata addresses
 * (169.254.169.254, fd00:ec2::254), NAT64 and 6to4 forms of those. */
bool nt_addr_internal(const unsigned char a[16]);
/* True when the address may be reached: not internal, or inside allow. */
bool nt_addr_allowed(const unsigned char a[16], const nt_cidr_list *allow);
/* The 16-byte form of a socket address (AF_INET mapped); false for other families. */
bool nt_addr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16]);
/* The 16-byte form of a literal "1.2.3.4" or "::1"; false when text is not one. */
bool nt_addr_from_text(const char *text, unsigned char out[16]);

/* ---- url.c: webhook URLs (pure but for libcurl's parser) ---- */

#define NT_URL_MAX 2048
#define NT_HOST_MAX 256
/* A webhook URL taken apart: host without brackets, port (default of the scheme). */
typedef struct nt_url {
	bool https;
	char host[NT_HOST_MAX];
	long port;
	bool literal; /* host is an IP address (addr holds it) */
	unsigned char addr[16];
} nt_url;
/* Checks a webhook URL: absolute http(s), a host, no user name or password,
 * no fragment, at most NT_URL_MAX bytes; http only when allow_http. A
 * literal address must pass nt_addr_allowed. On failure *why says what is
 * wrong (a static string) and false is returned. */
bool nt_url_check(
    const char *url, bool allow_http, const nt_cidr_list *allow, nt_url *out, const char **why);

/* ---- sign.c: signature and backoff (pure) ---- */

/* "t=<unix seconds>,v1=<64 hex>" fits in this with its NUL. */
#define NT_SIG_MAX 96
/* Writes X-Helpdesk-Signature's value: v1 is hex HMAC-SHA256(secret,
 * "<t>.<body>") (API "Notifications and real time"). False on a crypto failure. */
bool nt_sign(const char *secret, int64_t t, const char *body, size_t len, char out[NT_SIG_MAX]);
/* The wait before attempt number attempts + 1 after attempts failed ones:
 * base_ms doubled per failure up to cap_ms, then jittered to a value in
 * [half, full] by rnd (any 32-bit random number). */
int64_t nt_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, uint32_t rnd);
/* A fresh webhook secret: "whsec_" and 48 hex digits. False when the
 * random source fails. */
#define NT_SECRET_LEN 54
bool nt_secret_new(char out[NT_SECRET_LEN + 1]);

/* ---- mail.c: e-mail messages (pure) ---- */

#define NT_MAIL_ID_MAX 200
/* One message: the ids without their angle brackets; in_reply_to NULL for
 * a ticket's first mail (else also its References); date in unix seconds. */
typedef struct nt_mail {
	const char *from_name, *from_addr, *to_addr, *subject, *body;
	const char *message_id, *in_reply_to;
	int64_t date;
} nt_mail;
/* True for a plain address: printable ASCII, one @ with text on both sides,
 * no white space, brackets, quotes or separators, 3..320 bytes. */
bool nt_mail_addr_ok(const char *addr);
/* The tenant's sender address: tmpl with "{tenant}" replaced by slug
 * (HD_SMTP_FROM); false when it does not fit size or is not an address. */
bool nt_mail_from_addr(const char *tmpl, const char *slug, char *out, size_t size);
/* The whole message, CRLF lines, multipart/alternative text and HTML
 * (malloc'ed, NUL-terminated, *len_out bytes), or NULL when an address or
 * id is refused or memory runs out. */
char *nt_mail_build(const nt_mail *m, size_t *len_out);

/* ---- inbound_text.c, inbound.c: mail in (pure but for GMime) ---- */

/* The headers that tell an automatic message (NULL: absent). */
typedef struct nt_in_headers {
	const char *from_addr, *auto_submitted, *precedence, *return_path;
	bool autoreply_flag; /* X-Autoreply or X-Autorespond present */
	bool report; /* multipart/report: a delivery or read report */
} nt_in_headers;
/* True for a message that must never open a ticket nor be answered:
 * Auto-Submitted other than "no", Precedence bulk/junk/list, an empty
 * Return-Path (a bounce), X-Autoreply, a report, or a sender that is
 * mailer-daemon, postmaster or missing (RFC 3834). */
bool nt_in_automatic(const nt_in_headers *h);
/* The ticket number of "[#<number>]" in a subject; 0 when none. */
long nt_in_subject_number(const char *subject);
/* The ticket a reply names: its number, and its id when the Message-ID is
 * the ticket's root ("" when it names one of its comments). */
typedef struct nt_in_thread {
	long number; /* 0: none */
	char ticket_id[37];
} nt_in_thread;
/* True when id (without brackets) is one of our outgoing Message-IDs
 * ("t<number>.<uuid>@…" or "t<number>.c<uuid>@…", sql/003_email.sql). */
bool nt_in_our_id(const char *id, nt_in_thread *out);
/* HTML reduced to plain text (malloc'ed; NULL when memory runs out): tags
 * dropped, block ends as line breaks, character references decoded,
 * script, style, head and blockquote (quoted history) contents dropped. */
char *nt_in_html_text(const char *html);
/* Cuts the quoted history from a reply in place: from the first
 * attribution ("On … wrote:"), Outlook separator or signature delimiter,
 * and the quoted ("> ") and blank lines that end it. A text that is all
 * history is kept whole. Returns the new length. */
size_t nt_in_trim_quotes(char *text);

#define NT_IN_MESSAGE_MAX (25L * 1024 * 1024)
#define NT_IN_BODY_MAX 60000
/* A received mail as mail in uses it. from_addr "" when the sender is not
 * a plain address (the message is then automatic). */
typedef struct nt_inbound {
	char from_addr[321], from_name[201], subject[301];
	char message_id[NT_MAIL_ID_MAX + 1];
	bool automatic;
	nt_in_thread thread; /* In-Reply-To, else References, else the subject */
	char *body; /* UTF-8 text, history trimmed, at most NT_IN_BODY_MAX bytes (owned) */
	/* its files (attachments, inline images: every leaf part but the text
	 * read as the body and its alternatives), at most NT_IN_PARTS_MAX, as
	 * a JSON array [{"filename","content_type","size","data": base64 of the
	 * decoded bytes}] (owned; "[]" when none) */
	char *parts;
	int nparts;
} nt_inbound;
#define NT_IN_PARTS_MAX 20
/* Reads len raw bytes (at most NT_IN_MESSAGE_MAX) into out (to
 * nt_inbound_fini after HD_OK; nothing to free otherwise). HD_ERR_INVALID
 * when GMime finds no message. Any thread. */
hd_err nt_inbound_parse(const char *raw, size_t len, nt_inbound *out);
void nt_inbound_fini(nt_inbound *m);

/* ---- imap.c: IMAP text of mail in (pure) ---- */

/* UIDVALIDITY from an EXAMINE answer ("* OK [UIDVALIDITY 3857529045]");
 * false when there is none (or it is not a 32-bit number above 0). */
bool nt_imap_uidvalidity(const char *text, size_t len, int64_t *out);
/* The UIDs above after in "* SEARCH" lines, ascending, without repeats,
 * at most max of them (the smallest); their count. */
size_t nt_imap_search_uids(const char *text, size_t len, int64_t after, int64_t *uids, size_t max);
/* base ("imaps://host:993") + "/" + folder (percent-encoded) and, when uid
 * > 0, ";UIDVALIDITY=<validity>/;UID=<uid>"; false when it does not fit. */
bool nt_imap_message_url(
    char *out, size_t size, const char *base, const char *folder, int64_t validity, int64_t uid);

/* ---- seal.c: mailbox passwords encrypted at rest (AES-256-GCM) ---- */

#define NT_SEAL_KEY_LEN 32
#define NT_SEAL_SECRET_MAX 1024
/* Reads HD_MAIL_KEY's 64 hex digits; false when it is not that. */
bool nt_seal_key_parse(const char *hex, unsigned char key[NT_SEAL_KEY_LEN]);
/* The sealed text of secret (at most NT_SEAL_SECRET_MAX bytes) bound to
 * aad (malloc'ed), or NULL when it is too long or crypto fails. */
char *nt_seal(const unsigned char key[NT_SEAL_KEY_LEN], const char *aad, const char *secret);
/* The secret of a sealed text (malloc'ed; the caller cleanses and frees
 * it), or NULL when it is malformed, another key's, or sealed for another
 * aad. */
char *nt_unseal(const unsigned char key[NT_SEAL_KEY_LEN], const char *aad, const char *sealed);
/* The mail keys (docs/operations.md, "Rotating HD_MAIL_KEY"): the current
 * one seals and opens; the previous one (HD_MAIL_KEY_PREVIOUS) only opens
 * what was sealed before the rotation, until `--reseal-mail` re-sealed it. */
typedef struct nt_seal_keys {
	bool current_set, previous_set;
	unsigned char current[NT_SEAL_KEY_LEN], previous[NT_SEAL_KEY_LEN];
} nt_seal_keys;
/* Reads HD_MAIL_KEY and HD_MAIL_KEY_PREVIOUS into keys (empty: not set);
 * false after logging which one is malformed, or a previous key without a
 * current one. */
bool nt_seal_keys_load(nt_seal_keys *keys);
/* nt_unseal with the current key, else with the previous one (then
 * *stale is set: the text should be sealed again). */
char *nt_unseal_keys(const nt_seal_keys *keys, const char *aad, const char *sealed, bool *stale);
/* `hd-notification --reseal-mail`: every stored mailbox password that the
 * current key does not open but the previous one does is sealed again with
 * the current key (reseal.c); 0 when every password now opens with the
 * current key, 1 otherwise (each unreadable mailbox named in the log). */
int nt_reseal_mail(const char *admin_url);

/* ---- channels.c: /v1/channels/email ---- */

/* True for an imaps:// or imap:// URL with a host, no user, no path (but
 * "/"), no query (libcurl's parser). */
bool nt_imap_url_ok(const char *url);

/* ---- settings (main.c) ---- */

/* The webhook settings (HD_WEBHOOK_*), read once at start. */
typedef struct nt_settings {
	nt_cidr_list allow;
	bool allow_http; /* not production */
	long max_failures, retry_base_ms, retry_max_ms, retry_window_ms;
	long connect_timeout_ms, timeout_ms, parallel;
	const char *smtp_url; /* NULL: no e-mail */
	const char *smtp_user, *smtp_password, *smtp_from;
	const char *smtp_ca_file; /* HD_SMTP_CA_FILE; NULL: the system's CAs */
	nt_seal_keys mail_keys; /* HD_MAIL_KEY (current_set: passwords can be sealed) */
	long imap_timeout_ms, mail_lease_ms;
	nt_cidr_list mail_allow; /* HD_MAIL_ALLOW_CIDRS */
} nt_settings;
const nt_settings *nt_settings_get(void);

/* ---- claim.c: the claim of every queue (sql/R_claims.sql) ---- */

typedef enum nt_queue {
	NT_QUEUE_DELIVERIES, /* webhook deliveries (dispatch.c) */
	NT_QUEUE_EMAILS, /* mails to send (dispatch.c) */
	NT_QUEUE_CHANNELS, /* mailboxes to poll (inbox_poll.c) */
	NT_QUEUE_INBOUND, /* taken messages to apply (inbox_apply.c) */
	NT_QUEUE__COUNT
} nt_queue;
/* Claims up to limit due rows of q across tenants, each leased for
 * lease_ms, on dw's connection: cb gets them with the columns of
 * notification.<q>_claim, in its order. Either an error without calling
 * cb, or HD_OK and cb later, on dw's thread. */
hd_err nt_claim(
    hd_daemon_worker *dw, nt_queue q, long limit, long lease_ms, hd_db_cb cb, void *arg);

/* ---- dispatch.c: the webhook dispatcher (worker 0) ---- */

hd_err nt_dispatch_start(hd_daemon_worker *dw);
void nt_dispatch_stop(void);
/* Tells the dispatcher deliveries may be due (any thread). */
void nt_dispatch_wake(void);

/* ---- http.c: HTTP POSTs through libcurl's multi interface on a loop ---- */

typedef struct nt_http nt_http;
/* What one transfer gives back, on the loop's thread: status (HTTP, or the
 * last SMTP reply code; 0 when no answer) and libcurl's error text (NULL
 * when the transfer completed). */
typedef void (*nt_http_cb)(long status, const char *error, void *arg);
/* One POST: url with host pinned to addr (CURLOPT_RESOLVE; NULL for a
 * literal), headers (NULL-ended "Name: value" strings, copied), body
 * (copied). No redirects, no proxy, bounded reply. */
typedef struct nt_http_post {
	const char *url, *host, *addr;
	long port;
	const char *const *headers;
	const char *body;
	size_t body_len;
	long connect_timeout_ms, timeout_ms;
} nt_http_post;
hd_err nt_http_create(nt_http **out, struct event_base *base);
/* Ends every transfer, calling each back with status 0, frees. NULL ok. */
void nt_http_destroy(nt_http *h);
/* Starts a POST; cb runs once later, on base's thread. */
hd_err nt_http_start(nt_http *h, const nt_http_post *p, nt_http_cb cb, void *arg);
/* One mail (message copied) from one address to one, over SMTP (smtp://
 * with STARTTLS, required when require_tls, or smtps://). */
typedef struct nt_smtp_send {
	const char *url, *user, *password, *from, *to;
	const char *ca_file; /* PEM CAs the relay's certificate must chain to; NULL: the system's */
	const char *message;
	size_t len;
	bool require_tls;
	long connect_timeout_ms, timeout_ms;
} nt_smtp_send;
hd_err nt_http_mail(nt_http *h, const nt_smtp_send *p, nt_http_cb cb, void *arg);
/* One IMAP command (mail in): url names the mailbox and, for a fetch, the
 * message (";UIDVALIDITY=v/;UID=n"); command is a custom one (EXAMINE, UID
 * SEARCH) or NULL for the URL's fetch. STARTTLS required when require_tls. */
typedef struct nt_imap_cmd {
	const char *url, *user, *password, *command;
	bool require_tls;
	long timeout_ms;
	size_t max_bytes; /* a longer answer is an error */
} nt_imap_cmd;
/* The answer of one IMAP command, on the loop's thread: error NULL and the
 * bytes received (the untagged lines of a custom command, the message of a
 * fetch), or libcurl's error text. */
typedef void (*nt_imap_cb)(const char *error, const char *data, size_t len, void *arg);
hd_err nt_http_imap(nt_http *h, const nt_imap_cmd *p, nt_imap_cb cb, void *arg);
/* The error an nt_imap_cb gets (this very pointer) when the answer was
 * longer than max_bytes. */
extern const char nt_imap_too_large[];

/* ---- inbox.c (inbox.h has its parts): mail in's poller and applier (worker 0) ---- */

/* Starts polling mailboxes and applying their messages on dw's loop, over
 * http (the dispatcher's libcurl multi handle). */
hd_err nt_inbox_start(hd_daemon_worker *dw, nt_http *http);
/* Stops; called before http is destroyed (its transfers end then). */
void nt_inbox_stop(void);

#endif
