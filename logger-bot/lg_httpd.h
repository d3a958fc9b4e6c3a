/*
 * lg_httpd: the logger's tiny HTTP listener for GET /metrics (Prometheus
 * text). One request per connection (Connection: close); the request head
 * is bounded by LG_HTTPD_HEAD_MAX and must arrive within
 * LG_HTTPD_TIMEOUT_MS; at most LG_HTTPD_CLIENTS_MAX connections at once.
 * Anything but GET /metrics gets 404 (or 405 for other methods).
 */
#ifndef EIRC_LOGGER_LG_HTTPD_H
#define EIRC_LOGGER_LG_HTTPD_H

#include <uv.h>

#include "logger-bot/lg_bulk.h"

#define LG_HTTPD_HEAD_MAX 8192
#define LG_HTTPD_TIMEOUT_MS 5000
#define LG_HTTPD_CLIENTS_MAX 16

/* Fills body with the current metrics text. */
typedef int (*lg_httpd_render_fn)(void *ud, struct lg_buf *body);

struct lg_httpd;

/* Listens on address:port (port 0: a free one, see lg_httpd_port). Returns
 * 0 or a libuv error. */
int lg_httpd_new(uv_loop_t *loop, const char *address, int port, lg_httpd_render_fn render,
                 void *ud, struct lg_httpd **out_h);
int lg_httpd_port(const struct lg_httpd *h);
/* Closes the listener and every connection; memory freed once closed. */
void lg_httpd_free(struct lg_httpd *h);

#endif
