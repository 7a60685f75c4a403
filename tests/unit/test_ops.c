/* proto/operations.def against the daemons: the list is well formed; the
 * tables hd/ops.h generates hold exactly each service's lines, in order,
 * with their handlers; and every operation handler a service defines
 * (`void name(hd_rpc_request *req, hd_daemon_worker *dw)` in
 * services/<svc>/ C files) is listed for that service, so none is unreachable.
 * That each running daemon answers exactly its operations:
 * tests/e2e/test_ops.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <regex.h>
#include <stdbool.h>
#include <string.h>
#include "hd/ops.h"
#include "source_scan.h"

static const struct {
	const char *service, *name, *handler;
} def[] = {
#define HD_OP(service, name, idempotent, handler) { #service, name, #handler },
#include "operations.def"
#undef HD_OP
};
#define NDEF (sizeof(def) / sizeof(def[0]))

/* A stub for every handler, so the generated tables can be built here. */
#define HD_OP(service, name, idempotent, handler)                                                  \
	static void handler(hd_rpc_request *req, hd_daemon_worker *dw)                             \
	{                                                                                          \
		(void)req;                                                                         \
		(void)dw;                                                                          \
	}
#include "operations.def"
#undef HD_OP

static const struct {
	const char *name;
	void (*handle)(hd_rpc_request *req, hd_daemon_worker *dw);
} stubs[] = {
#define HD_OP(service, name, idempotent, handler) { name, handler },
#include "operations.def"
#undef HD_OP
};

/* The tables two daemons would build (as their main.c does). */
#define HD_OPS_auth HD_OPS_MINE
static const hd_daemon_op auth_table[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};
#undef HD_OPS_auth
#define HD_OPS_ticket HD_OPS_MINE
static const hd_daemon_op ticket_table[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};
#undef HD_OPS_ticket
/* A service with no line (hd-bus): an empty table. */
#define HD_OPS_bus HD_OPS_MINE
static const hd_daemon_op bus_table[] = {
#define HD_OP HD_OP_ENTRY
#include "operations.def"
#undef HD_OP
	{ NULL, NULL },
};
#undef HD_OPS_bus

static void test_def_well_formed(void **state)
{
	(void)state;
	regex_t re;
	assert_int_equal(
	    regcomp(&re, "^[a-z][a-z_]*\\.[a-z][a-z_]*$", REG_EXTENDED | REG_NOSUB), 0);
	assert_true(NDEF > 0);
	for (size_t i = 0; i < NDEF; i++) {
		if (regexec(&re, def[i].name, 0, NULL, 0) != 0)
			fail_msg("operation %s is not <resource>.<verb>", def[i].name);
		assert_true(strlen(def[i].name) < 64); /* the envelope's op bound */
		for (size_t j = i + 1; j < NDEF; j++) {
			if (strcmp(def[i].name, def[j].name) == 0)
				fail_msg("operation %s listed twice", def[i].name);
			if (strcmp(def[i].handler, def[j].handler) == 0)
				fail_msg("handler %s serves two operations", def[i].handler);
		}
	}
	regfree(&re);
}

static void check_table(const char *service, const hd_daemon_op *table)
{
	size_t k = 0;
	for (size_t i = 0; i < NDEF; i++) {
		if (strcmp(def[i].service, service) != 0)
			continue;
		if (table[k].name == NULL)
			fail_msg("%s: table ends before %s", service, def[i].name);
		assert_string_equal(table[k].name, def[i].name);
		assert_ptr_equal(table[k].handle, stubs[i].handle);
		k++;
	}
	if (table[k].name != NULL)
		fail_msg("%s: table has %s, not one of its lines", service, table[k].name);
}

static void test_tables_hold_exactly_their_lines(void **state)
{
	(void)state;
	check_table("auth", auth_table);
	check_table("ticket", ticket_table);
	assert_null(bus_table[0].name);
}

typedef struct scan {
	regex_t re;
	bool defined[NDEF]; /* found in its own service */
	int handlers; /* definitions seen */
	int mains; /* main.c files using the generated table */
} scan;

static size_t def_find_handler(const char *svc, const char *handler)
{
	for (size_t i = 0; i < NDEF; i++)
		if (strcmp(def[i].service, svc) == 0 && strcmp(def[i].handler, handler) == 0)
			return i;
	return NDEF;
}

static void scan_file(const char *svc, const char *path, const char *text, void *arg)
{
	scan *s = arg;
	regmatch_t m[2];
	const char *at = text;
	while (regexec(&s->re, at, 2, m, at == text ? 0 : REG_NOTBOL) == 0) {
		char name[128];
		size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);
		snprintf(name, sizeof name, "%.*s", (int)len, at + m[1].rm_so);
		size_t i = def_find_handler(svc, name);
		if (i == NDEF)
			fail_msg("%s: handler %s is not listed for %s in proto/operations.def",
			    path, name, svc);
		s->defined[i] = true;
		s->handlers++;
		at += m[0].rm_eo;
	}
	const char *base = strrchr(path, '/');
	if (base != NULL && strcmp(base, "/main.c") == 0 && strstr(text, "HD_OP_ENTRY") != NULL)
		s->mains++;
}

/* The services on daemons.def that serve operations (an NNG port, not the gateway). */
static size_t rpc_daemons(void)
{
	static const struct {
		const char *name;
		int nng;
	} daemons[] = {
#define HD_DAEMON(name, nng, admin, image, sql) { #name, nng },
#include "../../daemons.def"
#undef HD_DAEMON
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof daemons / sizeof daemons[0]; i++)
		n += daemons[i].nng != 0 && strcmp(daemons[i].name, "gateway") != 0;
	return n;
}

static void test_every_handler_is_listed(void **state)
{
	(void)state;
	static scan s;
	memset(&s, 0, sizeof s);
	assert_int_equal(regcomp(&s.re,
	                     "^void ([a-z_][a-z0-9_]*)\\(hd_rpc_request \\*[a-z_]+, "
	                     "hd_daemon_worker \\*[a-z_]+\\)[ \t]*\n",
	                     REG_EXTENDED | REG_NEWLINE),
	    0);
	assert_true(source_scan("", ".c", scan_file, &s) > 0);
	for (size_t i = 0; i < NDEF; i++)
		if (!s.defined[i])
			fail_msg("%s: handler %s not found in services/%s/*.c", def[i].name,
			    def[i].handler, def[i].service);
	assert_int_equal(s.handlers, (int)NDEF);
	assert_int_equal(s.mains, (int)rpc_daemons()); /* every daemon with an NNG server */
	regfree(&s.re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_def_well_formed),
		cmocka_unit_test(test_tables_hold_exactly_their_lines),
		cmocka_unit_test(test_every_handler_is_listed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
