/*
 * auth_ratelimit: see auth_ratelimit.h. An open-addressed table with a
 * bounded probe; entries are never allocated one by one.
 */
#include "auth/auth_ratelimit.h"

#include <stdlib.h>
#include <string.h>

#define RL_PROBE 8

typedef struct rl_entry {
	char key[AUTH_RL_KEY_MAX + 1];
	uint64_t window_start;
	uint64_t locked_until;
	uint64_t last_seen;
	uint32_t failures;
	uint32_t lockouts;
	bool used;
} rl_entry_t;

struct auth_ratelimit {
	uint32_t limit;
	uint64_t lockout_max;
	rl_entry_t *v;
};

auth_ratelimit_t *auth_ratelimit_new(uint32_t limit, uint64_t lockout_max_ms)
{
	auth_ratelimit_t *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	rl->v = calloc(AUTH_RL_ENTRIES, sizeof(rl_entry_t));
	if (!rl->v) {
		free(rl);
		return NULL;
	}
	rl->limit = limit ? limit : 1;
	rl->lockout_max = lockout_max_ms;
	return rl;
}

void auth_ratelimit_free(auth_ratelimit_t *rl)
{
	if (!rl)
		return;
	free(rl->v);
	free(rl);
}

static uint32_t rl_hash(const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; key[i] && i < AUTH_RL_KEY_MAX; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

static bool rl_same(const rl_entry_t *e, const char *key)
{
	return e->used && strncmp(e->key, key, AUTH_RL_KEY_MAX) == 0;
}

/* The entry of key, or NULL; with create, a fresh or recycled slot. */
static rl_entry_t *rl_find(auth_ratelimit_t *rl, const char *key, bool create)
{
	uint32_t h = rl_hash(key);
	rl_entry_t *oldest = NULL, *free_slot = NULL, *e;

	for (uint32_t i = 0; i < RL_PROBE; i++) {
		e = &rl->v[(h + i) % AUTH_RL_ENTRIES];
		if (rl_same(e, key))
			return e;
		if (!e->used) {
			if (!free_slot)
				free_slot = e;
		} else if (!oldest || e->last_seen < oldest->last_seen) {
			oldest = e;
		}
	}
	if (!create)
		return NULL;
	e = free_slot ? free_slot : oldest;
	memset(e, 0, sizeof(*e));
	e->used = true;
	strncpy(e->key, key, AUTH_RL_KEY_MAX);
	return e;
}

uint64_t auth_ratelimit_check(auth_ratelimit_t *rl, const char *key, uint64_t now_ms)
{
	rl_entry_t *e = rl_find(rl, key, false);

	if (!e || e->locked_until <= now_ms)
		return 0;
	return e->locked_until - now_ms;
}

uint64_t auth_ratelimit_fail(auth_ratelimit_t *rl, const char *key, uint64_t now_ms)
{
	rl_entry_t *e = rl_find(rl, key, true);
	uint64_t lock;

	/* a key quiet for twice the longest lockout starts over */
	if (e->last_seen && now_ms - e->last_seen > 2 * rl->lockout_max &&
	    e->locked_until <= now_ms)
		e->lockouts = 0;
	e->last_seen = now_ms;
	if (now_ms - e->window_start >= AUTH_RL_WINDOW_MS || e->failures == 0) {
		e->window_start = now_ms;
		e->failures = 0;
	}
	e->failures++;
	if (e->failures < rl->limit)
		return 0;
	lock = AUTH_RL_FIRST_LOCK_MS;
	for (uint32_t i = 0; i < e->lockouts && lock < rl->lockout_max; i++)
		lock *= 2;
	if (lock > rl->lockout_max)
		lock = rl->lockout_max;
	e->lockouts++;
	e->failures = 0;
	e->locked_until = now_ms + lock;
	return lock;
}

void auth_ratelimit_success(auth_ratelimit_t *rl, const char *key)
{
	rl_entry_t *e = rl_find(rl, key, false);

	if (e)
		memset(e, 0, sizeof(*e));
}
