/*
 * log: one line per event, as text or JSON, for every eIRC daemon.
 *
 * The top of a daemon logs; library code returns error codes (STYLE.md).
 * Each line is written with a single write(2) to the log descriptor, so
 * lines from several processes sharing stderr do not interleave.
 *
 * Two guarantees hold for every line, whatever the caller passes:
 *   - no secret: values after secret-looking keys (token, password, secret,
 *     "Bearer ") are replaced with "***" (see log_redact());
 *   - no forged lines: control characters from peers (CR, LF, ...) are
 *     escaped, so one call is one line.
 * This module is not an audit log: the audit trail lives in PostgreSQL.
 */
#ifndef EIRC_COMMON_LOG_H
#define EIRC_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Longest line written, including the format's framing; longer lines are
 * cut to it and still parse: text ends with "...", JSON keeps the message
 * (cut, with "...") and ends with ,"cut":true} instead of the fields. A
 * cut splits no escape and no UTF-8 sequence. Under systemd, when the
 * descriptor is the journal stream ($JOURNAL_STREAM), each line starts
 * with its sd-daemon(3) priority (<3> error, <4> warn, <6> info, <7>
 * debug). */
#define LOG_LINE_MAX 4096

typedef enum {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
} log_level_t;

typedef enum {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON,
} log_format_t;

/* A structured field: key is a short identifier, value any string (NULL
 * prints as null / "-"). */
typedef struct {
	const char *key;
	const char *value;
} log_field_t;

/*
 * Sets the program name (copied), minimum level, format and the descriptor
 * lines go to (usually 2). May be called again, e.g. after the config is
 * read. Before the first call: "eirc", LOG_INFO, text, fd 2.
 */
void log_setup(const char *prog, log_level_t level, log_format_t format, int fd);

/* Parses "debug", "info", "warn", "error" into *out_level; -EINVAL otherwise. */
int log_level_parse(const char *name, log_level_t *out_level);
const char *log_level_name(log_level_t level);

/* True when a message at `level` would be written. */
int log_enabled(log_level_t level);

/* Logs one event with optional fields (n may be 0 and fields NULL). */
void log_fields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_vfields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

#define log_debug(...) log_fields(LOG_DEBUG, NULL, 0, __VA_ARGS__)
#define log_info(...)  log_fields(LOG_INFO, NULL, 0, __VA_ARGS__)
#define log_warn(...)  log_fields(LOG_WARN, NULL, 0, __VA_ARGS__)
#define log_error(...) log_fields(LOG_ERROR, NULL, 0, __VA_ARGS__)

/*
 * Masks secret values in place: after a key containing "token", "password",
 * "passwd", "secret" or "authorization" (case-insensitive) followed by '=',
 * ':' or '":"', and after "Bearer ", the value up to the next separator
 * (space, '&', ',', ';', '"', '\'') becomes "***". Returns the new length.
 * Exposed for tests and for code that must echo untrusted text.
 */
size_t log_redact(char *s, size_t len);

/* Formats one line into buf (at most cap bytes, NUL-terminated, with the
 * trailing '\n') without writing it; returns its length. For tests. */
size_t log_format_line(char *buf, size_t cap, log_level_t level, const log_field_t *fields,
		       size_t n, const char *msg);

#endif
