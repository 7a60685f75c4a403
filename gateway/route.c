/* Route table and pure request rules (see route.h). The table is routes.def
 * expanded once; matching walks it comparing segment by segment, so a path
 * is checked against every pattern without allocating. */
#include "route.h"
#include <string.h>
#include <strings.h>
#include "hd/uuid.h"

#define GW_METHOD_GET GW_GET
#define GW_METHOD_POST GW_POST
#define GW_METHOD_PUT GW_PUT
#define GW_METHOD_PATCH GW_PATCH
#define GW_METHOD_DELETE GW_DELETE

static const gw_route routes[] = {
#define HD_ROUTE(method, pattern, service, op, roles, admission)                                   \
	{ GW_METHOD_##method, pattern, GW_SVC_##service, op, roles,                                \
		((admission)&GW_ROUTE_PUBLIC) != 0, ((admission)&GW_ROUTE_LOGIN_LIKE) != 0,        \
		((admission)&GW_ROUTE_STREAM_TICKET) != 0 },
#include "routes.def"
#undef HD_ROUTE
};

static const struct {
	unsigned bit;
	const char *name;
} methods[] = {
	{ GW_GET, "GET" },
	{ GW_HEAD, "HEAD" },
	{ GW_POST, "POST" },
	{ GW_PUT, "PUT" },
	{ GW_PATCH, "PATCH" },
	{ GW_DELETE, "DELETE" },
	{ GW_OPTIONS, "OPTIONS" },
};

static const char *const service_names[] = {
#define HD_SERVICE(name, setting) #name,
#include "services.def"
#undef HD_SERVICE
};

const gw_route *gw_route_table(size_t *count)
{
	*count = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

/* Length of the segment starting at s (up to '/' or end). */
static size_t segment_len(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	return slash ? (size_t)(slash - s) : len;
}

/* True when value[0..vlen) is what a parameter called name[0..nlen) holds
 * (routes.def): {n} a version number of 1 to 9 digits, {..._slug} a tenant
 * slug [a-z0-9-]{2,63}, any other name a UUID. */
static bool param_value_ok(const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (nlen == 1 && name[0] == 'n')
		return vlen >= 1 && vlen <= 9 && value[0] != '0'
		    && strspn(value, "0123456789") == vlen;
	if (nlen >= 4 && memcmp(name + nlen - 4, "slug", 4) == 0)
		return vlen >= 2 && vlen <= 63
		    && strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") == vlen;
	return vlen == 36 && hd_uuid_valid(value);
}

/* Records parameter {name} = value[0..vlen) when it has its name's shape. */
static bool param_take(gw_match *m, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (vlen >= sizeof(m->params[0].value) || nlen >= sizeof(m->params[0].name)
	    || m->nparams >= HD_ENVELOPE_MAX_PARAMS)
		return false;
	memcpy(m->params[m->nparams].value, value, vlen);
	m->params[m->nparams].value[vlen] = '\0';
	if (!param_value_ok(name, nlen, m->params[m->nparams].value, vlen))
		return false;
	memcpy(m->params[m->nparams].name, name, nlen);
	m->params[m->nparams].name[nlen] = '\0';
	m->nparams++;
	return true;
}

/* Writes the resource a collection segment holds ("tickets" -> "ticket",
 * "time-entries" -> "time-entry") into out. */
static void resource_name(const char *seg, size_t n, char out[32])
{
	const size_t len = n < 32 ? n : 31;
	memcpy(out, seg, len);
	out[len] = '\0';
	if (len > 3 && memcmp(seg + len - 3, "ies", 3) == 0)
		memcpy(&out[len - 3], "y", 2);
	else if (len > 1 && seg[len - 1] == 's')
		out[len - 1] = '\0';
}

/* Matches path[0..len) against pattern, filling m's parameters. A path of
 * the pattern's shape whose id is no UUID names an object that cannot
 * exist: false, with m->missing set to its resource. */
static bool pattern_match(const char *pattern, const char *path, size_t len, gw_match *m)
{
	size_t plen = strlen(pattern);
	const char *prev = NULL; /* the pattern's previous segment */
	size_t prev_len = 0;
	bool bad_id = false;
	m->nparams = 0;
	m->missing[0] = '\0';
	while (plen > 0 && len > 0) {
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, plen--, path++, len--;
		size_t ps = segment_len(pattern, plen), s = segment_len(path, len);
		if (ps >= 2 && pattern[0] == '{' && pattern[ps - 1] == '}') {
			if (!param_take(m, pattern + 1, ps - 2, path, s)) {
				if (s == 0 || bad_id || prev == NULL)
					return false;
				bad_id = true;
				resource_name(prev, prev_len, m->missing);
			}
		} else if (ps != s || memcmp(pattern, path, s) != 0) {
			return false;
		}
		prev = pattern, prev_len = ps;
		pattern += ps, plen -= ps, path += s, len -= s;
	}
	if (bad_id && plen == 0 && len == 0)
		return false; /* m->missing says which */
	m->missing[0] = '\0';
	return plen == 0 && len == 0;
}

gw_match_result gw_route_match(unsigned method, const char *path, size_t len, gw_match *m)
{
	gw_match probe;
	char missing[sizeof m->missing] = "";
	memset(m, 0, sizeof(*m));
	if (len == 0 || len > GW_PATH_MAX || path[0] != '/')
		return GW_MATCH_NOT_FOUND;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!pattern_match(routes[i].pattern, path, len, &probe)) {
			if (probe.missing[0] != '\0')
				memcpy(missing, probe.missing, sizeof missing);
			continue;
		}
		/* a GET route also serves HEAD (RFC 9110 §9.1) */
		bool head_of_get = method == GW_HEAD && routes[i].method == GW_GET;
		m->allow |= routes[i].method | (routes[i].method == GW_GET ? GW_HEAD : 0);
		if ((routes[i].method == method || head_of_get) && m->route == NULL) {
			unsigned allow = m->allow;
			*m = probe;
			m->route = &routes[i];
			m->allow = allow;
		}
	}
	if (m->route != NULL)
		return GW_MATCH_OK;
	if (m->allow)
		return GW_MATCH_METHOD;
	memcpy(m->missing, missing, sizeof missing);
	return missing[0] != '\0' ? GW_MATCH_NO_OBJECT : GW_MATCH_NOT_FOUND;
}

