/*
 * lg_redis: the Redis connection eirc-logger and eirc-history talk
 * through. Without opts.cluster it is exactly one lg_rconn (lg_rconn.h):
 * pipelined commands, replies in order, connect/command timeouts and
 * reconnection with backoff.
 *
 * With opts.cluster it is a small Redis Cluster client: host/port is a
 * seed; the slot map comes from CLUSTER SLOTS; there is one lg_rconn per
 * master and each command goes to the master owning the slot of its key
 * (lg_rslot.h says which argument is the key). MOVED updates the map (and
 * re-reads it), ASK resends once with ASKING to the named node, TRYAGAIN
 * (a multi-key command during a slot migration) is retried every
 * LG_REDIS_PARK_MS until command_timeout_ms. SCRIPT LOAD/FLUSH go to every
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
 * counted in lg_redis_routing_errors().
 */
#ifndef EIRC_LOGGER_LG_REDIS_H
#define EIRC_LOGGER_LG_REDIS_H

#include "logger-bot/lg_rconn.h"

/* Masters (and other nodes named by redirects) one cluster client keeps. */
#define LG_REDIS_NODES_MAX 64
/* MOVED/ASK redirects one command may follow. */
#define LG_REDIS_REDIRECTS_MAX 16
/* Retry period of commands waiting for a node or after TRYAGAIN; also how
 * often a missing slot map is asked again (x10). */
#define LG_REDIS_PARK_MS 20

struct lg_redis;

/* Creates a connection (not started); opts->host is borrowed. Returns 0,
 * -EINVAL (cluster seed host too long) or -ENOMEM. */
int lg_redis_new(uv_loop_t *loop, const struct lg_redis_opts *opts, const struct lg_redis_cb *cb,
                 void *ud, struct lg_redis **out_r);
void lg_redis_start(struct lg_redis *r);
bool lg_redis_up(const struct lg_redis *r);
/* Commands sent and not answered yet. */
size_t lg_redis_outstanding(const struct lg_redis *r);

/* Sends a command. fn(ud, reply, privdata) is called exactly once, unless
 * this returns an error: -ENOTCONN when down, -ENOMEM, -EINVAL (cluster: a
 * command naming no key where one is needed). */
int lg_redis_argv(struct lg_redis *r, int argc, const char **argv, const size_t *argvlen,
                  lg_redis_reply_fn fn, void *privdata);
int lg_redis_cmd(struct lg_redis *r, lg_redis_reply_fn fn, void *privdata, const char *fmt, ...);

/* Drops the connection(s) now (as a timeout would) and reconnects later. */
void lg_redis_drop(struct lg_redis *r, const char *why);

/* Cluster mode: masters in the current slot map and the errors counted
 * above (both 0 without cluster). */
size_t lg_redis_masters(const struct lg_redis *r);
uint64_t lg_redis_routing_errors(const struct lg_redis *r);

/* Closes everything; no callback afterwards (pending ones are dropped).
 * The memory goes once libuv has closed the timers. NULL is a no-op. */
void lg_redis_free(struct lg_redis *r);

#endif
