/* Who is calling: the tenant, user and role the gateway verified and put in
 * the envelope (docs/architecture.md, "Request path"). Every daemon reads the
 * caller here and checks roles with these bits, so that a missing identity is
 * 401 and a role that may not call a route is 403 with the same words
 * everywhere. Objects the caller may not see are the handler's 404. */
#ifndef HD_CALLER_H
#define HD_CALLER_H
#include <stdbool.h>
#include "hd/rpc.h"

/* XX(bit name, claim text): the roles a token may carry. */
#define HD_ROLE_MAP(XX)                                                                            \
	XX(ADMIN, "admin")                                                                         \
	XX(AGENT, "agent")                                                                         \
	XX(TECHNICIAN, "technician")                                                               \
	XX(CUSTOMER, "customer")                                                                   \
	XX(PLATFORM_ADMIN, "platform_admin")

enum {
#define HD__ROLE_INDEX(name, text) HD_ROLE_INDEX_##name,
	HD_ROLE_MAP(HD__ROLE_INDEX)
#undef HD__ROLE_INDEX
	    HD_ROLE__COUNT
};

/* Role bits, combined into sets with |. */
enum {
#define HD__ROLE_BIT(name, text) HD_ROLE_##name = 1u << HD_ROLE_INDEX_##name,
	HD_ROLE_MAP(HD__ROLE_BIT)
#undef HD__ROLE_BIT
};
#define HD_ROLES_STAFF (HD_ROLE_ADMIN | HD_ROLE_AGENT)
#define HD_ROLES_ADMINS (HD_ROLE_ADMIN | HD_ROLE_PLATFORM_ADMIN)
#define HD_ROLES_TENANT (HD_ROLE_ADMIN | HD_ROLE_AGENT | HD_ROLE_TECHNICIAN | HD_ROLE_CUSTOMER)
#define HD_ROLES_ANY ((1u << HD_ROLE__COUNT) - 1)

/* The verified caller; the strings point into the request's envelope. */
typedef struct hd_caller {
	const char *tenant_id;
	const char *user_id;
	const char *role; /* the claim as sent */
	unsigned role_bit; /* HD_ROLE_*, 0 for a role this build does not know */
} hd_caller;

/* The HD_ROLE_* bit of a role claim, 0 when unknown or NULL. */
unsigned hd_role_bit(const char *role);
/* The claim text of one role bit, NULL when not exactly one known bit. */
const char *hd_role_name(unsigned bit);

/* Fills c from req's envelope. Replies 401 "sign in first" and returns false
 * when the envelope carries no valid tenant and user (a call that did not
 * come through authentication). */
bool hd_caller_get(hd_rpc_request *req, hd_caller *c);
/* Reads the caller without replying: false when there is none (public routes). */
bool hd_caller_peek(hd_rpc_request *req, hd_caller *c);
/* True when the caller's role is in the set roles. */
bool hd_caller_is(const hd_caller *c, unsigned roles);
/* True when user_id is the caller's own id. */
bool hd_caller_is_self(const hd_caller *c, const char *user_id);
/* Replies 403 "your role may not do this" and returns false unless the
 * caller's role is in roles. */
bool hd_caller_require(hd_rpc_request *req, const hd_caller *c, unsigned roles);
/* Like hd_caller_require, but the caller acting on their own user_id passes
 * whatever their role ("self or an admin"). */
bool hd_caller_require_self_or(
    hd_rpc_request *req, const hd_caller *c, const char *user_id, unsigned roles);

#endif
