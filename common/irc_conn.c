/*
 * irc_conn: an IRC client connection on libuv (see irc_conn.h). One timer
 * serves every state: the reconnection delay while waiting, the
 * connect+register deadline while connecting, the PING schedule once
 * registered, the QUIT flush deadline while quitting.
 */
#include "common/irc_conn.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/irc_line.h"
#include "common/irc_tls.h"

static char crlf[] = "\r\n";

/* Reads are consumed synchronously, so one buffer serves every stream. */
static char read_buf[IRC_CONN_READ_CHUNK];

struct wreq {
	uv_write_t req;
	irc_conn_t *c;
	size_t len;
	unsigned gen; /* the socket it was queued on */
	char data[];
};

struct irc_conn {
	uv_loop_t *loop;
	irc_conn_opts_t opts;
	irc_conn_cb_t cb;
	void *ud;
	union {
		uv_handle_t h;
		uv_stream_t s;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} io;
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	uv_timer_t timer;
	enum irc_conn_state state;
	bool io_open, io_closing, attempt_pending, freeing, ever_registered;
	bool awaiting_pong, read_paused, reading;
	unsigned handles; /* open libuv handles (timer, io) */
	unsigned server_idx, first_attempts;
	unsigned gen;      /* bumped at each socket close */
	backoff_t backoff; /* reconnection delays */
	uint64_t last_rx, ping_sent;
	size_t queued;
	irc_tls_t *tls;         /* NULL on plain connections */
	irc_tls_t *tls_dropped; /* dropped inside irc_tls_feed: freed after it */
	bool in_tls;            /* irc_tls_feed() is on the stack */
	irc_reg_t reg;
	irc_line_t lf;
	struct sockaddr_storage addrs[]; /* one per server (TCP ones used) */
};

static void conn_attempt(irc_conn_t *c);
static void conn_fail(irc_conn_t *c, int err, const char *why, bool fatal);

static void maybe_free(irc_conn_t *c)
{
	if (c->freeing && c->handles == 0) {
		irc_tls_free(c->tls);
		irc_tls_free(c->tls_dropped);
		free(c);
	}
}

static void on_handle_close(uv_handle_t *h)
{
	irc_conn_t *c = h->data;

	c->handles--;
	if (h == &c->io.h) {
		c->io_open = c->io_closing = false;
		if (c->attempt_pending && !c->freeing) {
			c->attempt_pending = false;
			conn_attempt(c);
		}
	}
	maybe_free(c);
}

static void io_close(irc_conn_t *c)
{
	if (!c->io_open || c->io_closing)
		return;
	c->io_closing = true;
	c->reading = false;
	c->gen++;
	uv_close(&c->io.h, on_handle_close);
}

static void timer_arm(irc_conn_t *c, uint64_t ms);

