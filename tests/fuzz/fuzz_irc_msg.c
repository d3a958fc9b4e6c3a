/*
 * fuzz_irc_msg: irc_msg_parse on arbitrary bytes; whatever parses must
 * serialize, parse again and compare equal. The one allowed exception: a
 * 15th param that took the rest of the line gains a ':' and may then pass
 * IRC_MSG_MAX. Checks use abort(), not assert(), which NDEBUG removes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/irc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[IRC_TAGS_MAX + IRC_MSG_MAX], out[sizeof(line) + 3], again[sizeof(out)];
	irc_msg_t m, m2;
	int n;

	if (size > sizeof(line))
		return 0;
	memcpy(line, data, size);
	if (irc_msg_parse(line, size, size % 2 ? IRC_MSG_F_CLIENT : 0, &m) < 0)
		return 0;
	CHECK(m.command.len > 0 && m.n_params <= IRC_PARAMS_MAX);
	n = irc_msg_serialize(&m, IRC_MSG_F_CRLF, out, sizeof(out));
	if (n == IRC_MSG_ETOOLONG && m.n_params == IRC_PARAMS_MAX)
		return 0;
	CHECK(n > 2 && strlen(out) == (size_t)n && memcmp(out + n - 2, "\r\n", 2) == 0);
	memcpy(again, out, (size_t)n + 1);
	CHECK(irc_msg_parse(again, (size_t)n, size % 2 ? IRC_MSG_F_CLIENT : 0, &m2) == 0);
	CHECK(irc_msg_equal(&m, &m2));
	return 0;
}
