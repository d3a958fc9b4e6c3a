/*
 * irc_nick: what a session's IRC nick is made of, shared by the code that
 * picks one (common/irc_reg: the nick-collision suffix of a second session
 * or a second logger) and the code that names accounts (eirc-auth refuses
 * an account name that could be such a nick).
 *
 * A suffixed nick is "<base>|<n>": the separator IRC_NICK_SEP is a
 * character no account name may contain, so a second session's nick can
 * never be another account's name (`mallory|2`, never `mallory1`, which
 * may be someone else). Under RFC 1459 case mapping '\' is the upper-case
 * form of '|', so an account name may contain neither.
 *
 * Pure: no I/O, no allocation.
 */
#ifndef EIRC_COMMON_IRC_NICK_H
#define EIRC_COMMON_IRC_NICK_H

#include <stdbool.h>
#include <stddef.h>

/* Longest nick, suffix included, and longest account name (InspIRCd's
 * maxnick default is 30). */
#define IRC_NICK_MAX 30
/* Between a nick's base and its collision suffix's digits. */
#define IRC_NICK_SEP '|'

/*
 * Writes "<base><IRC_NICK_SEP><n>" into out (cap bytes, NUL-terminated),
 * cutting base so the whole fits IRC_NICK_MAX: the separator and every
 * digit are always kept. Returns 0, or -EINVAL when base is empty or n is
 * 0, or -EMSGSIZE when cap is smaller than the result; out is untouched on
 * failure.
 */
int irc_nick_suffixed(const char *base, unsigned n, char *out, size_t cap);

/* True when name, folded under RFC 1459 case mapping, holds IRC_NICK_SEP:
 * a name that is not allowed for an account ('|' or '\'). */
bool irc_nick_has_sep(const char *name);

#endif
