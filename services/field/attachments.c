/* A work order's files (docs/architecture.md, "Attachments"): hd-ticket
 * owns the uploads; before a work order records attachment ids (its create,
 * a PATCH, the sign-off's signature image) it claims them there with
 * attachments.claim, as the request's caller, so that only the caller's own
 * unattached uploads of the tenant (or the work order's own, on a retry)
 * are taken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/json.h"
#include "hd/peer.h"
#include "field.h"

hd_err fs_attachments_claim(hd_rpc_request *req, const char *work_order_id, const cJSON *ids,
    bool images_only, hd_peer_cb cb, void *arg)
{
	cJSON *body = cJSON_CreateObject();
	char *text = NULL;
	hd_err err = HD_ERR_NOMEM;
	if (body != NULL && cJSON_AddStringToObject(body, "work_order_id", work_order_id) != NULL
	    && cJSON_AddItemToObject(body, "attachment_ids", cJSON_Duplicate(ids, true))
	    && cJSON_AddBoolToObject(body, "images_only", images_only) != NULL
	    && (text = hd_json_print(body, NULL)) != NULL)
		err = hd_peer_call(
		    fs_ticket_client(), req, "attachments.claim", NULL, text, 0, cb, arg);
	free(text);
	cJSON_Delete(body);
	return err;
}

bool fs_attachments_claimed(hd_rpc_request *req, hd_err err, int status, const char *field)
{
	if (err != HD_OK || status >= 500) {
		fs_reply_peer_down(req, "hd-ticket");
		return false;
	}
	if (status != 200) {
		hd_reply_invalid_field(req, field,
		    strcmp(field, "signature_attachment_id") == 0
		        ? "must be one of your unattached image uploads"
		        : "each must be one of your unattached uploads");
		return false;
	}
	return true;
}
