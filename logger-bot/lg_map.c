/*
 * lg_map: string-keyed open-addressing hash map (see lg_map.h).
 */
#include "logger-bot/lg_map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_event.h"

static char tomb;
#define LG_MAP_TOMB (&tomb)

static size_t slot_of(const lg_map_t *m, const char *key, size_t len)
{
	return (size_t)archive_event_fnv64(ARCHIVE_EVENT_FNV64_INIT, key, len) & (m->cap - 1);
}

static lg_map_slot_t *find(const lg_map_t *m, const char *key, size_t len)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(m, key, len), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
		lg_map_slot_t *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != LG_MAP_TOMB && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
	return NULL;
}

void *lg_map_get(const lg_map_t *m, const char *key, size_t len)
{
	lg_map_slot_t *s = find(m, key, len);

	return s ? s->value : NULL;
}

static void insert_slot(lg_map_t *m, char *key, size_t len, void *value)
{
	size_t i = slot_of(m, key, len);

	while (m->slots[i].key && m->slots[i].key != LG_MAP_TOMB)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].key)
		m->used++;
	m->slots[i] = (lg_map_slot_t){key, len, value};
	m->n++;
}

static int grow(lg_map_t *m)
{
	size_t cap = !m->cap ? 16 : m->n * 2 >= m->cap ? m->cap * 2 : m->cap;
	lg_map_t old = *m;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->n = m->used = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key && old.slots[i].key != LG_MAP_TOMB)
			insert_slot(m, old.slots[i].key, old.slots[i].len, old.slots[i].value);
	free(old.slots);
	return 0;
}

int lg_map_put(lg_map_t *m, const char *key, size_t len, void *value)
{
	lg_map_slot_t *s = find(m, key, len);
	char *copy;

	if (s) {
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -ENOMEM;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	copy[len] = '\0';
	insert_slot(m, copy, len, value);
	return 1;
}

void *lg_map_del(lg_map_t *m, const char *key, size_t len)
{
	lg_map_slot_t *s = find(m, key, len);
	void *v;

	if (!s)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = LG_MAP_TOMB;
	s->value = NULL;
	m->n--;
	return v;
}

void lg_map_each(const lg_map_t *m, void (*fn)(void *ud, const char *key, size_t len, void *value),
		 void *ud)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != LG_MAP_TOMB)
			fn(ud, m->slots[i].key, m->slots[i].len, m->slots[i].value);
}

void lg_map_clear(lg_map_t *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != LG_MAP_TOMB)
			free(m->slots[i].key);
	free(m->slots);
	*m = (lg_map_t){0};
}
