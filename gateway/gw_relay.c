/*
 * gw_relay: per-session I/O. See gw_relay.h.
 *
 * Handles of a session: proc (uv_process_t, closed in the exit callback)
 * and pipe (uv_pipe_t, closed at EOF, on error, or when the WebSocket is
 * gone). The session is freed by gw_server_session_check_free() once both
 * are closed and the WebSocket and the consume are gone.
 */
#include "gateway/gw_relay.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "common/log.h"
#include "common/session_ticket.h"
#include "common/utf8.h"
#include "gateway/gw_server.h"

typedef struct relay_write {
	uv_write_t req;
	gw_session_t *ss;
	char data[];
} relay_write_t;

static void relay_log(gw_session_t *ss, log_level_t level, const char *msg)
{
	log_field_t f[] = {{"request_id", ss->request_id}, {"nick", ss->nick}};

	log_fields(level, f, 2, "%s", msg);
}

static void on_proc_closed(uv_handle_t *h)
{
	gw_session_t *ss = h->data;

	ss->proc_open = false;
	gw_server_session_check_free(ss);
}

static void on_pipe_closed(uv_handle_t *h)
{
	gw_session_t *ss = h->data;

	ss->pipe_open = false;
	gw_server_session_check_free(ss);
}

void gw_relay_close_pipe(gw_session_t *ss)
{
	if (!ss->pipe_open || uv_is_closing((uv_handle_t *)&ss->pipe))
		return;
	ss->reading = false;
	ss->pipe_closed_at = gw_server_now(ss->srv);
	uv_close((uv_handle_t *)&ss->pipe, on_pipe_closed);
}

static void on_child_exit(uv_process_t *p, int64_t status, int term_signal)
{
	gw_session_t *ss = p->data;
	gw_metrics_t *m = &ss->srv->metrics;
	char msg[96];

	gw_metrics_child_exit(m, status, term_signal);
	m->children--;
	ss->child_running = false;
	if (term_signal)
		snprintf(msg, sizeof(msg), "irc-client %d killed by signal %d", p->pid,
			 term_signal);
	else
		snprintf(msg, sizeof(msg), "irc-client %d exited with status %lld", p->pid,
			 (long long)status);
	relay_log(ss, term_signal || status ? LOG_WARN : LOG_INFO, msg);
	uv_close((uv_handle_t *)p, on_proc_closed);
}

void gw_relay_drop_queue(gw_session_t *ss)
{
	while (!queue_empty(&ss->q)) {
		queue_t *q = queue_head(&ss->q);
		queue_remove(q);
		free(queue_data(q, gw_msg_t, node));
	}
	ss->q_bytes = 0;
	ss->above_since = 0;
}

static void relay_want_write(gw_session_t *ss)
{
	if (ss->wsi)
		lws_callback_on_writable(ss->wsi);
}

void gw_relay_close(gw_session_t *ss, int code, const char *reason, bool flush)
{
	if (ss->close_pending) {
		if (!flush)
			gw_relay_drop_queue(ss);
		relay_want_write(ss);
		return;
	}
	ss->close_pending = true;
	ss->close_code = code;
	snprintf(ss->close_reason, sizeof(ss->close_reason), "%s", reason);
	ss->state = GW_SS_ENDING;
	if (ss->reading) {
		uv_read_stop((uv_stream_t *)&ss->pipe);
		ss->reading = false;
	}
	if (!flush)
		gw_relay_drop_queue(ss);
	if (ss->wsi) {
		/* lws sends the close frame only on a connection it reads (the
		 * session may have been held with rx flow control off) */
		lws_rx_flow_control(ss->wsi, 1);
		/* a browser that reads nothing never lets the close frame out:
		 * drop the connection after a while, frame or not */
		lws_set_timeout(ss->wsi, PENDING_TIMEOUT_USER_OK,
				flush ? (int)(ss->srv->cfg->gateway.slow_reader_timeout / 1000) + 1
				      : GW_CLOSE_TIMEOUT_S);
	}
	relay_want_write(ss);
}

/* Queues one line for the browser; stops reading above the watermark. */
static void relay_queue_line(gw_session_t *ss, const char *line, size_t len)
{
	gw_server_t *srv = ss->srv;
	/* the exact size: memory held for a browser is what the queue counts
	 * (plus the header), not three times a text line's length */
	size_t cap = ss->binary ? len : utf8_sanitized_len(line, len), n = 0;
	gw_msg_t *m = malloc(sizeof(*m) + LWS_PRE + cap + 1);

	if (!m ||
	    gw_frame_to_browser(line, len, ss->binary, (char *)m->buf + LWS_PRE, cap, &n) < 0) {
		free(m);
		gw_relay_close(ss, GW_CLOSE_ENDED, "internal error", false);
		return;
	}
	m->len = n;
	queue_insert_tail(&ss->q, &m->node);
	ss->q_bytes += n;
	if (ss->reading && ss->q_bytes > srv->cfg->gateway.send_queue_high_watermark) {
		uv_read_stop((uv_stream_t *)&ss->pipe);
		ss->reading = false;
		ss->above_since = gw_server_now(srv);
		srv->metrics.queue_high_water++;
	}
	relay_want_write(ss);
}