static int resolve(const irc_conn_server_t *s, struct sockaddr_storage *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];

	if (s->port <= 0 || s->port > 65535)
		return -EINVAL;
	snprintf(port, sizeof(port), "%d", s->port);
	if (getaddrinfo(s->host, port, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int check_opts(const irc_conn_opts_t *o)
{
	if (!o->servers || o->n_servers == 0 || o->n_servers > IRC_CONN_SERVERS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < o->n_servers; i++) {
		const irc_conn_server_t *s = &o->servers[i];
		if (!s->unix_path == !s->host)
			return -EINVAL;
		if (s->unix_path &&
		    strlen(s->unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -EINVAL;
	}
	return 0;
}

/* Loads OpenSSL and the CA certificates now, before any sandbox: only
 * when a TLS server is configured (plain sessions never map libssl). */
static int tls_prepare(const irc_conn_opts_t *o)
{
	for (size_t i = 0; i < o->n_servers; i++) {
		const irc_conn_server_t *s = &o->servers[i];
		if (!s->tls)
			continue;
		if (!s->host)
			return -EINVAL;
		int err = irc_tls_prepare(s->tls_ca_file, s->tls_verify);
		if (err < 0)
			return err;
	}
	return 0;
}

int irc_conn_new(uv_loop_t *loop, const irc_conn_opts_t *opts, const irc_conn_cb_t *cb, void *ud,
		 irc_conn_t **out_conn)
{
	irc_reg_t probe;
	int err = check_opts(opts);

	if (err == 0)
		err = irc_reg_init(&probe, &opts->reg, NULL, NULL);
	if (err == 0)
		err = tls_prepare(opts);
	if (err < 0)
		return err;
	irc_conn_t *c = calloc(1, sizeof(*c) + opts->n_servers * sizeof(c->addrs[0]));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < opts->n_servers && err == 0; i++)
		if (opts->servers[i].host)
			err = resolve(&opts->servers[i], &c->addrs[i]);
	if (err < 0) {
		free(c);
		return err;
	}
	c->loop = loop;
	c->opts = *opts;
	c->cb = *cb;
	c->ud = ud;
	backoff_init(
		&c->backoff, opts->reconnect_min_ms, opts->reconnect_max_ms,
		((uint32_t)getpid() ^ (uint32_t)(clock_wall_ms() / 1000) ^ (uint32_t)(uintptr_t)c) |
			1);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->handles = 1;
	c->state = IRC_CONN_WAITING;
	*out_conn = c;
	return 0;
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	irc_conn_t *c = w->c;

	bool current = w->gen == c->gen;

	if (current)
		c->queued -= w->len;
	free(w);
	if (!current)
		return;
	if (status < 0 && status != UV_ECANCELED && c->state != IRC_CONN_QUITTING) {
		conn_fail(c, status, "write to the IRC server failed", false);
		return;
	}
	if (c->queued == 0 && status == 0 && c->cb.on_drain && !c->freeing)
		c->cb.on_drain(c->ud);
}

/* Writes bytes to the socket: directly when nothing is queued, the rest
 * copied into a write request. */
static int raw_write(irc_conn_t *c, const uv_buf_t *bufs, unsigned n)
{
	size_t total = 0, done = 0;

	if (!c->io_open || c->io_closing)
		return -ENOTCONN;
	for (unsigned i = 0; i < n; i++)
		total += bufs[i].len;
	if (c->queued == 0) {
		int r = uv_try_write(&c->io.s, bufs, n);
		if (r >= 0)
			done = (size_t)r;
		else if (r != UV_EAGAIN)
			return r;
	}
	if (done == total)
		return 0;
	struct wreq *w = malloc(sizeof(*w) + total - done);
	if (!w)
		return -ENOMEM;
	w->c = c;
	w->len = 0;
	w->gen = c->gen;
	for (unsigned i = 0; i < n; i++) {
		size_t skip = done > bufs[i].len ? bufs[i].len : done;
		done -= skip;
		memcpy(w->data + w->len, bufs[i].base + skip, bufs[i].len - skip);
		w->len += bufs[i].len - skip;
	}
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	int r = uv_write(&w->req, &c->io.s, &b, 1, on_write);
	if (r < 0) {
		free(w);
		return r;
	}
	c->queued += w->len;
	return 0;
}

/* Ciphertext the TLS engine wants on the wire. */
static int tls_flush(void *ud, const char *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);

	return raw_write(ud, &b, 1);
}

static int conn_write(irc_conn_t *c, const uv_buf_t *bufs, unsigned n)
{
	if (!c->tls)
		return raw_write(c, bufs, n);
	for (unsigned i = 0; i < n; i++) {
		int r = irc_tls_write(c->tls, bufs[i].base, bufs[i].len);
		if (r < 0)
			return r;
	}
	return 0;
}

int irc_conn_send(irc_conn_t *c, const char *line, size_t len)
{
	if (c->state != IRC_CONN_REGISTERING && c->state != IRC_CONN_REGISTERED)
		return -ENOTCONN;
	if (len > IRC_LINE_MAX - 2)
		return -EMSGSIZE;
	if (memchr(line, '\r', len) || memchr(line, '\n', len) || memchr(line, '\0', len))
		return -EINVAL;
	uv_buf_t b[2] = {uv_buf_init((char *)line, (unsigned)len), uv_buf_init(crlf, 2)};
	return conn_write(c, b, 2);
}

static int reg_send(void *ud, const char *line, size_t len)
{
	return irc_conn_send(ud, line, len);
}

size_t irc_conn_queued(const irc_conn_t *c)
{
	return c->queued;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(read_buf, sizeof(read_buf));
}

static void handle_msg(irc_conn_t *c, const irc_msg_t *m)
{
	unsigned gen = c->gen;
	int r = irc_reg_handle(&c->reg, m);

	if (r == -EADDRINUSE || r == -EINVAL) {
		conn_fail(c, r,
			  r == -EINVAL ? "the IRC server refused the nick"
				       : "the nick is already in use",
			  true);
		return;
	}
	if (r == -ECONNRESET && m->n_params > 0) {
		char why[256];
		snprintf(why, sizeof(why), "the IRC server said: %.*s",
			 (int)m->params[m->n_params - 1].len, m->params[m->n_params - 1].ptr);
		conn_fail(c, r, why, false);
		return;
	}
	if (r < 0) {
		conn_fail(c, r, "registration failed", false);
		return;
	}
	if (r == IRC_REG_REGISTERED) {
		c->state = IRC_CONN_REGISTERED;
		c->ever_registered = true;
		backoff_reset(&c->backoff);
		timer_arm(c, c->opts.ping_interval_ms);
		if (c->cb.on_registered)
			c->cb.on_registered(c->ud);
		if (c->freeing || gen != c->gen)
			return;
	}
	c->cb.on_msg(c->ud, m);
}

/* Tells the owner about a line the framer or the parser refused. The
 * excerpt skips a tags section (server tags such as time and msgid would
 * fill it) so that it shows who sent what: the source and command. */
static void bad_line(irc_conn_t *c, int err, const char *start, size_t len)
{
	const char *sp = len > 0 && start[0] == '@' ? memchr(start, ' ', len) : NULL;

	if (!c->cb.on_bad_line)
		return;
	for (; sp && sp < start + len && *sp == ' '; sp++)
		;
	if (sp && sp < start + len) {
		len -= (size_t)(sp - start);
		start = sp;
	}
	c->cb.on_bad_line(c->ud, err, start,
			  len < IRC_CONN_EXCERPT_MAX ? len : IRC_CONN_EXCERPT_MAX);
}

/* Takes the next line out of the framer and hands it on: to handle_msg,
 * or to bad_line when it cannot be framed or parsed. Returns
 * IRC_MSG_EAGAIN when the framer needs more bytes. */
static int next_line(irc_conn_t *c)
{
	/* The framer drops a bad line without overwriting it: its bytes stay
	 * in lf.buf from the old start until the next irc_line_feed(), which
	 * is what the excerpt shows (bounded by what the buffer holds). */
	size_t start = c->lf.start, held = c->lf.len - c->lf.start;
	char *line;
	size_t n;
	irc_msg_t m;
	int r = irc_line_next(&c->lf, &line, &n);

	if (r == IRC_MSG_EAGAIN)
		return r;
	if (r < 0) {
		size_t cut = r == IRC_MSG_EMALFORMED ? c->lf.start - start - 1 : held;
		if (r == IRC_MSG_EMALFORMED && cut > 0 && c->lf.buf[start + cut - 1] == '\r')
			cut--; /* the terminator is not part of the line */
		bad_line(c, r, c->lf.buf + start, cut);
		return 0;
	}
	r = irc_msg_parse(line, n, 0, &m);
	if (r == 0)
		handle_msg(c, &m);
	else
		bad_line(c, r, line, n); /* irc_msg_parse left line untouched */
	return 0;
}

/* Frames and handles plaintext; stops as soon as the connection it came
 * from is closed or freed by a callback. */
static void feed_plain(irc_conn_t *c, const char *data, size_t len)
{
	unsigned gen = c->gen;
	size_t off = 0;

	while (off < len && !c->freeing && gen == c->gen) {
		off += irc_line_feed(&c->lf, data + off, len - off);
		while (!c->freeing && gen == c->gen && next_line(c) != IRC_MSG_EAGAIN)
			;
	}
}

/* Callbacks from inside irc_tls_feed() stop it (-ECANCELED) once the
 * connection they came from is gone. */
static int tls_plain(void *ud, const char *data, size_t len)
{
	irc_conn_t *c = ud;
	unsigned gen = c->gen;

	feed_plain(c, data, len);
	return c->freeing || gen != c->gen ? -ECANCELED : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	irc_conn_t *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->state == IRC_CONN_QUITTING)
			io_close(c);
		else
			conn_fail(c, (int)nread,
				  nread == UV_EOF ? "the IRC server closed the connection"
						  : uv_strerror((int)nread),
				  false);
		return;
	}
	c->last_rx = uv_now(c->loop);
	c->awaiting_pong = false;
	if (!c->tls) {
		feed_plain(c, buf->base, (size_t)nread);
		return;
	}
	unsigned gen = c->gen;
	c->in_tls = true;
	int r = irc_tls_feed(c->tls, buf->base, (size_t)nread);
	c->in_tls = false;
	if (c->tls_dropped) {
		irc_tls_free(c->tls_dropped);
		c->tls_dropped = NULL;
	}
	if (r < 0 && !c->freeing && gen == c->gen) {
		char why[192]; /* the text lives in c->tls, which conn_fail frees */
		snprintf(why, sizeof(why), "%s", irc_tls_error(c->tls));
		/* A refused certificate is fatal: retrying cannot fix it. */
		conn_fail(c, r, why, r == -EPERM);
	}
}

