/* Worker loops and the CPU pool.
 *
 * A worker is one thread running one libevent event_base. Other threads hand
 * it work through hd_worker_post(): the (fn, arg) pair goes into a locked ring
 * and, when the ring was empty, one persistent event is made active with
 * event_active(); the loop then drains the ring in FIFO order, a bounded
 * number of items per wake-up so that I/O is never starved.
 *
 * Shutdown posts a stop marker behind everything already queued, so queued
 * work runs first; the marker breaks the loop, the fini callback runs on the
 * worker's own thread, and the creator joins it.
 *
 * The CPU pool is n plain threads sharing one condvar-protected FIFO; after
 * work(arg) runs there, done(arg) is posted to the worker the job named. */
#include "hd/worker.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "hd/log.h"

#define WORKER_RING_MIN 64
#define WORKER_DRAIN_MAX 256

typedef struct worker_item {
	hd_worker_fn fn; /* NULL: the stop marker */
	void *arg;
} worker_item;

struct hd_worker {
	hd_worker_pool *pool;
	int index;
	pthread_t thread;
	bool started; /* the thread exists (join it) */
	struct event_base *base;
	struct event *wake; /* made active when the ring becomes non-empty */
	void *data;
	pthread_mutex_t mu; /* guards the ring and closed */
	worker_item *ring;
	size_t head, count, cap;
	bool closed; /* no more posts accepted */
	hd_err init_err; /* result of the init callback */
};

struct hd_worker_pool {
	hd_worker *workers;
	int n;
	atomic_uint next;
	hd_worker_init_cb init;
	hd_worker_fini_cb fini;
	void *arg;
	pthread_mutex_t mu; /* guards ready and go */
	pthread_cond_t cond;
	int ready; /* threads that finished init */
	int go; /* 0 waiting, 1 run the loop, -1 exit */
};

int64_t hd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_once_t worker_threads_once = PTHREAD_ONCE_INIT;
static int worker_threads_rc;

static void worker_threads_enable(void)
{
	worker_threads_rc = evthread_use_pthreads();
}

/* Pops up to max items into out; returns how many. */
static size_t worker_ring_take(hd_worker *w, worker_item *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&w->mu);
	while (n < max && w->count > 0) {
		out[n++] = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->count--;
	}
	bool more = w->count > 0;
	pthread_mutex_unlock(&w->mu);
	if (more)
		event_active(w->wake, EV_READ, 0);
	return n;
}

static void worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_worker *w = arg;
	worker_item items[WORKER_DRAIN_MAX];
	size_t n = worker_ring_take(w, items, WORKER_DRAIN_MAX);

	for (size_t i = 0; i < n; i++) {
		if (items[i].fn == NULL) {
			event_base_loopbreak(w->base);
			continue;
		}
		items[i].fn(items[i].arg);
	}
}

/* Grows the ring (mu held). */
static hd_err worker_ring_grow(hd_worker *w)
{
	size_t cap = w->cap ? w->cap * 2 : WORKER_RING_MIN;
	worker_item *ring = malloc(cap * sizeof(*ring));

	if (ring == NULL)
		return HD_ERR_NOMEM;
	for (size_t i = 0; i < w->count; i++)
		ring[i] = w->ring[(w->head + i) % w->cap];
	free(w->ring);
	w->ring = ring;
	w->head = 0;
	w->cap = cap;
	return HD_OK;
}

/* Appends an item; a stop marker is accepted even when closed is being set. */
static hd_err worker_enqueue(hd_worker *w, hd_worker_fn fn, void *arg, bool stop)
{
	hd_err err = HD_OK;
	bool was_empty;

	pthread_mutex_lock(&w->mu);
	if (w->closed) {
		err = HD_ERR_CLOSED;
		goto out;
	}
	if (w->count == w->cap && (err = worker_ring_grow(w)) != HD_OK)
		goto out;
	w->ring[(w->head + w->count) % w->cap] = (worker_item) { fn, arg };
	was_empty = w->count++ == 0;
	if (stop)
		w->closed = true;
	pthread_mutex_unlock(&w->mu);
	if (was_empty)
		event_active(w->wake, EV_READ, 0);
	return HD_OK;
out:
	pthread_mutex_unlock(&w->mu);
	return err;
}

hd_err hd_worker_post(hd_worker *w, hd_worker_fn fn, void *arg)
{
	if (w == NULL || fn == NULL)
		return HD_ERR_INVALID;
	return worker_enqueue(w, fn, arg, false);
}

/* Reports the init result and waits for the creator's verdict. */
static int worker_thread_sync(hd_worker *w)
{
	hd_worker_pool *pool = w->pool;
	int go;

	pthread_mutex_lock(&pool->mu);
	pool->ready++;
	pthread_cond_broadcast(&pool->cond);
	while (pool->go == 0)
		pthread_cond_wait(&pool->cond, &pool->mu);
	go = pool->go;
	pthread_mutex_unlock(&pool->mu);
	return go;
}

