/*
 * tokbucket: a token bucket, the one rate limit of eIRC (the browser's
 * flood limit in the irc-client, per-user request rates in eirc-history).
 * Pure: the caller passes the time in milliseconds. Levels are kept in
 * thousandths of a token so a refill every millisecond is not lost.
 */
#ifndef EIRC_TOKBUCKET_H
#define EIRC_TOKBUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tokbucket tokbucket_t;
struct tokbucket {
	uint64_t rate;        /* tokens per second */
	uint64_t burst;       /* bucket size, in tokens */
	uint64_t level_milli; /* tokens held, in thousandths */
	uint64_t last_ms;
};

/* A full bucket: burst tokens, refilled at rate per second. */
void tokbucket_init(tokbucket_t *b, uint64_t rate, uint64_t burst, uint64_t now_ms);

/* Takes n tokens at now_ms: true when the bucket held them (they are
 * taken), false when not (nothing taken). */
bool tokbucket_take(tokbucket_t *b, uint64_t n, uint64_t now_ms);

/* Milliseconds from now_ms until n tokens are held (0 when they are now);
 * UINT64_MAX when they never will be (rate 0, or n > burst). */
uint64_t tokbucket_wait_ms(tokbucket_t *b, uint64_t n, uint64_t now_ms);

#endif
