/*
 * http_server: the one libwebsockets server layer of eIRC. eirc-auth,
 * eirc-gateway, eirc-history and eirc-logger's /metrics listener each make
 * one on their libuv loop (LWS_SERVER_OPTION_LIBUV with a foreign loop);
 * it is the only place that creates an lws context.
 *
 * It owns: the context and its limits (request head bytes, heads read at
 * once, body bytes, open connections, timeouts), the listeners (one lws
 * vhost each, plain or TLS), lws's log lines (errors and warnings as
 * "lws: ..." lines of common/log, trailing CR/LF dropped, at most 511
 * bytes), the response writers (head, body, one-write answer, chunked
 * stream) and the teardown, including lws 4.1's second destroy on a
 * foreign loop.
 *
 * It is not a router and holds no requests: a listener is given either an
 * http_handler_t (eirc-auth, eirc-history, the logger: hooks for a
 * request's head, its body, its writable turns and its end, each with the
 * connection's per-request space) or, where lws must see more, its own
 * lws protocol list (the gateway's WebSocket subprotocols). Either way the
 * daemon answers with the writers below, and finds its listener's `user`
 * with http_server_user(). http_server's own callback runs first, to
 * count connections.
 *
 * Limits (http_server_opts_t):
 *  - header_max: bytes lws keeps of one request head (the path, and each
 *    header value it stores, each with a terminating NUL). Past it lws 4.1
 *    closes the connection itself, with no status line and no callback.
 *  - body_max: bytes of a request body; http_server_content_length()
 *    refuses a Content-Length past it (-EMSGSIZE) before a byte is read.
 *  - conns_max: connections open at once on the server (every listener);
 *    one more is closed as soon as it is accepted, unanswered. 0: none.
 *
 * Lifecycle: http_server_new() → http_server_listen() per listener →
 * uv_run() → http_server_close() (every connection closed, lws starts
 * closing its handles) → uv_run() until the loop is done →
 * http_server_free() → uv_loop_close(). The split is lws 4.1's: on a
 * foreign loop it frees its context only when lws_context_destroy() is
 * called again once its handles are closed (lib/core/context.c,
 * lws_context_destroy2/3), and it tells nobody when that is.
 */
#ifndef EIRC_COMMON_HTTP_SERVER_H
#define EIRC_COMMON_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <uv.h>

#include "common/err.h"

typedef struct http_server http_server_t;

/* Listeners one server opens (eirc-auth: public and internal; eirc-gateway:
 * plain and TLS). */
#define HTTP_SERVER_LISTENERS_MAX 2
/* Largest header_max lws takes (its counter is 16 bits). */
#define HTTP_SERVER_HEADER_MAX 65535
/* Bytes of one response head (status line and headers). */
#define HTTP_HEAD_MAX 4096
/* content_length of a head whose body is a chunked stream. */
#define HTTP_CHUNKED UINT64_MAX

typedef struct http_server_opts http_server_opts_t;
struct http_server_opts {
	size_t header_max;  /* see above; 1..HTTP_SERVER_HEADER_MAX */
	unsigned heads_max; /* request heads being read at once (lws's pool) */
	uint64_t body_max;  /* see above */
	unsigned conns_max; /* see above; 0: no limit */
	unsigned timeout_s; /* a head not read, a request not answered: closed */
	bool tls;           /* some listener will be TLS */
};

/*
 * The hooks of a plain HTTP listener, called from lws callbacks with the
 * connection's per-request space `pss` (pss_size bytes, zeroed by lws per
 * connection). Each returns 0, or -1 to close the connection. request is
 * required; the others may be NULL (body bytes are then ignored, writable
 * turns do nothing). closed is called once or more when the connection
 * ends (CLOSED_HTTP, then maybe DROP_PROTOCOL): it must be idempotent.
 */
typedef struct http_handler {
	size_t pss_size;
	int (*request)(struct lws *wsi, void *pss, const char *path, size_t len);
	int (*body)(struct lws *wsi, void *pss, const void *in, size_t len);
	int (*body_done)(struct lws *wsi, void *pss);
	int (*writable)(struct lws *wsi, void *pss);
	void (*closed)(void *pss);
} http_handler_t;

