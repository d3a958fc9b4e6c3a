/*
 * redis_conn: one asynchronous Redis connection on the libuv loop (hiredis
 * 0.14 and its libuv adapter), the part of common/redis.h that talks to one
 * server; only redis.c uses it. It adds what hiredis 0.14 lacks: a connect
 * timeout, a command timeout (no reply progress for command_timeout_ms
 * while commands are outstanding drops the connection), and reconnection
 * with common/backoff. AUTH is sent first when a password or a username
 * is set (AUTH <user> <password> with a username; see redis.h). The
 * socket is made close-on-exec as soon as it exists.
 *
 * Commands are pipelined: replies come back in order. When the connection
 * is lost, every outstanding command's callback runs with reply NULL (in
 * order), then on_down; the owner resends what it still needs after on_up.
 */
#ifndef EIRC_REDIS_CONN_INT_H
#define EIRC_REDIS_CONN_INT_H

#include "common/redis.h"

/* Reply progress is checked this often. */
#define REDIS_CONN_TICK_MS 100

typedef struct redis_conn redis_conn_t;

/* Creates a connection (not started); opts->host is borrowed. Returns 0 or
 * -ENOMEM; *out_r only on success. */
int redis_conn_new(uv_loop_t *loop, const redis_opts_t *opts, const redis_cb_t *cb, void *ud,
		   redis_conn_t **out_r);
void redis_conn_start(redis_conn_t *r);
bool redis_conn_up(const redis_conn_t *r);

/* Sends a command already formatted as RESP (len bytes, copied).
 * fn(ud, reply, privdata) is called exactly once, unless this returns an
 * error: -ENOTCONN when down, -ENOMEM. */
int redis_conn_send(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn,
		    void *privdata);

/* Sends SUBSCRIBE for one channel, already formatted as RESP (len bytes,
 * copied). fn(ud, reply, privdata) is called with the confirmation, then
 * with every message of the channel, then once with reply NULL when the
 * connection is lost (not after redis_conn_close()). Only the confirmation
 * is under the command timeout. Send nothing else on a subscribed
 * connection (hiredis 0.14 never answers it). Returns 0, -ENOTCONN when
 * down, -ENOMEM. */
int redis_conn_subscribe(redis_conn_t *r, const char *cmd, size_t len, redis_reply_fn fn,
			 void *privdata);

/* Drops the connection on the next tick (as a timeout would) and
 * reconnects later; why (kept until then: a constant, as a rule) is
 * on_down's reason. */
void redis_conn_drop(redis_conn_t *r, const char *why);

/* Closes the connection and its timers; pending callbacks are dropped
 * (never run), no callback afterwards but on_closed(arg) (when not NULL)
 * once libuv has closed the timers and the memory is freed. NULL r is a
 * no-op. */
void redis_conn_close(redis_conn_t *r, void (*on_closed)(void *arg), void *arg);

#endif
