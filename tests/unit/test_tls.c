/* Tests of libs/src/tls.c and tls_engine.c: the name list matching, and real
 * tls+tcp:// links on 127.0.0.1 with certificates made by deploy/stack.sh
 * tls-certs (openssl): a REP listener of this process (certificate hd-auth,
 * allowed peers hd-gateway) answers a client holding hd-gateway's
 * certificate, and gives no answer to one holding a certificate that names
 * another component, one from another CA, one without a certificate, or a
 * plain tcp:// client; a dialer that expects another server name gets no
 * pipe (hd_tls_dial, and the RPC client dialing a host name);
 * HD_ENV=production refuses plain addresses; a client that sends
 * close_notify before its SP header (during or right after the handshake)
 * does not stop the listener from accepting the next ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "hd/rpc.h"
#include "hd/tls.h"
#include "nng_unit.h"
#include "../lib/tls_client.h"

#define NO_ANSWER_MS 1500

static bool allowed(const char *list, const char *name)
{
	return hd_tls_name_allowed(list, name, strlen(name));
}

static void test_name_allowed(void **state)
{
	(void)state;
	assert_true(allowed("hd-gateway", "hd-gateway"));
	assert_true(allowed("hd-auth, hd-gateway ,hd-ticket", "hd-gateway"));
	assert_true(allowed("hd-auth,,hd-ticket,", "hd-ticket"));
	assert_true(allowed("HD-Gateway", "hd-gateway")); /* DNS names: case-insensitive */
	assert_false(allowed("hd-gateway", "hd-gateway2"));
	assert_false(allowed("hd-gateway", "hd-gatewa"));
	assert_false(allowed("hd-gateway2", "hd-gateway"));
	assert_false(allowed("hd-*", "hd-auth")); /* no patterns */
	assert_false(allowed("", "hd-auth"));
	assert_false(allowed(",", ""));
	assert_false(hd_tls_name_allowed(NULL, "hd-auth", 7));
	/* a NUL inside a certificate's name never matches a prefix */
	assert_false(hd_tls_name_allowed("hd-auth", "hd-auth\0.evil", 13));
	assert_true(hd_tls_name_allowed("hd-auth", "hd-auth-and-more", 7));
}

static void test_url(void **state)
{
	(void)state;
	assert_true(hd_tls_url("tls+tcp://127.0.0.1:1"));
	assert_false(hd_tls_url("tcp://127.0.0.1:1"));
	assert_false(hd_tls_url("tls+tcp:/x"));
	assert_false(hd_tls_url(NULL));
}

/* ---- links ---- */

static char g_url[64];
static nng_socket g_rep;
static pthread_t g_echo;

/* Answers every request with "ok:" and the request, until the socket closes. */
static void *echo_main(void *arg)
{
	(void)arg;
	for (;;) {
		nng_msg *m = NULL;
		if (nng_recvmsg(g_rep, &m, 0) != 0)
			return NULL;
		nng_msg_insert(m, "ok:", 3);
		if (nng_sendmsg(g_rep, m, 0) != 0)
			nng_msg_free(m);
	}
}

static void make_certs(const char *sub, const char *names)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "../../deploy/stack.sh tls-certs '%s/%s' %s", g_dir, sub, names);
	assert_int_equal(system(cmd), 0);
}

static int links_setup(void **state)
{
	(void)state;
	make_certs("a", "auth gateway ticket");
	make_certs("b", "gateway"); /* another CA, same names */
	char path[256];
	snprintf(path, sizeof path, "%s/a/ca.pem", g_dir);
	setenv("HD_TLS_CA_FILE", path, 1);
	snprintf(path, sizeof path, "%s/a/auth.pem", g_dir);
	setenv("HD_TLS_CERT_FILE", path, 1);
	snprintf(path, sizeof path, "%s/a/auth.key", g_dir);
	setenv("HD_TLS_KEY_FILE", path, 1);
	nng_listener l;
	if (nng_rep0_open(&g_rep) != 0
	    || hd_tls_listen(g_rep, "tls+tcp://127.0.0.1:0", "hd-gateway, hd-auth", &l) != 0)
		return -1;
	int port = 0;
	if (nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0 || port == 0)
		return -1;
	snprintf(g_url, sizeof g_url, "tls+tcp://127.0.0.1:%d", port);
	return pthread_create(&g_echo, NULL, echo_main, NULL) == 0 ? 0 : -1;
}

static int links_teardown(void **state)
{
	(void)state;
	nng_close(g_rep);
	pthread_join(g_echo, NULL);
	return 0;
}

/* A client configuration trusting the CA of set ca_set (a or b), presenting
 * the certificate cert of set cert_set (NULL: none). */
