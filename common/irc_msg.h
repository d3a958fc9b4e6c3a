/*
 * irc_msg: the IRC message codec. Parses one IRCv3 line (tags, source,
 * command, params) into a struct that points into the caller's buffer, and
 * serializes such a struct back into a caller buffer.
 *
 * It is pure: no file descriptor, no loop, no logging, no allocation. It is
 * not a framer (see irc_line.h), does not validate UTF-8 (see utf8.h) and
 * applies no policy beyond the protocol's own syntax and size limits.
 *
 * Zero copy: every atom of a parsed message is a (pointer, length) span into
 * the buffer given to irc_msg_parse(). Tag values need unescaping, which is
 * done in place: the parser rewrites the tags section of that (mutable)
 * buffer into a packed, unescaped form "key[=value]\0key[=value]\0..."
 * (unescaping only shrinks, so it always fits; a value cannot contain NUL
 * since no escape produces one). Read it with irc_msg_tag_next() or
 * irc_msg_tag_get(). The buffer is only modified when parsing succeeds.
 */
#ifndef EIRC_COMMON_IRC_MSG_H
#define EIRC_COMMON_IRC_MSG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct irc_msg_span irc_msg_span_t;
typedef struct irc_msg irc_msg_t;
typedef struct irc_msg_tag irc_msg_tag_t;

/* Message part (source, command, params) in bytes, including the CRLF. */
#define IRC_MSG_MAX 512
/* Tag data (tags without '@' and the space) a client may send, and the
 * client-only ('+') tag data any line may carry. */
#define IRC_TAGS_CLIENT_MAX 4094
/* Tags section in bytes, including the leading '@' and the trailing space. */
#define IRC_TAGS_MAX 8191
/* Parameters per message. */
#define IRC_PARAMS_MAX 15

/* Errors (negative, errno-style). irc_msg_strerror() names them. */
#define IRC_MSG_EAGAIN       (-EAGAIN)   /* framer: need more bytes */
#define IRC_MSG_ETOOLONG     (-EMSGSIZE) /* message part (or whole line) too long */
#define IRC_MSG_ETAGSTOOLONG (-E2BIG)    /* tags section too long */
#define IRC_MSG_EMALFORMED   (-EBADMSG)  /* syntax error, NUL/CR/LF in a line */
#define IRC_MSG_ENOBUFS      (-ENOBUFS)  /* serialize: output buffer too small */
#define IRC_MSG_EINVAL       (-EINVAL)   /* serialize: atom not representable */
#define IRC_MSG_ENOENT       (-ENOENT)   /* tag lookup: no such tag */

/* Flags for irc_msg_parse() and irc_msg_serialize(). */
enum {
	/* The line travels client to server: all of its tag data, not only
	 * the client-only tags, is bounded by IRC_TAGS_CLIENT_MAX. */
	IRC_MSG_F_CLIENT = 1u << 0,
	/* serialize: end the line with "\r\n". */
	IRC_MSG_F_CRLF = 1u << 1,
};

/* A run of bytes; ptr is NULL only for an absent atom (e.g. no source). */
struct irc_msg_span {
	const char *ptr;
	size_t len;
};

struct irc_msg {
	/* Packed tags "key[=value]\0..." (unescaped), see irc_msg_tag_next();
	 * ptr NULL when the line has no tags. */
	irc_msg_span_t tags;
	irc_msg_span_t source;  /* without ':'; ptr NULL when absent */
	irc_msg_span_t command; /* letters, or three digits */
	size_t n_params;
	irc_msg_span_t params[IRC_PARAMS_MAX];
};

/* One tag as irc_msg_tag_next() yields it. value is never NULL; has_value
 * tells "key=" (true, empty value) from "key" (false). */
struct irc_msg_tag {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	bool has_value;
};

