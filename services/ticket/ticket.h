/* The ticket daemon's internal contract: the operation handlers (one file per
 * resource) and the few helpers they share (caller identity, request
 * parsing, replies for database outcomes, the outbox relay's wake-up).
 * Everything here runs on a worker thread, on behalf of one request. */
#ifndef HD_TICKET_H
#define HD_TICKET_H
#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/outbox.h"
#include "hd/problem.h"
#include "hd/query.h"

/* The verified caller, from the envelope. */
typedef struct tk_caller {
	const char *tenant_id;
	const char *user_id;
	const char *role;
	bool customer; /* sees only own tickets and public comments */
	bool staff; /* admin or agent */
} tk_caller;

/* Fills c from req's envelope; replies 401 and returns false when the
 * envelope carries no valid tenant/user (an unauthenticated call). */
bool tk_caller_get(hd_rpc_request *req, tk_caller *c);
/* Replies 403 and returns false unless the caller is admin or agent
 * (or admin only when admin_only). */
bool tk_require_staff(hd_rpc_request *req, const tk_caller *c, bool admin_only);
/* Returns the path parameter "id" when it is a UUID, else replies 404 and returns NULL. */
const char *tk_path_id(hd_rpc_request *req, const char *name);
/* Parses the JSON body into *out (an object); replies 400/422 and returns false otherwise. */
bool tk_body_object(hd_rpc_request *req, cJSON **out);
/* Parses the query string; replies 400 and returns false when malformed. */
bool tk_query(hd_rpc_request *req, hd_query *q);
/* Replies 422 with errs when it holds any error; returns true when it replied. */
bool tk_reply_invalid(hd_rpc_request *req, const hd_field_errors *errs);
/* Replies to a failed batch: 503 when the database is unavailable, 409/422
 * for constraint failures (409 "in progress" when a concurrent request
 * stored the same Idempotency-Key), else 500 (logged). */
void tk_reply_db_error(hd_rpc_request *req, hd_err err, const hd_db_result *res);
/* Runs stmts for the caller's tenant on the request's worker database,
 * replying 503 itself when the batch cannot be queued. */
void tk_db_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg);
/* Replies 200 with {"items":[column 0 of the first shown rows of stmt], <tail>}. */
void tk_reply_items(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int shown, const char *tail);
/* Replies 200 with {"items":[rows of column 0 of stmt], "next_cursor"}: at most
 * limit rows are listed; when the statement returned more, the cursor is
 * base64url("<col cur_ts>|<col cur_id>") of the last listed row. */
void tk_reply_list(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id);
/* Runs stmts (the last one lists rows, fetching limit + 1) and replies with
 * tk_reply_list; when nstmts is 2, statement 0 must return a row (the parent
 * object is visible) or the reply is 404. */
void tk_list_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int nstmts, int limit, int cur_ts, int cur_id);
/* Writes the JSON value of the cursor "<ts>|<id>" into out: a base64url
 * string, or null when ts or id is NULL or too long. */
void tk_cursor_write(const char *ts, const char *id, char out[HD_CURSOR_MAX + 3]);
/* Decodes ?cursor= ("<RFC 3339 ms>|<uuid>") into ts/id; absent leaves them
 * unchanged. Adds a field error for a malformed cursor. */
void tk_cursor_read(const hd_query *q, char ts[32], char id[40], hd_field_errors *errs);
/* Validates a tags array (<= 20 strings of 1..50 characters) and prints it
 * as JSON into *out (malloc'ed). False (with an error) when invalid. */
bool tk_tags_read(const cJSON *body, char **out, hd_field_errors *errs);
/* Reads an optional UUID member: absent leaves *out; JSON null sets *is_null. */
bool tk_uuid_read(
    const cJSON *body, const char *key, const char **out, bool *is_null, hd_field_errors *errs);
/* Lists the rows of sql under ticket {id} when the caller sees the ticket
 * (comments.c): reads ?limit= and ?cursor=, runs sql with (tenant, ticket,
 * flag, cursor ts, cursor id, limit + 1) and replies with tk_reply_list
 * (columns: json, cursor ts, cursor id); 404 when the ticket is not visible. */
void tk_ticket_children(hd_rpc_request *req, hd_daemon_worker *dw, const tk_caller *c,
    const char *sql, const char *flag);

/* The ticket object in C (ticket_json.c), for the read paths: select
 * TK_TICKET_COLS (table alias t) first, then format each row with
 * tk_ticket_json_row. The output is byte for byte ticket.ticket_json(t)::text.
 * Times travel as extract(epoch ...) text (exact microseconds, whatever the
 * session's TimeZone/DateStyle), tags in PostgreSQL's array text format. */
