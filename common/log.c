/*
 * log: line-oriented text/JSON logging with redaction and escaping.
 *
 * Formatting builds the whole line in a stack buffer, then one write(2)
 * sends it. Nothing here allocates. See log.h for the guarantees.
 */
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/clock.h"

#define LOG_PROG_MAX 32

static struct {
	char prog[LOG_PROG_MAX];
	log_level_t level;
	log_format_t format;
	int fd;
	bool journal; /* fd is systemd's journal stream: "<N>" priority prefixes */
} log_state = {"eirc", LOG_INFO, LOG_FORMAT_TEXT, 2, false};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* syslog(3) priorities of the levels: LOG_DEBUG 7, LOG_INFO 6,
 * LOG_WARNING 4, LOG_ERR 3. */
static int level_priority(log_level_t level)
{
	static const int pri[] = {7, 6, 4, 3};

	return (unsigned)level <= LOG_ERROR ? pri[level] : 6;
}

/* True when fd is the stream systemd connected to the journal: the
 * "<device>:<inode>" of $JOURNAL_STREAM is fd's (systemd.exec(5)). */
static bool is_journal_stream(int fd)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return v && sscanf(v, "%llu:%llu", &dev, &ino) == 2 && fstat(fd, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *prog, log_level_t level, log_format_t format, int fd)
{
	if (prog)
		snprintf(log_state.prog, sizeof(log_state.prog), "%s", prog);
	log_state.level = level;
	log_state.format = format;
	log_state.fd = fd;
	log_state.journal = is_journal_stream(fd);
}

int log_level_parse(const char *name, log_level_t *out_level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out_level = (log_level_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(log_level_t level)
{
	return (unsigned)level <= LOG_ERROR ? level_names[level] : "?";
}

int log_enabled(log_level_t level)
{
	return level >= log_state.level;
}

/* ---- redaction ---------------------------------------------------------- */

static const char *const secret_words[] = {
	"token", "password", "passwd", "secret", "authorization",
};

static bool is_value_end(char c)
{
	return c == '\0' || c == ' ' || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'' ||
	       c == '\t';
}

/* Replaces s[start..end) with "***" in place; returns the new length. */
static size_t mask_span(char *s, size_t len, size_t start, size_t end)
{
	static const char mask[] = "***";
	size_t m = sizeof(mask) - 1, span = end - start;

	if (span <= m) {
		/* Value shorter than the mask: keep the length, never reveal it. */
		memset(s + start, '*', span);
		return len;
	}
	memcpy(s + start, mask, m);
	memmove(s + start + m, s + end, len - end);
	return len - (span - m);
}

/* Length of the key/value separator at p ("=", ":", ": ", "\":\"", "\": \""),
 * or 0 when there is none. */
static size_t separator_len(const char *p, const char *end)
{
	size_t n = 0;

	if (p < end && *p == '"')
		n++;
	if (p + n >= end || (p[n] != '=' && p[n] != ':'))
		return 0;
	n++;
	while (p + n < end && p[n] == ' ')
		n++;
	if (p + n < end && p[n] == '"')
		n++;
	return n;
}

static bool word_at(const char *s, size_t len, size_t i, size_t *out_wlen)
{
	for (size_t w = 0; w < sizeof(secret_words) / sizeof(secret_words[0]); w++) {
		size_t wl = strlen(secret_words[w]);
		if (i + wl <= len && strncasecmp(s + i, secret_words[w], wl) == 0) {
			*out_wlen = wl;
			return true;
		}
	}
	return false;
}

size_t log_redact(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t wl, start, end;

		if (i + 7 <= len && strncasecmp(s + i, "Bearer ", 7) == 0) {
			start = i + 7;
		} else if (word_at(s, len, i, &wl)) {
			/* Skip the rest of the key (chat_token_id, passwords...). */
			size_t k = i + wl;
			while (k < len &&
			       (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '-'))
				k++;
			size_t sep = separator_len(s + k, s + len);
			if (sep == 0) {
				i = k;
				continue;
			}
			start = k + sep;
			/* "Authorization: Bearer x": mask what follows the scheme. */
			if (start + 7 <= len && strncasecmp(s + start, "Bearer ", 7) == 0)
				start += 7;
		} else {
			i++;
			continue;
		}
		end = start;
		while (end < len && !is_value_end(s[end]))
			end++;
		if (end > start && !(end - start == 3 && memcmp(s + start, "***", 3) == 0))
			len = mask_span(s, len, start, end);
		i = start + (end > start ? 1 : 0);
	}
	s[len] = '\0';
	return len;
}

/* ---- line building ------------------------------------------------------ */

typedef struct {
	char *buf;
	size_t cap; /* usable bytes, excluding room for "...\n\0" */
	size_t len;
	bool cut;
} line_t;

/* Appends n bytes whole, or nothing and marks the line cut: an escape
 * sequence is never split. */
static void put_raw(line_t *l, const char *s, size_t n)
{
	if (l->cut)
		return;
	if (n > l->cap - l->len) {
		l->cut = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* After a cut: drops a UTF-8 sequence the cut left incomplete. */
static void trim_partial_utf8(line_t *l)
{
	size_t i = l->len, cont = 0;
	unsigned char c;

	while (i > 0 && cont < 4 && ((unsigned char)l->buf[i - 1] & 0xc0) == 0x80)
		i--, cont++;
	if (i == 0)
		return;
	c = (unsigned char)l->buf[i - 1];
	if (c < 0xc0) /* ASCII (or stray continuation bytes): complete */
		return;
	size_t need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
	if (cont < need)
		l->len = i - 1;
}

static void put_str(line_t *l, const char *s)
{
	put_raw(l, s, strlen(s));
}

/* Appends s escaped: JSON string escaping, or for text \n \r \t \\ and \xHH
 * for other control bytes. Bytes >= 0x80 pass through (UTF-8 messages). */
static void put_escaped(line_t *l, const char *s, bool json)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '\n')
			put_str(l, "\\n");
		else if (c == '\r')
			put_str(l, "\\r");
		else if (c == '\t')
			put_str(l, "\\t");
		else if (c == '\\')
			put_str(l, "\\\\");
		else if (json && c == '"')
			put_str(l, "\\\"");
		else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", c);
			put_str(l, esc);
		} else
			put_raw(l, (const char *)&c, 1);
	}
}

