/*
 * clock: the two clocks of eIRC. Wall time (CLOCK_REALTIME) is what events
 * and audit rows carry and may jump; monotonic time (CLOCK_MONOTONIC) is
 * for intervals and deadlines and never goes back. Loop code that only
 * needs "now" for timers uses uv_now(); these are for everything else.
 */
#ifndef EIRC_CLOCK_H
#define EIRC_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

/* Milliseconds on the monotonic clock (an arbitrary origin). */
uint64_t clock_mono_ms(void);

#endif
