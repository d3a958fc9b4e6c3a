/*
 * redis_acl: the ACL lines of eIRC's daemons (see redis_acl.h).
 */
#include "common/redis_acl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/access_msg.h"

/* Partitions are 0..16383 (archive_keys.h): at most 5 digits. */
#define ACL_PARTITIONS_MAX 16384

static const char *const names[REDIS_ACL_ROLES] = {"eirc-auth", "eirc-gateway", "eirc-logger",
						   "eirc-history"};

/* Every command each daemon sends (docs/operations.md, "Redis users"). CLUSTER
 * SLOTS and ASKING: common/redis in cluster mode; INFO: its eviction check
 * (require_noeviction) for the two that write; the logger's hash, zset,
 * DEL and GETRANGE: lg_archive's trimming of the tamper-evident log. */
static const char *const commands[REDIS_ACL_ROLES] = {
	[REDIS_ACL_AUTH] = "+publish +xrange +cluster|slots +asking",
	[REDIS_ACL_GATEWAY] = "+subscribe",
	[REDIS_ACL_LOGGER] =
		"+script|load +evalsha +eval +get +set +exists +xadd +xgroup|create "
		"+xreadgroup +xautoclaim +xack +xpending +xinfo|groups +xtrim +xlen "
		"+xrange +pexpire +info +cluster|slots +asking +xrevrange +hget +hgetall +hmget "
		"+hset +hincrby +setrange +zadd +zcard +zrange +zscore +zremrangebyscore +del "
		"+getrange +rpush +lrange +ltrim",
	[REDIS_ACL_HISTORY] = "+script|load +evalsha_ro +eval_ro +eval +get +set +xadd +xrange "
			      "+xrevrange +zrangebyscore +zadd +zremrangebyscore +pexpire +rpush "
			      "+subscribe +info +cluster|slots +asking",
};

/* What eirc-history writes, after "eirc:{p<k>}:" (@ is the network). */
static const char *const history_writes[] = {"history:@:dm:*", "archive", "msgid:*", "nick:@:*",
					     "unick:@:*",      "dms:@:*", "pending"};

const char *redis_acl_default_name(enum redis_acl_role role)
{
	return (unsigned)role < REDIS_ACL_ROLES ? names[role] : NULL;
}

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		o->len = o->cap;
	} else {
		o->len += (size_t)n;
	}
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > REDIS_ACL_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool password_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > REDIS_ACL_PASSWORD_MAX)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\'' || *s == '\\')
			return false;
	return true;
}

/* eirc-history's write patterns, for partition numbers of 1..width digits
 * (a network is a name: no glob characters to escape). Read and write
 * ("~", not "%W~"): Redis wants one pattern granting every access a key
 * gets, and XADD, SET, ZADD and a script's keys are read too. */
static void put_history_writes(struct out *o, const char *network, int width)
{
	for (int w = 1; w <= width; w++)
		for (size_t i = 0; i < sizeof(history_writes) / sizeof(history_writes[0]); i++) {
			put(o, " ~eirc:{p%.*s}:", w, "?????");
			for (const char *p = history_writes[i]; *p; p++) {
				if (*p == '@')
					put(o, "%s", network);
				else
					put(o, "%c", *p);
			}
		}
}

int redis_acl_line(enum redis_acl_role role, const char *name, const char *password,
		   const char *network, int partitions, char *buf, size_t cap)
{
	struct out o = {buf, cap, 0, false};
	int width = 1;

	if ((unsigned)role >= REDIS_ACL_ROLES || !name_ok(name) || !password_ok(password) ||
	    !name_ok(network) || partitions < 1 || partitions > ACL_PARTITIONS_MAX)
		return -EINVAL;
	for (int k = partitions - 1; k >= 10; k /= 10)
		width++;
	put(&o, "user %s on >%s resetkeys resetchannels -@all", name, password);
	if (role == REDIS_ACL_LOGGER)
		put(&o, " ~eirc:*");
	if (role == REDIS_ACL_HISTORY) {
		put(&o, " %%R~eirc:*");
		put_history_writes(&o, network, width);
	}
	if (role == REDIS_ACL_AUTH) /* the checkpoints it files: ARCHIVE_KEYS_CHECKPOINTS */
		put(&o, " %%R~eirc:{cp}:checkpoints");
	if (role != REDIS_ACL_LOGGER)
		put(&o, " &%s", ACCESS_MSG_CHANNEL);
	put(&o, " %s\n", commands[role]);
	if (o.full)
		return -ENOBUFS;
	return (int)o.len;
}
