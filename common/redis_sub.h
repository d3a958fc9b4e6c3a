/*
 * redis_sub: a subscriber to one Redis pub/sub channel on the libuv loop,
 * on a connection of its own (a subscribed connection can send nothing
 * else). It connects, sends AUTH as redis.h says, SUBSCRIBEs, and
 * after a loss reconnects with common/backoff and SUBSCRIBEs again, until
 * redis_sub_close(). A silent Redis is noticed by TCP keepalive (about
 * 30 s); a lost SUBSCRIBE confirmation by opts.command_timeout_ms.
 *
 * Pub/sub delivers only to those subscribed when a message is published:
 * what was published while the subscriber was away is lost. on_subscribed
 * runs after each (re)subscription so that the owner resyncs whatever the
 * messages would have told it.
 *
 * With opts.cluster it subscribes on the seed node (host/port): a Redis
 * Cluster forwards PUBLISH to every node. It is not a general client: no
 * commands, no patterns, one channel.
 */
#ifndef EIRC_REDIS_SUB_H
#define EIRC_REDIS_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/err.h"
#include "common/redis.h"

/* Longest channel name. */
#define REDIS_SUB_CHANNEL_MAX 256

typedef struct redis_sub redis_sub_t;

/*
 * on_subscribed: Redis confirmed the SUBSCRIBE, the first time and after
 * every reconnection; messages published from now on arrive.
 * on_message: one message of the channel, msg[0..len) (binary; valid
 * during the call only).
 * on_down: the connection was lost, or could not be made (then once per
 * attempt); why->text is a short English reason valid during the call. A
 * reconnection is scheduled. May be NULL.
 */
typedef struct redis_sub_cb {
	void (*on_subscribed)(void *ud);
	void (*on_message)(void *ud, const char *msg, size_t len);
	void (*on_down)(void *ud, const eirc_err_t *why);
} redis_sub_cb_t;

/* Creates a subscriber to channel (copied; at most REDIS_SUB_CHANNEL_MAX
 * bytes) on loop, not started; opts->host is borrowed. Returns 0 and
 * *out_s, -EINVAL (channel empty or too long) or -ENOMEM (*out_s
 * untouched). */
int redis_sub_new(uv_loop_t *loop, const redis_opts_t *opts, const char *channel,
		  const redis_sub_cb_t *cb, void *ud, redis_sub_t **out_s);

/* Connects and subscribes (and keeps at it until redis_sub_close()). */
void redis_sub_start(redis_sub_t *s);

/* True between on_subscribed and the next loss. */
bool redis_sub_subscribed(const redis_sub_t *s);

/* Closes the connection and its timers; no callback afterwards but
 * on_closed(ud) (when not NULL), once libuv has closed the handles and the
 * memory is freed. Safe from inside the subscriber's own callbacks. NULL s
 * is a no-op. */
void redis_sub_close(redis_sub_t *s, redis_closed_fn on_closed);

#endif
