/*
 * auth_ratelimit: failed-login accounting with exponential lockout, per
 * key: eirc-auth's per-address limit. (The per-account limit is not here:
 * it is in PostgreSQL, shared by every process; auth_oauth.c.)
 *
 * Each key counts failures in a sliding minute. When the count reaches the
 * limit, the key is locked for 1 s, and each further lockout of the same key
 * doubles that, up to lockout_max. A success clears the key. Time comes in
 * as a parameter (milliseconds), so tests need no clock.
 *
 * Memory is bounded: at most AUTH_RL_ENTRIES keys are tracked; when the
 * table is full, the entry seen least recently in a small probe window is
 * reused. State is per process: several eirc-auth instances each enforce
 * their own per-address limit (docs/api.md says so).
 */
#ifndef EIRC_AUTH_RATELIMIT_H
#define EIRC_AUTH_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_RL_ENTRIES       8192 /* keys tracked per table */
#define AUTH_RL_KEY_MAX       128  /* bytes of a key that are compared */
#define AUTH_RL_WINDOW_MS     60000
#define AUTH_RL_FIRST_LOCK_MS 1000

typedef struct auth_ratelimit auth_ratelimit_t;

/* limit: failures per window before lockout (>= 1). NULL on ENOMEM. */
auth_ratelimit_t *auth_ratelimit_new(uint32_t limit, uint64_t lockout_max_ms);
void auth_ratelimit_free(auth_ratelimit_t *rl);

/*
 * Returns 0 when `key` may try now, or the milliseconds left of its lockout.
 */
uint64_t auth_ratelimit_check(auth_ratelimit_t *rl, const char *key, uint64_t now_ms);

/* Records a failure of `key`; returns the lockout it starts (ms), or 0. */
uint64_t auth_ratelimit_fail(auth_ratelimit_t *rl, const char *key, uint64_t now_ms);

/* Records a success: forgets `key`. */
void auth_ratelimit_success(auth_ratelimit_t *rl, const char *key);

#endif