unsigned gw_method_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].bit;
	return 0;
}

const char *gw_method_name(unsigned method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].bit == method)
			return methods[i].name;
	return "OTHER";
}

void gw_method_list(unsigned allow, char *out, size_t size)
{
	size_t used = 0;
	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!(allow & methods[i].bit))
			continue;
		size_t need = strlen(methods[i].name) + (used ? 2 : 0);
		if (used + need + 1 > size)
			return;
		if (used)
			memcpy(out + used, ", ", 2), used += 2;
		memcpy(out + used, methods[i].name, strlen(methods[i].name) + 1);
		used += strlen(methods[i].name);
	}
}

unsigned gw_role_parse(const char *role)
{
	return hd_role_bit(role);
}

const char *gw_service_name(gw_service svc)
{
	return svc < GW_SVC__COUNT ? service_names[svc] : "gateway";
}

bool gw_content_type_is_json(const char *value)
{
	static const char json[] = "application/json";
	if (value == NULL || strncasecmp(value, json, sizeof(json) - 1) != 0)
		return false;
	value += sizeof(json) - 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return true;
	if (*value++ != ';')
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, "charset=", 8) != 0)
		return false;
	value += 8;
	if (*value == '"')
		return strcasecmp(value, "\"utf-8\"") == 0;
	return strcasecmp(value, "utf-8") == 0;
}

bool gw_request_id_valid(const char *value)
{
	size_t n = 0;
	if (value == NULL)
		return false;
	for (; value[n] != '\0'; n++) {
		char c = value[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		    || c == '.' || c == '_' || c == ':' || c == '-';
		if (!ok || n >= GW_REQUEST_ID_MAX)
			return false;
	}
	return n > 0;
}

bool gw_bearer_token(const char *value, const char **token, size_t *len)
{
	if (value == NULL || strncasecmp(value, "Bearer ", 7) != 0)
		return false;
	value += 7;
	while (*value == ' ')
		value++;
	size_t n = strlen(value);
	while (n > 0 && value[n - 1] == ' ')
		n--;
	if (n == 0 || memchr(value, ' ', n) != NULL || memchr(value, '\t', n) != NULL)
		return false;
	*token = value;
	*len = n;
	return true;
}
