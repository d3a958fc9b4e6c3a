/*
 * gw_auth: libcurl multi-socket on the gateway's loop. See gw_auth.h.
 *
 * Every socket curl opens gets a uv_poll_t (freed in its close callback),
 * curl's single timeout is one uv_timer_t. A request is an easy handle
 * plus its response buffer; it is finished in check_done(), where its
 * callback runs after it was taken out of the multi handle, so the
 * callback may start or cancel other requests.
 */
#include "gateway/gw_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>

struct gw_auth_req {
	gw_auth_t *auth;
	gw_auth_req_t *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *resp;
	size_t resp_len;
	bool too_big;
	gw_auth_cb cb;
	void *arg;
};

typedef struct auth_sock {
	gw_auth_t *auth;
	struct auth_sock *next;
	uv_poll_t poll;
	curl_socket_t fd;
	bool closing;
} auth_sock_t;

struct gw_auth {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	char *url;
	char *auth_header;
	uint64_t timeout_ms;
	gw_auth_req_t *reqs;
	int in_flight;
	auth_sock_t *socks;
	int open_handles;
	bool closing;
};

static void auth_maybe_free(gw_auth_t *a)
{
	if (!a->closing || a->open_handles > 0)
		return;
	free(a->url);
	if (a->auth_header) {
		explicit_bzero(a->auth_header, strlen(a->auth_header));
		free(a->auth_header);
	}
	free(a);
}

