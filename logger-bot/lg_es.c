/*
 * lg_es: Elasticsearch requests on common/curl_uv (see lg_es.h). A
 * request is an easy handle and its headers; it is freed before its
 * callback runs, so the callback may start the next request or free the
 * client.
 */
#include "logger-bot/lg_es.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/curl_uv.h"

struct req {
	struct lg_es *es;
	CURL *easy;
	struct curl_slist *headers;
	lg_es_done_fn fn;
	void *ud;
};

struct lg_es {
	curl_uv_t *cu;
	struct lg_es_opts opts;
	size_t url_idx;
};

static void req_free(struct req *r)
{
	if (r->easy) {
		curl_uv_remove(r->es->cu, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r);
}

static void on_done(void *ud, const curl_uv_done_t *d)
{
	struct req *r = ud;
	struct lg_es *es = r->es;
	lg_es_done_fn fn = r->fn;
	void *fn_ud = r->ud;
	int err = 0;

	if (d->closed) { /* lg_es_free(): no callback */
		req_free(r);
		return;
	}
	if (d->result != CURLE_OK) {
		err = d->result == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		      : d->too_big                          ? -EMSGSIZE
		                                            : -ECONNREFUSED;
		es->url_idx = (es->url_idx + 1) % es->opts.n_urls;
	}
	req_free(r);
	fn(fn_ud, err, err ? 0 : d->status, d->body, d->len);
}

int lg_es_new(uv_loop_t *loop, const struct lg_es_opts *opts, struct lg_es **out_es)
{
	struct lg_es *es;

	if (!opts->n_urls)
		return -EINVAL;
	if (!(es = calloc(1, sizeof(*es))))
		return -ENOMEM;
	es->opts = *opts;
	if (curl_uv_new(loop, &es->cu) < 0) {
		free(es);
		return -ENOMEM;
	}
	*out_es = es;
	return 0;
}

const char *lg_es_current_url(const struct lg_es *es)
{
	return es->opts.urls[es->url_idx];
}

static int setup_auth(struct lg_es *es, struct req *r)
{
	char hdr[1024];

	if (es->opts.api_key) {
		snprintf(hdr, sizeof(hdr), "Authorization: ApiKey %s", es->opts.api_key);
		struct curl_slist *h = curl_slist_append(r->headers, hdr);
		if (!h)
			return -ENOMEM;
		r->headers = h;
	} else if (es->opts.username) {
		curl_easy_setopt(r->easy, CURLOPT_USERNAME, es->opts.username);
		curl_easy_setopt(r->easy, CURLOPT_PASSWORD, es->opts.password ? es->opts.password : "");
	}
	return 0;
}

static int setup_easy(struct lg_es *es, struct req *r, const char *method, const char *url,
                      const char *content_type, const char *body, size_t len)
{
	char ct[128];
	CURL *e = r->easy;

	snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
	if (!(r->headers = curl_slist_append(NULL, ct)) || setup_auth(es, r) < 0)
		return -ENOMEM;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)es->opts.timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, es->opts.tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, es->opts.tls_verify ? 2L : 0L);
	if (es->opts.tls_ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, es->opts.tls_ca_file);
	return 0;
}

int lg_es_request(struct lg_es *es, const char *method, const char *path,
                  const char *content_type, const char *body, size_t len, lg_es_done_fn fn,
                  void *ud)
{
	char url[2048];
	struct req *r;

	if (curl_uv_running(es->cu) >= LG_ES_REQUESTS_MAX)
		return -EBUSY;
	if (snprintf(url, sizeof(url), "%s%s", lg_es_current_url(es), path) >= (int)sizeof(url))
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	*r = (struct req){ .es = es, .fn = fn, .ud = ud };
	if (!(r->easy = curl_easy_init()) ||
	    setup_easy(es, r, method, url, content_type, body, len) < 0 ||
	    curl_uv_add(es->cu, r->easy, LG_ES_RESPONSE_MAX, on_done, r) < 0) {
		req_free(r);
		return -ENOMEM;
	}
	return 0;
}

void lg_es_free(struct lg_es *es)
{
	if (!es)
		return;
	curl_uv_close(es->cu); /* requests end in on_done; handles free in close callbacks */
	free(es);
}
