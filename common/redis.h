/*
 * redis: the Redis client of eirc-logger and eirc-history (hiredis 0.14 on
 * the libuv loop). Without opts.cluster it is exactly one connection
 * (redis_conn_int.h): pipelined commands, replies in order, a connect and a
 * command timeout, AUTH first when a password or a username is set (AUTH
 * <user> <password> with a username: a Redis 7 ACL user; "" as the password
 * of a user without one), reconnection with
 * common/backoff. It is not a connection pool and knows no key names (the
 * archive's are archive/archive_keys.h).
 *
 * With opts.cluster it is a small Redis Cluster client: host/port is a
 * seed; the slot map comes from CLUSTER SLOTS; there is one redis_conn per
 * master and each command goes to the master owning the slot of its key
 * (redis_slot.h says which argument is the key). MOVED updates the map (and
 * re-reads it), ASK resends once with ASKING to the named node, TRYAGAIN
 * (a multi-key command during a slot migration) is retried every
 * REDIS_PARK_MS until command_timeout_ms. SCRIPT LOAD/FLUSH go to every
 * master (the reply is the first master's, or the first error); commands
 * without a key go to any master. The owner sees one connection:
 *   - replies are delivered in send order across all masters (a reply that
 *     overtakes an earlier one waits, copied), as on one connection;
 *   - it is up when every master of the map is connected; when one master
 *     is lost (or a command times out), every master connection is dropped,
 *     each outstanding callback runs with NULL (in order), then on_down
 *     once; on_up comes after all masters are back and the map was read
 *     again. Owners resend after on_up as they do with one Redis.
 * Error replies a correct program never sees (CROSSSLOT, CLUSTERDOWN, a
 * redirect loop, TRYAGAIN past the timeout) are passed to the owner and
 * counted in redis_routing_errors().
 */
#ifndef EIRC_REDIS_H
#define EIRC_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <hiredis/hiredis.h>

#include "common/err.h"

/* Masters (and other nodes named by redirects) one cluster client keeps. */
#define REDIS_NODES_MAX 64
/* MOVED/ASK redirects one command may follow. */
#define REDIS_REDIRECTS_MAX 16
/* Retry period of commands waiting for a node or after TRYAGAIN; also how
 * often a missing slot map is asked again (x10). */
#define REDIS_PARK_MS 20
/* Reconnection delays (common/backoff: doubling, jittered). Both daemons
 * use the same: the maximum is eirc-history's 2000 ms (eirc-logger had
 * 5000 ms), as history requests fail while Redis is away and the logger
 * loses nothing by trying more often (it queues and spills meanwhile). */
#define REDIS_RECONNECT_MIN_MS 100
#define REDIS_RECONNECT_MAX_MS 2000

typedef struct redis_opts {
	const char *host; /* borrowed */
	int port;
	const char *username; /* borrowed; NULL: the default user */
	const char *password; /* borrowed; NULL: no AUTH */
	uint64_t connect_timeout_ms;
	uint64_t command_timeout_ms;
	uint64_t reconnect_min_ms;
	uint64_t reconnect_max_ms;
	bool cluster; /* host/port is a Redis Cluster seed */
	/* Refuse a server that may evict keys: after AUTH, every connection
	 * (each master of a cluster) asks INFO memory and is up only when
	 * maxmemory_policy is noeviction (common/redis_evict.h); otherwise,
	 * or when INFO is refused, on_unsafe runs, the connection is dropped
	 * and tried again after the backoff's delay. For the daemons that
	 * write (eirc-logger, eirc-history). */
	bool require_noeviction;
} redis_opts_t;

/* on_up: connected (and AUTH sent; with require_noeviction, the policy
 * checked). on_down: lost or failed to connect; why->text is a short
 * English reason (valid during the call); a reconnection is scheduled.
 * on_unsafe (NULL: none), with require_noeviction only: a server's
 * maxmemory-policy can evict, or it refused INFO; why->text names the
 * server and the policy (or Redis's refusal); on_down follows. */
typedef struct redis_cb {
	void (*on_up)(void *ud);
	void (*on_down)(void *ud, const eirc_err_t *why);
	void (*on_unsafe)(void *ud, const eirc_err_t *why);
} redis_cb_t;

/* Called with the reply (NULL when the connection was lost first). */
typedef void (*redis_reply_fn)(void *ud, redisReply *reply, void *privdata);

/* After redis_close(): every handle is closed and the memory is freed. */
typedef void (*redis_closed_fn)(void *ud);

typedef struct redis redis_t;

typedef struct eirc_config_redis eirc_config_redis_t;

/* The one mapping of the configuration's redis section to options:
 * host, port, cluster and both timeouts as configured, the reconnection
 * delays REDIS_RECONNECT_MIN_MS..REDIS_RECONNECT_MAX_MS, and the daemon's
 * login: username and password are its own section's redis_username and
 * redis_password, each NULL taking cfg's username / password. The strings
 * are borrowed. */
void redis_opts_from_config(const eirc_config_redis_t *cfg, const char *username,
			    const char *password, redis_opts_t *out);

/* Creates a client (not started); opts->host is borrowed. Returns 0,
 * -EINVAL (cluster seed host too long) or -ENOMEM; *out_r only on success. */
int redis_new(uv_loop_t *loop, const redis_opts_t *opts, const redis_cb_t *cb, void *ud,
	      redis_t **out_r);
/* Connects (and keeps reconnecting until redis_close()). */
void redis_start(redis_t *r);
bool redis_up(const redis_t *r);

/* Sends a command. fn(ud, reply, privdata) is called exactly once, unless
 * this returns an error: -ENOTCONN when down, -ENOMEM, -EINVAL (cluster: a
 * command naming no key where one is needed). */
int redis_argv(redis_t *r, int argc, const char **argv, const size_t *argvlen, redis_reply_fn fn,
	       void *privdata);
int redis_cmd(redis_t *r, redis_reply_fn fn, void *privdata, const char *fmt, ...);

/* Drops the connection(s) (as a timeout would) and reconnects later; why,
 * a constant string, is on_down's reason. */
void redis_drop(redis_t *r, const char *why);

/* Cluster mode: the error replies counted above (0 without cluster). */
uint64_t redis_routing_errors(const redis_t *r);

/* Closes everything; no reply callback afterwards (pending ones are
 * dropped, never run), no on_up/on_down. on_closed(ud), when not NULL,
 * runs once libuv has closed the timers and the memory is freed. NULL r is
 * a no-op. */
void redis_close(redis_t *r, redis_closed_fn on_closed);

#endif
