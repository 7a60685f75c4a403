/* Event consumers between daemons (docs/architecture.md, "Event
 * consumers"): a daemon applies another daemon's domain events to its own
 * schema, each exactly once, in the source's "seq" order, also across
 * restarts, kill -9 and dropped bus messages.
 *
 * Turned on with hd_daemon_spec.consumers: `--migrate` applies
 * hd_consumer_migrations (<schema>.consumed(source, last_seq) and
 * <schema>.consume(source, seq)); worker 0 runs every consumer on its loop
 * with its database. A consumer subscribes to the source's bus topics, reads
 * its position on start and catches up by paging the source's
 * <source>_events.replay (hd_outbox_events_replay) from it. Each event is
 * then one transaction for the event's tenant: <schema>.consume(source, seq)
 * (moves the position from seq - 1 to seq, or fails) then the effect
 * statement, so the effect and the position commit together or not at all.
 * An event at or below the position is a duplicate and is dropped; one past
 * position + 1 is a gap: the consumer pages replay until it is level. A
 * catch-up also runs every HD_CONSUMER_CATCHUP_MS (the last event of a burst
 * may be the dropped one) and after a failure (then no sooner than that).
 * An event whose effect fails HD_CONSUMER_PARK_AFTER times in a row with an
 * error of its own (a data exception, an integrity violation, an error a
 * function raised: it would fail forever) is parked: kept whole in
 * <schema>.consumer_parked as the position moves past it, counted in
 * hd_consumer_parked_total{source} and logged, so that one bad event does
 * not stop every later one (libs/sql/consumer_002.sql, docs/operations.md
 * "Parked events"). Any other failure stops the consumer until it heals. */
#ifndef HD_CONSUMER_H
#define HD_CONSUMER_H
#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/err.h"

/* The shared migration creating <schema>.consumed and <schema>.consume, for
 * hd_db_migrate_ex (ended by a NULL version). */
extern const hd_db_shared_migration hd_consumer_migrations[];

/* How often a consumer catches up when nothing told it to (milliseconds). */
#define HD_CONSUMER_CATCHUP_MS 2000
/* Events per replay call by default, and the most a source's replay
 * operation gives (hd_outbox_events_replay's limit). */
#define HD_CONSUMER_PAGE 500
#define HD_CONSUMER_PAGE_MAX 1000
/* Failures in a row of an event, of its own kind, before it is parked. */
#define HD_CONSUMER_PARK_AFTER 5

/* One consumed source. The effect statement of an event gets six
 * parameters, to be referenced with these casts: $1::uuid tenant_id,
 * $2::text type, $3::json data, $4::uuid event id, $5::bigint seq,
 * $6::uuid actor (NULL for the system); with effect_occurred_at a seventh,
 * $7::text occurred_at (the event's RFC 3339 string as its source wrote
 * it, NULL when it has none). */
typedef struct hd_consumer_spec {
	const char *source; /* the position's key: "field" ([a-z_]{1,63}) */
	const char *prefixes; /* the source's bus topics: "workorder." (hd_bus_sub_open) */
	const char *url_setting; /* the source's NNG address(es): "HD_FIELD_URL" */
	const char *replay_op; /* "field_events.replay" */
	/* The effect statement for an event type (a literal that lives as long
	 * as the process), or NULL: the event only moves the position. */
	const char *(*effect_sql)(const char *type);
	bool effect_occurred_at; /* the effect takes $7 (above) */
	/* Optional: a gauge of that name, labelled source="<source>", set to the
	 * seconds the consumer trails the source (now - hd_consumer_as_of_ms, or
	 * since its start before the first level catch-up) on every catch-up tick. */
	const char *lag_metric;
	/* Optional: one statement applying a run of consecutive events of a
	 * replay page in one transaction ($1::text the source, $2::json an
	 * array of the events, in seq order): it moves the position from the
	 * first seq - 1 to the last (HDC01 when the first is not the next) and
	 * applies each event's effect in order with app.tenant_id set to its
	 * tenant (set_config(..., true)). Catching up then costs one round trip
	 * per page, not per event, and bus events queued while a transaction
	 * was in flight apply as one run too; after a failed run the consumer
	 * applies one event at a time past it. Without it, runs (of at most
	 * seven events) are one transaction of <schema>.consume_run (the
	 * position written once; libs/sql/consumer_003.sql) and each event's
	 * effect in its tenant, in order, with the same fallback (so an
	 * effect must leave app.tenant_id as it found it). */
	const char *batch_sql;
	/* Events per replay call, 1..HD_CONSUMER_PAGE_MAX; 0: HD_CONSUMER_PAGE.
	 * With batch_sql, a longer page is a longer run per transaction (hd-
	 * analytics: docs/benchmarks.md "Analytics"). */
	int page_limit;
} hd_consumer_spec;

