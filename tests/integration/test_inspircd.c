/*
 * A real InspIRCd from the harness, spoken to over real sockets through the
 * eIRC codec (irc_line framer + irc_msg parser): the welcome burst after
 * CAP negotiation parses line by line; WEBIRC from the gateway host gives a
 * user the browser's address; two clients exchange a message that carries
 * the server's msgid and time tags, and the sender sees its echo.
 * With eIRC's m_eirc_fastregister loaded, 001 follows NICK/USER at once
 * (not on InspIRCd's 1 s tick), and CAP negotiation still holds it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/irc_casemap.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"
#include "common/utf8.h"
#include "tests/harness/servers.h"

#define WEBIRC_PASSWORD "webirc-test-secret"
#define READ_TIMEOUT_MS 5000

static srv_env_t *env;
static srv_t *ircd;

typedef struct {
	int fd;
	struct irc_line lf;
	size_t lines; /* lines parsed so far */
	char line[IRC_LINE_MAX];
	struct irc_msg msg;
} client_t;

static int setup(void **state)
{
	srv_ircd_opts_t o = { .webirc_password = WEBIRC_PASSWORD };
	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN); /* a closed connection is a test failure, not a crash */
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	return srv_inspircd_start(env, &o, &ircd);
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

static client_t *client_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port(ircd)) };
	client_t *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(irc_line_init(&c->lf, 0), 0);
	return c;
}

static void client_close(client_t *c)
{
	close(c->fd);
	free(c);
}

static void sendf(client_t *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf) - 2);
	memcpy(buf + n, "\r\n", 2);
	assert_int_equal(write(c->fd, buf, (size_t)n + 2), n + 2);
}

/* Reads the next line, parses it into c->msg; false on EOF or when no line
 * comes within timeout_ms. Every line the server sends must frame and parse. */
static bool next_msg_within(client_t *c, int timeout_ms)
{
	for (;;) {
		char *line;
		size_t len;
		int r = irc_line_next(&c->lf, &line, &len);

		if (r == 0) {
			memcpy(c->line, line, len + 1);
			r = irc_msg_parse(c->line, len, 0, &c->msg);
			if (r != 0)
				fprintf(stderr, "unparsable line from InspIRCd (%s): %s\n",
					irc_msg_strerror(r), line);
			assert_int_equal(r, 0);
			c->lines++;
			return true;
		}
		assert_int_equal(r, IRC_MSG_EAGAIN);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) != 1)
			return false;
		char buf[512];
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		/* Feed in small pieces on purpose: reads split lines anywhere. */
		for (size_t off = 0; off < (size_t)n;)
			off += irc_line_feed(&c->lf, buf + off, (size_t)n - off);
	}
}

static bool next_msg(client_t *c)
{
	return next_msg_within(c, READ_TIMEOUT_MS);
}

static bool param_is(const struct irc_msg *m, size_t i, const char *want)
{
	return i < m->n_params && m->params[i].len == strlen(want) &&
	       memcmp(m->params[i].ptr, want, m->params[i].len) == 0;
}

static bool param_has(const struct irc_msg *m, size_t i, const char *needle)
{
	char tmp[IRC_MSG_MAX + 1];

	if (i >= m->n_params || m->params[i].len > IRC_MSG_MAX)
		return false;
	memcpy(tmp, m->params[i].ptr, m->params[i].len);
	tmp[m->params[i].len] = '\0';
	return strstr(tmp, needle) != NULL;
}

/* Reads until a message with the command; fails on timeout. */
static void expect_cmd(client_t *c, const char *cmd)
{
	while (next_msg(c))
		if (irc_msg_command_is(&c->msg, cmd))
			return;
	fail_msg("no %s from the server", cmd);
}

/* server-time: YYYY-MM-DDThh:mm:ss.sssZ */
static void assert_server_time(const struct irc_msg *m)
{
	struct irc_msg_tag t;
	struct tm tm = { 0 };

	assert_int_equal(irc_msg_tag_get(m, "time", &t), 0);
	assert_int_equal(t.value_len, 24);
	char v[32];
	memcpy(v, t.value, t.value_len);
	v[t.value_len] = '\0';
	const char *end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	assert_true(end[0] == '.' && end[4] == 'Z');
}

