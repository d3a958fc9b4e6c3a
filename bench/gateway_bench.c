/*
 * gateway_bench: end-to-end load on eirc-gateway, with InspIRCd's own
 * WebSocket listener (m_websocket) under the same load as the baseline.
 *
 *   build/bench/gateway_bench [--sessions N(1000)] [--rate MSG_PER_S(1000)]
 *       [--seconds S(30)] [--idle N(10000), 0 skips] [--room-size 10]
 *       [--concurrency C(64)] [--deadline S(900)] [--build-dir DIR]
 *       [--rounds R(6)] [--gateways G(1)] [--loop uv|poll]
 *
 * It starts, on loopback only and from tests/harness: PostgreSQL, eirc-auth,
 * InspIRCd 3 (WEBIRC, plus an m_websocket listener) and eirc-gateway. The
 * simulated browsers are libwebsockets client connections in ONE lws_context
 * in this single process, on libuv (lws's event-lib; --loop poll: lws's
 * default poll() loop, which costs a core at 1,000 connections):
 *   A  baseline: N WebSocket clients straight to m_websocket (NICK/USER,
 *      wait 001, JOIN a channel of --room-size), then --rate PRIVMSG/s in
 *      total for --seconds, spread evenly over time and over the senders;
 *      every message carries sender, seq and the send time, and every
 *      receiver records the delivery latency (sender's write to its read).
 *   B  the same N through the gateway: chat token (POST /api/chat-token),
 *      upgrade on /chat (text.ircv3.net), 001, JOIN; the same load. Also:
 *      setup time (token request -> 001 and upgrade -> 001), gateway RSS
 *      per session, total PSS per session (gateway + irc-clients).
 *   C  --idle sessions through the gateway (at most --concurrency setting
 *      up at once), each in a channel; every one must answer a TIME round
 *      trip; memory, fds and setup times; then all are closed and every
 *      irc-client must exit. With --gateways G, G-1 more eirc-gateway
 *      processes are started for C (same eirc-auth and InspIRCd, each its
 *      own port and config) and the sessions go round-robin over all G:
 *      a gateway needs 2 descriptors per session (the WebSocket and the
 *      socketpair to its irc-client), so its hard RLIMIT_NOFILE (printed)
 *      bounds what one process can hold; the figures are per gateway and
 *      in total.
 * A and B stay connected together and the load runs on them in alternating
 * rounds (--rounds, A B A B ...), so that what else the shared machine does
 * weighs on both alike; C starts once they are closed.
 * Loss is counted (messages written x other members ready = expected
 * deliveries, against what arrived). The generator's own CPU is reported
 * per phase. A hard deadline (SIGALRM) ends everything; the harness's
 * watchdog then stops every server.
 *
 * Users: one is created with the CLI (a real Argon2id hash), the others by
 * SQL reusing that hash; one of the SQL users logs in for real to show the
 * copies work. Access tokens are inserted by SQL (SHA-256 of a known
 * string, exactly what the password grant stores); the measured path starts
 * at the chat-token request. Timings are printed, never asserted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <uv.h>

#include "gateway/gw_server.h"
#include "tests/integration/auth_fixture.h"

#ifndef EIRC_BINARY_DIR
#define EIRC_BINARY_DIR "build"
#endif

#define GWB_SESSIONS_MAX 50000
#define GWB_NOFILE       131072 /* for us and every server we start */
#define GWB_ORIGIN       "http://bench.example"
#define GWB_WEBIRC       "gwb-webirc-secret"
#define GWB_CTL_MAX      4 /* control lines queued per connection */
#define GWB_CTL_LEN      160
#define GWB_RX_MAX       2048 /* longest WebSocket message kept */
#define GWB_PAD          48   /* filler in each PRIVMSG text */
#define GWB_DRAIN_US     (10 * 1000000ULL)
#define GWB_REASONS_MAX  12
#define GWB_ROUNDS_MAX   60
#define GWB_GATEWAYS_MAX 8 /* --gateways */

enum cstate {
	C_NEW,
	C_TOKEN,      /* POST /api/chat-token in flight */
	C_TOKEN_DONE, /* token in hand, upgrade not started yet */
	C_CONNECTING, /* WebSocket handshake */
	C_REGISTERING,
	C_JOINING,
	C_READY,
	C_CLOSING,
	C_CLOSED,
	C_FAILED,
};

struct bench;

struct conn {
	struct bench *b;
	struct lws *wsi, *http_wsi;
	int idx, room;
	int gw; /* which gateway (index in bench.ports) */
	enum cstate st;
	bool alive; /* answered the TIME round trip */
	bool close_req;
	uint64_t t_token, t_upgrade, t_001, t_ready;
	char token[64];
	char body[512];
	size_t body_len;
	char ctl[GWB_CTL_MAX][GWB_CTL_LEN];
	int ctl_head, ctl_n;
	uint32_t pending; /* PRIVMSGs due, not written yet */
	uint64_t due_us;  /* when the oldest pending one was due */
	uint32_t seq, sent, rx;
	size_t rx_len;
	bool rx_trunc;
	char rx_buf[GWB_RX_MAX];
};

struct u32v {
	uint32_t *v;
	size_t n, cap;
};

struct reason {
	char text[96];
	int count;
};

struct load {
	double rate, cpu_s, wall_s;
	double ircd_cpu_s, gw_cpu_s, kids_cpu_s; /* the servers', during the load */
	double round_p99[GWB_ROUNDS_MAX];
	int rounds;
	uint64_t total, next_k, t0;
	uint64_t sent, skipped, expected, delivered, foreign;
	uint64_t *room_sent;
	int *room_ready;
	struct u32v lat, lag;
	bool running;
};

/* The generator: one lws context (and loop) for every set of sessions. */
struct gen {
	struct lws_context *ctx;
	uv_loop_t loop;        /* lws's event loop with --loop uv */
	uv_timer_t send_timer; /* the send clock with --loop uv */
	bool uv;
	lws_sorted_usec_list_t tick, send_sul;
	struct bench *loading; /* the set whose load runs now */
	int auth_port;
	char salt[40]; /* access token i = salt + %010d */
	int conc;      /* sessions setting up at once */
	int room_size;
	pid_t gw_pid, ircd_pid; /* for their CPU time */
	long gw_fds0;           /* the gateway's descriptors before any session */
};

