/*
 * hist_conn: one irc-client's connection to eirc-history (see
 * hist_server_int.h): the peer's uid checked on accept (SO_PEERCRED), its
 * first line EIRC HELLO with the gateway's ticket for its pid, which binds
 * the connection to one user; then lines in, queued and answered one at a
 * time in order, answers out; a line is a direct-message report
 * (hist_dmstore) or a CHATHISTORY request (hist_chathist) of that user.
 */
#include "history-bridge/hist_server_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/session_ticket.h"

/* Scratch for one formatted line: the loop is single-threaded. */
static char line_buf[IRC_LINE_MAX + 1];

/* ---- connection lifetime ---- */

/* The oldest line read and not answered; NULL when none. */
static struct qline *line_pop(struct hist_conn *c)
{
	struct qline *q;

	if (queue_empty(&c->lines))
		return NULL;
	q = queue_data(queue_head(&c->lines), struct qline, node);
	queue_remove(&q->node);
	c->q_len--;
	return q;
}

static void conn_free(struct hist_conn *c)
{
	struct qline *q;

	while ((q = line_pop(c)))
		free(q);
	buf_free(&c->out);
	free(c->targets);
	free(c);
}

/* A reply for c arrived: false when c is gone or going (freed here once
 * the last awaited reply is in). */
bool hist_conn_reply_enter(struct hist_conn *c)
{
	c->inflight--;
	if (c->closed) {
		if (c->inflight == 0)
			conn_free(c);
		return false;
	}
	return !c->closing;
}

static void on_conn_closed(uv_handle_t *h)
{
	struct hist_conn *c = h->data;

	c->closed = true;
	if (c->inflight == 0)
		conn_free(c);
}

void hist_conn_close(struct hist_conn *c)
{
	struct hist_app *a = c->app;

	if (c->closing)
		return;
	c->closing = true;
	queue_remove(&c->node);
	a->n_conns--;
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* ---- output ---- */

int hist_conn_out_add(struct hist_conn *c, const char *p, size_t n)
{
	int r = buf_append(&c->out, p, n);

	return r < 0 ? r : buf_append(&c->out, "\r\n", 2);
}

int hist_conn_out_addf(struct hist_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line_buf, sizeof(line_buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line_buf))
		return -ENOBUFS;
	return hist_conn_out_add(c, line_buf, (size_t)n);
}

static void on_write(uv_write_t *w, int status)
{
	struct hist_conn *c = w->data;

	free(w);
	if (status < 0) {
		if (!c->closing)
			hist_conn_close(c);
		return;
	}
	if (!c->closing)
		hist_conn_pump(c);
}

/* Sends what out holds, then "EIRC DONE <label>". */
void hist_conn_out_flush(struct hist_conn *c, const char *label)
{
	if (hist_conn_out_addf(c, "EIRC DONE %s", label) < 0) {
		hist_conn_close(c);
		return;
	}
	/* One write for the whole answer; only what the socket does not take
	 * now is copied into a write request. */
	size_t done = 0;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) == 0) {
		uv_buf_t b = uv_buf_init((char *)buf_data(&c->out), (unsigned)buf_len(&c->out));
		int r = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
		if (r < 0 && r != UV_EAGAIN) {
			hist_conn_close(c);
			return;
		}
		done = r > 0 ? (size_t)r : 0;
	}
	size_t rest = buf_len(&c->out) - done;
	uv_write_t *w = rest ? malloc(sizeof(*w) + rest) : NULL;
	if (w)
		memcpy(w + 1, buf_data(&c->out) + done, rest);
	buf_reset(&c->out);
	if (rest == 0)
		return;
	if (!w) {
		hist_conn_close(c);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)rest);
	w->data = c;
	if (uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, on_write) < 0) {
		free(w);
		hist_conn_close(c);
	}
}

static void answer_fail(struct hist_conn *c, const char *code, const char *context,
			const char *text, const char *label)
{
	buf_reset(&c->out);
	if (hist_conn_out_addf(c, "FAIL CHATHISTORY %s %s :%s", code, context, text) < 0)
		hist_conn_out_addf(c, "FAIL CHATHISTORY %s * :%s", code, text);
	hist_conn_out_flush(c, label);
}

void hist_conn_fail(struct hist_conn *c, const char *code, const char *text)
{
	char ctx[16 + CHATHIST_TARGET_MAX + 2];

	snprintf(ctx, sizeof(ctx), "%s%s%s", chathist_sub_name(c->req.sub),
		 c->req.target_len ? " " : "", c->req.target);
	answer_fail(c, code, ctx, text, c->req.label);
}

/* ---- dispatch ---- */

/* The connection's first line: EIRC HELLO with the ticket the gateway made
 * for this peer's pid and the user named; anything else closes it. */
static void hello(struct hist_conn *c, const char *line, size_t len)
{
	hist_hello_t h;
	const char *why = NULL;

	if (hist_hello_parse(line, len, &h) < 0)
		why = "its first line is not EIRC HELLO";
	else if (!session_ticket_check(c->app->cfg->history.session_key, c->peer_pid, h.user_id,
				       h.ticket, SESSION_TICKET_LEN))
		why = "its ticket is not the gateway's for that process and user";
	if (why) {
		log_warn("Closing a history connection of pid %ld: %s", (long)c->peer_pid, why);
		hist_conn_close(c);
		return;
	}
	c->bound = true;
	c->user_id = h.user_id;
}