#define TK_TICKET_COLS                                                                             \
	"t.id, t.number, t.subject, t.description, t.status, t.priority, t.category, t.tags,"      \
	" t.requester_id, t.assignee_id, extract(epoch FROM t.created_at),"                        \
	" extract(epoch FROM t.updated_at), extract(epoch FROM t.first_response_at),"              \
	" extract(epoch FROM t.solved_at), t.merged_into, t.time_spent_minutes, t.satisfaction,"   \
	" extract(epoch FROM t.first_response_due), extract(epoch FROM t.resolution_due),"         \
	" t.sla_breached, t.version"
#define TK_TICKET_NCOLS 21
#define TK_TICKET_COL_ID 0
#define TK_TICKET_COL_REQUESTER 8
#define TK_TICKET_COL_CREATED_AT 10
#define TK_TICKET_COL_UPDATED_AT 11
#define TK_TICKET_COL_VERSION 20
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and room for years past 9999. */
#define TK_TS_MAX 48

/* A growing output buffer, NUL-terminated once anything was put. After a
 * failed allocation it keeps failed set and ignores further puts. */
typedef struct tk_buf {
	char *data; /* owned (malloc) */
	size_t len, cap;
	bool failed;
} tk_buf;
/* Makes room for extra more bytes (plus the NUL); false once failed. */
bool tk_buf_reserve(tk_buf *b, size_t extra);
void tk_buf_put(tk_buf *b, const char *s, size_t n);
void tk_buf_puts(tk_buf *b, const char *s);
void tk_buf_free(tk_buf *b);

/* Formats extract(epoch FROM ts) text as RFC 3339 UTC with milliseconds
 * (truncated, as to_char's MS); false for an infinite or malformed value. */
bool tk_ts_format(const char *epoch, char out[TK_TS_MAX]);
/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" (what tk_ts_format writes, years
 * 1..9999) into milliseconds since 1970; false when it is not that shape. */
bool tk_ts_parse_ms(const char *ts, int64_t *epoch_ms);
/* Appends PostgreSQL's array text format (e.g. {a,"b c",NULL}) as a JSON
 * array; false when malformed. */
bool tk_pg_array_json(tk_buf *b, const char *arr);
/* Appends the ticket object of cols (TK_TICKET_NCOLS text values in
 * TK_TICKET_COLS order, NULL for SQL NULL); false when a value is malformed
 * or memory ran out (b then holds a partial object). */
bool tk_ticket_json_write(tk_buf *b, const char *const *cols);
/* Same, from columns 0..TK_TICKET_NCOLS-1 of row of statement stmt. */
bool tk_ticket_json_row(tk_buf *b, const hd_db_result *res, int stmt, int row);
/* Logs a ticket row that could not be written and replies 500. */
void tk_ticket_json_failed(hd_rpc_request *req);

/* The allowed priorities and statuses (NULL-ended). */
extern const char *const tk_priorities[];
extern const char *const tk_statuses[];

