/* Worker loops: threads that each run one libevent event_base, own their
 * database connections and Redis client, and receive work posted from other
 * threads (NNG callbacks) through a locked queue and one event_active().
 * Also a small pool of plain threads for CPU-heavy work (argon2). */
#ifndef HD_WORKER_H
#define HD_WORKER_H
#include <stddef.h>
#include <stdint.h>
#include "hd/err.h"

struct event_base;
typedef struct hd_worker hd_worker;
typedef struct hd_worker_pool hd_worker_pool;
typedef struct hd_cpu_pool hd_cpu_pool;

/* A worker's event_base has HD_WORKER_PRIORITIES priorities: events get
 * HD_WORKER_PRIORITY_DEFAULT unless set otherwise; an event at
 * HD_WORKER_PRIORITY_IDLE runs only once nothing else is active (e.g. the
 * flush of what the loop gathered while busy). */
#define HD_WORKER_PRIORITIES 3
#define HD_WORKER_PRIORITY_DEFAULT 1
#define HD_WORKER_PRIORITY_IDLE 2

typedef void (*hd_worker_fn)(void *arg);

/* CLOCK_MONOTONIC in milliseconds (deadlines and durations). */
int64_t hd_now_ms(void);
/* Called on each worker's own thread before its loop starts / after it ends. */
typedef hd_err (*hd_worker_init_cb)(hd_worker *w, void *arg);
typedef void (*hd_worker_fini_cb)(hd_worker *w, void *arg);

/* Starts n worker threads; init runs on each thread first (a failure stops
 * everything and is returned). */
hd_err hd_worker_pool_create(
    hd_worker_pool **out, int n, hd_worker_init_cb init, hd_worker_fini_cb fini, void *arg);
/* Stops the loops after the queued work ran, joins the threads, frees. NULL ok. */
void hd_worker_pool_destroy(hd_worker_pool *pool);
/* Returns the next worker, round robin (any thread). */
hd_worker *hd_worker_pool_next(hd_worker_pool *pool);
int hd_worker_pool_size(const hd_worker_pool *pool);
hd_worker *hd_worker_pool_get(hd_worker_pool *pool, int i);

/* Queues fn(arg) to run on w's thread (any thread may call). */
hd_err hd_worker_post(hd_worker *w, hd_worker_fn fn, void *arg);
/* Returns w's event_base (only for use on w's thread). */
struct event_base *hd_worker_base(hd_worker *w);
/* Per-worker user data, set by the init callback. */
void hd_worker_set_data(hd_worker *w, void *data);
void *hd_worker_data(hd_worker *w);
int hd_worker_index(const hd_worker *w);

/* Work that waits until the loop has nothing else to run: what a loop
 * gathered while busy (calls of one kind, reads of one tenant) goes out
 * together. All on w's thread. hd_worker_idle_schedule runs fn(arg) once,
 * after every other active event of this iteration (scheduling it again
 * before it ran does nothing); destroy cancels it (NULL ok). */
typedef struct hd_worker_idle hd_worker_idle;
hd_err hd_worker_idle_create(hd_worker_idle **out, hd_worker *w, hd_worker_fn fn, void *arg);
void hd_worker_idle_schedule(hd_worker_idle *idle);
void hd_worker_idle_destroy(hd_worker_idle *idle);

/* CPU pool: runs work(arg) on one of n threads, then done(arg) on worker back. */
hd_err hd_cpu_pool_create(hd_cpu_pool **out, int n);
void hd_cpu_pool_destroy(hd_cpu_pool *pool);
hd_err hd_cpu_pool_submit(
    hd_cpu_pool *pool, hd_worker_fn work, hd_worker_fn done, void *arg, hd_worker *back);

#endif
