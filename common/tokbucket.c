/*
 * tokbucket: token bucket (see tokbucket.h).
 */
#include "common/tokbucket.h"

void tokbucket_init(tokbucket_t *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->level_milli = burst * 1000;
	b->last_ms = now_ms;
}

static void refill(tokbucket_t *b, uint64_t now_ms)
{
	uint64_t cap = b->burst * 1000;

	if (now_ms > b->last_ms) {
		uint64_t dt = now_ms - b->last_ms;
		/* dt * rate cannot overflow for any sane uptime; clamp anyway
		 * (a bucket of rate 0 never refills, however long the pause). */
		uint64_t add = b->rate == 0 ? 0 : dt > cap ? cap : dt * b->rate;
		b->level_milli = b->level_milli + add > cap ? cap : b->level_milli + add;
		b->last_ms = now_ms;
	}
}

bool tokbucket_take(tokbucket_t *b, uint64_t n, uint64_t now_ms)
{
	refill(b, now_ms);
	if (b->level_milli < n * 1000)
		return false;
	b->level_milli -= n * 1000;
	return true;
}

uint64_t tokbucket_wait_ms(tokbucket_t *b, uint64_t n, uint64_t now_ms)
{
	uint64_t need;

	refill(b, now_ms);
	if (b->level_milli >= n * 1000)
		return 0;
	if (b->rate == 0 || n > b->burst)
		return UINT64_MAX;
	need = n * 1000 - b->level_milli;
	return (need + b->rate - 1) / b->rate;
}
