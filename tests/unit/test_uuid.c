/* hd_uuid: v7 layout, uniqueness and monotonic order, also across threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hd/uuid.h"

#define N_IDS 20000
#define N_THREADS 4
#define PER_THREAD 5000

static void test_uuid_layout(void **state)
{
	char id[HD_UUID_STRLEN + 1];
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	assert_int_equal(strlen(id), HD_UUID_STRLEN);
	assert_true(hd_uuid_valid(id));
	assert_int_equal(id[14], '7');
	assert_non_null(strchr("89ab", id[19]));
	for (size_t i = 0; i < HD_UUID_STRLEN; i++)
		assert_true(id[i] == '-' || (id[i] >= '0' && id[i] <= '9')
		    || (id[i] >= 'a' && id[i] <= 'f'));
	/* the first 48 bits are the current Unix time in milliseconds */
	char hex[13];
	memcpy(hex, id, 8);
	memcpy(hex + 8, id + 9, 4);
	hex[12] = '\0';
	uint64_t ms = strtoull(hex, NULL, 16);
	uint64_t now = (uint64_t)time(NULL) * 1000;
	assert_true(ms + 5000 > now && ms < now + 5000);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void test_uuid_monotonic(void **state)
{
	char(*ids)[HD_UUID_STRLEN + 1] = malloc(N_IDS * sizeof(*ids));
	assert_non_null(ids);
	for (size_t i = 0; i < N_IDS; i++) {
		assert_int_equal(hd_uuid_v7(ids[i]), HD_OK);
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			fail_msg("not increasing: %s then %s", ids[i - 1], ids[i]);
	}
	free(ids);
}

static void *thread_ids(void *arg)
{
	char(*ids)[HD_UUID_STRLEN + 1] = arg;
	for (size_t i = 0; i < PER_THREAD; i++)
		if (hd_uuid_v7(ids[i]) != HD_OK)
			return arg;
	return NULL;
}

static void test_uuid_threads_unique(void **state)
{
	char(*ids)[HD_UUID_STRLEN + 1] = malloc(N_THREADS * PER_THREAD * sizeof(*ids));
	assert_non_null(ids);
	pthread_t t[N_THREADS];
	for (size_t i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_ids, ids + i * PER_THREAD), 0);
	for (size_t i = 0; i < N_THREADS; i++) {
		void *ret = ids;
		pthread_join(t[i], &ret);
		assert_null(ret);
	}
	qsort(ids, N_THREADS * PER_THREAD, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < N_THREADS * PER_THREAD; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);
}

/* A forked child must not hand out the random bytes its parent's pool still
 * holds: the next id in parent and child is computed from the same state
 * (same millisecond, same last id), so only fresh bytes make them differ. */
static void test_uuid_fork_fresh(void **state)
{
	char parent[HD_UUID_STRLEN + 1], child[HD_UUID_STRLEN + 1] = "";
	int fds[2];
	for (int round = 0; round < 8; round++) {
		assert_int_equal(hd_uuid_v7(parent), HD_OK); /* fills the pool */
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char id[HD_UUID_STRLEN + 1];
			close(fds[0]);
			int ok = hd_uuid_v7(id) == HD_OK
			    && write(fds[1], id, HD_UUID_STRLEN) == HD_UUID_STRLEN;
			_exit(ok ? 0 : 1);
		}
		close(fds[1]);
		assert_int_equal(hd_uuid_v7(parent), HD_OK);
		assert_int_equal(read(fds[0], child, HD_UUID_STRLEN), HD_UUID_STRLEN);
		child[HD_UUID_STRLEN] = '\0';
		close(fds[0]);
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_string_not_equal(parent, child);
	}
}

static void test_uuid_valid(void **state)
{
	assert_true(hd_uuid_valid("aaaaaaaa-0000-4000-8000-00000000000a"));
	assert_true(hd_uuid_valid("AAAAAAAA-0000-4000-8000-00000000000A"));
	assert_false(hd_uuid_valid(NULL));
	assert_false(hd_uuid_valid(""));
	assert_false(hd_uuid_valid("aaaaaaaa-0000-4000-8000-00000000000"));
	assert_false(hd_uuid_valid("aaaaaaaa-0000-4000-8000-00000000000aa"));
	assert_false(hd_uuid_valid("aaaaaaaa00000-4000-8000-00000000000a"));
	assert_false(hd_uuid_valid("gaaaaaaa-0000-4000-8000-00000000000a"));
	assert_false(hd_uuid_valid("{aaaaaaa-0000-4000-8000-00000000000a}"));
}

/* The issue time the gateway reads from a token's jti (gateway/admit.c). */
static void test_uuid_v7_ms(void **state)
{
	int64_t ms = -1;
	assert_true(hd_uuid_v7_ms("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", &ms));
	assert_int_equal(ms, 0x0193a1b2c3d4LL);
	assert_true(hd_uuid_v7_ms("0193A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B", &ms));
	assert_int_equal(ms, 0x0193a1b2c3d4LL);
	/* other versions and non-UUIDs carry no time */
	assert_false(hd_uuid_v7_ms("0193a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b", &ms));
	assert_false(hd_uuid_v7_ms("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2", &ms));
	assert_false(hd_uuid_v7_ms("", &ms));
	assert_false(hd_uuid_v7_ms(NULL, &ms));
	/* a fresh one is now, to the millisecond */
	char id[HD_UUID_STRLEN + 1];
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	int64_t before = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
	assert_int_equal(hd_uuid_v7(id), HD_OK);
	assert_true(hd_uuid_v7_ms(id, &ms));
	clock_gettime(CLOCK_REALTIME, &t);
	assert_true(ms >= before && ms <= (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_layout),
		cmocka_unit_test(test_uuid_monotonic),
		cmocka_unit_test(test_uuid_threads_unique),
		cmocka_unit_test(test_uuid_fork_fresh),
		cmocka_unit_test(test_uuid_v7_ms),
		cmocka_unit_test(test_uuid_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