/* A line of another user than the HELLO's is refused (logged). */
static bool own_user(const struct hist_conn *c, uint64_t user, const char *what)
{
	if (user == c->user_id)
		return true;
	log_warn("Refused a %s for user %" PRIu64 " on the history connection of user %" PRIu64
		 " (pid %ld)",
		 what, user, c->user_id, (long)c->peer_pid);
	return false;
}

/* A report is stored (no answer); a request is answered; anything else
 * closes the connection. */
static void handle_line(struct hist_conn *c, const char *line, size_t len)
{
	static hist_dm_t dm;
	struct hist_req_err err;

	if (!c->bound) {
		hello(c, line, len);
		return;
	}
	int r = hist_dm_parse(line, len, &dm);
	if (r == 0) {
		if (own_user(c, dm.reporter_id, "direct-message report"))
			hist_dmstore_report(c->app, &dm);
		return;
	}
	if (r != -ENOENT) {
		log_debug("Ignored a direct-message report that cannot be stored");
		return;
	}
	r = hist_req_parse(line, len, &c->req, &err);

	if (r == -EPROTO) {
		log_warn("Closing a history connection: a line is not a CHATHISTORY request");
		hist_conn_close(c);
		return;
	}
	if (r < 0) {
		answer_fail(c, err.code, err.context, err.text, err.label);
		return;
	}
	if (!own_user(c, c->req.user_id, "CHATHISTORY request")) {
		hist_conn_fail(c, "INVALID_TARGET", "Not the user of this connection");
		return;
	}
	c->app->metrics.chathistory_requests++;
	hist_chathist_request(c);
}

/* ---- input ---- */

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	static char chunk[HIST_READ_CHUNK];

	(void)h, (void)size;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static bool conn_congested(const struct hist_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->pipe) > HIST_CONN_WRITE_MAX;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Answers queued lines while none is in Redis; reads while there is room. */
void hist_conn_pump(struct hist_conn *c)
{
	struct qline *q;

	while (!c->closing && c->inflight == 0 && !conn_congested(c) && (q = line_pop(c))) {
		handle_line(c, q->text, q->len);
		free(q);
	}
	if (c->closing)
		return;
	bool want = c->q_len < HIST_CONN_QUEUE_MAX && !conn_congested(c);
	if (want && !c->reading)
		c->reading = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0;
	else if (!want && c->reading)
		c->reading = uv_read_stop((uv_stream_t *)&c->pipe) != 0;
}

static int queue_line(struct hist_conn *c, const char *line, size_t len)
{
	struct qline *q = malloc(sizeof(*q) + len + 1);

	if (!q)
		return -ENOMEM;
	q->len = len;
	memcpy(q->text, line, len + 1);
	queue_insert_tail(&c->lines, &q->node);
	c->q_len++;
	return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hist_conn *c = s->data;

	if (nread < 0) {
		hist_conn_close(c);
		return;
	}
	for (size_t off = 0; off < (size_t)nread;) {
		off += irc_line_feed(&c->lf, buf->base + off, (size_t)nread - off);
		char *line;
		size_t len;
		int r;
		while ((r = irc_line_next(&c->lf, &line, &len)) != IRC_MSG_EAGAIN) {
			if (r < 0 || queue_line(c, line, len) < 0) {
				log_warn("Closing a history connection: %s",
					 r < 0 ? irc_msg_strerror(r) : "out of memory");
				hist_conn_close(c);
				return;
			}
		}
	}
	hist_conn_pump(c);
}

/* Only irc-clients (irc_client.sandbox_user) and processes of our own
 * user may connect: the socket's mode keeps others out, this check too
 * (a too open mode, a shared group). Keeps the peer's pid for HELLO. */
static int peer_check(struct hist_conn *c)
{
	const hist_app_t *a = c->app;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr)) {
		log_warn("Closing a history connection: its peer's credentials cannot be read");
		return -EACCES;
	}
	if (cr.uid != a->peer_uids[0] && cr.uid != a->peer_uids[1]) {
		log_warn("Closing a history connection of uid %u (pid %ld): only "
			 "irc_client.sandbox_user and eirc-history's own user may connect",
			 (unsigned)cr.uid, (long)cr.pid);
		return -EACCES;
	}
	c->peer_pid = cr.pid;
	return 0;
}

void hist_conn_accept(uv_stream_t *l, int status)
{
	struct hist_app *a = l->data;
	struct hist_conn *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	uv_pipe_init(a->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->app = a;
	irc_line_init(&c->lf, 0);
	queue_init(&c->lines);
	buf_init(&c->out, SIZE_MAX);
	queue_insert_tail(&a->conns, &c->node);
	a->n_conns++;
	if (uv_accept(l, (uv_stream_t *)&c->pipe) < 0 || a->n_conns > HIST_CONNS_MAX ||
	    peer_check(c) < 0) {
		if (a->n_conns > HIST_CONNS_MAX)
			log_warn("Closing a history connection: %u are open (HIST_CONNS_MAX)",
				 (unsigned)HIST_CONNS_MAX);
		hist_conn_close(c);
		return;
	}
	hist_conn_pump(c);
}