static nng_tls_config *client_config(const char *ca_set, const char *cert_set, const char *cert)
{
	char ca[256], crt[256], key[256];
	snprintf(ca, sizeof ca, "%s/%s/ca.pem", g_dir, ca_set);
	snprintf(crt, sizeof crt, "%s/%s/%s.pem", g_dir, cert_set, cert != NULL ? cert : "");
	snprintf(key, sizeof key, "%s/%s/%s.key", g_dir, cert_set, cert != NULL ? cert : "");
	return tls_client_config(ca, cert != NULL ? crt : NULL, key);
}

static bool asked_and_answered(const char *url, nng_tls_config *cfg)
{
	return tls_client_answered(url, cfg, NO_ANSWER_MS);
}

static void test_allowed_peer_is_answered(void **state)
{
	(void)state;
	assert_true(asked_and_answered(g_url, client_config("a", "a", "gateway")));
}

static void test_disallowed_component_gets_no_answer(void **state)
{
	(void)state;
	/* a valid certificate of the CA, naming hd-ticket */
	assert_false(asked_and_answered(g_url, client_config("a", "a", "ticket")));
}

static void test_other_ca_gets_no_answer(void **state)
{
	(void)state;
	/* hd-gateway's name, from another CA (which the client trusts) */
	assert_false(asked_and_answered(g_url, client_config("b", "b", "gateway")));
}

static void test_no_certificate_gets_no_answer(void **state)
{
	(void)state;
	assert_false(asked_and_answered(g_url, client_config("a", "a", NULL)));
	char plain[64];
	snprintf(plain, sizeof plain, "tcp://%s", g_url + strlen("tls+tcp://"));
	assert_false(asked_and_answered(plain, NULL));
}

/* hd_tls_dial: the server must carry the expected name. */
static bool dialed_and_answered(const char *peer)
{
	nng_socket req = tls_client_req(NO_ANSWER_MS);
	assert_int_equal(hd_tls_dial(req, g_url, peer, NULL), 0);
	return tls_client_ask(req);
}

static void test_dialer_checks_server_name(void **state)
{
	(void)state;
	/* this process holds hd-auth's certificate, which the listener allows */
	assert_true(dialed_and_answered("hd-auth"));
	assert_false(dialed_and_answered("hd-ticket"));
}

/* The RPC client over TLS with a host name: one dialer per resolved
 * address keeps the tls+tcp:// scheme and the expected server name. */
static bool rpc_client_connects(const char *peer, int ms)
{
	char url[64];
	snprintf(url, sizeof url, "tls+tcp://localhost:%s", strrchr(g_url, ':') + 1);
	hd_rpc_client *c = NULL;
	assert_int_equal(hd_rpc_client_open_peer(&c, url, peer), HD_OK);
	for (int waited = 0; !hd_rpc_client_connected(c) && waited < ms; waited += 10)
		nanosleep(&(struct timespec) { .tv_nsec = 10000000 }, NULL);
	bool connected = hd_rpc_client_connected(c);
	hd_rpc_client_close(c);
	return connected;
}

static void test_rpc_client_named_host(void **state)
{
	(void)state;
	assert_true(rpc_client_connects("hd-auth", 5000));
	assert_false(rpc_client_connects("hd-ticket", NO_ANSWER_MS));
}

/* ---- a peer that closes before its SP header ---- */

/* A TLS client of our own (mbed TLS straight on a TCP socket, no NNG),
 * holding hd-gateway's certificate of set a. */
typedef struct raw_client {
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, crt;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
} raw_client;

static void raw_client_load(raw_client *rc)
{
	char path[256];
	snprintf(path, sizeof path, "%s/a/ca.pem", g_dir);
	assert_int_equal(mbedtls_x509_crt_parse_file(&rc->ca, path), 0);
	snprintf(path, sizeof path, "%s/a/gateway.pem", g_dir);
	assert_int_equal(mbedtls_x509_crt_parse_file(&rc->crt, path), 0);
	snprintf(path, sizeof path, "%s/a/gateway.key", g_dir);
	assert_int_equal(mbedtls_pk_parse_keyfile(&rc->key, path, NULL), 0);
}

static void raw_client_open(raw_client *rc)
{
	memset(rc, 0, sizeof *rc);
	mbedtls_net_init(&rc->net);
	mbedtls_ssl_init(&rc->ssl);
	mbedtls_ssl_config_init(&rc->conf);
	mbedtls_x509_crt_init(&rc->ca);
	mbedtls_x509_crt_init(&rc->crt);
	mbedtls_pk_init(&rc->key);
	mbedtls_entropy_init(&rc->entropy);
	mbedtls_ctr_drbg_init(&rc->drbg);
	assert_int_equal(
	    mbedtls_ctr_drbg_seed(&rc->drbg, mbedtls_entropy_func, &rc->entropy, NULL, 0), 0);
	raw_client_load(rc);
	assert_int_equal(mbedtls_ssl_config_defaults(&rc->conf, MBEDTLS_SSL_IS_CLIENT,
	                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT),
	    0);
	mbedtls_ssl_conf_rng(&rc->conf, mbedtls_ctr_drbg_random, &rc->drbg);
	mbedtls_ssl_conf_ca_chain(&rc->conf, &rc->ca, NULL);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&rc->conf, &rc->crt, &rc->key), 0);
	assert_int_equal(mbedtls_ssl_setup(&rc->ssl, &rc->conf), 0);
	assert_int_equal(mbedtls_ssl_set_hostname(&rc->ssl, "hd-auth"), 0);
	assert_int_equal(mbedtls_net_connect(
	                     &rc->net, "127.0.0.1", strrchr(g_url, ':') + 1, MBEDTLS_NET_PROTO_TCP),
	    0);
	mbedtls_ssl_set_bio(&rc->ssl, &rc->net, mbedtls_net_send, mbedtls_net_recv, NULL);
}

