/* An NNG TLS engine (nng/supplemental/tls/engine.h) over mbed TLS 2.28 that
 * also checks which component the peer certificate names.
 *
 * Why our own: NNG 1.5.2's built-in mbed TLS engine verifies the chain but
 * cannot tell the application who the peer is (NNG_OPT_TLS_PEER_CN and
 * _ALT_NAMES arrived in 1.6; 1.5.2 has only NNG_OPT_TLS_VERIFIED), so a
 * listener could not refuse a valid certificate of the wrong component.
 * This engine replaces it for the process (nng_tls_engine_register, after
 * NNG's own init registered the built-in one) and adds a verify callback:
 * on a server configuration, the client certificate must name one of the
 * allowed components (hd__tls_engine_config_alloc), else the handshake fails
 * and NNG never makes a pipe. A client configuration checks the server's name
 * with mbedtls_ssl_set_hostname (nng_tls_config_server_name). Only TLS 1.2
 * (mbed TLS 2.28's 1.3 is experimental). docs/architecture.md, "Trust
 * between the components". */
#include "tls_engine.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <nng/supplemental/tls/engine.h>

#include "hd/log.h"
#include "hd/tls.h"

struct nng_tls_engine_config {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crl crl;
	mbedtls_x509_crt own_cert;
	mbedtls_pk_context own_key;
	bool has_own;
	nng_tls_mode mode;
	char *server_name; /* client: the name the server must carry */
	char *allowed; /* server: the names a client may carry (NULL: any) */
};

struct nng_tls_engine_conn {
	void *tls; /* NNG's handle for nng_tls_engine_send/recv */
	mbedtls_ssl_context ssl;
};

/* One random generator for every handshake (mbed TLS is built with
 * MBEDTLS_THREADING_C: ctr_drbg locks itself). */
static mbedtls_entropy_context engine_entropy;
static mbedtls_ctr_drbg_context engine_drbg;
/* The configuration engine_config_init made last on this thread: how
 * hd__tls_engine_config_alloc reaches the engine half of an nng_tls_config. */
static _Thread_local nng_tls_engine_config *engine_config_made;

/* ---- the peer's name ---- */

/* Copies up to cap-1 printable bytes of the name for a log line. */
static void engine_printable(char *out, size_t cap, const unsigned char *p, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < cap; i++)
		out[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

/* True when crt names an allowed component: its DNS subject alternative
 * names when it has any (RFC 6125), else its common name. */
static bool engine_cert_allowed(const mbedtls_x509_crt *crt, const char *allowed)
{
	bool has_dns = false;
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		has_dns = true;
		if (hd_tls_name_allowed(allowed, (const char *)s->buf.p, s->buf.len))
			return true;
	}
	if (has_dns)
		return false;
	for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next)
		if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0
		    && hd_tls_name_allowed(allowed, (const char *)n->val.p, n->val.len))
			return true;
	return false;
}

/* True when crt names the component own names (its DNS names, else its CN):
 * a component always accepts itself, so that a daemon can dial its own
 * listener (rpc_watchdog.c) whatever HD_TLS_RPC_PEERS says. */
static bool engine_cert_is_own(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *own)
{
	char name[256];
	bool has_dns = false;
	for (const mbedtls_x509_sequence *s = &own->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			continue;
		has_dns = true;
		if (s->buf.len == 0 || s->buf.len >= sizeof name
		    || memchr(s->buf.p, ',', s->buf.len) != NULL)
			continue;
		memcpy(name, s->buf.p, s->buf.len);
		name[s->buf.len] = '\0';
		if (engine_cert_allowed(crt, name))
			return true;
	}
	if (has_dns)
		return false;
	for (const mbedtls_x509_name *n = &own->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0
		    || n->val.len == 0 || n->val.len >= sizeof name
		    || memchr(n->val.p, ',', n->val.len) != NULL)
			continue;
		memcpy(name, n->val.p, n->val.len);
		name[n->val.len] = '\0';
		if (engine_cert_allowed(crt, name))
			return true;
	}
	return false;
}

