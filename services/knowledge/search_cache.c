/* The result cache of GET /v1/kb/search (docs/architecture.md, "Knowledge
 * search cache"): a reply is kept in Redis under the tenant, its knowledge
 * generation (sql/007_search_generation.sql) and a digest of what decides
 * it (audience, locale, limit, normalised query). A search reads the
 * generation (one indexed row), then the cache; on a miss the search
 * statement returns the generation of its own snapshot with the reply, and
 * the reply is stored under that one, so a key never names data older than
 * what its reply was computed from. Redis down or slow: the search runs in
 * PostgreSQL as without the cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hd/config.h"
#include "hd/log.h"
#include "hd/metrics.h"
#include "knowledge.h"

#define KB_CACHE_METRIC "hd_knowledge_search_cache_total"

static const char sql_generation[] = "SELECT knowledge.search_generation()::text";
static const char sql_search_generation[]
    = "SELECT knowledge.search_generation()::text,"
      " knowledge.search($1, $2, $3::int, $4::bool, $5::bool)::text";

/* A worker's cache: its Redis client (NULL: no cache) and the settings,
 * read by each worker at its start (workers start before the daemon's
 * start hook). */
typedef struct kb_cache {
	hd_redis *redis;
	long ttl_s, max_bytes;
} kb_cache;

/* One search on its way through the cache. */
typedef struct kb_cache_search {
	hd_rpc_request *req;
	hd_daemon_worker *dw;
	char tenant[64];
	char digest[KB_CACHE_DIGEST_HEX + 1];
	char *params[KB_SEARCH_NPARAMS]; /* copies; NULL stays NULL */
} kb_cache_search;

hd_err kb_cache_start(void)
{
	hd_metrics_describe(KB_CACHE_METRIC, "counter",
	    "knowledge searches by result cache outcome (hit, miss, bypass: no Redis)");
	return HD_OK;
}

hd_err kb_cache_worker_init(hd_daemon_worker *dw)
{
	kb_cache *kc = calloc(1, sizeof *kc);
	if (kc == NULL)
		return HD_ERR_NOMEM;
	hd_err err = hd_config_int("HD_KNOWLEDGE_SEARCH_CACHE_TTL_S", 0, 86400, &kc->ttl_s);
	if (err == HD_OK)
		err = hd_config_int(
		    "HD_KNOWLEDGE_SEARCH_CACHE_MAX_BYTES", 256, 1048576, &kc->max_bytes);
	if (err == HD_OK && kc->ttl_s > 0)
		err = hd_redis_create(
		    &kc->redis, hd_worker_base(dw->worker), hd_config_str("HD_REDIS_URL"));
	if (err != HD_OK) {
		free(kc);
		return err;
	}
	dw->service = kc;
	return HD_OK;
}

void kb_cache_worker_fini(hd_daemon_worker *dw)
{
	kb_cache *kc = dw->service;
	if (kc != NULL)
		hd_redis_destroy(kc->redis);
	free(kc);
	dw->service = NULL;
}

static void kb_cache_free(kb_cache_search *cs)
{
	for (int i = 0; i < KB_SEARCH_NPARAMS; i++)
		free(cs->params[i]);
	free(cs);
}

static void kb_cache_key(const kb_cache_search *cs, const char *generation, char *key, size_t cap)
{
	snprintf(key, cap, "kb:{%s}:search:%s:%s", cs->tenant, generation, cs->digest);
}

static void kb_cache_count(const char *result)
{
	char labels[32];
	snprintf(labels, sizeof labels, "result=\"%s\"", result);
	hd_metrics_add(KB_CACHE_METRIC, labels, 1);
}

static void kb_cache_set_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	(void)arg;
	if (err != HD_OK || hd_redis_reply_type(r) == HD_REDIS_ERROR)
		hd_log(HD_LOG_DEBUG, "knowledge search cache: store failed");
}

/* The miss: the search and its snapshot's generation; the reply goes out,
 * then into the cache under that generation. */
