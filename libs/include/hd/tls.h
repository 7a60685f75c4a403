/* Mutual TLS on every NNG link (docs/architecture.md, "Trust between the
 * components"; docs/operations.md, "Certificates"). A tls+tcp:// address gets
 * this process's certificate (HD_TLS_CERT_FILE, HD_TLS_KEY_FILE) and the
 * internal CA (HD_TLS_CA_FILE); both ends must present a certificate of that
 * CA, and the handshake also checks which component the peer's certificate
 * names (its DNS subject alternative names, else its CN): a listener accepts
 * only the names it is given, a dialer only the one peer it expects. A peer
 * refused there never gets an NNG pipe, so nothing it sends reaches a socket.
 * Plain tcp:// (and ipc://, inproc://) stays possible only when HD_ENV is not
 * production. The handshake runs once per pipe: requests on an open pipe cost
 * only the record encryption.
 * Thread-safe; the certificate files are read once, at the first TLS use. */
#ifndef HD_TLS_H
#define HD_TLS_H
#include <stdbool.h>
#include <stddef.h>
#include <nng/nng.h>

/* True when url is a tls+tcp:// address. */
bool hd_tls_url(const char *url);
/* True when the comma-separated list allowed (spaces around entries ignored)
 * holds name (len bytes, no NUL needed), compared as DNS names are: ASCII
 * case-insensitively. An empty or NULL list allows nothing. */
bool hd_tls_name_allowed(const char *allowed, const char *name, size_t len);
/* Listens on url with sock (as nng_listen); on a tls+tcp:// url only peers
 * whose certificate names one of allowed (comma-separated) get through; a
 * plain url is logged as such (a warning).
 * Returns 0 or an NNG error (NNG_EINVAL, logged, for a plain url under
 * HD_ENV=production or unreadable certificate files). out may be NULL. */
int hd_tls_listen(nng_socket sock, const char *url, const char *allowed, nng_listener *out);
/* Dials url with sock without blocking (as nng_dial with NNG_FLAG_NONBLOCK);
 * on a tls+tcp:// url the peer's certificate must name peer (NULL: any
 * certificate of the CA). Errors as hd_tls_listen. out may be NULL. */
int hd_tls_dial(nng_socket sock, const char *url, const char *peer, nng_dialer *out);
/* The names allowed to call a daemon's RPC socket: HD_TLS_RPC_PEERS. */
const char *hd_tls_rpc_peers(void);
/* The names allowed to publish to and subscribe from the bus:
 * HD_TLS_BUS_PEERS, else every component of daemons.def (hd-<name>). */
const char *hd_tls_bus_peers(void);

#endif
