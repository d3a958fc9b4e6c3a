/*
 * irc_mask: source splitting, glob matching and host name validation (see
 * irc_mask.h). The matcher is the classic iterative one: on a mismatch it
 * returns to the last '*' and lets it swallow one more byte, which is
 * enough because a later '*' can always stand in for an earlier one.
 */
#include "common/irc_mask.h"

#include <stdint.h>
#include <string.h>

int irc_mask_split(const char *s, size_t len, irc_mask_userhost_t *out_uh)
{
	irc_mask_userhost_t uh = {0};
	size_t i = 0;

	while (i < len && s[i] != '!' && s[i] != '@')
		i++;
	if (i == 0)
		return -EINVAL;
	uh.nick = s;
	uh.nick_len = i;
	if (i < len && s[i] == '!') {
		size_t start = ++i;
		while (i < len && s[i] != '@')
			i++;
		uh.user = s + start;
		uh.user_len = i - start;
	}
	if (i < len) { /* s[i] == '@' */
		uh.host = s + i + 1;
		uh.host_len = len - i - 1;
	}
	*out_uh = uh;
	return 0;
}

bool irc_mask_match(const char *mask, size_t mask_len, const char *s, size_t len,
		    enum irc_casemap cm)
{
	size_t m = 0, i = 0, star_m = SIZE_MAX, star_i = 0;

	while (i < len) {
		if (m < mask_len && mask[m] == '*') {
			star_m = ++m;
			star_i = i;
		} else if (m < mask_len &&
			   (mask[m] == '?' || irc_casemap_fold_char(cm, mask[m]) ==
						      irc_casemap_fold_char(cm, s[i]))) {
			m++;
			i++;
		} else if (star_m != SIZE_MAX) {
			m = star_m;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (m < mask_len && mask[m] == '*')
		m++;
	return m == mask_len;
}

static bool label_valid(const char *l, size_t len)
{
	if (len == 0 || len > IRC_MASK_LABEL_MAX || l[0] == '-' || l[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = l[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

bool irc_mask_hostname_valid(const char *host, size_t len)
{
	size_t start = 0;

	if (len > 0 && host[len - 1] == '.')
		len--; /* the root's empty label: "services." */
	else if (len > 0 && !memchr(host, '.', len))
		return false;
	if (len == 0 || len > IRC_MASK_HOSTNAME_MAX)
		return false;
	while (start <= len) {
		const char *dot = memchr(host + start, '.', len - start);
		size_t end = dot ? (size_t)(dot - host) : len;

		if (!label_valid(host + start, end - start))
			return false;
		start = end + 1;
	}
	return true;
}
