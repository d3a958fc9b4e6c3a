/*
 * gw_http: libwebsockets glue. See gw_http.h.
 *
 * A session is attached to its wsi with lws_set_opaque_user_data() in
 * CONFIRM_UPGRADE (the per-session user space is reallocated when lws
 * binds the chosen subprotocol; the opaque pointer survives that). It is
 * detached in LWS_CALLBACK_CLOSED, or in LWS_CALLBACK_WSI_DESTROY when
 * the handshake failed after our checks.
 */
#include "gateway/gw_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/http_server.h"
#include "common/log.h"
#include "gateway/gw_access.h"
#include "gateway/gw_relay.h"

/* Lines a browser may send before its irc-client runs (while the consume
 * is in flight); bytes of them. Past either the session is closed. */
#define GW_EARLY_LINES_MAX 32
#define GW_EARLY_BYTES_MAX (64 * 1024)
/* Longest query string considered. */
#define GW_QUERY_MAX 2048

static int gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len);

static const struct lws_protocols gw_http_protocols[] = {
	{GW_SUBP_TEXT_NAME, gw_callback, 0, 4096, 0, NULL, 0},
	{GW_SUBP_BINARY_NAME, gw_callback, 0, 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* A complete text answer (status line, headers, body) in one write. */
static int gw_respond(struct lws *wsi, unsigned status, const char *ctype, const char *body,
		      size_t len, bool close)
{
	static const char *const no_store[] = {"cache-control:", "no-store", NULL};

	return http_respond(wsi, &(http_head_t){status, ctype, len, no_store, close}, body, len);
}

static const unsigned refusal_status[GW_REF_COUNT] = {
	[GW_REF_UPGRADE_REQUIRED] = 426,
	[GW_REF_SHUTTING_DOWN] = 503,
	[GW_REF_ORIGIN] = 403,
	[GW_REF_SUBPROTOCOL] = 400,
	[GW_REF_NO_TOKEN] = 400,
	[GW_REF_MAX_SESSIONS] = 503,
	[GW_REF_MAX_SESSIONS_PER_IP] = 429,
	[GW_REF_INVALID_TOKEN] = 401,
	[GW_REF_AUTH_UNAVAILABLE] = 503,
	[GW_REF_SPAWN_FAILED] = 500,
	[GW_REF_FD_LIMIT] = 503,
};

/* Answers a refused upgrade; returns what CONFIRM_UPGRADE returns. */
static int http_refuse(gw_server_t *srv, struct lws *wsi, gw_refusal_t r, const char *ip)
{
	const char *label = gw_refusal_label(r);
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", label);
	log_field_t f[] = {{"client_ip", ip}, {"reason", label}};

	srv->metrics.upgrades_refused[r]++;
	log_fields(LOG_INFO, f, 2, "upgrade refused: %s", label);
	if (gw_respond(wsi, refusal_status[r], "text/plain", body, (size_t)n, true) < 0)
		return -1;
	return 1;
}

/* Copies header h into out (cap bytes); 0 absent, 1 copied, -E2BIG too long. */
static int http_header(struct lws *wsi, enum lws_token_indexes h, char *out, size_t cap)
{
	int n = lws_hdr_total_length(wsi, h);

	out[0] = '\0';
	if (n <= 0)
		return 0;
	if ((size_t)n >= cap || lws_hdr_copy(wsi, out, (int)cap, h) < 0)
		return -E2BIG;
	return 1;
}

/* Rebuilds the query string from lws's argument fragments ('&'-joined):
 * its length, or -E2BIG past cap - 1 bytes. */
static int http_query(struct lws *wsi, char *out, size_t cap)
{
	size_t n = 0;
	int f, len;

	out[0] = '\0';
	for (f = 0; (len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, f)) > 0; f++) {
		if (n + (size_t)len + 2 > cap)
			return -E2BIG;
		if (n)
			out[n++] = '&';
		if (lws_hdr_copy_fragment(wsi, out + n, (int)(cap - n), WSI_TOKEN_HTTP_URI_ARGS,
					  f) < 0)
			return -E2BIG;
		n += (size_t)len;
		out[n] = '\0';
	}
	return (int)n;
}

/* The client address: peer, or X-Forwarded-For behind a trusted proxy. */
static void http_client_ip(gw_server_t *srv, struct lws *wsi, char out[NET_IP_MAX])
{
	char peer[128], xff[NET_XFF_MAX];
	int hx;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	hx = http_header(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof(xff));
	if (net_client_ip(peer, hx == 1 ? xff : NULL, srv->trusted, srv->n_trusted, out,
			  NET_IP_MAX) < 0)
		snprintf(out, NET_IP_MAX, "%s", "0.0.0.0");
}

static gw_session_t *session_new(gw_server_t *srv, const char *ip, const char *token)
{
	gw_session_t *ss = gw_session_new();

	if (!ss)
		return NULL;
	ss->srv = srv;
	snprintf(ss->request_id, sizeof(ss->request_id), "%s-%llu", srv->gw_id,
		 (unsigned long long)++srv->counter);
	snprintf(ss->client_ip, sizeof(ss->client_ip), "%s", ip);
	snprintf(ss->token, sizeof(ss->token), "%s", token);
	if (gw_table_add(&srv->table, ss) < 0) {
		free(ss);
		return NULL;
	}
	return ss;
}

/* The checks that need no network, in the documented order. */
static gw_refusal_t upgrade_check(gw_server_t *srv, struct lws *wsi, const char *ip,
				  char token[GW_TOKEN_MAX + 1])
{
	const eirc_config_gateway_t *g = &srv->cfg->gateway;
	char origin[GW_ORIGIN_MAX], subp[GW_SUBPROTO_HDR_MAX], query[GW_QUERY_MAX];
	int ho, hs, qn;

	if (srv->shutting_down)
		return GW_REF_SHUTTING_DOWN;
	ho = http_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
	if (ho < 0 || !gw_origin_allowed(ho ? origin : NULL, g->allowed_origins,
					 g->n_allowed_origins, g->allow_missing_origin))
		return GW_REF_ORIGIN;
	hs = http_header(wsi, WSI_TOKEN_PROTOCOL, subp, sizeof(subp));
	if (hs < 0 || gw_subproto_choose(hs ? subp : NULL) == GW_SUBP_UNKNOWN)
		return GW_REF_SUBPROTOCOL;
	qn = http_query(wsi, query, sizeof(query));
	if (qn < 0 || gw_token_from_query(query, (size_t)qn, token, GW_TOKEN_MAX + 1) < 0) {
		explicit_bzero(query, sizeof(query));
		return GW_REF_NO_TOKEN;
	}
	explicit_bzero(query, sizeof(query));
	if (srv->table.count >= g->max_sessions)
		return GW_REF_MAX_SESSIONS;
	if (!gw_server_fd_room(srv))
		return GW_REF_FD_LIMIT;
	if (gw_table_ip_count(&srv->table, ip) >= g->max_sessions_per_ip)
		return GW_REF_MAX_SESSIONS_PER_IP;
	return GW_REF_COUNT;
}

static int on_confirm_upgrade(gw_server_t *srv, struct lws *wsi)
{
	char path[64], ip[NET_IP_MAX], token[GW_TOKEN_MAX + 1];
	gw_session_t *ss;
	gw_refusal_t r;

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 || strcmp(path, "/chat"))
		return gw_respond(wsi, 404, "text/plain", "not found\n", 10, true) < 0 ? -1 : 1;
	http_client_ip(srv, wsi, ip);
	r = upgrade_check(srv, wsi, ip, token);
	if (r != GW_REF_COUNT) {
		explicit_bzero(token, sizeof(token));
		return http_refuse(srv, wsi, r, ip);
	}
	ss = session_new(srv, ip, token);
	explicit_bzero(token, sizeof(token));
	if (!ss)
		return -1;
	lws_set_opaque_user_data(wsi, ss);
	return 0;
}

