/*
 * access_msg: the access bus's message parser and formatter (see
 * access_msg.h).
 */
#include "common/access_msg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[ACCESS_KINDS] = {
	[ACCESS_ROOMS] = "rooms",     [ACCESS_DISABLED] = "disabled", [ACCESS_DELETED] = "deleted",
	[ACCESS_SIGNOUT] = "signout", [ACCESS_REVOKED] = "revoked",   [ACCESS_ROLE] = "role",
};

const char *access_msg_kind_name(enum access_kind kind)
{
	return (unsigned)kind < ACCESS_KINDS ? kind_names[kind] : "unknown";
}

int access_msg_format(const access_msg_t *m, char *out, size_t cap)
{
	int n;

	if ((unsigned)m->kind >= ACCESS_KINDS || m->user == 0)
		return -EINVAL;
	n = snprintf(out, cap, "%s %llu %llu", kind_names[m->kind], (unsigned long long)m->user,
		     (unsigned long long)m->family);
	return n < 0 || (size_t)n >= cap ? -E2BIG : n;
}

/* Reads 1-20 digits from *p (up to end) into *out; moves *p past them. */
static int parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

int access_msg_parse(const char *s, size_t len, access_msg_t *out)
{
	const char *end = s + len, *sp = memchr(s, ' ', len);
	access_msg_t m = {.kind = ACCESS_KINDS};
	size_t klen;

	if (!sp || len > ACCESS_MSG_MAX)
		return -EINVAL;
	klen = (size_t)(sp - s);
	for (unsigned k = 0; k < ACCESS_KINDS; k++)
		if (strlen(kind_names[k]) == klen && memcmp(kind_names[k], s, klen) == 0)
			m.kind = (enum access_kind)k;
	s = sp + 1;
	if (m.kind == ACCESS_KINDS || parse_u64(&s, end, &m.user) < 0 || m.user == 0 || s == end ||
	    *s++ != ' ' || parse_u64(&s, end, &m.family) < 0 || s != end)
		return -EINVAL;
	*out = m;
	return 0;
}
