/* Which URLs a webhook may have (API "Notifications and real time"):
 * absolute https:// (http:// too outside production), a host, no
 * credentials and no fragment; a literal address must be one a webhook may
 * reach (guard.c), so that such a URL is refused at creation, while a host
 * name is checked each time it is resolved for a delivery (dispatch.c).
 * libcurl's own URL parser takes the URL apart, so that what is checked is
 * what libcurl will connect to. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include "notification.h"

/* Copies part of u into out (NUL-terminated, at most size - 1 bytes); an
 * absent part is "". False when it does not fit or libcurl fails. */
static bool url_part(CURLU *u, CURLUPart part, unsigned flags, char *out, size_t size)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(u, part, &v, flags);
	bool ok = true;
	out[0] = '\0';
	if (rc == CURLUE_OK) {
		size_t n = strlen(v);
		ok = n < size;
		if (ok)
			memcpy(out, v, n + 1);
	} else if (rc == CURLUE_OUT_OF_MEMORY) {
		ok = false;
	}
	curl_free(v);
	return ok;
}

static bool url_has(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	bool has = curl_url_get(u, part, &v, 0) == CURLUE_OK && v != NULL && v[0] != '\0';
	curl_free(v);
	return has;
}

/* Fills out from the parsed u; *why on failure. */
static bool url_read(
    CURLU *u, bool allow_http, const nt_cidr_list *allow, nt_url *out, const char **why)
{
	char scheme[8], port[8];
	if (!url_part(u, CURLUPART_SCHEME, 0, scheme, sizeof(scheme))
	    || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
		*why
		    = allow_http ? "must be an http:// or https:// URL" : "must be an https:// URL";
		return false;
	}
	out->https = strcmp(scheme, "https") == 0;
	if (!out->https && !allow_http) {
		*why = "must be an https:// URL";
		return false;
	}
	if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD)
	    || url_has(u, CURLUPART_FRAGMENT)) {
		*why = "must not carry a user name, password or fragment";
		return false;
	}
	char host[NT_HOST_MAX + 2];
	if (!url_part(u, CURLUPART_HOST, 0, host, sizeof(host)) || host[0] == '\0'
	    || !url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof(port))) {
		*why = "must name a host";
		return false;
	}
	size_t n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') { /* an IPv6 literal */
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
		char *zone = strchr(host, '%');
		if (zone != NULL) {
			*why = "must not name an IPv6 zone";
			return false;
		}
	}
	if (strlen(host) >= NT_HOST_MAX) {
		*why = "must name a host";
		return false;
	}
	memcpy(out->host, host, strlen(host) + 1);
	out->port = strtol(port, NULL, 10);
	if (out->port < 1 || out->port > 65535) {
		*why = "must name a port from 1 to 65535";
		return false;
	}
	out->literal = nt_addr_from_text(out->host, out->addr);
	if (out->literal && !nt_addr_allowed(out->addr, allow)) {
		*why = "must not be a loopback, link-local, private or unique-local address";
		return false;
	}
	return true;
}

bool nt_url_check(
    const char *url, bool allow_http, const nt_cidr_list *allow, nt_url *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = "must be an absolute URL";
	if (url == NULL || strlen(url) > NT_URL_MAX || strlen(url) < 8)
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			*why = "must be ASCII without spaces (percent-encode the rest)";
			return false;
		}
	const char *rest = strstr(url, "://");
	if (rest == NULL || rest[3] == '/'
	    || rest[3] == '\0') /* libcurl reads "https:///h" as host h */
		return false;
	CURLU *u = curl_url();
	if (u == NULL)
		return false;
	bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
	    && url_read(u, allow_http, allow, out, why);
	curl_url_cleanup(u);
	return ok;
}
