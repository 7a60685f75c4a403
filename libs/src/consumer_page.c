/* What every reader of a source's events in seq order shares (hd/consumer.h):
 * the daemons' consumers (consumer.c, positions in a table) and the
 * gateway's stream hub (gateway/sse_hub.c, a frontier in memory) place an
 * event against their position the same way, and page the events they
 * missed with the same call of the source's replay (or events.since)
 * operation and the same reading of its answer. */
#include <stdio.h>
#include <stdlib.h>
#include "hd/consumer.h"
#include "hd/envelope.h"
#include "hd/outbox.h"
#include "hd/rpc.h"

hd_consumer_seq hd_consumer_seq_place(int64_t position, int64_t seq)
{
	if (seq <= position)
		return HD_CONSUMER_SEQ_SEEN;
	return seq == position + 1 ? HD_CONSUMER_SEQ_NEXT : HD_CONSUMER_SEQ_GAP;
}

hd_err hd_consumer_replay_encode(const char *op, const char *request_id, const char *tenant,
    int64_t after_seq, int limit, int64_t deadline_ms, char **msg, size_t *len)
{
	char body[96];
	hd_envelope *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return HD_ERR_NOMEM;
	e->version = HD_ENVELOPE_VERSION;
	snprintf(e->op, sizeof(e->op), "%s", op);
	snprintf(e->request_id, sizeof(e->request_id), "%s", request_id);
	snprintf(e->role, sizeof(e->role), "%s", HD_OUTBOX_REPLAY_ROLE);
	snprintf(e->tenant_id, sizeof(e->tenant_id), "%s", tenant != NULL ? tenant : "");
	e->deadline_ms = deadline_ms;
	int n = snprintf(
	    body, sizeof(body), "{\"after_seq\":%lld,\"limit\":%d}", (long long)after_seq, limit);
	e->body = body;
	e->body_len = (size_t)n;
	hd_err err = hd_envelope_encode(e, msg, len);
	free(e);
	return err;
}

cJSON *hd_consumer_replay_page(hd_err err, const char *raw, size_t raw_len)
{
	hd_reply rep;
	cJSON *body = NULL;
	if (err == HD_OK && hd_reply_decode(raw, raw_len, &rep) == HD_OK && rep.status == 200)
		body = cJSON_ParseWithLength(rep.body, rep.body_len);
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(body, "items"))) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}
