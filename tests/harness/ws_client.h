/*
 * ws_client: a blocking WebSocket client for the integration tests, on
 * libwebsockets' client role. Each connection has its own lws_context and
 * every call services it until what it waits for happened or its timeout
 * ran out, so a test reads top to bottom like a browser session.
 *
 * It does what a test of a WebSocket server needs and a browser cannot:
 * send raw fragments (to build a message bigger than a limit), send a text
 * frame that is not UTF-8 (lws does not check outgoing frames), stop
 * reading (a slow browser), and report a refused upgrade's HTTP status and
 * body, or the close code and reason the server sent.
 *
 * Not thread-safe per connection; separate connections may be used from
 * separate threads. Test tooling: it blocks and never logs. ws:// and,
 * with opts->cafile, wss:// (the server's certificate verified against
 * that CA and the URL's host, or opts->host).
 */
#ifndef EIRC_TESTS_HARNESS_WS_CLIENT_H
#define EIRC_TESTS_HARNESS_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Default time a call waits, in ms. */
#define WS_TIMEOUT_MS 10000
/* Largest message ws_recv() assembles; a bigger one is an error (-EMSGSIZE). */
#define WS_MSG_MAX (1024 * 1024)
/* Bytes of a refused upgrade's body kept in ws_refusal_t. */
#define WS_REFUSAL_BODY_MAX 512

typedef struct ws_client ws_client_t;

typedef struct {
	const char *origin;         /* Origin header as is, or NULL for none */
	const char *protocols;      /* "binary.ircv3.net, text.ircv3.net", or NULL */
	const char *const *headers; /* NULL-ended "Name: value" lines, or NULL */
	int timeout_ms;             /* 0: WS_TIMEOUT_MS */
	int rcvbuf;                 /* SO_RCVBUF once open (a browser on a slow
				     * link holds little), 0: the kernel's */
	const char *cafile;         /* wss://: the CA (PEM) to trust; required */
	const char *host;           /* Host header and TLS name when the URL
				     * names an address, or NULL */
} ws_opts_t;

typedef struct {
	int status;                     /* HTTP status of a refused upgrade; 0 when none came */
	char body[WS_REFUSAL_BODY_MAX]; /* its body, NUL-terminated ("" if none) */
	char error[160];                /* what libwebsockets said, for messages */
} ws_refusal_t;

/* How ws_send_frame() marks a frame. */
typedef enum {
	WS_FRAG_FIRST_TEXT,   /* opcode text, FIN clear */
	WS_FRAG_FIRST_BINARY, /* opcode binary, FIN clear */
	WS_FRAG_MORE,         /* continuation, FIN clear */
	WS_FRAG_LAST,         /* continuation, FIN set */
} ws_frag_t;

/*
 * Opens url ("ws://host:port/path?query"). Returns 0 with *out_ws open;
 * -EPERM when the server answered the upgrade with another status than 101
 * (out_refusal, when not NULL, holds status and body); -ETIMEDOUT; -EIO
 * for any other failure (out_refusal->error says which). opts may be NULL.
 */
int ws_connect(const char *url, const ws_opts_t *opts, ws_client_t **out_ws,
	       ws_refusal_t *out_refusal);

/* The subprotocol the server chose ("" when it sent none). */
const char *ws_protocol(const ws_client_t *ws);

/* Sends one whole message (text or binary); 0, -EPIPE once closed,
 * -ETIMEDOUT when it could not be written in time. */
int ws_send(ws_client_t *ws, bool binary, const void *data, size_t len);
int ws_send_text(ws_client_t *ws, const char *text);

/* Sends one frame of a fragmented message; see ws_frag_t. */
int ws_send_frame(ws_client_t *ws, ws_frag_t kind, const void *data, size_t len);

/*
 * Waits up to timeout_ms (<= 0: WS_TIMEOUT_MS) for the next whole message.
 * Returns 0 with *out_msg (NUL-terminated, owned by ws, valid until the
 * next call) and *out_len; out_binary may be NULL. -ETIMEDOUT when none
 * came; -EPIPE when the connection is closed (see ws_close_code()).
 */
int ws_recv(ws_client_t *ws, int timeout_ms, const char **out_msg, size_t *out_len,
	    bool *out_binary);

/*
 * Waits up to timeout_ms for the connection to close, dropping messages
 * that still come. Returns the close code the server sent (1005 when its
 * close frame had none, 1006 when the connection ended without a close
 * frame), or -ETIMEDOUT. reason (may be NULL) gets the close reason.
 */
int ws_wait_close(ws_client_t *ws, int timeout_ms, char *reason, size_t cap);

/* True once the connection is closed. */
bool ws_closed(const ws_client_t *ws);

/* Stops (paused true) or resumes reading from the socket, so that the
 * server's data piles up in the kernel buffers and then in the server. */
void ws_pause(ws_client_t *ws, bool paused);

/* Serves the connection for ms without reading messages out (pings are
 * answered by lws while not paused). */
void ws_idle(ws_client_t *ws, int ms);

/* Closes with code 1000 (waits a moment for the server's answer) if still
 * open, and frees everything. NULL is a no-op. */
void ws_free(ws_client_t *ws);

/* Frees without a close handshake: the TCP connection just goes away. */
void ws_abort(ws_client_t *ws);

/*
 * The upgrade request alone, on a plain socket, for refusal tests: lws does
 * not hand a client the body of a non-101 answer. ws_raw_begin() connects
 * and sends "GET <path> Upgrade: websocket" with opts' Origin, protocols
 * and headers; it returns the socket (>= 0) or a negative errno.
 * ws_raw_finish() reads the answer within timeout_ms (<= 0: WS_TIMEOUT_MS)
 * and closes the socket (after a 101 that is a browser going away without
 * a close frame). It returns the HTTP status (> 0) with the body (up to
 * cap - 1 bytes, NUL-terminated; body may be NULL), or a negative errno.
 * Two begins before their finishes race two upgrades.
 */
int ws_raw_begin(const char *url, const ws_opts_t *opts);
int ws_raw_finish(int fd, int timeout_ms, char *body, size_t cap);
/* Both in one call. */
int ws_raw_upgrade(const char *url, const ws_opts_t *opts, char *body, size_t cap);

#endif