static void read_update(irc_conn_t *c)
{
	bool want = c->io_open && !c->io_closing && !c->read_paused &&
		    (c->state == IRC_CONN_REGISTERING || c->state == IRC_CONN_REGISTERED ||
		     c->state == IRC_CONN_QUITTING);

	if (want && !c->reading && uv_read_start(&c->io.s, on_alloc, on_read) == 0)
		c->reading = true;
	else if (!want && c->reading && c->io_open && !c->io_closing) {
		uv_read_stop(&c->io.s);
		c->reading = false;
	}
}

void irc_conn_read_pause(irc_conn_t *c, bool paused)
{
	c->read_paused = paused;
	read_update(c);
}

/* ---- connection life ---- */

static void on_timer(uv_timer_t *t);

static void timer_arm(irc_conn_t *c, uint64_t ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* TLS handshake done, or a plain socket connected: register. */
static void conn_register(irc_conn_t *c)
{
	int err = irc_reg_start(&c->reg);

	if (err < 0)
		conn_fail(c, err, "could not send the registration", false);
}

static int tls_ready(void *ud)
{
	irc_conn_t *c = ud;
	unsigned gen = c->gen;

	conn_register(c);
	return c->freeing || gen != c->gen ? -ECANCELED : 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	irc_conn_t *c = req->data;
	const irc_conn_server_t *s = &c->opts.servers[c->server_idx];

	if (status == UV_ECANCELED || c->freeing)
		return;
	if (status < 0) {
		conn_fail(c, status, uv_strerror(status), false);
		return;
	}
	irc_line_init(&c->lf, 0);
	irc_reg_init(&c->reg, &c->opts.reg, reg_send, c);
	c->state = IRC_CONN_REGISTERING;
	c->last_rx = uv_now(c->loop);
	read_update(c);
	if (!s->tls) {
		conn_register(c);
		return;
	}
	irc_tls_io_t io = {tls_flush, tls_plain, tls_ready, c};
	int err = irc_tls_start(&c->tls, s->host, s->tls_verify, s->tls_ca_file, &io);
	if (err < 0)
		conn_fail(c, err, err == -ENOMEM ? "out of memory for TLS" : "TLS set-up failed",
			  false);
}

static void conn_attempt(irc_conn_t *c)
{
	const irc_conn_server_t *s = &c->opts.servers[c->server_idx];
	int err;

	if (c->io_open) { /* the previous socket is still closing */
		c->attempt_pending = true;
		return;
	}
	c->state = IRC_CONN_CONNECTING;
	c->awaiting_pong = false;
	c->connect_req.data = c;
	if (s->unix_path) {
		uv_pipe_init(c->loop, &c->io.pipe, 0);
		uv_pipe_connect(&c->connect_req, &c->io.pipe, s->unix_path, on_connect);
		err = 0;
	} else {
		uv_tcp_init(c->loop, &c->io.tcp);
		uv_tcp_nodelay(&c->io.tcp, 1);
		err = uv_tcp_connect(&c->connect_req, &c->io.tcp,
				     (const struct sockaddr *)&c->addrs[c->server_idx], on_connect);
	}
	c->io.h.data = c;
	c->io_open = true;
	c->handles++;
	timer_arm(c, c->opts.connect_timeout_ms);
	if (err < 0)
		conn_fail(c, err, uv_strerror(err), false);
}

static void quit_done(irc_conn_t *c, int err);

static void conn_fail(irc_conn_t *c, int err, const char *why, bool fatal)
{
	uint64_t delay = 0;

	/* We asked to leave (QUIT sent, maybe mid-registration): whatever ends
	 * the connection now, an ERROR line or a reset, ends the quit; it must
	 * never turn into a reconnection of a session that is over. */
	if (c->state == IRC_CONN_QUITTING) {
		quit_done(c, 0);
		return;
	}
	io_close(c);
	if (c->tls && c->in_tls)
		c->tls_dropped = c->tls; /* still on the stack: freed by on_read */
	else
		irc_tls_free(c->tls);
	c->tls = NULL;
	c->queued = 0;
	c->server_idx = (c->server_idx + 1) % (unsigned)c->opts.n_servers;
	if (!c->ever_registered && c->opts.first_attempts_max &&
	    ++c->first_attempts >= c->opts.first_attempts_max)
		fatal = true;
	if (fatal) {
		c->state = IRC_CONN_STOPPED;
		uv_timer_stop(&c->timer);
	} else {
		delay = backoff_next(&c->backoff);
		c->state = IRC_CONN_WAITING;
		timer_arm(c, delay);
	}
	c->cb.on_down(c->ud, err, why, delay);
}

static void ping_check(irc_conn_t *c)
{
	uint64_t now = uv_now(c->loop);

	if (c->awaiting_pong) {
		if (now - c->ping_sent >= c->opts.ping_timeout_ms) {
			conn_fail(c, -ETIMEDOUT, "the IRC server stopped answering (PING timeout)",
				  false);
			return;
		}
		timer_arm(c, c->ping_sent + c->opts.ping_timeout_ms - now);
		return;
	}
	if (now - c->last_rx >= c->opts.ping_interval_ms) {
		irc_conn_send(c, "PING :eirc", 10);
		c->awaiting_pong = true;
		c->ping_sent = now;
		timer_arm(c, c->opts.ping_timeout_ms);
		return;
	}
	timer_arm(c, c->last_rx + c->opts.ping_interval_ms - now);
}

static void quit_done(irc_conn_t *c, int err)
{
	if (c->state != IRC_CONN_QUITTING)
		return;
	c->state = IRC_CONN_STOPPED;
	uv_timer_stop(&c->timer);
	io_close(c);
	if (c->cb.on_quit)
		c->cb.on_quit(c->ud, err);
}

static void on_timer(uv_timer_t *t)
{
	irc_conn_t *c = t->data;

	switch (c->state) {
	case IRC_CONN_WAITING:
		conn_attempt(c);
		break;
	case IRC_CONN_CONNECTING:
	case IRC_CONN_REGISTERING:
		conn_fail(c, -ETIMEDOUT, "timed out connecting to the IRC server", false);
		break;
	case IRC_CONN_REGISTERED:
		ping_check(c);
		break;
	case IRC_CONN_QUITTING:
		quit_done(c, c->queued ? -ETIMEDOUT : 0);
		break;
	case IRC_CONN_STOPPED:
		break;
	}
}

void irc_conn_start(irc_conn_t *c)
{
	if (c->state == IRC_CONN_WAITING && !c->io_open)
		conn_attempt(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	irc_conn_t *c = req->data;

	if (status != UV_ECANCELED)
		quit_done(c, status);
}

void irc_conn_quit(irc_conn_t *c, const char *reason)
{
	char line[IRC_MSG_MAX];
	bool connected = c->state == IRC_CONN_REGISTERED || c->state == IRC_CONN_REGISTERING;

	if (c->state == IRC_CONN_QUITTING || c->state == IRC_CONN_STOPPED || c->freeing)
		return;
	if (connected) {
		int n = snprintf(line, sizeof(line), "QUIT :%s", reason ? reason : "");
		if (n > 0 && (size_t)n < sizeof(line) - 2)
			irc_conn_send(c, line, (size_t)n);
	}
	c->state = IRC_CONN_QUITTING;
	c->shutdown_req.data = c;
	if (connected && !c->tls && uv_shutdown(&c->shutdown_req, &c->io.s, on_shutdown) == 0) {
		timer_arm(c, IRC_CONN_QUIT_FLUSH_MS);
		return;
	}
	if (connected && c->tls) { /* let the write queue drain, then close */
		timer_arm(c, c->queued ? IRC_CONN_QUIT_FLUSH_MS : 0);
		return;
	}
	io_close(c);
	timer_arm(c, 0); /* on_quit from the loop, never from inside this call */
}

const irc_reg_t *irc_conn_reg(const irc_conn_t *c)
{
	return &c->reg;
}

enum irc_conn_state irc_conn_state(const irc_conn_t *c)
{
	return c->state;
}

void irc_conn_free(irc_conn_t *c)
{
	if (!c || c->freeing)
		return;
	c->freeing = true;
	io_close(c);
	uv_close((uv_handle_t *)&c->timer, on_handle_close);
}
