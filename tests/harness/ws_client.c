/*
 * ws_client: blocking WebSocket test client on libwebsockets. See
 * ws_client.h.
 *
 * lws_service() in lws 4.x ignores its timeout and sleeps until the next
 * event, so a self-rearming 20 ms timer (lws_sul) bounds every wait.
 */
#include "common/clock.h"
#include "tests/harness/ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#define WS_TICK_US       (20 * 1000)
#define WS_CLOSE_WAIT_MS 2000

typedef struct ws_frame {
	struct ws_frame *next;
	int flags; /* lws_write_protocol */
	size_t len;
	unsigned char buf[]; /* LWS_PRE + len */
} ws_frame_t;

typedef struct ws_msg {
	struct ws_msg *next;
	bool binary;
	size_t len;
	char data[]; /* len + 1 */
} ws_msg_t;

typedef enum { WS_CONNECTING, WS_OPEN, WS_FAILED, WS_CLOSED } ws_state_t;

struct ws_client {
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t tick;
	ws_state_t state;
	const ws_opts_t *opts; /* during ws_connect only */
	ws_refusal_t refusal;
	char protocol[64];
	/* the message being assembled, and those complete */
	char *rx;
	size_t rx_len;
	bool rx_binary, rx_too_big;
	ws_msg_t *msgs, **msgs_tail;
	ws_msg_t *current; /* returned by the last ws_recv */
	ws_frame_t *tx, **tx_tail;
	bool want_close, paused;
	int close_code;
	char close_reason[128];
	int timeout_ms;
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
	ws_client_t *ws = lws_container_of(sul, ws_client_t, tick);

	lws_sul_schedule(ws->ctx, 0, &ws->tick, on_tick, WS_TICK_US);
}

static void rx_data(ws_client_t *ws, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		ws->rx_len = 0;
		ws->rx_too_big = false;
		ws->rx_binary = lws_frame_is_binary(wsi);
	}
	if (ws->rx_len + len > WS_MSG_MAX) {
		ws->rx_too_big = true;
	} else {
		memcpy(ws->rx + ws->rx_len, in, len);
		ws->rx_len += len;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
		return;
	ws_msg_t *m = malloc(sizeof(*m) + ws->rx_len + 1);
	if (!m)
		return;
	m->next = NULL;
	m->binary = ws->rx_binary;
	/* an oversized message arrives as an empty one flagged by len > max */
	m->len = ws->rx_too_big ? WS_MSG_MAX + 1 : ws->rx_len;
	memcpy(m->data, ws->rx, ws->rx_too_big ? 0 : ws->rx_len);
	m->data[ws->rx_too_big ? 0 : ws->rx_len] = '\0';
	*ws->msgs_tail = m;
	ws->msgs_tail = &m->next;
	ws->rx_len = 0;
}