typedef struct http_listen_opts http_listen_opts_t;
struct http_listen_opts {
	const char *name;    /* the vhost's name, for lws's log */
	const char *address; /* NULL: every address */
	int port;            /* 0: a free one (http_server_port) */
	/* Both set: TLS with this certificate chain and key (PEM files). */
	const char *tls_cert_file, *tls_key_file;
	const char *alpn; /* TLS only; NULL: lws's default */
	/* One of the two. The handler must outlive the server. */
	const http_handler_t *handler;
	/* Or the protocols, ended by one with a NULL name; the first one
	 * answers plain HTTP. Must outlive the server. Their `user` fields are
	 * http_server's (a callback sees its listener's through
	 * http_server_user()). */
	const struct lws_protocols *protocols;
	const lws_retry_bo_t *retry; /* WebSocket ping policy; NULL: lws's */
	unsigned keepalive_s;        /* an idle keep-alive connection */
	void *user;                  /* http_server_user() */
};

/*
 * Creates the lws context on `loop`, without listeners. Returns 0 and *out,
 * -EINVAL (a limit out of range) or -ENOMEM. From then on lws may have
 * handles on the loop: the end is always the lifecycle above.
 */
int http_server_new(uv_loop_t *loop, const http_server_opts_t *o, http_server_t **out);

/*
 * Opens one listener. Returns its index (0, 1, ...), -ENOSPC past
 * HTTP_SERVER_LISTENERS_MAX, -EINVAL (neither or both of handler and
 * protocols, or no protocol) or -EADDRINUSE (lws
 * says no more: it logs why), with a line in out_err.
 */
int http_server_listen(http_server_t *s, const http_listen_opts_t *o, eirc_err_t *out_err);

/* The port listener `i` is bound to (useful with port 0), or -EINVAL. */
int http_server_port(const http_server_t *s, int i);

/* The `user` of the listener a connection came in on; NULL for none. */
void *http_server_user(struct lws *wsi);

/*
 * Starts the shutdown: every connection is closed (each protocol sees its
 * CLOSED callbacks, maybe inside this call) and lws starts closing its
 * libuv handles. Never call it from inside an lws callback. A second call
 * does nothing; NULL is a no-op.
 */
void http_server_close(http_server_t *s);

/*
 * After http_server_close() and after uv_run() returned: frees the context
 * and s (calls http_server_close() first if need be). NULL is a no-op.
 */
void http_server_free(http_server_t *s);

/*
 * The request's Content-Length: 0 with *out (0 when absent), -EINVAL when
 * malformed or when the body is chunked (Transfer-Encoding), -EMSGSIZE
 * past the server's body_max (*out is then the length asked for).
 */
int http_server_content_length(struct lws *wsi, uint64_t *out);

/* ---- response writers (from an lws callback on wsi) ---- */

typedef struct http_head {
	unsigned status;
	const char *content_type;
	uint64_t content_length; /* HTTP_CHUNKED: chunks follow */
	/* More headers: name ("retry-after:"), value, ..., NULL. May be NULL. */
	const char *const *headers;
	bool close; /* Connection: close */
} http_head_t;

/*
 * Writes the status line and headers (lws's, so HTTP/1.1 or h2 as the
 * request was). Returns 0, or -EMSGSIZE past HTTP_HEAD_MAX, or -EIO: then
 * return -1 from the callback.
 */
int http_write_head(struct lws *wsi, const http_head_t *h);

/* Writes a whole body after http_write_head() (the final write). 0 or
 * -ENOMEM / -EIO. */
int http_write_body(struct lws *wsi, const void *body, size_t len);

/*
 * Writes one chunk (RFC 9112 7.1) of a chunked body; len 0 writes the last
 * chunk, the final write. One call per writable callback. 0 or -ENOMEM /
 * -EIO.
 */
int http_write_chunk(struct lws *wsi, const void *data, size_t len);

/*
 * Writes head and body in one write with an "HTTP/1.1" status line, for
 * answers lws has not set up a transaction for (a refused WebSocket
 * upgrade) and small answers written from LWS_CALLBACK_HTTP at once.
 * 0 or -EMSGSIZE / -ENOMEM / -EIO.
 */
int http_respond(struct lws *wsi, const http_head_t *h, const void *body, size_t len);

#endif
