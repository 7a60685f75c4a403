/* The ticket daemon's internal contract: the operation handlers (one file per
 * resource) and the few helpers they share (caller identity, request
 * parsing, replies for database outcomes, the outbox relay's wake-up).
 * Everything here runs on a worker thread, on behalf of one request. */
#ifndef HD_TICKET_H
#define HD_TICKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "hd/daemon.h"
#include "hd/buf.h"
#include "hd/caller.h"
#include "hd/db.h"
#include "hd/ops.h"
#include "hd/outbox.h"
#include "hd/problem.h"
#include "hd/page.h"
#include "hd/query.h"
#include "hd/reply.h"
#include "hd/request.h"
#include "hd/idem.h"

/* The query parameters of a plain keyset list: limit and cursor. */
extern const char *const tk_page_params[];
/* Reads an optional UUID member: absent leaves *out; JSON null sets *is_null. */
bool tk_uuid_read(
    const cJSON *body, const char *key, const char **out, bool *is_null, hd_field_errors *errs);
/* Lists the rows of sql under ticket {id} when the caller sees the ticket
 * (comments.c): reads ?limit= and ?cursor=, runs sql with (tenant, ticket,
 * flag, cursor ts, cursor id, limit + 1) and replies with tk_reply_list
 * (columns: json, cursor ts, cursor id); 404 when the ticket is not visible. */
void tk_ticket_children(hd_rpc_request *req, hd_daemon_worker *dw, const hd_caller *c,
    const char *sql, const char *flag);

/* The ticket object in C (ticket_json.c), for the read paths: select
 * TK_TICKET_COLS (table alias t) first, then format each row with
 * tk_ticket_json_row. The output is byte for byte ticket.ticket_json(t)::text.
 * Times travel as extract(epoch ...) text (exact microseconds, whatever the
 * session's TimeZone/DateStyle), tags in PostgreSQL's array text format. */
/* auto_triage classifies a ticket as it arrives
 * (sql/032_auto_triage_created_only.sql): the text of both refusals, the
 * rule's own check and the table's for a PATCH of event or actions alone. */
#define TK_AUTO_TRIAGE_ONLY_ON_CREATE "auto_triage is an action of ticket.created rules only"

/* The fields a change of a ticket names in its history and its
 * ticket.updated event's "changes": a VALUES list of (field, old, new) with
 * o and n the SQL names of the row before and after (ticket_update.c,
 * comments.c). */
#define TK_CHANGED_FIELDS(o, n)                                                                    \
	" ('subject', to_jsonb(" o ".subject), to_jsonb(" n ".subject)),"                          \
	" ('status', to_jsonb(" o ".status), to_jsonb(" n ".status)),"                             \
	" ('priority', to_jsonb(" o ".priority), to_jsonb(" n ".priority)),"                       \
	" ('category', to_jsonb(" o ".category), to_jsonb(" n ".category)),"                       \
	" ('tags', to_jsonb(" o ".tags), to_jsonb(" n ".tags)),"                                   \
	" ('assignee_id', to_jsonb(" o ".assignee_id), to_jsonb(" n ".assignee_id)),"              \
	" ('sentiment', to_jsonb(" o ".sentiment), to_jsonb(" n ".sentiment))"

#define TK_TICKET_COLS                                                                             \
	"t.id, t.number, t.subject, t.description, t.status, t.priority, t.category, t.tags,"      \
	" t.requester_id, t.assignee_id, extract(epoch FROM t.created_at),"                        \
	" extract(epoch FROM t.updated_at), extract(epoch FROM t.first_response_at),"              \
	" extract(epoch FROM t.solved_at), t.merged_into, t.time_spent_minutes, t.satisfaction,"   \
	" extract(epoch FROM t.first_response_due), extract(epoch FROM t.resolution_due),"         \
	" t.sla_breached, t.version, t.sentiment"
#define TK_TICKET_NCOLS 22
#define TK_TICKET_COL_ID 0
#define TK_TICKET_COL_REQUESTER 8
#define TK_TICKET_COL_CREATED_AT 10
#define TK_TICKET_COL_UPDATED_AT 11
#define TK_TICKET_COL_VERSION 20
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and room for years past 9999. */
#define TK_TS_MAX 48

/* Formats extract(epoch FROM ts) text as RFC 3339 UTC with milliseconds
 * (truncated, as to_char's MS); false for an infinite or malformed value. */
bool tk_ts_format(const char *epoch, char out[TK_TS_MAX]);
/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" (what tk_ts_format writes, years
 * 1..9999) into milliseconds since 1970; false when it is not that shape. */
bool tk_ts_parse_ms(const char *ts, int64_t *epoch_ms);
/* Appends PostgreSQL's array text format (e.g. {a,"b c",NULL}) as a JSON
 * array; false when malformed. */
bool tk_pg_array_json(hd_buf *b, const char *arr);
/* Appends the ticket object of cols (TK_TICKET_NCOLS text values in
 * TK_TICKET_COLS order, NULL for SQL NULL); false when a value is malformed
 * or memory ran out (b then holds a partial object). */
