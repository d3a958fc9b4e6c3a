/*
 * fuzz.h: what every libFuzzer target of eIRC shares: the entry point's
 * prototype (libFuzzer declares none) and CHECK, an assertion that aborts
 * so libFuzzer keeps the input, in every build type (assert() is gone
 * under NDEBUG).
 */
#ifndef EIRC_FUZZ_H
#define EIRC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
