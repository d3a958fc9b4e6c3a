/*
 * fuzz_gw_frame: the gateway's browser message assembler. Byte 0 holds
 * flags (binary; chunk size 1..64 from its upper bits); the rest is one
 * message cut into chunks. A line must end in CRLF, be at most
 * GW_LINE_MAX + 2 bytes, hold no CR/LF/NUL before it, and be valid UTF-8
 * in text mode; the same bytes then go back through gw_frame_to_browser.
 * Every line the irc-client would take as the gateway's control line
 * (starting "EIRC" then a space or the CRLF, any case) is one
 * gw_frame_is_control refuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fuzz/fuzz.h"
#include "common/utf8.h"
#include "gateway/gw_frame.h"

static void check_line(const char *line, size_t len, bool binary)
{
	static char out[GW_TO_BROWSER_MAX(GW_LINE_MAX + 2)];
	size_t n = 0;

	CHECK(len >= 3 && len <= GW_LINE_MAX + 2);
	CHECK(line[len - 2] == '\r' && line[len - 1] == '\n');
	CHECK(!memchr(line, '\r', len - 2) && !memchr(line, '\n', len - 2) &&
	      !memchr(line, '\0', len - 2));
	CHECK(binary || utf8_is_valid(line, len - 2));
	CHECK(gw_frame_to_browser(line, len - 2, binary, out, sizeof(out), &n) == 0);
	CHECK(utf8_is_valid(out, n) || binary);
	if (len >= 6 && strncasecmp(line, "EIRC", 4) == 0 && (line[4] == ' ' || line[4] == '\r'))
		CHECK(gw_frame_is_control(line, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static gw_frame_t f;
	const char *line;
	size_t len, off = 1, chunk;
	bool binary;
	int r = GW_FRAME_MORE;

	if (size < 1)
		return 0;
	binary = data[0] & 1;
	chunk = (size_t)(data[0] >> 2) + 1;
	gw_frame_init(&f);
	while (off < size || off == 1) {
		size_t n = size - off < chunk ? size - off : chunk;
		r = gw_frame_feed(&f, data + off, n, off == 1, off + n == size, binary, 0, &line,
				  &len);
		off += n;
		if (r < 0 || r != GW_FRAME_MORE || n == 0)
			break;
	}
	if (r == GW_FRAME_LINE)
		check_line(line, len, binary);
	return 0;
}
