/*
 * gw_relay: the I/O of one session once its identity is known: the
 * irc-client process (gw_spawn), the socketpair read into lines (framed
 * by common/irc_line) and queued towards the browser with backpressure,
 * browser lines written to the socketpair with backpressure the other way,
 * and the close of the WebSocket with a code and reason.
 *
 * Backpressure towards the browser: the session's queue (bytes not yet
 * handed to libwebsockets) above gateway.send_queue_high_watermark stops
 * reading the socketpair (one queue_high_water event), below half of it
 * reading resumes; a session above it for slow_reader_timeout is closed
 * 1008 "too slow" (gw_relay_sweep). Towards the irc-client: when the
 * socketpair's write queue is above GW_TO_IRC_QUEUE_MAX the WebSocket is
 * not read (lws_rx_flow_control) until it drains below half.
 */
#ifndef EIRC_GW_RELAY_H
#define EIRC_GW_RELAY_H

#include <stdbool.h>

#include "gateway/gw_auth.h"
#include "gateway/gw_session.h"

/* WebSocket close codes the gateway sends (RFC 6455 and private 4xxx). */
#define GW_CLOSE_POLICY           1008 /* too slow, CR/LF/NUL */
#define GW_CLOSE_ENDED            1011 /* chat session ended, spawn_failed */
#define GW_CLOSE_RESTART          1012 /* service restart: after the drain */
#define GW_CLOSE_INVALID_TOKEN    4001 /* also: ended by an access change */
#define GW_CLOSE_AUTH_UNAVAILABLE 4003

/* Seconds a closing WebSocket may take to let its close frame out before
 * the connection is dropped (a flushing close, 1011 "chat session ended",
 * gets slow_reader_timeout + 1 s instead). */
#define GW_CLOSE_TIMEOUT_S 5

/*
 * Spawns the irc-client for id and starts relaying. Returns 0, or a
 * negative errno (nothing started; the caller closes the session).
 */
int gw_relay_start(gw_session_t *ss, const gw_identity_t *id);

/* Writes one CRLF-terminated line to the irc-client (copied). */
void gw_relay_to_irc(gw_session_t *ss, const char *line, size_t len);

/*
 * The WebSocket is writable: sends one queued message, or the close.
 * Returns -1 when libwebsockets must close the connection now (the close
 * code and reason are set), else 0.
 */
int gw_relay_writable(gw_session_t *ss);

/*
 * Writes a close frame (code, reason) on wsi; the caller then returns -1
 * from the lws callback. (lws 4.1 on libuv kills the connection without
 * the close frame when a WRITEABLE callback returns -1 after
 * lws_close_reason(): its "uv repeat test" closes a second time while the
 * frame is still waiting for POLLOUT.)
 */
void gw_relay_send_close(struct lws *wsi, int code, const char *reason);

/*
 * Asks for the WebSocket to be closed with code and reason: after the
 * queued lines when flush, else at once (the queue is dropped). Stops
 * reading the irc-client. The first close asked for wins.
 */
void gw_relay_close(gw_session_t *ss, int code, const char *reason, bool flush);

/* Queues one line (no CRLF) for the browser, as if the irc-client had
 * said it. */
void gw_relay_to_browser(gw_session_t *ss, const char *line, size_t len);

/*
 * Ends a relaying session from the gateway's side: the browser gets
 * "ERROR :Closing link: <why>" after the lines already queued, then the
 * close (code, why); the socketpair is closed (the irc-client QUITs).
 */
void gw_relay_end(gw_session_t *ss, int code, const char *why);

/* The WebSocket is gone: closes the socketpair (the irc-client then
 * quits) and drops the queue. */
void gw_relay_ws_gone(gw_session_t *ss);

/* Closes the socketpair (the irc-client then quits). */
void gw_relay_close_pipe(gw_session_t *ss);

/* Sends SIGKILL to a running child. */
void gw_relay_kill(gw_session_t *ss);

/* An irc-client still running this long after its socketpair was closed
 * gets SIGTERM; twice as long, SIGKILL (it should QUIT and exit at once). */
#define GW_CHILD_QUIT_MS 5000

/* Closes the session if it sat above the watermark too long, and signals
 * an irc-client that outlives its socketpair (GW_CHILD_QUIT_MS). */
void gw_relay_sweep(gw_session_t *ss, uint64_t now, uint64_t timeout_ms);

/* Frees the queue (at session end). */
void gw_relay_drop_queue(gw_session_t *ss);

#endif
