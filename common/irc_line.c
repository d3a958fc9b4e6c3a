/*
 * irc_line: bounded line framer (see irc_line.h for the contract).
 *
 * The buffer holds at most `limit` bytes, which is exactly one line at the
 * limit: so when it is full and holds no LF, the line in it is too long,
 * whatever comes next. That line is dropped at once (its error reported
 * then, so a 417 can go out early) and the framer enters discarding mode,
 * where feed drops bytes up to the next terminator without storing them
 * (in strict mode a CR dropped last is remembered: its LF may come next).
 */
#include "common/irc_line.h"

#include <string.h>

static int line_init(irc_line_t *lf, size_t limit, bool crlf_only)
{
	if (limit == 0)
		limit = IRC_LINE_MAX;
	if (limit < 2 || limit > IRC_LINE_MAX)
		return IRC_MSG_EINVAL;
	lf->limit = limit;
	lf->start = 0;
	lf->len = 0;
	lf->scan = 0;
	lf->discarding = false;
	lf->crlf_only = crlf_only;
	lf->discard_cr = false;
	return 0;
}

int irc_line_init(irc_line_t *lf, size_t limit)
{
	return line_init(lf, limit, false);
}

int irc_line_init_strict(irc_line_t *lf, size_t limit)
{
	return line_init(lf, limit, true);
}

/* Moves the bytes not yet returned to the front of the buffer. */
static void compact(irc_line_t *lf)
{
	size_t n = lf->len - lf->start;

	if (lf->start == 0)
		return;
	memmove(lf->buf, lf->buf + lf->start, n);
	lf->scan -= lf->start;
	lf->len = n;
	lf->start = 0;
}

/* Drops data up to and including the oversized line's terminator; returns
 * the bytes dropped and clears discarding when the terminator was found. */
static size_t discard(irc_line_t *lf, const char *data, size_t len)
{
	if (!lf->crlf_only) {
		const char *nl = memchr(data, '\n', len);
		if (!nl)
			return len;
		lf->discarding = false;
		return (size_t)(nl - data) + 1;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && lf->discard_cr) {
			lf->discarding = lf->discard_cr = false;
			return i + 1;
		}
		lf->discard_cr = data[i] == '\r';
	}
	return len;
}

/* Finds the terminator of the line at start: true and *out_at, the offset
 * of its first byte (the LF, or the CR of CRLF in strict mode), or false
 * with scan moved past the bytes that cannot start one. */
static bool find_eol(irc_line_t *lf, size_t *out_at)
{
	size_t i = lf->scan;

	if (!lf->crlf_only) {
		const char *nl = memchr(lf->buf + i, '\n', lf->len - i);
		if (!nl) {
			lf->scan = lf->len;
			return false;
		}
		*out_at = (size_t)(nl - lf->buf);
		return true;
	}
	while (i < lf->len) {
		const char *cr = memchr(lf->buf + i, '\r', lf->len - i);
		if (!cr)
			break;
		i = (size_t)(cr - lf->buf);
		if (i + 1 == lf->len) {
			lf->scan = i; /* its LF may come with the next feed */
			return false;
		}
		if (lf->buf[i + 1] == '\n') {
			*out_at = i;
			return true;
		}
		i++;
	}
	lf->scan = lf->len;
	return false;
}

size_t irc_line_feed(irc_line_t *lf, const char *data, size_t len)
{
	size_t taken = 0, n;

	if (len == 0)
		return 0;
	if (lf->discarding) {
		taken = discard(lf, data, len);
		if (lf->discarding)
			return len;
	}
	compact(lf);
	n = lf->limit - lf->len;
	if (n > len - taken)
		n = len - taken;
	if (n > 0)
		memcpy(lf->buf + lf->len, data + taken, n);
	lf->len += n;
	return taken + n;
}

int irc_line_next(irc_line_t *lf, char **out_line, size_t *out_len)
{
	for (;;) {
		char *line = lf->buf + lf->start;
		size_t at, n;

		if (!find_eol(lf, &at)) {
			if (lf->len - lf->start < lf->limit)
				return IRC_MSG_EAGAIN;
			lf->discard_cr = lf->crlf_only && lf->buf[lf->len - 1] == '\r';
			lf->start = lf->len = lf->scan = 0;
			lf->discarding = true;
			return IRC_MSG_ETOOLONG;
		}
		n = at - lf->start;
		lf->start = lf->scan = at + (lf->crlf_only ? 2 : 1);
		if (!lf->crlf_only && n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n) || memchr(line, '\r', n) ||
		    (lf->crlf_only && memchr(line, '\n', n)))
			return IRC_MSG_EMALFORMED;
		if (n == 0)
			continue;
		line[n] = '\0';
		*out_line = line;
		*out_len = n;
		return 0;
	}
}

size_t irc_line_pending(const irc_line_t *lf)
{
	return lf->len - lf->start;
}
