/*
 * queue: one intrusive, circular, doubly-linked list for the whole tree
 * (the shape of libuv's queue.h and the kernel's list.h).
 *
 * A struct that lives on a list embeds a `queue_t` node; the list
 * itself is a `queue_t` head. Nothing is allocated: insert and remove
 * are O(1) and cannot fail, and a node knows how to unlink itself, so
 * owners never search a list to drop an entry. It is not a container of
 * values and does no locking.
 *
 *     struct job { int id; queue_t node; };
 *     queue_t jobs;
 *     queue_init(&jobs);
 *     queue_insert_tail(&jobs, &j->node);
 *     queue_t *q;
 *     QUEUE_FOREACH(q, &jobs) { struct job *j = queue_data(q, struct job, node); ... }
 *     while (!queue_empty(&jobs)) { q = queue_head(&jobs); queue_remove(q); ... }
 */
#ifndef EIRC_QUEUE_H
#define EIRC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct queue queue_t;
struct queue {
	queue_t *next;
	queue_t *prev;
};

/* The struct of type `type` whose member `field` is the node `ptr`. */
#define queue_data(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))

/* Every node of `h`, first to last. Do not remove `q` inside the loop; use
 * QUEUE_FOREACH_SAFE for that. */
#define QUEUE_FOREACH(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

/* Same, with `n` holding the next node so `q` may be removed. */
#define QUEUE_FOREACH_SAFE(q, n, h)                                                                \
	for ((q) = (h)->next, (n) = (q)->next; (q) != (h); (q) = (n), (n) = (q)->next)

/* An empty list, or a node that is on no list (queue_remove is then a no-op). */
static inline void queue_init(queue_t *q)
{
	q->next = q;
	q->prev = q;
}

static inline bool queue_empty(const queue_t *h)
{
	return h->next == h;
}

/* First node, or `h` itself when the list is empty. */
static inline queue_t *queue_head(const queue_t *h)
{
	return h->next;
}

/* Last node, or `h` itself when the list is empty. */
static inline queue_t *queue_tail(const queue_t *h)
{
	return h->prev;
}

static inline void queue_insert_tail(queue_t *h, queue_t *q)
{
	q->next = h;
	q->prev = h->prev;
	q->prev->next = q;
	h->prev = q;
}

static inline void queue_insert_head(queue_t *h, queue_t *q)
{
	q->next = h->next;
	q->prev = h;
	q->next->prev = q;
	h->next = q;
}

/* Unlinks `q` from its list and leaves it as an empty node, so removing it
 * twice is harmless. */
static inline void queue_remove(queue_t *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	queue_init(q);
}

/* Moves every node of `from` to the tail of `to`; `from` ends empty. */
static inline void queue_move(queue_t *from, queue_t *to)
{
	if (queue_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	queue_init(from);
}

#endif
