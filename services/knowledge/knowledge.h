/* The knowledge daemon's internal contract: operation handlers (articles.c,
 * article_write.c, search.c, settings.c, help.c) and the few helpers they
 * share. Everything here runs on a worker thread, for one request. Most of
 * the logic is SQL of the knowledge schema (sql/002_functions.sql). */
#ifndef HD_KNOWLEDGE_H
#define HD_KNOWLEDGE_H
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "hd/caller.h"
#include "hd/daemon.h"
#include "hd/db.h"
#include "hd/ops.h"
#include "hd/problem.h"
#include "hd/query.h"

/* Operation handlers: one per `knowledge` line of proto/operations.def. */
#define HD_OPS_knowledge HD_OPS_MINE
#define HD_OP HD_OP_DECLARE
#include "operations.def"
#undef HD_OP

/* The article's text fields of a create or PATCH body (strings point into
 * the body; tags_json is owned: kb_fields_free). */
typedef struct kb_fields {
	const char *title, *body, *locale, *status;
	char *tags_json;
} kb_fields;
/* Reads title, body, tags, locale and status; required: title and body
 * must be there (a create). Adds an error naming each bad field. */
void kb_fields_read(const cJSON *obj, bool required, kb_fields *f, hd_field_errors *errs);
void kb_fields_free(kb_fields *f);

/* "t" when the caller sees published articles only (every role but admin
 * and agent), else "f": a statement parameter. */
const char *kb_published_only(const hd_caller *c);
/* Replies status with the article JSON and its version as ETag; 404
 * "article" when json is NULL. */
void kb_reply_article(hd_rpc_request *req, int status, const char *json, const char *version);

/* The search of a request (search.c): ?q= (1..200 characters), ?locale=,
 * ?limit= (1..50, default 10) into statement parameters; replies 422 and
 * returns false when one is bad. */
typedef struct kb_search_params {
	const char *q, *locale;
	char limit[8];
} kb_search_params;
bool kb_search_params_read(hd_rpc_request *req, const hd_query *q, kb_search_params *sp);
/* The search statement: $1 q, $2 locale, $3 limit, $4 published only, $5
 * any word; one row, the reply JSON. */
#define KB_SEARCH_NPARAMS 5
extern const char kb_search_sql[];

/* The search result cache (search_cache.c; docs/architecture.md, "Knowledge
 * search cache"). kb_cache_start describes its metric (daemon start);
 * kb_cache_worker_init reads the settings and gives the worker its Redis
 * client (dw->service)
 * (none when HD_KNOWLEDGE_SEARCH_CACHE_TTL_S is 0); kb_cache_worker_fini
 * frees it. */
hd_err kb_cache_start(void);
hd_err kb_cache_worker_init(hd_daemon_worker *dw);
void kb_cache_worker_fini(hd_daemon_worker *dw);
/* Writes q with ASCII letters lowered and runs of white space made one
 * space (none at either end) into out (room for strlen(q) + 1); returns
 * its length. Both changes leave every search's answer as it was: the
 * text-search parsers and pg_trgm lower case and split on spaces. */
size_t kb_cache_normalise(const char *q, char *out);
/* The SHA-256 in hex of the n_params search parameters p, p[0] (the query,
 * not NULL) normalised, each ended by a NUL (an absent one: \x01), so no
 * two different searches hash the same text. False when out of memory. */
#define KB_CACHE_DIGEST_HEX 64
bool kb_cache_digest(const char *const *p, int n_params, char out[KB_CACHE_DIGEST_HEX + 1]);
/* Replies to req with the search of the KB_SEARCH_NPARAMS statement
 * parameters p for tenant: from the cache when it holds the reply for the
 * tenant's current generation, else from PostgreSQL (then cached). */
void kb_search_cached(
    hd_rpc_request *req, hd_daemon_worker *dw, const char *tenant, const char *const *p);
/* Replies 200 with column 0 of statement stmt (search and lists of one
 * JSON value); cb arg: the request. */
void kb_json_cb(hd_err err, const hd_db_result *res, void *arg);

/* The classifier's statement (triage.c): $1 the text; one row, the counts
 * knowledge.triage_input gives for it. */
extern const char kb_triage_sql[];
/* {"category": {...}, "priority": {...}} predicted from that row's JSON
 * (the caller owns it), or NULL when it is missing or malformed. */
cJSON *kb_triage_predicted(const char *input_json);
/* Replies 200 with base_json (an object; NULL: a new one) plus "predicted":
 * kb_triage_predicted(input_json); 500 when either cannot be read. */
void kb_reply_predicted(hd_rpc_request *req, const char *base_json, const char *input_json);

#endif
