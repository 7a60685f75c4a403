/* Internal to libs: the client's message-level call, for the batcher
 * (rpc_batch.c). It writes the request straight into the NNG message (a
 * batch framed in place) and hands back the reply message itself, so a
 * batch's reply is neither copied nor split into copies. */
#ifndef HD_RPC_CLIENT_INTERNAL_H
#define HD_RPC_CLIENT_INTERNAL_H
#include <stddef.h>
#include "hd/batch.h"
#include "hd/rpc.h"

/* Runs on an NNG thread (or in hd_rpc_client_close). On HD_OK, msg is the
 * reply, owned by the callee (hd__rpc_msg_free), and data/len its bytes
 * (valid until then); on an error msg and data are NULL. */
typedef void (*hd__rpc_msg_cb)(hd_err err, void *msg, const char *data, size_t len, void *arg);

/* hd_rpc_client_call's contract, for n (1..HD_BATCH_MAX) parts: n == 1 and
 * !batch sends parts[0] as it is, else the parts framed as one batch. The
 * parts are copied once, into the NNG message. */
hd_err hd__rpc_client_call_parts(hd_rpc_client *c, const hd_batch_part *parts, size_t n, bool batch,
    int timeout_ms, hd__rpc_msg_cb cb, void *arg);
void hd__rpc_msg_free(void *msg);

#endif
