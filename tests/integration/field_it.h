/* Helpers for the hd-field integration programs: hd-auth and hd-ticket run
 * as its peers (the user check, the ticket check), users exist for real in
 * auth.users, and rows are seeded or inspected as the superuser (row-level
 * security forced on the owner too). Include once per program, after
 * nothing else of tests/integration (it includes ticket_it.h). */
#ifndef HD_TEST_FIELD_IT_H
#define HD_TEST_FIELD_IT_H
#include <math.h>
#include "ticket_it.h"

static struct {
	daemon_child auth, ticket;
	char ticket_url[64];
	hd_rpc_client *ticket_client;
	char super_url[512];
} FIT;

/* The superuser URL: HD_TEST_DATABASE_SUPER_URL, or the admin URL with
 * postgres for hd_owner. */
static inline const char *fit_super_url(void)
{
	if (FIT.super_url[0] != '\0')
		return FIT.super_url;
	const char *super = getenv("HD_TEST_DATABASE_SUPER_URL");
	const char *admin = it_env("HD_TEST_DATABASE_ADMIN_URL");
	const char *at = strstr(admin, "hd_owner");
	if (super != NULL && super[0] != '\0')
		snprintf(FIT.super_url, sizeof FIT.super_url, "%s", super);
	else if (at != NULL)
		snprintf(FIT.super_url, sizeof FIT.super_url, "%.*spostgres%s", (int)(at - admin),
		    admin, at + strlen("hd_owner"));
	else
		fail_msg("no superuser URL");
	return FIT.super_url;
}

/* Runs sql as the superuser (at most two parameters); the first value of
 * the first row as a number, -1 when none. */
static inline long fit_sql(const char *sql, const char *p1, const char *p2)
{
	return it_count_at(fit_super_url(), sql, p1, p2);
}

/* Makes w a real user of role in tenant (a new tenant when NULL) in auth. */
static inline void fit_user(it_who *w, const char *tenant, const char *role)
{
	it_who_make(w, tenant, role);
	if (tenant == NULL)
		fit_sql("INSERT INTO auth.tenants (id, slug, name) VALUES ($1::uuid,"
		        " 't' || replace($1::text, '-', ''), 'field test')",
		    w->tenant, NULL);
	char who[128];
	snprintf(who, sizeof who, "%.36s,%.32s", w->tenant, role);
	fit_sql(
	    "INSERT INTO auth.users (tenant_id, id, email, name, role, password_hash)"
	    " VALUES (split_part($2, ',', 1)::uuid, $1::uuid, $1 || '@field.test', 'field test',"
	    " split_part($2, ',', 2), 'x')",
	    w->user, who);
}

/* Starts hd-auth and hd-ticket, then hd-field (ready: technicians.list as
 * ready_as, an admin; its first calls to hd-auth wait for that link,
 * hd/peer.h). */
static inline int fit_start(const it_who *ready_as)
{
	setenv("HD_JWT_SECRET", "field-integration-secret-of-32-bytes!", 1);
	setenv("HD_REDIS_URL", it_env("HD_TEST_REDIS_URL"), 1);
	setenv("HD_WORKERS", "2", 1);
	assert_true(daemon_child_port_env("HD_BUS_PUB_URL", "tcp://127.0.0.1:%d", NULL, 0) > 0);
	it_child_start(&FIT.auth, "auth", NULL);
	it_child_start(&FIT.ticket, "ticket", FIT.ticket_url);
	assert_int_equal(hd_rpc_client_open(&FIT.ticket_client, FIT.ticket_url), HD_OK);
	return it_daemon_start_as("field", "technicians.list", ready_as);
}

static inline void fit_child_stop(daemon_child *c)
{
	int st = daemon_child_stop(c, SIGTERM);
	if (!daemon_child_log_clean(c))
		fail_msg("sanitizer report in %s", c->log);
	if (st != -1 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fail_msg("%s exited badly (status %d)", c->bin, st);
	daemon_child_log_remove(c);
}

static inline int fit_stop(void **state)
{
	it_daemon_stop(state);
	hd_rpc_client_close(FIT.ticket_client);
	fit_child_stop(&FIT.ticket);
	fit_child_stop(&FIT.auth);
	return 0;
}

/* Creates a ticket as w at hd-ticket (waiting for it to be up); copies its id. */
static inline void fit_ticket(const it_who *w, char id[37])
{
	hd_rpc_client *field = IT.client;
	IT.client = FIT.ticket_client;
	for (int i = 0; i < 250 && !hd_rpc_client_connected(IT.client); i++)
		usleep(20000);
	it_ticket(w, "{\"subject\":\"boiler\"}", id);
	IT.client = field;
}

/* Creates a technician of user tech as admin with body fields extra (JSON
 * members, may be "") at lat, lon; copies its id. */
static inline void fit_technician(
    const it_who *admin, const it_who *tech, double lat, double lon, const char *extra, char id[37])
{
	char body[2048];
	snprintf(body, sizeof body,
	    "{\"user_id\":\"%s\",\"location\":{\"lat\":%.6f,\"lon\":%.6f}%s%s}", tech->user, lat,
	    lon, extra[0] != '\0' ? "," : "", extra);
	daemon_reply r = it_call("technicians.create", admin, NULL, NULL, body);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* Creates a work order as w at lat, lon in window [start, end) with extra
 * members (may be ""); copies its id. */
static inline void fit_work_order(const it_who *w, double lat, double lon, const char *start,
    const char *end, const char *extra, char id[37])
{
	char body[2048];
	snprintf(body, sizeof body,
	    "{\"title\":\"fix it\",\"location\":{\"lat\":%.6f,\"lon\":%.6f},"
	    "\"window\":{\"start\":\"%s\",\"end\":\"%s\"}%s%s}",
	    lat, lon, start, end, extra[0] != '\0' ? "," : "", extra);
	daemon_reply r = it_call("work_orders.create", w, NULL, NULL, body);
	it_expect_status(&r, 201);
	strcpy(id, it_str(r.json, "id"));
	daemon_reply_free(&r);
}

/* Great-circle distance in km on the mean sphere (what distance_km is). */
static inline double fit_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0088, rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2)
	    + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * r * asin(sqrt(a));
}

#endif
