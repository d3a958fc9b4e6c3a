/*
 * auth_bus: eirc-auth's side of the access bus, the Redis pub/sub channel
 * ACCESS_MSG_CHANNEL ("eirc:access"). After every committed access change,
 * eirc-auth (the daemon and the admin commands alike) publishes one message
 * per user concerned, "<kind> <user_id> <family>" (common/access_msg
 * formats it and the subscribers parse it with the same module);
 * eirc-gateway and eirc-history recheck or drop what they hold for that
 * user (docs/api.md, "Access changes").
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

#include "common/access_msg.h"
#include "common/err.h"
#include "common/redis.h"
#include "config/config.h"

/* Users one pg array of auth_bus_publish_users() may name. */
#define AUTH_BUS_USERS_MAX 100000

typedef struct auth_bus auth_bus_t;

/*
 * Calls fn(arg, id) for each id of a PostgreSQL bigint array in text form
 * ("{1,2,3}", "{}"; NULL elements are skipped). Returns the number of ids,
 * or -EINVAL for anything else (nothing is called then).
 */
int auth_bus_each_id(const char *pg_array, void (*fn)(void *arg, uint64_t id), void *arg);

/*
 * The daemon's publisher: one Redis connection (config.redis as eirc-auth's
 * user, auth.redis_username / auth.redis_password, through
 * redis_opts_from_config) on `loop`, connecting at once and reconnecting
 * until closed. Returns 0 and *out_bus, or a negative errno.
 */
int auth_bus_new(uv_loop_t *loop, const eirc_config_t *cfg, auth_bus_t **out_bus);

/*
 * Publishes one message; never fails the caller: a message Redis cannot
 * take now (down, error reply) is logged as a warning and dropped.
 */
void auth_bus_publish(auth_bus_t *bus, enum access_kind kind, uint64_t user, uint64_t family);

/* auth_bus_publish() for each user id of a PostgreSQL array ("{1,2}"). */
void auth_bus_publish_users(auth_bus_t *bus, enum access_kind kind, const char *pg_array,
			    uint64_t family);

/* The publisher's Redis connection, which auth_integrity reads the
 * checkpoints' stream on (replies come in order with the publishes). */
redis_t *auth_bus_redis(auth_bus_t *bus);

/* Closes the connection; done(arg) runs once every handle is closed and
 * the publisher is freed. NULL bus is a no-op. */
void auth_bus_close(auth_bus_t *bus, void (*done)(void *arg), void *arg);

/*
 * For the admin commands: connects to config.redis as eirc-auth's user
 * (blocking, with its connect and command timeouts; AUTH as common/redis
 * sends it), publishes
 * the n messages in order and disconnects. Returns 0, or -EIO with the
 * reason in out_err (the messages not sent are lost).
 */
int auth_bus_publish_sync(const eirc_config_t *cfg, const access_msg_t *msgs, size_t n,
			  eirc_err_t *out_err);

#endif
