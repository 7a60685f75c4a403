/* The auto_triage automation action's worker (sql/021_auto_triage.sql;
 * docs/architecture.md, "Auto-triage"), on worker 0 next to the SLA
 * detector: every second it claims queued new tickets of any tenant
 * (ticket.auto_triage_claim), asks hd-knowledge's classifier for each
 * (kb.triage, as the system: role "daemon" with the ticket's tenant and no
 * user) and applies each predicted field whose confidence reaches the rule's
 * threshold through the PATCH statement (tk_update_sql) with If-Match 1 and
 * no actor: history entries and a ticket.updated event by the system, and
 * nothing when a person changed the ticket meanwhile. The queue row goes in
 * the same transaction; without an answer it stays for a later claim. */
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/envelope.h"
#include "hd/json.h"
#include "hd/log.h"
#include "hd/outbox.h"
#include "ticket.h"

#define TK_TRIAGE_EVERY_MS 1000
#define TK_TRIAGE_CALL_MS 3000 /* below the daemon's 5 s drain */

static const char sql_claim[] = "SELECT tenant_id, ticket_id, threshold, words"
                                " FROM ticket.auto_triage_claim(20)";
static const char sql_done[] = "DELETE FROM ticket.auto_triage_queue"
                               " WHERE tenant_id = $1 AND ticket_id = $2";

/* Worker 0's thread, except running (read by NNG's threads too). */
static struct {
	hd_daemon_worker *dw;
	struct event *timer;
	bool claiming;
	int asking; /* kb.triage calls in flight */
	atomic_bool running;
} tk_tri;

/* One claimed ticket, from the claim to the applied answer. */
typedef struct tk_triage_job {
	char tenant[37], ticket[37];
	double threshold;
	hd_err err;
	char *raw;
	size_t raw_len;
} tk_triage_job;

/* The applied callback's arg when the first statement was the update. */
static char tk_triage_with_update;

static void tk_triage_applied_cb(hd_err err, const hd_db_result *res, void *arg)
{
	const char *changed = err == HD_OK && arg != NULL ? hd_db_result_value(res, 0, 0, 5) : NULL;
	if (err != HD_OK)
		hd_log_warn("auto_triage: applying failed: %s", hd_strerror(err));
	else if (changed != NULL && strcmp(changed, "t") == 0)
		tk_relay_wake();
}

/* The classifier's value of field when its confidence reaches threshold
 * (and, for priority, it is a priority), else NULL. */
static const char *tk_triage_value(const cJSON *predicted, const char *field, double threshold)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(predicted, field);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "value");
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(f, "confidence");
	if (!cJSON_IsString(v) || !cJSON_IsNumber(conf) || conf->valuedouble < threshold)
		return NULL;
	if (strcmp(field, "priority") != 0)
		return v->valuestring;
	for (size_t i = 0; tk_priorities[i] != NULL; i++)
		if (strcmp(tk_priorities[i], v->valuestring) == 0)
			return tk_priorities[i];
	return NULL;
}

/* Applies knowledge's answer (body of a 200) to job's ticket, and ends the
 * queue row. */
static void tk_triage_apply(tk_triage_job *job, const char *body, size_t len)
{
	cJSON *reply = NULL;
	if (hd_json_parse(body, len, &reply, NULL) != HD_OK)
		return;
	const cJSON *predicted = cJSON_GetObjectItemCaseSensitive(reply, "predicted");
	const char *category = tk_triage_value(predicted, "category", job->threshold);
	const char *priority = tk_triage_value(predicted, "priority", job->threshold);
	const char *up[12] = { job->tenant, job->ticket, "1", NULL, NULL, priority,
		category != NULL ? "t" : "f", category, NULL, "f", NULL, NULL };
	const char *dp[2] = { job->tenant, job->ticket };
	bool update = category != NULL || priority != NULL;
	hd_db_stmt st[2] = { { tk_update_sql, 12, up }, { sql_done, 2, dp } };
	if (hd_db_run(tk_tri.dw->db, job->tenant, update ? st : st + 1, update ? 2 : 1,
	        tk_triage_applied_cb, update ? &tk_triage_with_update : NULL)
	    != HD_OK)
		hd_log_warn("auto_triage: could not apply for ticket %s", job->ticket);
	cJSON_Delete(reply);
}

static void tk_triage_answered(void *arg)
{
	tk_triage_job *job = arg;
	hd_reply rep;
	tk_tri.asking--;
	if (!atomic_load(&tk_tri.running))
		; /* stopping: the queue row stays for the next start */
	else if (job->err == HD_OK && hd_reply_decode(job->raw, job->raw_len, &rep) == HD_OK
	    && rep.status == 200)
		tk_triage_apply(job, rep.body, rep.body_len);
	else
		hd_log_warn("auto_triage: knowledge did not answer for ticket %s (%s)", job->ticket,
		    hd_err_name(job->err));
	hd_rpc_free(job->raw);
	free(job);
}

