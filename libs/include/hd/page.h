/* Keyset pages, the same for every list (docs/openapi.yaml, "Lists"):
 * ?limit= (1..100, default 25) and ?cursor=, an opaque base64url of
 * "<RFC 3339 UTC time>|<uuid>" naming the last row of the previous page in
 * the list's order. A list statement fetches limit + 1 rows, so the reply
 * knows whether a next page exists without counting:
 *     {"items":[...],"next_cursor":"..." | null}
 */
#ifndef HD_PAGE_H
#define HD_PAGE_H
#include <stdbool.h>
#include "hd/buf.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/problem.h"
#include "hd/query.h"

#define HD_PAGE_TS_MAX 40
#define HD_PAGE_ID_MAX 40
/* Room for a cursor as a JSON value: a quoted base64url string, or null. */
#define HD_PAGE_CURSOR_JSON_MAX (HD_CURSOR_MAX + 3)

/* The page a list request asks for. */
typedef struct hd_page {
	int limit; /* rows shown */
	char fetch[16]; /* limit + 1, as a statement parameter */
	bool after; /* a cursor was given: ts and id hold it */
	char ts[HD_PAGE_TS_MAX];
	char id[HD_PAGE_ID_MAX];
} hd_page;

/* Reads ?limit= and ?cursor= into p, adding an error naming the parameter
 * for a bad limit or a cursor this list could not have given out. */
void hd_page_read(const hd_query *q, hd_page *p, hd_field_errors *errs);
/* The cursor's time and id as statement parameters: NULL on the first page. */
const char *hd_page_after_ts(const hd_page *p);
const char *hd_page_after_id(const hd_page *p);
/* The keyset bound as statement parameters for SQL that compares
 * (time, id) > ($ts::timestamptz, $id::uuid) (or < when desc): the cursor's,
 * or on the first page a sentinel below (above) every row: -infinity and the
 * nil UUID (infinity and the max UUID). */
void hd_page_bound(const hd_page *p, bool desc, const char **ts, const char **id);
/* True when s is "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" naming a real UTC time. */
bool hd_page_ts_valid(const char *s);
/* Writes the JSON value of the cursor "<ts>|<id>" into out: a quoted
 * base64url string, or null when ts or id is NULL or too long. */
void hd_page_cursor_json(const char *ts, const char *id, char out[HD_PAGE_CURSOR_JSON_MAX]);
/* Appends {"items":[column 0 of the first limit rows of stmt],"next_cursor":…};
 * when the statement returned more than limit rows, the cursor is made of
 * columns cur_ts and cur_id of the last row shown. False when out of memory. */
bool hd_page_write(hd_buf *b, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id);
/* Replies 200 with {"items":[column 0 of the first shown rows of stmt],<tail>}
 * (tail: more members, e.g. "\"next_cursor\":null"). */
void hd_reply_items(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int shown, const char *tail);
/* Replies 200 with hd_page_write's object. */
void hd_reply_page(
    hd_rpc_request *req, const hd_db_result *res, int stmt, int limit, int cur_ts, int cur_id);
/* Runs stmts for tenant_id (the last one lists rows, fetching limit + 1) and
 * replies with hd_reply_page. When nstmts is 2, statement 0 checks that the
 * parent object is visible: no row is 404 "<parent> not found". */
void hd_page_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int nstmts, const hd_page *page, int cur_ts, int cur_id,
    const char *parent);
/* GET /…/{id}/<children>?limit=&cursor= for a caller with one of roles
 * (HD_ROLE_* bits): parent_sql ($1 tenant, $2 the path's id) finds the
 * parent visible (no row: 404 "<parent> not found"); page_sql ($1 tenant,
 * $2 id, $3 and $4 the keyset bound, newest first when desc, $5 the rows to
 * fetch) lists json, time and id columns. Replies to every outcome. */
void hd_page_children(hd_rpc_request *req, hd_daemon_worker *dw, unsigned roles, bool desc,
    const char *parent, const char *parent_sql, const char *page_sql);

#endif
