/*
 * auth_http: libwebsockets glue for eirc-auth. See auth_http.h.
 *
 * A connection's per-session data holds at most one call. The call is
 * created at LWS_CALLBACK_HTTP, gets its body from LWS_CALLBACK_HTTP_BODY,
 * goes to the service, and comes back through http_done(), which asks for
 * a writable callback; the response is written in two steps (headers, then
 * body), then the call is freed and the connection kept alive or closed.
 * If the peer leaves while the service works, the call is detached
 * (call->http = NULL) and http_done() frees it.
 */
#include "auth/auth_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_server.h"
#include "common/log.h"
#include "common/net_addr.h"

typedef struct http_listener {
	auth_http_t *http;
	auth_listener_t kind;
	int index; /* in the http_server */
} http_listener_t;

struct auth_http {
	http_server_t *srv;
	auth_service_t *svc;
	const eirc_config_t *cfg;
	http_listener_t listeners[2];
	net_cidr_t *trusted; /* auth.trusted_proxies */
	size_t n_trusted;
	bool closing; /* auth_http_close() was called */
};

typedef struct http_pss {
	auth_call_t *call;
	size_t expected; /* Content-Length */
	bool ready;      /* the response is complete */
	bool headers_sent;
	bool refused;    /* answered before the body: drop body bytes */
	bool dispatched; /* handed to the service */
} http_pss_t;

static void http_done(auth_call_t *call)
{
	struct lws *wsi = call->http;
	http_pss_t *pss;

	log_fields(LOG_DEBUG, NULL, 0, "%s %s %d %llums", auth_method_name(call->req.method),
		   call->req.path, call->resp.status,
		   (unsigned long long)(auth_service_now_ms(call->svc) - call->started_ms));
	if (!wsi) {
		auth_call_free(call);
		return;
	}
	pss = lws_wsi_user(wsi);
	pss->ready = true;
	lws_callback_on_writable(wsi);
}

static auth_method_t http_method(struct lws *wsi)
{
	char *uri;
	int len;

	switch (lws_http_get_uri_and_method(wsi, &uri, &len)) {
	case LWSHUMETH_GET:
		return AUTH_M_GET;
	case LWSHUMETH_HEAD:
		return AUTH_M_HEAD;
	case LWSHUMETH_POST:
		return AUTH_M_POST;
	case LWSHUMETH_PUT:
		return AUTH_M_PUT;
	case LWSHUMETH_PATCH:
		return AUTH_M_PATCH;
	case LWSHUMETH_DELETE:
		return AUTH_M_DELETE;
	default:
		return AUTH_M_OTHER;
	}
}

/* Copies header h; 0 absent, 1 copied, -E2BIG past AUTH_HEADER_VALUE_MAX. */
static int http_header(struct lws *wsi, enum lws_token_indexes h, char **out)
{
	int n = lws_hdr_total_length(wsi, h);

	*out = NULL;
	if (n <= 0)
		return 0;
	if (n > AUTH_HEADER_VALUE_MAX)
		return -E2BIG;
	*out = malloc((size_t)n + 1);
	if (!*out || lws_hdr_copy(wsi, *out, n + 1, h) < 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 1;
}

/* The request-line parts lws keeps among its header tokens are no
 * headers; neither are the _WSI_TOKEN_CLIENT_* of client connections. */
static bool http_token_is_header(int h)
{
	switch (h) {
	case WSI_TOKEN_GET_URI:
	case WSI_TOKEN_POST_URI:
	case WSI_TOKEN_OPTIONS_URI:
	case WSI_TOKEN_PUT_URI:
	case WSI_TOKEN_PATCH_URI:
	case WSI_TOKEN_DELETE_URI:
	case WSI_TOKEN_CONNECT:
	case WSI_TOKEN_HEAD_URI:
	case WSI_TOKEN_HTTP:
	case WSI_TOKEN_HTTP1_0:
	case WSI_TOKEN_HTTP_URI_ARGS:
		return false;
	default:
		return h < _WSI_TOKEN_CLIENT_SENT_PROTOCOLS;
	}
}

/*
 * The header lines of the request whose name lws knows (its ~90 tokens;
 * a repeated name is one fragment per line, an empty value counts too).
 * Lines with other names are not counted: lws 4.1 keeps them but can only
 * look them up by name (lws_hdr_custom_length); they are bounded by the
 * header buffer (max_header_size) alone.
 */
static int http_header_count(struct lws *wsi)
{
	char c;
	int n = 0;

	for (int h = 0; h < WSI_TOKEN_COUNT; h++) {
		if (!http_token_is_header(h))
			continue;
		/* a fragment exists if it has a length or copies as "" */
		for (int f = 0; lws_hdr_fragment_length(wsi, h, f) > 0 ||
				lws_hdr_copy_fragment(wsi, &c, 1, h, f) == 0;
		     f++)
			n++;
	}
	return n;
}

/* Answers at once from the HTTP layer (before the service saw it). */
static void http_refuse(http_pss_t *pss, int status, const char *code, const char *desc)
{
	pss->refused = true;
	pss->call->resp.close = true;
	auth_reply_error(pss->call, status, code, desc);
}

/*
 * The client's address into out: the TCP peer, or on the public listener
 * behind one of auth.trusted_proxies the address X-Forwarded-For names
 * (common/net_addr). False when that header is longer than NET_XFF_MAX.
 */
static bool http_client_ip(struct lws *wsi, const http_listener_t *l, char *out, size_t cap)
{
	const auth_http_t *h = l->http;
	char peer[AUTH_IP_MAX], xff[NET_XFF_MAX + 1];
	bool has_xff = false;
	int n;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (l->kind == AUTH_L_PUBLIC && h->n_trusted &&
	    (n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR)) > 0) {
		if (n > NET_XFF_MAX)
			return false;
		has_xff = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) >= 0;
	}
	if (net_client_ip(peer, has_xff ? xff : NULL, h->trusted, h->n_trusted, out, cap) < 0)
		snprintf(out, cap, "%s", peer); /* not an address: kept as lws gave it */
	return true;
}

