/*
 * curl_uv: libcurl's multi-socket interface on a libuv loop, the one HTTP
 * client transport of the daemons (gw_auth's calls to eirc-auth, lg_es's
 * to Elasticsearch and to eirc-auth). It owns the CURLM, one uv_poll_t per
 * socket curl opens, curl's single timeout as a uv_timer_t, and the answer
 * body of each transfer (up to a limit per transfer). No thread, no
 * blocking call; every socket is opened close-on-exec.
 *
 * It is not an HTTP client API: callers build their easy handles (URL,
 * method, headers, body, timeout, TLS) and own them; it only runs them.
 */
#ifndef EIRC_COMMON_CURL_UV_H
#define EIRC_COMMON_CURL_UV_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <uv.h>

typedef struct curl_uv curl_uv_t;

/* How a transfer ended; valid during the callback only. */
typedef struct curl_uv_done {
	CURLcode result;  /* CURLE_OK, or why the transfer failed */
	long status;      /* HTTP status, 0 when no answer came */
	bool too_big;     /* the body passed max_body (result is then an error) */
	bool closed;      /* curl_uv_close() ended it: free what it holds, no more */
	const char *body; /* NUL-terminated, "" when none */
	size_t len;
} curl_uv_done_t;

typedef void (*curl_uv_done_fn)(void *ud, const curl_uv_done_t *done);

/*
 * Creates the multi handle and its timer on loop (curl_global_init on the
 * first call). Returns 0 and *out, or -ENOMEM. End it with curl_uv_close().
 */
int curl_uv_new(uv_loop_t *loop, curl_uv_t **out);

/*
 * Starts easy (still owned by the caller), keeping at most max_body bytes
 * of its answer. Sets CURLOPT_PRIVATE, WRITEFUNCTION/WRITEDATA (the caller
 * must not), close-on-exec sockets, NOSIGNAL and HTTP(S) only. fn runs
 * exactly once, from the loop (or from curl_uv_close), after easy was taken
 * out of the multi handle: it may clean easy up, start or remove transfers,
 * or close cu.
 * Returns 0, or -ECANCELED (closing) / -ENOMEM, and then fn never runs.
 */
int curl_uv_add(curl_uv_t *cu, CURL *easy, size_t max_body, curl_uv_done_fn fn, void *ud);

/*
 * Takes easy out before it ended: its fn will not run. A no-op when easy
 * is not running (never added, done, removed). Not from a curl callback.
 */
void curl_uv_remove(curl_uv_t *cu, CURL *easy);

/* Keeps at most n idle connections in the pool for reuse
 * (CURLMOPT_MAXCONNECTS; libcurl's default grows with the transfers). */
void curl_uv_set_max_idle(curl_uv_t *cu, long n);

/* Transfers added and not yet ended. */
int curl_uv_running(const curl_uv_t *cu);

/*
 * Ends every transfer still running (its fn runs at once with closed set,
 * to free its easy handle), closes the cached connections and every libuv
 * handle; the memory is freed in the last close callback. cu must not be
 * used after. NULL is a no-op. Not from a curl callback.
 */
void curl_uv_close(curl_uv_t *cu);

#endif
