/*
 * archive_es: requests to the Elasticsearch cluster that indexes the
 * archive, for eirc-logger's shipper (_bulk, the index template) and
 * eirc-history's search and export. One base URL per node, tried in turn
 * after transport failures; basic auth or an API key; TLS verification
 * on unless the config says otherwise; a timeout per request; at most
 * ARCHIVE_ES_REQUESTS_MAX in flight. The transport is common/http_client.
 *
 * It knows nothing of _bulk or of queries: lg_bulk builds bodies and
 * reads answers, hist_http_es builds searches.
 */
#ifndef EIRC_ARCHIVE_ES_H
#define EIRC_ARCHIVE_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/http_client.h"

/* Largest answer body kept; a longer one fails the request (-EMSGSIZE). */
#define ARCHIVE_ES_ANSWER_MAX (64u * 1024 * 1024)
/* Requests in flight at once. */
#define ARCHIVE_ES_REQUESTS_MAX 8
/* Longest URL (node URL and path) of a request. */
#define ARCHIVE_ES_URL_MAX 2047

typedef struct archive_es archive_es_t;

typedef struct archive_es_opts {
	char *const *urls; /* borrowed, "http(s)://host:port" */
	size_t n_urls;
	const char *username; /* borrowed; basic auth when set */
	const char *password;
	const char *api_key; /* borrowed; "Authorization: ApiKey ..." */
	bool tls_verify;
	const char *tls_ca_file;
	uint64_t timeout_ms;
} archive_es_opts_t;

/* Creates the client on loop; opts and its strings are borrowed for its
 * life. Returns 0 and *out, -EINVAL (no URL) or -ENOMEM. */
int archive_es_new(uv_loop_t *loop, const archive_es_opts_t *opts, archive_es_t **out);

/*
 * Starts method path (e.g. "POST", "/_bulk") on the current node with
 * body[0..len) (NULL: an empty body; borrowed until cb runs) and
 * content_type (NULL: application/json). cb runs exactly once, from the
 * loop, unless this fails: -EBUSY (ARCHIVE_ES_REQUESTS_MAX in flight),
 * -EINVAL (URL past ARCHIVE_ES_URL_MAX), -ENOMEM. A transport failure
 * (ans->err) moves the next requests to the next node.
 */
int archive_es_request(archive_es_t *es, const char *method, const char *path,
		       const char *content_type, const char *body, size_t len, http_client_cb cb,
		       void *ud);

/* The node URL requests go to now. */
const char *archive_es_current_url(const archive_es_t *es);

/* Aborts requests in flight (their callbacks do not run) and closes the
 * client; done(arg) (when not NULL) runs once libuv closed its handles.
 * NULL is a no-op. */
void archive_es_close(archive_es_t *es, void (*done)(void *arg), void *arg);

#endif
