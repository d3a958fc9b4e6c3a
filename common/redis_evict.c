/*
 * redis_evict: the maxmemory_policy of an INFO answer (see redis_evict.h).
 */
#include "common/redis_evict.h"

#include <errno.h>
#include <string.h>

#define FIELD "maxmemory_policy:"

/* The value of the line starting with FIELD, or NULL; *out_n its length. */
static const char *policy_of(const char *info, size_t len, size_t *out_n)
{
	const size_t flen = sizeof(FIELD) - 1;
	size_t i = 0;

	while (i < len) {
		const char *line = info + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;

		i += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n >= flen && memcmp(line, FIELD, flen) == 0) {
			*out_n = n - flen;
			return line + flen;
		}
	}
	return NULL;
}

int redis_evict_check(const char *info, size_t len, eirc_err_t *out_err)
{
	size_t n = 0;
	const char *p = policy_of(info, len, &n);

	if (!p)
		return eirc_err_set(out_err, -EINVAL, "INFO memory has no maxmemory_policy");
	if (n == 0 || n > REDIS_EVICT_POLICY_MAX)
		return eirc_err_set(out_err, -EINVAL,
				    "INFO memory has an unreadable maxmemory_policy");
	if (n == strlen("noeviction") && memcmp(p, "noeviction", n) == 0)
		return 0;
	return eirc_err_set(out_err, -EPERM, "maxmemory-policy %.*s can evict keys", (int)n, p);
}
