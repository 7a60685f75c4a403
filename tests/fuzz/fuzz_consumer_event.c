/* libFuzzer target for the event reader of consumers (libs/src/consumer.c,
 * hd_consumer_event_read): any JSON from the bus or a replay page, and the
 * bounds an accepted event must respect. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hd/consumer.h"
#include "hd/uuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	hd_consumer_event ev;
	if (root != NULL && hd_consumer_event_read(root, &ev)) {
		size_t type_len = strlen(ev.type);
		if (ev.seq < 1 || type_len == 0 || type_len > 64 || !hd_uuid_valid(ev.tenant_id)
		    || !hd_uuid_valid(ev.id) || (ev.actor != NULL && !hd_uuid_valid(ev.actor))
		    || !cJSON_IsObject(ev.data))
			abort();
	}
	cJSON_Delete(root);
	return 0;
}
