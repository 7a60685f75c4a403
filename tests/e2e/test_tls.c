/* Mutual TLS on every NNG link of the running stack (docs/architecture.md,
 * "Trust between the components"): every daemon's RPC socket and both bus
 * sockets answer a client holding the gateway's certificate, and give
 * nothing to a client without a certificate, a plain tcp:// client, one
 * whose certificate (named hd-gateway) comes from another CA, and one whose
 * certificate from the stack's own CA names a component that is not allowed
 * there (hd-intruder everywhere; hd-bus on the RPC sockets, which only the
 * gateway and the daemons that call others, HD_TLS_RPC_PEERS, may call). Bus: an intruder's events
 * never reach a subscriber, and an intruder subscriber hears nothing. Environment: the runner's
 * (HD_TEST_STACK_DIR with its tls/ folder, HD_TEST_ROOT, every HD_<NAME>_URL, HD_BUS_PUB_URL,
 * HD_BUS_SUB_URL, and HD_TLS_* holding the gateway's certificate). */
#include <ctype.h>
#include <pthread.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include "hd/bus.h"
#include "hd/tls.h"
#include "proc_e2e.h"
#include "tls_client.h"

#define NO_ANSWER_MS 1000
/* how long a valid client may take to be answered: a wait for success (its
 * loop ends at the first answer), long enough for a TLS handshake and a
 * subscription under ASan on a loaded 2-core machine, where 5 s once was not */
#define ANSWER_MS 15000
/* Quiet time before closing a pub/sub socket: NNG 1.5.2's nng_close can
 * hang when it races a transfer (upstream #1219/#1543; libs/src/nng_close.h). */
#define SETTLE_MS 150

/* The clients tried on every socket; CLIENT_VALID must be answered. */
typedef enum client_kind {
	CLIENT_VALID,
	CLIENT_NO_CERT,
	CLIENT_PLAIN,
	CLIENT_OTHER_CA,
	CLIENT_INTRUDER,
	CLIENT_BUS, /* allowed on the bus, not on RPC sockets */
	CLIENT__COUNT
} client_kind;

static const char *const client_names[CLIENT__COUNT]
    = { "valid", "no-cert", "plain", "other-ca", "intruder", "bus" };

static char g_dir[128]; /* same/ (the stack's CA) and other/ (another CA) */

static void stack_sh_certs(const char *sub, const char *names)
{
	char cmd[768];
	snprintf(cmd, sizeof cmd, "'%s/deploy/stack.sh' tls-certs '%s/%s' %s",
	    httpc_env("HD_TEST_ROOT"), g_dir, sub, names);
	assert_int_equal(system(cmd), 0);
}

