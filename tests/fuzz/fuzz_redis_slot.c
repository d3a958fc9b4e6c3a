/*
 * fuzz_redis_slot: Redis Cluster routing's parsers (common/redis_slot).
 * Byte 0 even: the rest is a formatted command for redis_slot_route; a key it
 * returns must lie inside the input, and its slot must be in range. Byte 0
 * odd: the rest (NUL-terminated copy) is an error reply for
 * redis_slot_redirect (the address must fit the buffer, the slot the range).
 * Neither may crash or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "common/redis_slot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *key = NULL;
	char addr[REDIS_SLOT_ADDR_MAX], *s;
	size_t len = size ? size - 1 : 0, klen = 0;
	bool ask;
	int slot;

	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		if (redis_slot_route(p, len, &key, &klen) == REDIS_SLOT_KEY) {
			CHECK(key >= p && key + klen <= p + len);
			slot = redis_slot_of(key, klen);
			CHECK(slot >= 0 && slot < REDIS_SLOT_COUNT);
		}
		return 0;
	}
	if (!(s = malloc(len + 1)))
		return 0;
	memcpy(s, p, len);
	s[len] = '\0';
	if (redis_slot_redirect(s, &ask, &slot, addr, sizeof(addr)) == 0)
		CHECK(slot >= 0 && slot < REDIS_SLOT_COUNT && strlen(addr) < sizeof(addr));
	free(s);
	return 0;
}
