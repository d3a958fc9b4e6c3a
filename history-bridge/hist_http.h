/*
 * hist_http: eirc-history's HTTP API (docs/history.md "HTTP API") with
 * common/http_server on the daemon's libuv loop, as eirc-auth does it: GET
 * /healthz (liveness), /readyz (Redis up), /metrics (hist_metrics) and GET
 * /v1/rooms/{room}/messages, /v1/search, /v1/export.
 *
 * Every request but the probes and /metrics carries an RFC 6750 bearer token, checked by
 * RFC 7662 introspection at eirc-auth (history.introspect_*; libcurl on the
 * loop through common/http_client) and cached
 * history.introspect_cache_ttl (never past the token's exp) in at most
 * HIST_API_CACHE_MAX entries (hist_api.h); a user's answers are dropped as
 * soon as an access change of theirs comes on the access bus
 * (hist_http_forget_user), all of them on every (re)subscription. Then a per-user token bucket
 * (history.rate_per_second, rate_burst; 429 with Retry-After), the room's
 * authorisation (hist_api.h; 403), and the query on Redis with the same
 * script as CHATHISTORY (hist_query.h). Every request is answered within
 * history.request_timeout (503 past it); Redis down answers 503 at once.
 * Errors are JSON like eirc-auth's: {"error":..., "error_description":...}.
 */
#ifndef EIRC_HIST_HTTP_H
#define EIRC_HIST_HTTP_H

#include <stdint.h>

typedef struct hist_app hist_app_t;
typedef struct hist_http hist_http_t;

/* Requests being answered at once; more get 503 at once. */
#define HIST_HTTP_REQS_MAX 1024
/* Messages per page when the request names no limit. */
#define HIST_HTTP_LIMIT_DEFAULT 50
/* Introspection and audit calls to eirc-auth in flight at once (more:
 * 503), and the largest answer kept from one (more: the check fails). */
#define HIST_INTRO_REQUESTS_MAX 8
#define HIST_INTRO_ANSWER_MAX   (1024u * 1024)

/*
 * Creates the HTTP API (its common/http_server, the introspection and
 * Elasticsearch clients) on a->loop, not listening yet (not called when
 * history.listen_port is 0). Returns 0 and *out_http, or -ENOMEM or
 * -EINVAL (a bad introspect_url) with *out_http untouched and nothing
 * left to close. After a success the end is always hist_http_close(),
 * uv_run() to the end, hist_http_free().
 */
int hist_http_new(hist_app_t *a, hist_http_t **out_http);

/* Listens on history.listen_address and listen_port. Returns 0 or
 * -EADDRINUSE (logged). */
int hist_http_listen(hist_http_t *h);

/* The access bus (hist_app.c follows it): an access change of user was
 * published, so its cached introspection answers go (the next request
 * asks eirc-auth again). An answer already on its way is used for its
 * request but not cached. NULL h is a no-op. */
void hist_http_forget_user(hist_http_t *h, uint64_t user);

/* The same for every user: the subscription was (re)made and changes may
 * have been missed meanwhile. NULL h is a no-op. */
void hist_http_forget_all(hist_http_t *h);

/* Closes every connection and starts closing lws's handles. Call before
 * redis_close(). Idempotent; NULL is a no-op. */
void hist_http_close(hist_http_t *h);

/* After uv_run() returned: frees the context, what is left of the
 * requests, and h. NULL is a no-op. */
void hist_http_free(hist_http_t *h);

#endif
