/* Test clients of tls+tcp:// NNG links (tests/unit/test_tls.c,
 * tests/e2e/test_tls.c): a client TLS configuration from PEM files, and one
 * request from a fresh REQ socket. Header-only; include after cmocka.h. */
#ifndef HD_TEST_TLS_CLIENT_H
#define HD_TEST_TLS_CLIENT_H
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

/* The whole file as a string (caller frees), NULL when unreadable. */
static char *tls_client_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 65536);
	if (buf != NULL && fread(buf, 1, 65535, f) == 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* A client configuration trusting ca_file, presenting cert_file + key_file
 * (NULL: no certificate). The caller owns it (nng_tls_config_free). */
static nng_tls_config *tls_client_config(
    const char *ca_file, const char *cert_file, const char *key_file)
{
	nng_tls_config *cfg = NULL;
	assert_int_equal(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT), 0);
	char *ca = tls_client_read(ca_file);
	assert_non_null(ca);
	assert_int_equal(nng_tls_config_ca_chain(cfg, ca, NULL), 0);
	free(ca);
	if (cert_file != NULL) {
		char *crt = tls_client_read(cert_file);
		char *key = tls_client_read(key_file);
		assert_non_null(crt);
		assert_non_null(key);
		assert_int_equal(nng_tls_config_own_cert(cfg, crt, key, NULL), 0);
		free(crt);
		free(key);
	}
	return cfg;
}

/* Dials url from sock with cfg (NULL: as given, plain), taking over cfg. */
static void tls_client_dial(nng_socket sock, const char *url, nng_tls_config *cfg)
{
	nng_dialer d;
	assert_int_equal(nng_dialer_create(&d, sock, url), 0);
	if (cfg != NULL) {
		assert_int_equal(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg), 0);
		nng_tls_config_free(cfg);
	}
	assert_int_equal(nng_dialer_start(d, NNG_FLAG_NONBLOCK), 0);
}

/* A REQ socket whose sends and receives give up after ms. */
static nng_socket tls_client_req(int ms)
{
	nng_socket req;
	assert_int_equal(nng_req0_open(&req), 0);
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, ms), 0);
	assert_int_equal(nng_socket_set_ms(req, NNG_OPT_SENDTIMEO, ms), 0);
	return req;
}

/* Sends "hi" on req and closes it; true when any answer came back in time. */
static bool tls_client_ask(nng_socket req)
{
	bool answered = false;
	if (nng_send(req, "hi", 2, 0) == 0) {
		nng_msg *m = NULL;
		answered = nng_recvmsg(req, &m, 0) == 0;
		nng_msg_free(m);
	}
	nng_close(req);
	return answered;
}

/* Asks from a fresh REQ socket dialing url with cfg (taken over; NULL:
 * plain); true when any answer came back within ms. */
static bool tls_client_answered(const char *url, nng_tls_config *cfg, int ms)
{
	nng_socket req = tls_client_req(ms);
	tls_client_dial(req, url, cfg);
	return tls_client_ask(req);
}

#endif