/* An event as a consumer reads it (proto/README.md, "Events"); the strings
 * and data point into the parsed object. */
typedef struct hd_consumer_event {
	int64_t seq; /* 1 .. 2^53 */
	const char *type; /* 1..64 bytes, no NUL (the bus topic rule) */
	const char *tenant_id; /* a UUID */
	const char *id; /* a UUID */
	const char *actor; /* a UUID, or NULL (the system) */
	const char *occurred_at; /* RFC 3339, or NULL when absent or malformed */
	const cJSON *data; /* an object */
} hd_consumer_event;
/* Reads obj into ev; false when seq, type, tenant_id, id or data is missing
 * or malformed, or actor is neither null nor a UUID (such an event is
 * logged and dropped: its effect could never apply). Pure. */
bool hd_consumer_event_read(const cJSON *obj, hd_consumer_event *ev);

/* Where an event's seq stands to a position (every seq up to it taken):
 * the rule of the consumers and of the gateway's stream hub. */
typedef enum hd_consumer_seq {
	HD_CONSUMER_SEQ_SEEN, /* at or before the position: taken already */
	HD_CONSUMER_SEQ_NEXT, /* right after it: take it now */
	HD_CONSUMER_SEQ_GAP, /* further on: some were missed, page them first */
} hd_consumer_seq;
/* Places seq against position. Pure. */
hd_consumer_seq hd_consumer_seq_place(int64_t position, int64_t seq);

/* Encodes a call of a source's replay (or events.since) operation op for
 * at most limit events after after_seq, as a component (role
 * HD_OUTBOX_REPLAY_ROLE) in tenant (NULL: none), with request_id and the
 * deadline deadline_ms (Unix ms): *msg (malloc'ed, the caller frees) and
 * *len. Pure. */
hd_err hd_consumer_replay_encode(const char *op, const char *request_id, const char *tenant,
    int64_t after_seq, int limit, int64_t deadline_ms, char **msg, size_t *len);
/* The page such a call answered (err, raw as the reply callback got them):
 * the reply's JSON body when the call succeeded with 200 and the body has
 * an "items" array (its "more" says whether a next page follows), else
 * NULL. The caller deletes it. Pure. */
cJSON *hd_consumer_replay_page(hd_err err, const char *raw, size_t raw_len);

/* Starts consuming spec (which must outlive the consumer) into schema on
 * dw's loop (worker 0, with a database); at most HD_CONSUMER_MAX per
 * process. Stop with hd_consumer_stop_all on the same thread. */
#define HD_CONSUMER_MAX 4
hd_err hd_consumer_start(const hd_consumer_spec *spec, const char *schema, hd_daemon_worker *dw);
void hd_consumer_stop_all(void);
/* The time (Unix milliseconds) up to which the consumer of source has applied
 * every event its source had published: when the last catch-up that found it
 * level was sent; 0 before the first one, or when no consumer of source runs
 * in this process. Any thread. */
int64_t hd_consumer_as_of_ms(const char *source);

/* hd-<daemon> --replay-parked (hd_daemon_main): applies each parked event of
 * specs (ended by a NULL source) again, oldest first, each in a transaction
 * for its tenant that also deletes it from <schema>.consumer_parked, at
 * database url (the owner's). An event that still fails stays parked.
 * Blocking. Returns 0 when every one applied, 1 when some still fail or the
 * database is unreachable, 2 on bad arguments. */
int hd_consumer_replay_parked(const hd_consumer_spec *specs, const char *schema, const char *url);

#endif
