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
	doc_len = strlen(gw_openapi_doc);
	gw_etag_make(gw_openapi_doc, doc_len, etag, sizeof etag);
}

void gw_openapi_answer(gw_req *gr)
{
	const char *if_none_match = gw_req_header(gr, "If-None-Match");
	gw_reply_header(gr, "ETag", etag);
	gw_reply_header(gr, "Cache-Control", "public, max-age=300");
	if (gw_etag_none_match(if_none_match, etag)) {
		gw_reply_send(gr, 304, NULL, NULL, 0);
		return;
	}
	gw_reply_send(gr, 200, "application/yaml", gw_openapi_doc, doc_len);
}
