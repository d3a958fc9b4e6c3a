/*
 * gw_http: the libwebsockets glue of eirc-gateway: one callback for the
 * plain and TLS listeners that answers /healthz and /metrics, runs the
 * synchronous upgrade checks on /chat in LWS_CALLBACK_HTTP_CONFIRM_UPGRADE
 * (refusals are an HTTP status with a text/plain reason), and then drives
 * the session's WebSocket: the consume once established (the socket is
 * not read meanwhile), browser messages through gw_frame to the relay,
 * queued lines out, the close code.
 *
 * Why the token is checked after the 101: libwebsockets 4.1 answers the
 * upgrade synchronously inside its header parser (server.c: CONFIRM_UPGRADE
 * returns allow/deny/handled, then lws_process_ws_upgrade writes the 101
 * at once); there is no way to park the request until an asynchronous
 * call finishes. So every check that needs no network happens before the
 * 101, and the consume after it; its refusal is a WebSocket close (4001
 * invalid_token, 4003 auth_unavailable, 1011 spawn_failed).
 */
#ifndef EIRC_GW_HTTP_H
#define EIRC_GW_HTTP_H

#include <libwebsockets.h>

#include "gateway/gw_server.h"

/* Longest Origin value read; a longer one is refused (X-Forwarded-For:
 * NET_XFF_MAX). */
#define GW_ORIGIN_MAX 512
/* Longest Sec-WebSocket-Protocol value read (lws keeps 128). */
#define GW_SUBPROTO_HDR_MAX 256

/* Opens a listener on srv->http with the gateway's protocols:
 * text.ircv3.net first (the default when the client sends no
 * Sec-WebSocket-Protocol), binary.ircv3.net. Its index, or -EADDRINUSE. */
int gw_http_listen(gw_server_t *srv, const char *name, int port, bool tls);

#endif