static void session_log(gw_session_t *ss, log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void session_log(gw_session_t *ss, log_level_t level, const char *fmt, ...)
{
	log_field_t f[] = {{"request_id", ss->request_id},
			   {"client_ip", ss->client_ip},
			   {"nick", ss->nick[0] ? ss->nick : NULL}};
	va_list ap;

	va_start(ap, fmt);
	log_vfields(level, f, 3, fmt, ap);
	va_end(ap);
}

/* Writes the lines the browser sent while the consume was in flight. */
static void flush_early(gw_session_t *ss)
{
	char *p = ss->early, *end = ss->early + ss->early_len, *eol;

	for (; ss->early && p < end; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol)
			break;
		gw_relay_to_irc(ss, p, (size_t)(eol - p) + 2);
	}
	free(ss->early);
	ss->early = NULL;
	ss->early_len = 0;
}

static void on_consumed(void *arg, gw_auth_outcome_t outcome, gw_identity_t *id, const char *detail)
{
	gw_session_t *ss = arg;
	gw_server_t *srv = ss->srv;

	ss->auth = NULL;
	ss->state = GW_SS_ENDING;
	if (outcome == GW_AUTH_REFUSED) {
		srv->metrics.upgrades_refused[GW_REF_INVALID_TOKEN]++;
		session_log(ss, LOG_INFO, "chat token refused by eirc-auth (%s)", detail);
		gw_relay_close(ss, GW_CLOSE_INVALID_TOKEN, "invalid_token", false);
	} else if (outcome == GW_AUTH_UNAVAILABLE) {
		srv->metrics.upgrades_refused[GW_REF_AUTH_UNAVAILABLE]++;
		session_log(ss, LOG_WARN, "eirc-auth unavailable: %s", detail);
		gw_relay_close(ss, GW_CLOSE_AUTH_UNAVAILABLE, "auth_unavailable", false);
	} else {
		snprintf(ss->nick, sizeof(ss->nick), "%s", id->nick);
		ss->state = GW_SS_RELAYING;
		int r = gw_relay_start(ss, id);
		if (r < 0) {
			ss->state = GW_SS_ENDING;
			srv->metrics.spawn_failures++;
			srv->metrics.upgrades_refused[GW_REF_SPAWN_FAILED]++;
			session_log(ss, LOG_ERROR, "Failed to start the irc-client: %s",
				    uv_strerror(r));
			gw_relay_close(ss, GW_CLOSE_ENDED, "spawn_failed", false);
		} else {
			srv->metrics.upgrades_accepted++;
			srv->metrics.sessions_open++;
			ss->opened = true;
			ss->user_id = id->user_id;
			ss->family = id->family;
			gw_access_add(srv->access, ss);
			session_log(ss, LOG_INFO, "session started (%s)",
				    ss->binary ? GW_SUBP_BINARY_NAME : GW_SUBP_TEXT_NAME);
			flush_early(ss);
			if (ss->wsi && !ss->rx_paused)
				lws_rx_flow_control(ss->wsi, 1);
		}
	}
	free(ss->early);
	ss->early = NULL;
}