/* One set of sessions (baseline, gateway, idle) and its figures. */
struct bench {
	struct gen *g;
	struct conn *c;
	int n, nrooms, room_size;
	bool via_gateway;
	const char *tag;                     /* "a", "b", "c": nick and channel prefix */
	int port;                            /* m_websocket or (the first) gateway */
	int ports[GWB_GATEWAYS_MAX], nports; /* the gateways, conn.gw indexes */
	int next_start, inflight, ready, failed, closed, alive;
	int lost; /* ready once, then closed by the other side */
	uint64_t t_begin, marks[GWB_SESSIONS_MAX / 1000 + 1]; /* every 1,000th ready */
	int *upq; /* indices waiting for their upgrade */
	int upq_head, upq_tail;
	struct reason reasons[GWB_REASONS_MAX];
	struct load ld;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void u32v_push(struct u32v *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		uint32_t *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return; /* counted by the caller's totals anyway */
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/* Percentile q (0..1) of a sorted array, in ms. */
static double pct_ms(const uint32_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	size_t i = (size_t)(q * (double)n);
	return (double)v[i < n ? i : n - 1] / 1000.0;
}

static void add_reason(struct bench *b, const char *fmt, ...)
{
	char text[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (int i = 0; i < GWB_REASONS_MAX; i++) {
		struct reason *r = &b->reasons[i];
		if (!r->count)
			snprintf(r->text, sizeof(r->text), "%s", text);
		if (!strcmp(r->text, text)) {
			r->count++;
			return;
		}
	}
}

/* ---- connection state --------------------------------------------------- */

static void ctl_push(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->ctl_n == GWB_CTL_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(c->ctl[(c->ctl_head + c->ctl_n) % GWB_CTL_MAX], GWB_CTL_LEN, fmt, ap);
	va_end(ap);
	c->ctl_n++;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/* A session that will not become ready: counted once, its slot freed. */
static void conn_fail(struct conn *c, const char *why)
{
	struct bench *b = c->b;

	if (c->st == C_FAILED || c->st == C_CLOSED)
		return;
	if (c->st == C_READY) {
		b->ld.room_ready[c->room]--;
		b->lost++;
		add_reason(b, "ready session lost: %s", why);
	} else if (c->st != C_CLOSING) {
		b->inflight--;
		add_reason(b, "%s", why);
	}
	if (c->st == C_CLOSING)
		b->closed++;
	else
		b->failed++;
	c->st = c->st == C_CLOSING ? C_CLOSED : C_FAILED;
}

static void conn_ready(struct conn *c)
{
	struct bench *b = c->b;

	c->st = C_READY;
	c->t_ready = now_us();
	b->ready++;
	b->inflight--;
	if (b->ready % 1000 == 0)
		b->marks[b->ready / 1000] = c->t_ready;
	b->ld.room_ready[c->room]++;
}

static void on_privmsg(struct conn *c, const char *text)
{
	struct bench *b = c->b;
	unsigned sender, seq;
	unsigned long long ts;

	if (sscanf(text, "gwb %u %u %llu", &sender, &seq, &ts) != 3)
		return;
	if ((int)sender >= b->n || b->c[sender].room != c->room) {
		b->ld.foreign++;
		return;
	}
	c->rx++;
	b->ld.delivered++;
	u32v_push(&b->ld.lat, now_us() - ts);
}

/* One IRC line from the server side (InspIRCd, or the irc-client). */
static void on_line(struct conn *c, char *line)
{
	char *p = line, *cmd;

	if (*p == ':' && !(p = strchr(p, ' ')))
		return;
	while (*p == ' ')
		p++;
	cmd = p;
	if (!strncmp(cmd, "PING ", 5)) {
		ctl_push(c, "PONG %s", cmd + 5);
	} else if (!strncmp(cmd, "PRIVMSG ", 8)) {
		char *t = strstr(cmd, " :");
		if (t)
			on_privmsg(c, t + 2);
	} else if (!strncmp(cmd, "001 ", 4) && c->st == C_REGISTERING) {
		c->t_001 = now_us();
		c->st = C_JOINING;
		ctl_push(c, "JOIN #gw%s%d", c->b->tag, c->room);
	} else if (!strncmp(cmd, "366 ", 4) && c->st == C_JOINING) {
		conn_ready(c);
	} else if (!strncmp(cmd, "391 ", 4) && !c->alive) {
		c->alive = true;
		c->b->alive++;
	} else if (!strncmp(cmd, "ERROR", 5) || !strncmp(cmd, "EIRC ERROR", 10) ||
		   !strncmp(cmd, "433 ", 4) || !strncmp(cmd, "432 ", 4) ||
		   !strncmp(cmd, "FAIL ", 5)) {
		/* counted by command and text, without the nicks in between */
		const char *t = strstr(cmd, " :");
		add_reason(c->b, "server said: %.*s ... %.30s", (int)strcspn(cmd, " "), cmd,
			   t ? t + 1 : "");
	}
}

/* A complete WebSocket message: one line (gateway), or lines (be lenient). */
static void on_message(struct conn *c)
{
	char *s = c->rx_buf, *end = c->rx_buf + c->rx_len;

	*end = '\0';
	while (s < end) {
		char *nl = strpbrk(s, "\r\n");
		if (nl)
			*nl = '\0';
		if (*s)
			on_line(c, s);
		if (!nl)
			break;
		s = nl + 1;
	}
}

static int on_receive(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	size_t room = sizeof(c->rx_buf) - 1 - c->rx_len;

	if (len > room) {
		c->rx_trunc = true;
		len = room;
	}
	memcpy(c->rx_buf + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	if (!c->rx_trunc) /* a truncated one is a burst line, never ours */
		on_message(c);
	c->rx_len = 0;
	c->rx_trunc = false;
	return 0;
}

/* ---- sending ------------------------------------------------------------ */

static int write_text(struct lws *wsi, const char *s, size_t len)
{
	unsigned char buf[LWS_PRE + GWB_CTL_LEN + 256];

	if (len > sizeof(buf) - LWS_PRE)
		return -1;
	memcpy(buf + LWS_PRE, s, len);
	return lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

static int write_privmsg(struct conn *c)
{
	struct bench *b = c->b;
	char line[GWB_CTL_LEN + 128];
	uint64_t now = now_us();
	int len = snprintf(line, sizeof(line), "PRIVMSG #gw%s%d :gwb %d %u %llu %.*s", b->tag,
			   c->room, c->idx, c->seq++, (unsigned long long)now, GWB_PAD,
			   "................................................................");

	if (write_text(c->wsi, line, (size_t)len) < 0)
		return -1;
	u32v_push(&b->ld.lag, now - c->due_us);
	c->pending--;
	c->due_us = now; /* the next pending one was due at least this late */
	c->sent++;
	b->ld.sent++;
	b->ld.room_sent[c->room]++;
	b->ld.expected += (uint64_t)(b->ld.room_ready[c->room] - 1);
	return 0;
}

static int on_writeable(struct conn *c, struct lws *wsi)
{
	if (c->close_req) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
		return -1;
	}
	if (c->ctl_n) {
		const char *s = c->ctl[c->ctl_head];
		c->ctl_head = (c->ctl_head + 1) % GWB_CTL_MAX;
		c->ctl_n--;
		if (write_text(wsi, s, strlen(s)) < 0)
			return -1;
	} else if (c->pending && c->st == C_READY) {
		if (write_privmsg(c) < 0)
			return -1;
	}
	if (c->ctl_n || (c->pending && c->st == C_READY))
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- the chat-token request (HTTP client on the same context) ---------- */

static int http_headers(struct conn *c, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	char auth[128];

	snprintf(auth, sizeof(auth), "Bearer %s%010d", c->b->g->salt, c->idx);
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)auth,
					 (int)strlen(auth), p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (unsigned char *)"0",
					 1, p, end))
		return -1;
	return 0;
}

static void http_done(struct conn *c)
{
	json_t *j;
	const char *t;

	if (c->st != C_TOKEN)
		return;
	c->body[c->body_len] = '\0';
	j = json_loads(c->body, 0, NULL);
	t = json_string_value(json_object_get(j, "chat_token"));
	if (t && strlen(t) < sizeof(c->token)) {
		snprintf(c->token, sizeof(c->token), "%s", t);
		c->st = C_TOKEN_DONE;
		c->b->upq[c->b->upq_tail++] = c->idx;
	} else {
		conn_fail(c, "no chat token in the answer");
	}
	json_decref(j);
}

static int http_cb(struct conn *c, struct lws *wsi, enum lws_callback_reasons reason, void *in,
		   size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return http_headers(c, wsi, (unsigned char **)in, *(unsigned char **)in + len);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (lws_http_client_http_response(wsi) != 200) {
			conn_fail(c, "chat-token request refused");
			return -1;
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 1024], *px = buf + LWS_PRE;
		int n = (int)sizeof(buf) - LWS_PRE;
		return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (c->body_len + len < sizeof(c->body)) {
			memcpy(c->body + c->body_len, in, len);
			c->body_len += len;
		}
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		http_done(c);
		return -1; /* one request per connection */
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		c->http_wsi = NULL;
		if (c->st == C_TOKEN)
			conn_fail(c, "chat-token connection closed early");
		return 0;
	default:
		return 0;
	}
}

/* ---- the lws callback ---------------------------------------------------- */

static int ws_cb(struct conn *c, struct lws *wsi, enum lws_callback_reasons reason, void *in,
		 size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->st = C_REGISTERING;
		ctl_push(c, "NICK %s%d", c->b->tag, c->idx);
		ctl_push(c, "USER %s%d 0 * :gateway bench", c->b->tag, c->idx);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2 && c->st != C_CLOSING)
			add_reason(c->b, "peer closed: %u %.*s",
				   ((unsigned)((unsigned char *)in)[0] << 8) |
					   ((unsigned char *)in)[1],
				   (int)len - 2, (char *)in + 2);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->wsi = NULL;
		conn_fail(c, "WebSocket closed");
		return 0;
	default:
		return 0;
	}
}

static int gwb_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			size_t len)
{
	struct conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;

	if (!c)
		return 0;
	if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR) {
		if (wsi == c->http_wsi)
			c->http_wsi = NULL;
		else
			c->wsi = NULL;
		/* a refused upgrade: its HTTP status is still known here */
		add_reason(c->b, "connect error: %.60s (HTTP %u)", in ? (const char *)in : "?",
			   lws_http_client_http_response(wsi));
		conn_fail(c, "connection error");
		return 0;
	}
	if (wsi == c->http_wsi)
		return http_cb(c, wsi, reason, in, len);
	if (wsi == c->wsi)
		return ws_cb(c, wsi, reason, in, len);
	return 0;
}

