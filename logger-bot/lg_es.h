/*
 * lg_es: HTTP requests to Elasticsearch from the libuv loop, through the
 * libcurl multi-socket API (curl's sockets polled by libuv, its timeout a
 * uv timer). Basic auth or an API key, TLS verification on unless the
 * config says otherwise, sockets opened close-on-exec, a timeout per
 * request, several node URLs tried in turn after transport failures.
 *
 * It knows nothing of _bulk: lg_shipper builds bodies and reads answers.
 */
#ifndef EIRC_LOGGER_LG_ES_H
#define EIRC_LOGGER_LG_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Largest response body kept; a longer one fails the request (-EMSGSIZE). */
#define LG_ES_RESPONSE_MAX (64u * 1024 * 1024)
/* Requests in flight at once. */
#define LG_ES_REQUESTS_MAX 8

struct lg_es_opts {
	char *const *urls;              /* borrowed, "http(s)://host:port" */
	size_t n_urls;
	const char *username;           /* borrowed; basic auth when set */
	const char *password;
	const char *api_key;            /* borrowed; "Authorization: ApiKey ..." */
	bool tls_verify;
	const char *tls_ca_file;
	uint64_t timeout_ms;
};

/* err: 0, or a negative errno for a transport failure (no HTTP status).
 * body is NUL-terminated and valid during the call. */
typedef void (*lg_es_done_fn)(void *ud, int err, long status, const char *body, size_t len);

struct lg_es;

int lg_es_new(uv_loop_t *loop, const struct lg_es_opts *opts, struct lg_es **out_es);

/*
 * Starts method path (e.g. "POST", "/_bulk") on the current node with
 * body[0..len) (borrowed until fn runs) and content_type. fn runs exactly
 * once, from the loop, unless this fails: -EBUSY (LG_ES_REQUESTS_MAX in
 * flight), -ENOMEM, -EINVAL.
 */
int lg_es_request(struct lg_es *es, const char *method, const char *path,
                  const char *content_type, const char *body, size_t len, lg_es_done_fn fn,
                  void *ud);

/* The node URL requests go to now. */
const char *lg_es_current_url(const struct lg_es *es);

/* Aborts requests in flight (their callbacks do not run), closes handles;
 * memory freed once libuv closed them. NULL is a no-op. */
void lg_es_free(struct lg_es *es);

#endif
