/*
 * fuzz_access_msg: the access bus's message parser (common/access_msg).
 * Whatever it accepts is within ACCESS_MSG_MAX bytes, names a known kind
 * and a user >= 1, and prints back to the same bytes when it has no
 * leading zeros. It may never crash or read out of bounds.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/access_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char back[ACCESS_MSG_MAX + 1];
	access_msg_t m;
	int n;

	if (access_msg_parse((const char *)data, size, &m) < 0)
		return 0;
	CHECK(size <= ACCESS_MSG_MAX && m.kind < ACCESS_KINDS && m.user >= 1);
	n = snprintf(back, sizeof(back), "%s %" PRIu64 " %" PRIu64, access_msg_kind_name(m.kind),
		     m.user, m.family);
	CHECK(n > 0 && (size_t)n <= size);
	if ((size_t)n == size)
		CHECK(memcmp(back, data, size) == 0);
	return 0;
}
