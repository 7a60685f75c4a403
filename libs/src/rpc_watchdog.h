/* Internal to libs: the self-probe watchdog of an NNG listener (rpc_watchdog.c;
 * docs/architecture.md, "A peer's close must never read as closed"). */
#ifndef HD_RPC_WATCHDOG_H
#define HD_RPC_WATCHDOG_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <nng/nng.h>
#include "hd/err.h"

typedef struct hd_rpc_watchdog hd_rpc_watchdog;

/* Closes the stopped listener and listens again on the same address; returns
 * 0 or an NNG error. Runs on the watchdog's thread. */
typedef int (*hd_rpc_watchdog_relisten_fn)(void *arg);

/* Starts a thread that every HD_RPC_PROBE_MS dials probe_url (a fresh
 * connection of protocol open, e.g. nng_req0_open, with this process's
 * certificate on tls+tcp://) and waits HD_RPC_PROBE_TIMEOUT_MS for
 * *accepted (which the listener's owner counts up in an NNG_PIPE_EV_ADD_POST
 * callback of its socket; it must outlive the watchdog) to change;
 * after HD_RPC_PROBE_FAILURES failures in a row it calls relisten(arg) and
 * counts hd_rpc_listener_restarts_total. *out is NULL (and HD_OK) when
 * HD_RPC_PROBE_MS is 0. HD_ERR_INVALID for a bad setting. */
hd_err hd__rpc_watchdog_start(hd_rpc_watchdog **out, const char *probe_url,
    int (*open)(nng_socket *), const atomic_uint *accepted, hd_rpc_watchdog_relisten_fn relisten,
    void *arg);
/* Stops the thread (waits for a probe under way) and frees. NULL ok. */
void hd__rpc_watchdog_stop(hd_rpc_watchdog *w);
/* False while the last HD_RPC_PROBE_FAILURES probes failed and the listener
 * could not be made again. Any thread; NULL: true. */
bool hd__rpc_watchdog_listening(const hd_rpc_watchdog *w);
/* Writes into out the address a client of this host dials to reach a
 * listener on url whose bound TCP port is port (0: url's own): a wildcard
 * host (0.0.0.0, *, empty, [::]) becomes the loopback; ipc:// and inproc://
 * stay as they are. False when it does not fit in cap or url is not one. */
bool hd__rpc_watchdog_probe_url(const char *url, int port, char *out, size_t cap);
/* The same address with url's own host and the bound port: where the
 * listener is made again. False when it does not fit. */
bool hd__rpc_watchdog_bound_url(const char *url, int port, char *out, size_t cap);

/* A listener the watchdog can make again: its socket, where it listens
 * (with the TCP port it bound) and whom it lets in. */
typedef struct hd_rpc_listener {
	nng_socket sock;
	nng_listener listener; /* made again on the watchdog's thread */
	const char *allowed; /* hd_tls_listen's names; must outlive the listener */
	char url[256];
} hd_rpc_listener;

/* Listens on url with sock (hd_tls_listen, allowed) and keeps what it needs
 * to listen there again. Returns 0 or an NNG error. */
int hd__rpc_listener_open(
    hd_rpc_listener *l, nng_socket sock, const char *url, const char *allowed);
/* Starts a watchdog on l (hd__rpc_watchdog_start): probes with a fresh
 * socket of protocol open, proof in *accepted, remedy: close l's listener
 * (and the pipes it made) and listen again. Stop it before closing l. */
hd_err hd__rpc_listener_watch(hd_rpc_listener *l, hd_rpc_watchdog **out, int (*open)(nng_socket *),
    const atomic_uint *accepted);
/* Closes l's listener. */
void hd__rpc_listener_close(hd_rpc_listener *l);

#endif
