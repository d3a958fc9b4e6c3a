/*
 * gw_upgrade: pure upgrade decisions. See gw_upgrade.h.
 */
#include "gateway/gw_upgrade.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool gw_origin_allowed(const char *origin, char *const *allowed, size_t n, bool allow_missing)
{
	if (!origin || !*origin)
		return allow_missing;
	for (size_t i = 0; i < n; i++)
		if (allowed[i] && strcasecmp(origin, allowed[i]) == 0)
			return true;
	return false;
}

static bool subp_is_space(char c)
{
	return c == ' ' || c == '\t';
}

gw_subproto_t gw_subproto_choose(const char *offered)
{
	const char *p = offered, *end;
	size_t len;

	if (!offered || !*offered)
		return GW_SUBP_NONE;
	while (*p) {
		while (subp_is_space(*p) || *p == ',')
			p++;
		end = p;
		while (*end && *end != ',')
			end++;
		len = (size_t)(end - p);
		while (len && subp_is_space(p[len - 1]))
			len--;
		if (len == strlen(GW_SUBP_TEXT_NAME) && !memcmp(p, GW_SUBP_TEXT_NAME, len))
			return GW_SUBP_TEXT;
		if (len == strlen(GW_SUBP_BINARY_NAME) && !memcmp(p, GW_SUBP_BINARY_NAME, len))
			return GW_SUBP_BINARY;
		p = end;
	}
	return GW_SUBP_UNKNOWN;
}

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int gw_token_from_query(const char *query, size_t len, char *out, size_t cap)
{
	static const char key[] = "chat_token=";
	const size_t klen = sizeof(key) - 1;
	const char *val = NULL, *p = query, *end = query + len, *amp;
	size_t vlen = 0;

	while (query && p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		if ((size_t)(amp - p) >= klen && !memcmp(p, key, klen)) {
			if (val)
				return -EINVAL; /* two tokens: which one? */
			val = p + klen;
			vlen = (size_t)(amp - val);
		}
		p = amp + 1;
	}
	if (!val || vlen == 0)
		return -ENOENT;
	if (vlen > GW_TOKEN_MAX || vlen + 1 > cap)
		return -EINVAL;
	for (size_t i = 0; i < vlen; i++)
		if (!token_char(val[i]))
			return -EINVAL;
	memcpy(out, val, vlen);
	out[vlen] = '\0';
	return 0;
}
