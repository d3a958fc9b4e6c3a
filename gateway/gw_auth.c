/*
 * gw_auth: the client of eirc-auth's internal API on the gateway's loop
 * (the consume; gw_auth_post for the access checks, gw_auth_get for the
 * readiness probe). See gw_auth.h.
 *
 * The transport is common/http_client. A request holds the JSON body (it
 * carries the token: zeroed before it is freed); its callback runs after
 * the transfer left the client, so it may start or cancel other requests
 * or close the client.
 */
#include "gateway/gw_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/http_client.h"

struct gw_auth_req {
	gw_auth_t *auth;
	http_client_xfer_t *xfer; /* NULL once it ended */
	char *body;
	gw_auth_cb cb;
	void *arg;
};

struct gw_auth {
	http_client_t *http;
	char *base; /* gateway.auth_internal_url */
	char *auth_header;
	uint64_t timeout_ms;
};

static void req_free(gw_auth_req_t *r)
{
	http_client_cancel(r->xfer);
	if (r->body) {
		explicit_bzero(r->body, strlen(r->body)); /* holds the token */
		free(r->body);
	}
	free(r);
}

static void on_done(void *ud, const http_client_answer_t *ans, const eirc_err_t *why)
{
	gw_auth_req_t *r = ud;
	gw_identity_t id;
	char detail[64];
	gw_auth_cb cb = r->cb;
	void *arg = r->arg;

	memset(&id, 0, sizeof(id));
	r->xfer = NULL;
	req_free(r);
	if (ans->err == -ECANCELED) /* gw_auth_close(): no callback */
		return;
	if (ans->err) {
		cb(arg, GW_AUTH_UNAVAILABLE, NULL,
		   ans->err == -EMSGSIZE ? "answer too large" : why->text);
		return;
	}
	if (ans->status == 200 && gw_identity_parse(ans->body, ans->len, &id) == 0) {
		cb(arg, GW_AUTH_OK, &id, "200");
		gw_identity_clear(&id);
		return;
	}
	snprintf(detail, sizeof(detail), "HTTP %ld%s", ans->status,
		 ans->status == 200 ? " with an unusable identity" : "");
	cb(arg, ans->status == 401 ? GW_AUTH_REFUSED : GW_AUTH_UNAVAILABLE, NULL, detail);
}

static void auth_free(gw_auth_t *a)
{
	free(a->base);
	if (a->auth_header) {
		explicit_bzero(a->auth_header, strlen(a->auth_header));
		free(a->auth_header);
	}
	free(a);
}

/* malloc'd "<a><b>" or NULL. */
static char *concat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

int gw_auth_new(uv_loop_t *loop, const char *url, const char *secret, uint64_t timeout_ms,
		gw_auth_t **out)
{
	const http_client_opts_t opts = {.idle_max = GW_AUTH_POOL_MAX};
	gw_auth_t *a;

	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->timeout_ms = timeout_ms;
	a->base = strdup(url);
	if (secret)
		a->auth_header = concat("Authorization: Bearer ", secret);
	if (!a->base || (secret && !a->auth_header) || http_client_new(loop, &opts, &a->http) < 0) {
		auth_free(a);
		return -ENOMEM;
	}
	*out = a;
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

/* One request to path of the internal API (body NULL: none). */
static int auth_send(gw_auth_t *a, const char *method, const char *path, const char *body,
		     size_t body_len, size_t answer_max, http_client_cb cb, void *ud,
		     http_client_xfer_t **out_xfer)
{
	const char *headers[] = {a->auth_header, "Content-Type: application/json"};
	char url[GW_AUTH_URL_MAX + 1];
	http_client_req_t req = {
		.method = method,
		.url = url, /* libcurl copies it */
		.headers = a->auth_header ? headers : headers + 1,
		.n_headers = (a->auth_header ? 1 : 0) + (body ? 1 : 0),
		.body = body,
		.body_len = body_len,
		.timeout_ms = a->timeout_ms,
		.answer_max = answer_max,
	};

	if ((size_t)snprintf(url, sizeof(url), "%s%s", a->base, path) >= sizeof(url))
		return -ENAMETOOLONG;
	return http_client_send(a->http, &req, cb, ud, out_xfer);
}

int gw_auth_post(gw_auth_t *a, const char *path, const char *body, size_t body_len,
		 size_t answer_max, http_client_cb cb, void *ud, http_client_xfer_t **out_xfer)
{
	return auth_send(a, "POST", path, body, body_len, answer_max, cb, ud, out_xfer);
}

int gw_auth_get(gw_auth_t *a, const char *path, size_t answer_max, http_client_cb cb, void *ud,
		http_client_xfer_t **out_xfer)
{
	return auth_send(a, "GET", path, NULL, 0, answer_max, cb, ud, out_xfer);
}

int gw_auth_consume(gw_auth_t *a, const char *token, const char *client_ip, const char *request_id,
		    gw_auth_cb cb, void *arg, gw_auth_req_t **out_req)
{
	gw_auth_req_t *r;
	int rc;

	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->auth = a;
	r->cb = cb;
	r->arg = arg;
	if (!(r->body = consume_body(token, client_ip, request_id))) {
		req_free(r);
		return -ENOMEM;
	}
	if ((rc = gw_auth_post(a, "/internal/chat-token/consume", r->body, strlen(r->body),
			       GW_AUTH_RESPONSE_MAX, on_done, r, &r->xfer)) < 0) {
		req_free(r);
		return rc;
	}
	*out_req = r;
	return 0;
}

void gw_auth_cancel(gw_auth_req_t *r)
{
	if (r)
		req_free(r);
}

void gw_auth_close(gw_auth_t *a)
{
	if (!a)
		return;
	/* requests end in on_done; the handles free in their close callbacks */
	http_client_close(a->http, NULL, NULL);
	auth_free(a);
}

void gw_identity_clear(gw_identity_t *id)
{
	free(id->autojoin);
	free(id->private_rooms);
	id->autojoin = id->private_rooms = NULL;
}

int gw_auth_rooms_join(json_t *arr, char **out)
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
	json_array_foreach(arr, i, v)
	{
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
	json_t *fam = json_object_get(j, "family");
	const char *nick = json_string_value(json_object_get(j, "nick"));
	const char *dn = json_string_value(json_object_get(j, "display_name"));

	if (!json_is_integer(uid) || json_integer_value(uid) <= 0 || !nick || !*nick ||
	    strlen(nick) > GW_AUTH_NICK_MAX)
		return -EINVAL;
	id->user_id = (uint64_t)json_integer_value(uid);
	if (json_is_integer(fam) && json_integer_value(fam) > 0)
		id->family = (uint64_t)json_integer_value(fam);
	memcpy(id->nick, nick, strlen(nick) + 1);
	if (dn && strlen(dn) <= GW_AUTH_DISPLAY_MAX && !strpbrk(dn, "\r\n"))
		memcpy(id->display_name, dn, strlen(dn) + 1);
	if (gw_auth_rooms_join(json_object_get(j, "autojoin"), &id->autojoin) < 0 ||
	    gw_auth_rooms_join(json_object_get(j, "private_rooms"), &id->private_rooms) < 0) {
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
