/* The gateway <-> daemon envelope (spec: proto/README.md). Encoding builds
 * the JSON header with cJSON behind the 8-byte preamble; decoding checks the
 * preamble, bounds the header, parses it strictly and copies every known
 * field into the fixed-size struct, refusing values that do not fit instead
 * of truncating them. Unknown header fields are ignored (newer peers). */
#include "hd/envelope.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "hd/json.h"

#define ENV_MAGIC0 'H'
#define ENV_MAGIC1 'D'
/* Largest integer a JSON number carries exactly (2^53). */
#define ENV_MAX_EXACT 9007199254740992.0

/* ---- encoding ---- */

static bool env_add_str(cJSON *obj, const char *key, const char *value, size_t cap)
{
	size_t n = strnlen(value, cap);
	if (n == 0)
		return true;
	if (n == cap)
		return false; /* not NUL-terminated within its field */
	return cJSON_AddStringToObject(obj, key, value) != NULL;
}

static bool env_add_num(cJSON *obj, const char *key, int64_t value)
{
	if (value == 0)
		return true;
	return cJSON_AddNumberToObject(obj, key, (double)value) != NULL;
}

static bool env_add_kvs(cJSON *obj, const char *key, const hd_envelope_kv *kvs, size_t n)
{
	if (n == 0)
		return true;
	cJSON *map = cJSON_AddObjectToObject(obj, key);
	if (map == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strnlen(kvs[i].name, sizeof kvs[i].name) == sizeof kvs[i].name
		    || strnlen(kvs[i].value, sizeof kvs[i].value) == sizeof kvs[i].value)
			return false;
		if (cJSON_AddStringToObject(map, kvs[i].name, kvs[i].value) == NULL)
			return false;
	}
	return true;
}

/* Writes preamble + printed header + body into one malloc'ed buffer (body
 * NULL: the head alone, which the body is to follow on the wire). */
static hd_err env_finish(cJSON *hdr, const char *body, size_t body_len, char **out, size_t *len)
{
	if (body == NULL)
		body_len = 0;
	char *json = cJSON_PrintUnformatted(hdr);
	if (json == NULL)
		return HD_ERR_NOMEM;
	size_t hlen = strlen(json);
	if (hlen > HD_ENVELOPE_MAX_HEADER) {
		free(json);
		return HD_ERR_TOO_LARGE;
	}
	size_t total = HD_ENVELOPE_PREAMBLE + hlen + body_len;
	char *buf = malloc(total ? total : 1);
	if (buf == NULL) {
		free(json);
		return HD_ERR_NOMEM;
	}
	buf[0] = ENV_MAGIC0;
	buf[1] = ENV_MAGIC1;
	buf[2] = HD_ENVELOPE_VERSION;
	buf[3] = 0;
	buf[4] = (char)((hlen >> 24) & 0xff);
	buf[5] = (char)((hlen >> 16) & 0xff);
	buf[6] = (char)((hlen >> 8) & 0xff);
	buf[7] = (char)(hlen & 0xff);
	memcpy(buf + HD_ENVELOPE_PREAMBLE, json, hlen);
	if (body_len > 0)
		memcpy(buf + HD_ENVELOPE_PREAMBLE + hlen, body, body_len);
	free(json);
	*out = buf;
	*len = total;
	return HD_OK;
}

/* e's header object; NULL when a field does not fit or memory ran out. */
static cJSON *envelope_header(const hd_envelope *e)
{
	cJSON *hdr = cJSON_CreateObject();
	if (hdr == NULL)
		return NULL;
	bool ok = cJSON_AddNumberToObject(hdr, "v", HD_ENVELOPE_VERSION) != NULL
	    && env_add_str(hdr, "op", e->op, sizeof e->op)
	    && env_add_str(hdr, "rid", e->request_id, sizeof e->request_id)
	    && env_add_str(hdr, "tid", e->tenant_id, sizeof e->tenant_id)
	    && env_add_str(hdr, "uid", e->user_id, sizeof e->user_id)
	    && env_add_str(hdr, "role", e->role, sizeof e->role)
	    && env_add_str(hdr, "jti", e->token_id, sizeof e->token_id)
	    && env_add_num(hdr, "jexp", e->token_exp)
	    && env_add_str(hdr, "ip", e->client_ip, sizeof e->client_ip)
	    && env_add_num(hdr, "deadline", e->deadline_ms)
	    && env_add_str(hdr, "query", e->query, sizeof e->query)
	    && env_add_kvs(hdr, "params", e->params, e->nparams)
	    && env_add_kvs(hdr, "headers", e->headers, e->nheaders);
	if (!ok) {
		cJSON_Delete(hdr);
		return NULL;
	}
	return hdr;
}

