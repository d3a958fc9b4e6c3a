/*
 * redis_acl: the Redis 7 ACL users of eIRC's daemons, one line each as an
 * ACL file (or redis.conf) holds them: "user <name> on ><password>
 * <rules>". A daemon may send exactly the commands it sends, on the keys
 * and the channel it uses (docs/operations.md, "Redis users", lists them):
 *   - eirc-auth publishes on the access bus (eirc:access) and reads the
 *     signed checkpoints' stream (eirc:{cp}:checkpoints, XRANGE);
 *   - eirc-gateway subscribes to it;
 *   - eirc-logger reads, appends, acknowledges and trims the archive's keys
 *     (eirc:*): its append and trimming scripts, its consumer group;
 *   - eirc-history reads every eirc:* key (EVAL_RO/EVALSHA_RO for the
 *     query script) and subscribes to the access bus; it writes only what
 *     storing a direct message needs: the dm:<lo>:<hi> streams, the
 *     archive streams, msgid keys, and its nick, unick and dms keys. A
 *     channel's stream is not among them.
 * None of them gets a command of @dangerous (FLUSHALL, CONFIG, DEBUG,
 * KEYS, ACL ...) but INFO, nor any command not listed. The logger and
 * eirc-history get INFO (read-only), which common/redis sends to check
 * that the server cannot evict keys (common/redis_evict.h). The logger,
 * eirc-history and eirc-auth also get CLUSTER SLOTS and ASKING, which
 * common/redis sends to a Redis Cluster.
 *
 * Key patterns never put a "*" before the part that tells a key's kind
 * (a channel name may hold ':' and '}'): the partition is matched digit by
 * digit ("{p?}", "{p??}", ... up to the widths the partition count
 * needs) and the network is written out (a name as irc.network allows:
 * no glob characters).
 *
 * Pure: text into a caller's buffer; no I/O.
 */
#ifndef EIRC_REDIS_ACL_H
#define EIRC_REDIS_ACL_H

#include <stddef.h>

enum redis_acl_role {
	REDIS_ACL_AUTH,
	REDIS_ACL_GATEWAY,
	REDIS_ACL_LOGGER,
	REDIS_ACL_HISTORY,
	REDIS_ACL_ROLES
};

/* The longest line redis_acl_line writes, newline and NUL included. */
#define REDIS_ACL_LINE_MAX 8192
/* Longest user name (and network) and password accepted; a name as the
 * config's redis_username and irc.network allow: 1 to 32 of A-Z a-z 0-9
 * . _ - */
#define REDIS_ACL_NAME_MAX     32
#define REDIS_ACL_PASSWORD_MAX 256

/* The user name the local stack gives role: "eirc-auth", "eirc-gateway",
 * "eirc-logger", "eirc-history". */
const char *redis_acl_default_name(enum redis_acl_role role);

/*
 * Writes role's line, "user <name> on ><password> <rules>\n", into buf
 * (capacity cap). network is irc.network (a name, as above), partitions
 * redis.partitions (1..16384). The password is one word of
 * printable ASCII without quotes or '\' (as an ACL file and redis.conf
 * both read it literally), 1 to REDIS_ACL_PASSWORD_MAX bytes. Returns the
 * length, -EINVAL (a bad role, name, password, network or partition
 * count) or -ENOBUFS.
 */
int redis_acl_line(enum redis_acl_role role, const char *name, const char *password,
		   const char *network, int partitions, char *buf, size_t cap);

#endif
