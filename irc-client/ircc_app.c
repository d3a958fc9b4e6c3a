/*
 * ircc_app: the libuv side of an irc-client session (see ircc_app.h).
 */
#include "irc-client/ircc_app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "common/irc_conn.h"
#include "common/irc_line.h"
#include "common/log.h"
#include "irc-client/ircc_session.h"

/* Bytes of history requests held while the bridge socket connects: room
 * for two of the longest lines (a TARGETS request carries the user's
 * channel list, up to 4000 bytes of tags). */
#define IRCC_HIST_OUT_MAX (2 * (IRC_LINE_MAX + 2))
/* Bytes of browser lines gathered before they must be written: the lines
 * one loop iteration produces (a history batch, what one read from the
 * server held) go out in one write instead of one write per line, which
 * woke the gateway once per line. Past this they are written at once. */
#define IRCC_BROWSER_CORK_MAX 65536
/* First allocation of the gathering buffer (grows by doubling). */
#define IRCC_BROWSER_CORK_MIN 16384

struct bwreq {
	uv_write_t req;
	ircc_app_t *app;
	size_t len, cap;
	char data[];
};

struct ircc_app {
	uv_loop_t *loop;
	const eirc_config_t *cfg;
	const ircc_ident_t *id;
	irc_conn_t *conn;
	ircc_session_t *sess;
	uv_pipe_t browser;
	uv_timer_t grace, hist_timer;
	uv_prepare_t flusher; /* writes the gathered lines before the loop waits */
	uv_pipe_t hist;
	uv_connect_t hist_connect;
	bool browser_open, browser_reading, browser_eof, hist_open, hist_ready, ending;
	int exit_code;
	char quit_reason[IRC_MSG_MAX];
	size_t bqueued;     /* bytes in libuv write requests */
	struct bwreq *cork; /* lines gathered, not yet written (NULL: none) */
	char *hist_out;     /* requests waiting for the connect */
	size_t hist_out_len;
	char hello[IRCC_HELLO_MAX + 3]; /* the connection's first line, CRLF, NUL */
	size_t hello_len;
	irc_line_t *hist_lf; /* allocated on first use */
	irc_line_t bframe;
	irc_conn_server_t servers[];
};

/* Shared read buffer: reads are consumed synchronously. */
static char rbuf[IRC_CONN_READ_CHUNK];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void app_end(ircc_app_t *a, int code, const char *why);
static void flow_update(ircc_app_t *a);

/* ---- browser side ---- */

static void on_bwrite(uv_write_t *req, int status)
{
	struct bwreq *w = (struct bwreq *)req;
	ircc_app_t *a = w->app;

	a->bqueued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !a->ending)
		app_end(a, 0, NULL); /* the gateway went away */
	else
		flow_update(a);
}

static size_t corked(const ircc_app_t *a)
{
	return a->cork ? a->cork->len : 0;
}

/* Writes the gathered lines: what the socket takes now, the rest in one
 * write request (bqueued). Returns 0 or a negative errno; the lines are
 * dropped on error, as a failed write of one line dropped it before. */
static int browser_flush(ircc_app_t *a)
{
	struct bwreq *w = a->cork;
	size_t done = 0;

	if (!w)
		return 0;
	a->cork = NULL;
	uv_prepare_stop(&a->flusher);
	if (!a->browser_open || a->browser_eof) {
		free(w);
		return -ENOTCONN;
	}
	if (a->bqueued == 0) {
		uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
		int r = uv_try_write((uv_stream_t *)&a->browser, &b, 1);
		if (r >= 0)
			done = (size_t)r;
		else if (r != UV_EAGAIN) {
			free(w);
			return r;
		}
	}
	if (done == w->len) {
		free(w);
		return 0;
	}
	memmove(w->data, w->data + done, w->len - done);
	w->len -= done;
	uv_buf_t wb = uv_buf_init(w->data, (unsigned)w->len);
	int r = uv_write(&w->req, (uv_stream_t *)&a->browser, &wb, 1, on_bwrite);
	if (r < 0) {
		free(w);
		return r;
	}
	a->bqueued += w->len;
	return 0;
}

static void on_flusher(uv_prepare_t *p)
{
	ircc_app_t *a = p->data;

	browser_flush(a);
	flow_update(a);
}

/* Makes room for need more bytes in the gathering buffer: grows it, or
 * writes what it holds when it would pass IRCC_BROWSER_CORK_MAX. */