static void register_client(client_t *c, const char *nick, const char *caps)
{
	sendf(c, "CAP LS 302");
	sendf(c, "NICK %s", nick);
	sendf(c, "USER u%s 0 * :%s", nick, nick);
	expect_cmd(c, "CAP");
	assert_true(param_is(&c->msg, 1, "LS"));
	sendf(c, "CAP REQ :%s", caps);
	expect_cmd(c, "CAP");
	assert_true(param_is(&c->msg, 1, "ACK"));
	sendf(c, "CAP END");
	expect_cmd(c, "001");
	assert_true(param_is(&c->msg, 0, nick));
}

static void test_welcome_burst_parses(void **state)
{
	static const char *const wanted[] = { "message-tags", "server-time", "batch",
		"echo-message", "labeled-response", "account-tag", "multi-prefix",
		"away-notify", "chghost", "setname", "invite-notify" };
	client_t *c = client_connect();
	enum irc_casemap cm = IRC_CASEMAP_NONE;
	bool saw_casemapping = false;
	(void)state;

	sendf(c, "CAP LS 302");
	expect_cmd(c, "CAP");
	/* Everything the irc-client will ask for is on offer. */
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!param_has(&c->msg, c->msg.n_params - 1, wanted[i]))
			fail_msg("InspIRCd does not offer %s", wanted[i]);
	}
	sendf(c, "NICK alice");
	sendf(c, "USER ualice 0 * :Alice");
	sendf(c, "CAP REQ :message-tags server-time batch echo-message labeled-response");
	expect_cmd(c, "CAP");
	assert_true(param_is(&c->msg, 1, "ACK"));
	sendf(c, "CAP END");
	expect_cmd(c, "001");
	assert_server_time(&c->msg);
	assert_true(param_has(&c->msg, 1, "alice!ualice@127.0.0.1"));
	while (next_msg(c)) {
		assert_true(utf8_is_valid(c->line, strlen(c->line)));
		if (irc_msg_command_is(&c->msg, "005")) {
			for (size_t i = 1; i + 1 < c->msg.n_params; i++)
				if (irc_casemap_from_isupport(c->msg.params[i].ptr,
							      c->msg.params[i].len, &cm) == 0)
					saw_casemapping = true;
		}
		if (irc_msg_command_is(&c->msg, "376") || irc_msg_command_is(&c->msg, "422"))
			break;
	}
	assert_true(saw_casemapping);
	assert_int_equal(cm, IRC_CASEMAP_RFC1459);
	assert_true(c->lines >= 10);
	client_close(c);
}

