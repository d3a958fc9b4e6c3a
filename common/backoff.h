/*
 * backoff: the one retry schedule of every reconnecting or retrying client
 * (IRC, Redis, Elasticsearch): exponential from min to max, with jitter so
 * a fleet that lost its server at once does not come back at once.
 *
 * Pure: no clock, no timer, no global random state. The caller owns the
 * timer and hands the jitter's random bits in, so tests are exact.
 */
#ifndef EIRC_BACKOFF_H
#define EIRC_BACKOFF_H

#include <stdint.h>

typedef struct backoff backoff_t;
struct backoff {
	uint64_t min_ms;  /* first delay (0 is taken as 1) */
	uint64_t max_ms;  /* ceiling before jitter */
	unsigned attempt; /* failures since the last success */
	uint32_t rnd;     /* xorshift32 state for the jitter; never 0 */
};

/* The delay of attempt `attempt` (0-based): d = min(min_ms * 2^attempt,
 * max_ms), then a value in [d/2, d] picked by `rnd`. Never overflows. */
uint64_t backoff_delay(uint64_t min_ms, uint64_t max_ms, unsigned attempt, uint32_t rnd);

/* A schedule from min_ms to max_ms; `seed` seeds the jitter (0 is
 * replaced by a fixed non-zero value). */
void backoff_init(backoff_t *b, uint64_t min_ms, uint64_t max_ms, uint32_t seed);

/* The delay before the next attempt; counts the attempt. */
uint64_t backoff_next(backoff_t *b);

/* After a success: the next failure waits min_ms again. */
void backoff_reset(backoff_t *b);

#endif
