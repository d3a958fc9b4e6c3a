/*
 * http_server: eIRC's libwebsockets server layer. See http_server.h.
 *
 * Each listener gives lws protocols whose callback is http_callback():
 * one "http" protocol for an http_handler_t, or a copy of the daemon's
 * list whose `user` fields point at the daemon's entries. It keeps the
 * connection count (WSI_CREATE and WSI_DESTROY, which lws 4.1 sends for
 * every accepted connection to the vhost's first protocol;
 * FILTER_NETWORK_CONNECTION refuses past conns_max), then calls the
 * handler's hook or the daemon's callback of the same protocol.
 */
#include "common/http_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Longest lws log line kept; the rest is cut. */
#define HTTP_LOG_LINE_MAX 511

typedef struct http_listener {
	http_server_t *srv;
	void *user;
	struct lws_vhost *vh;
	const http_handler_t *handler;    /* or: */
	const struct lws_protocols *orig; /* the daemon's list */
	struct lws_protocols *protos;     /* ours, given to lws */
} http_listener_t;

struct http_server {
	struct lws_context *ctx; /* lws clears it once the context is freed */
	http_server_opts_t opts;
	http_listener_t listeners[HTTP_SERVER_LISTENERS_MAX];
	int n_listeners;
	unsigned conns;
	bool closing;
};

/* ---- lws's log lines, into common/log ---- */

static void log_line(int level, const char *line)
{
	size_t n = strlen(line);
	char buf[HTTP_LOG_LINE_MAX + 1];

	if (n > HTTP_LOG_LINE_MAX)
		n = HTTP_LOG_LINE_MAX;
	memcpy(buf, line, n);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	log_fields(level == LLL_ERR ? LOG_ERROR : LOG_WARN, NULL, 0, "lws: %s", buf);
}

/* ---- the callback in front of the daemon's ---- */

/* A listener with an http_handler_t: lws's HTTP events to its hooks. */
static int handler_callback(const http_handler_t *h, struct lws *wsi,
			    enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return h->request(wsi, user, in ? (const char *)in : "", in ? len : 0);
	case LWS_CALLBACK_HTTP_BODY:
		return h->body ? h->body(wsi, user, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return h->body_done ? h->body_done(wsi, user) : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return h->writable ? h->writable(wsi, user) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (user && h->closed)
			h->closed(user);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct lws_vhost *vh = wsi ? lws_get_vhost(wsi) : NULL;
	http_listener_t *l = vh ? lws_get_vhost_user(vh) : NULL;
	const struct lws_protocols *p, *orig;
	http_server_t *s;

	if (!l)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	s = l->srv;
	p = lws_get_protocol(wsi);
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		if (s->opts.conns_max && s->conns >= s->opts.conns_max)
			return -1; /* lws closes the accepted socket */
		p = NULL;
		break;
	case LWS_CALLBACK_WSI_CREATE:
		s->conns++;
		p = NULL;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* listeners end here too (never created through WSI_CREATE),
		 * but only once the server is closing */
		if (s->conns)
			s->conns--;
		p = NULL;
		break;
	default:
		break;
	}
	if (l->handler)
		return handler_callback(l->handler, wsi, reason, user, in, len);
	/* lws keeps its own copy of our list; each entry's user is the
	 * daemon's entry. The three above come to the first protocol whatever
	 * the connection's is. */
	orig = p && p->callback == http_callback && p->user ? p->user : &l->orig[0];
	return orig->callback(wsi, reason, user, in, len);
}

/* ---- the server ---- */

