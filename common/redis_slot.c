/*
 * redis_slot: hash slots, command keys and redirects (see redis_slot.h).
 */
#include "common/redis_slot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint16_t redis_slot_crc16(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(b[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
					     : (uint16_t)(crc << 1);
	}
	return crc;
}

int redis_slot_of(const void *key, size_t len)
{
	const char *k = key, *open = memchr(k, '{', len), *close;

	if (open) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - k));
		if (close && close > open + 1)
			return redis_slot_crc16(open + 1, (size_t)(close - open - 1)) %
			       REDIS_SLOT_COUNT;
	}
	return redis_slot_crc16(k, len) % REDIS_SLOT_COUNT;
}

/* Reads a decimal number ending in CRLF at *pp (below end). */
static int read_num(const char **pp, const char *end, long *out)
{
	const char *p = *pp;
	long v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	while (p < end && *p >= '0' && *p <= '9') {
		if (v > 100000000)
			return -EINVAL;
		v = v * 10 + (*p++ - '0');
	}
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -EINVAL;
	*pp = p + 2;
	*out = v;
	return 0;
}

#define ARGS_SCANNED 64 /* enough for every key position we route by */

/* Splits cmd into up to ARGS_SCANNED arguments; returns the total count. */
static long split(const char *cmd, size_t len, const char **a, size_t *al)
{
	const char *p = cmd, *end = cmd + len;
	long n, blen;

	if (len < 1 || *p++ != '*' || read_num(&p, end, &n) < 0 || n < 1)
		return -EINVAL;
	for (long i = 0; i < n; i++) {
		if (p >= end || *p++ != '$' || read_num(&p, end, &blen) < 0 || end - p < blen + 2 ||
		    p[blen] != '\r' || p[blen + 1] != '\n')
			return -EINVAL;
		if (i < ARGS_SCANNED)
			a[i] = p, al[i] = (size_t)blen;
		p += blen + 2;
	}
	return p == end ? n : -EINVAL;
}

static bool is(const char *a, size_t al, const char *word)
{
	return al == strlen(word) && strncasecmp(a, word, al) == 0;
}

/* The index of the routing key, 0 when keyless, -1 for "every master". */
static long key_index(const char **a, const size_t *al, long n)
{
	long shown = n < ARGS_SCANNED ? n : ARGS_SCANNED;

	if (is(a[0], al[0], "SCRIPT"))
		return n > 1 && (is(a[1], al[1], "LOAD") || is(a[1], al[1], "FLUSH")) ? -1 : 0;
	if (is(a[0], al[0], "EVAL") || is(a[0], al[0], "EVALSHA") || is(a[0], al[0], "EVAL_RO") ||
	    is(a[0], al[0], "EVALSHA_RO")) {
		bool some = n > 3 && !(al[2] == 1 && a[2][0] == '0');
		return some ? 3 : 0;
	}
	if (is(a[0], al[0], "XREAD") || is(a[0], al[0], "XREADGROUP")) {
		for (long i = 1; i + 1 < shown; i++)
			if (is(a[i], al[i], "STREAMS"))
				return i + 1;
		return -2;
	}
	if (is(a[0], al[0], "XGROUP") || is(a[0], al[0], "XINFO") || is(a[0], al[0], "OBJECT"))
		return n > 2 ? 2 : -2;
	if (is(a[0], al[0], "PING") || is(a[0], al[0], "INFO") || is(a[0], al[0], "AUTH") ||
	    is(a[0], al[0], "CLUSTER") || is(a[0], al[0], "ASKING") || is(a[0], al[0], "TIME"))
		return 0;
	return n > 1 ? 1 : -2;
}

int redis_slot_route(const char *cmd, size_t len, const char **out_key, size_t *out_len)
{
	const char *a[ARGS_SCANNED];
	size_t al[ARGS_SCANNED];
	long n = split(cmd, len, a, al), i;

	if (n < 0)
		return -EINVAL;
	i = key_index(a, al, n);
	if (i == -2 || i >= ARGS_SCANNED)
		return -EINVAL;
	if (i == -1)
		return REDIS_SLOT_ALL;
	if (i == 0)
		return REDIS_SLOT_ANY;
	*out_key = a[i];
	*out_len = al[i];
	return REDIS_SLOT_KEY;
}

int redis_slot_redirect(const char *err, bool *out_ask, int *out_slot, char *addr, size_t cap)
{
	bool ask = strncmp(err, "ASK ", 4) == 0;
	const char *p = err + (ask ? 4 : 6), *sp;
	char *end;
	long slot;

	if (!ask && strncmp(err, "MOVED ", 6) != 0)
		return -EINVAL;
	errno = 0;
	slot = strtol(p, &end, 10);
	if (errno || end == p || *end != ' ' || slot < 0 || slot >= REDIS_SLOT_COUNT)
		return -EINVAL;
	p = end + 1;
	sp = strrchr(p, ':');
	/* ":port" (no host) is valid: the host the command went to */
	if (!sp || strlen(p) >= cap || !sp[1] || strchr(p, ' '))
		return -EINVAL;
	memcpy(addr, p, strlen(p) + 1);
	*out_ask = ask;
	*out_slot = (int)slot;
	return 0;
}
