/* Mail in's parts, shared by inbox.c (start, stop, the tick and the state),
 * inbox_poll.c (taking messages from mailboxes), inbox_apply.c (a taken
 * message's sender, the peer calls and the outcome), inbox_files.c (its
 * files uploaded one at a time) and inbox_write.c (the ticket or comment
 * it becomes). The design is in inbox.c. Worker 0's thread only. */
#ifndef NT_INBOX_H
#define NT_INBOX_H
#include <cjson/cJSON.h>
#include "hd/buf.h"
#include "hd/peer.h"
#include "hd/uuid.h"
#include "notification.h"

#define IB_FILES_MAX 10 /* attachment_ids of one ticket or comment (hd-ticket's limit) */

/* One taken message being applied, with what inbound_context found. */
typedef struct ib_mail {
	char tenant_id[HD_UUID_STRLEN + 1], id[HD_UUID_STRLEN + 1];
	char created_by[HD_UUID_STRLEN + 1], thread_ticket[HD_UUID_STRLEN + 1];
	char *from_addr, *from_name, *subject, *body;
	char number[24];
	int attempts;
	char user_id[HD_UUID_STRLEN + 1], role[32];
	bool user_active;
	char ticket_id[HD_UUID_STRLEN + 1];
	char key[64];
	cJSON *parts; /* its files [{n, filename, content_type, size, data}] */
	int part_next, nids;
	char ids[IB_FILES_MAX][HD_UUID_STRLEN + 1]; /* the files uploaded */
	hd_buf notes; /* a line per file left out */
} ib_mail;

/* The inbox's state (inbox.c). */
typedef struct nt_ib_state {
	hd_daemon_worker *dw;
	nt_http *http;
	struct event *timer;
	hd_rpc_client *auth, *ticket;
	bool stopping, polling, applying;
	long max_upload; /* HD_MAX_UPLOAD_BYTES: larger files are left out */
} nt_ib_state;
extern nt_ib_state nt_ib;

/* Row row, column col of statement 0: a copy (strdup; "" for NULL), or
 * into dst. */
char *nt_ib_dup_value(const hd_db_result *res, int row, int col);
void nt_ib_copy_value(char *dst, size_t size, const hd_db_result *res, int row, int col);

/* inbox_poll.c: claims a due mailbox and takes its new messages, unless a
 * poll runs already. */
void nt_ib_poll_round(void);

/* inbox_apply.c: claims a taken message and applies it, unless one is
 * being applied. */
void nt_ib_apply_round(void);
void nt_ib_mail_free(ib_mail *m);
/* Records the outcome: status applied/ignored/failed, or NULL to retry
 * (failed once its attempts are used); frees m. */
void nt_ib_mail_done(
    ib_mail *m, const char *status, const char *ticket, const char *comment, const char *error);
/* A peer's failure: retried when it may pass (no answer, 5xx, 409, 429). */
void nt_ib_mail_failed(ib_mail *m, hd_err err, int status, const char *what);
/* Sends op (path id) with body (deleted here; NULL when building it
 * failed) as user/role, keyed by the message and key_kind; false when it
 * could not be sent. */
bool nt_ib_mail_call(ib_mail *m, hd_rpc_client *c, const char *op, const char *id, const char *user,
    const char *role, const char *key_kind, cJSON *body, hd_peer_cb cb);
/* The "id" of a JSON reply body, copied into out; false when absent. */
bool nt_ib_reply_id(const char *body, char out[HD_UUID_STRLEN + 1]);
/* body with the string field key = value; NULL (body deleted) on failure. */
cJSON *nt_ib_with_string(cJSON *body, const char *key, const char *value);

/* inbox_files.c: uploads m's next file as the sender, or writes the
 * message when none is left. */
void nt_ib_mail_upload_next(ib_mail *m);

/* inbox_write.c: with the files uploaded, a comment on the ticket the reply
 * names (hd-ticket decides whether the sender may: customers only on their
 * own), or a ticket. */
void nt_ib_mail_write(ib_mail *m);

#endif
