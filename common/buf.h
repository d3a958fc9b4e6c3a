/*
 * buf: a growable byte buffer with a hard limit, for bodies, queued output
 * and anything a peer can make us hold. Consumed bytes are dropped from the
 * front lazily (an offset), so appending and consuming are both amortised
 * O(1). It is not a string builder for C strings only: it holds any bytes,
 * though it keeps a NUL after the data so text can be read in place.
 */
#ifndef EIRC_BUF_H
#define EIRC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf buf_t;
struct buf {
	char *data;   /* NULL until the first append */
	size_t off;   /* consumed bytes at the front */
	size_t len;   /* bytes held after off */
	size_t cap;   /* allocated, without the NUL */
	size_t limit; /* len never exceeds this */
};

/* An empty buffer that will hold at most `limit` bytes. */
void buf_init(buf_t *b, size_t limit);

/* The bytes held (NUL-terminated when non-empty) and their count. */
static inline const char *buf_data(const buf_t *b)
{
	return b->data ? b->data + b->off : "";
}

static inline size_t buf_len(const buf_t *b)
{
	return b->len;
}

/* Appends n bytes: 0, -EMSGSIZE past the limit (nothing appended),
 * -ENOMEM. */
int buf_append(buf_t *b, const void *p, size_t n);

/* Appends formatted text, same returns. */
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drops n bytes (at most len) from the front. */
void buf_consume(buf_t *b, size_t n);

/* Keeps the first n bytes held and drops the rest (a writer's rollback to
 * a length it saw earlier); n >= len changes nothing. Keeps the memory. */
void buf_truncate(buf_t *b, size_t n);

/* Empties the buffer, keeping its memory. */
void buf_reset(buf_t *b);

/* Hands the bytes to the caller as a malloc'd NUL-terminated string (an
 * empty one when nothing is held; NULL on -ENOMEM) and empties the buffer. */
char *buf_steal(buf_t *b);

/* Frees the memory; the buffer is empty and usable again. */
void buf_free(buf_t *b);

#endif
