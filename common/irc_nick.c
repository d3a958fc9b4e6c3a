/*
 * irc_nick: the collision suffix and the account-name rule it relies on
 * (see irc_nick.h).
 */
#include "common/irc_nick.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/irc_casemap.h"

int irc_nick_suffixed(const char *base, unsigned n, char *out, size_t cap)
{
	char sfx[16];
	int sl;

	if (!base || !base[0] || n == 0)
		return -EINVAL;
	sl = snprintf(sfx, sizeof(sfx), "%c%u", IRC_NICK_SEP, n);
	if (sl < 0 || (size_t)sl >= IRC_NICK_MAX)
		return -EINVAL;
	size_t bl = strlen(base);
	if (bl > IRC_NICK_MAX - (size_t)sl)
		bl = IRC_NICK_MAX - (size_t)sl;
	if (bl + (size_t)sl + 1 > cap)
		return -EMSGSIZE;
	memcpy(out, base, bl);
	memcpy(out + bl, sfx, (size_t)sl + 1);
	return 0;
}

bool irc_nick_has_sep(const char *name)
{
	for (const char *p = name; p && *p; p++)
		if (irc_casemap_fold_char(IRC_CASEMAP_RFC1459, *p) == IRC_NICK_SEP)
			return true;
	return false;
}
