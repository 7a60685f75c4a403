/* The wire contract between the gateway and the daemons (spec: proto/README.md).
 * A request or reply is one NNG message: a fixed 8-byte preamble ("HD", format
 * version, flags, u32 big-endian header length), a JSON header object, then the
 * body bytes exactly as the client sent them (never re-serialised). Decoders
 * ignore unknown header fields and reject anything malformed or over bounds. */
#ifndef HD_ENVELOPE_H
#define HD_ENVELOPE_H
#include <stddef.h>
#include <stdint.h>
#include "hd/err.h"

#define HD_ENVELOPE_VERSION 1
#define HD_ENVELOPE_PREAMBLE 8
#define HD_ENVELOPE_MAX_HEADER 16384
#define HD_ENVELOPE_MAX_PARAMS 4
#define HD_ENVELOPE_MAX_HEADERS 8
/* Reply header of a daemon that refused a request unrun because it is draining. */
#define HD_REPLY_DRAINING_HEADER "x-hd-draining"

typedef struct hd_envelope_kv {
	char name[48];
	char value[512];
} hd_envelope_kv;

/* A request from the gateway to a daemon. Strings are NUL-terminated; empty
 * means absent. body points into the decoded buffer (not copied). */
typedef struct hd_envelope {
	int version;
	char op[64]; /* "auth.login" */
	char request_id[129];
	char tenant_id[37]; /* from the verified token; empty on public routes */
	char user_id[37];
	char role[32];
	char token_id[64]; /* jti of the access token used */
	int64_t token_exp; /* its exp (unix seconds), 0 if none */
	char client_ip[64];
	int64_t deadline_ms; /* unix epoch milliseconds */
	char query[2048]; /* raw query string, without '?' */
	hd_envelope_kv params[HD_ENVELOPE_MAX_PARAMS]; /* path parameters */
	size_t nparams;
	hd_envelope_kv
	    headers[HD_ENVELOPE_MAX_HEADERS]; /* forwarded request headers, lower-case names */
	size_t nheaders;
	const char *body;
	size_t body_len;
} hd_envelope;

/* A reply from a daemon. */
typedef struct hd_reply {
	int version;
	int status;
	hd_envelope_kv headers[HD_ENVELOPE_MAX_HEADERS]; /* response headers to set */
	size_t nheaders;
	const char *body; /* JSON (or problem+json when status >= 400) */
	size_t body_len;
} hd_reply;

/* Encodes e into a malloc'ed buffer (caller frees). */
hd_err hd_envelope_encode(const hd_envelope *e, char **out, size_t *len);
/* The same without the body: the preamble and header only, which on the
 * wire e->body_len bytes of e->body follow. For a sender that writes head
 * and body straight into its message, so a large body is copied once. */
hd_err hd_envelope_encode_head(const hd_envelope *e, char **out, size_t *len);
/* Decodes buf (which must outlive e->body). */
hd_err hd_envelope_decode(const char *buf, size_t len, hd_envelope *e);
/* Returns the value of path parameter / forwarded header name, or NULL. */
const char *hd_envelope_param(const hd_envelope *e, const char *name);
const char *hd_envelope_header(const hd_envelope *e, const char *name);
/* Adds a path parameter or header; HD_ERR_TOO_LARGE when full or too long. */
hd_err hd_envelope_add_param(hd_envelope *e, const char *name, const char *value);
hd_err hd_envelope_add_header(hd_envelope *e, const char *name, const char *value);

hd_err hd_reply_encode(const hd_reply *r, char **out, size_t *len);
/* The reply's head alone (as hd_envelope_encode_head): r->body follows. */
hd_err hd_reply_encode_head(const hd_reply *r, char **out, size_t *len);
hd_err hd_reply_decode(const char *buf, size_t len, hd_reply *r);
hd_err hd_reply_add_header(hd_reply *r, const char *name, const char *value);

#endif