static void *worker_thread_main(void *arg)
{
	hd_worker *w = arg;
	hd_worker_pool *pool = w->pool;

	w->init_err = pool->init ? pool->init(w, pool->arg) : HD_OK;
	if (worker_thread_sync(w) > 0)
		event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	if (w->init_err == HD_OK && pool->fini)
		pool->fini(w, pool->arg);
	return NULL;
}

/* An event_base whose epoll changes made during one loop iteration go to the
 * kernel as one epoll_ctl per descriptor when the loop next waits: evhttp
 * turns reading and writing off and on several times per request, and each
 * epoll_ctl is a system call (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST; safe as
 * long as no descriptor is dup()ed while registered, which we never do). */
static struct event_base *worker_base_new(void)
{
	struct event_config *cfg = event_config_new();
	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static hd_err worker_init(hd_worker *w, hd_worker_pool *pool, int index)
{
	w->pool = pool;
	w->index = index;
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		return HD_ERR_INTERNAL;
	w->base = worker_base_new();
	if (w->base == NULL)
		goto fail_base;
	/* before any event exists, so that new events get the default */
	if (event_base_priority_init(w->base, HD_WORKER_PRIORITIES) != 0)
		goto fail_wake;
	w->wake = event_new(w->base, -1, EV_PERSIST, worker_wake_cb, w);
	if (w->wake == NULL)
		goto fail_wake;
	return HD_OK;
fail_wake:
	event_base_free(w->base);
	w->base = NULL;
fail_base:
	pthread_mutex_destroy(&w->mu);
	return HD_ERR_NOMEM;
}

static void worker_fini(hd_worker *w)
{
	event_free(w->wake);
	event_base_free(w->base);
	free(w->ring);
	pthread_mutex_destroy(&w->mu);
}

/* Waits until the started threads ran init, then tells them to run the loop
 * (all inits succeeded) or to exit; returns the first init error. */
static hd_err worker_pool_release(hd_worker_pool *pool, int started, hd_err err)
{
	pthread_mutex_lock(&pool->mu);
	while (pool->ready < started)
		pthread_cond_wait(&pool->cond, &pool->mu);
	for (int i = 0; i < started && err == HD_OK; i++)
		err = pool->workers[i].init_err;
	pool->go = err == HD_OK ? 1 : -1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->mu);
	return err;
}

static void worker_pool_free(hd_worker_pool *pool, int ninit)
{
	for (int i = 0; i < ninit; i++)
		worker_fini(&pool->workers[i]);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->mu);
	free(pool->workers);
	free(pool);
}

/* Starts the threads; on failure stops those started and returns the error. */
static hd_err worker_pool_start(hd_worker_pool *pool)
{
	hd_err err = HD_OK;
	int started = 0;

	for (; started < pool->n; started++) {
		hd_worker *w = &pool->workers[started];
		if (pthread_create(&w->thread, NULL, worker_thread_main, w) != 0) {
			err = HD_ERR_INTERNAL;
			break;
		}
		w->started = true;
	}
	return worker_pool_release(pool, started, err);
}

hd_err hd_worker_pool_create(
    hd_worker_pool **out, int n, hd_worker_init_cb init, hd_worker_fini_cb fini, void *arg)
{
	hd_worker_pool *pool;
	hd_err err = HD_ERR_NOMEM;
	int ninit = 0;

	if (out == NULL || n <= 0 || n > 1024)
		return HD_ERR_INVALID;
	pthread_once(&worker_threads_once, worker_threads_enable);
	if (worker_threads_rc != 0)
		return HD_ERR_INTERNAL;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return HD_ERR_NOMEM;
	pool->n = n;
	pool->init = init;
	pool->fini = fini;
	pool->arg = arg;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->workers = calloc((size_t)n, sizeof(*pool->workers));
	if (pool->workers == NULL)
		goto fail;
	for (; ninit < n; ninit++)
		if ((err = worker_init(&pool->workers[ninit], pool, ninit)) != HD_OK)
			goto fail;
	err = worker_pool_start(pool);
	if (err != HD_OK)
		goto fail_started;
	*out = pool;
	return HD_OK;
fail_started:
	for (int i = 0; i < n; i++)
		if (pool->workers[i].started)
			pthread_join(pool->workers[i].thread, NULL);
fail:
	worker_pool_free(pool, ninit);
	return err;
}

void hd_worker_pool_destroy(hd_worker_pool *pool)
{
	if (pool == NULL)
		return;
	for (int i = 0; i < pool->n; i++)
		worker_enqueue(&pool->workers[i], NULL, NULL, true);
	for (int i = 0; i < pool->n; i++)
		pthread_join(pool->workers[i].thread, NULL);
	worker_pool_free(pool, pool->n);
}

hd_worker *hd_worker_pool_next(hd_worker_pool *pool)
{
	unsigned i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);

	return &pool->workers[i % (unsigned)pool->n];
}

int hd_worker_pool_size(const hd_worker_pool *pool)
{
	return pool->n;
}

hd_worker *hd_worker_pool_get(hd_worker_pool *pool, int i)
{
	if (i < 0 || i >= pool->n)
		return NULL;
	return &pool->workers[i];
}