/* Fills the request from the headers; false when refused. */
static bool http_read_request(struct lws *wsi, http_pss_t *pss, http_listener_t *l,
			      const char *path)
{
	auth_req_t *req = &pss->call->req;
	size_t plen = strlen(path);

	req->listener = l->kind;
	req->method = http_method(wsi);
	snprintf(req->path, sizeof(req->path), "%s", path);
	if (!http_client_ip(wsi, l, req->peer, sizeof(req->peer))) {
		http_refuse(pss, 431, "invalid_request", "X-Forwarded-For too large");
		return false;
	}
	if (plen > AUTH_PATH_MAX) {
		http_refuse(pss, 414, "invalid_request", "path too long");
		return false;
	}
	if (http_header_count(wsi) > l->http->cfg->auth.max_headers) {
		http_refuse(pss, 431, "invalid_request", "too many headers");
		return false;
	}
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, &req->content_type) < 0 ||
	    http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, &req->authorization) < 0) {
		http_refuse(pss, 431, "invalid_request", "header too large");
		return false;
	}
	auth_route_match(l->kind, req->method, path, plen, &req->route);
	return true;
}

static int http_on_request(struct lws *wsi, void *user, const char *path, size_t len)
{
	http_pss_t *pss = user;
	http_listener_t *l = http_server_user(wsi);
	auth_http_t *h = l->http;
	uint64_t clen;
	int r;

	memset(pss, 0, sizeof(*pss));
	pss->call = auth_call_new(h->svc);
	if (!pss->call)
		return -1;
	pss->call->done = http_done;
	pss->call->http = wsi;
	if (!http_read_request(wsi, pss, l, path))
		return 0;
	if (strlen(path) != len) {
		/* lws decoded a %00 in the path */
		http_refuse(pss, 400, "invalid_request", "NUL in path");
		return 0;
	}
	r = http_server_content_length(wsi, &clen);
	if (r == -EINVAL) {
		http_refuse(pss, 411, "invalid_request", "a valid Content-Length is required");
		return 0;
	}
	if (r == -EMSGSIZE) {
		http_refuse(pss, 413, "invalid_request", "body too large");
		return 0;
	}
	if (clen == 0) {
		/* lws may still report a (zero-length) body completion */
		pss->dispatched = true;
		auth_service_handle(h->svc, pss->call);
		return 0;
	}
	pss->expected = (size_t)clen;
	pss->call->req.body = malloc(pss->expected + 1);
	if (!pss->call->req.body)
		return -1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT,
			(int)(h->cfg->auth.request_timeout / 1000));
	return 0;
}

static int http_on_body(struct lws *wsi, void *user, const void *in, size_t len)
{
	http_pss_t *pss = user;
	auth_req_t *req;

	(void)wsi;

	if (!pss->call || pss->refused || pss->dispatched)
		return 0;
	req = &pss->call->req;
	if (len > pss->expected - req->body_len) {
		http_refuse(pss, 413, "invalid_request", "body too large");
		return 0;
	}
	memcpy(req->body + req->body_len, in, len);
	req->body_len += len;
	return 0;
}

static int http_on_body_done(struct lws *wsi, void *user)
{
	http_pss_t *pss = user;
	http_listener_t *l = http_server_user(wsi);

	if (!pss->call || pss->refused || pss->dispatched)
		return 0;
	pss->dispatched = true;
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	pss->call->req.body[pss->call->req.body_len] = '\0';
	auth_service_handle(l->http->svc, pss->call);
	return 0;
}

/* Writes the status line and headers of the call's response. */
static int http_write_headers(struct lws *wsi, auth_call_t *call)
{
	const auth_resp_t *r = &call->resp;
	const char *kv[2 * 9 + 1];
	char ra[16];
	int n = 0;

#define KV(name, value) (kv[n++] = (name), kv[n++] = (value))
	KV("cache-control:", r->no_store ? "no-store" : "no-cache");
	if (r->no_store)
		KV("pragma:", "no-cache");
	KV("x-content-type-options:", "nosniff");
	KV("referrer-policy:", "no-referrer");
	if (r->www_authenticate[0])
		KV("www-authenticate:", r->www_authenticate);
	if (r->allow)
		KV("allow:", r->allow);
	if (r->csp)
		KV("content-security-policy:", r->csp);
	if (r->retry_after) {
		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		KV("retry-after:", ra);
	}
#undef KV
	kv[n] = NULL;
	return http_write_head(wsi, &(http_head_t){(unsigned)r->status, r->content_type,
						   r->body_len, kv, r->close});
}

