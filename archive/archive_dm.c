/*
 * archive_dm: direct-message keys and the TARGETS index update (see
 * archive_dm.h).
 */
#include "archive/archive_dm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int archive_dm_nick_key(const char *network, int partitions, const char *nick, size_t nick_len,
			enum irc_casemap cm, char *buf, size_t cap)
{
	char folded[ARCHIVE_DM_NICK_MAX];
	int k, n;

	if (nick_len == 0 || nick_len > sizeof(folded))
		return -EINVAL;
	irc_casemap_fold(cm, nick, nick_len, folded);
	k = archive_keys_partition(network, folded, nick_len, IRC_CASEMAP_NONE, partitions);
	if (k < 0)
		return k;
	n = snprintf(buf, cap, "eirc:{p%d}:nick:%s:%.*s", k, network, (int)nick_len, folded);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < cap ? n : -ENOBUFS;
}

int archive_dm_user_key(const char *network, int partitions, const char *kind, uint64_t id,
			char *buf, size_t cap)
{
	char u[24];
	int k, n = snprintf(u, sizeof(u), "u%" PRIu64, id);

	if (id == 0 || n < 0 ||
	    (k = archive_keys_partition(network, u, (size_t)n, IRC_CASEMAP_NONE, partitions)) < 0)
		return -EINVAL;
	n = snprintf(buf, cap, "eirc:{p%d}:%s:%s:%" PRIu64, k, kind, network, id);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < cap ? n : -ENOBUFS;
}

int archive_dm_id_parse(const char *p, size_t n, uint64_t *out_id)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v == 0)
		return -EINVAL;
	*out_id = v;
	return 0;
}

int archive_dm_conv_ids(const char *conv, size_t n, uint64_t *out_lo, uint64_t *out_hi)
{
	const char *colon;
	uint64_t lo, hi;

	if (n < 3 || memcmp(conv, "dm:", 3) != 0 || !(colon = memchr(conv + 3, ':', n - 3)) ||
	    archive_dm_id_parse(conv + 3, (size_t)(colon - conv - 3), &lo) < 0 ||
	    archive_dm_id_parse(colon + 1, (size_t)(conv + n - colon - 1), &hi) < 0 || lo >= hi)
		return -EINVAL;
	*out_lo = lo;
	*out_hi = hi;
	return 0;
}

/* Appends one command of argc strings (pointing into x) to x. */
static void cmd(archive_dm_index_t *x, const char *const *argv, int argc)
{
	for (int i = 0; i < argc; i++) {
		x->cmd[x->n].argv[i] = argv[i];
		x->cmd[x->n].argvlen[i] = strlen(argv[i]);
	}
	x->cmd[x->n++].argc = argc;
}

int archive_dm_index_build(const char *network, int partitions, uint64_t a, uint64_t b,
			   int64_t time_ms, uint64_t retention_ms, archive_dm_index_t *out)
{
	const uint64_t ids[2] = {a, b};

	if (a == 0 || b == 0 || a == b)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	snprintf(out->time, sizeof(out->time), "%" PRId64, time_ms);
	snprintf(out->keep, sizeof(out->keep), "(%" PRId64, time_ms - (int64_t)retention_ms);
	snprintf(out->ttl, sizeof(out->ttl), "%" PRIu64, retention_ms);
	for (int side = 0; side < 2; side++) {
		if (archive_dm_user_key(network, partitions, "dms", ids[side], out->key[side],
					sizeof(out->key[side])) < 0)
			return -EINVAL;
		snprintf(out->other[side], sizeof(out->other[side]), "%" PRIu64, ids[1 - side]);
		cmd(out,
		    (const char *[]){"ZADD", out->key[side], "GT", out->time, out->other[side]}, 5);
		cmd(out, (const char *[]){"ZREMRANGEBYSCORE", out->key[side], "-inf", out->keep},
		    4);
		cmd(out, (const char *[]){"PEXPIRE", out->key[side], out->ttl}, 3);
	}
	return 0;
}
