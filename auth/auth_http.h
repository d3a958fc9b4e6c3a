/*
 * auth_http: eirc-auth's two HTTP listeners (public and internal) with
 * libwebsockets on the daemon's libuv loop (LWS_SERVER_OPTION_LIBUV with a
 * foreign loop). It turns each request into an auth_call_t for
 * auth_service, enforces the transport limits, and writes the response.
 *
 * Limits (config auth.*): header bytes (max_header_size, lws's header
 * buffer: a request past it is refused), header values we read
 * (AUTH_HEADER_VALUE_MAX, 431), body bytes (max_body_size, 413 before any
 * byte of the body is kept), a request's time (request_timeout, for headers
 * and body: slow clients are disconnected).
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
 * Creates the lws context on `loop` and both listeners. Returns 0 and
 * *out, or -EADDRINUSE/-EINVAL/-ENOMEM (lws does not say more; it logs
 * through log_warn).
 */
int auth_http_new(uv_loop_t *loop, auth_service_t *svc,
		  const eirc_config_t *cfg, auth_http_t **out);

/* The port a listener is bound to (useful with port 0). */
int auth_http_port(const auth_http_t *h, auth_listener_t l);

/*
 * Destroys the context: every connection is closed (calls in flight are
 * detached and freed by the service when they finish). lws closes its
 * libuv handles asynchronously: keep running the loop afterwards. NULL is
 * a no-op.
 */
void auth_http_free(auth_http_t *h);

#endif