static const struct lws_protocols gwb_protocols[] = {
	{"gwb", gwb_callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- starting sessions --------------------------------------------------- */

static void start_token(struct bench *b, struct conn *c)
{
	struct lws_client_connect_info ci = {0};

	ci.context = b->g->ctx;
	ci.address = "127.0.0.1";
	ci.port = b->g->auth_port;
	ci.path = "/api/chat-token";
	ci.host = "127.0.0.1";
	ci.method = "POST";
	ci.local_protocol_name = "gwb";
	ci.opaque_user_data = c;
	ci.pwsi = &c->http_wsi;
	c->st = C_TOKEN;
	c->t_token = now_us();
	if (!lws_client_connect_via_info(&ci) && c->st == C_TOKEN)
		conn_fail(c, "cannot start the chat-token request");
}

static void start_ws(struct bench *b, struct conn *c)
{
	struct lws_client_connect_info ci = {0};
	char path[128];

	snprintf(path, sizeof(path), b->via_gateway ? "/chat?chat_token=%s" : "/", c->token);
	ci.context = b->g->ctx;
	ci.address = "127.0.0.1";
	ci.port = b->ports[c->gw];
	ci.path = path;
	ci.host = "127.0.0.1";
	ci.origin = GWB_ORIGIN;
	ci.protocol = "text.ircv3.net";
	ci.local_protocol_name = "gwb";
	ci.ietf_version_or_minus_one = -1;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	c->st = C_CONNECTING;
	c->t_upgrade = now_us();
	if (!c->t_token)
		c->t_token = c->t_upgrade;
	if (!lws_client_connect_via_info(&ci) && c->st == C_CONNECTING)
		conn_fail(c, "cannot start the upgrade");
}

/* Starts what may start: upgrades for tokens in hand, then new sessions
 * while fewer than b->conc are setting up. */
static void pump(struct bench *b)
{
	while (b->upq_head < b->upq_tail) {
		struct conn *c = &b->c[b->upq[b->upq_head++]];
		if (c->st == C_TOKEN_DONE)
			start_ws(b, c);
	}
	while (b->inflight < b->g->conc && b->next_start < b->n) {
		struct conn *c = &b->c[b->next_start++];
		b->inflight++;
		if (b->via_gateway)
			start_token(b, c);
		else
			start_ws(b, c);
	}
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct gen *g = lws_container_of(sul, struct gen, tick);

	lws_sul_schedule(g->ctx, 0, &g->tick, tick_cb, 50 * LWS_US_PER_MS);
}

/* Runs the loop until done(b) or the deadline (absolute, now_us()). */
static bool run_until(struct bench *b, bool (*done)(struct bench *), uint64_t deadline)
{
	while (!done(b)) {
		if (now_us() >= deadline)
			return false;
		pump(b);
		if (b->g->uv)
			uv_run(&b->g->loop, UV_RUN_ONCE);
		else
			lws_service(b->g->ctx, 0);
	}
	return true;
}

static bool all_settled(struct bench *b)
{
	return b->next_start == b->n && b->inflight == 0;
}

static bool never(struct bench *b)
{
	(void)b;
	return false;
}

/* Sets up b->n sessions; returns once each is ready or failed, or when no
 * session got ready for stall_s seconds. */
static void phase_connect(struct bench *b, int stall_s)
{
	int last_ready = -1;
	uint64_t last_change = now_us();

	while (!all_settled(b)) {
		run_until(b, all_settled, now_us() + 1000000);
		if (b->ready + b->failed != last_ready) {
			last_ready = b->ready + b->failed;
			last_change = now_us();
		} else if (now_us() - last_change > (uint64_t)stall_s * 1000000) {
			fprintf(stderr, "gateway_bench: no progress for %d s, %d in flight\n",
				stall_s, b->inflight);
			break;
		}
	}
}

static void phase_begin(struct gen *g, struct bench *b, int n, bool gateway, const char *tag,
			int port)
{
	memset(b, 0, sizeof(*b));
	b->g = g;
	b->room_size = g->room_size;
	b->t_begin = now_us();
	b->c = calloc((size_t)n, sizeof(*b->c));
	b->upq = calloc((size_t)n, sizeof(*b->upq));
	b->n = n;
	b->nrooms = (n + b->room_size - 1) / b->room_size;
	b->via_gateway = gateway;
	b->tag = tag;
	b->port = port;
	b->ports[0] = port;
	b->nports = 1;
	b->next_start = b->inflight = b->ready = b->failed = b->closed = b->alive = 0;
	b->upq_head = b->upq_tail = 0;
	memset(b->reasons, 0, sizeof(b->reasons));
	memset(&b->ld, 0, sizeof(b->ld));
	b->ld.room_sent = calloc((size_t)b->nrooms, sizeof(uint64_t));
	b->ld.room_ready = calloc((size_t)b->nrooms, sizeof(int));
	for (int i = 0; i < n; i++) {
		b->c[i].b = b;
		b->c[i].idx = i;
		b->c[i].room = i / b->room_size;
	}
}

static bool all_closed(struct bench *b)
{
	for (int i = 0; i < b->n; i++)
		if (b->c[i].wsi || b->c[i].http_wsi)
			return false;
	return true;
}

/* Closes every WebSocket (close frame, code 1000) and waits for them. */
static void phase_close(struct bench *b)
{
	b->next_start = b->n; /* nothing new starts */
	b->upq_head = b->upq_tail;
	for (int i = 0; i < b->n; i++) {
		struct conn *c = &b->c[i];
		if (!c->wsi)
			continue;
		if (c->st == C_READY)
			b->ld.room_ready[c->room]--;
		else if (c->st != C_FAILED && c->st != C_CLOSED)
			b->inflight--;
		c->st = C_CLOSING;
		c->close_req = true;
		lws_callback_on_writable(c->wsi);
	}
	if (!run_until(b, all_closed, now_us() + 60 * 1000000ULL))
		fprintf(stderr, "gateway_bench: some connections did not close in 60 s\n");
}

static void phase_end(struct bench *b)
{
	free(b->c);
	free(b->upq);
	free(b->ld.room_sent);
	free(b->ld.room_ready);
	free(b->ld.lat.v);
	free(b->ld.lag.v);
	b->c = NULL;
	b->upq = NULL;
	memset(&b->ld, 0, sizeof(b->ld));
}

/* ---- the load ----------------------------------------------------------- */

/* Message k goes to room k mod R, to the members of that room in turn: the
 * rate is even over time, over rooms and over senders. */
static struct conn *sender_of(struct bench *b, uint64_t k)
{
	uint64_t room = k % (uint64_t)b->nrooms, turn = k / (uint64_t)b->nrooms;
	int first = (int)room * b->room_size;
	int size = b->n - first < b->room_size ? b->n - first : b->room_size;

	return &b->c[first + (int)(turn % (uint64_t)size)];
}

/* Hands every message now due to its sender; returns the time to the
 * next one in us, or 0 when the load is over. */
static uint64_t send_due(struct bench *b)
{
	struct load *ld = &b->ld;
	uint64_t now = now_us(), due = 0;

	while (ld->next_k < ld->total) {
		due = ld->t0 + (uint64_t)((double)ld->next_k * 1e6 / ld->rate);
		if (due > now)
			break;
		struct conn *c = sender_of(b, ld->next_k++);
		if (c->st != C_READY || !c->wsi) {
			ld->skipped++;
			continue;
		}
		if (!c->pending++)
			c->due_us = due;
		lws_callback_on_writable(c->wsi);
	}
	if (ld->next_k < ld->total)
		return due - now;
	ld->running = false;
	return 0;
}

static void send_cb(lws_sorted_usec_list_t *sul)
{
	struct gen *g = lws_container_of(sul, struct gen, send_sul);
	uint64_t next = send_due(g->loading);

	if (next)
		lws_sul_schedule(g->ctx, 0, &g->send_sul, send_cb, (lws_usec_t)next);
}

/* libuv: a 1 ms clock (lws's own timer on libuv showed ms of extra lag). */
static void send_timer_cb(uv_timer_t *t)
{
	struct gen *g = t->data;

	if (!send_due(g->loading))
		uv_timer_stop(t);
}

static bool load_drained(struct bench *b)
{
	if (b->ld.running || b->ld.delivered < b->ld.expected)
		return false;
	for (int i = 0; i < b->n; i++)
		if (b->c[i].pending && b->c[i].st == C_READY)
			return false;
	return true;
}

/* One round of load on set b; its counters and samples add up over
 * rounds. Waits for every delivery (at most GWB_DRAIN_US more). */
static void phase_load(struct bench *b, double rate, int seconds)
{
	struct gen *g = b->g;
	struct load *ld = &b->ld;
	double c0 = cpu_s();
	uint64_t end;

	ld->rate = rate;
	ld->total = (uint64_t)(rate * seconds);
	ld->next_k = 0;
	ld->t0 = now_us();
	ld->running = true;
	g->loading = b;
	if (g->uv)
		uv_timer_start(&g->send_timer, send_timer_cb, 0, 1);
	else
		lws_sul_schedule(g->ctx, 0, &g->send_sul, send_cb, 1);
	end = ld->t0 + (uint64_t)seconds * 1000000 + GWB_DRAIN_US;
	if (!run_until(b, load_drained, end))
		fprintf(stderr, "gateway_bench: load not drained within %d s + 10 s\n", seconds);
	lws_sul_cancel(&g->send_sul);
	if (g->uv)
		uv_timer_stop(&g->send_timer);
	ld->running = false;
	ld->cpu_s += cpu_s() - c0;
	ld->wall_s += (double)(now_us() - ld->t0) / 1e6;
}

/* ---- reports ------------------------------------------------------------ */

struct setup_stats {
	double tok_p50, tok_p99, up_p50, up_p99, up_max;
	double span_s; /* first start to last ready */
};

/* Over the sessions of gateway gw (index in b->ports), or all with gw < 0. */
static void setup_stats(struct bench *b, int gw, struct setup_stats *s)
{
	uint32_t *tok = calloc((size_t)b->n, sizeof(*tok)), *up = calloc((size_t)b->n, sizeof(*up));
	size_t k = 0;
	uint64_t first = UINT64_MAX, last = 0;

	for (int i = 0; i < b->n; i++) {
		struct conn *c = &b->c[i];
		if (!c->t_001 || (gw >= 0 && c->gw != gw))
			continue;
		tok[k] = (uint32_t)(c->t_001 - c->t_token);
		up[k++] = (uint32_t)(c->t_001 - c->t_upgrade);
		first = c->t_token < first ? c->t_token : first;
		last = c->t_ready > last ? c->t_ready : last;
	}
	qsort(tok, k, sizeof(*tok), cmp_u32);
	qsort(up, k, sizeof(*up), cmp_u32);
	*s = (struct setup_stats){pct_ms(tok, k, 0.5), pct_ms(tok, k, 0.99),
				  pct_ms(up, k, 0.5),  pct_ms(up, k, 0.99),
				  pct_ms(up, k, 1.0),  k ? (double)(last - first) / 1e6 : 0};
	free(tok);
	free(up);
}

static void print_reasons(struct bench *b)
{
	for (int i = 0; i < GWB_REASONS_MAX && b->reasons[i].count; i++)
		printf("    %6d x %s\n", b->reasons[i].count, b->reasons[i].text);
}

static void print_states(struct bench *b)
{
	static const char *const names[] = {
		"not started", "chat token", "token in hand", "upgrading", "waiting for 001",
		"joining",     "ready",      "closing",       "closed",    "failed"};
	int count[C_FAILED + 1] = {0};

	for (int i = 0; i < b->n; i++)
		count[b->c[i].st]++;
	printf("    sessions by state:");
	for (int i = 0; i <= C_FAILED; i++)
		if (count[i])
			printf(" %s %d;", names[i], count[i]);
	printf("\n");
}

/* How the setup rate changes as sessions add up (spawn cost, limits). */
static void print_marks(struct bench *b)
{
	uint64_t prev = b->t_begin;

	if (b->ready < 2000)
		return;
	printf("  ready over time:");
	for (int k = 1; k <= b->ready / 1000; k++) {
		printf(" %dk %.0fs (%.0f/s);", k, (double)(b->marks[k] - b->t_begin) / 1e6,
		       1000.0 * 1e6 / (double)(b->marks[k] - prev));
		prev = b->marks[k];
	}
	printf("\n");
}

static void print_setup(struct bench *b, const char *what)
{
	struct setup_stats s;

	setup_stats(b, -1, &s);
	printf("  sessions held      %d of %d (got ready %d, failed %d, of which %d after being "
	       "ready)\n",
	       b->ready - b->lost, b->n, b->ready, b->failed, b->lost);
	print_reasons(b);
	if (b->ready < b->n)
		print_states(b);
	if (b->via_gateway)
		printf("  setup, chat-token request -> 001: p50 %.1f ms, p99 %.1f ms\n", s.tok_p50,
		       s.tok_p99);
	printf("  setup, %s -> 001: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", what, s.up_p50,
	       s.up_p99, s.up_max);
	printf("  all ready in       %.1f s (%.0f sessions/s, %d setting up at once)\n", s.span_s,
	       s.span_s > 0 ? b->ready / s.span_s : 0, b->g->conc);
	print_marks(b);
}

struct lat_result {
	double p50, p99, p999, max;
};

static struct lat_result print_load(struct bench *b, int seconds)
{
	double cpu = b->ld.cpu_s, wall = b->ld.wall_s;
	struct load *ld = &b->ld;
	struct lat_result r;
	int lossy = 0;

	qsort(ld->lat.v, ld->lat.n, sizeof(uint32_t), cmp_u32);
	qsort(ld->lag.v, ld->lag.n, sizeof(uint32_t), cmp_u32);
	r = (struct lat_result){
		pct_ms(ld->lat.v, ld->lat.n, 0.5), pct_ms(ld->lat.v, ld->lat.n, 0.99),
		pct_ms(ld->lat.v, ld->lat.n, 0.999), pct_ms(ld->lat.v, ld->lat.n, 1.0)};
	for (int i = 0; i < b->n; i++) {
		struct conn *c = &b->c[i];
		if (c->st == C_READY && c->rx < b->ld.room_sent[c->room] - c->sent)
			lossy++;
	}
	printf("  load               %.0f msg/s for %d s: %llu written (%llu due to a sender "
	       "that was not ready), %.0f msg/s achieved\n",
	       ld->rate, seconds, (unsigned long long)ld->sent, (unsigned long long)ld->skipped,
	       (double)ld->sent / seconds);
	printf("  deliveries         %llu expected, %llu received, %lld lost (%.3f%%), "
	       "%d receivers short, %llu misrouted\n",
	       (unsigned long long)ld->expected, (unsigned long long)ld->delivered,
	       (long long)(ld->expected - ld->delivered),
	       ld->expected ? 100.0 * (double)(ld->expected - ld->delivered) / (double)ld->expected
			    : 0,
	       lossy, (unsigned long long)ld->foreign);
	printf("  delivery latency   p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms "
	       "(%zu samples)\n",
	       r.p50, r.p99, r.p999, r.max, ld->lat.n);
	printf("  generator          send lag p99 %.2f ms max %.2f ms; CPU %.1f s in %.1f s "
	       "of load and drain (%.0f%% of one core)\n",
	       pct_ms(ld->lag.v, ld->lag.n, 0.99), pct_ms(ld->lag.v, ld->lag.n, 1.0), cpu, wall,
	       100 * cpu / wall);
	printf("  server CPU         InspIRCd %.1f s, gateway %.1f s, irc-clients %.1f s "
	       "(%.0f%% of the 2 cores in all, with the generator)\n",
	       ld->ircd_cpu_s, ld->gw_cpu_s, ld->kids_cpu_s,
	       wall > 0 ? 100 * (ld->ircd_cpu_s + ld->gw_cpu_s + ld->kids_cpu_s + cpu) / (2 * wall)
			: 0);
	return r;
}

/* ---- the gateway's processes --------------------------------------------- */

struct procmem {
	long rss_kib, pss_kib, fds;
	long kids, kids_pss_kib, zombies;
	double cpu_s, kids_cpu_s;
};

static long status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
		 strcmp(key, "Pss:") ? "status" : "smaps_rollup");
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl)) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long count_fds(pid_t pid)
{
	char path[64];
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int cmp_ulong(const void *x, const void *y)
{
	unsigned long a = *(const unsigned long *)x, b = *(const unsigned long *)y;

	return a < b ? -1 : a > b;
}

/* The TCP sockets among the inodes (sorted here), by state and port, from
 * /proc/PID/net/tcp: which connections a process still holds. */
static void print_tcp(pid_t pid, unsigned long *inodes, size_t n, int listen)
{
	static const char *const states[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
					     "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
	char path[64], line[512];
	unsigned kport[8] = {0}, kst[8] = {0}, kn[8] = {0}, nk = 0;
	FILE *f;

	qsort(inodes, n, sizeof(*inodes), cmp_ulong);
	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned lport, rport, st;
		unsigned long ino;
		if (sscanf(line, " %*d: %*x:%x %*x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport,
			   &rport, &st, &ino) != 4)
			continue;
		if (bsearch(&ino, inodes, n, sizeof(*inodes), cmp_ulong)) {
			/* accepted: the listener's port; outgoing: the server's */
			unsigned k = 0, port = lport == (unsigned)listen || !rport ? lport : rport;
			while (k < nk && (kport[k] != port || kst[k] != st))
				k++;
			if (k == nk && nk < 8) {
				kport[nk] = port;
				kst[nk++] = st;
			}
			if (k < nk)
				kn[k]++;
		}
	}
	fclose(f);
	for (unsigned k = 0; k < nk; k++)
		printf("    %u TCP %s %s port %u\n", kn[k], kst[k] < 12 ? states[kst[k]] : "?",
		       kst[k] == 10 || kport[k] == (unsigned)listen ? "on" : "to", kport[k]);
}

/* What the gateway's descriptors are (sockets, pipes, ...), for the report;
 * with few sockets left, which TCP connections they are. */
static void print_fd_kinds(pid_t pid, int listen)
{
	char path[64], link[256];
	long sock = 0, pipe = 0, anon = 0, other = 0;
	unsigned long *inodes = calloc(GWB_NOFILE, sizeof(*inodes));
	size_t ni = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!inodes || !(d = opendir(path))) {
		free(inodes);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char p[320];
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if ((n = readlink(p, link, sizeof(link) - 1)) < 0)
			continue;
		link[n] = '\0';
		if (!strncmp(link, "socket:", 7)) {
			sock++;
			if (ni < GWB_NOFILE)
				inodes[ni++] = strtoul(link + 8, NULL, 10);
		} else if (!strncmp(link, "pipe:", 5))
			pipe++;
		else if (!strncmp(link, "anon_inode:", 11))
			anon++;
		else
			other++;
	}
	closedir(d);
	printf("  gateway fds now: %ld sockets, %ld pipes, %ld anon inodes, %ld files\n", sock,
	       pipe, anon, other);
	print_tcp(pid, inodes, ni, listen);
	free(inodes);
}