bool tk_ticket_json_write(hd_buf *b, const char *const *cols);
/* Same, from columns 0..TK_TICKET_NCOLS-1 of row of statement stmt. */
bool tk_ticket_json_row(hd_buf *b, const hd_db_result *res, int stmt, int row);
/* Logs a ticket row that could not be written and replies 500. */
void tk_ticket_json_failed(hd_rpc_request *req);

/* The allowed priorities and statuses (NULL-ended). */
extern const char *const tk_priorities[];
extern const char *const tk_statuses[];

/* Operation handlers: one per `ticket` line of proto/operations.def,
 * declared from it (hd/ops.h); main.c's table is generated the same way. */
#define HD_OPS_ticket HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* The client of hd-knowledge for suggestions (suggestions.c): opened before
 * the workers start, closed after they stopped. */
hd_err tk_suggestions_start(void);
void tk_suggestions_stop(void);

/* Creation (tickets.c): the statement, its parameter count, and the reply
 * for statement stmt of a finished batch (res may be NULL on failure). */
#define TK_CREATE_NPARAMS 15
extern const char tk_create_sql[];
void tk_create_reply(hd_rpc_request *req, hd_err err, const hd_db_result *res, int stmt);

/* The sentiment of a customer's text (hd/sentiment.h, AFINN-165): the sum
 * of the valences of a and b (NULL: none) as a statement parameter in out;
 * docs/architecture.md, "Sentiment". */
#define TK_SENTIMENT_MAX 16
void tk_sentiment_param(const char *a, const char *b, char out[TK_SENTIMENT_MAX]);

/* Idempotency-Key (libs/include/hd/idem.h): the daemon's table, and the
 * callback (arg: the request) of a keyed or plain create of something that
 * belongs to a ticket (a comment, a time entry) whose statement returns its
 * JSON in column 0 and no row when the ticket is not there: 201, or 404;
 * wakes the outbox relay. */
#define TK_IDEM_FREE HD_IDEM_FREE("ticket")
#define TK_IDEM_STORE HD_IDEM_STORE("ticket")
extern const hd_idem_table tk_idem_table;
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
void tk_list_submit(tk_list_queue *q, hd_rpc_request *req, const hd_caller *c,
    const hd_db_stmt *stmts, int nstmts, int limit, int ts_col);

/* What a shared list page depends on (list_key.c): the tenant, the caller's
 * role, the caller's own id unless staff, and the statements with their
 * parameters, copied (the store holds tenant, viewer and the parameters, in
 * that order, each NUL-terminated; parameters point into it). */
#define TK_LIST_MAX_STMTS 2
#define TK_LIST_MAX_PARAMS 10
typedef struct tk_list_key {
	hd_db_stmt stmts[TK_LIST_MAX_STMTS];
	int nstmts;
	unsigned role_bit;
	const char *tenant, *viewer; /* viewer: "" for staff, else the caller's id */
	const char *params[TK_LIST_MAX_STMTS][TK_LIST_MAX_PARAMS];
	uint32_t nulls; /* bit s * 16 + i: parameter i of statement s is NULL */
	size_t store_len;
	char store[1024];
} tk_list_key;
/* Fills k for caller c and stmts; false when they do not fit. */
bool tk_list_key_fill(tk_list_key *k, const hd_caller *c, const hd_db_stmt *stmts, int nstmts);
/* True only when a page written for a is the page b gets alone. */
bool tk_list_key_same(const tk_list_key *a, const tk_list_key *b);
/* Writes {"items":[...],"next_cursor":...} from the first limit rows of
 * statement stmt (which fetched limit + 1 to tell whether more follow). */
bool tk_list_page_write(hd_buf *b, int limit, int ts_col, const hd_db_result *res, int stmt);

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
/* The PATCH statement (ticket_update.c): $1 tenant, $2 id, $3 If-Match
 * version or NULL, $4 subject, $5 status, $6 priority, $7 category given,
 * $8 category, $9 tags json, $10 assignee given, $11 assignee, $12 actor
 * (NULL: the system); column 5 of its row: whether it changed anything. */
extern const char tk_update_sql[];
/* The client to hd-knowledge (suggestions.c; valid while the daemon runs). */
hd_rpc_client *tk_knowledge_client(void);
/* The auto_triage action's worker (auto_triage.c), on worker 0. */
hd_err tk_auto_triage_start(hd_daemon_worker *dw);
void tk_auto_triage_stop(void);
/* Attachments (attachments.c): storage and the hd-field client, opened
 * before the workers start and closed after they stopped; the sweeper of
 * expired unattached uploads runs on worker 0. At most TK_ATTACH_MAX ids in
 * an attachment_ids list (TK_ATTACH_IDS_MAX bytes as a PostgreSQL array). */
#define TK_ATTACH_MAX 10
#define TK_ATTACH_IDS_MAX (TK_ATTACH_MAX * 37 + 3)
hd_err tk_attachments_start(void);
void tk_attachments_stop(void);
hd_err tk_attachment_sweeper_start(hd_daemon_worker *dw);
void tk_attachment_sweeper_stop(void);
/* The SLA breach detector's 5 s timer (sla_detect.c), on worker 0. */
hd_err tk_sla_detector_start(hd_daemon_worker *dw);
void tk_sla_detector_stop(void);

#endif
