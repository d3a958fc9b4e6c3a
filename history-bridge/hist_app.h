/*
 * hist_app: eirc-history's wiring: the libuv loop, the Redis connection
 * (common/redis.h), the CHATHISTORY UNIX socket, the
 * HTTP API (hist_http.h, when history.listen_port is not 0),
 * SIGINT/SIGTERM. Its connections (hist_conn.c) answer requests one at a
 * time, in order (the irc-client matches answers by order); connections run
 * concurrently. The parts share hist_server_int.h.
 */
#ifndef EIRC_HIST_APP_H
#define EIRC_HIST_APP_H

#include "config/config.h"

/* Request lines one connection may have waiting; past it we stop reading. */
#define HIST_CONN_QUEUE_MAX 16
/* Answer bytes waiting for one irc-client before we stop reading it. */
#define HIST_CONN_WRITE_MAX (4u << 20)
/* Connections at once; more are closed at accept. */
#define HIST_CONNS_MAX 4096

/*
 * Runs eirc-history until SIGINT or SIGTERM. Returns the exit status: 0
 * after a clean stop, 1 when the socket or the HTTP listener cannot be set
 * up.
 */
int hist_app_run(const eirc_config_t *cfg);

#endif
