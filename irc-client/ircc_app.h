/*
 * ircc_app: wires one irc-client session to the libuv loop: the gateway
 * socket (fd 3) with its strict framer, the IRC connection (irc_conn), the
 * history bridge socket, the timers, SIGTERM, and the flow control between
 * them (bounded queues both ways: a slow browser pauses reading from the
 * IRC server, a slow server pauses reading from the browser).
 *
 * Split in two so the sandbox goes in between: ircc_app_new() does
 * everything that needs the file system or name resolution, ircc_app_run()
 * only uses sockets that exist and new connections to the configured
 * servers and history socket.
 */
#ifndef EIRC_IRCC_APP_H
#define EIRC_IRCC_APP_H

#include "config/config.h"
#include "irc-client/ircc_ident.h"

/* The gateway's socket. */
#define IRCC_BROWSER_FD 3

struct ircc_app;

/*
 * Builds the session on fd (borrowed config and identity, which must
 * outlive the app). Returns 0, -EBADF (fd is not an open socket), or the
 * error of irc_conn_new (-EHOSTUNREACH, -ENOTSUP, ...). *out_why gets a
 * static English reason on failure.
 */
int ircc_app_new(const eirc_config_t *cfg, const struct ircc_ident *id, int fd,
                 struct ircc_app **out_app, const char **out_why);

/*
 * Runs the loop until the session ends; frees the app. Returns the process
 * exit status: 0 when the browser side closed (QUIT sent) or the browser
 * sent QUIT, 1 on a fatal error (logged once).
 */
int ircc_app_run(struct ircc_app *app);

#endif
