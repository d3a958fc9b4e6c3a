/*
 * The bad-line path of irc_conn as the logger uses it: a fake IRC server
 * on a UNIX socket in the test's own loop (no network, no real server)
 * sends lines the framer or the parser refuses between good ones;
 * on_bad_line must get each once, with its reason and its first bytes,
 * and the good lines must still reach on_msg, in order. With on_bad_line
 * NULL the same stream must go through unharmed. Also the labelled
 * eirc_logger_lines_refused_total family of /metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/irc_conn.h"
#include "common/irc_line.h"
#include "logger-bot/lg_metrics.h"

#define BAD_MAX 16

struct bad {
	int err;
	char excerpt[IRC_CONN_EXCERPT_MAX];
	size_t len;
};

struct fake {
	uv_loop_t loop;
	uv_pipe_t server, peer;
	bool peer_open, sent;
	irc_conn_t *conn;
	struct bad bad[BAD_MAX];
	size_t n_bad;
	char good[8][64];
	size_t n_good;
	bool done;
	char path[128];
};

/* The stream the server sends once the client has said something. */
static char *build_stream(size_t *out_len)
{
	static char s[32768];
	size_t n = 0;

	n += (size_t)sprintf(s + n, ":srv 001 lg :Welcome\r\n");
	/* message part over IRC_MSG_MAX, as InspIRCd relays a long PRIVMSG
	 * from a user with a long mask */
	n += (size_t)sprintf(s + n, ":nick!user@host PRIVMSG #c :");
	memset(s + n, 'z', 500), n += 500;
	n += (size_t)sprintf(s + n, "\r\n:n!u@h PRIVMSG #c :one\r\n");
	/* a whole line over IRC_LINE_MAX: dropped by the framer */
	memset(s + n, 'x', IRC_LINE_MAX + 100), n += IRC_LINE_MAX + 100;
	n += (size_t)sprintf(s + n, "\r\n:n!u@h PRIVMSG #c :two\r\n");
	/* NUL inside a line */
	memcpy(s + n, ":n!u@h PRIVMSG #c :a\0b\r\n", 24), n += 24;
	/* client-only tags over IRC_TAGS_CLIENT_MAX */
	n += (size_t)sprintf(s + n, "@+a=");
	memset(s + n, 'y', 5000), n += 5000;
	n += (size_t)sprintf(s + n, " :n!u@h TAGMSG #c\r\n");
	/* no command */
	n += (size_t)sprintf(s + n, ":n!u@h\r\n:n!u@h PRIVMSG #c :after\r\n");
	*out_len = n;
	return s;
}

static void on_peer_write(uv_write_t *req, int status)
{
	assert_int_equal(status, 0);
	free(req);
}

static void on_peer_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	static char buf[4096];

	(void)h, (void)sz;
	*b = uv_buf_init(buf, sizeof(buf));
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct fake *f = s->data;
	size_t len;
	char *data;

	(void)b;
	if (n <= 0 || f->sent)
		return;
	f->sent = true;
	data = build_stream(&len);
	uv_write_t *req = malloc(sizeof(*req));
	uv_buf_t buf = uv_buf_init(data, (unsigned)len);
	assert_int_equal(uv_write(req, s, &buf, 1, on_peer_write), 0);
}

static void on_connection(uv_stream_t *srv, int status)
{
	struct fake *f = srv->data;

	assert_int_equal(status, 0);
	uv_pipe_init(&f->loop, &f->peer, 0);
	f->peer.data = f;
	f->peer_open = true;
	assert_int_equal(uv_accept(srv, (uv_stream_t *)&f->peer), 0);
	uv_read_start((uv_stream_t *)&f->peer, on_peer_alloc, on_peer_read);
}

static void finish(struct fake *f)
{
	f->done = true;
	irc_conn_free(f->conn);
	f->conn = NULL;
	if (f->peer_open)
		uv_close((uv_handle_t *)&f->peer, NULL);
	uv_close((uv_handle_t *)&f->server, NULL);
}

static void on_msg(void *ud, const irc_msg_t *m)
{
	struct fake *f = ud;

	if (!irc_msg_command_is(m, "PRIVMSG") || m->n_params < 2)
		return;
	snprintf(f->good[f->n_good++], sizeof(f->good[0]), "%.*s", (int)m->params[1].len,
		 m->params[1].ptr);
	if (m->params[1].len == 5 && !memcmp(m->params[1].ptr, "after", 5))
		finish(f);
}

static void on_bad_line(void *ud, int err, const char *excerpt, size_t len)
{
	struct fake *f = ud;

	assert_true(f->n_bad < BAD_MAX);
	assert_true(len <= IRC_CONN_EXCERPT_MAX);
	f->bad[f->n_bad].err = err;
	memcpy(f->bad[f->n_bad].excerpt, excerpt, len);
	f->bad[f->n_bad++].len = len;
}