int http_server_new(uv_loop_t *loop, const http_server_opts_t *o, http_server_t **out)
{
	struct lws_context_creation_info info;
	void *loops[1] = {loop};
	http_server_t *s;

	if (!o->header_max || o->header_max > HTTP_SERVER_HEADER_MAX || !o->heads_max ||
	    o->heads_max > 65535)
		return -EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->opts = *o;
	lws_set_log_level(LLL_ERR | LLL_WARN, log_line);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       (o->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
	info.foreign_loops = loops;
	info.pcontext = &s->ctx;
	info.max_http_header_data = (unsigned short)o->header_max;
	info.max_http_header_pool = (unsigned short)o->heads_max;
	info.timeout_secs = o->timeout_s;
	info.timeout_secs_ah_idle = o->timeout_s;
	info.fd_limit_per_thread = 0;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

/* Our copy of the daemon's protocol list, each calling http_callback();
 * for a handler, one "http" protocol. */
static int listener_protocols(http_listener_t *l, const http_listen_opts_t *o)
{
	const struct lws_protocols *orig = o->protocols;
	size_t n = 0;

	if (!o->handler == !orig || (o->handler && !o->handler->request))
		return -EINVAL;
	if (o->handler) {
		if (!(l->protos = calloc(2, sizeof(*l->protos))))
			return -ENOMEM;
		l->protos[0] = (struct lws_protocols){
			"http", http_callback, o->handler->pss_size, 0, 0, NULL, 0};
		l->handler = o->handler;
		return 0;
	}
	while (orig[n].name)
		n++;
	if (!n)
		return -EINVAL;
	if (!(l->protos = calloc(n + 1, sizeof(*l->protos))))
		return -ENOMEM;
	memcpy(l->protos, orig, n * sizeof(*orig));
	for (size_t i = 0; i < n; i++) {
		l->protos[i].callback = http_callback;
		l->protos[i].user = (void *)&orig[i];
	}
	l->orig = orig;
	return 0;
}

/*
 * The numeric form of address into out, and whether it is IPv4. lws 4.1
 * takes an interface name or a numeric address, and on an IPv6 socket
 * (its default) parses an IPv4 literal into a sockaddr_in laid over the
 * sockaddr_in6: the address lands in sin6_flowinfo and the socket is
 * bound to "::", every interface of both families. So the family is
 * decided here and an IPv4 listener gets an IPv4 socket. A host name is
 * resolved once, here, and the result logged; an interface name is not
 * an address and is refused.
 */
static int listen_address(const char *name, const char *address, char *out, size_t cap,
			  bool *out_v4, eirc_err_t *out_err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(address, NULL, &hints, &res);
	bool numeric = r == 0;

	if (!numeric) {
		hints.ai_flags = AI_ADDRCONFIG;
		r = getaddrinfo(address, NULL, &hints, &res);
	}
	if (r != 0)
		return eirc_err_set(out_err, -EADDRNOTAVAIL,
				    "listener %s: address \"%s\" is neither an IP address nor a "
				    "host name that resolves (%s)",
				    name, address, gai_strerror(r));
	r = getnameinfo(res->ai_addr, res->ai_addrlen, out, (socklen_t)cap, NULL, 0,
			NI_NUMERICHOST);
	*out_v4 = res->ai_family == AF_INET;
	freeaddrinfo(res);
	if (r != 0)
		return eirc_err_set(out_err, -EADDRNOTAVAIL, "listener %s: address \"%s\": %s",
				    name, address, gai_strerror(r));
	if (!numeric)
		log_info("listener %s: %s resolved once to %s", name, address, out);
	return 0;
}

int http_server_listen(http_server_t *s, const http_listen_opts_t *o, eirc_err_t *out_err)
{
	struct lws_context_creation_info info;
	http_listener_t *l;
	char addr[INET6_ADDRSTRLEN + 1];
	bool v4 = false;
	int r;

	if (s->n_listeners >= HTTP_SERVER_LISTENERS_MAX)
		return eirc_err_set(out_err, -ENOSPC, "more than %d listeners",
				    HTTP_SERVER_LISTENERS_MAX);
	if (o->address && o->address[0] &&
	    (r = listen_address(o->name, o->address, addr, sizeof(addr), &v4, out_err)) < 0)
		return r;
	l = &s->listeners[s->n_listeners];
	if ((r = listener_protocols(l, o)) < 0)
		return eirc_err_set(out_err, r, "listener %s: %s", o->name,
				    r == -ENOMEM ? "out of memory"
						 : "needs a handler or protocols, not both");
	l->srv = s;
	l->user = o->user;
	memset(&info, 0, sizeof(info));
	info.port = o->port;
	info.iface = o->address && o->address[0] ? addr : NULL;
	info.protocols = l->protos;
	info.vhost_name = o->name;
	info.user = l;
	info.keepalive_timeout = (int)o->keepalive_s;
	info.timeout_secs = s->opts.timeout_s;
	/* lws reads the header-wait timeout from the vhost, not the context */
	info.timeout_secs_ah_idle = s->opts.timeout_s;
	info.retry_and_idle_policy = o->retry;
	if (v4) /* per vhost in lws 4.1 (LWS_IPV6_ENABLED checks both) */
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (o->tls_cert_file && o->tls_key_file) {
		/* lws 4.1 turns TLS on per vhost only when the vhost's own options
		 * say so (lib/tls/tls-server.c); without it the listener would
		 * silently serve plain HTTP. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = o->tls_cert_file;
		info.ssl_private_key_filepath = o->tls_key_file;
		info.alpn = o->alpn;
	}
	l->vh = lws_create_vhost(s->ctx, &info);
	if (!l->vh) {
		free(l->protos);
		memset(l, 0, sizeof(*l));
		return eirc_err_set(out_err, -EADDRINUSE, "cannot listen on %s:%d",
				    o->address ? o->address : "*", o->port);
	}
	return s->n_listeners++;
}

int http_server_port(const http_server_t *s, int i)
{
	if (i < 0 || i >= s->n_listeners)
		return -EINVAL;
	return lws_get_vhost_listen_port(s->listeners[i].vh);
}

void *http_server_user(struct lws *wsi)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	http_listener_t *l = vh ? lws_get_vhost_user(vh) : NULL;

	return l ? l->user : NULL;
}

void http_server_close(http_server_t *s)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	/* closes every wsi; lws's libuv handles close in later iterations */
	if (s->ctx)
		lws_context_destroy(s->ctx);
}

void http_server_free(http_server_t *s)
{
	if (!s)
		return;
	http_server_close(s);
	/*
	 * With a foreign loop, lws 4.1 stops after closing its handles
	 * (lws_uv_close_cb_sa only continues for its own loops); this second
	 * call runs lws_context_destroy2() and 3(), which free the vhosts and
	 * the context and clear s->ctx.
	 */
	if (s->ctx)
		lws_context_destroy(s->ctx);
	for (int i = 0; i < s->n_listeners; i++)
		free(s->listeners[i].protos);
	free(s);
}

int http_server_content_length(struct lws *wsi, uint64_t *out)
{
	http_listener_t *l = lws_get_vhost_user(lws_get_vhost(wsi));
	char buf[32];
	char *end;
	unsigned long long v;

	*out = 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return -EINVAL;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return 0;
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
	    buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return v > l->srv->opts.body_max ? -EMSGSIZE : 0;
}

/* ---- writers ---- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

/* The headers after the status line and the content headers. */
static int add_headers(struct lws *wsi, const http_head_t *h, unsigned char **p, unsigned char *end)
{
	int e = 0;

	if (h->content_length == HTTP_CHUNKED)
		e |= add_header(wsi, "transfer-encoding:", "chunked", p, end);
	for (const char *const *kv = h->headers; kv && kv[0]; kv += 2)
		e |= add_header(wsi, kv[0], kv[1], p, end);
	if (h->close)
		e |= add_header(wsi, "connection:", "close", p, end);
	return e ? -EMSGSIZE : 0;
}

int http_write_head(struct lws *wsi, const http_head_t *h)
{
	unsigned char buf[LWS_PRE + HTTP_HEAD_MAX];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, h->status, h->content_type,
					h->content_length == HTTP_CHUNKED
						? LWS_ILLEGAL_HTTP_CONTENT_LEN
						: (lws_filepos_t)h->content_length,
					&p, end) ||
	    add_headers(wsi, h, &p, end) < 0)
		return -EMSGSIZE;
	return lws_finalize_write_http_header(wsi, start, &p, end) ? -EIO : 0;
}

/* One lws_write of len bytes put at buf + LWS_PRE; frees buf. */
static int write_out(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
	int n = lws_write(wsi, buf + LWS_PRE, len, wp);

	free(buf);
	return n < (int)len ? -EIO : 0;
}

int http_write_body(struct lws *wsi, const void *body, size_t len)
{
	unsigned char *buf = malloc(LWS_PRE + len);

	if (!buf)
		return -ENOMEM;
	memcpy(buf + LWS_PRE, body, len);
	return write_out(wsi, buf, len, LWS_WRITE_HTTP_FINAL);
}

int http_write_chunk(struct lws *wsi, const void *data, size_t len)
{
	unsigned char *buf = malloc(LWS_PRE + len + 32);
	int h;

	if (!buf)
		return -ENOMEM;
	h = snprintf((char *)buf + LWS_PRE, 24, "%zx\r\n", len);
	if (len)
		memcpy(buf + LWS_PRE + h, data, len);
	memcpy(buf + LWS_PRE + h + len, "\r\n", 2); /* ends the data, or the last chunk */
	return write_out(wsi, buf, (size_t)h + len + 2,
			 len ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL);
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

int http_respond(struct lws *wsi, const http_head_t *h, const void *body, size_t len)
{
	unsigned char *buf = malloc(LWS_PRE + HTTP_HEAD_MAX + len), *start, *p, *end;
	char cl[24];
	int n, e = 0;

	if (!buf)
		return -ENOMEM;
	start = p = buf + LWS_PRE;
	end = start + HTTP_HEAD_MAX - 1;
	/* lws_add_http_header_status() says HTTP/1.0 before lws_http_action()
	 * ran, which is never for an upgrade: clients want 1.1 there */
	p += snprintf((char *)p, (size_t)(end - p), "HTTP/1.1 %u %s\r\n", h->status,
		      reason_phrase(h->status));
	e |= lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					  (const unsigned char *)h->content_type,
					  (int)strlen(h->content_type), &p, end);
	n = snprintf(cl, sizeof(cl), "%zu", len);
	e |= lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
					  (const unsigned char *)cl, n, &p, end);
	if (e || add_headers(wsi, h, &p, end) < 0 || lws_finalize_http_header(wsi, &p, end)) {
		free(buf);
		return -EMSGSIZE;
	}
	memcpy(p, body, len);
	p += len;
	return write_out(wsi, buf, (size_t)(p - start), LWS_WRITE_HTTP);
}
