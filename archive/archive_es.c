/*
 * archive_es: Elasticsearch requests on common/http_client (see
 * archive_es.h). A request only remembers its caller's callback; the
 * transfer has left the client when that runs, so the callback may start
 * the next request or close the client.
 */
#include "archive/archive_es.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct req {
	archive_es_t *es;
	http_client_cb cb;
	void *ud;
};

struct archive_es {
	http_client_t *http;
	archive_es_opts_t opts;
	size_t url_idx;
	bool closing;
};

static void on_done(void *ud, const http_client_answer_t *ans, const eirc_err_t *why)
{
	struct req *r = ud;
	archive_es_t *es = r->es;
	http_client_cb cb = r->cb;
	void *cb_ud = r->ud;

	free(r);
	if (es->closing) /* archive_es_close(): no callback */
		return;
	if (ans->err)
		es->url_idx = (es->url_idx + 1) % es->opts.n_urls;
	cb(cb_ud, ans, why);
}

int archive_es_new(uv_loop_t *loop, const archive_es_opts_t *opts, archive_es_t **out)
{
	const http_client_opts_t hopts = {.requests_max = ARCHIVE_ES_REQUESTS_MAX};
	archive_es_t *es;
	int rc;

	if (!opts->n_urls)
		return -EINVAL;
	if (!(es = calloc(1, sizeof(*es))))
		return -ENOMEM;
	es->opts = *opts;
	if ((rc = http_client_new(loop, &hopts, &es->http)) < 0) {
		free(es);
		return rc;
	}
	*out = es;
	return 0;
}

const char *archive_es_current_url(const archive_es_t *es)
{
	return es->opts.urls[es->url_idx];
}

int archive_es_request(archive_es_t *es, const char *method, const char *path,
		       const char *content_type, const char *body, size_t len, http_client_cb cb,
		       void *ud)
{
	char url[ARCHIVE_ES_URL_MAX + 1], ct[128], auth[1024];
	const char *headers[] = {ct, auth};
	http_client_req_t req = {
		.method = method,
		.url = url,
		.headers = headers,
		.n_headers = es->opts.api_key ? 2 : 1,
		.username = es->opts.api_key ? NULL : es->opts.username,
		.password = es->opts.password,
		.body = body ? body : "",
		.body_len = body ? len : 0,
		.timeout_ms = es->opts.timeout_ms,
		.answer_max = ARCHIVE_ES_ANSWER_MAX,
		.tls_no_verify = !es->opts.tls_verify,
		.tls_ca_file = es->opts.tls_ca_file,
	};
	struct req *r;
	int rc;

	if (snprintf(url, sizeof(url), "%s%s", archive_es_current_url(es), path) >=
	    (int)sizeof(url))
		return -EINVAL;
	snprintf(ct, sizeof(ct), "Content-Type: %s",
		 content_type ? content_type : "application/json");
	if (es->opts.api_key)
		snprintf(auth, sizeof(auth), "Authorization: ApiKey %s", es->opts.api_key);
	if (!(r = malloc(sizeof(*r))))
		return -ENOMEM;
	*r = (struct req){.es = es, .cb = cb, .ud = ud};
	if ((rc = http_client_send(es->http, &req, on_done, r, NULL)) < 0) {
		free(r);
		return rc;
	}
	return 0;
}

void archive_es_close(archive_es_t *es, void (*done)(void *arg), void *arg)
{
	if (!es)
		return;
	es->closing = true;
	http_client_close(es->http, done, arg); /* every on_done runs in here */
	free(es);
}
