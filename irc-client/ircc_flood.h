/*
 * ircc_flood: a token bucket, the browser's flood limit (lines per second
 * and bytes per second, each with a burst). Pure: the caller passes the
 * time in milliseconds.
 */
#ifndef EIRC_IRCC_FLOOD_H
#define EIRC_IRCC_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

struct ircc_flood {
	uint64_t rate;                  /* tokens per second */
	uint64_t burst;                 /* bucket size, in tokens */
	uint64_t level_milli;           /* tokens held, in thousandths */
	uint64_t last_ms;
};

/* A full bucket: burst tokens, refilled at rate per second. */
void ircc_flood_init(struct ircc_flood *b, uint64_t rate, uint64_t burst, uint64_t now_ms);

/* Takes n tokens at now_ms: true when the bucket held them (they are
 * taken), false when not (nothing taken). */
bool ircc_flood_take(struct ircc_flood *b, uint64_t n, uint64_t now_ms);

#endif
