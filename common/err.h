/*
 * err: the one way eIRC hands error text back to a caller.
 *
 * A function that fails returns a negative errno-style code (libuv's UV_E*
 * pass straight through). When the code alone is not enough for an
 * operator (a config key, a server's answer, a file name), the function
 * also takes `eirc_err_t *out_err` as its last parameter and fills it
 * with one line of text; `out_err` may be NULL. Nothing is allocated, so
 * the caller never frees error text, and the text is untouched on success.
 *
 *     eirc_err_t err;
 *     int rc = auth_migrate(conn, &err);
 *     if (rc < 0)
 *         log_error("Failed to migrate the database: %s", err.text);
 *
 * Objects that fail later, inside callbacks, report the same struct to
 * their callback; they do not keep a "last error" of their own.
 */
#ifndef EIRC_ERR_H
#define EIRC_ERR_H

#define EIRC_ERR_MAX 256 /* bytes of one error line, with its NUL */

typedef struct eirc_err eirc_err_t;
struct eirc_err {
	char text[EIRC_ERR_MAX];
};

/* Formats the text into `e` (cut at EIRC_ERR_MAX - 1 bytes) and returns
 * `code`, so a failure reads `return eirc_err_set(out_err, -EINVAL, ...)`.
 * A NULL `e` only returns `code`. */
int eirc_err_set(eirc_err_t *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