/* "Max open files" soft (or hard) limit of a process, or -1. */
static long nofile_of(pid_t pid, bool hard)
{
	char path[64], line[256], *end;
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14)) {
			v = strtol(line + 14, &end, 10);
			if (hard)
				v = strtol(end, NULL, 10);
		}
	fclose(f);
	return v;
}

/* State, parent and CPU time (user + system, s) of a process; 0 or -1. */
static int read_stat(long pid, char *out_st, long *out_ppid, double *out_cpu)
{
	char path[64], buf[1024], *rp;
	unsigned long ut, stime;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(rp = strrchr(buf, ')')) ||
	    sscanf(rp + 1, " %c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", out_st, out_ppid,
		   &ut, &stime) != 4)
		return -1;
	*out_cpu = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static double cpu_of(pid_t pid)
{
	char st;
	long ppid;
	double cpu = 0;

	return pid > 0 && read_stat(pid, &st, &ppid, &cpu) == 0 ? cpu : 0;
}

/* The gateway's memory, fds and CPU, and its children's (the irc-clients),
 * from /proc. */
static void proc_sample(pid_t gw, bool with_pss, struct procmem *m)
{
	DIR *d = opendir("/proc");

	*m = (struct procmem){status_kib(gw, "VmRSS:"),
			      with_pss ? status_kib(gw, "Pss:") : 0,
			      count_fds(gw),
			      0,
			      0,
			      0,
			      cpu_of(gw),
			      0};
	for (struct dirent *e; d && (e = readdir(d));) {
		char *end, st;
		long pid = strtol(e->d_name, &end, 10), ppid;
		double cpu;
		if (*end || pid <= 0 || read_stat(pid, &st, &ppid, &cpu) < 0 || ppid != gw)
			continue;
		m->kids_cpu_s += cpu;
		m->kids++;
		m->zombies += st == 'Z';
		if (with_pss && st != 'Z') {
			long pss = status_kib((pid_t)pid, "Pss:");
			m->kids_pss_kib += pss > 0 ? pss : 0;
		}
	}
	if (d)
		closedir(d);
}

