/*
 * irc_mask: the nick!user@host side of IRC. Splits a message source into
 * its parts, matches glob masks (bans, invite exceptions, ignore lists,
 * policy rules) and validates host names the way a server would.
 *
 * Masks are IRC globs: '*' matches any run of bytes (empty too), '?' exactly
 * one byte, every other byte itself, under a case mapping. There is no
 * escape and no [class] (unlike fnmatch): "cool[guy]" is literal.
 *
 * Not here: nick/channel name syntax, CIDR masks, extbans.
 */
#ifndef EIRC_COMMON_IRC_MASK_H
#define EIRC_COMMON_IRC_MASK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/irc_casemap.h"

typedef struct irc_mask_userhost irc_mask_userhost_t;

/* Host name limits (RFC 1035 §2.3.4): whole name without a trailing dot,
 * and one label. */
#define IRC_MASK_HOSTNAME_MAX 253
#define IRC_MASK_LABEL_MAX    63

/* Parts of a source; a part the source lacks has ptr NULL and len 0. */
struct irc_mask_userhost {
	const char *nick;
	size_t nick_len;
	const char *user; /* after '!', NULL when there is no '!' */
	size_t user_len;
	const char *host; /* after '@', NULL when there is no '@' */
	size_t host_len;
};

/*
 * Splits s[0..len) as nick[!user][@host]: the nick ends at the first '!' or
 * '@', the user at the next '@'. A server name comes out as a nick (as
 * clients treat it). Parts point into s. Returns 0, or -EINVAL when the nick
 * would be empty (*out_uh untouched).
 */
int irc_mask_split(const char *s, size_t len, irc_mask_userhost_t *out_uh);

/*
 * Returns true when s[0..len) matches the glob mask[0..mask_len) with bytes
 * compared under cm (IRC_CASEMAP_NONE: exactly). Time is O(mask_len * len)
 * at worst, memory O(1); no recursion.
 */
bool irc_mask_match(const char *mask, size_t mask_len, const char *s, size_t len,
		    enum irc_casemap cm);

/*
 * Returns true when host[0..len) is acceptable as an IRC server or client
 * host name: labels of [A-Za-z0-9-] not starting or ending with '-', 1 to
 * IRC_MASK_LABEL_MAX bytes each, at least one dot (a single label such as
 * "irc" is refused), an optional trailing dot, at most
 * IRC_MASK_HOSTNAME_MAX bytes without it. IDNs must come in punycode.
 */
bool irc_mask_hostname_valid(const char *host, size_t len);

#endif