/* Bounds the kernel's send buffer of a browser socket (gateway.browser_sndbuf):
 * without it, loopback and fast links autotune it to megabytes, which a
 * browser that stops reading fills before the session's queue does. */
static void http_set_sndbuf(gw_server_t *srv, struct lws *wsi)
{
	uint64_t want = srv->cfg->gateway.browser_sndbuf;
	int fd = lws_get_socket_fd(wsi), v = (int)want;

	if (!want || fd < 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0)
		log_warn("setsockopt(SO_SNDBUF, %d) on a browser socket: %s", v, strerror(errno));
}

static int on_established(gw_server_t *srv, struct lws *wsi, gw_session_t *ss)
{
	const struct lws_protocols *p = lws_get_protocol(wsi);
	int r;

	ss->wsi = wsi;
	http_set_sndbuf(srv, wsi);
	ss->binary = p && p->name && !strcmp(p->name, GW_SUBP_BINARY_NAME);
	if (srv->shutting_down) {
		explicit_bzero(ss->token, sizeof(ss->token));
		ss->state = GW_SS_ENDING;
		srv->metrics.upgrades_refused[GW_REF_SHUTTING_DOWN]++;
		gw_relay_close(ss, GW_CLOSE_RESTART, "server restarting", false);
		return 0;
	}
	lws_rx_flow_control(wsi, 0); /* nothing is read until the consume answers */
	ss->state = GW_SS_CONSUMING;
	ss->consume_at = gw_server_now(srv);
	r = gw_auth_consume(srv->auth, ss->token, ss->client_ip, ss->request_id, on_consumed, ss,
			    &ss->auth);
	explicit_bzero(ss->token, sizeof(ss->token));
	if (r < 0) {
		ss->state = GW_SS_ENDING;
		srv->metrics.upgrades_refused[GW_REF_AUTH_UNAVAILABLE]++;
		gw_relay_close(ss, GW_CLOSE_AUTH_UNAVAILABLE, "auth_unavailable", false);
	}
	return 0;
}

static int early_keep(gw_session_t *ss, const char *line, size_t len)
{
	char *p;

	if (ss->early_lines >= GW_EARLY_LINES_MAX || ss->early_len + len > GW_EARLY_BYTES_MAX ||
	    !(p = realloc(ss->early, ss->early_len + len)))
		return -1;
	memcpy(p + ss->early_len, line, len);
	ss->early = p;
	ss->early_len += len;
	ss->early_lines++;
	return 0;
}