static int cork_reserve(ircc_app_t *a, size_t need)
{
	struct bwreq *w = a->cork;

	if (w && w->len + need > IRCC_BROWSER_CORK_MAX) {
		int r = browser_flush(a);
		if (r < 0)
			return r;
		w = NULL;
	}
	if (w && w->len + need <= w->cap)
		return 0;
	size_t cap = w ? w->cap * 2 : IRCC_BROWSER_CORK_MIN;
	while (cap < (w ? w->len : 0) + need)
		cap *= 2;
	struct bwreq *n = realloc(w, sizeof(*n) + cap);
	if (!n)
		return -ENOMEM;
	if (!w) {
		n->app = a;
		n->len = 0;
		uv_prepare_start(&a->flusher, on_flusher);
	}
	n->cap = cap;
	a->cork = n;
	return 0;
}

/* Gathers the line (CRLF added); the prepare handle writes everything
 * gathered before the loop next waits for events. */
static int to_browser(void *ud, const char *line, size_t len)
{
	ircc_app_t *a = ud;

	if (!a->browser_open || a->browser_eof)
		return -ENOTCONN;
	int r = cork_reserve(a, len + 2);
	if (r < 0)
		return r;
	memcpy(a->cork->data + a->cork->len, line, len);
	memcpy(a->cork->data + a->cork->len + len, "\r\n", 2);
	a->cork->len += len + 2;
	return 0;
}

static void browser_lines(ircc_app_t *a)
{
	for (;;) {
		char *line;
		size_t len;
		int r = irc_line_next(&a->bframe, &line, &len);
		if (r == IRC_MSG_EAGAIN || a->ending)
			return;
		if (r == 0)
			ircc_session_browser_line(a->sess, line, len);
		else
			ircc_session_browser_bad_line(a->sess, r);
	}
}

static void on_bread(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ircc_app_t *a = s->data;

	if (nread < 0) {
		a->browser_eof = true;
		app_end(a, 0, NULL);
		return;
	}
	for (size_t off = 0; off < (size_t)nread && !a->ending;) {
		off += irc_line_feed(&a->bframe, buf->base + off, (size_t)nread - off);
		browser_lines(a);
	}
	flow_update(a);
}

/* Pauses whichever side's destination queue is over its limit. */
static void flow_update(ircc_app_t *a)
{
	if (a->ending)
		return;
	bool up_full = irc_conn_queued(a->conn) >= a->cfg->irc_client.upstream_queue_max;
	bool b_full = a->bqueued + corked(a) >= a->cfg->irc_client.browser_queue_max;
	/* b_full too: answers the browser asks for itself (CHATHISTORY, FAIL
	 * replies) must not pile up for a browser that sends but never reads. */
	bool read_b = !up_full && !b_full && a->browser_open && !a->browser_eof;

	if (read_b && !a->browser_reading)
		a->browser_reading =
			uv_read_start((uv_stream_t *)&a->browser, on_alloc, on_bread) == 0;
	else if (!read_b && a->browser_reading) {
		uv_read_stop((uv_stream_t *)&a->browser);
		a->browser_reading = false;
	}
	irc_conn_read_pause(a->conn, b_full || !ircc_session_server_readable(a->sess));
}

/* ---- IRC server side ---- */

static int to_server(void *ud, const char *line, size_t len)
{
	ircc_app_t *a = ud;

	if (irc_conn_state(a->conn) != IRC_CONN_REGISTERED)
		return -ENOTCONN;
	return irc_conn_send(a->conn, line, len);
}

static void on_grace(uv_timer_t *t)
{
	ircc_app_t *a = t->data;
	uint64_t next = ircc_session_browser_grace(a->sess);

	if (next)
		uv_timer_start(&a->grace, on_grace, next, 0);
	flow_update(a);
}

static void on_msg(void *ud, const irc_msg_t *m)
{
	ircc_app_t *a = ud;

	ircc_session_server_msg(a->sess, irc_conn_reg(a->conn), m);
	flow_update(a);
}

static void on_registered(void *ud)
{
	ircc_app_t *a = ud;
	uint64_t grace = ircc_session_server_registered(a->sess, irc_conn_reg(a->conn));

	if (grace)
		uv_timer_start(&a->grace, on_grace, grace, 0);
}

static void on_down(void *ud, int err, const char *why, uint64_t retry_ms)
{
	ircc_app_t *a = ud;

	ircc_session_server_down(a->sess, why, retry_ms);
	if (retry_ms == 0) {
		app_end(a, 1, why);
		return;
	}
	log_warn("IRC server connection lost (%s: %s), reconnecting in %llu ms", why,
		 uv_strerror(err), (unsigned long long)retry_ms);
}

