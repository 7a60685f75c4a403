/* The NNG TLS engine of tls.c (tls_engine.c): mbed TLS with a check of the
 * peer certificate's name in the handshake. Internal to libs. */
#ifndef HD_TLS_ENGINE_H
#define HD_TLS_ENGINE_H
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

/* Allocates an NNG TLS configuration of this engine (registering it first
 * when needed); in NNG_TLS_MODE_SERVER, allowed (copied; NULL: any) is the
 * list of names a client certificate must carry one of. The caller owns *out
 * (nng_tls_config_free). Returns 0 or an NNG error. */
int hd__tls_engine_config_alloc(nng_tls_config **out, nng_tls_mode mode, const char *allowed);

#endif
