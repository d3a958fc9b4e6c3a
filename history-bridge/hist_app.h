/*
 * hist_app: eirc-history's wiring on the loop main.c's common/daemon runs:
 * the Redis connection (common/redis.h), the CHATHISTORY UNIX socket, the
 * HTTP API (hist_http.h, when history.listen_port is not 0) and, with it,
 * a subscription to the access bus (common/redis_sub.h, channel
 * ACCESS_MSG_CHANNEL) that drops the API's cached token checks of a user
 * whose access changed, and all of them on every (re)subscription. Its
 * connections (hist_conn.c) answer requests one at a
 * time, in order (the irc-client matches answers by order); connections run
 * concurrently. The parts share hist_server_int.h.
 */
#ifndef EIRC_HIST_APP_H
#define EIRC_HIST_APP_H

#include <stdbool.h>
#include <uv.h>

#include "config/config.h"

/* Request lines one connection may have waiting; past it we stop reading. */
#define HIST_CONN_QUEUE_MAX 16
/* Answer bytes waiting for one irc-client before we stop reading it. */
#define HIST_CONN_WRITE_MAX (4u << 20)
/* Connections at once; more are closed at accept. */
#define HIST_CONNS_MAX 4096

typedef struct hist_app hist_app_t;

/* Allocates the app on loop (borrowed config); no I/O yet. 0 or -ENOMEM. */
int hist_app_new(uv_loop_t *loop, const eirc_config_t *cfg, hist_app_t **out);

/* Connects to Redis and listens (the socket, the HTTP API). Returns 0, or
 * a negative errno after logging why and closing what it opened. */
int hist_app_start(hist_app_t *a);

/* Closes the listeners, the connections and Redis; the loop ends once
 * their handles are closed. A second call does nothing. */
void hist_app_stop(hist_app_t *a);

/* True when it stopped by itself on a Redis it refuses (its
 * maxmemory-policy can evict keys): the exit status is then 1. */
bool hist_app_failed(const hist_app_t *a);

/* After the loop ended: frees what is left. NULL is a no-op. */
/* NULL when the bridge can answer (Redis up, what /readyz answers 200
 * on), else why not: systemd's READY=1 waits for it. */
const char *hist_app_not_ready(const hist_app_t *a);

void hist_app_free(hist_app_t *a);

#endif
