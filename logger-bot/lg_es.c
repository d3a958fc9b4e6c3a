/*
 * lg_es: libcurl multi-socket on libuv (see lg_es.h).
 */
#include "logger-bot/lg_es.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "logger-bot/lg_bulk.h"

struct req {
	struct lg_es *es;
	CURL *easy;
	struct curl_slist *headers;
	struct lg_buf resp;
	bool too_big;
	lg_es_done_fn fn;
	void *ud;
};

struct sock {
	struct lg_es *es;
	struct sock *next;      /* open polls, to close any curl leaves behind */
	uv_poll_t poll;
	curl_socket_t fd;
	bool closing;
};

struct lg_es {
	uv_loop_t *loop;
	struct lg_es_opts opts;
	CURLM *multi;
	uv_timer_t timer;
	size_t url_idx;
	int in_flight;
	int open_handles;       /* timer + socket polls */
	struct sock *socks;
	bool freeing;
	struct req *reqs[LG_ES_REQUESTS_MAX];
};

static void maybe_free(struct lg_es *es)
{
	if (es->freeing && es->open_handles == 0)
		free(es);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct lg_es *es;

	if (h->type == UV_POLL) {
		struct sock *s = h->data, **pp;
		es = s->es;
		for (pp = &es->socks; *pp; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		free(s);
	} else {
		es = h->data;
	}
	es->open_handles--;
	maybe_free(es);
}

static void req_free(struct req *r)
{
	for (int i = 0; i < LG_ES_REQUESTS_MAX; i++)
		if (r->es->reqs[i] == r)
			r->es->reqs[i] = NULL;
	curl_multi_remove_handle(r->es->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	lg_buf_free(&r->resp);
	r->es->in_flight--;
	free(r);
}

static void check_done(struct lg_es *es)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(es->multi, &left))) {
		struct req *r = NULL;
		long status = 0;
		int err = 0;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (msg->data.result != CURLE_OK) {
			err = msg->data.result == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
			      : r->too_big                                 ? -EMSGSIZE
			                                                   : -ECONNREFUSED;
			es->url_idx = (es->url_idx + 1) % es->opts.n_urls;
		}
		lg_buf_append(&r->resp, "", 0);
		r->fn(r->ud, err, err ? 0 : status, r->resp.p ? r->resp.p : "", r->resp.len);
		req_free(r);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->es->multi, s->fd, flags, &running);
	check_done(s->es);
}

static void on_timer(uv_timer_t *t)
{
	struct lg_es *es = t->data;
	int running;

	curl_multi_socket_action(es->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(es);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct lg_es *es = userp;
	struct sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			s->closing = true;
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, on_handle_closed);
			if (!es->freeing)
				curl_multi_assign(es->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->es = es;
		s->fd = fd;
		if (uv_poll_init_socket(es->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = es->socks;
		es->socks = s;
		es->open_handles++;
		curl_multi_assign(es->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static int on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	struct lg_es *es = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&es->timer);
	else
		uv_timer_start(&es->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)ud, (void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	struct req *r = ud;

	if (r->resp.len + size * n > LG_ES_RESPONSE_MAX) {
		r->too_big = true;
		return 0;
	}
	return lg_buf_append(&r->resp, data, size * n) < 0 ? 0 : size * n;
}

int lg_es_new(uv_loop_t *loop, const struct lg_es_opts *opts, struct lg_es **out_es)
{
	static bool global_done;
	struct lg_es *es;

	if (!opts->n_urls)
		return -EINVAL;
	if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -ENOMEM;
	global_done = true;
	if (!(es = calloc(1, sizeof(*es))))
		return -ENOMEM;
	es->loop = loop;
	es->opts = *opts;
	if (!(es->multi = curl_multi_init())) {
		free(es);
		return -ENOMEM;
	}
	curl_multi_setopt(es->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(es->multi, CURLMOPT_SOCKETDATA, es);
	curl_multi_setopt(es->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(es->multi, CURLMOPT_TIMERDATA, es);
	uv_timer_init(loop, &es->timer);
	es->timer.data = es;
	es->open_handles = 1;
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
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)es->opts.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
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
	int slot = -1;

	for (int i = 0; i < LG_ES_REQUESTS_MAX && slot < 0; i++)
		if (!es->reqs[i])
			slot = i;
	if (slot < 0)
		return -EBUSY;
	if (snprintf(url, sizeof(url), "%s%s", lg_es_current_url(es), path) >= (int)sizeof(url))
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	*r = (struct req){ .es = es, .fn = fn, .ud = ud };
	es->in_flight++;
	es->reqs[slot] = r;
	if (!(r->easy = curl_easy_init()) ||
	    setup_easy(es, r, method, url, content_type, body, len) < 0 ||
	    curl_multi_add_handle(es->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return -ENOMEM;
	}
	return 0;
}

void lg_es_free(struct lg_es *es)
{
	if (!es)
		return;
	for (int i = 0; i < LG_ES_REQUESTS_MAX; i++)
		if (es->reqs[i])
			req_free(es->reqs[i]);
	es->freeing = true;
	curl_multi_cleanup(es->multi); /* closes cached connections: CURL_POLL_REMOVE */
	es->multi = NULL;
	for (struct sock *s = es->socks; s; s = s->next)
		if (!s->closing) {
			s->closing = true;
			uv_close((uv_handle_t *)&s->poll, on_handle_closed);
		}
	es->freeing = true;
	uv_timer_stop(&es->timer);
	uv_close((uv_handle_t *)&es->timer, on_handle_closed);
}
