/*
 * ircc_frame: strict CRLF framer for the gateway socket (see ircc_frame.h).
 */
#include "irc-client/ircc_frame.h"

#include <string.h>

void ircc_frame_init(struct ircc_frame *f)
{
	f->start = f->len = f->scan = 0;
	f->discarding = false;
}

size_t ircc_frame_feed(struct ircc_frame *f, const char *data, size_t len)
{
	if (f->start > 0) {
		memmove(f->buf, f->buf + f->start, f->len - f->start);
		f->len -= f->start;
		f->scan -= f->start;
		f->start = 0;
	}
	size_t room = sizeof(f->buf) - f->len;
	size_t n = len < room ? len : room;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return n;
}

/* Drops an oversized line's bytes up to and including its CRLF. Returns
 * true when the CRLF was found. A trailing CR is kept: its LF may come. */
static bool discard(struct ircc_frame *f)
{
	for (size_t i = f->start; i + 1 < f->len; i++) {
		if (f->buf[i] == '\r' && f->buf[i + 1] == '\n') {
			f->start = f->scan = i + 2;
			f->discarding = false;
			return true;
		}
	}
	bool keep_cr = f->len > f->start && f->buf[f->len - 1] == '\r';
	f->start = f->scan = keep_cr ? f->len - 1 : f->len;
	return false;
}

static bool line_clean(const char *s, size_t n)
{
	return !memchr(s, '\0', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n);
}

int ircc_frame_next(struct ircc_frame *f, char **out_line, size_t *out_len)
{
	for (;;) {
		if (f->discarding && !discard(f))
			return IRC_MSG_EAGAIN;
		size_t i = f->scan > f->start ? f->scan : f->start;
		for (; i + 1 < f->len; i++)
			if (f->buf[i] == '\r' && f->buf[i + 1] == '\n')
				break;
		if (i + 1 >= f->len) {
			f->scan = f->len > f->start ? f->len - 1 : f->start;
			if (f->len - f->start < sizeof(f->buf))
				return IRC_MSG_EAGAIN;
			f->discarding = true;
			return IRC_MSG_ETOOLONG;
		}
		char *line = f->buf + f->start;
		size_t n = i - f->start;
		f->start = f->scan = i + 2;
		if (n == 0)
			continue;
		if (!line_clean(line, n))
			return IRC_MSG_EMALFORMED;
		line[n] = '\0';
		*out_line = line;
		*out_len = n;
		return 0;
	}
}
