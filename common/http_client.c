/*
 * http_client: libcurl multi-socket on libuv. See http_client.h.
 *
 * curl tells us through on_socket which sockets to watch (a uv_poll_t
 * each, freed in its close callback) and through on_timeout when to call
 * it back (one uv_timer_t). Neither callback calls curl_multi_* (curl
 * forbids it); finished transfers are read in check_done(), after
 * curl_multi_socket_action() returned, and each is taken out of the multi
 * handle before its callback runs. The struct is freed once the timer and
 * every poll have closed.
 */
#include "common/http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/queue.h"

struct hc_sock {
	http_client_t *c;
	queue_t node; /* in c->socks */
	uv_poll_t poll;
	curl_socket_t fd;
	bool closing;
};

struct http_client_xfer {
	http_client_t *c;
	queue_t node; /* in c->xfers */
	CURL *easy;
	struct curl_slist *headers;
	http_client_cb cb;
	void *ud;
	buf_t body;
	int write_err; /* why on_write refused the answer: -EMSGSIZE, -ENOMEM */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	queue_t socks; /* open polls, to close those curl leaves behind */
	queue_t xfers; /* running transfers */
	int running, requests_max;
	int open_handles; /* the timer and the polls */
	bool closing;
	void (*done)(void *arg);
	void *done_arg;
};

static void on_closed(uv_handle_t *h)
{
	http_client_t *c = h->data;

	if (h->type == UV_POLL) {
		struct hc_sock *s = h->data;
		c = s->c;
		queue_remove(&s->node);
		free(s);
	}
	if (--c->open_handles == 0 && c->closing) {
		if (c->done)
			c->done(c->done_arg);
		free(c);
	}
}

static void sock_close(struct hc_sock *s)
{
	if (s->closing)
		return;
	s->closing = true;
	uv_close((uv_handle_t *)&s->poll, on_closed); /* stops polling the fd now */
}

/* Out of the client and the multi handle, easy handle cleaned up; the
 * answer body and x itself are left to the caller. */
static void xfer_detach(http_client_xfer_t *x)
{
	queue_remove(&x->node);
	x->c->running--;
	curl_multi_remove_handle(x->c->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	x->easy = NULL;
	x->headers = NULL;
}

static void xfer_free(http_client_xfer_t *x)
{
	buf_free(&x->body);
	free(x);
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTONOSUPPORT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Takes x out, runs its callback with how it ended, frees it. */
static void xfer_end(http_client_xfer_t *x, CURLcode rc, long status)
{
	http_client_answer_t a = {0};
	eirc_err_t why;

	if (x->c->closing) { /* from http_client_close() */
		a.err = eirc_err_set(&why, -ECANCELED, "the HTTP client was closed");
	} else if (rc != CURLE_OK && x->write_err == -EMSGSIZE) {
		a.err = eirc_err_set(&why, -EMSGSIZE, "answer body past %zu bytes", x->body.limit);
	} else if (rc != CURLE_OK && x->write_err) {
		a.err = eirc_err_set(&why, x->write_err, "no memory for the answer body");
	} else if (rc != CURLE_OK) {
		a.err = eirc_err_set(&why, curl_errno(rc), "%s",
				     x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	} else {
		a.status = status;
	}
	a.body = buf_data(&x->body);
	a.len = buf_len(&x->body);
	xfer_detach(x);
	x->cb(x->ud, &a, a.err ? &why : NULL);
	xfer_free(x);
}

static void check_done(http_client_t *c)
{
	CURLMsg *msg;
	int left;

	while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
		http_client_xfer_t *x = NULL;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		/* msg dies with the removal in xfer_end: read it first */
		xfer_end(x, msg->data.result, status);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct hc_sock *s = p->data;
	http_client_t *c = s->c;
	int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;

	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, s->fd, flags, &running);
	check_done(c);
}

static void on_timer(uv_timer_t *t)
{
	http_client_t *c = t->data;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static struct hc_sock *sock_new(http_client_t *c, curl_socket_t fd)
{
	struct hc_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
		free(s);
		return NULL;
	}
	s->c = c;
	s->fd = fd;
	s->poll.data = s;
	queue_insert_tail(&c->socks, &s->node);
	c->open_handles++;
	curl_multi_assign(c->multi, fd, s);
	return s;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	http_client_t *c = userp;
	struct hc_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (c->closing) /* every poll is closed by http_client_close() */
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s && !(s = sock_new(c, fd)))
		return -1;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

static int on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	http_client_t *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		return uv_timer_stop(&c->timer);
	return uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *sa)
{
	(void)ud, (void)purpose;
	return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
	http_client_xfer_t *x = userp;
	int rc = buf_append(&x->body, data, size * n);

	if (rc < 0) {
		x->write_err = rc;
		return 0; /* the transfer fails with CURLE_WRITE_ERROR */
	}
	return size * n;
}

int http_client_new(uv_loop_t *loop, const http_client_opts_t *opts, http_client_t **out)
{
	static bool global_done;
	http_client_t *c;

	if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -ENOMEM;
	global_done = true;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	if (!(c->multi = curl_multi_init())) {
		free(c);
		return -ENOMEM;
	}
	c->loop = loop;
	queue_init(&c->socks);
	queue_init(&c->xfers);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	if (opts && opts->idle_max > 0)
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, opts->idle_max);
	c->requests_max = opts ? opts->requests_max : 0;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open_handles = 1;
	*out = c;
	return 0;
}

