/*
 * irc_line: the one line framer of eIRC. Bytes go in (irc_line_feed),
 * complete IRC lines come out (irc_line_next), whatever the reads looked
 * like: split, merged, one byte at a time. Empty lines are skipped (RFC
 * 1459 says to ignore them).
 *
 * Two terminator rules:
 *   - irc_line_init: CRLF and bare LF end a line, as IRC servers and
 *     eirc-history's peers send. A line holding NUL or a bare CR is
 *     malformed.
 *   - irc_line_init_strict: only CRLF ends a line (the irc-client's
 *     gateway socket, one CRLF-terminated line per browser message). A
 *     bare LF, a bare CR or a NUL makes the whole line, up to its CRLF,
 *     malformed: "PRIVMSG #a :x\nQUIT" is refused, never split into two
 *     commands.
 *
 * Bounded: the framer owns a fixed buffer of IRC_LINE_MAX bytes and never
 * allocates. A line longer than the limit gives IRC_MSG_ETOOLONG once, then
 * the framer drops bytes up to the line's terminator and carries on from
 * there. A malformed line gives IRC_MSG_EMALFORMED and is dropped.
 *
 * It is not a parser (irc_msg parses the lines) and does no I/O.
 */
#ifndef EIRC_COMMON_IRC_LINE_H
#define EIRC_COMMON_IRC_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/irc_msg.h"

typedef struct irc_line irc_line_t;

/* Longest line, terminator included: a full tags section plus a full
 * message part (8191 + 512). Also the default limit. */
#define IRC_LINE_MAX (IRC_TAGS_MAX + IRC_MSG_MAX)

struct irc_line {
	size_t limit;    /* longest accepted line, terminator included */
	size_t start;    /* first byte not yet returned */
	size_t len;      /* bytes held in buf */
	size_t scan;     /* buf[start..scan) holds no LF */
	bool discarding; /* dropping the rest of an oversized line */
	bool crlf_only;  /* irc_line_init_strict */
	bool discard_cr; /* crlf_only, discarding: the last byte dropped was CR */
	char buf[IRC_LINE_MAX];
};

/*
 * Initializes lf. limit is the longest line accepted, its CRLF or LF
 * included; 0 means IRC_LINE_MAX. Returns 0, or IRC_MSG_EINVAL when limit is
 * 1 or more than IRC_LINE_MAX (lf untouched).
 */
int irc_line_init(irc_line_t *lf, size_t limit);

/* The same, for a framer where only CRLF ends a line (see above). */
int irc_line_init_strict(irc_line_t *lf, size_t limit);

/*
 * Takes up to len bytes of data and returns how many it took. It takes
 * fewer only when its buffer is full of complete lines: drain them with
 * irc_line_next() until IRC_MSG_EAGAIN, then feed the rest. After that drain
 * it always takes at least one byte. Feeding invalidates lines returned by
 * irc_line_next() before.
 */
size_t irc_line_feed(irc_line_t *lf, const char *data, size_t len);

/*
 * Returns the next complete line: 0 with *out_line pointing at it inside
 * lf (NUL-terminated, terminator stripped, writable so irc_msg_parse can
 * work in place, valid until the next irc_line_feed) and *out_len its
 * length. Or IRC_MSG_EAGAIN (need more bytes), IRC_MSG_ETOOLONG (the line
 * being received is over the limit; its remaining bytes will be dropped),
 * IRC_MSG_EMALFORMED (a line held NUL or a bare CR, or in strict mode a
 * bare LF; dropped). Errors leave
 * the out params untouched; call again after an error to go on.
 */
int irc_line_next(irc_line_t *lf, char **out_line, size_t *out_len);

/* Returns the number of bytes held that do not yet form a line. */
size_t irc_line_pending(const irc_line_t *lf);

#endif