/* mbed TLS calls this for each certificate of the peer's chain (depth 0: the
 * peer's own); a name that is neither allowed nor this component's own fails
 * the handshake. */
static int engine_verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	const nng_tls_engine_config *cfg = arg;
	if (depth != 0 || cfg->allowed == NULL || engine_cert_allowed(crt, cfg->allowed)
	    || (cfg->has_own && engine_cert_is_own(crt, &cfg->own_cert)))
		return 0;
	*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	char subject[128];
	int n = mbedtls_x509_dn_gets(subject, sizeof subject, &crt->subject);
	char shown[128];
	engine_printable(
	    shown, sizeof shown, (const unsigned char *)subject, n > 0 ? (size_t)n : 0);
	hd_log_warn("tls: refused a peer whose certificate (%s) names no allowed component (%s)",
	    shown, cfg->allowed);
	return 0;
}

/* ---- configuration ---- */

static int engine_rng(void *arg, unsigned char *out, size_t len)
{
	return mbedtls_ctr_drbg_random(arg, out, len);
}

static int engine_config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
	int endpoint = mode == NNG_TLS_MODE_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
	cfg->mode = mode;
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crl_init(&cfg->crl);
	mbedtls_x509_crt_init(&cfg->own_cert);
	mbedtls_pk_init(&cfg->own_key);
	if (mbedtls_ssl_config_defaults(
	        &cfg->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)
	    != 0)
		return NNG_ENOMEM;
	/* NNG's defaults: servers do not ask for a certificate unless told */
	mbedtls_ssl_conf_authmode(&cfg->conf,
	    mode == NNG_TLS_MODE_SERVER ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_rng(&cfg->conf, engine_rng, &engine_drbg);
	mbedtls_ssl_conf_verify(&cfg->conf, engine_verify_cb, cfg);
	mbedtls_ssl_conf_min_version(
	    &cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	engine_config_made = cfg;
	return 0;
}

static void engine_config_fini(nng_tls_engine_config *cfg)
{
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crl_free(&cfg->crl);
	mbedtls_x509_crt_free(&cfg->own_cert);
	mbedtls_pk_free(&cfg->own_key);
	free(cfg->server_name);
	free(cfg->allowed);
}

static int engine_config_server(nng_tls_engine_config *cfg, const char *name)
{
	char *copy = strdup(name);
	if (copy == NULL)
		return NNG_ENOMEM;
	free(cfg->server_name);
	cfg->server_name = copy;
	return 0;
}

static int engine_config_auth(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
	switch (mode) {
	case NNG_TLS_AUTH_MODE_NONE:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
		return 0;
	case NNG_TLS_AUTH_MODE_OPTIONAL:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
		return 0;
	case NNG_TLS_AUTH_MODE_REQUIRED:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		return 0;
	}
	return NNG_EINVAL;
}

/* Logs mbed TLS's reason for refusing a PEM input. */
static int engine_parse_error(const char *what, int rv)
{
	char why[128];
	mbedtls_strerror(rv, why, sizeof why);
	hd_log_error("tls: cannot read the %s: %s", what, why);
	return NNG_EINVAL;
}

static int engine_config_ca_chain(nng_tls_engine_config *cfg, const char *certs, const char *crl)
{
	int rv = mbedtls_x509_crt_parse(&cfg->ca, (const unsigned char *)certs, strlen(certs) + 1);
	if (rv != 0)
		return engine_parse_error("CA certificates", rv);
	if (crl != NULL) {
		rv = mbedtls_x509_crl_parse(&cfg->crl, (const unsigned char *)crl, strlen(crl) + 1);
		if (rv != 0)
			return engine_parse_error("CRL", rv);
	}
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, crl != NULL ? &cfg->crl : NULL);
	return 0;
}