/* Ends the exchange: frees the call, keeps the connection or closes it. */
static int http_complete(struct lws *wsi, http_pss_t *pss)
{
	bool close = pss->call->resp.close;

	auth_call_free(pss->call);
	memset(pss, 0, sizeof(*pss));
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_on_writable(struct lws *wsi, void *user)
{
	http_pss_t *pss = user;
	auth_call_t *call = pss->call;
	bool body;

	if (!call || !pss->ready)
		return 0;
	body = call->resp.body_len > 0 && call->req.method != AUTH_M_HEAD;
	if (!pss->headers_sent) {
		if (http_write_headers(wsi, call) < 0)
			return -1;
		pss->headers_sent = true;
		if (body) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		return http_complete(wsi, pss);
	}
	if (http_write_body(wsi, call->resp.body, call->resp.body_len) < 0)
		return -1;
	return http_complete(wsi, pss);
}

static void http_on_closed(void *user)
{
	http_pss_t *pss = user;
	auth_call_t *call = pss->call;

	if (!call)
		return;
	pss->call = NULL;
	if (pss->ready)
		auth_call_free(call);
	else
		call->http = NULL; /* the service frees it in http_done */
}

static const http_handler_t http_handler = {
	.pss_size = sizeof(http_pss_t),
	.request = http_on_request,
	.body = http_on_body,
	.body_done = http_on_body_done,
	.writable = http_on_writable,
	.closed = http_on_closed,
};

static int http_vhost(auth_http_t *h, auth_listener_t kind, const char *addr, int port, bool tls)
{
	const eirc_config_auth_t *a = &h->cfg->auth;
	http_listener_t *l = &h->listeners[kind];
	eirc_err_t err;

	l->http = h;
	l->kind = kind;
	l->index = http_server_listen(h->srv,
				      &(http_listen_opts_t){
					      .name = kind == AUTH_L_PUBLIC ? "public" : "internal",
					      .address = addr,
					      .port = port,
					      .tls_cert_file = tls ? a->tls_cert_file : NULL,
					      .tls_key_file = tls ? a->tls_key_file : NULL,
					      .handler = &http_handler,
					      .keepalive_s = 60,
					      .user = l,
				      },
				      &err);
	return l->index < 0 ? -EADDRINUSE : 0;
}

/* The server's limits, from auth.*. */
static http_server_opts_t http_opts(const eirc_config_auth_t *a)
{
	return (http_server_opts_t){
		.header_max = a->max_header_size > HTTP_SERVER_HEADER_MAX ? HTTP_SERVER_HEADER_MAX
									  : a->max_header_size,
		.heads_max = 256,
		.body_max = a->max_body_size,
		.timeout_s = (unsigned)(a->request_timeout / 1000),
		.tls = a->tls_cert_file && a->tls_key_file,
	};
}

int auth_http_new(uv_loop_t *loop, auth_service_t *svc, const eirc_config_t *cfg, auth_http_t **out)
{
	http_server_opts_t o = http_opts(&cfg->auth);
	auth_http_t *h = calloc(1, sizeof(*h));
	int r = h ? http_server_new(loop, &o, &h->srv) : -ENOMEM;

	if (r < 0) {
		free(h);
		return r;
	}
	h->svc = svc;
	h->cfg = cfg;
	if (cfg->auth.n_trusted_proxies &&
	    !(h->trusted = calloc(cfg->auth.n_trusted_proxies, sizeof(*h->trusted)))) {
		auth_http_free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->auth.n_trusted_proxies; i++)
		if (net_cidr_parse(cfg->auth.trusted_proxies[i], &h->trusted[h->n_trusted++]) < 0) {
			auth_http_free(h); /* the schema checked it: never */
			return -EINVAL;
		}
	*out = h;
	return 0;
}

int auth_http_listen(auth_http_t *h)
{
	const eirc_config_auth_t *a = &h->cfg->auth;
	bool tls = a->tls_cert_file && a->tls_key_file;

	if (http_vhost(h, AUTH_L_PUBLIC, a->listen_address, a->listen_port, tls) < 0 ||
	    http_vhost(h, AUTH_L_INTERNAL, a->internal_listen_address, a->internal_listen_port,
		       false) < 0)
		return -EADDRINUSE;
	return 0;
}

int auth_http_port(const auth_http_t *h, auth_listener_t l)
{
	return http_server_port(h->srv, h->listeners[l].index);
}

void auth_http_close(auth_http_t *h)
{
	if (!h || h->closing)
		return;
	h->closing = true;
	http_server_close(h->srv);
}

void auth_http_free(auth_http_t *h)
{
	if (!h)
		return;
	http_server_free(h->srv);
	free(h->trusted);
	free(h);
}
