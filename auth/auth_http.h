/*
 * auth_http: eirc-auth's two HTTP listeners (public and internal) on
 * common/http_server (libwebsockets on the daemon's libuv loop). It turns each request into an
 * auth_call_t for auth_service, enforces the transport limits, and writes the response.
 *
 * Limits (config auth.*): header bytes (max_header_size, lws's header
 * buffer: past it lws 4.1 closes the connection itself, with no status
 * line and no callback to us), header lines whose name lws knows
 * (max_headers, 431; lws 4.1 cannot list the other names, so only the
 * buffer bounds those), header values we read (AUTH_HEADER_VALUE_MAX,
 * 431), body bytes (max_body_size, 413 before any byte of the body is
 * kept), a request's time (request_timeout, for headers and body: slow
 * clients are disconnected).
 *
 * Not here: what a request means (auth_service), routing rules
 * (auth_route).
 */
#ifndef EIRC_AUTH_HTTP_H
#define EIRC_AUTH_HTTP_H

#include <uv.h>

#include "auth/auth_route.h"
#include "auth/auth_service.h"
#include "config/config.h"

typedef struct auth_http auth_http_t;

/*
 * Creates the HTTP server on `loop`, without listeners yet. Returns 0 and
 * *out, or -ENOMEM. From then on lws has handles on the loop, so the end
 * of *out is always: auth_http_close(), uv_run() until the loop is done,
 * auth_http_free().
 */
int auth_http_new(uv_loop_t *loop, auth_service_t *svc, const eirc_config_t *cfg,
		  auth_http_t **out);

/*
 * Opens the public and the internal listener. Returns 0, or -EADDRINUSE
 * (lws does not say more; it logs through log_warn).
 */
int auth_http_listen(auth_http_t *h);

/* The port a listener is bound to (useful with port 0). */
int auth_http_port(const auth_http_t *h, auth_listener_t l);

/*
 * Starts the shutdown: every connection is closed (calls in flight are
 * detached and freed by the service when they finish) and lws starts
 * closing its libuv handles, which takes loop iterations. May be called
 * from a loop callback; a second call does nothing. NULL is a no-op.
 */
void auth_http_close(auth_http_t *h);

/*
 * Frees the server and *h. Call it after auth_http_close() and after
 * uv_run() has returned, outside the loop (http_server.h says why).
 * NULL is a no-op.
 */
void auth_http_free(auth_http_t *h);

#endif
