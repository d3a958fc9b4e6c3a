/*
 * vars: the NAME=value table eirc-gateway hands each irc-client on a pipe
 * (fd 4), in place of environment variables: the values of the config
 * file's ${NAME} references, the secrets the irc-client needs, the others
 * replaced by a placeholder (see gateway/gw_spawn.h).
 *
 * The text is "NAME=value\n" lines: a NAME is what a ${NAME} reference
 * may name (letters, digits and '_', not starting with a digit, shorter
 * than VARS_NAME_MAX), a value any bytes but NUL and newline. At most
 * VARS_MAX lines and VARS_BYTES_MAX bytes, so that the whole text is one
 * write of at most PIPE_BUF bytes: atomic, and it fits even a pipe the
 * kernel shrank to one page (fs.pipe-user-pages-soft), so the gateway's
 * write never blocks. Every string the table held is wiped
 * (explicit_bzero) when it is cleared.
 *
 * vars_parse takes bytes, nothing else; vars_read is the one function
 * with a descriptor (the irc-client's start-up). No logging here.
 */
#ifndef EIRC_VARS_H
#define EIRC_VARS_H

#include <stdbool.h>
#include <stddef.h>

#define VARS_MAX       64   /* lines */
#define VARS_BYTES_MAX 4096 /* bytes of the text (PIPE_BUF on Linux) */
#define VARS_NAME_MAX  128  /* bytes of a name, with its NUL */

/* A table; zeroed (VARS_INIT) is empty. */
typedef struct vars vars_t;
struct vars {
	size_t n;
	size_t bytes;         /* of the text: every line with its newline */
	char *line[VARS_MAX]; /* "NAME=value", malloc'd */
};
#define VARS_INIT                                                                                  \
	{                                                                                          \
		0                                                                                  \
	}

/* True when name is a ${NAME} name (the rule above). */
bool vars_name_ok(const char *name);

/*
 * Sets name to value, replacing its line if name is there. Returns 0;
 * -EINVAL when the name is not a ${NAME} name or the value holds a
 * newline; -E2BIG when the table would pass VARS_MAX lines or
 * VARS_BYTES_MAX bytes (the table is then unchanged); -ENOMEM.
 */
int vars_set(vars_t *v, const char *name, const char *value);

/* The value of name, or NULL; points into v (valid until v changes). */
const char *vars_get(const vars_t *v, const char *name);

/* The text of v into out (at least VARS_BYTES_MAX bytes, not
 * NUL-terminated); returns its length, v->bytes. */
size_t vars_format(const vars_t *v, char *out);

/*
 * Parses len bytes at buf into the empty table v. Returns 0; -E2BIG past
 * VARS_MAX lines or VARS_BYTES_MAX bytes; -EINVAL for a line without '='
 * or its final newline, a bad name, a NUL byte or a name given twice;
 * -ENOMEM. On failure v is left empty.
 */
int vars_parse(vars_t *v, const char *buf, size_t len);

/*
 * Reads fd to EOF (at most VARS_BYTES_MAX bytes, then -E2BIG) and parses
 * it into the empty table v as vars_parse does; the bytes read are wiped.
 * Does not close fd. Returns 0 or a negative errno (read's, or parse's).
 */
int vars_read(int fd, vars_t *v);

/* Wipes and frees every line; v is empty again. */
void vars_clear(vars_t *v);

#endif
