/*
 * auth_bus: eirc-auth's side of the access bus, the Redis pub/sub channel
 * AUTH_BUS_CHANNEL. After every committed access change, eirc-auth (the
 * daemon and the admin commands alike) publishes one message per user
 * concerned, "<kind> <user_id> <family>" (ASCII, one space between, family
 * 0 when not applicable); eirc-gateway and eirc-history subscribe and
 * recheck or drop what they hold for that user (docs/api.md, "Access
 * changes").
 *
 * Publishing is best effort: a message Redis did not take is lost, never
 * retried and never fails the change; the subscribers' periodic rechecks
 * and their resync on every (re)subscribe are the safety net. The daemon
 * publishes on a common/redis connection of its loop, the admin commands
 * with one blocking hiredis connection.
 *
 * Not here: what a change is (auth_api.c, auth_oauth.c, auth_admin.c), the
 * subscribers.
 */
#ifndef EIRC_AUTH_BUS_H
#define EIRC_AUTH_BUS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/err.h"
#include "config/config.h"

#define AUTH_BUS_CHANNEL "eirc:access"
/* Bytes of one message with its NUL: a kind and two 20-digit numbers. */
#define AUTH_BUS_MSG_MAX 64
/* Users one pg array of auth_bus_publish_users() may name. */
#define AUTH_BUS_USERS_MAX 100000

/* The kinds of change (decision 2 of issue 22, docs/api.md). */
#define AUTH_BUS_ROOMS    "rooms"    /* the user's private-room membership */
#define AUTH_BUS_DISABLED "disabled" /* account disabled, tokens revoked */
#define AUTH_BUS_DELETED  "deleted"  /* account deleted */
#define AUTH_BUS_SIGNOUT  "signout"  /* a login (token family) revoked */
#define AUTH_BUS_REVOKED  "revoked"  /* one access token revoked */
#define AUTH_BUS_ROLE     "role"     /* role changed */

typedef struct auth_bus auth_bus_t;

/*
 * Writes the message "<kind> <user> <family>" into out (cap bytes).
 * Returns its length, or -EINVAL when kind is empty or holds a byte outside
 * [a-z], -E2BIG when it does not fit.
 */
int auth_bus_format(const char *kind, uint64_t user, uint64_t family, char *out, size_t cap);

/*
 * Calls fn(arg, id) for each id of a PostgreSQL bigint array in text form
 * ("{1,2,3}", "{}"; NULL elements are skipped). Returns the number of ids,
 * or -EINVAL for anything else (nothing is called then).
 */
int auth_bus_each_id(const char *pg_array, void (*fn)(void *arg, uint64_t id), void *arg);

/*
 * The daemon's publisher: one Redis connection (config.redis, through
 * redis_opts_from_config) on `loop`, connecting at once and reconnecting
 * until closed. Returns 0 and *out_bus, or a negative errno.
 */
int auth_bus_new(uv_loop_t *loop, const eirc_config_redis_t *cfg, auth_bus_t **out_bus);

/*
 * Publishes one message; never fails the caller: a message Redis cannot
 * take now (down, error reply) is logged as a warning and dropped.
 */
void auth_bus_publish(auth_bus_t *bus, const char *kind, uint64_t user, uint64_t family);

/* auth_bus_publish() for each user id of a PostgreSQL array ("{1,2}"). */
void auth_bus_publish_users(auth_bus_t *bus, const char *kind, const char *pg_array,
			    uint64_t family);

/* Closes the connection; done(arg) runs once every handle is closed and
 * the publisher is freed. NULL bus is a no-op. */
void auth_bus_close(auth_bus_t *bus, void (*done)(void *arg), void *arg);

/* One message of a blocking publish. */
typedef struct auth_bus_msg {
	const char *kind;
	uint64_t user;
	uint64_t family;
} auth_bus_msg_t;

/*
 * For the admin commands: connects to config.redis (blocking, with its
 * connect and command timeouts; AUTH when a password is set), publishes
 * the n messages in order and disconnects. Returns 0, or -EIO with the
 * reason in out_err (the messages not sent are lost).
 */
int auth_bus_publish_sync(const eirc_config_redis_t *cfg, const auth_bus_msg_t *msgs, size_t n,
			  eirc_err_t *out_err);

#endif
