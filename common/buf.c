/*
 * buf: growable byte buffer with a limit (see buf.h).
 */
#include "common/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t limit)
{
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	b->limit = limit;
}

/* Room for `n` more bytes and the NUL, after moving the live bytes to the
 * front when that is enough. */
static int reserve(buf_t *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > b->limit - b->len)
		return -EMSGSIZE;
	want = b->len + n;
	if (b->data && b->off + want <= b->cap)
		return 0;
	if (b->data && want <= b->cap && b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		return 0;
	}
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > b->limit)
		cap = b->limit > want ? b->limit : want;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	p = realloc(b->data, cap + 1);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
	int rc = reserve(b, n);

	if (rc < 0)
		return rc;
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	b->data[b->off + b->len] = '\0';
	return 0;
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	rc = reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->off + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_consume(buf_t *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	b->off += n;
	b->len -= n;
}

void buf_truncate(buf_t *b, size_t n)
{
	if (n >= b->len)
		return;
	b->len = n;
	b->data[b->off + n] = '\0';
}

void buf_reset(buf_t *b)
{
	b->off = b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_steal(buf_t *b)
{
	char *s;

	if (!b->data)
		return calloc(1, 1);
	if (b->off > 0)
		memmove(b->data, b->data + b->off, b->len + 1);
	s = b->data;
	buf_init(b, b->limit);
	return s;
}

void buf_free(buf_t *b)
{
	free(b->data);
	buf_init(b, b->limit);
}
