/*
 * irc_casemap: IRC case mapping, the rule that decides when two nicknames or
 * channel names are "the same" (RFC 1459 §2.2; the CASEMAPPING token of
 * RPL_ISUPPORT). Folding is to lower case, byte by byte:
 *   ascii           A-Z -> a-z
 *   strict-rfc1459  ascii, plus [ ] \ -> { } |
 *   rfc1459         strict-rfc1459, plus ~ -> ^   (the IRC default)
 * Bytes >= 0x80 are never folded.
 *
 * Not here: Unicode mappings (rfc7613/PRECIS) - the server we run announces
 * one of the three above.
 */
#ifndef EIRC_COMMON_IRC_CASEMAP_H
#define EIRC_COMMON_IRC_CASEMAP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

enum irc_casemap {
	IRC_CASEMAP_RFC1459 = 0, /* the default when a server says nothing */
	IRC_CASEMAP_STRICT_RFC1459,
	IRC_CASEMAP_ASCII,
	IRC_CASEMAP_NONE, /* no folding: exact byte comparison */
};

#define IRC_CASEMAP_DEFAULT IRC_CASEMAP_RFC1459

/* Returns c folded to lower case under cm. */
char irc_casemap_fold_char(enum irc_casemap cm, char c);

/* Folds in[0..len) into out[0..len) (same length; out may equal in). */
void irc_casemap_fold(enum irc_casemap cm, const char *in, size_t len, char *out);

/* Folds the NUL-terminated in into out, NUL-terminated: at most cap - 1
 * bytes of in are kept (cap >= 1). */
void irc_casemap_fold_str(enum irc_casemap cm, const char *in, char *out, size_t cap);

/*
 * Compares a[0..a_len) and b[0..b_len) after folding under cm, like memcmp
 * then shorter-first. Returns <0, 0 or >0.
 */
int irc_casemap_cmp(enum irc_casemap cm, const char *a, size_t a_len, const char *b, size_t b_len);

/* Returns true when a and b are equal under cm. */
bool irc_casemap_equal(enum irc_casemap cm, const char *a, size_t a_len, const char *b,
		       size_t b_len);

/*
 * Parses a case mapping name ("rfc1459", "strict-rfc1459", "ascii";
 * exact, lower case as servers send them). Returns 0 and sets *out_cm, or
 * -EINVAL for any other name (e.g. "rfc7613").
 */
int irc_casemap_from_name(const char *name, size_t len, enum irc_casemap *out_cm);

/*
 * Reads one RPL_ISUPPORT token (a 005 param such as "CASEMAPPING=ascii").
 * Returns 0 and sets *out_cm for CASEMAPPING=<known name>, and for
 * "-CASEMAPPING" (sets IRC_CASEMAP_DEFAULT); -ENOENT when the token is
 * about something else; -EINVAL for an unknown mapping name.
 */
int irc_casemap_from_isupport(const char *token, size_t len, enum irc_casemap *out_cm);

#endif