static void test_webirc_gives_real_ip(void **state)
{
	client_t *c = client_connect();
	(void)state;

	sendf(c, "WEBIRC " WEBIRC_PASSWORD " eirc-gateway 198.51.100.7 198.51.100.7");
	sendf(c, "NICK bob");
	sendf(c, "USER ubob 0 * :Bob");
	expect_cmd(c, "001");
	assert_true(param_has(&c->msg, 1, "bob!ubob@198.51.100.7"));
	client_close(c);

	/* A wrong password is refused and the connection closed. */
	c = client_connect();
	/* One write: the server may close as soon as it has read WEBIRC. */
	sendf(c, "WEBIRC wrong-password eirc-gateway 198.51.100.8 198.51.100.8\r\n"
		 "NICK mallory\r\nUSER umallory 0 * :M");
	bool refused = false;
	while (next_msg(c)) {
		assert_false(irc_msg_command_is(&c->msg, "001"));
		if (irc_msg_command_is(&c->msg, "ERROR") || irc_msg_command_is(&c->msg, "FAIL"))
			refused = true;
	}
	assert_true(refused);
	client_close(c);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Without the module InspIRCd sends 001 only on its once-per-second pass:
 * 0-1 s after USER, and exactly 1 s on an idle server. Several fresh
 * connections, each well under that, so one lucky tick cannot pass it. */
#define FAST_001_MS 500
#define FAST_001_ROUNDS 3

static void test_001_without_waiting_for_tick(void **state)
{
	(void)state;
	for (int i = 0; i < FAST_001_ROUNDS; i++) {
		client_t *c = client_connect();
		char nick[16];

		snprintf(nick, sizeof(nick), "fast%d", i);
		long long t0 = mono_ms();
		sendf(c, "NICK %s", nick);
		sendf(c, "USER u%s 0 * :%s", nick, nick);
		expect_cmd(c, "001");
		long long ms = mono_ms() - t0;
		if (ms >= FAST_001_MS)
			fail_msg("NICK/USER -> 001 took %lld ms (limit %d): is "
				 "m_eirc_fastregister loaded?", ms, FAST_001_MS);
		client_close(c);
	}
}

/* CAP negotiation still holds registration back: no 001 before CAP END,
 * however long the client waits (here across at least one 1 s tick). */
static void test_cap_ls_holds_001_until_cap_end(void **state)
{
	client_t *c = client_connect();
	(void)state;

	sendf(c, "CAP LS 302");
	sendf(c, "NICK capwait");
	sendf(c, "USER ucapwait 0 * :capwait");
	expect_cmd(c, "CAP");
	assert_true(param_is(&c->msg, 1, "LS"));
	/* Another command in REG_NICKUSER must not finish registration. */
	sendf(c, "CAP LIST");
	long long until = mono_ms() + 1200;
	for (int wait; (wait = (int)(until - mono_ms())) > 0;) {
		if (!next_msg_within(c, wait))
			break;
		assert_false(irc_msg_command_is(&c->msg, "001"));
	}
	long long t0 = mono_ms();
	sendf(c, "CAP END");
	expect_cmd(c, "001");
	assert_true(param_is(&c->msg, 0, "capwait"));
	assert_true(mono_ms() - t0 < FAST_001_MS);
	client_close(c);
}

static void test_message_has_msgid_time_and_echo(void **state)
{
	static const char caps[] = "message-tags server-time echo-message";
	client_t *a = client_connect(), *b = client_connect();
	struct irc_msg_tag ta, tb, tt;
	char msgid[128];
	(void)state;

	register_client(a, "carol", caps);
	register_client(b, "dave", caps);
	sendf(a, "JOIN #eirc-test");
	expect_cmd(a, "366");
	sendf(b, "JOIN #eirc-test");
	expect_cmd(b, "366");
	sendf(b, "@+draft/reply=none PRIVMSG #eirc-test :hello <script>alert(1)</script> \xc3\xa9");

	expect_cmd(a, "PRIVMSG");
	assert_true(param_is(&a->msg, 0, "#eirc-test"));
	assert_true(param_is(&a->msg, 1, "hello <script>alert(1)</script> \xc3\xa9"));
	assert_int_equal(irc_msg_tag_get(&a->msg, "msgid", &ta), 0);
	assert_int_equal(irc_msg_tag_get(&a->msg, "+draft/reply", &tt), 0);
	assert_server_time(&a->msg);
	assert_true(ta.value_len > 0 && ta.value_len < sizeof(msgid));
	memcpy(msgid, ta.value, ta.value_len);

	/* echo-message: the sender gets its own line with the same msgid. */
	expect_cmd(b, "PRIVMSG");
	assert_int_equal(irc_msg_tag_get(&b->msg, "msgid", &tb), 0);
	assert_int_equal(tb.value_len, ta.value_len);
	assert_memory_equal(tb.value, msgid, ta.value_len);

	/* Re-serializing what we parsed gives a line the parser accepts again. */
	char out[IRC_LINE_MAX];
	struct irc_msg again;
	int n = irc_msg_serialize(&a->msg, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(irc_msg_parse(out, (size_t)n, 0, &again), 0);
	assert_true(irc_msg_equal(&a->msg, &again));
	client_close(a);
	client_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welcome_burst_parses),
		cmocka_unit_test(test_webirc_gives_real_ip),
		cmocka_unit_test(test_message_has_msgid_time_and_echo),
		cmocka_unit_test(test_001_without_waiting_for_tick),
		cmocka_unit_test(test_cap_ls_holds_001_until_cap_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