static void on_drain(void *ud)
{
	flow_update(ud);
}

static void on_quit(void *ud, int err)
{
	ircc_app_t *a = ud;

	(void)err;
	app_end(a, a->exit_code, NULL);
}

/* A line from the server irc_conn could not frame or parse: it is not
 * relayed (the user's client could not parse it either); noted at debug
 * level only, as before, since the session has nothing to do about it. */
static void on_bad_line(void *ud, int err, const char *excerpt, size_t len)
{
	(void)ud;
	log_debug("Dropped a line from the IRC server (%s): %.*s", irc_msg_strerror(err), (int)len,
		  excerpt);
}

/* ---- history bridge ---- */

static void hist_timer_update(ircc_app_t *a);

static void on_hist_closed(uv_handle_t *h)
{
	ircc_app_t *a = h->data;

	a->hist_open = false;
}

static void hist_close(ircc_app_t *a, const char *why)
{
	if (a->hist_open && !uv_is_closing((uv_handle_t *)&a->hist))
		uv_close((uv_handle_t *)&a->hist, on_hist_closed);
	a->hist_ready = false;
	free(a->hist_out);
	a->hist_out = NULL;
	a->hist_out_len = 0;
	if (why)
		ircc_session_history_down(a->sess, why);
	hist_timer_update(a);
}

static void on_hist_write(uv_write_t *req, int status)
{
	(void)status; /* a failed write shows up as a read error */
	free(req);
}

/* Writes what the socket takes now; only the rest is copied into a
 * write request (an error is left to uv_write, which reports it as
 * before: a failed write shows up as a read error). */
/* Writes data then tail (either may be empty) to the bridge: at once when
 * the socket takes it, the rest copied into one write request. */
static int hist_write2(ircc_app_t *a, const char *data, size_t len, const char *tail,
		       size_t tail_len)
{
	if (uv_stream_get_write_queue_size((uv_stream_t *)&a->hist) == 0) {
		uv_buf_t now[2] = {uv_buf_init((char *)data, (unsigned)len),
				   uv_buf_init((char *)tail, (unsigned)tail_len)};
		int r = uv_try_write((uv_stream_t *)&a->hist, now, 2);
		size_t done = r > 0 ? (size_t)r : 0, d = done < len ? done : len;
		data += d;
		len -= d;
		tail += done - d;
		tail_len -= done - d;
		if (len + tail_len == 0)
			return 0;
	}
	uv_write_t *w = malloc(sizeof(*w) + len + tail_len);

	if (!w)
		return -ENOMEM;
	memcpy(w + 1, data, len);
	memcpy((char *)(w + 1) + len, tail, tail_len);
	uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)(len + tail_len));
	int r = uv_write(w, (uv_stream_t *)&a->hist, &b, 1, on_hist_write);
	if (r < 0)
		free(w);
	return r;
}

static void on_hist_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ircc_app_t *a = s->data;

	if (nread < 0) {
		hist_close(a, "the history service closed the connection");
		return;
	}
	for (size_t off = 0; off < (size_t)nread && a->hist_ready;) {
		off += irc_line_feed(a->hist_lf, buf->base + off, (size_t)nread - off);
		char *line;
		size_t len;
		int r;
		while (a->hist_ready &&
		       (r = irc_line_next(a->hist_lf, &line, &len)) != IRC_MSG_EAGAIN) {
			if (r < 0 || ircc_session_history_line(a->sess, line, len)) {
				hist_close(a, "the history service broke the protocol");
				return;
			}
		}
	}
	hist_timer_update(a);
}

static void on_hist_connect(uv_connect_t *req, int status)
{
	ircc_app_t *a = req->data;

	if (status == UV_ECANCELED)
		return;
	if (status < 0) {
		hist_close(a, "the history service cannot be reached");
		return;
	}
	if (!a->hist_lf && !(a->hist_lf = malloc(sizeof(*a->hist_lf)))) {
		hist_close(a, "out of memory");
		return;
	}
	irc_line_init(a->hist_lf, 0);
	a->hist_ready = true;
	if (hist_write2(a, a->hello, a->hello_len, a->hist_out, a->hist_out_len) < 0 ||
	    uv_read_start((uv_stream_t *)&a->hist, on_alloc, on_hist_read) < 0) {
		hist_close(a, "the history service cannot be reached");
		return;
	}
	free(a->hist_out);
	a->hist_out = NULL;
	a->hist_out_len = 0;
}

