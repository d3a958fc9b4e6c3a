/*
 * gw_frame: the pure message rules of the relay, both ways.
 *
 * Browser to IRC: one WebSocket message (possibly fragmented, delivered by
 * libwebsockets in chunks) becomes one CRLF-terminated line. The assembler
 * owns a fixed buffer of GW_LINE_MAX + 2 bytes; a message longer than
 * GW_LINE_MAX (the same limit as eirc-irc-client: 8191 bytes of tags plus
 * 512 of message, CRLF included, so 8701 without it) is refused as soon as
 * a chunk crosses it, a message holding CR, LF or NUL is refused, and a
 * text message must be valid UTF-8 (checked as chunks arrive, so a code
 * point split across chunks is fine).
 *
 * IRC to browser: a line read from the irc-client (CRLF stripped) becomes
 * one message; in text mode invalid UTF-8 is replaced with U+FFFD, in
 * binary mode the bytes pass as they are.
 *
 * No I/O, no allocation, no logging.
 */
#ifndef EIRC_GW_FRAME_H
#define EIRC_GW_FRAME_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/irc_line.h"
#include "common/utf8.h"

/* Longest browser message, without the CRLF the gateway adds. */
#define GW_LINE_MAX (IRC_LINE_MAX - 2)

/* Results of gw_frame_feed: the three outcomes are >= 0, the errors are
 * distinct negative errno values. */
#define GW_FRAME_MORE    0           /* the message goes on: feed the next chunk */
#define GW_FRAME_LINE    1           /* a complete line is ready */
#define GW_FRAME_EMPTY   2           /* a complete empty message: nothing to send */
#define GW_FRAME_ETOOBIG (-EMSGSIZE) /* over GW_LINE_MAX: close 1009 */
#define GW_FRAME_ECRLF   (-EBADMSG)  /* CR, LF or NUL inside: close 1008 */
#define GW_FRAME_EUTF8   (-EILSEQ)   /* invalid UTF-8 in a text message: close 1007 */

typedef struct gw_frame {
	size_t len;     /* bytes of the message so far */
	size_t utf8_ok; /* buf[0..utf8_ok) checked valid */
	int err;        /* the error returned, then every time (0: none) */
	char buf[GW_LINE_MAX + 2];
} gw_frame_t;

void gw_frame_init(gw_frame_t *f);

/*
 * Feeds one chunk of a browser message. first: the chunk starts a new
 * message (earlier bytes are dropped); final: it ends the message; binary:
 * the message is binary (no UTF-8 check); remaining: bytes still announced
 * for this frame beyond the chunk (0 when unknown), so an oversized frame
 * is refused at its first chunk. Returns GW_FRAME_MORE, GW_FRAME_EMPTY, or
 * GW_FRAME_LINE with *out_line (inside f, CRLF-terminated, valid until the
 * next feed) and *out_len (CRLF included); or a GW_FRAME_E* error, after
 * which every feed fails the same way.
 */
int gw_frame_feed(gw_frame_t *f, const void *chunk, size_t len, bool first, bool final, bool binary,
		  size_t remaining, const char **out_line, size_t *out_len);

/*
 * Turns a line from the irc-client (without CRLF) into the payload of one
 * message towards the browser. binary: copied as is. Text: invalid UTF-8
 * replaced with U+FFFD. out must hold GW_TO_BROWSER_MAX(len) bytes.
 * Returns 0 and *out_len, or -ENOBUFS when cap is too small.
 */
#define GW_TO_BROWSER_MAX(len) UTF8_SANITIZE_MAX(len)
int gw_frame_to_browser(const char *line, size_t len, bool binary, char *out, size_t cap,
			size_t *out_len);

/*
 * True when the command of line[0..len) (after its tags and source, any
 * case) is EIRC: the irc-client's control command, which only the gateway
 * may send (EIRC ROOMS); a browser's is refused, never forwarded.
 */
bool gw_frame_is_control(const char *line, size_t len);

/* The close code and reason for a gw_frame_feed error. */
int gw_frame_close_code(int err);
const char *gw_frame_close_reason(int err);
/* The metrics label of an error: "too_big", "crlf_nul", "invalid_utf8". */
const char *gw_frame_error_label(int err);

#endif
