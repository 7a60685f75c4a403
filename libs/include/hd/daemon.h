/* The skeleton every daemon shares: logging and config, worker loops with
 * database and Redis clients, the RPC server, a CPU pool, an admin HTTP port
 * (/healthz, /readyz, /metrics) on the main loop, SIGTERM/SIGINT with
 * graceful drain, and `--migrate` to apply the service's migrations and exit. */
#ifndef HD_DAEMON_H
#define HD_DAEMON_H
#include <stdbool.h>
#include "hd/err.h"
#include "hd/rpc.h"
#include "hd/worker.h"
#include "hd/db.h"
#include "hd/redis.h"
#include "hd/problem.h"
#include "hd/reply.h"

/* What one worker owns. */
typedef struct hd_daemon_worker {
	hd_worker *worker;
	hd_db *db; /* NULL when the daemon has no database */
	hd_redis *redis; /* NULL when the daemon has no Redis */
	void *service; /* the service's own per-worker state */
} hd_daemon_worker;

/* One operation served: name from proto/operations.def and its handler. */
typedef struct hd_daemon_op {
	const char *name;
	void (*handle)(hd_rpc_request *req, hd_daemon_worker *dw);
} hd_daemon_op;

/* A maintenance command: `hd-<name> <flag>` runs sql (one trusted
 * statement without parameters) as the schema's owner
 * (HD_DATABASE_ADMIN_URL) and exits: 0 when it succeeded, 1 otherwise.
 * A command that needs the daemon's own code sets run instead of sql: it
 * is called with HD_DATABASE_ADMIN_URL and its result is the exit code. */
typedef struct hd_daemon_command {
	const char *flag; /* "--retrain" */
	const char *sql;
	int (*run)(const char *admin_url); /* when sql is NULL */
} hd_daemon_command;

/* The description of a daemon, filled by its main.c. */
typedef struct hd_daemon_spec {
	const char *name; /* "auth": log service name, HD_AUTH_* settings */
	const char *version; /* reported in /healthz and /metrics */
	const char *schema; /* database schema for migrations, NULL if none */
	const char *sql_dir; /* default migrations folder (HD_<NAME>_SQL_DIR overrides) */
	const char *listen_url_setting; /* "HD_AUTH_URL"; NULL: no RPC server (hd-bus) */
	const char *admin_port_setting; /* "HD_AUTH_ADMIN_PORT" */
	bool use_db, use_redis;
	/* "HD_KNOWLEDGE_DB_PIPELINE": the setting of the batches in flight per
	 * PostgreSQL connection (hd_db_set_pipeline_max); NULL: no limit */
	const char *db_pipeline_setting;
	/* the schema's transactional outbox (hd/outbox.h): `--migrate` applies
	 * hd_outbox_migrations after sql_dir's files, worker 0 runs the relay;
	 * the service lists events.since (hd_outbox_events_since) in ops and
	 * calls hd_outbox_wake() after its committed writes. Needs schema, use_db. */
	bool outbox;
	/* Idempotency-Key replies (hd/idem.h): `--migrate` applies
	 * hd_idem_migrations (the <schema>.idempotency_keys table). */
	bool idempotency;
	/* event consumers of other daemons' events (hd/consumer.h), an array
	 * ended by an entry with a NULL source, or NULL: `--migrate` applies
	 * hd_consumer_migrations, worker 0 runs them. Needs schema, use_db. */
	const struct hd_consumer_spec *consumers;
	const hd_daemon_op *ops; /* terminated by a NULL name */
	/* optional: maintenance commands, ended by an entry with a NULL flag */
	const hd_daemon_command *commands;
	/* optional: what the daemon's constraints mean to users (hd_reply_db_error) */
	const hd_constraint_text *constraints;
	/* optional: called once before serving / after stopping (main thread) */
	hd_err (*start)(void);
	void (*stop)(void);
	/* optional: false when the daemon is broken for good (/healthz 503, so
	 * the liveness probe restarts it); called on the admin loop's thread */
	bool (*alive)(void);
	/* optional: per-worker state */
	hd_err (*worker_init)(hd_daemon_worker *dw);
	void (*worker_fini)(hd_daemon_worker *dw);
} hd_daemon_spec;

/* Probes http://127.0.0.1:port/healthz within 2 s: 0 on a 2xx answer, else 1
 * (a reason on stderr). What `--healthcheck` runs, for container probes. */
int hd_daemon_healthcheck(long port);
/* Keeps freed heap memory for reuse instead of handing it back to the kernel
 * after every large reply (HD_MALLOC_TRIM_BYTES, default 8 MiB, and
 * allocations up to 2 MiB from the heap): on a paravirtualised VM each page
 * fault of the re-grown heap cost more than the request's own work. Call
 * first thing in main (hd_daemon_main does). */
void hd_daemon_tune_malloc(void);

/* Runs the daemon until SIGTERM/SIGINT (or `--migrate`, `--version`,
 * `--healthcheck`); returns the process exit code. */
int hd_daemon_main(const hd_daemon_spec *spec, int argc, char **argv);

/* Replies with a JSON body, made compact (no white space outside strings), and
 * optional extra headers (NULL-ended name/value pairs).
 */
void hd_daemon_reply_json(hd_rpc_request *req, int status, const char *json, size_t len, ...);
/* The same for JSON written compact already (in C, by the caller): sent as
 * is, without hd_daemon_reply_json's scan for white space to drop. */
void hd_daemon_reply_compact(hd_rpc_request *req, int status, const char *json, size_t len, ...);
/* Replies with problem+json for err (detail may be NULL), with validation errors if any. */
void hd_daemon_reply_problem(
    hd_rpc_request *req, int status, const char *detail, const hd_field_errors *errs);
/* Runs stmts for tenant_id on the request's worker database (cb gets arg).
 * Returns false after replying 503 when the batch cannot be queued (the
 * caller still owns arg); cb then never runs. */
bool hd_daemon_db_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg);
/* Returns the shared CPU pool (valid while the daemon runs). */
hd_cpu_pool *hd_daemon_cpu_pool(void);

#endif