static int to_history(void *ud, const char *line, size_t len)
{
	ircc_app_t *a = ud;
	const char *path = a->cfg->history.socket_path;

	if (!path)
		return -ENOENT;
	if (a->hist_open && !a->hist_ready && uv_is_closing((uv_handle_t *)&a->hist))
		return -EAGAIN;
	if (a->hist_ready) /* connected: no copy, CRLF as a second buffer */
		return hist_write2(a, line, len, "\r\n", 2);
	if (!a->hist_open) { /* a new connection: EIRC HELLO first */
		int n = ircc_session_history_hello(a->sess, a->hello, sizeof(a->hello) - 2);
		if (n < 0)
			return -EACCES; /* no ticket from the gateway: refused anyway */
		memcpy(a->hello + n, "\r\n", 2);
		a->hello_len = (size_t)n + 2;
	}
	if (a->hist_out_len + len + 2 > IRCC_HIST_OUT_MAX)
		return -ENOBUFS;
	if (!a->hist_out && !(a->hist_out = malloc(IRCC_HIST_OUT_MAX)))
		return -ENOMEM;
	memcpy(a->hist_out + a->hist_out_len, line, len);
	memcpy(a->hist_out + a->hist_out_len + len, "\r\n", 2);
	a->hist_out_len += len + 2;
	if (!a->hist_open) {
		uv_pipe_init(a->loop, &a->hist, 0);
		a->hist.data = a;
		a->hist_open = true;
		a->hist_connect.data = a;
		uv_pipe_connect(&a->hist_connect, &a->hist, path, on_hist_connect);
	}
	return 0;
}

static void on_hist_timer(uv_timer_t *t)
{
	ircc_app_t *a = t->data;
	uint64_t oldest;

	if (ircc_session_history_pending(a->sess, &oldest) &&
	    uv_now(a->loop) - oldest >= a->cfg->history.request_timeout)
		hist_close(a, "the history service did not answer in time");
	else
		hist_timer_update(a);
}

static void hist_timer_update(ircc_app_t *a)
{
	uint64_t oldest, now = uv_now(a->loop), to = a->cfg->history.request_timeout;

	if (!ircc_session_history_pending(a->sess, &oldest) || a->ending) {
		uv_timer_stop(&a->hist_timer);
		return;
	}
	uv_timer_start(&a->hist_timer, on_hist_timer, oldest + to > now ? oldest + to - now : 0, 0);
}

/* ---- life ---- */

static void ops_quit(void *ud, const char *reason)
{
	ircc_app_t *a = ud;

	snprintf(a->quit_reason, sizeof(a->quit_reason), "%s",
		 reason && reason[0] ? reason : "Web session closed");
	app_end(a, 0, NULL);
}

static uint64_t ops_now(void *ud)
{
	return uv_now(((ircc_app_t *)ud)->loop);
}

