/* Shared replies: see hd/reply.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/daemon.h"
#include "hd/log.h"
#include "hd/reply.h"

static const hd_constraint_text *constraint_texts;

void hd_reply_set_constraints(const hd_constraint_text *table)
{
	constraint_texts = table;
}

/* Appends extra ("\"k\":v") inside the object body[0..*len); NULL when out of memory. */
static char *problem_with_member(const char *body, size_t *len, const char *extra)
{
	size_t xlen = strlen(extra);
	char *full = malloc(*len + xlen + 2);
	if (full == NULL || *len < 2 || body[*len - 1] != '}') {
		free(full);
		return NULL;
	}
	memcpy(full, body, *len - 1);
	full[*len - 1] = ',';
	memcpy(full + *len, extra, xlen);
	full[*len + xlen] = '}';
	full[*len + xlen + 1] = '\0';
	*len += xlen + 1;
	return full;
}

void hd_reply_problem_ex(hd_rpc_request *req, int status, const char *detail,
    const hd_field_errors *errs, const char *extra_member, const char *header, const char *value)
{
	if (extra_member == NULL && header == NULL) {
		hd_daemon_reply_problem(req, status, detail, errs);
		return;
	}
	const hd_envelope *env = hd_rpc_request_envelope(req);
	size_t len = 0;
	char *body = hd_problem_json(
	    status, detail, env->request_id[0] ? env->request_id : NULL, errs, &len);
	char *full = NULL;
	if (body != NULL && extra_member != NULL)
		full = problem_with_member(body, &len, extra_member);
	if (body == NULL || (extra_member != NULL && full == NULL)) {
		free(body);
		hd_daemon_reply_problem(req, 500, HD_TEXT_INTERNAL, NULL);
		return;
	}
	hd_daemon_reply_json(req, status, full != NULL ? full : body, len, header, value, NULL);
	free(full);
	free(body);
}

void hd_reply_problem(hd_rpc_request *req, int status, const char *detail)
{
	hd_daemon_reply_problem(req, status, detail, NULL);
}

bool hd_reply_invalid(hd_rpc_request *req, const hd_field_errors *errs)
{
	if (errs->count == 0)
		return false;
	hd_daemon_reply_problem(req, 422, HD_TEXT_VALIDATION, errs);
	return true;
}

void hd_reply_invalid_field(hd_rpc_request *req, const char *field, const char *message)
{
	hd_field_errors errs = { .count = 0 };
	hd_field_errors_add(&errs, field, message);
	hd_reply_invalid(req, &errs);
}

void hd_reply_not_found(hd_rpc_request *req, const char *resource)
{
	char detail[96];
	snprintf(detail, sizeof detail, "%s not found", resource);
	hd_daemon_reply_problem(req, 404, detail, NULL);
}

void hd_reply_error(hd_rpc_request *req, hd_err err, const char *detail)
{
	int status = hd_err_http_status(err);
	if (detail == NULL)
		detail = status >= 500 && status != 503 ? HD_TEXT_INTERNAL : hd_strerror(err);
	if (status == 503)
		hd_reply_problem_ex(
		    req, status, detail, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
	else
		hd_daemon_reply_problem(req, status, detail, NULL);
}

/* The registered text of the constraint res names, or NULL. */
static const hd_constraint_text *constraint_text(const hd_db_result *res)
{
	const char *name = res != NULL ? hd_db_result_constraint(res) : NULL;
	if (name == NULL || name[0] == '\0' || constraint_texts == NULL)
		return NULL;
	for (const hd_constraint_text *t = constraint_texts; t->constraint != NULL; t++)
		if (strcmp(t->constraint, name) == 0)
			return t;
	return NULL;
}

int hd_db_error_status(hd_err err, const hd_db_result *res, const char **detail)
{
	const hd_constraint_text *known = NULL;
	switch (err) {
	case HD_ERR_UNAVAILABLE:
	case HD_ERR_CLOSED:
	case HD_ERR_TIMEOUT:
		*detail = HD_TEXT_DB_DOWN;
		return 503;
	case HD_ERR_BUSY:
		*detail = HD_TEXT_BUSY;
		return 503;
	case HD_ERR_CONFLICT:
	case HD_ERR_VALIDATION:
		known = constraint_text(res);
		if (known != NULL) {
			*detail = known->detail;
			return known->status;
		}
		*detail = err == HD_ERR_CONFLICT ? HD_TEXT_EXISTS : HD_TEXT_OUT_OF_RANGE;
		return err == HD_ERR_CONFLICT ? 409 : 422;
	default:
		*detail = HD_TEXT_INTERNAL;
		return 500;
	}
}

void hd_reply_db_error(hd_rpc_request *req, hd_err err, const hd_db_result *res)
{
	const char *detail = NULL;
	int status = hd_db_error_status(err, res, &detail);
	if (status == 500)
		hd_log_fields(HD_LOG_ERROR, "database batch failed", "err", hd_err_name(err),
		    "sqlstate", res != NULL ? hd_db_result_sqlstate(res) : "", "message",
		    res != NULL ? hd_db_result_message(res) : "", NULL);
	if (status == 503)
		hd_reply_problem_ex(
		    req, status, detail, NULL, NULL, "Retry-After", HD_RETRY_AFTER_S);
	else
		hd_daemon_reply_problem(req, status, detail, NULL);
}

bool hd_daemon_db_run(hd_daemon_worker *dw, hd_rpc_request *req, const char *tenant_id,
    const hd_db_stmt *stmts, int n, hd_db_cb cb, void *arg)
{
	if (dw->db != NULL && hd_db_run(dw->db, tenant_id, stmts, n, cb, arg) == HD_OK)
		return true;
	hd_reply_db_error(req, HD_ERR_UNAVAILABLE, NULL);
	return false;
}