/*
 * Parses the line buf[0..len) into *out_msg. The line may end with "\r\n" or
 * "\n" (stripped); any other NUL, CR or LF is IRC_MSG_EMALFORMED. Atoms are
 * separated by one or more spaces (RFC 1459). More than IRC_PARAMS_MAX
 * params: the last one takes the rest of the line, as RFC 2812 says.
 *
 * Returns 0, IRC_MSG_ETAGSTOOLONG (tags section over IRC_TAGS_MAX, or tag
 * data over IRC_TAGS_CLIENT_MAX: client-only tags always, all tags with
 * IRC_MSG_F_CLIENT), IRC_MSG_ETOOLONG (message part plus CRLF over
 * IRC_MSG_MAX) or IRC_MSG_EMALFORMED (no command, bad command, bad tag key,
 * empty source...). On success the tags section of buf is rewritten in
 * place (see the top of this file) and *out_msg points into buf, so buf
 * must outlive it. On failure buf and *out_msg are untouched.
 */
int irc_msg_parse(char *buf, size_t len, unsigned flags, irc_msg_t *out_msg);

/*
 * Serializes msg into buf (capacity cap), NUL-terminated, with "\r\n" when
 * flags has IRC_MSG_F_CRLF. Tag values are escaped; a tag keeps its form
 * ("key" or "key="). The last param gets ':' only when it needs one (empty,
 * starts with ':' or holds a space).
 *
 * Returns the length written (without the NUL), or IRC_MSG_EINVAL (bad
 * command, tag key or source; a middle param empty, starting with ':' or
 * holding a space; NUL, CR or LF in an atom; too many params),
 * IRC_MSG_ETAGSTOOLONG, IRC_MSG_ETOOLONG (same limits as irc_msg_parse), or
 * IRC_MSG_ENOBUFS (cap too small: nothing is truncated). buf's contents are
 * unspecified on failure.
 */
int irc_msg_serialize(const irc_msg_t *msg, unsigned flags, char *buf, size_t cap);

/*
 * Iterates the tags of msg, in line order, duplicates included. *io_pos
 * starts at 0. Returns true and fills *out_tag (pointing into the packed
 * tags) while there is a tag, false at the end.
 */
bool irc_msg_tag_next(const irc_msg_t *msg, size_t *io_pos, irc_msg_tag_t *out_tag);

/*
 * Finds the tag named key (exact, NUL-terminated). When the line repeats a
 * key, the last one wins, as the message-tags spec says. Returns 0 and fills
 * *out_tag, or IRC_MSG_ENOENT.
 */
int irc_msg_tag_get(const irc_msg_t *msg, const char *key, irc_msg_tag_t *out_tag);

/*
 * Appends one tag (unescaped; value NULL for a tag without value) to a
 * packed tags buffer, the form irc_msg_parse produces, so callers can build
 * msg->tags for irc_msg_serialize(). buf[0..*io_len) holds the tags so far.
 * Returns 0 and advances *io_len, IRC_MSG_EINVAL (bad key, NUL in value) or
 * IRC_MSG_ENOBUFS (*io_len untouched). Size limits are checked by
 * irc_msg_serialize().
 */
int irc_msg_tags_append(const char *key, size_t key_len, const char *value, size_t value_len,
			char *buf, size_t cap, size_t *io_len);

/*
 * Writes the escaped tag data of msg ("k=v;k2", without '@' or space) into
 * buf (capacity cap), NUL-terminated: e.g. to store a message's raw tags.
 * Returns the length (0 when there are no tags), IRC_MSG_EINVAL or
 * IRC_MSG_ENOBUFS.
 */
int irc_msg_tags_serialize(const irc_msg_t *msg, char *buf, size_t cap);

/* Returns true when key[0..len) is a valid tag key:
 * ['+'] [vendor '/'] name, vendor a host name, name [A-Za-z0-9-]+. */
bool irc_msg_tag_key_valid(const char *key, size_t len);

/*
 * Returns true when a and b are the same message: same tags (same order,
 * forms and values), source, command (exact bytes) and params.
 */
bool irc_msg_equal(const irc_msg_t *a, const irc_msg_t *b);

/* Returns true when the span s equals word, ASCII case-insensitively
 * (an empty span with ptr NULL equals nothing). */
bool irc_msg_span_is(const irc_msg_span_t *s, const char *word);

/* Returns true when msg's command equals cmd, ASCII case-insensitively. */
bool irc_msg_command_is(const irc_msg_t *msg, const char *cmd);

/* Returns a static English description of an IRC_MSG_E* code. */
const char *irc_msg_strerror(int err);

#endif
