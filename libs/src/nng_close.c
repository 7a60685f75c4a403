/* Bounded nng_close (nng_close.h): the close runs on its own thread and is
 * given NNG_CLOSE_WAIT_MS; past that the socket is left to the process exit,
 * so SIGTERM always ends a daemon. */
#include "nng_close.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define NNG_CLOSE_WAIT_MS 2000

static atomic_bool nng_wedged; /* a close was abandoned: NNG's core is stuck */

typedef struct nng_closer {
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, abandoned;
} nng_closer;

static void *nng_closer_main(void *arg)
{
	nng_closer *cl = arg;
	nng_close(cl->sock);
	pthread_mutex_lock(&cl->mu);
	cl->done = true;
	bool abandoned = cl->abandoned;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	if (abandoned) { /* the waiter gave up and left cl to us */
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
	}
	return NULL;
}

bool hd_nng_wedged(void)
{
	return atomic_load(&nng_wedged);
}

bool hd_nng_close(nng_socket sock)
{
	if (atomic_load(&nng_wedged))
		return false;
	nng_close(sock);
	return true;
}

bool hd_nng_close_bounded(nng_socket sock)
{
	if (atomic_load(&nng_wedged))
		return false;
	nng_closer *cl = calloc(1, sizeof *cl);
	pthread_t th;
	if (cl == NULL) {
		nng_close(sock);
		return true;
	}
	cl->sock = sock;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->cv, NULL);
	if (pthread_create(&th, NULL, nng_closer_main, cl) != 0) {
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
		nng_close(sock);
		return true;
	}
	pthread_detach(th);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += NNG_CLOSE_WAIT_MS / 1000;
	pthread_mutex_lock(&cl->mu);
	while (!cl->done)
		if (pthread_cond_timedwait(&cl->cv, &cl->mu, &until) != 0)
			break;
	bool done = cl->done;
	cl->abandoned = !done;
	if (!done)
		atomic_store(&nng_wedged, true);
	pthread_mutex_unlock(&cl->mu);
	if (done) {
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
	}
	return done;
}