static int tx_next(ws_client_t *ws, struct lws *wsi)
{
	ws_frame_t *f = ws->tx;

	if (f) {
		ws->tx = f->next;
		if (!ws->tx)
			ws->tx_tail = &ws->tx;
		int n = lws_write(wsi, f->buf + LWS_PRE, f->len, (enum lws_write_protocol)f->flags);
		free(f);
		if (n < 0)
			return -1;
		if (ws->tx || ws->want_close)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (ws->want_close) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static void append_headers(ws_client_t *ws, void *in, size_t len)
{
	char **p = (char **)in;
	char *end = *p + len;

	for (size_t i = 0; ws->opts && ws->opts->headers && ws->opts->headers[i]; i++) {
		size_t n = strlen(ws->opts->headers[i]);
		if (*p + n + 2 >= end)
			break;
		memcpy(*p, ws->opts->headers[i], n);
		memcpy(*p + n, "\r\n", 2);
		*p += n + 2;
	}
}

static void peer_close(ws_client_t *ws, const unsigned char *in, size_t len)
{
	ws->close_code = len >= 2 ? (in[0] << 8) | in[1] : 1005;
	if (len > 2) {
		size_t n = len - 2 < sizeof(ws->close_reason) - 1 ? len - 2
								  : sizeof(ws->close_reason) - 1;
		memcpy(ws->close_reason, in + 2, n);
		ws->close_reason[n] = '\0';
	}
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	ws_client_t *ws = ctx ? lws_context_user(ctx) : NULL;
	(void)user;

	if (!ws)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		append_headers(ws, in, len);
		break;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		if (lws_hdr_copy(wsi, ws->protocol, sizeof(ws->protocol), WSI_TOKEN_PROTOCOL) < 0)
			ws->protocol[0] = '\0';
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		ws->state = WS_OPEN;
		if (ws->opts && ws->opts->rcvbuf > 0) {
			int fd = lws_get_socket_fd(wsi), v = ws->opts->rcvbuf;
			if (fd >= 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		snprintf(ws->refusal.error, sizeof(ws->refusal.error), "%.*s", (int)len,
			 in ? (const char *)in : "");
		ws->refusal.status = (int)lws_http_client_http_response(wsi);
		ws->state = WS_FAILED;
		ws->wsi = NULL;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		rx_data(ws, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return tx_next(ws, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		peer_close(ws, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!ws->close_code)
			ws->close_code = 1006;
		ws->state = WS_CLOSED;
		ws->wsi = NULL;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (ws->wsi == wsi) {
			ws->wsi = NULL;
			if (ws->state == WS_CONNECTING)
				ws->state = WS_FAILED;
			else if (ws->state == WS_OPEN) {
				ws->state = WS_CLOSED;
				if (!ws->close_code)
					ws->close_code = 1006;
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols ws_protocols[] = {
	{"eirc-ws-test", ws_callback, 0, 65536, 0, NULL, 0},
	{"binary.ircv3.net", ws_callback, 0, 65536, 0, NULL, 0},
	{"text.ircv3.net", ws_callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Services once; false when the deadline passed. */
static bool service(ws_client_t *ws, int64_t deadline)
{
	if ((int64_t)clock_mono_ms() >= deadline)
		return false;
	lws_service(ws->ctx, 0);
	return true;
}

static int64_t deadline_of(const ws_client_t *ws, int timeout_ms)
{
	return (int64_t)clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : ws->timeout_ms);
}

static int ws_new(const ws_opts_t *opts, ws_client_t **out_ws)
{
	struct lws_context_creation_info info;
	ws_client_t *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	ws->rx = malloc(WS_MSG_MAX + 1);
	if (!ws->rx) {
		free(ws);
		return -ENOMEM;
	}
	ws->msgs_tail = &ws->msgs;
	ws->tx_tail = &ws->tx;
	ws->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : WS_TIMEOUT_MS;
	lws_set_log_level(getenv("WS_CLIENT_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE : 0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.user = ws;
	info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	if (opts && opts->cafile) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.client_ssl_ca_filepath = opts->cafile;
	}
	ws->ctx = lws_create_context(&info);
	if (!ws->ctx) {
		free(ws->rx);
		free(ws);
		return -ENOMEM;
	}
	lws_sul_schedule(ws->ctx, 0, &ws->tick, on_tick, WS_TICK_US);
	*out_ws = ws;
	return 0;
}

/* Splits ws[s]://host:port/path into the connect info; buf holds the
 * parts. wss:// needs a CA (opts->cafile). */
static int parse_url(const char *url, const ws_opts_t *opts, char *buf, size_t cap, char *path,
		     size_t pcap, struct lws_client_connect_info *i)
{
	const char *prot, *addr, *p;
	int port;

	if (snprintf(buf, cap, "%s", url) >= (int)cap)
		return -EINVAL;
	if (lws_parse_uri(buf, &prot, &addr, &port, &p))
		return -EINVAL;
	if (!strcmp(prot, "wss") && opts && opts->cafile)
		i->ssl_connection = LCCSCF_USE_SSL;
	else if (strcmp(prot, "ws") != 0)
		return -EINVAL;
	if (snprintf(path, pcap, "/%s", p) >= (int)pcap)
		return -EINVAL;
	i->address = addr;
	i->host = opts && opts->host ? opts->host : addr;
	i->port = port;
	i->path = path;
	return 0;
}

int ws_connect(const char *url, const ws_opts_t *opts, ws_client_t **out_ws,
	       ws_refusal_t *out_refusal)
{
	struct lws_client_connect_info i;
	char buf[2048], path[2048];
	ws_client_t *ws;
	int r = ws_new(opts, &ws);

	if (r < 0)
		return r;
	memset(&i, 0, sizeof(i));
	r = parse_url(url, opts, buf, sizeof(buf), path, sizeof(path), &i);
	if (r < 0)
		goto fail;
	i.context = ws->ctx;
	i.origin = opts ? opts->origin : NULL;
	i.protocol = opts ? opts->protocols : NULL;
	i.local_protocol_name = "eirc-ws-test";
	i.ietf_version_or_minus_one = -1;
	i.pwsi = &ws->wsi;
	ws->opts = opts;
	if (!lws_client_connect_via_info(&i)) {
		snprintf(ws->refusal.error, sizeof(ws->refusal.error), "connect failed at once");
		r = -EIO;
		goto fail;
	}
	int64_t deadline = deadline_of(ws, 0);
	while (ws->state == WS_CONNECTING && service(ws, deadline))
		;
	ws->opts = NULL;
	if (ws->state == WS_OPEN) {
		*out_ws = ws;
		return 0;
	}
	r = ws->state == WS_CONNECTING ? -ETIMEDOUT : ws->refusal.status > 0 ? -EPERM : -EIO;
fail:
	if (out_refusal)
		*out_refusal = ws->refusal;
	ws->opts = NULL;
	ws_abort(ws);
	return r;
}

const char *ws_protocol(const ws_client_t *ws)
{
	return ws->protocol;
}

static int queue_frame(ws_client_t *ws, int flags, const void *data, size_t len)
{
	if (ws->state != WS_OPEN || !ws->wsi)
		return -EPIPE;
	ws_frame_t *f = malloc(sizeof(*f) + LWS_PRE + len + 1);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->flags = flags;
	f->len = len;
	memcpy(f->buf + LWS_PRE, data, len);
	*ws->tx_tail = f;
	ws->tx_tail = &f->next;
	lws_callback_on_writable(ws->wsi);
	int64_t deadline = deadline_of(ws, 0);
	while (ws->tx && ws->state == WS_OPEN && service(ws, deadline))
		;
	if (ws->state != WS_OPEN)
		return -EPIPE;
	return ws->tx ? -ETIMEDOUT : 0;
}

int ws_send(ws_client_t *ws, bool binary, const void *data, size_t len)
{
	return queue_frame(ws, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, data, len);
}

int ws_send_text(ws_client_t *ws, const char *text)
{
	return ws_send(ws, false, text, strlen(text));
}

int ws_send_frame(ws_client_t *ws, ws_frag_t kind, const void *data, size_t len)
{
	static const int flags[] = {
		[WS_FRAG_FIRST_TEXT] = LWS_WRITE_TEXT | LWS_WRITE_NO_FIN,
		[WS_FRAG_FIRST_BINARY] = LWS_WRITE_BINARY | LWS_WRITE_NO_FIN,
		[WS_FRAG_MORE] = LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN,
		[WS_FRAG_LAST] = LWS_WRITE_CONTINUATION,
	};

	return queue_frame(ws, flags[kind], data, len);
}

int ws_recv(ws_client_t *ws, int timeout_ms, const char **out_msg, size_t *out_len,
	    bool *out_binary)
{
	int64_t deadline = deadline_of(ws, timeout_ms);

	free(ws->current);
	ws->current = NULL;
	for (;;) {
		ws_msg_t *m = ws->msgs;
		if (m) {
			ws->msgs = m->next;
			if (!ws->msgs)
				ws->msgs_tail = &ws->msgs;
			ws->current = m;
			if (m->len > WS_MSG_MAX)
				return -EMSGSIZE;
			*out_msg = m->data;
			*out_len = m->len;
			if (out_binary)
				*out_binary = m->binary;
			return 0;
		}
		if (ws->state != WS_OPEN)
			return -EPIPE;
		if (!service(ws, deadline))
			return -ETIMEDOUT;
	}
}

static void drop_msgs(ws_client_t *ws)
{
	while (ws->msgs) {
		ws_msg_t *m = ws->msgs;
		ws->msgs = m->next;
		free(m);
	}
	ws->msgs_tail = &ws->msgs;
}

int ws_wait_close(ws_client_t *ws, int timeout_ms, char *reason, size_t cap)
{
	int64_t deadline = deadline_of(ws, timeout_ms);

	if (ws->paused)
		ws_pause(ws, false);
	for (;;) {
		drop_msgs(ws);
		if (ws->state != WS_OPEN)
			break;
		if (!service(ws, deadline))
			return -ETIMEDOUT;
	}
	if (reason && cap)
		snprintf(reason, cap, "%s", ws->close_reason);
	return ws->close_code ? ws->close_code : 1006;
}

bool ws_closed(const ws_client_t *ws)
{
	return ws->state != WS_OPEN;
}

void ws_pause(ws_client_t *ws, bool paused)
{
	ws->paused = paused;
	if (ws->wsi && ws->state == WS_OPEN)
		lws_rx_flow_control(ws->wsi, paused ? 0 : 1);
}

void ws_idle(ws_client_t *ws, int ms)
{
	int64_t deadline = (int64_t)clock_mono_ms() + ms;

	while (service(ws, deadline))
		;
}

void ws_free(ws_client_t *ws)
{
	if (!ws)
		return;
	if (ws->state == WS_OPEN && ws->wsi) {
		int64_t deadline = (int64_t)clock_mono_ms() + WS_CLOSE_WAIT_MS;
		if (ws->paused)
			ws_pause(ws, false);
		ws->want_close = true;
		lws_callback_on_writable(ws->wsi);
		while (ws->state == WS_OPEN && service(ws, deadline))
			;
	}
	ws_abort(ws);
}

void ws_abort(ws_client_t *ws)
{
	if (!ws)
		return;
	lws_sul_schedule(ws->ctx, 0, &ws->tick, NULL, LWS_SET_TIMER_USEC_CANCEL);
	lws_context_destroy(ws->ctx);
	drop_msgs(ws);
	while (ws->tx) {
		ws_frame_t *f = ws->tx;
		ws->tx = f->next;
		free(f);
	}
	free(ws->current);
	free(ws->rx);
	free(ws);
}

/* ---- the upgrade request on a plain socket ---- */

static int raw_connect(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int ws_raw_begin(const char *url, const ws_opts_t *opts)
{
	struct lws_client_connect_info i;
	char buf[2048], path[2048], req[8192];
	int n, fd;

	memset(&i, 0, sizeof(i));
	if (parse_url(url, NULL, buf, sizeof(buf), path, sizeof(path), &i) < 0)
		return -EINVAL;
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n",
		     path, i.address, i.port);
	if (opts && opts->origin)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Origin: %s\r\n", opts->origin);
	if (opts && opts->protocols)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Sec-WebSocket-Protocol: %s\r\n",
			      opts->protocols);
	for (size_t k = 0; opts && opts->headers && opts->headers[k]; k++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", opts->headers[k]);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	if (n >= (int)sizeof(req))
		return -E2BIG;
	fd = raw_connect(i.address, i.port);
	if (fd < 0)
		return fd;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* Reads into buf until the header block is complete and then content-length
 * body bytes (or EOF); returns bytes held or a negative errno. */
static ssize_t raw_read_answer(int fd, int64_t deadline, char *buf, size_t cap)
{
	size_t len = 0, want = 0;
	bool head_done = false;

	for (;;) {
		if (!head_done) {
			buf[len] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			if (end) {
				head_done = true;
				const char *cl = strcasestr(buf, "\r\nContent-Length:");
				size_t body_at = (size_t)(end - buf) + 4, clen = 0;
				if (cl && cl < end)
					clen = strtoul(cl + 17, NULL, 10);
				want = strncmp(buf + 9, "101", 3) == 0 ? body_at : body_at + clen;
			}
		}
		if (head_done && len >= want)
			return (ssize_t)len;
		if (len + 1 >= cap)
			return (ssize_t)len;
		int left = (int)(deadline - (int64_t)clock_mono_ms());
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pf, 1, left) != 1)
			return -ETIMEDOUT;
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0)
			return -errno;
		if (r == 0)
			return head_done || len ? (ssize_t)len : -ECONNRESET;
		len += (size_t)r;
	}
}

int ws_raw_finish(int fd, int timeout_ms, char *body, size_t cap)
{
	char buf[16384];
	int64_t deadline = (int64_t)clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : WS_TIMEOUT_MS);
	ssize_t n = raw_read_answer(fd, deadline, buf, sizeof(buf));
	int status;

	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || (size_t)n < 12)
		return -EPROTO;
	status = (int)strtol(buf + 9, NULL, 10);
	if (body && cap) {
		const char *b = strstr(buf, "\r\n\r\n");
		snprintf(body, cap, "%s", b ? b + 4 : "");
	}
	return status > 0 ? status : -EPROTO;
}

int ws_raw_upgrade(const char *url, const ws_opts_t *opts, char *body, size_t cap)
{
	int fd = ws_raw_begin(url, opts);

	if (fd < 0)
		return fd;
	return ws_raw_finish(fd, opts ? opts->timeout_ms : 0, body, cap);
}
