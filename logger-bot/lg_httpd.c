/*
 * lg_httpd: GET /metrics over libuv TCP (see lg_httpd.h).
 */
#include "logger-bot/lg_httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client {
	struct lg_httpd *h;
	struct client *next;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	int open;               /* handles not closed yet */
	bool closing, answered;
	size_t len;
	char head[LG_HTTPD_HEAD_MAX];
	struct lg_buf out;
};

struct lg_httpd {
	uv_tcp_t listener;
	lg_httpd_render_fn render;
	void *ud;
	struct client *clients;
	int n_clients;
	bool freeing, listener_closed;
};

static void maybe_free_server(struct lg_httpd *h)
{
	if (h->freeing && h->listener_closed && !h->clients)
		free(h);
}

static void on_client_closed(uv_handle_t *handle)
{
	struct client *c = handle->data, **pp;
	struct lg_httpd *h = c->h;

	if (--c->open)
		return;
	for (pp = &h->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	h->n_clients--;
	lg_buf_free(&c->out);
	free(c);
	maybe_free_server(h);
}

static void client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_client_closed);
	uv_close((uv_handle_t *)&c->timer, on_client_closed);
}

static void on_written(uv_write_t *wr, int status)
{
	(void)status;
	client_close(wr->data);
}

static void respond(struct client *c, int status, const char *reason, const char *type,
                    const char *body, size_t len)
{
	char hdr[256];
	uv_buf_t b;
	int n = snprintf(hdr, sizeof(hdr),
	                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n", status, reason, type, len);

	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (lg_buf_append(&c->out, hdr, (size_t)n) < 0 || lg_buf_append(&c->out, body, len) < 0) {
		client_close(c);
		return;
	}
	b = uv_buf_init(c->out.p, (unsigned)c->out.len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
		client_close(c);
}

static void handle_request(struct client *c)
{
	struct lg_buf body = { 0 };

	if (strncmp(c->head, "GET ", 4) != 0) {
		respond(c, 405, "Method Not Allowed", "text/plain", "method not allowed\n", 19);
	} else if (strncmp(c->head + 4, "/metrics ", 9) != 0 &&
	           strncmp(c->head + 4, "/metrics?", 9) != 0) {
		respond(c, 404, "Not Found", "text/plain", "not found\n", 10);
	} else if (c->h->render(c->h->ud, &body) < 0) {
		respond(c, 500, "Internal Server Error", "text/plain", "error\n", 6);
	} else {
		respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body.p ? body.p : "",
		        body.len);
	}
	lg_buf_free(&body);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
	struct client *c = handle->data;

	(void)hint;
	*buf = uv_buf_init(c->head + c->len, (unsigned)(sizeof(c->head) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct client *c = s->data;

	(void)buf;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->head[c->len] = '\0';
	if (strstr(c->head, "\r\n\r\n") || strstr(c->head, "\n\n"))
		handle_request(c);
	else if (c->len >= sizeof(c->head) - 1)
		respond(c, 431, "Request Header Fields Too Large", "text/plain", "too large\n", 10);
}

static void on_timeout(uv_timer_t *t)
{
	client_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct lg_httpd *h = server->data;
	struct client *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	c->h = h;
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open = 2;
	c->next = h->clients;
	h->clients = c;
	h->n_clients++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || h->n_clients > LG_HTTPD_CLIENTS_MAX) {
		client_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timeout, LG_HTTPD_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int lg_httpd_new(uv_loop_t *loop, const char *address, int port, lg_httpd_render_fn render,
                 void *ud, struct lg_httpd **out_h)
{
	struct sockaddr_storage sa;
	struct lg_httpd *h;
	int err;

	if (uv_ip4_addr(address, port, (struct sockaddr_in *)&sa) < 0 &&
	    (err = uv_ip6_addr(address, port, (struct sockaddr_in6 *)&sa)) < 0)
		return err;
	if (!(h = calloc(1, sizeof(*h))))
		return UV_ENOMEM;
	h->render = render;
	h->ud = ud;
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	if ((err = uv_tcp_bind(&h->listener, (struct sockaddr *)&sa, 0)) < 0 ||
	    (err = uv_listen((uv_stream_t *)&h->listener, 64, on_connection)) < 0) {
		lg_httpd_free(h);
		return err;
	}
	*out_h = h;
	return 0;
}

int lg_httpd_port(const struct lg_httpd *h)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);

	if (uv_tcp_getsockname(&h->listener, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

static void on_listener_closed(uv_handle_t *handle)
{
	struct lg_httpd *h = handle->data;

	h->listener_closed = true;
	maybe_free_server(h);
}

void lg_httpd_free(struct lg_httpd *h)
{
	if (!h)
		return;
	h->freeing = true;
	for (struct client *c = h->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
