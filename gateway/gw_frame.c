/*
 * gw_frame: pure relay message rules. See gw_frame.h.
 */
#include "gateway/gw_frame.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"

void gw_frame_init(gw_frame_t *f)
{
	f->len = 0;
	f->utf8_ok = 0;
	f->err = 0;
}

static int frame_fail(gw_frame_t *f, int err)
{
	f->err = err;
	f->len = 0;
	return err;
}

/* Checks the new bytes of a text message; a sequence cut at the end of the
 * chunk waits for the next one unless the message is final. */
static bool frame_utf8(gw_frame_t *f, bool final)
{
	bool incomplete = false;
	size_t n = utf8_valid_prefix(f->buf + f->utf8_ok, f->len - f->utf8_ok, &incomplete);

	f->utf8_ok += n;
	if (f->utf8_ok == f->len)
		return true;
	return incomplete && !final;
}

int gw_frame_feed(gw_frame_t *f, const void *chunk, size_t len, bool first, bool final, bool binary,
		  size_t remaining, const char **out_line, size_t *out_len)
{
	const char *c = chunk;

	if (f->err)
		return f->err;
	if (first) {
		f->len = 0;
		f->utf8_ok = 0;
	}
	if (len > GW_LINE_MAX - f->len || remaining > GW_LINE_MAX - f->len - len)
		return frame_fail(f, GW_FRAME_ETOOBIG);
	for (size_t i = 0; i < len; i++)
		if (c[i] == '\r' || c[i] == '\n' || c[i] == '\0')
			return frame_fail(f, GW_FRAME_ECRLF);
	if (len)
		memcpy(f->buf + f->len, c, len);
	f->len += len;
	if (!binary && !frame_utf8(f, final))
		return frame_fail(f, GW_FRAME_EUTF8);
	if (!final)
		return GW_FRAME_MORE;
	if (f->len == 0)
		return GW_FRAME_EMPTY;
	f->buf[f->len] = '\r';
	f->buf[f->len + 1] = '\n';
	*out_line = f->buf;
	*out_len = f->len + 2;
	f->len = 0;
	f->utf8_ok = 0;
	return GW_FRAME_LINE;
}

int gw_frame_to_browser(const char *line, size_t len, bool binary, char *out, size_t cap,
			size_t *out_len)
{
	if (binary) {
		if (len > cap)
			return -ENOBUFS;
		memcpy(out, line, len);
		*out_len = len;
		return 0;
	}
	return utf8_sanitize(line, len, out, cap, out_len) < 0 ? -ENOBUFS : 0;
}

/* What each framing error closes the WebSocket with, and its metrics label;
 * the last row is for anything else. */
static const struct {
	int err;
	int code;
	const char *reason;
	const char *label;
} frame_errors[] = {
	{GW_FRAME_ETOOBIG, 1009, "message too big", "too_big"},
	{GW_FRAME_ECRLF, 1008, "line contains CR, LF or NUL", "crlf_nul"},
	{GW_FRAME_EUTF8, 1007, "invalid UTF-8", "invalid_utf8"},
	{0, 1011, "internal error", "other"},
};

static size_t frame_error(int err)
{
	size_t i = 0;

	while (frame_errors[i].err != 0 && frame_errors[i].err != err)
		i++;
	return i;
}

int gw_frame_close_code(int err)
{
	return frame_errors[frame_error(err)].code;
}

const char *gw_frame_close_reason(int err)
{
	return frame_errors[frame_error(err)].reason;
}

const char *gw_frame_error_label(int err)
{
	return frame_errors[frame_error(err)].label;
}

/* Skips spaces, then a word starting with lead (if any) and its spaces. */
static size_t skip_prefix(const char *l, size_t i, size_t len, char lead)
{
	while (i < len && l[i] == ' ')
		i++;
	if (i < len && l[i] == lead) {
		while (i < len && l[i] != ' ')
			i++;
		while (i < len && l[i] == ' ')
			i++;
	}
	return i;
}

bool gw_frame_is_control(const char *line, size_t len)
{
	size_t i = skip_prefix(line, skip_prefix(line, 0, len, '@'), len, ':');

	return len - i >= 4 && strncasecmp(line + i, "EIRC", 4) == 0 &&
	       (len - i == 4 || line[i + 4] == ' ' || line[i + 4] == '\r' || line[i + 4] == '\n');
}
