/* Worker loops and CPU pool: posted work runs on the right thread, in order,
 * all of it before shutdown; init failures stop the pool; CPU jobs come back
 * to the worker they name. Async tests count callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hd/worker.h"

#define NWORKERS 4
#define NPOSTS 20000

typedef struct counters {
	atomic_int inits, finis, runs, wrong_thread, order_errors, cpu_work, cpu_done;
	int fail_index; /* init fails for this worker, -1 none */
	pthread_mutex_t mu;
	pthread_cond_t cond;
} counters;

typedef struct per_worker {
	pthread_t thread;
	int last_seq;
	counters *cnt;
} per_worker;

static hd_err init_cb(hd_worker *w, void *arg)
{
	counters *cnt = arg;
	per_worker *pw = calloc(1, sizeof(*pw));

	atomic_fetch_add(&cnt->inits, 1);
	if (hd_worker_index(w) == cnt->fail_index) {
		free(pw);
		return HD_ERR_UNAVAILABLE;
	}
	pw->thread = pthread_self();
	pw->last_seq = -1;
	pw->cnt = cnt;
	hd_worker_set_data(w, pw);
	return HD_OK;
}

static void fini_cb(hd_worker *w, void *arg)
{
	counters *cnt = arg;
	per_worker *pw = hd_worker_data(w);

	if (!pthread_equal(pw->thread, pthread_self()))
		atomic_fetch_add(&cnt->wrong_thread, 1);
	atomic_fetch_add(&cnt->finis, 1);
	free(pw);
}

typedef struct job {
	hd_worker *w;
	int seq;
} job;

static void job_fn(void *arg)
{
	job *j = arg;
	per_worker *pw = hd_worker_data(j->w);

	if (!pthread_equal(pw->thread, pthread_self()))
		atomic_fetch_add(&pw->cnt->wrong_thread, 1);
	if (j->seq != pw->last_seq + 1)
		atomic_fetch_add(&pw->cnt->order_errors, 1);
	pw->last_seq = j->seq;
	atomic_fetch_add(&pw->cnt->runs, 1);
}

static void counters_init(counters *cnt, int fail_index)
{
	memset(cnt, 0, sizeof(*cnt));
	cnt->fail_index = fail_index;
	pthread_mutex_init(&cnt->mu, NULL);
	pthread_cond_init(&cnt->cond, NULL);
}

static void test_post_runs_all_in_order_on_owner(void **state)
{
	counters cnt;
	hd_worker_pool *pool;
	static job jobs[NPOSTS];
	int seq[NWORKERS] = { 0 };

	counters_init(&cnt, -1);
	assert_int_equal(hd_worker_pool_create(&pool, NWORKERS, init_cb, fini_cb, &cnt), HD_OK);
	assert_int_equal(hd_worker_pool_size(pool), NWORKERS);
	assert_int_equal(atomic_load(&cnt.inits), NWORKERS);
	for (int i = 0; i < NPOSTS; i++) {
		hd_worker *w = hd_worker_pool_next(pool);
		jobs[i] = (job) { w, seq[hd_worker_index(w)]++ };
		assert_int_equal(hd_worker_post(w, job_fn, &jobs[i]), HD_OK);
	}
	hd_worker_pool_destroy(pool); /* drains first */
	assert_int_equal(atomic_load(&cnt.runs), NPOSTS);
	assert_int_equal(atomic_load(&cnt.wrong_thread), 0);
	assert_int_equal(atomic_load(&cnt.order_errors), 0);
	assert_int_equal(atomic_load(&cnt.finis), NWORKERS);
	assert_int_equal(atomic_load(&cnt.wrong_thread), 0);
	for (int i = 0; i < NWORKERS; i++)
		assert_int_equal(seq[i], NPOSTS / NWORKERS); /* round robin */
}

static void test_init_failure_stops_pool(void **state)
{
	counters cnt;
	hd_worker_pool *pool = NULL;

	counters_init(&cnt, 2);
	assert_int_equal(
	    hd_worker_pool_create(&pool, NWORKERS, init_cb, fini_cb, &cnt), HD_ERR_UNAVAILABLE);
	assert_null(pool);
	assert_int_equal(atomic_load(&cnt.inits), NWORKERS);
	assert_int_equal(atomic_load(&cnt.finis), NWORKERS - 1); /* not the failed one */
}

static void test_pool_accessors_and_bad_args(void **state)
{
	counters cnt;
	hd_worker_pool *pool;

	counters_init(&cnt, -1);
	assert_int_equal(hd_worker_pool_create(&pool, 0, init_cb, fini_cb, &cnt), HD_ERR_INVALID);
	assert_int_equal(hd_worker_pool_create(&pool, 2, NULL, NULL, NULL), HD_OK);
	assert_non_null(hd_worker_pool_get(pool, 1));
	assert_null(hd_worker_pool_get(pool, 2));
	assert_null(hd_worker_pool_get(pool, -1));
	assert_int_equal(hd_worker_index(hd_worker_pool_get(pool, 1)), 1);
	assert_non_null(hd_worker_base(hd_worker_pool_get(pool, 0)));
	assert_int_equal(hd_worker_post(hd_worker_pool_get(pool, 0), NULL, NULL), HD_ERR_INVALID);
	hd_worker_pool_destroy(pool);
	hd_worker_pool_destroy(NULL);
}

