/* Mutual TLS on NNG links: listeners and dialers with this process's
 * certificate, the internal CA and the names of the allowed peers (hd/tls.h;
 * docs/architecture.md, "Trust between the components"). The name check
 * itself runs in the handshake, in tls_engine.c. */
#include "hd/tls.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nng/supplemental/tls/tls.h>

#include "hd/config.h"
#include "hd/log.h"
#include "tls_engine.h"

#define TLS_FILE_MAX (1 << 20) /* a PEM bundle larger than this is a mistake */

bool hd_tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp://", 10) == 0;
}

/* Trims spaces and tabs from both ends of p[0..*len). */
static const char *tls_trim(const char *p, size_t *len)
{
	while (*len > 0 && (*p == ' ' || *p == '\t'))
		p++, (*len)--;
	while (*len > 0 && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return p;
}

static bool tls_name_equal(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

bool hd_tls_name_allowed(const char *allowed, const char *name, size_t len)
{
	if (allowed == NULL || name == NULL || len == 0 || memchr(name, '\0', len) != NULL)
		return false;
	for (const char *p = allowed; *p != '\0';) {
		size_t n = strcspn(p, ",");
		size_t m = n;
		const char *entry = tls_trim(p, &m);
		if (m == len && tls_name_equal(entry, name, len))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

const char *hd_tls_rpc_peers(void)
{
	return hd_config_str("HD_TLS_RPC_PEERS");
}

const char *hd_tls_bus_peers(void)
{
#define HD_DAEMON(name, port, admin, image, sql) "hd-" #name ","
	static const char every_component[] =
#include "../../daemons.def"
	    "";
#undef HD_DAEMON
	const char *set = hd_config_str("HD_TLS_BUS_PEERS");
	return *set != '\0' ? set : every_component;
}

/* ---- certificate files ---- */

static struct {
	pthread_once_t once;
	char *ca, *cert, *key; /* PEM text, NUL-terminated; NULL when unreadable */
} tls_files = { .once = PTHREAD_ONCE_INIT };

/* Reads the file named by setting into a string, or NULL (logged). */
static char *tls_read_file(const char *setting)
{
	const char *path = hd_config_str(setting);
	if (*path == '\0') {
		hd_log_error(
		    "tls: %s is not set (tls+tcp:// needs HD_TLS_CA_FILE, HD_TLS_CERT_FILE "
		    "and HD_TLS_KEY_FILE; docs/operations.md, Certificates)",
		    setting);
		return NULL;
	}
	FILE *f = fopen(path, "rb");
	bool opened = f != NULL;
	char *text = opened ? malloc(TLS_FILE_MAX + 1) : NULL;
	size_t n = text != NULL ? fread(text, 1, TLS_FILE_MAX + 1, f) : 0;
	int saved = errno;
	if (opened)
		fclose(f);
	if (text == NULL || n == 0 || n > TLS_FILE_MAX) {
		hd_log_error("tls: cannot read %s=%s: %s", setting, path,
		    !opened      ? strerror(saved)
		        : n == 0 ? "empty"
		                 : "too large");
		free(text);
		return NULL;
	}
	text[n] = '\0';
	char *fit = realloc(text, n + 1); /* kept for the process's lifetime */
	if (fit != NULL)
		text = fit;
	return text;
}

static void tls_files_load(void)
{
	tls_files.ca = tls_read_file("HD_TLS_CA_FILE");
	tls_files.cert = tls_read_file("HD_TLS_CERT_FILE");
	tls_files.key = tls_read_file("HD_TLS_KEY_FILE");
}

/* A configuration with our certificate and CA, peers required: a server's
 * clients must name one of names, a client's server must name names (NULL:
 * any certificate of the CA). */
static int tls_config_make(nng_tls_config **out, nng_tls_mode mode, const char *names)
{
	pthread_once(&tls_files.once, tls_files_load);
	if (tls_files.ca == NULL || tls_files.cert == NULL || tls_files.key == NULL)
		return NNG_EINVAL;
	nng_tls_config *cfg = NULL;
	bool server = mode == NNG_TLS_MODE_SERVER;
	int rv = hd__tls_engine_config_alloc(&cfg, mode, server ? names : NULL);
	if (rv != 0)
		return rv;
	if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0
	    || (rv = nng_tls_config_ca_chain(cfg, tls_files.ca, NULL)) != 0
	    || (rv = nng_tls_config_own_cert(cfg, tls_files.cert, tls_files.key, NULL)) != 0
	    || (!server && names != NULL && (rv = nng_tls_config_server_name(cfg, names)) != 0)) {
		nng_tls_config_free(cfg);
		return rv;
	}
	*out = cfg;
	return 0;
}

/* Plain links are for development only. */
static int tls_plain_allowed(const char *url)
{
	if (!hd_config_production())
		return 0;
	hd_log_error("tls: HD_ENV=production refuses %s: every NNG link must be tls+tcp:// with "
	             "HD_TLS_CA_FILE, HD_TLS_CERT_FILE and HD_TLS_KEY_FILE (docs/operations.md, "
	             "Certificates)",
	    url);
	return NNG_EINVAL;
}

int hd_tls_listen(nng_socket sock, const char *url, const char *allowed, nng_listener *out)
{
	if (!hd_tls_url(url)) {
		int rv = tls_plain_allowed(url);
		if (rv != 0)
			return rv;
		hd_log_warn(
		    "tls: %s is a plain link: whoever reaches it is trusted as a component "
		    "(development only; docs/architecture.md, Trust between the components)",
		    url);
		return nng_listen(sock, url, out, 0);
	}
	nng_listener l;
	nng_tls_config *cfg = NULL;
	int rv = nng_listener_create(&l, sock, url);
	if (rv != 0)
		return rv;
	if ((rv = tls_config_make(&cfg, NNG_TLS_MODE_SERVER, allowed)) != 0
	    || (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg)) != 0
	    || (rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
	} else if (out != NULL) {
		*out = l;
	}
	if (cfg != NULL)
		nng_tls_config_free(cfg); /* the listener holds its own reference */
	return rv;
}

int hd_tls_dial(nng_socket sock, const char *url, const char *peer, nng_dialer *out)
{
	if (!hd_tls_url(url)) {
		int rv = tls_plain_allowed(url);
		return rv != 0 ? rv : nng_dial(sock, url, out, NNG_FLAG_NONBLOCK);
	}
	nng_dialer d;
	nng_tls_config *cfg = NULL;
	int rv = nng_dialer_create(&d, sock, url);
	if (rv != 0)
		return rv;
	if ((rv = tls_config_make(&cfg, NNG_TLS_MODE_CLIENT, peer)) != 0
	    || (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0
	    || (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0) {
		nng_dialer_close(d);
	} else if (out != NULL) {
		*out = d;
	}
	if (cfg != NULL)
		nng_tls_config_free(cfg); /* the dialer holds its own reference */
	return rv;
}