/* GET /metrics on 127.0.0.1:port with the tests' HTTP client; prints the
 * metric lines (no comments) indented. For the report only. */
static void print_metrics(int port)
{
	char *body = NULL, *save = NULL;

	if (ht_get(port, "/metrics", &body) != 200) {
		printf("  /metrics: cannot fetch\n");
		free(body);
		return;
	}
	printf("  gateway /metrics (non-zero samples):\n");
	for (char *l = strtok_r(body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *v = strrchr(l, ' ');
		if (l[0] != '#' && v && strcmp(v, " 0"))
			printf("    %s\n", l);
	}
	free(body);
}

/* After the last child: waits (at most 30 s) for the gateway's descriptors
 * to come back near `base`, and says how long that took. */
static void wait_fds_back(pid_t gw, long base)
{
	uint64_t t0 = now_us();
	long n = count_fds(gw);

	while (n > base + 64 && now_us() - t0 < 30 * 1000000ULL) {
		usleep(200 * 1000);
		n = count_fds(gw);
	}
	printf("  gateway fds %ld, %.1f s after the last irc-client exited (%s)\n", n,
	       (double)(now_us() - t0) / 1e6,
	       n > base + 64 ? "NOT back near the start" : "back near the start");
}

/* Waits until the gateway has no child left (every irc-client exited and
 * was reaped); returns the last sample. */
static bool wait_children_gone(pid_t gw, int timeout_s, struct procmem *m)
{
	uint64_t end = now_us() + (uint64_t)timeout_s * 1000000;

	do {
		proc_sample(gw, false, m);
		if (!m->kids)
			return true;
		usleep(200 * 1000);
	} while (now_us() < end);
	return false;
}

static void print_mem(const char *what, const struct procmem *m0, const struct procmem *m1,
		      int held)
{
	if (held <= 0)
		return;
	printf("  %s: gateway VmRSS %ld -> %ld KiB = %.1f KiB per session; fds %ld -> %ld\n", what,
	       m0->rss_kib, m1->rss_kib, (double)(m1->rss_kib - m0->rss_kib) / held, m0->fds,
	       m1->fds);
	printf("  %s: PSS gateway %ld KiB + %ld irc-clients %ld KiB = %.1f KiB per session "
	       "(irc-client alone %.1f KiB)\n",
	       what, m1->pss_kib, m1->kids, m1->kids_pss_kib,
	       (double)(m1->pss_kib + m1->kids_pss_kib) / held,
	       m1->kids ? (double)m1->kids_pss_kib / (double)m1->kids : 0);
}

/* A summary of the gateway's log when sessions failed: the why. */
static void print_log_tail(const char *path, int failed)
{
	char cmd[700];

	if (!failed || !path)
		return;
	printf("  the gateway's log so far, lines by kind (%s):\n", path);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd),
		 "grep -v ' debug:' '%s' | sed -E 's/^[^ ]+ [^ ]+ //; "
		 "s/ (request_id|client_ip|nick|pid)=.*//; s/\\([^)]*\\)/(..)/g; "
		 "s/[0-9]+/N/g' | cut -c1-150 | sort | uniq -c | sort -rn | head -n 14 | "
		 "sed 's/^/    /'",
		 path);
	if (system(cmd) != 0)
		printf("    (cannot read it)\n");
}

/* ---- servers ------------------------------------------------------------ */

static void random_salt(char *out, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[64];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, r, len) != (ssize_t)len)
		for (size_t i = 0; i < len; i++) /* only for a throwaway database */
			r[i] = (unsigned char)(now_us() >> (i % 8));
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < len; i++)
		out[i] = abc[r[i] % 64];
	out[len] = '\0';
}

/* m users gwb0..gwb<m-1>, each with an access token salt + %010d. */
static int make_users(fx_t *fx, struct gen *g, int m)
{
	char sql[1024];
	ht_resp_t r;
	uint64_t t0 = now_us();
	long long got;

	random_salt(g->salt, 33); /* + 10 digits: the 43 characters of a token */
	if (fx_cli(fx, FX_PASSWORD, NULL, 0, "user", "add", "gwb0", "--password-env", "PW", NULL) !=
	    0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO users (nick, nick_folded, display_name, password_hash)"
		 " SELECT 'gwb' || i, 'gwb' || i, 'gwb' || i, (SELECT password_hash FROM users"
		 " WHERE nick_folded = 'gwb0') FROM generate_series(1, %d) i",
		 m - 1);
	if (m > 1 && fx_sql(fx, sql) < 0)
		return -1;
	/* a copied hash must log in like the original */
	int lr = fx_login(fx, m > 1 ? "gwb1" : "gwb0", FX_PASSWORD, &r);
	long st = r.status;
	ht_resp_free(&r);
	if (lr < 0 || st != 200) {
		fprintf(stderr, "gateway_bench: login of a bench user failed (%ld)\n", st);
		return -1;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT INTO access_tokens (hash, client_id, user_id, scope, expires_at)"
		 " SELECT sha256(convert_to('%s' || lpad(i::text, 10, '0'), 'UTF8')),"
		 " (SELECT id FROM oauth_clients WHERE client_id = 'eirc-web'), u.id,"
		 " 'chat history', now() + interval '1 day'"
		 " FROM generate_series(0, %d) i JOIN users u ON u.nick_folded = 'gwb' || i",
		 g->salt, m - 1);
	if (fx_sql(fx, sql) < 0)
		return -1;
	got = fx_sql_int(fx, "SELECT count(*) FROM access_tokens WHERE user_id IS NOT NULL"
			     " AND scope = 'chat history' AND family IS NULL");
	printf("users: %d (1 by the CLI, the rest by SQL with its hash), %lld access tokens, "
	       "%.1f s\n",
	       m, got, (double)(now_us() - t0) / 1e6);
	return got == m ? 0 : -1;
}

static int start_ircd(fx_t *fx, int maxconn, int *out_ws_port, srv_t **out)
{
	char binds[256], extra[512];
	int ws = srv_free_port();

	snprintf(binds, sizeof(binds),
		 "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\" hook=\"websocket\">",
		 ws);
	/* text frames like the gateway's text.ircv3.net; the Origin we send */
	snprintf(extra, sizeof(extra),
		 "<module name=\"sha1\">\n<module name=\"websocket\">\n"
		 "<websocket defaultmode=\"text\">\n<wsorigin allow=\"" GWB_ORIGIN "\">\n");
	srv_ircd_opts_t io = {.webirc_password = GWB_WEBIRC,
			      .localmax = maxconn,
			      .extra_binds = binds,
			      .extra = extra};
	if (ws < 0 || srv_inspircd_start(fx->env, &io, out) < 0)
		return -1;
	*out_ws_port = ws;
	return 0;
}

/* Gateway number k (0 for phases A and B; 1.. the extra ones of phase C),
 * with its own port and config file, on the same InspIRCd and eirc-auth. */
