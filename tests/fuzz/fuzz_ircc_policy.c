/*
 * fuzz_ircc_policy: a byte stream through the irc-client's browser framing
 * (common/irc_line in strict CRLF mode, as ircc_app reads the gateway
 * socket), then each line through the browser-side checks (irc_msg parse
 * with IRC_MSG_F_CLIENT, the policy table, the CHATHISTORY checks). Byte 0
 * picks the read size (1..256). Every line must be non-empty, within
 * IRC_LINE_MAX - 2 bytes and free of CR, LF and NUL; the framer must
 * always make progress after a drain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/irc_line.h"
#include "irc-client/ircc_policy.h"

static void check_line(char *line, size_t len)
{
	irc_msg_t m;
	chathist_req_t req;
	chathist_err_t err;

	CHECK(len > 0 && len <= IRC_LINE_MAX - 2 && strlen(line) == len);
	CHECK(!memchr(line, '\r', len) && !memchr(line, '\n', len));
	if (irc_msg_parse(line, len, IRC_MSG_F_CLIENT, &m) < 0)
		return;
	if (ircc_policy_classify(&m) == IRCC_POL_CHATHISTORY &&
	    ircc_policy_chathist(&m, &req, &err) == 0)
		CHECK(req.limit > 0 && req.limit <= IRCC_CHATHIST_LIMIT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static irc_line_t fr;
	char *line;
	size_t len, off = 1;

	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	irc_line_init_strict(&fr, 0);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t took = irc_line_feed(&fr, (const char *)data + off, n);
		int r;
		while ((r = irc_line_next(&fr, &line, &len)) != IRC_MSG_EAGAIN) {
			CHECK(r == 0 || r == IRC_MSG_ETOOLONG || r == IRC_MSG_EMALFORMED);
			if (r == 0)
				check_line(line, len);
		}
		CHECK(took > 0);
		off += took;
	}
	return 0;
}