static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '=' || (unsigned char)*v < 0x20)
			return true;
	return false;
}

static bool key_is_secret(const char *key)
{
	size_t wl, n = strlen(key);

	for (size_t i = 0; i < n; i++)
		if (word_at(key, n, i, &wl))
			return true;
	return false;
}

static void put_timestamp(line_t *l)
{
	int64_t ms = clock_wall_ms();
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char ts[64];

	gmtime_r(&sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ms % 1000));
	put_str(l, ts);
}

static void put_field_value(line_t *l, const log_field_t *f, bool json)
{
	char val[LOG_LINE_MAX];
	size_t n;

	if (!f->value) {
		put_str(l, json ? "null" : "-");
		return;
	}
	if (key_is_secret(f->key)) {
		put_str(l, json ? "\"***\"" : "***");
		return;
	}
	n = snprintf(val, sizeof(val), "%s", f->value);
	if (n >= sizeof(val))
		n = sizeof(val) - 1;
	log_redact(val, n);
	if (json || needs_quotes(val)) {
		put_str(l, "\"");
		put_escaped(l, val, json);
		put_str(l, "\"");
	} else {
		put_escaped(l, val, false);
	}
}

/* The start of a line, up to the message: its timestamp, level, program
 * and pid (JSON: and the opening of "msg"). */
static void put_head(line_t *l, log_level_t level, bool json)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (json) {
		put_str(l, "{\"time\":\"");
		put_timestamp(l);
		put_str(l, "\",\"level\":\"");
		put_str(l, log_level_name(level));
		put_str(l, "\",\"prog\":\"");
		put_escaped(l, log_state.prog, true);
		put_str(l, "\",\"pid\":");
		put_str(l, pid);
		put_str(l, ",\"msg\":\"");
	} else {
		put_timestamp(l);
		put_str(l, " ");
		put_escaped(l, log_state.prog, false);
		put_str(l, "[");
		put_str(l, pid);
		put_str(l, "] ");
		put_str(l, log_level_name(level));
		put_str(l, ": ");
	}
}

size_t log_format_line(char *buf, size_t cap, log_level_t level, const log_field_t *fields,
		       size_t n, const char *msg)
{
	/* A cut line ends so that it still parses: text with "...", JSON with
	 * the message cut, the fields dropped and "cut":true. */
	static const char tail[] = "...", json_tail[] = "...\",\"cut\":true}";
	bool json = log_state.format == LOG_FORMAT_JSON;
	size_t room = json ? sizeof(json_tail) : sizeof(tail); /* and '\n' */
	line_t l = {buf, cap > room + 1 ? cap - room - 1 : 0, 0, false};

	if (cap == 0)
		return 0;
	put_head(&l, level, json);
	put_escaped(&l, msg, json);
	if (json)
		put_str(&l, "\"");
	for (size_t i = 0; i < n; i++) {
		put_str(&l, json ? ",\"" : " ");
		put_escaped(&l, fields[i].key, json);
		put_str(&l, json ? "\":" : "=");
		put_field_value(&l, &fields[i], json);
	}
	if (json)
		put_str(&l, "}");
	if (l.cut && json) {
		/* again, message only: the head always fits in LOG_LINE_MAX */
		static const char closing[] = "\",\"cut\":true}";

		l = (line_t){buf, l.cap, 0, false};
		put_head(&l, level, json);
		put_escaped(&l, msg, json);
		if (!l.cut) { /* the message fits: only the fields were cut */
			memcpy(buf + l.len, closing, sizeof(closing) - 1);
			l.len += sizeof(closing) - 1;
		}
	}
	if (l.cut) {
		trim_partial_utf8(&l);
		/* room for the tail was reserved in line_t.cap */
		memcpy(buf + l.len, json ? json_tail : tail, room - 1);
		l.len += room - 1;
	}
	buf[l.len++] = '\n';
	buf[l.len] = '\0';
	return l.len;
}

void log_vfields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt,
		 va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 8];
	int saved_errno = errno;
	int m, pri;
	size_t len;

	if (!log_enabled(level))
		return;
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		m = 0;
	len = (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	log_redact(msg, len);
	/* under systemd: the sd-daemon(3) priority, so journalctl -p works */
	pri = log_state.journal ? snprintf(line, sizeof(line), "<%d>", level_priority(level)) : 0;
	len = (size_t)pri +
	      log_format_line(line + pri, sizeof(line) - (size_t)pri, level, fields, n, msg);
	/* One write per line; a short write to a pipe under PIPE_BUF can't
	 * happen, and for anything else a lost tail is better than a retry
	 * loop that interleaves with other writers. */
	if (write(log_state.fd, line, len) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved_errno;
}

void log_fields(log_level_t level, const log_field_t *fields, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vfields(level, fields, n, fmt, ap);
	va_end(ap);
}
