/* GET /v1/openapi.yaml: the contract this gateway serves (docs/openapi.yaml,
 * compiled in by gateway/Makefile), with a strong ETag so that clients and
 * caches revalidate it for nothing. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "etag.h"
#include "gateway.h"

extern const char gw_openapi_doc[]; /* generated: gateway/Makefile */

static char etag[24]; /* "\"<16 hex>\"", from the text, at start-up */
static size_t doc_len;

void gw_openapi_init(void)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
	doc_len = strlen(gw_openapi_doc);
	for (size_t i = 0; i < doc_len; i++)
		h = (h ^ (unsigned char)gw_openapi_doc[i]) * 1099511628211ULL;
	snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)h);
}

void gw_openapi_answer(gw_req *gr)
{
	const char *if_none_match = gw_req_header(gr, "If-None-Match");
	gw_reply_header(gr, "ETag", etag);
	gw_reply_header(gr, "Cache-Control", "public, max-age=300");
	if (if_none_match != NULL && gw_etag_none_match(if_none_match, etag)) {
		gw_reply_send(gr, 304, NULL, NULL, 0);
		return;
	}
	gw_reply_send(gr, 200, "application/yaml", gw_openapi_doc, doc_len);
}
