/*
 * ircc_flood: token bucket (see ircc_flood.h). Levels are kept in
 * thousandths of a token so a refill every millisecond is not lost.
 */
#include "irc-client/ircc_flood.h"

void ircc_flood_init(struct ircc_flood *b, uint64_t rate, uint64_t burst, uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst;
	b->level_milli = burst * 1000;
	b->last_ms = now_ms;
}

bool ircc_flood_take(struct ircc_flood *b, uint64_t n, uint64_t now_ms)
{
	uint64_t cap = b->burst * 1000;

	if (now_ms > b->last_ms) {
		uint64_t dt = now_ms - b->last_ms;
		/* dt * rate cannot overflow for any sane uptime; clamp anyway. */
		uint64_t add = dt > cap ? cap : dt * b->rate;
		b->level_milli = b->level_milli + add > cap ? cap : b->level_milli + add;
		b->last_ms = now_ms;
	}
	if (b->level_milli < n * 1000)
		return false;
	b->level_milli -= n * 1000;
	return true;
}
