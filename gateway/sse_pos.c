/* Stream positions (sse_pos.h): encoding and strict decoding. */
#include <stdio.h>
#include <string.h>
#include "sse_pos.h"

/* Reads one component of s[*at..len): "-" or a canonical decimal. */
static bool component_read(const char *s, size_t len, size_t *at, int64_t *out)
{
	size_t i = *at;
	if (i < len && s[i] == '-') {
		*out = GW_SSE_SEQ_UNKNOWN;
		*at = i + 1;
		return true;
	}
	int64_t v = 0;
	size_t start = i;
	while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 16)
		v = v * 10 + (s[i++] - '0');
	size_t digits = i - start;
	if (digits == 0 || (digits > 1 && s[start] == '0') || v > GW_SSE_SEQ_MAX
	    || (i < len && s[i] >= '0' && s[i] <= '9'))
		return false;
	*out = v;
	*at = i;
	return true;
}

bool gw_sse_pos_decode(const char *s, size_t len, gw_sse_pos *p)
{
	gw_sse_pos got;
	size_t at = 2;
	if (s == NULL || len < 2 || len >= GW_SSE_POS_MAX || s[0] != '1' || s[1] != '.')
		return false;
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++) {
		if (i > 0 && (at >= len || s[at++] != '.'))
			return false;
		if (!component_read(s, len, &at, &got.seq[i]))
			return false;
	}
	if (at != len)
		return false;
	*p = got;
	return true;
}

size_t gw_sse_pos_encode(const gw_sse_pos *p, char out[GW_SSE_POS_MAX])
{
	size_t n = 0;
	out[n++] = '1';
	for (int i = 0; i < GW_SSE_SRC__COUNT; i++) {
		out[n++] = '.';
		if (p->seq[i] < 0 || p->seq[i] > GW_SSE_SEQ_MAX)
			out[n++] = '-';
		else
			n += (size_t)snprintf(
			    out + n, GW_SSE_POS_MAX - n, "%lld", (long long)p->seq[i]);
	}
	out[n] = '\0';
	return n;
}