static int engine_config_own_cert(
    nng_tls_engine_config *cfg, const char *cert, const char *key, const char *pass)
{
	if (cfg->has_own)
		return NNG_EBUSY; /* one identity per configuration */
	int rv
	    = mbedtls_x509_crt_parse(&cfg->own_cert, (const unsigned char *)cert, strlen(cert) + 1);
	if (rv != 0)
		return engine_parse_error("certificate", rv);
	rv = mbedtls_pk_parse_key(&cfg->own_key, (const unsigned char *)key, strlen(key) + 1,
	    (const unsigned char *)pass, pass != NULL ? strlen(pass) : 0);
	if (rv != 0)
		return engine_parse_error("private key", rv);
	if ((rv = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->own_cert, &cfg->own_key)) != 0)
		return engine_parse_error("certificate and key pair", rv);
	cfg->has_own = true;
	return 0;
}

static int engine_config_version(
    nng_tls_engine_config *cfg, nng_tls_version min_ver, nng_tls_version max_ver)
{
	(void)cfg;
	/* TLS 1.2 only: the range must hold it */
	return min_ver <= NNG_TLS_1_2 && max_ver >= NNG_TLS_1_2 ? 0 : NNG_ENOTSUP;
}

/* ---- connections ---- */

static int engine_bio_send(void *arg, const unsigned char *buf, size_t len)
{
	nng_tls_engine_conn *conn = arg;
	size_t n = len;
	switch (nng_tls_engine_send(conn->tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	default:
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int engine_bio_recv(void *arg, unsigned char *buf, size_t len)
{
	nng_tls_engine_conn *conn = arg;
	size_t n = len;
	switch (nng_tls_engine_recv(conn->tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_READ;
	case NNG_ECLOSED:
		return MBEDTLS_ERR_NET_CONN_RESET;
	default:
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

static int engine_conn_init(nng_tls_engine_conn *conn, void *tls, nng_tls_engine_config *cfg)
{
	conn->tls = tls;
	mbedtls_ssl_init(&conn->ssl);
	if (mbedtls_ssl_setup(&conn->ssl, &cfg->conf) != 0)
		return NNG_ENOMEM;
	mbedtls_ssl_set_bio(&conn->ssl, conn, engine_bio_send, engine_bio_recv, NULL);
	if (cfg->mode == NNG_TLS_MODE_CLIENT && cfg->server_name != NULL
	    && mbedtls_ssl_set_hostname(&conn->ssl, cfg->server_name) != 0)
		return NNG_ENOMEM;
	return 0;
}

static void engine_conn_fini(nng_tls_engine_conn *conn)
{
	mbedtls_ssl_free(&conn->ssl);
}

static void engine_conn_close(nng_tls_engine_conn *conn)
{
	(void)mbedtls_ssl_close_notify(&conn->ssl);
}

/* Maps an mbed TLS result of a handshake, read or write to NNG's. Never
 * NNG_ECLOSED for what a peer did: NNG 1.5.2 passes the error of a
 * connection that fails before its SP header arrives up to the listener's
 * (or dialer's) accept, and reads NNG_ECLOSED there as "this listener was
 * closed": it never accepts again (core/listener.c listener_accept_cb; a
 * dialer never dials again, core/dialer.c dialer_connect_cb). One client
 * sending close_notify at that moment, with or without a certificate, left
 * the daemon's socket with the pipes it had and no new ones.
 * A peer that closes is NNG_ECONNRESET and a failed handshake
 * NNG_EPEERAUTH: the listener accepts again at once, without the 100 ms
 * pause its default case would let a bad peer repeat (docs/architecture.md,
 * "Trust between the components"; tests/unit/test_tls.c). */
static int engine_result(const nng_tls_engine_conn *conn, int rv)
{
	switch (rv) {
	case MBEDTLS_ERR_SSL_WANT_READ:
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		return NNG_EAGAIN;
	case 0: /* a read of nothing: the peer's end of the stream */
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_SSL_CONN_EOF:
	case MBEDTLS_ERR_NET_CONN_RESET:
		return NNG_ECONNRESET;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return NNG_ENOMEM;
	default:
		return conn->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER ? NNG_EPEERAUTH : NNG_ECRYPTO;
	}
}

static int engine_conn_handshake(nng_tls_engine_conn *conn)
{
	int rv = mbedtls_ssl_handshake(&conn->ssl);
	return rv == 0 ? 0 : engine_result(conn, rv);
}

static int engine_conn_recv(nng_tls_engine_conn *conn, uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_read(&conn->ssl, buf, *szp);
	if (rv > 0) {
		*szp = (size_t)rv;
		return 0;
	}
	return engine_result(conn, rv);
}

static int engine_conn_send(nng_tls_engine_conn *conn, const uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_write(&conn->ssl, buf, *szp);
	if (rv > 0) {
		*szp = (size_t)rv;
		return 0;
	}
	return rv == 0 ? NNG_EAGAIN : engine_result(conn, rv);
}

static bool engine_conn_verified(nng_tls_engine_conn *conn)
{
	return mbedtls_ssl_get_peer_cert(&conn->ssl) != NULL
	    && mbedtls_ssl_get_verify_result(&conn->ssl) == 0;
}

/* ---- registration ---- */

static nng_tls_engine_config_ops engine_config_ops = {
	.size = sizeof(nng_tls_engine_config),
	.init = engine_config_init,
	.fini = engine_config_fini,
	.server = engine_config_server,
	.auth = engine_config_auth,
	.ca_chain = engine_config_ca_chain,
	.own_cert = engine_config_own_cert,
	.version = engine_config_version,
};

static nng_tls_engine_conn_ops engine_conn_ops = {
	.size = sizeof(nng_tls_engine_conn),
	.init = engine_conn_init,
	.fini = engine_conn_fini,
	.close = engine_conn_close,
	.handshake = engine_conn_handshake,
	.recv = engine_conn_recv,
	.send = engine_conn_send,
	.verified = engine_conn_verified,
};

static const nng_tls_engine engine = {
	.version = NNG_TLS_ENGINE_VERSION,
	.config_ops = &engine_config_ops,
	.conn_ops = &engine_conn_ops,
	.name = "hd-mbedtls",
	.description = "mbed TLS 2.28 with component names (libs/src/tls_engine.c)",
	.fips_mode = false,
};

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_seed_rv;

static void engine_seed(void)
{
	static const char personal[] = "hd-tls";
	mbedtls_entropy_init(&engine_entropy);
	mbedtls_ctr_drbg_init(&engine_drbg);
	engine_seed_rv = mbedtls_ctr_drbg_seed(&engine_drbg, mbedtls_entropy_func, &engine_entropy,
	    (const unsigned char *)personal, sizeof personal - 1);
}

/* Makes this engine NNG's. nng_tls_engine_name() first initialises NNG,
 * which registers its built-in engine; ours then replaces it. */
static int engine_register(void)
{
	pthread_once(&engine_once, engine_seed);
	if (engine_seed_rv != 0)
		return NNG_ECRYPTO;
	(void)nng_tls_engine_name();
	return nng_tls_engine_register(&engine);
}

/* One try: allocates and reports whether the configuration is ours. */
static int engine_alloc_once(nng_tls_config **out, nng_tls_mode mode, nng_tls_engine_config **ours)
{
	engine_config_made = NULL;
	int rv = nng_tls_config_alloc(out, mode);
	*ours = engine_config_made;
	engine_config_made = NULL;
	return rv;
}

int hd__tls_engine_config_alloc(nng_tls_config **out, nng_tls_mode mode, const char *allowed)
{
	nng_tls_config *cfg = NULL;
	nng_tls_engine_config *ours = NULL;
	int rv = engine_alloc_once(&cfg, mode, &ours);
	if (rv == 0 && ours == NULL) {
		/* NNG's own engine (first use, or NNG initialised again since) */
		nng_tls_config_free(cfg);
		if ((rv = engine_register()) != 0
		    || (rv = engine_alloc_once(&cfg, mode, &ours)) != 0)
			return rv;
		if (ours == NULL) {
			nng_tls_config_free(cfg);
			return NNG_ENOTSUP;
		}
	} else if (rv != 0) {
		return rv;
	}
	if (mode == NNG_TLS_MODE_SERVER && allowed != NULL
	    && (ours->allowed = strdup(allowed)) == NULL) {
		nng_tls_config_free(cfg);
		return NNG_ENOMEM;
	}
	*out = cfg;
	return 0;
}
