/* PostgreSQL access for worker loops. An hd_db belongs to one worker thread
 * (its event_base) and owns a few non-blocking libpq connections in pipeline
 * mode. A batch of statements is one implicit transaction, sent in one round
 * trip: optionally `SELECT set_config('app.tenant_id', $1, true)` first, then
 * the statements (prepared once per connection, text parameters only), then
 * a sync. Many batches are in flight per connection. A broken connection is
 * reopened with backoff; batches it held fail with HD_ERR_UNAVAILABLE (they
 * were not committed unless the failure hit after the sync: callers whose
 * writes must not be repeated use keys that make a retry safe).
 * Blocking helpers (migrations, one-off statements) are for start-up and tools. */
#ifndef HD_DB_H
#define HD_DB_H
#include <stdbool.h>
#include <stddef.h>
#include "hd/err.h"

struct event_base;
typedef struct hd_db hd_db;
typedef struct hd_db_result hd_db_result;

#define HD_DB_MAX_STMTS 16
#define HD_DB_MAX_PARAMS 32

/* One statement of a batch. sql must stay valid for the life of the hd_db
 * when prepare is true (it keys the prepared-statement cache; use literals). */
typedef struct hd_db_stmt {
	const char *sql;
	int nparams;
	const char *const *params; /* NULL entries are SQL NULL; copied at submit */
} hd_db_stmt;

/* Called on the owning thread once the batch finished. err is HD_OK when every
 * statement succeeded (then the transaction committed); otherwise res still
 * tells which statement failed and its SQLSTATE (err is then
 * hd_db_err_from_sqlstate() of it), or err is HD_ERR_UNAVAILABLE (no
 * connection) / HD_ERR_CLOSED (hd_db_destroy). res is valid only during the call. */
typedef void (*hd_db_cb)(hd_err err, const hd_db_result *res, void *arg);

/* Opens nconns connections to url on base (connecting asynchronously). */
hd_err hd_db_create(hd_db **out, struct event_base *base, const char *url, int nconns);
/* Fails every pending batch with HD_ERR_CLOSED, closes connections, frees. NULL ok. */
void hd_db_destroy(hd_db *db);
/* Queues a batch; tenant_id may be NULL (no set_config). On HD_OK, cb is
 * called exactly once, later, on the owning thread (never from inside this
 * call); on an error return (HD_ERR_INVALID, HD_ERR_NOMEM, HD_ERR_CLOSED, and
 * HD_ERR_UNAVAILABLE when it would wait and hd_db_set_wait_max batches
 * already wait) never.
 * Statements are prepared per connection, keyed by the sql pointer and text;
 * past 512 distinct statements the rest run unprepared. Do not call
 * hd_db_destroy from a callback. */
hd_err hd_db_run(
    hd_db *db, const char *tenant_id, const hd_db_stmt *stmts, int nstmts, hd_db_cb cb, void *arg);
/* At most max batches in flight per connection (0, the default: no limit).
 * Past it batches wait, in order, up to 2 s for a free slot, then fail with
 * HD_ERR_UNAVAILABLE: for daemons whose statements are slow enough that an
 * unbounded pipeline would run them long after their callers gave up. */
void hd_db_set_pipeline_max(hd_db *db, int max);
/* At most max batches waiting for a connection (none up, or every one at the
 * pipeline limit); past it hd_db_run fails at once with HD_ERR_UNAVAILABLE,
 * so a burst gets a fast 503 instead of a queue that grows without bound.
 * 0, the default: no cap (the 2 s wait still bounds each batch). Daemons set
 * it from HD_DB_WAIT_MAX. */
void hd_db_set_wait_max(hd_db *db, int max);
/* True when at least one connection is up. */
bool hd_db_ready(const hd_db *db);

/* Result accessors; stmt indexes the caller's statements (0-based). */
int hd_db_result_nstmts(const hd_db_result *res);
int hd_db_result_ntuples(const hd_db_result *res, int stmt);
int hd_db_result_nfields(const hd_db_result *res, int stmt);
/* Returns the text value, or NULL when SQL NULL or out of range. */
const char *hd_db_result_value(const hd_db_result *res, int stmt, int row, int col);
/* Index of the failed statement, -1 if none. */
int hd_db_result_failed_stmt(const hd_db_result *res);
/* SQLSTATE of the failure ("23505"), "" if none. */
const char *hd_db_result_sqlstate(const hd_db_result *res);
/* Constraint name of the failure, "" if none. */
const char *hd_db_result_constraint(const hd_db_result *res);
/* Error message of the failure, "" if none. */
const char *hd_db_result_message(const hd_db_result *res);

/* Maps a SQLSTATE to an error: 40001/40P01 BUSY (retry), 23505/23503 CONFLICT, 23502/23514/22xxx
 * VALIDATION, 42501 FORBIDDEN, 57014 TIMEOUT, 08xxx/57Pxx/53300 UNAVAILABLE,
 * anything else INTERNAL. */
hd_err hd_db_err_from_sqlstate(const char *sqlstate);

/* Blocking: applies dir/NNN_*.sql in order (each in its own transaction)
 * under a session advisory lock, recording each in <schema>.schema_migrations.
 * Idempotent; safe when several processes run it at once. */
hd_err hd_db_migrate(const char *url, const char *schema, const char *dir);
/* A migration several daemons share (e.g. hd_outbox_migrations, from
 * libs/sql/): trusted SQL text in which :"schema" stands for the schema
 * quoted as an identifier and :'schema' for it quoted as a literal. */
typedef struct hd_db_shared_migration {
	const char *version; /* its record in <schema>.schema_migrations, "hd_outbox_001" */
	const char *sql;
} hd_db_shared_migration;
/* hd_db_migrate (dir may be NULL: no own files), then each of shared (ended
 * by a NULL version; NULL: none) not yet recorded, in order, under the same
 * lock and ledger. Shared migrations come after the daemon's own files, so a
 * schema that built the same objects itself keeps them: they must be
 * idempotent (create only what is missing). */
hd_err hd_db_migrate_ex(
    const char *url, const char *schema, const char *dir, const hd_db_shared_migration *shared);
/* Blocking: runs one parameterised statement (tools, seeding, tests). When
 * value_out is not NULL, copies the first column of the first row (malloc'ed,
 * NULL if no row). */
hd_err hd_db_exec_sync(
    const char *url, const char *sql, int nparams, const char *const *params, char **value_out);

#endif