static int group_setup(void **state)
{
	(void)state;
	if (!hd_tls_url(httpc_env("HD_BUS_PUB_URL")))
		return -1; /* the runner's stack runs over TLS (HD_STACK_TLS) */
	snprintf(g_dir, sizeof g_dir, "/tmp/hd-e2e-tls-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	char cmd[768];
	/* the stack's CA, to issue a valid certificate of a disallowed name */
	snprintf(cmd, sizeof cmd,
	    "mkdir -m 700 '%s/same' && cp '%s/tls/ca.pem' '%s/tls/ca.key' '%s/same/'", g_dir,
	    httpc_env("HD_TEST_STACK_DIR"), httpc_env("HD_TEST_STACK_DIR"), g_dir);
	if (system(cmd) != 0)
		return -1;
	stack_sh_certs("same", "intruder");
	stack_sh_certs("other", "gateway");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The configuration of client kind (NULL for the plain one). */
static nng_tls_config *client_config(client_kind kind)
{
	char ca[256], crt[256], key[256];
	const char *stack = httpc_env("HD_TEST_STACK_DIR");
	snprintf(ca, sizeof ca, "%s", httpc_env("HD_TLS_CA_FILE"));
	switch (kind) {
	case CLIENT_VALID:
		return tls_client_config(
		    ca, httpc_env("HD_TLS_CERT_FILE"), httpc_env("HD_TLS_KEY_FILE"));
	case CLIENT_NO_CERT:
		return tls_client_config(ca, NULL, NULL);
	case CLIENT_OTHER_CA:
		snprintf(ca, sizeof ca, "%s/other/ca.pem", g_dir); /* it trusts its own CA */
		snprintf(crt, sizeof crt, "%s/other/gateway.pem", g_dir);
		snprintf(key, sizeof key, "%s/other/gateway.key", g_dir);
		return tls_client_config(ca, crt, key);
	case CLIENT_INTRUDER:
		snprintf(crt, sizeof crt, "%s/same/intruder.pem", g_dir);
		snprintf(key, sizeof key, "%s/same/intruder.key", g_dir);
		return tls_client_config(ca, crt, key);
	case CLIENT_BUS:
		snprintf(crt, sizeof crt, "%s/tls/bus.pem", stack);
		snprintf(key, sizeof key, "%s/tls/bus.key", stack);
		return tls_client_config(ca, crt, key);
	default:
		return NULL;
	}
}

/* url as client kind dials it: the plain client drops "tls+". */
static const char *client_url(client_kind kind, const char *url)
{
	return kind == CLIENT_PLAIN ? url + strlen("tls+") : url;
}

/* ---- RPC sockets ---- */

static void check_rpc(const char *name, const char *url)
{
	assert_true(hd_tls_url(url));
	for (int k = 0; k < CLIENT__COUNT; k++) {
		client_kind kind = (client_kind)k;
		bool answered = tls_client_answered(client_url(kind, url), client_config(kind),
		    kind == CLIENT_VALID ? ANSWER_MS : NO_ANSWER_MS);
		if (answered != (kind == CLIENT_VALID))
			fail_msg("hd-%s (%s): the %s client was %sanswered", name, url,
			    client_names[k], answered ? "" : "not ");
	}
}

/* The daemons of daemons.def and their RPC ports (0: none). */
static const struct {
	const char *name;
	int rpc_port;
} daemons[] = {
#define HD_DAEMON(name, rpc_port, admin_port, image, sql_dir) { #name, rpc_port },
#include "../../daemons.def"
#undef HD_DAEMON
};

static void test_rpc_sockets_answer_only_the_gateway(void **state)
{
	(void)state;
	int checked = 0;
	for (size_t i = 0; i < sizeof daemons / sizeof daemons[0]; i++) {
		if (daemons[i].rpc_port == 0)
			continue;
		char setting[64];
		int n = snprintf(setting, sizeof setting, "HD_%s_URL", daemons[i].name);
		for (int c = 3; c < n - 4; c++)
			setting[c] = (char)toupper((unsigned char)setting[c]);
		check_rpc(daemons[i].name, httpc_env(setting));
		checked++;
	}
	assert_true(checked > 0);
}

/* ---- the bus ---- */

/* Events of type "e2e.tls.<client name>" a subscriber saw, per client kind. */
typedef struct bus_seen {
	pthread_mutex_t mu;
	int count[CLIENT__COUNT];
} bus_seen;

static void bus_seen_cb(const char *type, const char *json, size_t len, void *arg)
{
	(void)json;
	(void)len;
	bus_seen *s = arg;
	pthread_mutex_lock(&s->mu);
	for (int k = 0; k < CLIENT__COUNT; k++)
		if (strcmp(type + strlen("e2e.tls."), client_names[k]) == 0)
			s->count[k]++;
	pthread_mutex_unlock(&s->mu);
}

static int bus_seen_count(bus_seen *s, client_kind kind)
{
	pthread_mutex_lock(&s->mu);
	int n = s->count[kind];
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Publishes "e2e.tls.<kind>" events from a raw PUB socket of client kind
 * every 20 ms for up to ms, or until the subscriber saw one. */
static bool bus_published(client_kind kind, bus_seen *seen, int ms)
{
	nng_socket pub;
	assert_int_equal(nng_pub0_open(&pub), 0);
	tls_client_dial(pub, client_url(kind, httpc_env("HD_BUS_PUB_URL")), client_config(kind));
	char msg[64];
	int len = snprintf(msg, sizeof msg, "e2e.tls.%s%c{}", client_names[kind], '\0');
	int64_t until = pe_now_ms() + ms;
	while (bus_seen_count(seen, kind) == 0 && pe_now_ms() < until) {
		nng_send(pub, msg, (size_t)len, 0);
		pe_sleep_ms(20);
	}
	pe_sleep_ms(SETTLE_MS);
	nng_close(pub);
	return bus_seen_count(seen, kind) > 0;
}

static void test_bus_takes_events_only_from_components(void **state)
{
	(void)state;
	bus_seen seen = { .mu = PTHREAD_MUTEX_INITIALIZER };
	hd_bus_sub *sub = NULL;
	assert_int_equal(
	    hd_bus_sub_open(&sub, httpc_env("HD_BUS_SUB_URL"), "e2e.tls.", bus_seen_cb, &seen),
	    HD_OK);
	/* the valid publisher first: it also waits for the subscription */
	assert_true(bus_published(CLIENT_VALID, &seen, ANSWER_MS));
	for (int k = CLIENT_NO_CERT; k <= CLIENT_INTRUDER; k++)
		if (bus_published((client_kind)k, &seen, NO_ANSWER_MS))
			fail_msg(
			    "the bus forwarded the events of the %s publisher", client_names[k]);
	hd_bus_sub_close(sub);
}

/* True when a raw SUB socket of client kind heard any event within ms while
 * a valid publisher published every 20 ms. */
static bool bus_heard(client_kind kind, hd_bus_pub *pub, int ms)
{
	nng_socket sock;
	assert_int_equal(nng_sub0_open(&sock), 0);
	assert_int_equal(nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	assert_int_equal(nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 20), 0);
	tls_client_dial(sock, client_url(kind, httpc_env("HD_BUS_SUB_URL")), client_config(kind));
	bool heard = false;
	int64_t until = pe_now_ms() + ms;
	while (!heard && pe_now_ms() < until) {
		assert_int_equal(hd_bus_publish(pub, "e2e.tls.marker", "{}", 2), HD_OK);
		nng_msg *m = NULL;
		heard = nng_recvmsg(sock, &m, 0) == 0;
		nng_msg_free(m);
	}
	/* drain what is still in flight, then close a quiet socket */
	pe_sleep_ms(SETTLE_MS);
	for (nng_msg *m = NULL; nng_recvmsg(sock, &m, 0) == 0; m = NULL)
		nng_msg_free(m);
	nng_close(sock);
	return heard;
}

static void test_bus_tells_only_components(void **state)
{
	(void)state;
	hd_bus_pub *pub = NULL;
	assert_int_equal(hd_bus_pub_open(&pub, httpc_env("HD_BUS_PUB_URL")), HD_OK);
	assert_true(bus_heard(CLIENT_VALID, pub, ANSWER_MS));
	for (int k = CLIENT_NO_CERT; k <= CLIENT_INTRUDER; k++)
		if (bus_heard((client_kind)k, pub, NO_ANSWER_MS))
			fail_msg("the %s subscriber heard the bus", client_names[k]);
	hd_bus_pub_close(pub);
}

int main(void)
{
	/* a stack run plain on purpose (tests/run.sh: HD_TEST_STACK_TLS=0) */
	const char *tls = getenv("HD_STACK_TLS");
	if (tls != NULL && strcmp(tls, "1") != 0) {
		printf("test_tls: skipped, the stack runs plain tcp:// (HD_TEST_STACK_TLS=0)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpc_sockets_answer_only_the_gateway),
		cmocka_unit_test(test_bus_takes_events_only_from_components),
		cmocka_unit_test(test_bus_tells_only_components),
	};
	int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
	nng_fini();
	return failed;
}
