/* The transactional outbox of a daemon's schema, turned on with
 * hd_daemon_spec.outbox (or the calls below for a daemon of its own making).
 *
 * Table: <schema>.outbox, created by the shared migration libs/sql/outbox.sql
 * (hd_outbox_migrations, applied by `--migrate` after the daemon's own files
 * and recorded in the same <schema>.schema_migrations ledger; idempotent).
 * On a fresh database the table therefore comes after the daemon's own
 * files: those that refer to it in SQL checked at creation (LANGUAGE sql
 * bodies, views) belong in plpgsql or in a later migration.
 * Writers insert (tenant_id, type, actor_id, data) in the same transaction
 * as their change and call hd_outbox_wake() once it committed.
 *
 * Relay: on worker 0's loop, with that worker's database. A round is one
 * statement, <schema>.outbox_claim, which numbers the committed unpublished
 * rows in commit order (pub_seq, the events' "seq"), marks them and returns
 * them; the relay then publishes each on the bus (HD_BUS_PUB_URL) as
 * type\0json. Rounds are started by hd_outbox_wake() (at most one queued
 * wake-up per round) and by a 1 s timer that covers rows of other replicas
 * and of a crash; a round that filled its batch of 500 runs again at once.
 * A failed claim or publish is logged and retried by the next round (the
 * database client reconnects with its own backoff). Pub/sub may drop, or a
 * crash may hit between claim and publish: consumers see the gap in "seq"
 * and fetch the missing events with events.since (proto/README.md).
 * No LISTEN/NOTIFY: NOTIFY takes a database-wide lock from pre-commit
 * through the WAL flush, serialising the commits of every writer.
 *
 * One outbox per process. Metric: hd_outbox_lag_seconds. */
#ifndef HD_OUTBOX_H
#define HD_OUTBOX_H
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/err.h"
#include "hd/rpc.h"

/* The shared migrations creating <schema>.outbox and its functions, for
 * hd_db_migrate_ex (ended by a NULL version). */
extern const hd_db_shared_migration hd_outbox_migrations[];

/* Sets the schema whose outbox this process relays and serves (main
 * thread, before the workers start; [a-z_]{1,63}). HD_ERR_INVALID for a bad
 * name. hd_daemon_main calls it when spec.outbox is set. */
hd_err hd_outbox_init(const char *schema);
/* Starts the relay on dw's loop (worker 0, with a database), after
 * hd_outbox_init; stop it on the same thread before the worker ends. */
hd_err hd_outbox_start(hd_daemon_worker *dw);
void hd_outbox_stop(void);
/* Tells the relay new outbox rows were committed (any thread; a no-op
 * while no relay runs). */
void hd_outbox_wake(void);

/* The events.since operation (proto/README.md): staff of the caller's
 * tenant (admin, agent), or a component (role HD_OUTBOX_REPLAY_ROLE with a
 * tenant: the gateway's GET /v1/stream catching up a reader) read the
 * tenant's published events with
 * pub_seq > after_seq (default 0), at most limit (1..1000, default 100),
 * from the JSON body or else the query string; replies
 * {"items":[event...],"last_seq":n|null,"more":bool}. List it in the
 * daemon's op table. */
void hd_outbox_events_since(hd_rpc_request *req, hd_daemon_worker *dw);

/* The role a daemon's envelope carries (with no tenant) to call replay; no
 * token carries it and the gateway routes no replay operation. */
#define HD_OUTBOX_REPLAY_ROLE "daemon"
/* The <source>_events.replay operation, for consumers in other daemons
 * (hd/consumer.h): every tenant's published events with pub_seq > after_seq,
 * same arguments and reply as events.since, through <schema>.outbox_replay
 * (hd_outbox_004). Only a caller with role HD_OUTBOX_REPLAY_ROLE and no
 * tenant (403 otherwise); the gateway never routes it (docs/architecture.md,
 * "Event consumers"). List it in the daemon's op table. */
void hd_outbox_events_replay(hd_rpc_request *req, hd_daemon_worker *dw);

#endif
