/*
 * The WebSocket test client (tests/harness/ws_client) against a real
 * WebSocket server: InspIRCd's m_websocket, with an Origin allow-list.
 * Registration and a PING over text and binary messages, lines read
 * through irc_testclient over the WebSocket, an upgrade refused for its
 * Origin (status reported, also by the raw upgrade), a message sent in three fragments, a client
 * that stops reading while a talker fills its channel and then gets every
 * line, and the close the server sends after QUIT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/irc_testclient.h"
#include "scripts/stack/launch.h"
#include "tests/harness/ws_client.h"

#define ORIGIN "http://allowed.example"

static srv_env_t *env;
static srv_t *ircd;
static int ws_port;
static char url[128];

static int setup(void **state)
{
	char binds[256];
	(void)state;

	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	ws_port = srv_free_port();
	snprintf(binds, sizeof(binds),
		 "<bind address=\"127.0.0.1\" port=\"%d\" type=\"clients\" hook=\"websocket\">\n",
		 ws_port);
	srv_ircd_opts_t o = {
		.localmax = 100,
		.extra_binds = binds,
		.extra = "<module name=\"sha1\">\n<module name=\"websocket\">\n"
			 "<websocket sendastext=\"yes\">\n<wsorigin allow=\"" ORIGIN "\">\n",
	};
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", ws_port);
	return srv_inspircd_start(env, &o, &ircd) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

static ws_client_t *open_ws(const char *protocols)
{
	ws_opts_t o = {.origin = ORIGIN, .protocols = protocols};
	ws_refusal_t why;
	ws_client_t *ws = NULL;
	int r = ws_connect(url, &o, &ws, &why);

	if (r != 0)
		fail_msg("connect: %s (status %d, %s)", strerror(-r), why.status, why.error);
	return ws;
}

static void test_register_and_ping(void **state)
{
	ws_client_t *ws = open_ws(NULL);
	itc_t *c = itc_from_ws(ws, false);
	(void)state;

	/* InspIRCd 3.15 negotiates no subprotocol */
	assert_string_equal(ws_protocol(ws), "");
	itc_register(c, "wsalice");
	assert_true(itc_param_is(&c->msg, 0, "wsalice"));
	itc_sendf(c, "PING :over-text");
	itc_expect(c, "PONG", "over-text");
	/* a binary message is a line too */
	assert_int_equal(ws_send(ws, true, "PING :over-binary", 17), 0);
	itc_expect(c, "PONG", "over-binary");
	itc_close(c);
	ws_free(ws);
}

static void test_origin_refused(void **state)
{
	ws_opts_t o = {.origin = "http://evil.example"};
	ws_refusal_t why;
	ws_client_t *ws = NULL;
	(void)state;

	assert_int_equal(ws_connect(url, &o, &ws, &why), -EPERM);
	assert_null(ws);
	print_message("refused: status %d, body \"%s\", lws: %s\n", why.status, why.body,
		      why.error);
	assert_int_equal(why.status, 403);
	/* the same over a plain socket, where the body can be read too */
	char body[256];
	assert_int_equal(ws_raw_upgrade(url, &o, body, sizeof(body)), 403);
	ws_opts_t good = {.origin = ORIGIN};
	assert_int_equal(ws_raw_upgrade(url, &good, body, sizeof(body)), 101);
	/* nothing listens on port 1: an error, not a refusal */
	char bad[64];
	snprintf(bad, sizeof(bad), "ws://127.0.0.1:1/");
	assert_int_equal(ws_connect(bad, &o, &ws, &why), -EIO);
	assert_int_equal(why.status, 0);
}

static void test_fragments(void **state)
{
	ws_client_t *ws = open_ws(NULL);
	itc_t *c = itc_from_ws(ws, false);
	(void)state;

	itc_register(c, "wsfrag");
	assert_int_equal(ws_send_frame(ws, WS_FRAG_FIRST_TEXT, "PING :frag", 10), 0);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_MORE, "men", 3), 0);
	assert_int_equal(ws_send_frame(ws, WS_FRAG_LAST, "ted", 3), 0);
	itc_expect(c, "PONG", "fragmented");
	itc_close(c);
	ws_free(ws);
}

static void test_paused_reader_gets_everything(void **state)
{
	ws_client_t *ws = open_ws(NULL);
	itc_t *c = itc_from_ws(ws, false);
	itc_t *talker = itc_connect(srv_port(ircd));
	const int lines = 200;
	int seen = 0;
	(void)state;

	itc_register(c, "wsslow");
	itc_sendf(c, "JOIN #ws");
	itc_expect(c, "366", NULL);
	itc_register(talker, "wstalker");
	itc_sendf(talker, "JOIN #ws");
	itc_expect(talker, "366", NULL);
	ws_pause(ws, true);
	for (int i = 0; i < lines; i++)
		itc_sendf(talker, "PRIVMSG #ws :line %d %0300d", i, i);
	itc_sendf(talker, "PING :sent");
	itc_expect_within(talker, "PONG", "sent", 60000);
	ws_idle(ws, 200); /* nothing is read while paused */
	ws_pause(ws, false);
	while (seen < lines && itc_next(c))
		seen += irc_msg_command_is(&c->msg, "PRIVMSG");
	assert_int_equal(seen, lines);
	itc_close(talker);
	itc_close(c);
	ws_free(ws);
}

static void test_server_close(void **state)
{
	ws_client_t *ws = open_ws(NULL);
	itc_t *c = itc_from_ws(ws, false);
	char reason[128];
	(void)state;

	itc_register(c, "wsquit");
	itc_sendf(c, "QUIT :bye");
	itc_expect(c, "ERROR", NULL);
	int code = ws_wait_close(ws, 5000, reason, sizeof(reason));
	print_message("InspIRCd closed with %d \"%s\"\n", code, reason);
	assert_true(code >= 1000 && code < 5000);
	assert_true(ws_closed(ws));
	const char *m;
	size_t len;
	assert_int_equal(ws_recv(ws, 100, &m, &len, NULL), -EPIPE);
	assert_int_equal(ws_send_text(ws, "PING :late"), -EPIPE);
	itc_close(c);
	ws_free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_ping),
		cmocka_unit_test(test_origin_refused),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_paused_reader_gets_everything),
		cmocka_unit_test(test_server_close),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