/* Encodes e with its body, or only the head before it (head_only). */
static hd_err envelope_encode(const hd_envelope *e, bool head_only, char **out, size_t *len)
{
	if (e->nparams > HD_ENVELOPE_MAX_PARAMS || e->nheaders > HD_ENVELOPE_MAX_HEADERS
	    || (e->body == NULL && e->body_len > 0) || strnlen(e->op, sizeof e->op) == 0)
		return HD_ERR_INVALID;
	cJSON *hdr = envelope_header(e);
	if (hdr == NULL)
		return HD_ERR_INVALID;
	hd_err err = env_finish(hdr, head_only ? NULL : e->body, e->body_len, out, len);
	cJSON_Delete(hdr);
	return err;
}

hd_err hd_envelope_encode(const hd_envelope *e, char **out, size_t *len)
{
	return envelope_encode(e, false, out, len);
}

hd_err hd_envelope_encode_head(const hd_envelope *e, char **out, size_t *len)
{
	return envelope_encode(e, true, out, len);
}

/* Encodes r with its body, or only the head before it (head_only). */
static hd_err reply_encode(const hd_reply *r, bool head_only, char **out, size_t *len)
{
	if (r->status < 100 || r->status > 599 || r->nheaders > HD_ENVELOPE_MAX_HEADERS
	    || (r->body == NULL && r->body_len > 0))
		return HD_ERR_INVALID;
	cJSON *hdr = cJSON_CreateObject();
	if (hdr == NULL)
		return HD_ERR_NOMEM;
	bool ok = cJSON_AddNumberToObject(hdr, "v", HD_ENVELOPE_VERSION) != NULL
	    && cJSON_AddNumberToObject(hdr, "status", r->status) != NULL
	    && env_add_kvs(hdr, "headers", r->headers, r->nheaders);
	hd_err err = ok ? env_finish(hdr, head_only ? NULL : r->body, r->body_len, out, len)
	                : HD_ERR_INVALID;
	cJSON_Delete(hdr);
	return err;
}

hd_err hd_reply_encode(const hd_reply *r, char **out, size_t *len)
{
	return reply_encode(r, false, out, len);
}

hd_err hd_reply_encode_head(const hd_reply *r, char **out, size_t *len)
{
	return reply_encode(r, true, out, len);
}

/* ---- decoding ---- */

/* Checks the preamble and parses the header strictly (hd_json_parse: no
 * duplicate keys, valid UTF-8, bounded depth); *body_at is where the body starts. */
static hd_err env_open(const char *buf, size_t len, cJSON **hdr, size_t *body_at)
{
	if (buf == NULL || len < HD_ENVELOPE_PREAMBLE)
		return HD_ERR_INVALID;
	const unsigned char *p = (const unsigned char *)buf;
	if (p[0] != ENV_MAGIC0 || p[1] != ENV_MAGIC1 || p[2] != HD_ENVELOPE_VERSION || p[3] != 0)
		return HD_ERR_INVALID;
	uint32_t hlen = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	if (hlen == 0 || hlen > HD_ENVELOPE_MAX_HEADER)
		return HD_ERR_INVALID;
	if (hlen > len - HD_ENVELOPE_PREAMBLE)
		return HD_ERR_INVALID;
	cJSON *obj = NULL;
	hd_err err = hd_json_parse(buf + HD_ENVELOPE_PREAMBLE, hlen, &obj, NULL);
	if (err != HD_OK)
		return err == HD_ERR_NOMEM ? err : HD_ERR_INVALID;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return HD_ERR_INVALID;
	}
	*hdr = obj;
	*body_at = HD_ENVELOPE_PREAMBLE + hlen;
	return HD_OK;
}

/* Copies string member key into dst[cap]; absent is fine (empty). */
static bool env_get_str(const cJSON *obj, const char *key, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	dst[0] = '\0';
	if (it == NULL || cJSON_IsNull(it))
		return true;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return false;
	size_t n = strlen(it->valuestring);
	if (n >= cap)
		return false;
	memcpy(dst, it->valuestring, n + 1);
	return true;
}

/* Reads a non-negative integer member into *out (0 when absent). */
static bool env_get_int(const cJSON *obj, const char *key, int64_t max, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = 0;
	if (it == NULL || cJSON_IsNull(it))
		return true;
	if (!cJSON_IsNumber(it))
		return false;
	double d = it->valuedouble;
	if (!(d >= 0) || d > (double)max || d > ENV_MAX_EXACT || floor(d) != d)
		return false;
	*out = (int64_t)d;
	return true;
}

/* Reads the "v" member: required, an integer >= 1 (a higher minor is fine). */
static bool env_get_version(const cJSON *obj, int *out)
{
	int64_t v = 0;
	if (!env_get_int(obj, "v", 1000000, &v) || v < 1)
		return false;
	*out = (int)v;
	return true;
}

static bool env_get_kvs(
    const cJSON *obj, const char *key, hd_envelope_kv *kvs, size_t max, size_t *n)
{
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(obj, key);
	*n = 0;
	if (map == NULL || cJSON_IsNull(map))
		return true;
	if (!cJSON_IsObject(map))
		return false;
	for (const cJSON *it = map->child; it != NULL; it = it->next) {
		if (*n == max || it->string == NULL || !cJSON_IsString(it)
		    || it->valuestring == NULL)
			return false;
		size_t nl = strlen(it->string), vl = strlen(it->valuestring);
		if (nl == 0 || nl >= sizeof kvs[0].name || vl >= sizeof kvs[0].value)
			return false;
		memcpy(kvs[*n].name, it->string, nl + 1);
		memcpy(kvs[*n].value, it->valuestring, vl + 1);
		(*n)++;
	}
	return true;
}

