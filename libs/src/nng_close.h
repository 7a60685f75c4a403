/* Internal to libs: closing NNG sockets without hanging the process. */
#ifndef HD_NNG_CLOSE_H
#define HD_NNG_CLOSE_H
#include <stdbool.h>
#include <nng/nng.h>

/* Closes sock; true when the close finished within 2 s. nng_close can hang
 * in NNG 1.5.2 when pipes close under load (upstream #1543/#1813, fixed
 * after 1.5.2), and once one close hangs NNG's core is stuck, so every later
 * close would hang too: after the first abandoned close this returns false
 * at once and leaves the socket to the process exit. On false the caller
 * must not free anything NNG may still touch. */
bool hd_nng_close_bounded(nng_socket sock);
/* nng_close, unless a bounded close was abandoned before (NNG is stuck):
 * then false at once, the socket left to the process exit. */
bool hd_nng_close(nng_socket sock);
/* True once a bounded close was abandoned. */
bool hd_nng_wedged(void);

#endif