/* Operation handlers (main.c's table). */
void tk_tickets_create(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_get(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_list(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_update(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_delete(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_history(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_comments_create(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_comments_list(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_sla_get(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_sla_put(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_events_since(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_automations_create(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_automations_list(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_automations_get(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_automations_update(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_automations_delete(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_merge(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_time_entries_create(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_time_entries_list(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_satisfaction_create(hd_rpc_request *req, hd_daemon_worker *dw);
void tk_tickets_suggestions(hd_rpc_request *req, hd_daemon_worker *dw);

/* Creation (tickets.c): the statement, its parameter count, and the reply
 * for statement stmt of a finished batch (res may be NULL on failure). */
#define TK_CREATE_NPARAMS 12
extern const char tk_create_sql[];
void tk_create_reply(hd_rpc_request *req, hd_err err, const hd_db_result *res, int stmt);

/* Idempotency-Key (idempotency.c). A create reads the key with tk_idem_read,
 * runs with tk_idem_run and, in its callback, starts with tk_idem_result.
 * Its SQL ($1 the tenant) starts with the CTE
 *   idem AS (SELECT $<key>::text AS key, $<hashed>::text AS hashed)
 * adds TK_IDEM_FREE to the condition its change depends on, defines a CTE
 *   reply AS (SELECT <json> AS j, <text or NULL> AS location FROM <the change>)
 * and then the CTE TK_IDEM_STORE, which stores the 201 reply. */
typedef struct tk_idem {
	const char *key; /* the header's value; NULL: no key */
	char *hashed; /* owned: the text whose sha256 is the request hash */
} tk_idem;
/* SQL: the request hash of idem.hashed. */
#define TK_IDEM_HASH " encode(sha256(convert_to(idem.hashed, 'UTF8')), 'hex')"
/* SQL condition: no key, or the key is not stored. */
#define TK_IDEM_FREE                                                                               \
	" NOT EXISTS (SELECT 1 FROM ticket.idempotency_keys ik, idem"                              \
	" WHERE ik.tenant_id = $1 AND ik.key = idem.key)"
/* CTE k: stores the reply under the key (none without a key). */
#define TK_IDEM_STORE                                                                              \
	" k AS (INSERT INTO ticket.idempotency_keys (tenant_id, key, request_hash, status, body,"  \
	" location) SELECT $1, idem.key," TK_IDEM_HASH ", 201, reply.j::text,"                     \
	" reply.location FROM idem, reply WHERE idem.key IS NOT NULL)"
/* Reads the key into k (k->key NULL when absent). Hashes the body alone when
 * body_only (tickets.create), else op, path_id (NULL: none) and body. Adds a
 * field error for a malformed key (not 1..255 bytes of UTF-8). Returns false
 * after replying 500 when out of memory. Free k with tk_idem_free. */
bool tk_idem_read(
    hd_rpc_request *req, bool body_only, const char *path_id, tk_idem *k, hd_field_errors *errs);
void tk_idem_free(tk_idem *k);
/* Runs create for the tenant (cb gets req as arg), preceded by the key's
 * lookup when k has a key. */
void tk_idem_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id, const tk_idem *k,
    const hd_db_stmt *create, hd_db_cb cb);
/* Replies status with body and the route's headers (a stored reply or a fresh one). */
typedef void (*tk_idem_reply_fn)(
    hd_rpc_request *req, int status, const char *body, const char *location);
/* First step of a create's callback: replies to a failed batch, replays a
 * stored reply with reply, or 422 for a key used with another request, and
 * returns false; else sets *stmt to the create's index and returns true. */
bool tk_idem_result(
    hd_rpc_request *req, hd_err err, const hd_db_result *res, tk_idem_reply_fn reply, int *stmt);
/* A tk_idem_reply_fn: body with Location when location is set. */
void tk_reply_stored(hd_rpc_request *req, int status, const char *body, const char *location);
/* Callback (arg: the request) of a keyed or plain create of something that
 * belongs to a ticket (a comment, a time entry) whose statement returns its
 * JSON in column 0 and no row when the ticket is not there: 201, or 404;
 * wakes the outbox relay. */
void tk_idem_child_created_cb(hd_err err, const hd_db_result *res, void *arg);

/* A worker's own state (dw->service): its create and GET queues. */
typedef struct tk_create_queue tk_create_queue;
typedef struct tk_get_queue tk_get_queue;
typedef struct tk_list_queue tk_list_queue;
typedef struct tk_worker {
	tk_create_queue *creates;
	tk_get_queue *gets;
	tk_list_queue *lists;
} tk_worker;

/* Identical lists gathered per worker loop iteration (list_queue.c): the
 * requests that would send the same statements with the same parameters
 * share one execution and one page (limit items of the last statement,
 * ts_col the sorted time's column for the cursor). Copies what it keeps of
 * stmts; always leads to exactly one reply; destroy replies 503 to what is
 * still queued (NULL ok). */
hd_err tk_list_queue_create(tk_list_queue **out, hd_daemon_worker *dw);
void tk_list_queue_destroy(tk_list_queue *q);
void tk_list_submit(tk_list_queue *q, hd_rpc_request *req, const hd_db_stmt *stmts, int nstmts,
    int limit, int ts_col);
/* Writes {"items":[...],"next_cursor":...} from the first limit rows of
 * statement stmt (which fetched limit + 1 to tell whether more follow). */
bool tk_list_page_write(tk_buf *b, int limit, int ts_col, const hd_db_result *res, int stmt);

/* Reads of one ticket gathered per tenant (get_queue.c). customer_id: the
 * caller when a customer (sees only tickets they requested), else NULL.
 * Always leads to exactly one reply; destroy replies 503 to what is still
 * queued (NULL ok). */
hd_err tk_get_queue_create(tk_get_queue **out, hd_daemon_worker *dw);
void tk_get_queue_destroy(tk_get_queue *q);
void tk_get_submit(tk_get_queue *q, hd_rpc_request *req, const char *tenant_id, const char *id,
    const char *customer_id);

/* Group commit of creates (create_queue.c). */
hd_err tk_create_queue_create(tk_create_queue **out, hd_daemon_worker *dw);
/* Replies 503 to creates still queued and frees q. NULL ok. */
void tk_create_queue_destroy(tk_create_queue *q);
/* Queues a validated create (params as tk_create_sql expects, pointing into
 * the envelope, body, tags_json or static strings). Takes ownership of body
 * and tags_json; always leads to exactly one reply. */
void tk_create_submit(tk_create_queue *q, hd_rpc_request *req, const char *const *params,
    cJSON *body, char *tags_json);

/* The outbox (ticket.outbox) and its relay are libs' (hd/outbox.h), turned
 * on by main.c's spec; events.since is hd_outbox_events_since. Tells the
 * relay new outbox rows were committed (any worker thread). */
static inline void tk_relay_wake(void)
{
	hd_outbox_wake();
}
/* The SLA breach detector's 5 s timer (sla_detect.c), on worker 0. */
hd_err tk_sla_detector_start(hd_daemon_worker *dw);
void tk_sla_detector_stop(void);

#endif