static int start_gateway(fx_t *fx, const char *bdir, int ircd_port, int max, int k, int *out_port,
			 srv_t **out)
{
	char cfg[600], bin[600];
	int port = srv_free_port();
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/gateway/eirc-gateway", bdir);
	if (access(bin, X_OK) < 0) {
		printf("gateway: %s not built: phases B and C skipped\n", bin);
		return 1;
	}
	/* gateway.yaml, gateway2.yaml, ... (%.0d prints nothing for 0) */
	snprintf(cfg, sizeof(cfg), "%s/gateway%.0d.yaml", srv_env_dir(fx->env), k ? k + 1 : 0);
	if (!(f = fopen(cfg, "we")))
		return -1;
	fprintf(f,
		"irc:\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: " GWB_WEBIRC "\n"
		"auth:\n  internal_secret: " FX_SECRET "\n"
		"gateway:\n  listen_address: 127.0.0.1\n  listen_port: %d\n"
		"  allowed_origins: [\"" GWB_ORIGIN "\"]\n"
		"  max_sessions: %d\n  max_sessions_per_ip: %d\n"
		"  irc_client_path: %s/irc-client/eirc-irc-client\n"
		"  auth_internal_url: http://127.0.0.1:%d\n"
		"history:\n  socket_path: null\nlog:\n  level: info\n",
		ircd_port, port, max, max, bdir, fx->iport);
	fclose(f);
	/* irc-clients run as irc_client.sandbox_user: they must read it */
	chmod(srv_env_dir(fx->env), 0755);
	chmod(cfg, 0644);
	char *argv[] = {bin, (char *)"--config", cfg, NULL};
	if (srv_process_start(fx->env, "eirc-gateway", argv, port, "/healthz", out) < 0)
		return -1;
	*out_port = port;
	return 0;
}

/* ---- phases ------------------------------------------------------------- */

struct opts {
	int sessions, rate, seconds, idle, room_size, conc, deadline, rounds;
	int gateways; /* phase C's gateway processes */
	char bdir[512];
	bool poll; /* lws's default poll() loop, not libuv */
};

static void connect_baseline(struct gen *g, struct bench *a, const struct opts *o, int ws_port)
{
	printf("\nA  baseline: %d WebSocket clients straight to InspIRCd's m_websocket "
	       "(text.ircv3.net), rooms of %d\n",
	       o->sessions, o->room_size);
	phase_begin(g, a, o->sessions, false, "a", ws_port);
	phase_connect(a, 30);
	print_setup(a, "upgrade start");
}

static void connect_gateway(struct gen *g, struct bench *b, const struct opts *o, int port,
			    pid_t gw, const char *gw_log)
{
	struct procmem m0, m1;

	printf("\nB  gateway: %d sessions through eirc-gateway (chat token, upgrade, 001, JOIN)\n",
	       o->sessions);
	proc_sample(gw, true, &m0);
	phase_begin(g, b, o->sessions, true, "b", port);
	phase_connect(b, 30);
	print_setup(b, "upgrade start");
	print_log_tail(gw_log, b->failed);
	proc_sample(gw, true, &m1);
	print_mem("held", &m0, &m1, b->ready);
}

/* The same load on both sets, in alternating rounds (A B A B ...), so that
 * whatever else the machine does at the time weighs on both alike. */
/* One round, with the CPU time InspIRCd, the gateway and the irc-clients
 * spent in it. */
/* p99 of the samples v[from..n) (copied, the array keeps its order). */
static double slice_p99(const struct u32v *v, size_t from)
{
	size_t n = v->n - from;
	uint32_t *c = n ? malloc(n * sizeof(*c)) : NULL;
	double r;

	if (!c)
		return 0;
	memcpy(c, v->v + from, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_u32);
	r = pct_ms(c, n, 0.99);
	free(c);
	return r;
}

static void load_round(struct bench *b, const struct opts *o, int seconds)
{
	struct gen *g = b->g;
	struct procmem m0 = {0}, m1 = {0};
	double i0 = cpu_of(g->ircd_pid);
	size_t lat0 = b->ld.lat.n, lag0 = b->ld.lag.n;

	if (g->gw_pid)
		proc_sample(g->gw_pid, false, &m0);
	phase_load(b, o->rate, seconds);
	if (g->gw_pid)
		proc_sample(g->gw_pid, false, &m1);
	b->ld.ircd_cpu_s += cpu_of(g->ircd_pid) - i0;
	b->ld.gw_cpu_s += m1.cpu_s - m0.cpu_s;
	b->ld.kids_cpu_s += m1.kids_cpu_s - m0.kids_cpu_s;
	double p99 = slice_p99(&b->ld.lat, lat0);
	if (b->ld.rounds < GWB_ROUNDS_MAX)
		b->ld.round_p99[b->ld.rounds++] = p99;
	printf("  %-8s round: delivery p99 %6.2f ms, generator send lag p99 %6.2f ms\n",
	       b->via_gateway ? "gateway" : "baseline", p99, slice_p99(&b->ld.lag, lag0));
}

static void run_rounds(struct bench *a, struct bench *b, const struct opts *o)
{
	int per = o->seconds / o->rounds;

	printf("\nload: %d msg/s in total, %d rounds of %d s on each set, alternating "
	       "baseline / gateway\n",
	       o->rate, o->rounds, per);
	for (int r = 0; r < o->rounds; r++) {
		load_round(a, o, per);
		if (b)
			load_round(b, o, per);
	}
}

static void close_gateway_set(struct bench *b, pid_t gw)
{
	struct procmem m;

	phase_close(b);
	bool gone = wait_children_gone(gw, 60, &m);
	printf("  closed all: %s (%ld children left, %ld zombies), gateway fds %ld, "
	       "VmRSS %ld KiB\n",
	       gone ? "every irc-client exited" : "NOT every irc-client exited", m.kids, m.zombies,
	       m.fds, m.rss_kib);
	print_fd_kinds(gw, b->port);
	wait_fds_back(gw, b->g->gw_fds0);
	print_fd_kinds(gw, b->port);
}

static bool all_alive(struct bench *b)
{
	return b->alive >= b->ready - b->lost;
}

/* The gateways of phase C: the one of phases A and B first, then the
 * --gateways - 1 started for it (same InspIRCd, same eirc-auth, each its
 * own port and config); their samples before, while held, after closing. */
struct gwset {
	int n;
	srv_t *srv[GWB_GATEWAYS_MAX];
	int port[GWB_GATEWAYS_MAX];
	long fds0[GWB_GATEWAYS_MAX]; /* descriptors before any session */
	int held[GWB_GATEWAYS_MAX], alive[GWB_GATEWAYS_MAX];
	long hard, cap;              /* gateway 1's hard RLIMIT_NOFILE; sessions it allows */
	bool gone[GWB_GATEWAYS_MAX]; /* every irc-client exited after the close */
	struct procmem m0[GWB_GATEWAYS_MAX], m1[GWB_GATEWAYS_MAX], m2[GWB_GATEWAYS_MAX];
};

static int start_more_gateways(fx_t *fx, const struct opts *o, srv_t *ircd, int max,
			       struct gwset *s)
{
	for (int k = s->n; k < o->gateways; k++) {
		if (start_gateway(fx, o->bdir, srv_port(ircd), max, k, &s->port[k], &s->srv[k]) !=
		    0)
			return -1;
		s->n = k + 1;
		s->fds0[k] = count_fds(srv_pid(s->srv[k]));
	}
	return 0;
}

static double gws_cpu(const struct gwset *s)
{
	double t = 0;

	for (int k = 0; k < s->n; k++)
		t += cpu_of(srv_pid(s->srv[k]));
	return t;
}

/* Why one gateway is not enough: each session costs it GW_FDS_PER_SESSION
 * descriptors, and its hard RLIMIT_NOFILE cannot be raised without
 * CAP_SYS_RESOURCE. */
static void print_nofile(struct gwset *s, const struct opts *o, pid_t ircd)
{
	long cap = -1;

	for (int k = 0; k < s->n; k++) {
		pid_t pid = srv_pid(s->srv[k]);
		long hard = nofile_of(pid, true), fds = s->m0[k].fds;
		long room = hard - fds - GW_FD_RESERVE; /* the gateway's own fd_limit rule */
		long one = room > 0 ? room / GW_FDS_PER_SESSION : 0;
		cap = cap < 0 || one < cap ? one : cap;
		if (!k)
			s->hard = hard;
		printf("  gateway %d (port %d): RLIMIT_NOFILE soft %ld, hard %ld; %ld fds in use "
		       "-> at most %ld sessions under the hard limit (%d fds each: the WebSocket "
		       "and the socketpair to its irc-client; %d reserved)\n",
		       k + 1, s->port[k], nofile_of(pid, false), hard, fds, one, GW_FDS_PER_SESSION,
		       GW_FD_RESERVE);
	}
	s->cap = cap;
	if (cap > 0)
		printf("  %d sessions at <= %ld per gateway need %ld gateway(s); running %d, "
		       "up to %d sessions each (round-robin)\n",
		       o->idle, cap, (o->idle + cap - 1) / cap, s->n, (o->idle + s->n - 1) / s->n);
	printf("  open-file limits (soft/hard): InspIRCd %ld/%ld, this generator %ld/%ld\n",
	       nofile_of(ircd, false), nofile_of(ircd, true), nofile_of(getpid(), false),
	       nofile_of(getpid(), true));
}

