/* proto/events.def against the code: each type is "<resource>.<verb>" and
 * listed once; hd/events.h's names and constants match it; and every event
 * type the services write (a '<resource>.<verb>' literal in
 * services/<svc>/sql files or in the SQL text of services/<svc>/ C files, for a
 * resource that has events) is listed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <regex.h>
#include <stdbool.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "hd/events.h"
#include "source_scan.h"

static const struct {
	const char *resource, *verb, *name;
} def[] = {
#define HD_EVENT(resource, verb, name, fields, description) { #resource, #verb, name },
#include "events.def"
#undef HD_EVENT
};
#define NDEF (sizeof(def) / sizeof(def[0]))

/* Quoted names under an event resource that are not event types. */
static const char *const not_events[] = {
	"ticket.outbox_claim", /* an advisory lock key (sql/005_outbox_order.sql) */
	"sla.breaches", /* an analytics metric (services/analytics) */
};

static void test_def_well_formed(void **state)
{
	(void)state;
	assert_int_equal(NDEF, HD_EVENT__COUNT);
	for (size_t i = 0; i < NDEF; i++) {
		char want[128];
		snprintf(want, sizeof want, "%s.%s", def[i].resource, def[i].verb);
		assert_string_equal(def[i].name, want);
		assert_true(strlen(def[i].name) <= 64); /* a bus topic's bound */
		assert_string_equal(hd_event_name((hd_event_type)i), def[i].name);
		assert_string_equal(hd_event_names[i], def[i].name);
		assert_true(hd_event_known(def[i].name));
		for (size_t j = i + 1; j < NDEF; j++)
			assert_string_not_equal(def[i].name, def[j].name);
	}
	assert_null(hd_event_names[HD_EVENT__COUNT]);
	assert_null(hd_event_name(HD_EVENT__COUNT));
	assert_false(hd_event_known("ticket.exploded"));
	assert_false(hd_event_known(NULL));
	assert_string_equal(HD_EVENT_NAME(ticket, created), "ticket.created");
	assert_string_equal(HD_EVENT_NAME(sla, breached), "sla.breached");
	assert_string_equal(HD_EVENT_TOPIC(ticket), "ticket.");
}

static bool is_resource(const char *s, size_t len)
{
	for (size_t i = 0; i < NDEF; i++)
		if (strlen(def[i].resource) == len && strncmp(def[i].resource, s, len) == 0)
			return true;
	return false;
}

typedef struct scan {
	regex_t re;
	int seen; /* event type literals found */
} scan;

static void scan_file(const char *svc, const char *path, const char *text, void *arg)
{
	scan *s = arg;
	regmatch_t m[3];
	const char *at = text;
	(void)svc;
	while (regexec(&s->re, at, 3, m, 0) == 0) {
		char name[128];
		snprintf(
		    name, sizeof name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), at + m[1].rm_so);
		bool skip = !is_resource(at + m[2].rm_so, (size_t)(m[2].rm_eo - m[2].rm_so));
		for (size_t i = 0; i < sizeof not_events / sizeof not_events[0]; i++)
			skip = skip || strcmp(name, not_events[i]) == 0;
		if (!skip) {
			if (!hd_event_known(name))
				fail_msg(
				    "%s: event type '%s' is not in proto/events.def", path, name);
			s->seen++;
		}
		at += m[0].rm_eo;
	}
}

static void test_written_types_are_listed(void **state)
{
	(void)state;
	static scan s;
	memset(&s, 0, sizeof s);
	assert_int_equal(regcomp(&s.re, "'(([a-z_]+)\\.[a-z_]+)'", REG_EXTENDED), 0);
	assert_true(source_scan("sql", ".sql", scan_file, &s) > 0);
	assert_true(source_scan("", ".c", scan_file, &s) > 0);
	assert_true(s.seen >= 10); /* the scan does find the ticket service's types */
	regfree(&s.re);
}

/* Checks payload text against type; returns the verdict, why in why. */
static bool payload_ok(const char *type, const char *json, char why[160])
{
	cJSON *data = cJSON_Parse(json);
	bool ok = hd_event_payload_check(type, data, why, 160);
	cJSON_Delete(data);
	return ok;
}

static void test_payload_fields(void **state)
{
	(void)state;
	char why[160];
	for (int i = 0; i < HD_EVENT__COUNT; i++) {
		const char *f = hd_event_fields((hd_event_type)i);
		assert_non_null(f);
		assert_true(f[0] != '\0' && f[strlen(f) - 1] != ',' && strstr(f, ",,") == NULL
		    && strchr(f, ' ') == NULL);
	}
	assert_null(hd_event_fields(HD_EVENT__COUNT));
	assert_true(payload_ok(
	    "sla.breached", "{\"ticket_id\":\"x\",\"target\":\"resolution\",\"due\":null}", why));
	assert_true(payload_ok("ticket.deleted", "{\"id\":\"x\",\"requester_id\":\"y\"}", why));
	assert_false(payload_ok("ticket.deleted", "{\"id\":\"x\"}", why));
	/* a member missing, one too many, one renamed, a prefix of a member */
	assert_false(payload_ok("sla.breached", "{\"ticket_id\":1,\"target\":2}", why));
	assert_non_null(strstr(why, "due"));
	assert_false(
	    payload_ok("ticket.deleted", "{\"id\":1,\"requester_id\":1,\"extra\":2}", why));
	assert_non_null(strstr(why, "extra"));
	assert_false(payload_ok("ticket.deleted", "{\"ids\":1}", why));
	assert_false(payload_ok("sla.breached", "{\"ticket\":1,\"target\":2,\"due\":3}", why));
	/* duplicates do not stand for a missing member */
	assert_false(
	    payload_ok("sla.breached", "{\"ticket_id\":1,\"target\":2,\"target\":3}", why));
	assert_false(payload_ok("ticket.deleted", "[1]", why));
	assert_false(payload_ok("ticket.exploded", "{\"id\":1}", why));
	assert_false(payload_ok(NULL, "{\"id\":1}", why));
	/* "first_response?": a member the payload may leave out, never another */
	const char *comment = "{\"id\":1,\"ticket_id\":2,\"author_id\":3,\"body\":4,"
	                      "\"public\":true,\"created_at\":5,\"requester_id\":6";
	char json[256];
	snprintf(json, sizeof json, "%s}", comment);
	assert_true(payload_ok("comment.added", json, why));
	snprintf(json, sizeof json, "%s,\"first_response\":true}", comment);
	assert_true(payload_ok("comment.added", json, why));
	snprintf(json, sizeof json, "%s,\"first_response?\":true}", comment);
	assert_false(payload_ok("comment.added", json, why));
	snprintf(json, sizeof json, "%s,\"first\":true}", comment);
	assert_false(payload_ok("comment.added", json, why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_def_well_formed),
		cmocka_unit_test(test_written_types_are_listed),
		cmocka_unit_test(test_payload_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
