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

#include "common/clock.h"
#include "common/irc_casemap.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"
#include "common/utf8.h"
#include "tests/harness/irc_testclient.h"
#include "scripts/stack/launch.h"

#define WEBIRC_PASSWORD "webirc-test-secret"

static srv_env_t *env;
static srv_t *ircd;

static int setup(void **state)
{
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD};
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

/* Reads in small pieces on purpose: reads split lines anywhere, and every
 * line the server sends must frame and parse. */
static itc_t *client_connect(void)
{
	itc_t *c = itc_connect(srv_port(ircd));

	c->read_chunk = 512;
	return c;
}

/* server-time: YYYY-MM-DDThh:mm:ss.sssZ */
static void assert_server_time(const irc_msg_t *m)
{
	irc_msg_tag_t t;
	struct tm tm = {0};

	assert_int_equal(irc_msg_tag_get(m, "time", &t), 0);
	assert_int_equal(t.value_len, 24);
	char v[32];
	memcpy(v, t.value, t.value_len);
	v[t.value_len] = '\0';
	const char *end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	assert_true(end[0] == '.' && end[4] == 'Z');
}

static void register_client(itc_t *c, const char *nick, const char *caps)
{
	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER u%s 0 * :%s", nick, nick);
	itc_expect(c, "CAP", NULL);
	assert_true(itc_param_is(&c->msg, 1, "LS"));
	itc_sendf(c, "CAP REQ :%s", caps);
	itc_expect(c, "CAP", NULL);
	assert_true(itc_param_is(&c->msg, 1, "ACK"));
	itc_sendf(c, "CAP END");
	itc_expect(c, "001", NULL);
	assert_true(itc_param_is(&c->msg, 0, nick));
}

static void test_welcome_burst_parses(void **state)
{
	static const char *const wanted[] = {"message-tags", "server-time",      "batch",
					     "echo-message", "labeled-response", "account-tag",
					     "multi-prefix", "away-notify",      "chghost",
					     "setname",      "invite-notify"};
	itc_t *c = client_connect();
	enum irc_casemap cm = IRC_CASEMAP_NONE;
	bool saw_casemapping = false;
	(void)state;

	itc_sendf(c, "CAP LS 302");
	itc_expect(c, "CAP", NULL);
	/* Everything the irc-client will ask for is on offer. */
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!itc_param_has(&c->msg, c->msg.n_params - 1, wanted[i]))
			fail_msg("InspIRCd does not offer %s", wanted[i]);
	}
	itc_sendf(c, "NICK alice");
	itc_sendf(c, "USER ualice 0 * :Alice");
	itc_sendf(c, "CAP REQ :message-tags server-time batch echo-message labeled-response");
	itc_expect(c, "CAP", NULL);
	assert_true(itc_param_is(&c->msg, 1, "ACK"));
	itc_sendf(c, "CAP END");
	itc_expect(c, "001", NULL);
	assert_server_time(&c->msg);
	assert_true(itc_param_has(&c->msg, 1, "alice!ualice@127.0.0.1"));
	while (itc_next(c)) {
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
	itc_close(c);
}

static void test_webirc_gives_real_ip(void **state)
{
	itc_t *c = client_connect();
	(void)state;

	itc_sendf(c, "WEBIRC " WEBIRC_PASSWORD " eirc-gateway 198.51.100.7 198.51.100.7");
	itc_sendf(c, "NICK bob");
	itc_sendf(c, "USER ubob 0 * :Bob");
	itc_expect(c, "001", NULL);
	assert_true(itc_param_has(&c->msg, 1, "bob!ubob@198.51.100.7"));
	itc_close(c);

	/* A wrong password is refused and the connection closed. */
	c = client_connect();
	/* One write: the server may close as soon as it has read WEBIRC. */
	itc_sendf(c, "WEBIRC wrong-password eirc-gateway 198.51.100.8 198.51.100.8\r\n"
		     "NICK mallory\r\nUSER umallory 0 * :M");
	bool refused = false;
	while (itc_next(c)) {
		assert_false(irc_msg_command_is(&c->msg, "001"));
		if (irc_msg_command_is(&c->msg, "ERROR") || irc_msg_command_is(&c->msg, "FAIL"))
			refused = true;
	}
	assert_true(refused);
	itc_close(c);
}

