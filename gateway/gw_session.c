/*
 * gw_session: the session table. See gw_session.h.
 */
#include "gateway/gw_session.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static size_t table_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h & (GW_TABLE_BUCKETS - 1);
}

gw_session_t *gw_session_new(void)
{
	gw_session_t *ss = malloc(sizeof(*ss));

	if (!ss)
		return NULL;
	memset(ss, 0, offsetof(gw_session_t, from_irc));
	irc_line_init(&ss->from_irc, 0);
	gw_frame_init(&ss->frame);
	return ss;
}

void gw_table_init(gw_table_t *t)
{
	memset(t, 0, sizeof(*t));
}

static gw_ipcount_t **ip_slot(const gw_table_t *t, const char *ip)
{
	gw_ipcount_t *const *pp = &t->by_ip[table_hash(ip)];

	while (*pp && strcmp((*pp)->ip, ip))
		pp = &(*pp)->next;
	return (gw_ipcount_t **)pp;
}

int gw_table_ip_count(const gw_table_t *t, const char *ip)
{
	gw_ipcount_t *c = *ip_slot(t, ip);

	return c ? c->count : 0;
}

gw_session_t *gw_table_find(const gw_table_t *t, const char *request_id)
{
	gw_session_t *s = t->by_id[table_hash(request_id)];

	while (s && strcmp(s->request_id, request_id))
		s = s->hnext;
	return s;
}

int gw_table_add(gw_table_t *t, gw_session_t *s)
{
	gw_ipcount_t **cp = ip_slot(t, s->client_ip);
	size_t h = table_hash(s->request_id);

	if (gw_table_find(t, s->request_id))
		return -EEXIST;
	if (!*cp) {
		if (!(*cp = calloc(1, sizeof(**cp))))
			return -ENOMEM;
		memcpy((*cp)->ip, s->client_ip, sizeof((*cp)->ip));
	}
	(*cp)->count++;
	s->hnext = t->by_id[h];
	t->by_id[h] = s;
	s->prev = NULL;
	s->next = t->all;
	if (t->all)
		t->all->prev = s;
	t->all = s;
	t->count++;
	return 0;
}

void gw_table_remove(gw_table_t *t, gw_session_t *s)
{
	gw_session_t **pp = &t->by_id[table_hash(s->request_id)];
	gw_ipcount_t **cp = ip_slot(t, s->client_ip), *c = *cp;

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		t->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = s->hnext = NULL;
	t->count--;
	if (c && --c->count == 0) {
		*cp = c->next;
		free(c);
	}
}
