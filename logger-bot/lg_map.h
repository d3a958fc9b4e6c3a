/*
 * lg_map: a small hash map from byte strings (copied) to pointers, with
 * open addressing and tombstones. Used for the logger's channel and member
 * tables. Not thread-safe; no iteration order.
 */
#ifndef EIRC_LOGGER_LG_MAP_H
#define EIRC_LOGGER_LG_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lg_map_slot lg_map_slot_t;
struct lg_map_slot {
	char *key; /* NULL: empty; LG_MAP_TOMB: removed */
	size_t len;
	void *value;
};

typedef struct lg_map lg_map_t;
struct lg_map {
	lg_map_slot_t *slots;
	size_t cap;  /* power of two, or 0 */
	size_t n;    /* live keys */
	size_t used; /* live keys plus tombstones */
};

/* Returns the value of key, or NULL. */
void *lg_map_get(const lg_map_t *m, const char *key, size_t len);
/* Inserts or replaces. Returns 0, 1 when the key was new, or -ENOMEM. */
int lg_map_put(lg_map_t *m, const char *key, size_t len, void *value);
/* Removes key; returns its value or NULL. */
void *lg_map_del(lg_map_t *m, const char *key, size_t len);
/* Calls fn for each live key; fn must not change the map. */
void lg_map_each(const lg_map_t *m, void (*fn)(void *ud, const char *key, size_t len, void *value),
		 void *ud);
/* Frees the keys and the table (not the values). */
void lg_map_clear(lg_map_t *m);

#endif
