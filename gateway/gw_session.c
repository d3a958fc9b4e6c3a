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
	queue_init(&ss->id_node);
	queue_init(&ss->all_node);
	queue_init(&ss->user_node);
	queue_init(&ss->q);
	irc_line_init(&ss->from_irc, 0);
	gw_frame_init(&ss->frame);
	return ss;
}

void gw_table_init(gw_table_t *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < GW_TABLE_BUCKETS; i++) {
		queue_init(&t->by_id[i]);
		queue_init(&t->by_ip[i]);
	}
	queue_init(&t->all);
}

/* The entry of bucket h whose key (at key_off bytes from its node) is key,
 * as a node; NULL when none. Sessions and address counts share it. */
static queue_t *bucket_find(const queue_t *h, size_t key_off, const char *key)
{
	queue_t *q;

	QUEUE_FOREACH(q, h) {
		if (strcmp((const char *)q + key_off, key) == 0)
			return q;
	}
	return NULL;
}

#define IP_KEY_OFF (offsetof(gw_ipcount_t, ip) - offsetof(gw_ipcount_t, node))
#define ID_KEY_OFF (offsetof(gw_session_t, request_id) - offsetof(gw_session_t, id_node))

static gw_ipcount_t *ip_find(const gw_table_t *t, const char *ip)
{
	queue_t *q = bucket_find(&t->by_ip[table_hash(ip)], IP_KEY_OFF, ip);

	return q ? queue_data(q, gw_ipcount_t, node) : NULL;
}

int gw_table_ip_count(const gw_table_t *t, const char *ip)
{
	gw_ipcount_t *c = ip_find(t, ip);

	return c ? c->count : 0;
}

gw_session_t *gw_table_find(const gw_table_t *t, const char *request_id)
{
	queue_t *q = bucket_find(&t->by_id[table_hash(request_id)], ID_KEY_OFF, request_id);

	return q ? queue_data(q, gw_session_t, id_node) : NULL;
}

int gw_table_add(gw_table_t *t, gw_session_t *s)
{
	gw_ipcount_t *c = ip_find(t, s->client_ip);

	if (gw_table_find(t, s->request_id))
		return -EEXIST;
	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return -ENOMEM;
		memcpy(c->ip, s->client_ip, sizeof(c->ip));
		queue_insert_head(&t->by_ip[table_hash(c->ip)], &c->node);
	}
	c->count++;
	queue_insert_head(&t->by_id[table_hash(s->request_id)], &s->id_node);
	queue_insert_head(&t->all, &s->all_node);
	t->count++;
	return 0;
}

void gw_table_remove(gw_table_t *t, gw_session_t *s)
{
	gw_ipcount_t *c = ip_find(t, s->client_ip);

	queue_remove(&s->id_node);
	queue_remove(&s->all_node);
	t->count--;
	if (c && --c->count == 0) {
		queue_remove(&c->node);
		free(c);
	}
}
