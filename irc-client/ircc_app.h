/*
 * ircc_app: wires one irc-client session to the libuv loop: the gateway
 * socket (fd 3) with its strict framer, the IRC connection (irc_conn), the
 * history bridge socket, the timers, and the flow control between
 * them (bounded queues both ways: a slow browser pauses reading from the
 * IRC server, a slow server pauses reading from the browser). The loop
 * and the signals are main.c's common/daemon.
 *
 * Split in two so the sandbox goes in between: ircc_app_new() does
 * everything that needs the file system or name resolution,
 * ircc_app_start() only uses sockets that exist and new connections to the
 * configured servers and history socket.
 */
#ifndef EIRC_IRCC_APP_H
#define EIRC_IRCC_APP_H

#include <uv.h>

#include "common/err.h"
#include "config/config.h"
#include "irc-client/ircc_ident.h"

/* The gateway's socket. */
#define IRCC_BROWSER_FD 3
/* The pipe of the config's ${NAME} values (common/vars), read to EOF and
 * closed before the config loads. */
#define IRCC_VARS_FD 4
/* The gateway's sealed memfd of the config's text, read (pread) and closed
 * before the config loads: the irc-client never opens the config file. */
#define IRCC_CONFIG_FD 5

typedef struct ircc_app ircc_app_t;

/*
 * Builds the session on fd and loop (borrowed config and identity, which
 * must outlive the app). Returns 0, -EBADF (fd is not an open socket),
 * -ENOMEM, or the error of irc_conn_new (-EHOSTUNREACH, -ENOTSUP, ...) with
 * the reason in out_err; nothing is left open then.
 */
int ircc_app_new(uv_loop_t *loop, const eirc_config_t *cfg, const ircc_ident_t *id, int fd,
		 ircc_app_t **out_app, eirc_err_t *out_err);

/* Starts the session: connects to the IRC server, reads the browser. The
 * loop ends once the session has ended and every handle is closed. */
void ircc_app_start(ircc_app_t *app);

/* SIGTERM/SIGINT: ends the session (QUIT to the server, then every handle
 * is closed). A second call does nothing. */
void ircc_app_stop(ircc_app_t *app);

/* The process exit status the session ended with: 0 when the browser
 * side closed (QUIT sent), the browser sent QUIT or a signal stopped it;
 * 1 on a fatal error (logged once). */
int ircc_app_exit_code(const ircc_app_t *app);

/* After the loop ended: frees the app. NULL is a no-op. */
void ircc_app_free(ircc_app_t *app);

#endif