static void close_if(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void close_all(ircc_app_t *a)
{
	browser_flush(a); /* what is gathered goes out as if written at once */
	close_if((uv_handle_t *)&a->flusher);
	if (a->browser_open) {
		a->browser_open = false;
		close_if((uv_handle_t *)&a->browser);
	}
	if (a->hist_open)
		close_if((uv_handle_t *)&a->hist);
	close_if((uv_handle_t *)&a->grace);
	close_if((uv_handle_t *)&a->hist_timer);
	irc_conn_free(a->conn);
	a->conn = NULL;
}

/* Ends the session: QUIT to the server first (irc_conn_quit calls on_quit,
 * which comes back here), then every handle is closed. */
static void app_end(ircc_app_t *a, int code, const char *why)
{
	if (why)
		log_error("Session of %s ended: %s", a->id->nick, why);
	if (!a->ending) {
		a->ending = true;
		a->exit_code = code;
		if (a->browser_reading) {
			uv_read_stop((uv_stream_t *)&a->browser);
			a->browser_reading = false;
		}
		if (irc_conn_state(a->conn) != IRC_CONN_STOPPED) {
			irc_conn_quit(a->conn,
				      a->quit_reason[0] ? a->quit_reason : "Web session closed");
			return;
		}
	}
	if (a->conn)
		close_all(a);
}

void ircc_app_stop(ircc_app_t *a)
{
	app_end(a, 0, NULL);
}

static void servers_from_config(ircc_app_t *a)
{
	for (size_t i = 0; i < a->cfg->irc.n_servers; i++) {
		const eirc_config_irc_server_t *s = &a->cfg->irc.servers[i];
		a->servers[i] = (irc_conn_server_t){s->host,       s->port,        s->tls,
						    s->tls_verify, s->tls_ca_file, s->unix_path};
	}
}

static int conn_create(ircc_app_t *a)
{
	const eirc_config_t *cfg = a->cfg;
	const ircc_ident_t *id = a->id;
	irc_conn_opts_t o = {
		.servers = a->servers,
		.n_servers = cfg->irc.n_servers,
		.reg = {.nick = id->nick,
			.user = id->user,
			.realname = id->display,
			.webirc_password = cfg->irc.webirc_password,
			.webirc_gateway = cfg->irc.webirc_gateway,
			.webirc_host = id->ip,
			.webirc_ip = id->ip,
			.caps_wanted = IRC_CAP_ALL,
			.nick_policy = cfg->irc_client.nick_collision == EIRC_CONFIG_NICK_FAIL
					       ? IRC_REG_NICK_FAIL
					       : IRC_REG_NICK_SUFFIX},
		.connect_timeout_ms = cfg->irc.connect_timeout,
		.ping_interval_ms = cfg->irc_client.ping_interval,
		.ping_timeout_ms = cfg->irc_client.ping_timeout,
		.reconnect_min_ms = cfg->irc_client.reconnect_min,
		.reconnect_max_ms = cfg->irc_client.reconnect_max,
		.first_attempts_max = (unsigned)cfg->irc.n_servers,
	};
	static const irc_conn_cb_t cb = {on_msg,   on_registered, on_down,
					 on_drain, on_quit,       on_bad_line};

	servers_from_config(a);
	return irc_conn_new(a->loop, &o, &cb, a, &a->conn);
}

static int session_create(ircc_app_t *a)
{
	const eirc_config_irc_client_t *ic = &a->cfg->irc_client;
	ircc_session_limits_t lim = {
		(unsigned)ic->flood_lines_per_second,
		(unsigned)ic->flood_burst_lines,
		ic->flood_bytes_per_second,
		(unsigned)a->cfg->history.chathistory_max,
		ic->private_room_masks,
		ic->n_private_room_masks,
		(unsigned)a->cfg->history.join_replay_lines,
	};
	static const ircc_session_ops_t ops = {to_browser, to_server, to_history, ops_quit,
					       ops_now};

	return ircc_session_new(a->id, &lim, &ops, a, &a->sess);
}

static void handles_init(ircc_app_t *a, int fd)
{
	uv_timer_t *timers[] = {&a->grace, &a->hist_timer};

	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		uv_timer_init(a->loop, timers[i]);
		timers[i]->data = a;
	}
	uv_prepare_init(a->loop, &a->flusher);
	a->flusher.data = a;
	uv_pipe_init(a->loop, &a->browser, 0);
	uv_pipe_open(&a->browser, fd);
	a->browser.data = a;
	a->browser_open = true;
	irc_line_init_strict(&a->bframe, 0);
}

int ircc_app_new(uv_loop_t *loop, const eirc_config_t *cfg, const ircc_ident_t *id, int fd,
		 ircc_app_t **out_app, eirc_err_t *out_err)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return eirc_err_set(out_err, -EBADF,
				    "fd %d is not a socket (the gateway starts "
				    "irc-clients with one)",
				    fd);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	ircc_app_t *a = calloc(1, sizeof(*a) + cfg->irc.n_servers * sizeof(a->servers[0]));
	if (!a)
		return eirc_err_set(out_err, -ENOMEM, "out of memory");
	a->loop = loop;
	a->cfg = cfg;
	a->id = id;
	int err = conn_create(a);
	if (err == 0)
		err = session_create(a);
	if (err < 0) {
		eirc_err_set(out_err, err, "%s",
			     err == -ENOTSUP  ? "TLS to the IRC server is not available (libssl "
						"cannot be loaded)"
			     : err == -ENOENT ? "cannot read the CA certificates for TLS "
						"(irc.servers[].tls_ca_file or the system's bundle)"
			     : err == -EHOSTUNREACH ? "cannot resolve the IRC server's host name"
						    : "cannot set up the IRC connection");
		irc_conn_free(a->conn);
		uv_run(a->loop, UV_RUN_DEFAULT); /* its handles close before a goes */
		free(a);
		return err;
	}
	handles_init(a, fd);
	*out_app = a;
	return 0;
}

void ircc_app_start(ircc_app_t *a)
{
	irc_conn_start(a->conn);
	flow_update(a);
}

int ircc_app_exit_code(const ircc_app_t *a)
{
	return a->exit_code;
}

void ircc_app_free(ircc_app_t *a)
{
	if (!a)
		return;
	ircc_session_free(a->sess);
	free(a->cork);
	free(a->hist_lf);
	free(a->hist_out);
	free(a);
}
