/*
 * irc_testclient: the IRC peer of the integration tests. See
 * irc_testclient.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"
#include "tests/harness/irc_testclient.h"
#include "tests/harness/ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static itc_t *itc_new(void)
{
	itc_t *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = -1;
	assert_int_equal(irc_line_init(&c->lf, 0), 0);
	return c;
}

itc_t *itc_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	itc_t *c = itc_new();

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

itc_t *itc_from_fd(int fd, pid_t pid)
{
	itc_t *c = itc_new();

	c->fd = fd;
	c->pid = pid;
	return c;
}

itc_t *itc_from_transport(itc_recv_fn recv, itc_send_fn send, void *ctx)
{
	itc_t *c = itc_new();

	c->recv = recv;
	c->send = send;
	c->ctx = ctx;
	return c;
}

static int ws_recv_line(void *ctx, int timeout_ms, const char **out_line, size_t *out_len)
{
	return ws_recv(ctx, timeout_ms, out_line, out_len, NULL);
}

static int ws_send_text_line(void *ctx, const char *line, size_t len)
{
	return ws_send(ctx, false, line, len);
}

static int ws_send_binary_line(void *ctx, const char *line, size_t len)
{
	return ws_send(ctx, true, line, len);
}

itc_t *itc_from_ws(struct ws_client *ws, bool binary)
{
	return itc_from_transport(ws_recv_line, binary ? ws_send_binary_line : ws_send_text_line,
				  ws);
}

void itc_send_raw(itc_t *c, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;

	assert_true(c->fd >= 0);
	while (off < len) {
		ssize_t n = write(c->fd, p + off, len - off);
		if (n <= 0)
			fail_msg("write to the IRC peer failed: %s", strerror(errno));
		off += (size_t)n;
	}
}

void itc_sendf(itc_t *c, const char *fmt, ...)
{
	char buf[IRC_LINE_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf) - 2);
	if (c->send) {
		int r = c->send(c->ctx, buf, (size_t)n);
		if (r < 0)
			fail_msg("sending \"%s\" failed: %s", buf, strerror(-r));
		return;
	}
	memcpy(buf + n, "\r\n", 2);
	itc_send_raw(c, buf, (size_t)n + 2);
}

/* Keeps line as c->line and parses a copy into c->msg. */
static void take_line(itc_t *c, const char *line, size_t len)
{
	if (len > IRC_LINE_MAX)
		fail_msg("line of %zu bytes, over IRC_LINE_MAX", len);
	memcpy(c->line, line, len);
	c->line[len] = '\0';
	memcpy(c->parsed, line, len);
	c->parsed[len] = '\0';
	int r = irc_msg_parse(c->parsed, len, 0, &c->msg);
	if (r != 0)
		fail_msg("unparsable line (%s): %s", irc_msg_strerror(r), c->line);
	c->lines++;
}

static bool next_from_transport(itc_t *c, int timeout_ms)
{
	const char *line;
	size_t len;

	if (c->recv(c->ctx, timeout_ms, &line, &len) < 0)
		return false;
	take_line(c, line, len);
	return true;
}

bool itc_next_within(itc_t *c, int timeout_ms)
{
	uint64_t deadline = clock_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	if (c->recv)
		return next_from_transport(c, timeout_ms);
	for (;;) {
		char *line, buf[4096];
		size_t len, chunk = c->read_chunk && c->read_chunk < sizeof(buf) ? c->read_chunk
										 : sizeof(buf);
		int r = irc_line_next(&c->lf, &line, &len);
		if (r == 0) {
			take_line(c, line, len);
			return true;
		}
		if (r != IRC_MSG_EAGAIN)
			continue; /* an overlong or malformed line was dropped */
		uint64_t now = clock_mono_ms();
		int left = (int)(deadline > now ? deadline - now : 0);
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		if (left == 0 || poll(&pf, 1, left) != 1)
			return false;
		ssize_t n = read(c->fd, buf, chunk);
		if (n <= 0)
			return false;
		for (size_t off = 0; off < (size_t)n;)
			off += irc_line_feed(&c->lf, buf + off, (size_t)n - off);
	}
}

bool itc_next(itc_t *c)
{
	return itc_next_within(c, ITC_TIMEOUT_MS);
}

bool itc_has(const itc_t *c, const char *needle)
{
	return strstr(c->line, needle) != NULL;
}

bool itc_param_is(const irc_msg_t *m, size_t i, const char *want)
{
	return i < m->n_params && m->params[i].len == strlen(want) &&
	       memcmp(m->params[i].ptr, want, m->params[i].len) == 0;
}

bool itc_param_has(const irc_msg_t *m, size_t i, const char *needle)
{
	char tmp[IRC_LINE_MAX + 1];

	if (i >= m->n_params || m->params[i].len > IRC_LINE_MAX)
		return false;
	memcpy(tmp, m->params[i].ptr, m->params[i].len);
	tmp[m->params[i].len] = '\0';
	return strstr(tmp, needle) != NULL;
}

void itc_expect_within(itc_t *c, const char *cmd, const char *needle, int timeout_ms)
{
	uint64_t deadline = clock_mono_ms() + (uint64_t)timeout_ms;

	for (uint64_t now; (now = clock_mono_ms()) < deadline;) {
		if (!itc_next_within(c, (int)(deadline - now)))
			break;
		if (irc_msg_command_is(&c->msg, cmd) && (!needle || itc_has(c, needle)))
			return;
	}
	fail_msg("no %s%s%s (last line: %s)", cmd, needle ? " with " : "", needle ? needle : "",
		 c->line);
}

void itc_expect(itc_t *c, const char *cmd, const char *needle)
{
	/* no overall deadline: a long burst may pass while each line is quick */
	while (itc_next(c))
		if (irc_msg_command_is(&c->msg, cmd) && (!needle || itc_has(c, needle)))
			return;
	fail_msg("no %s%s%s (last line: %s)", cmd, needle ? " with " : "", needle ? needle : "",
		 c->line);
}

void itc_register(itc_t *c, const char *nick)
{
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER %s 0 * :%s", nick, nick);
	itc_expect(c, "001", NULL);
}

int itc_close(itc_t *c)
{
	int status = 0;

	if (!c)
		return 0;
	if (c->fd >= 0)
		close(c->fd);
	if (c->pid)
		assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	free(c);
	return status;
}
