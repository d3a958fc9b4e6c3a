/*
 * curl_uv: libcurl multi-socket on libuv. See curl_uv.h.
 *
 * curl tells us through on_socket which sockets to watch (a uv_poll_t
 * each, freed in its close callback) and through on_timeout when to call
 * it back (one uv_timer_t). Neither callback calls curl_multi_* (curl
 * forbids it); finished transfers are read in check_done(), after
 * curl_multi_socket_action() returned, and each is taken out of the multi
 * handle before its callback runs. The struct is freed once the timer and
 * every poll have closed.
 */
#include "common/curl_uv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct cu_sock {
	curl_uv_t *cu;
	struct cu_sock *next;
	uv_poll_t poll;
	curl_socket_t fd;
	bool closing;
};

struct cu_xfer {
	curl_uv_t *cu;
	struct cu_xfer *prev, *next;
	CURL *easy;
	curl_uv_done_fn fn;
	void *ud;
	char *body;
	size_t len, cap, max;
	bool too_big;
};

struct curl_uv {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct cu_sock *socks; /* open polls, to close those curl leaves behind */
	struct cu_xfer *xfers; /* running transfers */
	int running;
	int open_handles; /* the timer and the polls */
	bool closing;
};

static void on_closed(uv_handle_t *h)
{
	curl_uv_t *cu = h->data;

	if (h->type == UV_POLL) {
		struct cu_sock *s = h->data, **pp;
		cu = s->cu;
		for (pp = &cu->socks; *pp != s; pp = &(*pp)->next)
			;
		*pp = s->next;
		free(s);
	}
	if (--cu->open_handles == 0 && cu->closing)
		free(cu);
}

static void sock_close(struct cu_sock *s)
{
	if (s->closing)
		return;
	s->closing = true;
	uv_close((uv_handle_t *)&s->poll, on_closed); /* stops polling the fd now */
}

/* Out of the multi handle and freed, body included; fn not called. */
static void xfer_free(struct cu_xfer *x)
{
	curl_uv_t *cu = x->cu;

	if (x->prev)
		x->prev->next = x->next;
	else
		cu->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	cu->running--;
	curl_multi_remove_handle(cu->multi, x->easy);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
	free(x->body);
	free(x);
}

/* Takes x out, then runs its fn with d and x's body (freed after). */
static void xfer_end(struct cu_xfer *x, curl_uv_done_t *d)
{
	curl_uv_done_fn fn = x->fn;
	void *ud = x->ud;
	char *body = x->body;

	d->too_big = x->too_big;
	d->body = body ? body : "";
	d->len = x->len;
	x->body = NULL;
	xfer_free(x);
	fn(ud, d);
	free(body);
}

static void check_done(curl_uv_t *cu)
{
	CURLMsg *msg;
	int left;

	while (!cu->closing && (msg = curl_multi_info_read(cu->multi, &left))) {
		struct cu_xfer *x = NULL;
		curl_uv_done_t d = {0};

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &d.status);
		d.result = msg->data.result; /* msg dies with the removal in xfer_end */
		xfer_end(x, &d);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct cu_sock *s = p->data;
	curl_uv_t *cu = s->cu;
	int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;

	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cu->multi, s->fd, flags, &running);
	check_done(cu);
}

static void on_timer(uv_timer_t *t)
{
	curl_uv_t *cu = t->data;
	int running;

	curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cu);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	curl_uv_t *cu = userp;
	struct cu_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (cu->closing) /* curl_multi_cleanup(): every poll is closed already */
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(s);
			curl_multi_assign(cu->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		if (uv_poll_init_socket(cu->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->cu = cu;
		s->fd = fd;
		s->poll.data = s;
		s->next = cu->socks;
		cu->socks = s;
		cu->open_handles++;
		curl_multi_assign(cu->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

static int on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
	curl_uv_t *cu = userp;

	(void)multi;
	if (timeout_ms < 0)
		return uv_timer_stop(&cu->timer);
	return uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *sa)
{
	(void)ud, (void)purpose;
	return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
	struct cu_xfer *x = userp;
	size_t add = size * n, cap = x->cap ? x->cap : 1024;
	char *p;

	if (add > x->max - x->len) {
		x->too_big = true;
		return 0;
	}
	while (cap < x->len + add + 1)
		cap *= 2;
	if (cap != x->cap) {
		if (!(p = realloc(x->body, cap)))
			return 0;
		x->body = p;
		x->cap = cap;
	}
	memcpy(x->body + x->len, data, add);
	x->len += add;
	x->body[x->len] = '\0';
	return add;
}

int curl_uv_new(uv_loop_t *loop, curl_uv_t **out)
{
	static bool global_done;
	curl_uv_t *cu;

	if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -ENOMEM;
	global_done = true;
	if (!(cu = calloc(1, sizeof(*cu))))
		return -ENOMEM;
	if (!(cu->multi = curl_multi_init())) {
		free(cu);
		return -ENOMEM;
	}
	cu->loop = loop;
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
	uv_timer_init(loop, &cu->timer);
	cu->timer.data = cu;
	cu->open_handles = 1;
	*out = cu;
	return 0;
}

void curl_uv_set_max_idle(curl_uv_t *cu, long n)
{
	curl_multi_setopt(cu->multi, CURLMOPT_MAXCONNECTS, n);
}

int curl_uv_add(curl_uv_t *cu, CURL *easy, size_t max_body, curl_uv_done_fn fn, void *ud)
{
	struct cu_xfer *x;

	if (cu->closing)
		return -ECANCELED;
	if (!(x = calloc(1, sizeof(*x))))
		return -ENOMEM;
	*x = (struct cu_xfer){.cu = cu, .easy = easy, .fn = fn, .ud = ud, .max = max_body};
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (curl_multi_add_handle(cu->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -ENOMEM;
	}
	x->next = cu->xfers;
	if (cu->xfers)
		cu->xfers->prev = x;
	cu->xfers = x;
	cu->running++;
	return 0;
}

void curl_uv_remove(curl_uv_t *cu, CURL *easy)
{
	struct cu_xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x && x->cu == cu)
		xfer_free(x);
}

int curl_uv_running(const curl_uv_t *cu)
{
	return cu->running;
}

void curl_uv_close(curl_uv_t *cu)
{
	if (!cu || cu->closing)
		return;
	cu->closing = true;
	while (cu->xfers)
		xfer_end(cu->xfers,
		         &(curl_uv_done_t){.result = CURLE_ABORTED_BY_CALLBACK, .closed = true});
	/* polls first, while curl's descriptors are still open */
	for (struct cu_sock *s = cu->socks; s; s = s->next)
		sock_close(s);
	curl_multi_cleanup(cu->multi); /* closes the cached connections */
	cu->multi = NULL;
	uv_timer_stop(&cu->timer);
	uv_close((uv_handle_t *)&cu->timer, on_closed);
}