/* The request's options on x->easy; -ENOMEM when a header cannot be held. */
static int xfer_setup(http_client_xfer_t *x, const http_client_req_t *req)
{
	CURL *e = x->easy;

	for (size_t i = 0; i < req->n_headers; i++) {
		struct curl_slist *h = curl_slist_append(x->headers, req->headers[i]);
		if (!h)
			return -ENOMEM;
		x->headers = h;
	}
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (req->username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, req->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->password ? req->password : "");
	}
	if (req->timeout_ms)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req->tls_no_verify ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req->tls_no_verify ? 0L : 2L);
	if (req->tls_ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, req->tls_ca_file);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	return 0;
}

int http_client_send(http_client_t *c, const http_client_req_t *req, http_client_cb cb, void *ud,
		     http_client_xfer_t **out_xfer)
{
	http_client_xfer_t *x;

	if (!req->method || !req->url || !cb)
		return -EINVAL;
	if (c->closing)
		return -ECANCELED;
	if (c->requests_max > 0 && c->running >= c->requests_max)
		return -EBUSY;
	if (!(x = calloc(1, sizeof(*x))))
		return -ENOMEM;
	*x = (http_client_xfer_t){.c = c, .cb = cb, .ud = ud};
	buf_init(&x->body, req->answer_max);
	queue_init(&x->node);
	if (!(x->easy = curl_easy_init()) || xfer_setup(x, req) < 0 ||
	    curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->headers);
		free(x);
		return -ENOMEM;
	}
	queue_insert_tail(&c->xfers, &x->node);
	c->running++;
	if (out_xfer)
		*out_xfer = x;
	return 0;
}

void http_client_cancel(http_client_xfer_t *x)
{
	if (!x)
		return;
	xfer_detach(x);
	xfer_free(x);
}

int http_client_running(const http_client_t *c)
{
	return c->running;
}

void http_client_close(http_client_t *c, void (*done)(void *arg), void *arg)
{
	queue_t *q;

	if (!c || c->closing)
		return;
	c->closing = true;
	c->done = done;
	c->done_arg = arg;
	while (!queue_empty(&c->xfers))
		xfer_end(queue_data(queue_head(&c->xfers), http_client_xfer_t, node), CURLE_OK, 0);
	/* polls first, while curl's descriptors are still open */
	QUEUE_FOREACH(q, &c->socks)
		sock_close(queue_data(q, struct hc_sock, node));
	curl_multi_cleanup(c->multi); /* closes the cached connections */
	c->multi = NULL;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_closed);
}
