/*
 * backoff: exponential retry delays with jitter (see backoff.h).
 */
#include "common/backoff.h"

uint64_t backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned attempt, uint32_t rnd)
{
	uint64_t d = min_ms ? min_ms : 1;

	while (attempt-- > 0 && d < max_ms)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d - (d / 2) * (rnd % 1024) / 1023;
}

void backoff_init(backoff_t *b, uint64_t min_ms, uint64_t max_ms, uint32_t seed)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->attempt = 0;
	b->rnd = seed ? seed : 0x9e3779b9u;
}

uint64_t backoff_next(backoff_t *b)
{
	b->rnd ^= b->rnd << 13; /* xorshift32: jitter only, not crypto */
	b->rnd ^= b->rnd >> 17;
	b->rnd ^= b->rnd << 5;
	return backoff_delay(b->min_ms, b->max_ms, b->attempt++, b->rnd);
}

void backoff_reset(backoff_t *b)
{
	b->attempt = 0;
}
