/*
 * fuzz_vars: the parser of the NAME=value table an irc-client reads on fd
 * 4 (common/vars). Whatever it accepts is within VARS_MAX lines and
 * VARS_BYTES_MAX bytes and formats back to the same bytes; it may never
 * crash or read out of bounds.
 */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/vars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char back[VARS_BYTES_MAX];
	vars_t v = VARS_INIT;

	if (vars_parse(&v, (const char *)data, size) < 0) {
		CHECK(v.n == 0);
		return 0;
	}
	CHECK(v.n <= VARS_MAX && v.bytes == size && size <= VARS_BYTES_MAX);
	CHECK(vars_format(&v, back) == size && memcmp(back, data, size) == 0);
	vars_clear(&v);
	return 0;
}
