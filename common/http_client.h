/*
 * http_client: the one HTTP client of the daemons, libcurl's multi-socket
 * interface on a libuv loop. eirc-gateway calls eirc-auth's chat-token
 * consume with it, eirc-logger ships to Elasticsearch and eirc-history
 * searches Elasticsearch and introspects tokens at eirc-auth
 * (archive/archive_es builds the Elasticsearch requests on it).
 *
 * A request is described once (method, URL, headers, body, basic auth,
 * TLS, timeout, the most answer body it keeps) and its callback runs
 * exactly once with the status and the body, or with a negative errno and
 * its text. The client owns the CURLM, every easy handle, one uv_poll_t
 * per socket curl opens and curl's single timeout as a uv_timer_t. No
 * thread, no blocking call; every socket is opened close-on-exec; HTTP(S)
 * only.
 *
 * It is not a protocol client: it knows no Elasticsearch, JSON or OAuth,
 * retries nothing and follows no redirect.
 */
#ifndef EIRC_COMMON_HTTP_CLIENT_H
#define EIRC_COMMON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/err.h"

typedef struct http_client http_client_t;
typedef struct http_client_xfer http_client_xfer_t;

typedef struct http_client_opts {
	int requests_max; /* in flight at once (more: -EBUSY); 0: no limit */
	long idle_max;    /* idle connections kept for reuse; 0: libcurl's default */
} http_client_opts_t;

/* One request; everything is copied by http_client_send() but body. */
typedef struct http_client_req {
	const char *method;         /* "GET", "POST", "PUT", "DELETE", … */
	const char *url;            /* absolute http:// or https:// URL */
	const char *const *headers; /* n_headers "Name: value" lines */
	size_t n_headers;
	const char *username; /* basic auth when set */
	const char *password; /* NULL: "" */
	const char *body;     /* NULL: none; else borrowed until the callback or cancel */
	size_t body_len;
	uint64_t timeout_ms;     /* the whole exchange; 0: none */
	size_t answer_max;       /* answer body bytes kept; one more fails: -EMSGSIZE */
	bool tls_no_verify;      /* https: do not check the peer's certificate and name */
	const char *tls_ca_file; /* https: CA bundle; NULL: the system's */
} http_client_req_t;

/* How a request ended; valid during the callback only. */
typedef struct http_client_answer {
	/* 0 (an answer came, whatever its status), or why none did:
	 * -ETIMEDOUT, -EMSGSIZE (body past answer_max), -ECONNREFUSED,
	 * -EHOSTUNREACH (name not resolved), -EPROTONOSUPPORT (not HTTP(S)),
	 * -ENOMEM, -EIO (anything else: reset, TLS, malformed answer),
	 * -ECANCELED (http_client_close) */
	int err;
	long status;      /* HTTP status when err is 0, else 0 */
	const char *body; /* NUL-terminated, "" when none */
	size_t len;
} http_client_answer_t;

/*
 * Runs exactly once per request started, from the loop or from
 * http_client_close(), unless http_client_cancel() came first. why is
 * NULL when ans->err is 0, else one line for a log (curl's own text, or
 * the limit passed). The request is already out of the client: the
 * callback may start or cancel requests and close the client.
 */
typedef void (*http_client_cb)(void *ud, const http_client_answer_t *ans, const eirc_err_t *why);

/*
 * Creates the client on loop (curl_global_init on the first call); opts
 * may be NULL (no limit, libcurl's pool). Returns 0 and *out, or -ENOMEM.
 * End it with http_client_close().
 */
int http_client_new(uv_loop_t *loop, const http_client_opts_t *opts, http_client_t **out);

/*
 * Starts req; cb(ud, …) runs exactly once later (see http_client_cb).
 * *out_xfer (when out_xfer is not NULL) is a handle for
 * http_client_cancel(), valid until cb runs. Returns 0, or -EINVAL (no
 * method or URL), -EBUSY (requests_max in flight), -ECANCELED (closing),
 * -ENOMEM, and then cb never runs.
 */
int http_client_send(http_client_t *c, const http_client_req_t *req, http_client_cb cb, void *ud,
		     http_client_xfer_t **out_xfer);

/* Ends a request still in flight at once; its callback never runs. NULL
 * is a no-op. */
void http_client_cancel(http_client_xfer_t *x);

/* Requests started and not yet ended. */
int http_client_running(const http_client_t *c);

/*
 * Ends every request in flight (each callback runs at once with
 * -ECANCELED), closes the cached connections and every libuv handle;
 * done(arg) runs (when done is not NULL) and the memory is freed once the
 * last handle closed. c must not be used after. NULL is a no-op.
 */
void http_client_close(http_client_t *c, void (*done)(void *arg), void *arg);

#endif
