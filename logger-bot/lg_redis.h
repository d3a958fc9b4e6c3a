/*
 * lg_redis: one asynchronous Redis connection on the libuv loop (hiredis
 * 0.14 and its libuv adapter), with what hiredis 0.14 lacks: a connect
 * timeout, a command timeout (no reply progress for command_timeout_ms
 * while commands are outstanding drops the connection), and reconnection
 * with jittered exponential backoff. AUTH is sent first when a password is
 * set. The socket is made close-on-exec as soon as it exists.
 *
 * Commands are pipelined: replies come back in order. When the connection
 * is lost, every outstanding command's callback runs with reply NULL (in
 * order), then on_down; the owner resends what it still needs after on_up.
 */
#ifndef EIRC_LOGGER_LG_REDIS_H
#define EIRC_LOGGER_LG_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <hiredis/hiredis.h>

/* Reply progress is checked this often. */
#define LG_REDIS_TICK_MS 100

struct lg_redis_opts {
	const char *host;               /* borrowed */
	int port;
	const char *password;           /* borrowed; NULL: no AUTH */
	uint64_t connect_timeout_ms;
	uint64_t command_timeout_ms;
	uint64_t reconnect_min_ms;
	uint64_t reconnect_max_ms;
};

/* on_up: connected (and AUTH sent). on_down: lost or failed to connect;
 * why is a short English reason; a reconnection is scheduled. */
struct lg_redis_cb {
	void (*on_up)(void *ud);
	void (*on_down)(void *ud, const char *why);
};

/* Called with the reply (NULL when the connection was lost first). */
typedef void (*lg_redis_reply_fn)(void *ud, redisReply *reply, void *privdata);

struct lg_redis;

/* Creates a connection (not started). Returns 0 or -ENOMEM. */
int lg_redis_new(uv_loop_t *loop, const struct lg_redis_opts *opts, const struct lg_redis_cb *cb,
                 void *ud, struct lg_redis **out_r);
void lg_redis_start(struct lg_redis *r);
bool lg_redis_up(const struct lg_redis *r);
/* Commands sent and not answered yet. */
size_t lg_redis_outstanding(const struct lg_redis *r);

/* Sends a command. fn(ud, reply, privdata) is called exactly once, unless
 * this returns an error: -ENOTCONN when down, -ENOMEM. */
int lg_redis_argv(struct lg_redis *r, int argc, const char **argv, const size_t *argvlen,
                  lg_redis_reply_fn fn, void *privdata);
int lg_redis_cmd(struct lg_redis *r, lg_redis_reply_fn fn, void *privdata, const char *fmt, ...);

/* Drops the connection now (as a timeout would) and reconnects later. */
void lg_redis_drop(struct lg_redis *r, const char *why);

/* Closes everything; pending callbacks run with NULL first; no callback
 * afterwards. The memory goes once libuv has closed the timers. NULL is a
 * no-op. */
void lg_redis_free(struct lg_redis *r);

#endif
