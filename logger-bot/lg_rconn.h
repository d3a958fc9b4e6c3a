/*
 * lg_rconn: one asynchronous Redis connection on the libuv loop (hiredis
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
#ifndef EIRC_LOGGER_LG_RCONN_H
#define EIRC_LOGGER_LG_RCONN_H

#include <stdarg.h>
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
	bool cluster;                   /* host/port is a Redis Cluster seed (lg_redis.h) */
};

/* on_up: connected (and AUTH sent). on_down: lost or failed to connect;
 * why is a short English reason; a reconnection is scheduled. */
struct lg_redis_cb {
	void (*on_up)(void *ud);
	void (*on_down)(void *ud, const char *why);
};

/* Called with the reply (NULL when the connection was lost first). */
typedef void (*lg_redis_reply_fn)(void *ud, redisReply *reply, void *privdata);

struct lg_rconn;

/* Creates a connection (not started). Returns 0 or -ENOMEM. */
int lg_rconn_new(uv_loop_t *loop, const struct lg_redis_opts *opts, const struct lg_redis_cb *cb,
                 void *ud, struct lg_rconn **out_r);
void lg_rconn_start(struct lg_rconn *r);
bool lg_rconn_up(const struct lg_rconn *r);
/* Commands sent and not answered yet. */
size_t lg_rconn_outstanding(const struct lg_rconn *r);

/* Sends a command. fn(ud, reply, privdata) is called exactly once, unless
 * this returns an error: -ENOTCONN when down, -ENOMEM. */
int lg_rconn_argv(struct lg_rconn *r, int argc, const char **argv, const size_t *argvlen,
                  lg_redis_reply_fn fn, void *privdata);
int lg_rconn_cmd(struct lg_rconn *r, lg_redis_reply_fn fn, void *privdata, const char *fmt, ...);
int lg_rconn_vcmd(struct lg_rconn *r, lg_redis_reply_fn fn, void *privdata, const char *fmt,
                  va_list ap);
/* Sends a command already formatted as RESP (len bytes, copied), as
 * lg_rconn_argv. */
int lg_rconn_formatted(struct lg_rconn *r, const char *cmd, size_t len, lg_redis_reply_fn fn,
                       void *privdata);

/* Drops the connection now (as a timeout would) and reconnects later. */
void lg_rconn_drop(struct lg_rconn *r, const char *why);

/* Closes everything; pending callbacks are dropped (never run), no
 * callback afterwards. The memory goes once libuv has closed the timers.
 * NULL is a no-op. */
void lg_rconn_free(struct lg_rconn *r);

#endif