/* Waits (up to 2 s) until the server closes the connection, so that the
 * close_notify, not a reset of our own socket, is what the server sees. */
static void raw_client_wait_closed(raw_client *rc)
{
	unsigned char buf[512];
	while (mbedtls_net_recv_timeout(&rc->net, buf, sizeof buf, 2000) > 0)
		;
}

static void raw_client_close(raw_client *rc)
{
	mbedtls_net_free(&rc->net);
	mbedtls_ssl_free(&rc->ssl);
	mbedtls_ssl_config_free(&rc->conf);
	mbedtls_x509_crt_free(&rc->ca);
	mbedtls_x509_crt_free(&rc->crt);
	mbedtls_pk_free(&rc->key);
	mbedtls_ctr_drbg_free(&rc->drbg);
	mbedtls_entropy_free(&rc->entropy);
}

/* The handshake as far as state (MBEDTLS_SSL_HANDSHAKE_OVER: all of it). */
static void raw_client_handshake_until(raw_client *rc, int state)
{
	while (rc->ssl.state != state)
		assert_int_equal(mbedtls_ssl_handshake_step(&rc->ssl), 0);
}

/* A warning close_notify alert in a plaintext record, as sent before the
 * keys are agreed. */
static void raw_client_send_plain_close_notify(raw_client *rc)
{
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00 };
	assert_int_equal(mbedtls_net_send(&rc->net, alert, sizeof alert), (int)sizeof alert);
}

static void test_close_notify_after_handshake_keeps_listening(void **state)
{
	(void)state;
	raw_client rc;
	raw_client_open(&rc);
	raw_client_handshake_until(&rc, MBEDTLS_SSL_HANDSHAKE_OVER);
	unsigned char sp_header[8]; /* the server's; ours never goes out */
	assert_int_equal(mbedtls_ssl_read(&rc.ssl, sp_header, sizeof sp_header), 8);
	assert_int_equal(mbedtls_ssl_close_notify(&rc.ssl), 0);
	raw_client_wait_closed(&rc);
	raw_client_close(&rc);
	assert_true(asked_and_answered(g_url, client_config("a", "a", "gateway")));
}

static void test_close_notify_in_handshake_keeps_listening(void **state)
{
	(void)state;
	raw_client rc;
	raw_client_open(&rc);
	/* the server's hello and certificate request read: no key agreed yet,
	 * so this needs no certificate at all */
	raw_client_handshake_until(&rc, MBEDTLS_SSL_CLIENT_CERTIFICATE);
	raw_client_send_plain_close_notify(&rc);
	raw_client_wait_closed(&rc);
	raw_client_close(&rc);
	assert_true(asked_and_answered(g_url, client_config("a", "a", "gateway")));
}

static void test_production_refuses_plain(void **state)
{
	(void)state;
	nng_socket s;
	assert_int_equal(nng_rep0_open(&s), 0);
	setenv("HD_ENV", "production", 1);
	assert_int_equal(hd_tls_listen(s, "tcp://127.0.0.1:0", "hd-gateway", NULL), NNG_EINVAL);
	assert_int_equal(hd_tls_dial(s, "tcp://127.0.0.1:1", "hd-auth", NULL), NNG_EINVAL);
	unsetenv("HD_ENV");
	assert_int_equal(hd_tls_listen(s, "tcp://127.0.0.1:0", "hd-gateway", NULL), 0);
	nng_close(s);
}

static int group_setup(void **state)
{
	return nng_unit_setup(state) == 0 ? links_setup(state) : -1;
}

static int group_teardown(void **state)
{
	links_teardown(state);
	return nng_unit_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_allowed),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_allowed_peer_is_answered),
		cmocka_unit_test(test_disallowed_component_gets_no_answer),
		cmocka_unit_test(test_other_ca_gets_no_answer),
		cmocka_unit_test(test_no_certificate_gets_no_answer),
		cmocka_unit_test(test_dialer_checks_server_name),
		cmocka_unit_test(test_rpc_client_named_host),
		cmocka_unit_test(test_close_notify_after_handshake_keeps_listening),
		cmocka_unit_test(test_close_notify_in_handshake_keeps_listening),
		cmocka_unit_test(test_production_refuses_plain),
	};
	int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
	nng_fini();
	return failed;
}