static void on_down(void *ud, int err, const char *why, uint64_t retry_ms)
{
	(void)ud, (void)retry_ms;
	fail_msg("connection down: %d %s", err, why);
}

static void run(struct fake *f, bool with_cb)
{
	static const irc_conn_cb_t cbs[2] = {
		{on_msg, NULL, on_down, NULL, NULL, NULL},
		{on_msg, NULL, on_down, NULL, NULL, on_bad_line},
	};
	irc_conn_server_t srv = {.unix_path = f->path};
	irc_conn_opts_t o = {
		.servers = &srv,
		.n_servers = 1,
		.reg = {"lg", "u", "r", NULL, NULL, NULL, NULL, 0, IRC_REG_NICK_SUFFIX},
		.connect_timeout_ms = 5000,
		.ping_interval_ms = 60000,
		.ping_timeout_ms = 60000,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 100,
	};

	snprintf(f->path, sizeof(f->path), "/tmp/eirc-badline-%d.sock", (int)getpid());
	unlink(f->path);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_pipe_init(&f->loop, &f->server, 0);
	f->server.data = f;
	assert_int_equal(uv_pipe_bind(&f->server, f->path), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&f->server, 4, on_connection), 0);
	assert_int_equal(irc_conn_new(&f->loop, &o, &cbs[with_cb], f, &f->conn), 0);
	irc_conn_start(f->conn);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->done);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	unlink(f->path);
	/* the good lines, all of them, in order */
	assert_int_equal(f->n_good, 3);
	assert_string_equal(f->good[0], "one");
	assert_string_equal(f->good[1], "two");
	assert_string_equal(f->good[2], "after");
}

static void test_bad_lines_reported(void **state)
{
	static struct fake f;

	(void)state;
	run(&f, true);
	assert_int_equal(f.n_bad, 5);
	/* message part over 512: the parser; the excerpt is the line's start */
	assert_int_equal(f.bad[0].err, IRC_MSG_ETOOLONG);
	assert_int_equal(f.bad[0].len, IRC_CONN_EXCERPT_MAX);
	assert_memory_equal(f.bad[0].excerpt, ":nick!user@host PRIVMSG #c :zzz", 31);
	/* over IRC_LINE_MAX: the framer, once, before the tail arrived */
	assert_int_equal(f.bad[1].err, IRC_MSG_ETOOLONG);
	assert_int_equal(f.bad[1].len, IRC_CONN_EXCERPT_MAX);
	assert_memory_equal(f.bad[1].excerpt, "xxxxxxxx", 8);
	/* NUL: the framer; the excerpt holds the raw bytes, NUL included */
	assert_int_equal(f.bad[2].err, IRC_MSG_EMALFORMED);
	assert_int_equal(f.bad[2].len, 22);
	assert_memory_equal(f.bad[2].excerpt, ":n!u@h PRIVMSG #c :a\0b", 22);
	assert_int_equal(f.bad[3].err, IRC_MSG_ETAGSTOOLONG);
	/* the excerpt skips the tags section: source and command */
	assert_int_equal(f.bad[3].len, 16);
	assert_memory_equal(f.bad[3].excerpt, ":n!u@h TAGMSG #c", 16);
	assert_int_equal(f.bad[4].err, IRC_MSG_EMALFORMED);
	assert_int_equal(f.bad[4].len, 6);
	assert_memory_equal(f.bad[4].excerpt, ":n!u@h", 6);
}

static void test_no_callback(void **state)
{
	static struct fake f;

	(void)state;
	run(&f, false);
	assert_int_equal(f.n_bad, 0);
}

static void test_refused_metric_family(void **state)
{
	lg_metrics_t m = {0};
	buf_t b;
	const char *help = "# TYPE eirc_logger_lines_refused_total counter\n";

	(void)state;
	buf_init(&b, LG_METRICS_TEXT_MAX);
	m.lines_refused_too_long = 3;
	m.lines_refused_malformed = 1;
	assert_int_equal(lg_metrics_render(&m, &b), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	const char *p = strstr(buf_data(&b), help);
	assert_non_null(p);
	assert_null(strstr(p + 1, help)); /* one family: TYPE once */
	assert_non_null(
		strstr(buf_data(&b), "eirc_logger_lines_refused_total{reason=\"too_long\"} 3\n"));
	assert_non_null(strstr(buf_data(&b),
			       "eirc_logger_lines_refused_total{reason=\"tags_too_long\"} 0\n"));
	assert_non_null(
		strstr(buf_data(&b), "eirc_logger_lines_refused_total{reason=\"malformed\"} 1\n"));
	assert_non_null(strstr(buf_data(&b), "eirc_logger_events_refused_total 0\n"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_lines_reported),
		cmocka_unit_test(test_no_callback),
		cmocka_unit_test(test_refused_metric_family),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