static bool env_read_request(const cJSON *h, hd_envelope *e)
{
	return env_get_version(h, &e->version) && env_get_str(h, "op", e->op, sizeof e->op)
	    && e->op[0] != '\0' && env_get_str(h, "rid", e->request_id, sizeof e->request_id)
	    && env_get_str(h, "tid", e->tenant_id, sizeof e->tenant_id)
	    && env_get_str(h, "uid", e->user_id, sizeof e->user_id)
	    && env_get_str(h, "role", e->role, sizeof e->role)
	    && env_get_str(h, "jti", e->token_id, sizeof e->token_id)
	    && env_get_int(h, "jexp", INT64_MAX, &e->token_exp)
	    && env_get_str(h, "ip", e->client_ip, sizeof e->client_ip)
	    && env_get_int(h, "deadline", INT64_MAX, &e->deadline_ms)
	    && env_get_str(h, "query", e->query, sizeof e->query)
	    && env_get_kvs(h, "params", e->params, HD_ENVELOPE_MAX_PARAMS, &e->nparams)
	    && env_get_kvs(h, "headers", e->headers, HD_ENVELOPE_MAX_HEADERS, &e->nheaders);
}

hd_err hd_envelope_decode(const char *buf, size_t len, hd_envelope *e)
{
	cJSON *h = NULL;
	size_t at = 0;
	memset(e, 0, sizeof *e);
	hd_err err = env_open(buf, len, &h, &at);
	if (err != HD_OK)
		return err;
	bool ok = env_read_request(h, e);
	cJSON_Delete(h);
	if (!ok) {
		memset(e, 0, sizeof *e);
		return HD_ERR_INVALID;
	}
	e->body = buf + at;
	e->body_len = len - at;
	return HD_OK;
}

hd_err hd_reply_decode(const char *buf, size_t len, hd_reply *r)
{
	cJSON *h = NULL;
	size_t at = 0;
	int64_t status = 0;
	memset(r, 0, sizeof *r);
	hd_err err = env_open(buf, len, &h, &at);
	if (err != HD_OK)
		return err;
	bool ok = env_get_version(h, &r->version) && env_get_int(h, "status", 599, &status)
	    && status >= 100
	    && env_get_kvs(h, "headers", r->headers, HD_ENVELOPE_MAX_HEADERS, &r->nheaders);
	cJSON_Delete(h);
	if (!ok) {
		memset(r, 0, sizeof *r);
		return HD_ERR_INVALID;
	}
	r->status = (int)status;
	r->body = buf + at;
	r->body_len = len - at;
	return HD_OK;
}

/* ---- accessors ---- */

const char *hd_envelope_param(const hd_envelope *e, const char *name)
{
	for (size_t i = 0; i < e->nparams && i < HD_ENVELOPE_MAX_PARAMS; i++)
		if (strcmp(e->params[i].name, name) == 0)
			return e->params[i].value;
	return NULL;
}

const char *hd_envelope_header(const hd_envelope *e, const char *name)
{
	for (size_t i = 0; i < e->nheaders && i < HD_ENVELOPE_MAX_HEADERS; i++)
		if (strcasecmp(e->headers[i].name, name) == 0)
			return e->headers[i].value;
	return NULL;
}

/* Appends (name, value) to kvs[*n] when both fit; lower-cases when asked. */
static hd_err env_kv_add(
    hd_envelope_kv *kvs, size_t max, size_t *n, const char *name, const char *value, bool lower)
{
	size_t nl = strlen(name), vl = strlen(value);
	if (nl == 0)
		return HD_ERR_INVALID;
	if (*n >= max || nl >= sizeof kvs[0].name || vl >= sizeof kvs[0].value)
		return HD_ERR_TOO_LARGE;
	for (size_t i = 0; i <= nl; i++)
		kvs[*n].name[i] = lower ? (char)tolower((unsigned char)name[i]) : name[i];
	memcpy(kvs[*n].value, value, vl + 1);
	(*n)++;
	return HD_OK;
}

hd_err hd_envelope_add_param(hd_envelope *e, const char *name, const char *value)
{
	return env_kv_add(e->params, HD_ENVELOPE_MAX_PARAMS, &e->nparams, name, value, false);
}

hd_err hd_envelope_add_header(hd_envelope *e, const char *name, const char *value)
{
	return env_kv_add(e->headers, HD_ENVELOPE_MAX_HEADERS, &e->nheaders, name, value, true);
}

hd_err hd_reply_add_header(hd_reply *r, const char *name, const char *value)
{
	return env_kv_add(r->headers, HD_ENVELOPE_MAX_HEADERS, &r->nheaders, name, value, true);
}