struct event_base *hd_worker_base(hd_worker *w)
{
	return w->base;
}

void hd_worker_set_data(hd_worker *w, void *data)
{
	w->data = data;
}

void *hd_worker_data(hd_worker *w)
{
	return w->data;
}

int hd_worker_index(const hd_worker *w)
{
	return w->index;
}

/* ---- CPU pool ---------------------------------------------------------- */

typedef struct cpu_job {
	struct cpu_job *next;
	hd_worker_fn work, done;
	void *arg;
	hd_worker *back;
} cpu_job;

struct hd_cpu_pool {
	pthread_t *threads;
	int n;
	pthread_mutex_t mu; /* guards the queue and stopping */
	pthread_cond_t cond;
	cpu_job *head, *tail;
	bool stopping;
};

/* Returns the next job, or NULL once stopping and the queue is empty. */
static cpu_job *cpu_pool_take(hd_cpu_pool *pool)
{
	cpu_job *job;

	pthread_mutex_lock(&pool->mu);
	while (pool->head == NULL && !pool->stopping)
		pthread_cond_wait(&pool->cond, &pool->mu);
	job = pool->head;
	if (job != NULL) {
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
	}
	pthread_mutex_unlock(&pool->mu);
	return job;
}

static void *cpu_pool_thread_main(void *arg)
{
	hd_cpu_pool *pool = arg;
	cpu_job *job;

	while ((job = cpu_pool_take(pool)) != NULL) {
		job->work(job->arg);
		if (job->done != NULL && hd_worker_post(job->back, job->done, job->arg) != HD_OK)
			hd_log_error("cpu pool: worker %d closed, completion dropped",
			    hd_worker_index(job->back));
		free(job);
	}
	return NULL;
}

/* Stops and joins the first n threads, frees the pool. */
static void cpu_pool_stop(hd_cpu_pool *pool, int n)
{
	pthread_mutex_lock(&pool->mu);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->mu);
	for (int i = 0; i < n; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->mu);
	free(pool->threads);
	free(pool);
}

hd_err hd_cpu_pool_create(hd_cpu_pool **out, int n)
{
	hd_cpu_pool *pool;
	int started = 0;

	if (out == NULL || n <= 0 || n > 1024)
		return HD_ERR_INVALID;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return HD_ERR_NOMEM;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->threads = calloc((size_t)n, sizeof(*pool->threads));
	if (pool->threads == NULL)
		goto fail;
	for (; started < n; started++)
		if (pthread_create(&pool->threads[started], NULL, cpu_pool_thread_main, pool) != 0)
			goto fail;
	pool->n = n;
	*out = pool;
	return HD_OK;
fail:
	cpu_pool_stop(pool, started);
	return HD_ERR_NOMEM;
}

/* Runs the queued jobs to the end, then joins the threads. NULL ok. */
void hd_cpu_pool_destroy(hd_cpu_pool *pool)
{
	if (pool != NULL)
		cpu_pool_stop(pool, pool->n);
}

hd_err hd_cpu_pool_submit(
    hd_cpu_pool *pool, hd_worker_fn work, hd_worker_fn done, void *arg, hd_worker *back)
{
	cpu_job *job;

	if (pool == NULL || work == NULL || (done != NULL && back == NULL))
		return HD_ERR_INVALID;
	job = malloc(sizeof(*job));
	if (job == NULL)
		return HD_ERR_NOMEM;
	*job = (cpu_job) { NULL, work, done, arg, back };
	pthread_mutex_lock(&pool->mu);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->mu);
		free(job);
		return HD_ERR_CLOSED;
	}
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->mu);
	return HD_OK;
}

struct hd_worker_idle {
	struct event *ev; /* at HD_WORKER_PRIORITY_IDLE */
	hd_worker_fn fn;
	void *arg;
};

static void hd_worker_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_worker_idle *idle = arg;
	(void)fd;
	(void)what;
	idle->fn(idle->arg);
}

hd_err hd_worker_idle_create(hd_worker_idle **out, hd_worker *w, hd_worker_fn fn, void *arg)
{
	hd_worker_idle *idle = calloc(1, sizeof(*idle));
	if (idle == NULL)
		return HD_ERR_NOMEM;
	idle->fn = fn;
	idle->arg = arg;
	idle->ev = event_new(hd_worker_base(w), -1, 0, hd_worker_idle_cb, idle);
	if (idle->ev == NULL || event_priority_set(idle->ev, HD_WORKER_PRIORITY_IDLE) != 0) {
		hd_worker_idle_destroy(idle);
		return HD_ERR_NOMEM;
	}
	*out = idle;
	return HD_OK;
}

void hd_worker_idle_schedule(hd_worker_idle *idle)
{
	/* an event already active is not queued twice */
	event_active(idle->ev, EV_TIMEOUT, 0);
}

void hd_worker_idle_destroy(hd_worker_idle *idle)
{
	if (idle == NULL)
		return;
	if (idle->ev != NULL)
		event_free(idle->ev);
	free(idle);
}