/* Session i goes to gateway i mod n: every gateway grows at once, and every
 * set stays open while the others connect. */
static void spread_over(struct bench *b, const struct gwset *s)
{
	b->nports = s->n;
	for (int k = 0; k < s->n; k++)
		b->ports[k] = s->port[k];
	for (int i = 0; i < b->n; i++)
		b->c[i].gw = i % s->n;
}

/* Held (ready, not lost) and answering sessions of each gateway, now. */
static void count_per_gateway(struct bench *b, struct gwset *s)
{
	for (int k = 0; k < s->n; k++)
		s->held[k] = s->alive[k] = 0;
	for (int i = 0; i < b->n; i++) {
		struct conn *c = &b->c[i];
		s->held[c->gw] += c->st == C_READY;
		s->alive[c->gw] += c->alive && c->st == C_READY;
	}
}

/* Asks every held session for a TIME round trip (browser, gateway,
 * irc-client, InspIRCd and back) and waits at most 60 s for the answers. */
static void check_alive(struct bench *b, struct gwset *s)
{
	for (int i = 0; i < b->n; i++)
		if (b->c[i].st == C_READY)
			ctl_push(&b->c[i], "TIME");
	run_until(b, all_alive, now_us() + 60 * 1000000ULL);
	count_per_gateway(b, s);
	printf("  open and answering (TIME round trip through gateway, irc-client, InspIRCd): "
	       "%d of %d held\n",
	       b->alive, b->ready - b->lost);
}

/* Closes every session, then checks each gateway: every irc-client exited
 * (and was reaped), and its descriptors came back. */
static void close_all_gateways(struct bench *b, struct gwset *s)
{
	phase_close(b);
	for (int k = 0; k < s->n; k++)
		s->gone[k] = wait_children_gone(srv_pid(s->srv[k]), 120, &s->m2[k]);
	for (int k = 0; k < s->n; k++) {
		pid_t pid = srv_pid(s->srv[k]);
		struct procmem *m0 = &s->m0[k], *m1 = &s->m1[k], *m2 = &s->m2[k];
		printf("  gateway %d closed all: %s (%ld children left, %ld zombies); fds %ld -> "
		       "%ld -> %ld, VmRSS %ld -> %ld -> %ld KiB\n",
		       k + 1,
		       s->gone[k] ? "every irc-client exited" : "NOT every irc-client exited",
		       m2->kids, m2->zombies, m0->fds, m1->fds, m2->fds, m0->rss_kib, m1->rss_kib,
		       m2->rss_kib);
		print_fd_kinds(pid, s->port[k]);
		wait_fds_back(pid, s->fds0[k]);
		print_fd_kinds(pid, s->port[k]);
	}
}

static void print_c_gateway(struct bench *b, const struct gwset *s, int k)
{
	const struct procmem *m0 = &s->m0[k], *m1 = &s->m1[k];
	struct setup_stats st;
	int held = s->held[k];

	setup_stats(b, k, &st);
	printf("  gateway %d: held %d of %d, answering %d; setup token -> 001 p50 %.0f ms, "
	       "p99 %.0f ms; all ready in %.1f s; after closing %ld children left, %ld zombies\n",
	       k + 1, held, (b->n - k + s->n - 1) / s->n, s->alive[k], st.tok_p50, st.tok_p99,
	       st.span_s, s->m2[k].kids, s->m2[k].zombies);
	printf("  gateway %d: VmRSS %ld -> %ld KiB (%.1f KiB per session), fds %ld -> %ld; PSS "
	       "gateway %ld + %ld irc-clients %ld KiB = %.1f KiB per session\n",
	       k + 1, m0->rss_kib, m1->rss_kib,
	       held ? (double)(m1->rss_kib - m0->rss_kib) / held : 0, m0->fds, m1->fds, m1->pss_kib,
	       m1->kids, m1->kids_pss_kib,
	       held ? (double)(m1->pss_kib + m1->kids_pss_kib) / held : 0);
}

/* Per gateway and in total, in a few lines at the end of phase C. */
static void print_c_summary(struct bench *b, const struct gwset *s)
{
	struct setup_stats st;
	long pss = 0, kids = 0;
	int held = 0, alive = 0;
	bool gone = true;

	printf("\nsummary C: %d idle sessions over %d gateway(s), round-robin; hard "
	       "RLIMIT_NOFILE %ld per process, %d fds per session: at most %ld sessions on one "
	       "gateway\n",
	       b->n, s->n, s->hard, GW_FDS_PER_SESSION, s->cap);
	for (int k = 0; k < s->n; k++) {
		print_c_gateway(b, s, k);
		pss += s->m1[k].pss_kib + s->m1[k].kids_pss_kib;
		kids += s->m1[k].kids;
		held += s->held[k];
		alive += s->alive[k];
		gone = gone && s->gone[k];
	}
	setup_stats(b, -1, &st);
	printf("  total: held %d of %d, answering %d; PSS %ld KiB (%d gateways + %ld irc-clients) "
	       "= %.1f KiB per session; setup token -> 001 p50 %.0f ms, p99 %.0f ms, upgrade -> "
	       "001 p50 %.0f ms, p99 %.0f ms; established in %.1f s (%.0f sessions/s); after "
	       "closing: %s\n",
	       held, b->n, alive, pss, s->n, kids, held ? (double)pss / held : 0, st.tok_p50,
	       st.tok_p99, st.up_p50, st.up_p99, st.span_s, st.span_s > 0 ? held / st.span_s : 0,
	       gone ? "every child of every gateway exited" : "NOT every child exited");
}

static void phase_c(struct gen *g, struct bench *b, const struct opts *o, struct gwset *s,
		    pid_t ircd, pid_t auth)
{
	double c0 = cpu_s(), i0 = cpu_of(ircd), a0 = cpu_of(auth), g0 = gws_cpu(s);

	printf("\nC  idle: %d sessions through %d eirc-gateway process(es), %d setting up at "
	       "once, each in a room of %d\n",
	       o->idle, s->n, o->conc, o->room_size);
	for (int k = 0; k < s->n; k++)
		proc_sample(srv_pid(s->srv[k]), true, &s->m0[k]);
	print_nofile(s, o, ircd);
	phase_begin(g, b, o->idle, true, "c", s->port[0]);
	spread_over(b, s);
	phase_connect(b, 60);
	print_setup(b, "upgrade start");
	printf("  CPU during setup: generator %.1f s, gateways %.1f s, InspIRCd %.1f s, "
	       "eirc-auth %.1f s\n",
	       cpu_s() - c0, gws_cpu(s) - g0, cpu_of(ircd) - i0, cpu_of(auth) - a0);
	run_until(b, never, now_us() + 2000000); /* let everything settle */
	count_per_gateway(b, s);
	for (int k = 0; k < s->n; k++) {
		char what[32];
		proc_sample(srv_pid(s->srv[k]), true, &s->m1[k]);
		snprintf(what, sizeof(what), "gateway %d held", k + 1);
		print_mem(what, &s->m0[k], &s->m1[k], s->held[k]);
	}
	check_alive(b, s);
	for (int k = 0; k < s->n; k++) {
		printf("  gateway %d (port %d):\n", k + 1, s->port[k]);
		print_log_tail(srv_log_path(s->srv[k]), 1);
		print_metrics(s->port[k]);
	}
	close_all_gateways(b, s);
	print_c_summary(b, s);
	phase_end(b);
}

/* Phase C on the gateway of phases A and B plus o->gateways - 1 more,
 * which it stops at the end. */
static int run_idle(fx_t *fx, struct gen *g, struct bench *b, const struct opts *o, srv_t *ircd,
		    int max, srv_t *gw, int gw_port)
{
	struct gwset *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s)
		return -1;
	*s = (struct gwset){.n = 1, .srv = {gw}, .port = {gw_port}, .fds0 = {g->gw_fds0}};
	if (start_more_gateways(fx, o, ircd, max, s) < 0) {
		fprintf(stderr, "gateway_bench: cannot start gateway %d\n", s->n + 1);
		rc = -1;
	} else {
		phase_c(g, b, o, s, srv_pid(ircd), fx->daemon);
	}
	for (int k = 1; k < s->n; k++)
		if (srv_stop(s->srv[k]) < 0)
			printf("gateway %d had exited before SIGTERM\n", k + 1);
	free(s);
	return rc;
}

