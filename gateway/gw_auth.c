/*
 * gw_auth: the consume call on the gateway's loop. See gw_auth.h.
 *
 * The transport is common/curl_uv (libcurl multi-socket on libuv). A
 * request is an easy handle plus its headers and body; its callback runs
 * after it was freed, so the callback may start or cancel other requests
 * or close the client.
 */
#include "gateway/gw_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/curl_uv.h"

struct gw_auth_req {
	gw_auth_t *auth;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	gw_auth_cb cb;
	void *arg;
};

struct gw_auth {
	curl_uv_t *cu;
	char *url;
	char *auth_header;
	uint64_t timeout_ms;
};

static void req_free(gw_auth_req_t *r)
{
	if (r->easy) {
		curl_uv_remove(r->auth->cu, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	if (r->body) {
		explicit_bzero(r->body, strlen(r->body)); /* holds the token */
		free(r->body);
	}
	free(r);
}

static void on_done(void *ud, const curl_uv_done_t *d)
{
	gw_auth_req_t *r = ud;
	gw_identity_t id;
	char detail[64];
	gw_auth_cb cb = r->cb;
	void *arg = r->arg;

	memset(&id, 0, sizeof(id));
	req_free(r);
	if (d->closed) /* gw_auth_close(): no callback */
		return;
	if (d->result != CURLE_OK) {
		snprintf(detail, sizeof(detail), "%s",
			 d->too_big ? "answer too large" : curl_easy_strerror(d->result));
		cb(arg, GW_AUTH_UNAVAILABLE, NULL, detail);
		return;
	}
	if (d->status == 200 && gw_identity_parse(d->body, d->len, &id) == 0) {
		cb(arg, GW_AUTH_OK, &id, "200");
		gw_identity_clear(&id);
		return;
	}
	snprintf(detail, sizeof(detail), "HTTP %ld%s", d->status,
		 d->status == 200 ? " with an unusable identity" : "");
	cb(arg, d->status == 401 ? GW_AUTH_REFUSED : GW_AUTH_UNAVAILABLE, NULL, detail);
}

static void auth_free(gw_auth_t *a)
{
	free(a->url);
	if (a->auth_header) {
		explicit_bzero(a->auth_header, strlen(a->auth_header));
		free(a->auth_header);
	}
	free(a);
}

int gw_auth_new(uv_loop_t *loop, const char *url, const char *secret, uint64_t timeout_ms,
		gw_auth_t **out)
{
	gw_auth_t *a;
	size_t n;

	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->timeout_ms = timeout_ms;
	a->url = strdup(url);
	n = secret ? strlen("Authorization: Bearer ") + strlen(secret) + 1 : 0;
	if (n && (a->auth_header = malloc(n)))
		snprintf(a->auth_header, n, "Authorization: Bearer %s", secret);
	if (!a->url || (n && !a->auth_header) || curl_uv_new(loop, &a->cu) < 0) {
		auth_free(a);
		return -ENOMEM;
	}
	curl_uv_set_max_idle(a->cu, GW_AUTH_POOL_MAX);
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
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
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

	if (snprintf(url, sizeof(url), "%s/internal/chat-token/consume", a->url) >=
	    (int)sizeof(url))
		return -EINVAL;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->auth = a;
	r->cb = cb;
	r->arg = arg;
	if (!(r->body = consume_body(token, client_ip, request_id)) ||
	    !(r->easy = curl_easy_init()) || req_setup(r, url) < 0 ||
	    curl_uv_add(a->cu, r->easy, GW_AUTH_RESPONSE_MAX, on_done, r) < 0) {
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
	return curl_uv_running(a->cu);
}

void gw_auth_close(gw_auth_t *a)
{
	if (!a)
		return;
	curl_uv_close(a->cu); /* requests end in on_done; handles free in close callbacks */
	auth_free(a);
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