/* Without the module InspIRCd sends 001 only on its once-per-second pass:
 * 0-1 s after USER, and exactly 1 s on an idle server. Several fresh
 * connections, each well under that, so one lucky tick cannot pass it. */
#define FAST_001_MS     500
#define FAST_001_ROUNDS 3

static void test_001_without_waiting_for_tick(void **state)
{
	(void)state;
	for (int i = 0; i < FAST_001_ROUNDS; i++) {
		itc_t *c = client_connect();
		char nick[16];

		snprintf(nick, sizeof(nick), "fast%d", i);
		uint64_t t0 = clock_mono_ms();
		itc_sendf(c, "NICK %s", nick);
		itc_sendf(c, "USER u%s 0 * :%s", nick, nick);
		itc_expect(c, "001", NULL);
		long long ms = (long long)(clock_mono_ms() - t0);
		if (ms >= FAST_001_MS)
			fail_msg("NICK/USER -> 001 took %lld ms (limit %d): is "
				 "m_eirc_fastregister loaded?",
				 ms, FAST_001_MS);
		itc_close(c);
	}
}

/* CAP negotiation still holds registration back: no 001 before CAP END,
 * however long the client waits (here across at least one 1 s tick). */
static void test_cap_ls_holds_001_until_cap_end(void **state)
{
	itc_t *c = client_connect();
	(void)state;

	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "NICK capwait");
	itc_sendf(c, "USER ucapwait 0 * :capwait");
	itc_expect(c, "CAP", NULL);
	assert_true(itc_param_is(&c->msg, 1, "LS"));
	/* Another command in REG_NICKUSER must not finish registration. */
	itc_sendf(c, "CAP LIST");
	long long until = clock_mono_ms() + 1200;
	for (int wait; (wait = (int)(until - clock_mono_ms())) > 0;) {
		if (!itc_next_within(c, wait))
			break;
		assert_false(irc_msg_command_is(&c->msg, "001"));
	}
	uint64_t t0 = clock_mono_ms();
	itc_sendf(c, "CAP END");
	itc_expect(c, "001", NULL);
	assert_true(itc_param_is(&c->msg, 0, "capwait"));
	assert_true(clock_mono_ms() - t0 < FAST_001_MS);
	itc_close(c);
}

static void test_message_has_msgid_time_and_echo(void **state)
{
	static const char caps[] = "message-tags server-time echo-message";
	itc_t *a = client_connect(), *b = client_connect();
	irc_msg_tag_t ta, tb, tt;
	char msgid[128];
	(void)state;

	register_client(a, "carol", caps);
	register_client(b, "dave", caps);
	itc_sendf(a, "JOIN #eirc-test");
	itc_expect(a, "366", NULL);
	itc_sendf(b, "JOIN #eirc-test");
	itc_expect(b, "366", NULL);
	itc_sendf(
		b,
		"@+draft/reply=none PRIVMSG #eirc-test :hello <script>alert(1)</script> \xc3\xa9");

	itc_expect(a, "PRIVMSG", NULL);
	assert_true(itc_param_is(&a->msg, 0, "#eirc-test"));
	assert_true(itc_param_is(&a->msg, 1, "hello <script>alert(1)</script> \xc3\xa9"));
	assert_int_equal(irc_msg_tag_get(&a->msg, "msgid", &ta), 0);
	assert_int_equal(irc_msg_tag_get(&a->msg, "+draft/reply", &tt), 0);
	assert_server_time(&a->msg);
	assert_true(ta.value_len > 0 && ta.value_len < sizeof(msgid));
	memcpy(msgid, ta.value, ta.value_len);

	/* echo-message: the sender gets its own line with the same msgid. */
	itc_expect(b, "PRIVMSG", NULL);
	assert_int_equal(irc_msg_tag_get(&b->msg, "msgid", &tb), 0);
	assert_int_equal(tb.value_len, ta.value_len);
	assert_memory_equal(tb.value, msgid, ta.value_len);

	/* Re-serializing what we parsed gives a line the parser accepts again. */
	char out[IRC_LINE_MAX];
	irc_msg_t again;
	int n = irc_msg_serialize(&a->msg, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(irc_msg_parse(out, (size_t)n, 0, &again), 0);
	assert_true(irc_msg_equal(&a->msg, &again));
	itc_close(a);
	itc_close(b);
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
