/* Values and field readers only the ticket daemon has; what every daemon
 * shares (caller, request decoding, replies, pages) is in libs (hd/caller.h,
 * hd/request.h, hd/reply.h, hd/page.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/log.h"
#include "hd/uuid.h"
#include "ticket.h"

const char *const tk_priorities[] = { "low", "normal", "high", "urgent", NULL };
const char *const tk_statuses[] = { "new", "open", "pending", "on_hold", "solved", "closed", NULL };

const char *const tk_page_params[] = { "limit", "cursor", NULL };

bool tk_uuid_read(
    const cJSON *body, const char *key, const char **out, bool *is_null, hd_field_errors *errs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	if (v == NULL)
		return false;
	if (cJSON_IsNull(v)) {
		if (is_null != NULL)
			*is_null = true;
		else
			hd_field_errors_add(errs, key, "must be a UUID");
		return false;
	}
	if (!cJSON_IsString(v) || !hd_uuid_valid(v->valuestring)) {
		hd_field_errors_add(errs, key, "must be a UUID");
		return false;
	}
	*out = v->valuestring;
	return true;
}

const hd_idem_table tk_idem_table = HD_IDEM_TABLE("ticket");

void tk_idem_child_created_cb(hd_err err, const hd_db_result *res, void *arg)
{
	hd_rpc_request *req = arg;
	int stmt;
	if (!hd_idem_result(req, err, res, &stmt))
		return;
	const char *json = hd_db_result_value(res, stmt, 0, 0);
	if (json == NULL) {
		hd_reply_not_found(req, "ticket");
		return;
	}
	hd_idem_reply(req, 201, json, NULL, NULL);
	tk_relay_wake();
}