/* ---- main --------------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "gateway_bench: hard deadline reached, stopping\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static rlim_t raise_nofile(void)
{
	struct rlimit rl = {GWB_NOFILE, GWB_NOFILE};

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) { /* not root: what the hard limit allows */
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"sessions", required_argument, NULL, 'n'},
					   {"rate", required_argument, NULL, 'r'},
					   {"seconds", required_argument, NULL, 's'},
					   {"idle", required_argument, NULL, 'i'},
					   {"room-size", required_argument, NULL, 'm'},
					   {"concurrency", required_argument, NULL, 'c'},
					   {"deadline", required_argument, NULL, 'd'},
					   {"rounds", required_argument, NULL, 'R'},
					   {"gateways", required_argument, NULL, 'g'},
					   {"build-dir", required_argument, NULL, 'b'},
					   {"loop", required_argument, NULL, 'l'},
					   {NULL, 0, NULL, 0}};
	int c;

	*o = (struct opts){1000, 1000, 30, 10000, 10, 64, 900, 6, 1, EIRC_BINARY_DIR, false};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end;
		long v = 0, min = c == 'i' ? 0 : 1;
		if (c == 'b') {
			snprintf(o->bdir, sizeof(o->bdir), "%s", optarg);
			continue;
		}
		if (c == 'l' && (!strcmp(optarg, "poll") || !strcmp(optarg, "uv"))) {
			o->poll = !strcmp(optarg, "poll");
			continue;
		}
		if (c == '?' || c == 'l')
			return -1;
		errno = 0;
		v = strtol(optarg, &end, 10);
		if (errno || *end || v < min || v > GWB_SESSIONS_MAX * 10) {
			fprintf(stderr, "gateway_bench: bad number: %s\n", optarg);
			return -1;
		}
		int *dst[] = {['n'] = &o->sessions, ['r'] = &o->rate,      ['s'] = &o->seconds,
			      ['i'] = &o->idle,     ['m'] = &o->room_size, ['c'] = &o->conc,
			      ['d'] = &o->deadline, ['R'] = &o->rounds,    ['g'] = &o->gateways};
		*dst[c] = (int)v;
	}
	if (o->sessions > GWB_SESSIONS_MAX || o->idle > GWB_SESSIONS_MAX || o->room_size < 2 ||
	    o->rounds > o->seconds || o->rounds > GWB_ROUNDS_MAX ||
	    o->gateways > GWB_GATEWAYS_MAX) {
		fprintf(stderr,
			"gateway_bench: at most %d sessions, rooms of 2 or more, "
			"a round lasts 1 s or more, at most %d gateways\n",
			GWB_SESSIONS_MAX, GWB_GATEWAYS_MAX);
		return -1;
	}
	return 0;
}

/* One client context for every connection. With libuv (the default) lws
 * waits in epoll; its default poll() loop scans every descriptor on each
 * wake-up, which at 1,000 connections and ~10,000 events/s costs a whole
 * core (measured) and would compete with the servers under test. */
static struct lws_context *make_context(struct gen *g)
{
	struct lws_context_creation_info info;
	void *loops[1] = {&g->loop};

	memset(&info, 0, sizeof(info));
	if (g->uv) {
		if (uv_loop_init(&g->loop) < 0)
			return NULL;
		info.options |= LWS_SERVER_OPTION_LIBUV;
		info.foreign_loops = loops;
		info.pcontext = &g->ctx; /* cleared when the context is freed */
	}
	lws_set_log_level(LLL_ERR, NULL);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = gwb_protocols;
	info.user = g;
	info.timeout_secs = 30;
	info.connect_timeout_secs = 20;
	info.max_http_header_pool = 1024;
	info.max_http_header_data = 4096;
	/* send our Origin as given (lws would prefix "http://") */
	info.options |= LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	g->ctx = lws_create_context(&info);
	if (!g->ctx && g->uv)
		uv_loop_close(&g->loop);
	if (g->ctx && g->uv) {
		uv_timer_init(&g->loop, &g->send_timer);
		g->send_timer.data = g;
	}
	return g->ctx;
}

/* With a foreign loop lws 4.1 closes its handles in later iterations and
 * needs a second destroy to free the context (as in auth/auth_http.c). */
static void free_context(struct gen *g)
{
	lws_sul_cancel(&g->tick);
	lws_context_destroy(g->ctx);
	if (!g->uv)
		return;
	uv_close((uv_handle_t *)&g->send_timer, NULL);
	uv_run(&g->loop, UV_RUN_DEFAULT);
	if (g->ctx)
		lws_context_destroy(g->ctx);
	uv_run(&g->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&g->loop) != 0)
		fprintf(stderr, "gateway_bench: a libuv handle was left open\n");
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* The median of a set's per-round p99s: a figure that one noisy round (the
 * machine is shared) does not decide. */
static double median_round_p99(struct load *ld)
{
	double v[GWB_ROUNDS_MAX];
	int n = ld->rounds;

	if (!n)
		return 0;
	memcpy(v, ld->round_p99, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report_phases(const struct opts *o, struct bench *a, struct bench *b)
{
	int secs = o->seconds / o->rounds * o->rounds;
	struct lat_result la, lg = {0};

	printf("\nA  baseline (m_websocket), %d sessions held:\n", a->ready);
	la = print_load(a, secs);
	if (!b)
		return;
	printf("B  gateway, %d sessions held:\n", b->ready);
	lg = print_load(b, secs);
	printf("\nsummary: %d sessions, %d msg/s, %d s each, rooms of %d\n", o->sessions, o->rate,
	       secs, o->room_size);
	printf("  delivery p99: baseline %.2f ms, gateway %.2f ms, ratio %.2f (target <= 2)\n",
	       la.p99, lg.p99, la.p99 > 0 ? lg.p99 / la.p99 : 0);
	double ma = median_round_p99(&a->ld), mg = median_round_p99(&b->ld);
	printf("  median of the per-round p99s: baseline %.2f ms, gateway %.2f ms, ratio %.2f\n",
	       ma, mg, ma > 0 ? mg / ma : 0);
	printf("  delivery p50: baseline %.2f ms, gateway %.2f ms, ratio %.2f\n", la.p50, lg.p50,
	       la.p50 > 0 ? lg.p50 / la.p50 : 0);
}

static int bench_run(const struct opts *o, fx_t *fx, struct gen *g)
{
	srv_t *ircd = NULL, *gw = NULL;
	int ws_port = 0, gw_port = 0, max = o->sessions + o->idle + 100, r, rc = 0;
	struct bench *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	if (!a || !b || make_users(fx, g, o->sessions > o->idle ? o->sessions : o->idle) < 0 ||
	    start_ircd(fx, max, &ws_port, &ircd) < 0)
		return 1;
	r = start_gateway(fx, o->bdir, srv_port(ircd), max, 0, &gw_port, &gw);
	if (r < 0)
		return 1;
	printf("servers: PostgreSQL %d, eirc-auth %d/%d, InspIRCd %d (m_websocket %d), "
	       "eirc-gateway %d\n",
	       srv_port(fx->pg), fx->port, fx->iport, srv_port(ircd), ws_port, gw_port);
	if (!make_context(g))
		return 1;
	g->ircd_pid = srv_pid(ircd);
	g->gw_pid = r == 0 ? srv_pid(gw) : 0;
	g->gw_fds0 = r == 0 ? count_fds(g->gw_pid) : 0;
	lws_sul_schedule(g->ctx, 0, &g->tick, tick_cb, 50 * LWS_US_PER_MS);
	connect_baseline(g, a, o, ws_port);
	if (r == 0)
		connect_gateway(g, b, o, gw_port, srv_pid(gw), srv_log_path(gw));
	run_rounds(a, r == 0 ? b : NULL, o);
	report_phases(o, a, r == 0 ? b : NULL);
	phase_close(a);
	phase_end(a);
	if (r == 0) {
		close_gateway_set(b, srv_pid(gw));
		phase_end(b);
		if (o->idle && run_idle(fx, g, b, o, ircd, max, gw, gw_port) < 0)
			rc = 1;
	}
	free(a);
	free(b);
	free_context(g);
	if (gw && srv_stop(gw) < 0)
		printf("gateway had exited before SIGTERM\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct gen g;
	fx_t fx;
	int rc;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows in a log file too */
	memset(&g, 0, sizeof(g));
	g.room_size = o.room_size;
	g.conc = o.conc;
	g.uv = !o.poll;
	rlim_t nofile = raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm((unsigned)o.deadline);
	setenv("EIRC_BUILD_DIR", o.bdir, 1);
	printf("gateway_bench: %d sessions, %d msg/s for %d s in %d rounds, rooms of %d, %d idle "
	       "over %d gateway(s), RLIMIT_NOFILE %llu, lws on %s, build %s\n",
	       o.sessions, o.rate, o.seconds, o.rounds, o.room_size, o.idle, o.gateways,
	       (unsigned long long)nofile, o.poll ? "poll()" : "libuv", o.bdir);
	if (fx_start(&fx, "  login_attempts_per_ip: 100000\n") < 0) {
		fprintf(stderr, "gateway_bench: cannot start PostgreSQL and eirc-auth\n");
		fx_stop(&fx);
		return 1;
	}
	g.auth_port = fx.port;
	rc = bench_run(&o, &fx, &g);
	if (fx_stop(&fx) != 0)
		rc = 1;
	return rc;
}
