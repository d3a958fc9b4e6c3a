/*
 * fuzz_irc_line: a byte stream through the framer. Input byte 0 picks the
 * line limit (below 2: the default), byte 1 the read size (1..256); the
 * rest is the stream. Every line must be non-empty, under the limit, free
 * of CR/LF/NUL; feeding after a drain must always make progress; each line
 * that parses must round-trip through irc_msg.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/irc_line.h"

static void round_trip(char *line, size_t len)
{
	static char out[IRC_LINE_MAX + 1];
	irc_msg_t m, m2;
	int n;

	if (irc_msg_parse(line, len, 0, &m) < 0)
		return;
	n = irc_msg_serialize(&m, 0, out, sizeof(out));
	CHECK(n >= 0 || (n == IRC_MSG_ETOOLONG && m.n_params == IRC_PARAMS_MAX));
	CHECK(n < 0 || (irc_msg_parse(out, (size_t)n, 0, &m2) == 0 && irc_msg_equal(&m, &m2)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static irc_line_t lf;
	size_t chunk, off = 2;
	char *line;
	size_t len;
	int rc;

	if (size < 2 || irc_line_init(&lf, data[0] < 2 ? 0 : data[0]) < 0)
		return 0;
	chunk = (size_t)data[1] + 1;
	while (off < size) {
		size_t took = irc_line_feed(&lf, (const char *)data + off,
					    size - off < chunk ? size - off : chunk);
		CHECK(took > 0 && irc_line_pending(&lf) < lf.limit + 1);
		off += took;
		while ((rc = irc_line_next(&lf, &line, &len)) != IRC_MSG_EAGAIN) {
			CHECK(rc == 0 || rc == IRC_MSG_ETOOLONG || rc == IRC_MSG_EMALFORMED);
			if (rc < 0)
				continue;
			CHECK(len > 0 && len < lf.limit && strlen(line) == len &&
			      !memchr(line, '\r', len));
			round_trip(line, len);
		}
	}
	return 0;
}