void gw_relay_to_browser(gw_session_t *ss, const char *line, size_t len)
{
	if (ss->wsi && !ss->close_pending)
		relay_queue_line(ss, line, len);
}

void gw_relay_end(gw_session_t *ss, int code, const char *why)
{
	char line[GW_CLOSE_REASON_MAX + 32];
	int n = snprintf(line, sizeof(line), "ERROR :Closing link: %s", why);

	gw_relay_to_browser(ss, line, (size_t)n);
	gw_relay_close(ss, code, why, true);
	gw_relay_close_pipe(ss);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	gw_session_t *ss = h->data;

	(void)suggested;
	buf->base = ss->srv->read_buf;
	buf->len = sizeof(ss->srv->read_buf);
}

/* Feeds bytes from the irc-client into the framer and queues its lines. */
static void relay_feed(gw_session_t *ss, const char *data, size_t len)
{
	char *line;
	size_t n, llen;
	int r;

	while (len > 0) {
		n = irc_line_feed(&ss->from_irc, data, len);
		data += n;
		len -= n;
		while ((r = irc_line_next(&ss->from_irc, &line, &llen)) != IRC_MSG_EAGAIN) {
			if (r < 0)
				continue; /* over the limit or malformed: dropped */
			relay_queue_line(ss, line, llen);
		}
	}
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	gw_session_t *ss = st->data;

	if (nread > 0) {
		relay_feed(ss, buf->base, (size_t)nread);
		return;
	}
	if (nread == 0)
		return;
	/* EOF or error: the irc-client is gone; flush what it said, then close */
	ss->irc_eof = true;
	gw_relay_close_pipe(ss);
	gw_relay_close(ss, GW_CLOSE_ENDED, "chat session ended", true);
}

static void on_written(uv_write_t *req, int status)
{
	relay_write_t *w = (relay_write_t *)req;
	gw_session_t *ss = w->ss;

	(void)status; /* a failed write: the EOF on read ends the session */
	free(w);
	if (ss->rx_paused && ss->pipe_open &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&ss->pipe) < GW_TO_IRC_QUEUE_MAX / 2) {
		ss->rx_paused = false;
		if (ss->wsi)
			lws_rx_flow_control(ss->wsi, 1);
	}
}

/* Writes len bytes to the irc-client (copied): 0 or a negative errno. */
static int relay_write(gw_session_t *ss, const char *data, size_t len)
{
	relay_write_t *w = malloc(sizeof(*w) + len);
	uv_buf_t b;
	int r;

	if (!w)
		return -ENOMEM;
	w->ss = ss;
	memcpy(w->data, data, len);
	b = uv_buf_init(w->data, (unsigned)len);
	if ((r = uv_write(&w->req, (uv_stream_t *)&ss->pipe, &b, 1, on_written)) < 0)
		free(w);
	return r;
}

/* "EIRC SESSION <ticket>", the first line the irc-client reads (before any
 * browser line): the ticket of its pid and user, which it shows
 * eirc-history (common/session_ticket.h). Only with a history socket. */
static int relay_session_line(gw_session_t *ss, const gw_identity_t *id)
{
	const eirc_config_history_t *h = &ss->srv->cfg->history;
	char ticket[SESSION_TICKET_LEN + 1], line[sizeof(ticket) + 16];
	int r;

	if (!h->socket_path)
		return 0;
	if ((r = session_ticket_make(h->session_key, ss->proc.pid, id->user_id, ticket)) < 0)
		return r;
	int n = snprintf(line, sizeof(line), "EIRC SESSION %s\r\n", ticket);
	return relay_write(ss, line, (size_t)n);
}

int gw_relay_start(gw_session_t *ss, const gw_identity_t *id)
{
	gw_server_t *srv = ss->srv;
	bool proc_open = false;
	int fd = -1, r;

	r = gw_spawn_start(srv->loop, &srv->spawn, id, ss->client_ip, &ss->proc, on_child_exit, &fd,
			   &proc_open);
	ss->proc.data = ss;
	if (proc_open)
		ss->proc_open = true;
	if (r < 0) {
		if (proc_open)
			uv_close((uv_handle_t *)&ss->proc, on_proc_closed);
		return r;
	}
	ss->child_running = true;
	srv->metrics.children++;
	if ((r = uv_pipe_init(srv->loop, &ss->pipe, 0)) < 0) {
		close(fd);
		return r; /* the child sees no fd 3 peer and exits */
	}
	ss->pipe.data = ss;
	ss->pipe_open = true;
	if ((r = uv_pipe_open(&ss->pipe, fd)) < 0) {
		close(fd);
		gw_relay_close_pipe(ss);
		return r;
	}
	if ((r = uv_read_start((uv_stream_t *)&ss->pipe, on_alloc, on_read)) < 0 ||
	    (r = relay_session_line(ss, id)) < 0) {
		gw_relay_close_pipe(ss);
		return r;
	}
	ss->reading = true;
	return 0;
}