static void kb_cache_search_cb(hd_err err, const hd_db_result *res, void *arg)
{
	kb_cache_search *cs = arg;
	const char *generation = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	const char *json = err == HD_OK ? hd_db_result_value(res, 0, 0, 1) : NULL;
	if (err != HD_OK)
		hd_reply_db_error(cs->req, err, res);
	else if (json == NULL)
		hd_reply_problem(cs->req, 500, NULL);
	else
		hd_daemon_reply_json(cs->req, 200, json, strlen(json), NULL);
	size_t len = json != NULL ? strlen(json) : 0;
	const kb_cache *kc = cs->dw->service;
	if (generation != NULL && len > 0 && len <= (size_t)kc->max_bytes
	    && hd_redis_ready(kc->redis)) {
		char key[160], ttl[16];
		kb_cache_key(cs, generation, key, sizeof key);
		snprintf(ttl, sizeof ttl, "%ld", kc->ttl_s);
		const char *argv[5] = { "SET", key, json, "EX", ttl };
		size_t argvlen[5] = { 3, strlen(key), len, 2, strlen(ttl) };
		(void)hd_redis_command(kc->redis, kb_cache_set_cb, NULL, 5, argv, argvlen);
	}
	kb_cache_free(cs);
}

static void kb_cache_run_search(kb_cache_search *cs)
{
	const char *const *p = (const char *const *)cs->params;
	hd_db_stmt st = { sql_search_generation, KB_SEARCH_NPARAMS, p };
	if (!hd_daemon_db_run(cs->dw, cs->req, cs->tenant, &st, 1, kb_cache_search_cb, cs))
		kb_cache_free(cs);
}

static void kb_cache_get_cb(hd_err err, const hd_redis_reply *r, void *arg)
{
	kb_cache_search *cs = arg;
	size_t len = 0;
	const char *json = err == HD_OK && hd_redis_reply_type(r) == HD_REDIS_STRING
	    ? hd_redis_reply_string(r, &len)
	    : NULL;
	if (json == NULL) {
		kb_cache_count(err == HD_OK ? "miss" : "bypass");
		kb_cache_run_search(cs);
		return;
	}
	kb_cache_count("hit");
	hd_daemon_reply_json(cs->req, 200, json, len, NULL);
	kb_cache_free(cs);
}

static void kb_cache_generation_cb(hd_err err, const hd_db_result *res, void *arg)
{
	kb_cache_search *cs = arg;
	const char *generation = err == HD_OK ? hd_db_result_value(res, 0, 0, 0) : NULL;
	if (generation == NULL) {
		if (err != HD_OK)
			hd_reply_db_error(cs->req, err, res);
		else
			hd_reply_problem(cs->req, 500, NULL);
		kb_cache_free(cs);
		return;
	}
	char key[160];
	kb_cache_key(cs, generation, key, sizeof key);
	const char *argv[2] = { "GET", key };
	size_t argvlen[2] = { 3, strlen(key) };
	const kb_cache *kc = cs->dw->service;
	if (hd_redis_command(kc->redis, kb_cache_get_cb, cs, 2, argv, argvlen) != HD_OK) {
		kb_cache_count("bypass");
		kb_cache_run_search(cs);
	}
}

static kb_cache_search *kb_cache_search_new(
    hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant, const char *const *p)
{
	kb_cache_search *cs = calloc(1, sizeof *cs);
	if (cs == NULL || strlen(tenant) >= sizeof cs->tenant) {
		free(cs);
		return NULL;
	}
	cs->req = req;
	cs->dw = dw;
	snprintf(cs->tenant, sizeof cs->tenant, "%s", tenant);
	bool ok = true;
	for (int i = 0; i < KB_SEARCH_NPARAMS; i++) {
		cs->params[i] = p[i] != NULL ? strdup(p[i]) : NULL;
		ok = ok && (p[i] == NULL || cs->params[i] != NULL);
	}
	if (!ok || !kb_cache_digest(p, KB_SEARCH_NPARAMS, cs->digest)) {
		kb_cache_free(cs);
		return NULL;
	}
	return cs;
}

void kb_search_cached(
    hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant, const char *const *p)
{
	const kb_cache *kc = dw->service;
	hd_redis *redis = kc != NULL ? kc->redis : NULL;
	kb_cache_search *cs = NULL;
	if (redis != NULL && hd_redis_ready(redis))
		cs = kb_cache_search_new(req, dw, tenant, p);
	if (cs == NULL) {
		if (redis != NULL)
			kb_cache_count("bypass");
		hd_db_stmt st = { kb_search_sql, KB_SEARCH_NPARAMS, p };
		hd_daemon_db_run(dw, req, tenant, &st, 1, kb_json_cb, req);
		return;
	}
	hd_db_stmt st = { sql_generation, 0, NULL };
	if (!hd_daemon_db_run(dw, req, tenant, &st, 1, kb_cache_generation_cb, cs))
		kb_cache_free(cs);
}
