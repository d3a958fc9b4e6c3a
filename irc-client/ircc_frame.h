/*
 * ircc_frame: the strict line framer of the gateway socket (fd 3). The
 * contract there is one CRLF-terminated line per browser message, so only
 * CRLF ends a line: a bare LF, a bare CR or a NUL inside a line makes the
 * whole line (up to its CRLF) malformed, and it is refused, never split
 * into two commands. (common/irc_line accepts a bare LF as a terminator,
 * as servers send; that would turn "PRIVMSG #a :x\nQUIT" into two lines.)
 *
 * Bounded: a fixed buffer of IRCC_FRAME_MAX bytes. A longer line gives
 * IRC_MSG_ETOOLONG once and is dropped up to its CRLF. Pure: no I/O.
 */
#ifndef EIRC_IRCC_FRAME_H
#define EIRC_IRCC_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "common/irc_line.h"
#include "common/irc_msg.h"

/* Longest browser line, CRLF included (ARCHITECTURE: 8191 bytes of tags
 * plus 512 of message). */
#define IRCC_FRAME_MAX IRC_LINE_MAX

struct ircc_frame {
	size_t start;                   /* first byte not yet returned */
	size_t len;                     /* bytes held */
	size_t scan;                    /* buf[start..scan) holds no CRLF */
	bool discarding;                /* dropping an oversized line */
	char buf[IRCC_FRAME_MAX];
};

void ircc_frame_init(struct ircc_frame *f);

/* Takes up to len bytes, returns how many it took (fewer only when the
 * buffer is full of complete lines: drain with ircc_frame_next first). */
size_t ircc_frame_feed(struct ircc_frame *f, const char *data, size_t len);

/*
 * Returns 0 and the next line (NUL-terminated, CRLF stripped, writable,
 * valid until the next feed), IRC_MSG_EAGAIN, IRC_MSG_ETOOLONG (a line
 * over IRCC_FRAME_MAX, reported once; its bytes are dropped) or
 * IRC_MSG_EMALFORMED (a line holding NUL, bare CR or bare LF; dropped).
 * Empty lines are skipped.
 */
int ircc_frame_next(struct ircc_frame *f, char **out_line, size_t *out_len);

#endif