static void auth_handle_closed(uv_handle_t *h)
{
	gw_auth_t *a;

	if (h->type == UV_POLL) {
		auth_sock_t *s = h->data, **pp;
		a = s->auth;
		for (pp = &a->socks; *pp; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		free(s);
	} else {
		a = h->data;
	}
	a->open_handles--;
	auth_maybe_free(a);
}

static void req_free(gw_auth_req_t *r)
{
	gw_auth_t *a = r->auth;

	if (r->prev)
		r->prev->next = r->next;
	else
		a->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	a->in_flight--;
	if (r->easy) {
		curl_multi_remove_handle(a->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	if (r->body) {
		explicit_bzero(r->body, strlen(r->body)); /* holds the token */
		free(r->body);
	}
	free(r->resp);
	free(r);
}

static void req_finish(gw_auth_req_t *r, CURLcode rc, long status)
{
	gw_identity_t id;
	char detail[64];
	gw_auth_cb cb = r->cb;
	void *arg = r->arg;

	memset(&id, 0, sizeof(id));
	if (rc != CURLE_OK) {
		snprintf(detail, sizeof(detail), "%s", r->too_big ? "answer too large" :
			 curl_easy_strerror(rc));
		req_free(r);
		cb(arg, GW_AUTH_UNAVAILABLE, NULL, detail);
		return;
	}
	if (status == 200 && gw_identity_parse(r->resp ? r->resp : "", r->resp_len, &id) == 0) {
		req_free(r);
		cb(arg, GW_AUTH_OK, &id, "200");
		gw_identity_clear(&id);
		return;
	}
	snprintf(detail, sizeof(detail), "HTTP %ld%s", status,
		 status == 200 ? " with an unusable identity" : "");
	req_free(r);
	cb(arg, status == 401 ? GW_AUTH_REFUSED : GW_AUTH_UNAVAILABLE, NULL, detail);
}

static void check_done(gw_auth_t *a)
{
	CURLMsg *msg;
	int left;

	while (!a->closing && (msg = curl_multi_info_read(a->multi, &left))) {
		gw_auth_req_t *r = NULL;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		req_finish(r, msg->data.result, status);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	auth_sock_t *s = p->data;
	gw_auth_t *a = s->auth;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(a->multi, s->fd, flags, &running);
	check_done(a);
}

static void on_timer(uv_timer_t *t)
{
	gw_auth_t *a = t->data;
	int running;

	curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(a);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	gw_auth_t *a = userp;
	auth_sock_t *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s && !s->closing) {
			s->closing = true;
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, auth_handle_closed);
			if (!a->closing)
				curl_multi_assign(a->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->auth = a;
		s->fd = fd;
		if (uv_poll_init_socket(a->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->next = a->socks;
		a->socks = s;
		a->open_handles++;
		curl_multi_assign(a->multi, fd, s);
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
	gw_auth_t *a = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&a->timer);
	else
		uv_timer_start(&a->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *sa)
{
	(void)ud, (void)purpose;
	return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	gw_auth_req_t *r = ud;
	size_t add = size * n;
	char *p;

	if (r->resp_len + add > GW_AUTH_RESPONSE_MAX) {
		r->too_big = true;
		return 0;
	}
	if (!(p = realloc(r->resp, r->resp_len + add + 1)))
		return 0;
	r->resp = p;
	memcpy(r->resp + r->resp_len, data, add);
	r->resp_len += add;
	r->resp[r->resp_len] = '\0';
	return add;
}

int gw_auth_new(uv_loop_t *loop, const char *url, const char *secret, uint64_t timeout_ms,
		gw_auth_t **out)
{
	static bool global_done;
	gw_auth_t *a;
	size_t n;

	if (!global_done && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -ENOMEM;
	global_done = true;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->loop = loop;
	a->timeout_ms = timeout_ms;
	a->url = strdup(url);
	n = secret ? strlen("Authorization: Bearer ") + strlen(secret) + 1 : 0;
	if (n && (a->auth_header = malloc(n)))
		snprintf(a->auth_header, n, "Authorization: Bearer %s", secret);
	if (!a->url || (n && !a->auth_header) || !(a->multi = curl_multi_init())) {
		free(a->url);
		free(a->auth_header);
		free(a);
		return -ENOMEM;
	}
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	a->open_handles = 1;
	*out = a;
	return 0;
}

static int req_setup(gw_auth_req_t *r, const char *url)
{
	gw_auth_t *a = r->auth;
	CURL *e = r->easy;

	if (!(r->headers = curl_slist_append(NULL, "Content-Type: application/json")))
		return -ENOMEM;
	if (a->auth_header) {
		struct curl_slist *h = curl_slist_append(r->headers, a->auth_header);
		if (!h)
			return -ENOMEM;
		r->headers = h;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	return 0;
}

static char *consume_body(const char *token, const char *client_ip, const char *request_id)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "chat_token", token, "client_ip", client_ip,
			      "request_id", request_id);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

int gw_auth_consume(gw_auth_t *a, const char *token, const char *client_ip,
		    const char *request_id, gw_auth_cb cb, void *arg, gw_auth_req_t **out_req)
{
	char url[2048];
	gw_auth_req_t *r;

	if (a->closing)
		return -ECANCELED;
	if (snprintf(url, sizeof(url), "%s/internal/chat-token/consume", a->url) >=
	    (int)sizeof(url))
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->auth = a;
	r->cb = cb;
	r->arg = arg;
	r->next = a->reqs;
	if (a->reqs)
		a->reqs->prev = r;
	a->reqs = r;
	a->in_flight++;
	if (!(r->body = consume_body(token, client_ip, request_id)) ||
	    !(r->easy = curl_easy_init()) || req_setup(r, url) < 0 ||
	    curl_multi_add_handle(a->multi, r->easy) != CURLM_OK) {
		req_free(r);
		return -ENOMEM;
	}
	*out_req = r;
	return 0;
}

void gw_auth_cancel(gw_auth_req_t *r)
{
	if (r)
		req_free(r);
}

int gw_auth_in_flight(const gw_auth_t *a)
{
	return a->in_flight;
}

void gw_auth_close(gw_auth_t *a)
{
	if (!a || a->closing)
		return;
	while (a->reqs)
		req_free(a->reqs);
	a->closing = true;
	curl_multi_cleanup(a->multi); /* closes cached connections: CURL_POLL_REMOVE */
	a->multi = NULL;
	for (auth_sock_t *s = a->socks; s; s = s->next)
		if (!s->closing) {
			s->closing = true;
			uv_close((uv_handle_t *)&s->poll, auth_handle_closed);
		}
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, auth_handle_closed);
}

void gw_identity_clear(gw_identity_t *id)
{
	free(id->autojoin);
	free(id->private_rooms);
	id->autojoin = id->private_rooms = NULL;
}

/* Joins a JSON array of room names with commas; skips unusable names. */
static int rooms_join(json_t *arr, char **out)
{
	size_t i, n = 0, cap;
	json_t *v;
	char *s;

	*out = NULL;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return 0;
	if (json_array_size(arr) > GW_AUTH_ROOMS_MAX)
		return -EINVAL;
	cap = json_array_size(arr) * (GW_AUTH_ROOM_NAME_MAX + 1) + 1;
	if (!(s = malloc(cap)))
		return -ENOMEM;
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);
		size_t len = name ? strlen(name) : 0;
		if (!len || len > GW_AUTH_ROOM_NAME_MAX || strpbrk(name, ", \r\n"))
			continue;
		if (n)
			s[n++] = ',';
		memcpy(s + n, name, len);
		n += len;
	}
	s[n] = '\0';
	if (n == 0) {
		free(s);
		s = NULL;
	}
	*out = s;
	return 0;
}

static int identity_fill(json_t *j, gw_identity_t *id)
{
	json_t *uid = json_object_get(j, "user_id");
	const char *nick = json_string_value(json_object_get(j, "nick"));
	const char *dn = json_string_value(json_object_get(j, "display_name"));

	if (!json_is_integer(uid) || json_integer_value(uid) <= 0 || !nick || !*nick ||
	    strlen(nick) > GW_AUTH_NICK_MAX)
		return -EINVAL;
	id->user_id = (uint64_t)json_integer_value(uid);
	memcpy(id->nick, nick, strlen(nick) + 1);
	if (dn && strlen(dn) <= GW_AUTH_DISPLAY_MAX && !strpbrk(dn, "\r\n"))
		memcpy(id->display_name, dn, strlen(dn) + 1);
	if (rooms_join(json_object_get(j, "autojoin"), &id->autojoin) < 0 ||
	    rooms_join(json_object_get(j, "private_rooms"), &id->private_rooms) < 0) {
		gw_identity_clear(id);
		return -EINVAL;
	}
	return 0;
}

int gw_identity_parse(const char *body, size_t len, gw_identity_t *out)
{
	gw_identity_t id;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	int r;

	memset(&id, 0, sizeof(id));
	if (!json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	r = identity_fill(j, &id);
	json_decref(j);
	if (r == 0)
		*out = id;
	return r;
}