void gw_relay_to_irc(gw_session_t *ss, const char *line, size_t len)
{
	if (ss->state != GW_SS_RELAYING || !ss->pipe_open ||
	    uv_is_closing((uv_handle_t *)&ss->pipe))
		return;
	int r = relay_write(ss, line, len);
	if (r == -ENOMEM) {
		gw_relay_close(ss, GW_CLOSE_ENDED, "internal error", false);
		return;
	}
	if (r < 0)
		return;
	ss->srv->metrics.lines_to_irc++;
	ss->srv->metrics.bytes_to_irc += len - 2;
	if (!ss->rx_paused &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&ss->pipe) > GW_TO_IRC_QUEUE_MAX) {
		ss->rx_paused = true;
		if (ss->wsi)
			lws_rx_flow_control(ss->wsi, 0);
	}
}

static void relay_maybe_resume(gw_session_t *ss)
{
	gw_server_t *srv = ss->srv;

	if (ss->reading || !ss->pipe_open || ss->irc_eof || ss->close_pending ||
	    uv_is_closing((uv_handle_t *)&ss->pipe))
		return;
	if (ss->q_bytes > srv->cfg->gateway.send_queue_high_watermark / 2)
		return;
	if (uv_read_start((uv_stream_t *)&ss->pipe, on_alloc, on_read) == 0)
		ss->reading = true;
	ss->above_since = 0;
}

int gw_relay_writable(gw_session_t *ss)
{
	if (!queue_empty(&ss->q)) {
		gw_msg_t *m = queue_data(queue_head(&ss->q), gw_msg_t, node);
		int n = lws_write(ss->wsi, m->buf + LWS_PRE, m->len,
				  ss->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
		if (n < (int)m->len)
			return -1;
		queue_remove(&m->node);
		ss->q_bytes -= m->len;
		ss->srv->metrics.lines_to_browser++;
		ss->srv->metrics.bytes_to_browser += m->len;
		free(m);
		relay_maybe_resume(ss);
		if (!queue_empty(&ss->q) || ss->close_pending)
			lws_callback_on_writable(ss->wsi);
		return 0;
	}
	if (ss->close_pending) {
		gw_relay_send_close(ss->wsi, ss->close_code, ss->close_reason);
		return -1;
	}
	return 0;
}

void gw_relay_send_close(struct lws *wsi, int code, const char *reason)
{
	unsigned char buf[LWS_PRE + 4 + GW_CLOSE_REASON_MAX], *f = buf + LWS_PRE;
	size_t n = strlen(reason);

	/* lws 4.1 keeps LWS_WRITE_CLOSE private: the frame is built here (a
	 * server frame is unmasked; a control payload is at most 125 bytes) */
	if (n > GW_CLOSE_REASON_MAX)
		n = GW_CLOSE_REASON_MAX;
	f[0] = 0x88; /* FIN, opcode close */
	f[1] = (unsigned char)(n + 2);
	f[2] = (unsigned char)(code >> 8);
	f[3] = (unsigned char)(code & 0xff);
	memcpy(f + 4, reason, n);
	lws_write(wsi, f, n + 4, LWS_WRITE_RAW);
}

void gw_relay_ws_gone(gw_session_t *ss)
{
	ss->wsi = NULL;
	ss->state = GW_SS_ENDING;
	gw_relay_drop_queue(ss);
	gw_relay_close_pipe(ss);
}

void gw_relay_kill(gw_session_t *ss)
{
	if (ss->child_running)
		uv_process_kill(&ss->proc, SIGKILL);
}

/* An irc-client must quit once its socketpair is closed; one that is
 * still running GW_CHILD_QUIT_MS later gets SIGTERM, then SIGKILL. */
static void relay_sweep_child(gw_session_t *ss, uint64_t now)
{
	uint64_t since = now - ss->pipe_closed_at;

	if (!ss->child_running || !ss->pipe_closed_at || ss->signals_sent >= 2 ||
	    since < GW_CHILD_QUIT_MS * (uint64_t)(ss->signals_sent + 1))
		return;
	relay_log(ss, LOG_WARN,
		  ss->signals_sent ? "irc-client still running: SIGKILL"
				   : "irc-client did not quit after its socket closed: SIGTERM");
	uv_process_kill(&ss->proc, ss->signals_sent ? SIGKILL : SIGTERM);
	ss->signals_sent++;
}

void gw_relay_sweep(gw_session_t *ss, uint64_t now, uint64_t timeout_ms)
{
	relay_sweep_child(ss, now);
	if (!ss->above_since || now - ss->above_since < timeout_ms)
		return;
	if (!ss->close_pending) {
		ss->srv->metrics.slow_reader_disconnects++;
		relay_log(ss, LOG_WARN, "browser too slow: disconnected");
	}
	/* a close already on its way keeps its code; the queue is dropped */
	gw_relay_close(ss, GW_CLOSE_POLICY, "too slow", false);
}
