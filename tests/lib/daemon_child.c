/* Daemon child processes and blocking NNG calls for integration tests
 * (see daemon_child.h). */
#include "daemon_child.h"
#include "freeport.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

int daemon_child_free_port(void)
{
	return freeport_get();
}

int daemon_child_port_env(const char *name, const char *fmt, char *out, size_t out_len)
{
	char buf[128];
	int port = daemon_child_free_port();

	if (port <= 0)
		return -1;
	snprintf(buf, sizeof(buf), fmt, port);
	if (setenv(name, buf, 1) != 0)
		return -1;
	if (out != NULL)
		snprintf(out, out_len, "%s", buf);
	return port;
}

void daemon_child_init(daemon_child *c, const char *name)
{
	const char *dir = getenv("HD_TEST_BIN_DIR");

	memset(c, 0, sizeof(*c));
	snprintf(c->bin, sizeof(c->bin), "%s/%s", dir != NULL ? dir : "../../build/bin", name);
	snprintf(c->log, sizeof(c->log), "/tmp/%s-it-%d.log", name, (int)getpid());
	int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		close(fd);
	/* hd-ticket's local attachment store, unless the test chose one: not
	 * var/ under the test's folder */
	setenv("HD_STORAGE_DIR", "/tmp/hd-test-attachments", 0);
}

int daemon_child_spawn(daemon_child *c, const char *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int devnull = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		if (devnull >= 0)
			dup2(devnull, 1);
		execl(c->bin, c->bin, arg, (char *)NULL);
		_exit(127);
	}
	c->pid = pid;
	return 0;
}

int daemon_child_run(daemon_child *c, const char *arg)
{
	int st = 0;

	if (daemon_child_spawn(c, arg) != 0)
		return -1;
	pid_t pid = c->pid;
	c->pid = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool daemon_child_alive(daemon_child *c)
{
	int st = 0;

	if (c->pid <= 0)
		return false;
	if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
		c->pid = 0;
		return false;
	}
	return true;
}

int daemon_child_stop(daemon_child *c, int sig)
{
	int st = 0;

	if (c->pid <= 0)
		return -1;
	kill(c->pid, sig);
	pid_t pid = c->pid;
	c->pid = 0;
	return waitpid(pid, &st, 0) == pid ? st : -1;
}

bool daemon_child_log_clean(const daemon_child *c)
{
	char line[4096];
	bool clean = true;
	FILE *f = fopen(c->log, "r");

	if (f == NULL)
		return true;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "Sanitizer") != NULL || strstr(line, "runtime error") != NULL) {
			fprintf(stderr, "%s: %s", c->log, line);
			clean = false;
		}
	}
	fclose(f);
	return clean;
}

void daemon_child_log_remove(const daemon_child *c)
{
	if (getenv("HD_TEST_KEEP_LOGS") == NULL)
		unlink(c->log);
}

/* ---- one blocking call ---------------------------------------------------- */

static hd_err reply_fill(const char *raw, size_t len, daemon_reply *out)
{
	hd_reply r;

	if (hd_reply_decode(raw, len, &r) != HD_OK)
		return HD_ERR_INVALID;
	out->status = r.status;
	/* bytes as sent (attachments hold NUL), NUL-terminated for the JSON ones */
	out->body = malloc(r.body_len + 1);
	if (out->body == NULL)
		return HD_ERR_NOMEM;
	if (r.body_len > 0)
		memcpy(out->body, r.body, r.body_len);
	out->body[r.body_len] = '\0';
	out->body_len = r.body_len;
	out->json = cJSON_Parse(out->body);
	for (size_t i = 0; i < r.nheaders && i < HD_ENVELOPE_MAX_HEADERS; i++) {
		snprintf(out->headers[i][0], sizeof(out->headers[i][0]), "%s", r.headers[i].name);
		snprintf(out->headers[i][1], sizeof(out->headers[i][1]), "%s", r.headers[i].value);
		out->nheaders = i + 1;
	}
	return HD_OK;
}

hd_err daemon_child_call(
    hd_rpc_client *client, const hd_envelope *e, int timeout_ms, daemon_reply *out)
{
	char *msg = NULL, *raw = NULL;
	size_t len = 0, raw_len = 0;

	memset(out, 0, sizeof(*out));
	hd_err err = hd_envelope_encode(e, &msg, &len);
	if (err != HD_OK)
		return err;
	err = daemon_child_call_raw(client, msg, len, timeout_ms, &raw, &raw_len);
	free(msg);
	if (err != HD_OK)
		return err;
	err = reply_fill(raw, raw_len, out);
	hd_rpc_free(raw);
	if (err != HD_OK)
		daemon_reply_free(out);
	return err;
}

const char *daemon_reply_header(const daemon_reply *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i][0], name) == 0)
			return r->headers[i][1];
	return NULL;
}

void daemon_reply_free(daemon_reply *r)
{
	cJSON_Delete(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}
