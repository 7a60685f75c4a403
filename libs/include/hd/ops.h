/* A daemon's operations, from proto/operations.def (the single list): each
 * line HD_OP(service, name, idempotent, handler) becomes, in the daemon of
 * that service only, a declaration of its handler and an entry of its
 * dispatch table, so an operation whose handler is missing or misspelled
 * fails the build, and no other daemon's line reaches its table.
 *
 * A daemon names its service once, in the header its handlers share:
 *
 *     #define HD_OPS_ticket HD_OPS_MINE
 *     #define HD_OP HD_OP_DECLARE
 *     #include "operations.def"
 *     #undef HD_OP
 *
 * and builds its table in main.c:
 *
 *     static const hd_daemon_op tk_ops[] = {
 *     #define HD_OP HD_OP_ENTRY
 *     #include "operations.def"
 *     #undef HD_OP
 *             { NULL, NULL },
 *     };
 *
 * The selection is the preprocessor's: HD_OPS_<service> expands to two
 * tokens (HD_OPS_MINE) only for the daemon's own service, and
 * HD_OPS_IF_MINE keeps its arguments only then. */
#ifndef HD_OPS_H
#define HD_OPS_H
#include "hd/daemon.h"

#define HD_OPS_MINE ~, 1

#define HD_OPS_SECOND_(a, b, ...) b
#define HD_OPS_PROBE_(...) HD_OPS_SECOND_(__VA_ARGS__, 0, ~)
#define HD_OPS_CAT_(a, b) a##b
#define HD_OPS_CAT(a, b) HD_OPS_CAT_(a, b)
#define HD_OPS_KEEP_1(...) __VA_ARGS__
#define HD_OPS_KEEP_0(...)

/* 1 when the including daemon defined HD_OPS_<service> as HD_OPS_MINE, else 0. */
#define HD_OPS_IS_MINE(service) HD_OPS_PROBE_(HD_OPS_##service)
/* The remaining arguments when service is the daemon's own, else nothing. */
#define HD_OPS_IF_MINE(service, ...) HD_OPS_CAT(HD_OPS_KEEP_, HD_OPS_IS_MINE(service))(__VA_ARGS__)

/* operations.def line -> the handler's declaration / the table entry. */
#define HD_OP_DECLARE(service, name, idempotent, handler)                                          \
	HD_OPS_IF_MINE(service, void handler(hd_rpc_request *req, hd_daemon_worker *dw);)
#define HD_OP_ENTRY(service, name, idempotent, handler) HD_OPS_IF_MINE(service, { name, handler }, )

#endif
