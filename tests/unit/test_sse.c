/* gateway/sse_pos.c and gateway/sse_filter.c: stream positions (the SSE
 * ids of GET /v1/stream) round trip and refuse everything the gateway does
 * not write; who may read an event (tenant, staff, admins only, the
 * requester of a ticket, public comments only, the technician of a work
 * order). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "route.h"
#include "sse_filter.h"
#include "sse_pos.h"

#define TENANT "01a24f8a-4ad3-7c07-95da-c33e2fbf443f"
#define OTHER "01a24f8a-4ad3-7c07-95da-c33e2fbf4440"
#define CUSTOMER "01a24f8a-4ad3-7c07-95da-c33e2fe3d0ef"
#define TECH "01a24f8a-4ad3-7c07-95da-c33e2fe3d0aa"

static bool decodes(const char *s, gw_sse_pos *p)
{
	return gw_sse_pos_decode(s, strlen(s), p);
}

static void test_pos_round_trip(void **state)
{
	(void)state;
	gw_sse_pos p = { { 0 } }, q;
	char out[GW_SSE_POS_MAX];
	assert_int_equal(GW_SSE_SRC__COUNT, 3);
	assert_int_equal(gw_sse_pos_encode(&p, out), strlen("1.0.0.0"));
	assert_string_equal(out, "1.0.0.0");
	p.seq[0] = 42;
	p.seq[1] = GW_SSE_SEQ_UNKNOWN;
	p.seq[2] = GW_SSE_SEQ_MAX;
	gw_sse_pos_encode(&p, out);
	assert_string_equal(out, "1.42.-.9007199254740992");
	assert_true(decodes(out, &q));
	assert_memory_equal(&p, &q, sizeof(p));
	assert_true(decodes("1.-.-.-", &q));
	assert_int_equal(q.seq[0], GW_SSE_SEQ_UNKNOWN);
}

static void test_pos_refused(void **state)
{
	(void)state;
	static const char *const bad[]
	    = { "", "1", "1.", "2.1.2.3", "1.1.2", "1.1.2.3.4", "1.01.2.3", "1.1.2.3.", "1..2.3",
		      "1.1.2.+3", "1.1.2. 3", "1.1.2.3 ", "1.-1.2.3", "1.9007199254740993.0.0",
		      "1.99999999999999999.0.0", "1.1.2.3x", "x.1.2.3", "1.1.2.--", "1.1,2.3" };
	gw_sse_pos p = { { 7, 7, 7 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(decodes(bad[i], &p));
		assert_int_equal(p.seq[0], 7); /* untouched */
	}
	/* the length counts, not a NUL: a prefix of a good id is not one */
	assert_false(gw_sse_pos_decode("1.1.2.3", 6, &p));
	assert_true(gw_sse_pos_decode("1.1.2.3", 7, &p));
	assert_false(gw_sse_pos_decode(NULL, 0, &p));
}

static cJSON *parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

/* Who of admin, agent, the customer, another customer, the technician and
 * a reader of another tenant sees an event, as a bit string "aAcCtO". */
static void seen_by(const char *type, const char *data, const char *expect)
{
	cJSON *d = parse(data);
	gw_sse_audience a;
	char got[7];
	assert_true(gw_sse_audience_of(type, TENANT, d, &a));
	got[0] = gw_sse_visible(&a, TENANT, OTHER, GW_ROLE_ADMIN) ? 'a' : '-';
	got[1] = gw_sse_visible(&a, TENANT, OTHER, GW_ROLE_AGENT) ? 'A' : '-';
	got[2] = gw_sse_visible(&a, TENANT, CUSTOMER, GW_ROLE_CUSTOMER) ? 'c' : '-';
	got[3] = gw_sse_visible(&a, TENANT, OTHER, GW_ROLE_CUSTOMER) ? 'C' : '-';
	got[4] = gw_sse_visible(&a, TENANT, TECH, GW_ROLE_TECHNICIAN) ? 't' : '-';
	got[5] = gw_sse_visible(&a, OTHER, CUSTOMER, GW_ROLE_ADMIN) ? 'O' : '-';
	got[6] = '\0';
	assert_string_equal(got, expect);
	cJSON_Delete(d);
}

static void test_filter(void **state)
{
	(void)state;
	seen_by("ticket.created", "{\"requester_id\":\"" CUSTOMER "\"}", "aAc---");
	seen_by("ticket.updated", "{\"ticket\":{\"requester_id\":\"" CUSTOMER "\"},\"changes\":{}}",
	    "aAc---");
	seen_by("ticket.merged", "{\"ticket\":{\"requester_id\":\"" CUSTOMER "\"}}", "aAc---");
	seen_by("ticket.deleted", "{\"id\":\"x\",\"requester_id\":\"" CUSTOMER "\"}", "aAc---");
	seen_by("comment.added", "{\"public\":true,\"requester_id\":\"" CUSTOMER "\"}", "aAc---");
	/* internal notes never reach a customer, even their own ticket's */
	seen_by("comment.added", "{\"public\":false,\"requester_id\":\"" CUSTOMER "\"}", "aA----");
	seen_by(
	    "comment.added", "{\"public\":\"true\",\"requester_id\":\"" CUSTOMER "\"}", "aA----");
	seen_by("sla.breached", "{\"ticket_id\":\"" CUSTOMER "\"}", "aA----");
	seen_by("automation.webhook", "{\"url\":\"https://x\"}", "a-----");
	seen_by("workorder.created", "{\"work_order\":{\"technician_id\":\"" TECH "\"}}", "aA--t-");
	seen_by("workorder.dispatched",
	    "{\"work_order\":{\"technician_id\":null},\"technician_id\":\"" TECH "\"}", "aA--t-");
	seen_by("workorder.cancelled", "{\"work_order\":{\"technician_id\":null}}", "aA----");
	seen_by("article.published", "{\"id\":\"x\"}", "aA----");
	/* a requester id that is no UUID names nobody */
	seen_by("ticket.created", "{\"requester_id\":\"" CUSTOMER "x\"}", "aA----");
	/* a technician never sees tickets, even as the requester */
	cJSON *d = parse("{\"requester_id\":\"" TECH "\"}");
	gw_sse_audience a;
	assert_true(gw_sse_audience_of("ticket.created", TENANT, d, &a));
	assert_false(gw_sse_visible(&a, TENANT, TECH, GW_ROLE_TECHNICIAN));
	assert_false(gw_sse_audience_of("ticket.created", "not-a-uuid", d, &a));
	assert_false(gw_sse_visible(&a, TENANT, TECH, GW_ROLE_ADMIN));
	assert_false(gw_sse_audience_of(NULL, TENANT, d, &a));
	cJSON_Delete(d);
	d = parse("[]");
	assert_false(gw_sse_audience_of("ticket.created", TENANT, d, &a));
	cJSON_Delete(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pos_round_trip),
		cmocka_unit_test(test_pos_refused),
		cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
