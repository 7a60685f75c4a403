/* The caller: see hd/caller.h. */
#include <string.h>
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/reply.h"
#include "hd/uuid.h"

static const char *const hd_role_names[HD_ROLE__COUNT] = {
#define HD__ROLE_NAME(name, text) text,
	HD_ROLE_MAP(HD__ROLE_NAME)
#undef HD__ROLE_NAME
};

unsigned hd_role_bit(const char *role)
{
	if (role == NULL)
		return 0;
	for (unsigned i = 0; i < HD_ROLE__COUNT; i++)
		if (strcmp(role, hd_role_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *hd_role_name(unsigned bit)
{
	for (unsigned i = 0; i < HD_ROLE__COUNT; i++)
		if (bit == 1u << i)
			return hd_role_names[i];
	return NULL;
}

bool hd_caller_peek(hd_rpc_request *req, hd_caller *c)
{
	const hd_envelope *e = hd_rpc_request_envelope(req);
	if (!hd_uuid_valid(e->tenant_id) || !hd_uuid_valid(e->user_id))
		return false;
	*c = (hd_caller) { .tenant_id = e->tenant_id,
		.user_id = e->user_id,
		.role = e->role,
		.role_bit = hd_role_bit(e->role) };
	return true;
}

bool hd_caller_get(hd_rpc_request *req, hd_caller *c)
{
	if (hd_caller_peek(req, c))
		return true;
	hd_reply_problem(req, 401, HD_TEXT_SIGN_IN);
	return false;
}

bool hd_caller_is(const hd_caller *c, unsigned roles)
{
	return (c->role_bit & roles) != 0;
}

bool hd_caller_is_self(const hd_caller *c, const char *user_id)
{
	return user_id != NULL && strcmp(c->user_id, user_id) == 0;
}

bool hd_caller_require(hd_rpc_request *req, const hd_caller *c, unsigned roles)
{
	if (hd_caller_is(c, roles))
		return true;
	hd_reply_problem(req, 403, HD_TEXT_ROLE);
	return false;
}

bool hd_caller_require_self_or(
    hd_rpc_request *req, const hd_caller *c, const char *user_id, unsigned roles)
{
	return hd_caller_is_self(c, user_id) || hd_caller_require(req, c, roles);
}