static int on_receive(gw_server_t *srv, struct lws *wsi, gw_session_t *ss, const void *in,
		      size_t len)
{
	const char *line = NULL;
	size_t llen = 0;
	int r;

	if (ss->state == GW_SS_ENDING || ss->close_pending)
		return 0;
	r = gw_frame_feed(&ss->frame, in, len, lws_is_first_fragment(wsi),
			  lws_is_final_fragment(wsi), lws_frame_is_binary(wsi),
			  lws_remaining_packet_payload(wsi), &line, &llen);
	if (r < 0) {
		const char *why = gw_frame_close_reason(r);
		srv->metrics.frames_refused[r == GW_FRAME_ETOOBIG ? GW_FREF_TOO_BIG
					    : r == GW_FRAME_ECRLF ? GW_FREF_CRLF_NUL
								  : GW_FREF_INVALID_UTF8]++;
		session_log(ss, LOG_INFO, "browser message refused: %s", why);
		ss->close_pending = true;
		gw_relay_send_close(wsi, gw_frame_close_code(r), why);
		return -1;
	}
	if (r != GW_FRAME_LINE)
		return 0;
	if (gw_frame_is_control(line, llen)) {
		static const char refusal[] = ":eirc 421 * EIRC :Unknown command";
		gw_relay_to_browser(ss, refusal, sizeof(refusal) - 1);
		return 0;
	}
	if (ss->state == GW_SS_RELAYING) {
		gw_relay_to_irc(ss, line, llen);
	} else if (ss->state == GW_SS_CONSUMING && early_keep(ss, line, llen) < 0) {
		ss->close_pending = true;
		gw_relay_send_close(wsi, GW_CLOSE_POLICY,
				    "too many lines before the session "
				    "started");
		return -1;
	}
	return 0;
}

/* The WebSocket is gone (closed, or failed before it was established). */
static void on_ws_gone(struct lws *wsi, gw_session_t *ss)
{
	gw_server_t *srv = ss->srv;

	lws_set_opaque_user_data(wsi, NULL);
	free(ss->early);
	ss->early = NULL;
	explicit_bzero(ss->token, sizeof(ss->token));
	if (ss->auth) {
		gw_auth_cancel(ss->auth);
		ss->auth = NULL;
	}
	if (ss->opened) {
		ss->opened = false;
		srv->metrics.sessions_open--;
	}
	gw_relay_ws_gone(ss);
	gw_server_session_check_free(ss);
}

static int on_http(gw_server_t *srv, struct lws *wsi, const char *path)
{
	char *body = NULL;
	size_t len = 0;
	int r;

	if (!strcmp(path, "/healthz")) {
		r = gw_respond(wsi, 200, "text/plain", "ok\n", 3, false);
	} else if (!strcmp(path, "/readyz")) {
		const char *why = gw_server_not_ready(srv);
		char text[64];
		int n = snprintf(text, sizeof(text), "%s\n", why ? why : "ready");
		r = gw_respond(wsi, why ? 503 : 200, "text/plain", text, (size_t)n, false);
	} else if (!strcmp(path, "/metrics")) {
		if (gw_metrics_render(&srv->metrics, &body, &len) < 0)
			return -1;
		r = gw_respond(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", body, len,
			       false);
		free(body);
	} else if (!strcmp(path, "/chat")) {
		char ip[NET_IP_MAX];
		http_client_ip(srv, wsi, ip);
		return http_refuse(srv, wsi, GW_REF_UPGRADE_REQUIRED, ip) < 0
			       ? -1
			       : (lws_http_transaction_completed(wsi) ? -1 : 0);
	} else {
		r = gw_respond(wsi, 404, "text/plain", "not found\n", 10, false);
	}
	if (r < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	gw_server_t *srv = lws_get_vhost(wsi) ? http_server_user(wsi) : NULL;
	gw_session_t *ss = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(srv, wsi, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!in || strcmp((const char *)in, "websocket"))
			return -1;
		return on_confirm_upgrade(srv, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return ss ? on_established(srv, wsi, ss) : -1;
	case LWS_CALLBACK_RECEIVE:
		return ss ? on_receive(srv, wsi, ss, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ss && ss->wsi ? gw_relay_writable(ss) : 0;
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_WSI_DESTROY:
		if (ss)
			on_ws_gone(wsi, ss);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

int gw_http_listen(gw_server_t *srv, const char *name, int port, bool tls)
{
	const eirc_config_gateway_t *g = &srv->cfg->gateway;
	eirc_err_t err;
	int r = http_server_listen(srv->http,
				   &(http_listen_opts_t){
					   .name = name,
					   .address = g->listen_address,
					   .port = port,
					   .tls_cert_file = tls ? g->tls_cert_file : NULL,
					   .tls_key_file = tls ? g->tls_key_file : NULL,
					   /* HTTP/1.1 only: our answers are written as HTTP/1.1,
					    * and WebSockets over h2 (RFC 8441) are not for us */
					   .alpn = "http/1.1",
					   .protocols = gw_http_protocols,
					   .retry = &srv->retry,
					   .keepalive_s = 30,
					   .user = srv,
				   },
				   &err);

	return r < 0 ? -EADDRINUSE : r;
}
