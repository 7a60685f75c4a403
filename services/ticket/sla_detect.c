/* The SLA breach detector's timer, on worker 0 next to libs' outbox relay
 * (hd/outbox.h): every 5 s it runs ticket.sla_detect, which sets
 * sla_breached and queues one sla.breached event per missed target; when it
 * queued any, the relay is woken to publish them. */
#include <event2/event.h>
#include <string.h>
#include "hd/log.h"
#include "hd/outbox.h"
#include "ticket.h"

#define TK_SLA_EVERY_MS 5000

static const char sql_sla_detect[] = "SELECT ticket.sla_detect(1000)";

/* Worker 0's thread only. */
static struct {
	hd_daemon_worker *dw;
	struct event *timer;
} tk_sla;

static void tk_sla_cb(hd_err err, const hd_db_result *res, void *arg)
{
	const char *n = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	(void)arg;
	if (err != HD_OK)
		hd_log_warn("SLA detector failed: %s", hd_strerror(err));
	else if (n != NULL && strcmp(n, "0") != 0)
		hd_outbox_wake();
}

static void tk_sla_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_db_stmt st = { sql_sla_detect, 0, NULL };
	(void)fd;
	(void)what;
	(void)arg;
	if (tk_sla.dw == NULL || hd_db_run(tk_sla.dw->db, NULL, &st, 1, tk_sla_cb, NULL) != HD_OK)
		hd_log_warn("SLA detector could not run");
}

hd_err tk_sla_detector_start(hd_daemon_worker *dw)
{
	struct timeval tv = { TK_SLA_EVERY_MS / 1000, (TK_SLA_EVERY_MS % 1000) * 1000 };
	tk_sla.dw = dw;
	tk_sla.timer = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, tk_sla_tick_cb, NULL);
	if (tk_sla.timer == NULL || event_add(tk_sla.timer, &tv) != 0) {
		tk_sla_detector_stop();
		hd_log_error("SLA detector: timer setup failed");
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

void tk_sla_detector_stop(void)
{
	if (tk_sla.timer != NULL)
		event_free(tk_sla.timer);
	tk_sla.timer = NULL;
	tk_sla.dw = NULL;
}