/* On an NNG thread: hands the answer to worker 0. */
static void tk_triage_replied(hd_err err, char *raw, size_t raw_len, void *arg)
{
	tk_triage_job *job = arg;
	job->err = err;
	job->raw = raw;
	job->raw_len = raw_len;
	if (!atomic_load(&tk_tri.running)
	    || hd_worker_post(tk_tri.dw->worker, tk_triage_answered, job) != HD_OK) {
		hd_rpc_free(raw);
		free(job);
	}
}

/* Sends kb.triage for job's ticket with its text; frees job when it cannot. */
static void tk_triage_ask(tk_triage_job *job, const char *words)
{
	hd_envelope *e = calloc(1, sizeof(*e));
	cJSON *q = cJSON_CreateObject();
	char *body = NULL, *msg = NULL;
	size_t len = 0;
	hd_err err = HD_ERR_NOMEM;
	if (e != NULL && q != NULL && cJSON_AddStringToObject(q, "text", words) != NULL
	    && (body = hd_json_print(q, &len)) != NULL) {
		e->version = HD_ENVELOPE_VERSION;
		snprintf(e->op, sizeof(e->op), "kb.triage");
		snprintf(e->request_id, sizeof(e->request_id), "auto-triage-%s", job->ticket);
		snprintf(e->tenant_id, sizeof(e->tenant_id), "%s", job->tenant);
		snprintf(e->role, sizeof(e->role), "%s", HD_OUTBOX_REPLAY_ROLE);
		e->deadline_ms = hd_now_ms() + TK_TRIAGE_CALL_MS;
		e->body = body;
		e->body_len = len;
		err = hd_envelope_encode(e, &msg, &len);
	}
	if (err == HD_OK)
		err = hd_rpc_client_call(
		    tk_knowledge_client(), msg, len, TK_TRIAGE_CALL_MS, tk_triage_replied, job);
	if (err == HD_OK)
		tk_tri.asking++;
	else
		free(job); /* still queued: a later claim tries again */
	free(msg);
	free(body);
	cJSON_Delete(q);
	free(e);
}

static void tk_triage_claimed_cb(hd_err err, const hd_db_result *res, void *arg)
{
	(void)arg;
	tk_tri.claiming = false;
	if (err != HD_OK) {
		hd_log_warn("auto_triage: claim failed: %s", hd_strerror(err));
		return;
	}
	for (int r = 0; r < hd_db_result_ntuples(res, 0); r++) {
		tk_triage_job *job = calloc(1, sizeof(*job));
		const char *words = hd_db_result_value(res, 0, r, 3);
		if (job == NULL || words == NULL) {
			free(job);
			continue;
		}
		snprintf(job->tenant, sizeof job->tenant, "%s", hd_db_result_value(res, 0, r, 0));
		snprintf(job->ticket, sizeof job->ticket, "%s", hd_db_result_value(res, 0, r, 1));
		job->threshold = strtod(hd_db_result_value(res, 0, r, 2), NULL);
		tk_triage_ask(job, words);
	}
}

static void tk_triage_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	hd_db_stmt st = { sql_claim, 0, NULL };
	(void)fd;
	(void)what;
	(void)arg;
	if (tk_tri.claiming || tk_tri.asking > 0)
		return;
	if (hd_db_run(tk_tri.dw->db, NULL, &st, 1, tk_triage_claimed_cb, NULL) == HD_OK)
		tk_tri.claiming = true;
	else
		hd_log_warn("auto_triage: claim could not run");
}

hd_err tk_auto_triage_start(hd_daemon_worker *dw)
{
	struct timeval tv = { TK_TRIAGE_EVERY_MS / 1000, (TK_TRIAGE_EVERY_MS % 1000) * 1000 };
	tk_tri.dw = dw;
	atomic_store(&tk_tri.running, true);
	tk_tri.timer
	    = event_new(hd_worker_base(dw->worker), -1, EV_PERSIST, tk_triage_tick_cb, NULL);
	if (tk_tri.timer == NULL || event_add(tk_tri.timer, &tv) != 0) {
		tk_auto_triage_stop();
		hd_log_error("auto_triage: timer setup failed");
		return HD_ERR_INTERNAL;
	}
	return HD_OK;
}

void tk_auto_triage_stop(void)
{
	atomic_store(&tk_tri.running, false);
	if (tk_tri.timer != NULL)
		event_free(tk_tri.timer);
	tk_tri.timer = NULL;
}
