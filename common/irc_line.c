/*
 * irc_line: bounded line framer (see irc_line.h for the contract).
 *
 * The buffer holds at most `limit` bytes, which is exactly one line at the
 * limit: so when it is full and holds no LF, the line in it is too long,
 * whatever comes next. That line is dropped at once (its error reported
 * then, so a 417 can go out early) and the framer enters discarding mode,
 * where feed drops bytes up to the next LF without storing them.
 */
#include "common/irc_line.h"

#include <string.h>

int irc_line_init(struct irc_line *lf, size_t limit)
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
	return 0;
}

/* Moves the bytes not yet returned to the front of the buffer. */
static void compact(struct irc_line *lf)
{
	size_t n = lf->len - lf->start;

	if (lf->start == 0)
		return;
	memmove(lf->buf, lf->buf + lf->start, n);
	lf->scan -= lf->start;
	lf->len = n;
	lf->start = 0;
}

size_t irc_line_feed(struct irc_line *lf, const char *data, size_t len)
{
	size_t taken = 0, n;

	if (len == 0)
		return 0;
	if (lf->discarding) {
		const char *nl = memchr(data, '\n', len);
		if (!nl)
			return len;
		taken = (size_t)(nl - data) + 1;
		lf->discarding = false;
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

int irc_line_next(struct irc_line *lf, char **out_line, size_t *out_len)
{
	for (;;) {
		char *line = lf->buf + lf->start;
		char *nl = memchr(lf->buf + lf->scan, '\n', lf->len - lf->scan);
		size_t n;

		if (!nl) {
			lf->scan = lf->len;
			if (lf->len - lf->start < lf->limit)
				return IRC_MSG_EAGAIN;
			lf->start = lf->len = lf->scan = 0;
			lf->discarding = true;
			return IRC_MSG_ETOOLONG;
		}
		n = (size_t)(nl - line);
		lf->start += n + 1;
		lf->scan = lf->start;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n) || memchr(line, '\r', n))
			return IRC_MSG_EMALFORMED;
		if (n == 0)
			continue;
		line[n] = '\0';
		*out_line = line;
		*out_len = n;
		return 0;
	}
}

size_t irc_line_pending(const struct irc_line *lf)
{
	return lf->len - lf->start;
}