/* A job that posts itself again n times: work posted from the loop runs too. */
typedef struct chain {
	hd_worker *w;
	int left;
	counters *cnt;
} chain;

static void chain_fn(void *arg)
{
	chain *c = arg;

	atomic_fetch_add(&c->cnt->runs, 1);
	if (--c->left > 0) {
		if (hd_worker_post(c->w, chain_fn, c) != HD_OK)
			atomic_fetch_add(&c->cnt->order_errors, 1);
		else
			return;
	}
	pthread_mutex_lock(&c->cnt->mu);
	pthread_cond_signal(&c->cnt->cond);
	pthread_mutex_unlock(&c->cnt->mu);
}

static void test_post_from_worker_thread(void **state)
{
	counters cnt;
	hd_worker_pool *pool;
	chain c;

	counters_init(&cnt, -1);
	assert_int_equal(hd_worker_pool_create(&pool, 1, NULL, NULL, NULL), HD_OK);
	c = (chain) { hd_worker_pool_get(pool, 0), 1000, &cnt };
	pthread_mutex_lock(&cnt.mu);
	assert_int_equal(hd_worker_post(c.w, chain_fn, &c), HD_OK);
	while (atomic_load(&cnt.runs) < 1000 && atomic_load(&cnt.order_errors) == 0)
		pthread_cond_wait(&cnt.cond, &cnt.mu);
	pthread_mutex_unlock(&cnt.mu);
	hd_worker_pool_destroy(pool);
	assert_int_equal(atomic_load(&cnt.order_errors), 0);
	assert_int_equal(atomic_load(&cnt.runs), 1000);
}

typedef struct cpu_job {
	hd_worker *back;
	pthread_t work_thread;
	counters *cnt;
} cpu_job;

static void cpu_work(void *arg)
{
	cpu_job *j = arg;

	j->work_thread = pthread_self();
	atomic_fetch_add(&j->cnt->cpu_work, 1);
}

static void cpu_done(void *arg)
{
	cpu_job *j = arg;
	per_worker *pw = hd_worker_data(j->back);

	if (!pthread_equal(pw->thread, pthread_self())
	    || pthread_equal(j->work_thread, pthread_self()))
		atomic_fetch_add(&j->cnt->wrong_thread, 1);
	pthread_mutex_lock(&j->cnt->mu);
	atomic_fetch_add(&j->cnt->cpu_done, 1);
	pthread_cond_signal(&j->cnt->cond);
	pthread_mutex_unlock(&j->cnt->mu);
}

static void test_cpu_pool_returns_to_worker(void **state)
{
	enum { NJOBS = 500 };
	counters cnt;
	hd_worker_pool *pool;
	hd_cpu_pool *cpu;
	static cpu_job jobs[NJOBS];

	counters_init(&cnt, -1);
	assert_int_equal(hd_worker_pool_create(&pool, 2, init_cb, fini_cb, &cnt), HD_OK);
	assert_int_equal(hd_cpu_pool_create(&cpu, 3), HD_OK);
	for (int i = 0; i < NJOBS; i++) {
		jobs[i] = (cpu_job) { hd_worker_pool_next(pool), pthread_self(), &cnt };
		assert_int_equal(
		    hd_cpu_pool_submit(cpu, cpu_work, cpu_done, &jobs[i], jobs[i].back), HD_OK);
	}
	pthread_mutex_lock(&cnt.mu);
	while (atomic_load(&cnt.cpu_done) < NJOBS)
		pthread_cond_wait(&cnt.cond, &cnt.mu);
	pthread_mutex_unlock(&cnt.mu);
	assert_int_equal(
	    hd_cpu_pool_submit(cpu, cpu_work, cpu_done, &jobs[0], NULL), HD_ERR_INVALID);
	hd_cpu_pool_destroy(cpu);
	hd_worker_pool_destroy(pool);
	assert_int_equal(atomic_load(&cnt.cpu_work), NJOBS);
	assert_int_equal(atomic_load(&cnt.cpu_done), NJOBS);
	assert_int_equal(atomic_load(&cnt.wrong_thread), 0);
}

static void test_cpu_pool_destroy_drains(void **state)
{
	enum { NJOBS = 200 };
	counters cnt;
	hd_cpu_pool *cpu;
	static cpu_job jobs[NJOBS];

	counters_init(&cnt, -1);
	assert_int_equal(hd_cpu_pool_create(&cpu, 2), HD_OK);
	for (int i = 0; i < NJOBS; i++) {
		jobs[i] = (cpu_job) { NULL, pthread_self(), &cnt };
		assert_int_equal(hd_cpu_pool_submit(cpu, cpu_work, NULL, &jobs[i], NULL), HD_OK);
	}
	hd_cpu_pool_destroy(cpu);
	assert_int_equal(atomic_load(&cnt.cpu_work), NJOBS);
	hd_cpu_pool_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_runs_all_in_order_on_owner),
		cmocka_unit_test(test_init_failure_stops_pool),
		cmocka_unit_test(test_pool_accessors_and_bad_args),
		cmocka_unit_test(test_post_from_worker_thread),
		cmocka_unit_test(test_cpu_pool_returns_to_worker),
		cmocka_unit_test(test_cpu_pool_destroy_drains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
