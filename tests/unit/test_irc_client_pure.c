/*
 * Unit tests of the irc-client's pure modules: the strict CRLF framer
 * (split, merged, byte-by-byte, at the limit and one past it, injection),
 * the token bucket, the CHATHISTORY checks, the command-line identity
 * (limits at and past them), the policy table and the private-room rule,
 * the relay filter, and common/irc_reg (CAP negotiation, CAP NEW, nick
 * policies, the |2 suffix at the nick limit (common/irc_nick), PING) and
 * common/backoff's delays as irc_conn uses them; a session driven without
 * I/O through the gateway's EIRC ROOMS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/irc_conn.h"
#include "common/irc_reg.h"
#include "common/backoff.h"
#include "common/tokbucket.h"
#include "common/irc_line.h"
#include "irc-client/ircc_ident.h"
#include "irc-client/ircc_policy.h"
#include "irc-client/ircc_relay.h"
#include "irc-client/ircc_session.h"

static irc_line_t fr;

static int next(char **line, size_t *len)
{
	return irc_line_next(&fr, line, len);
}

static void test_frame_split_merged(void **state)
{
	static const char in[] = "PING :a\r\nPRIVMSG #c :b c\r\n\r\nQUIT\r\n";
	const char *want[] = {"PING :a", "PRIVMSG #c :b c", "QUIT"};
	char *line;
	size_t len, got = 0;
	(void)state;

	irc_line_init_strict(&fr, 0);
	for (size_t i = 0; i < sizeof(in) - 1; i++) { /* one byte at a time */
		assert_int_equal(irc_line_feed(&fr, in + i, 1), 1);
		while (next(&line, &len) == 0)
			assert_string_equal(line, want[got++]);
	}
	assert_int_equal(got, 3);
	irc_line_init_strict(&fr, 0);
	assert_int_equal(irc_line_feed(&fr, in, sizeof(in) - 1), sizeof(in) - 1);
	for (got = 0; next(&line, &len) == 0;)
		assert_string_equal(line, want[got++]);
	assert_int_equal(got, 3);
}

static void test_frame_injection(void **state)
{
	static const char in[] = "PRIVMSG #a :x\nQUIT\r\nPRIVMSG #a :y\rQUIT\r\nA\0B\r\nOK\r\n";
	char *line;
	size_t len;
	(void)state;

	irc_line_init_strict(&fr, 0);
	irc_line_feed(&fr, in, sizeof(in) - 1);
	assert_int_equal(next(&line, &len), IRC_MSG_EMALFORMED);
	assert_int_equal(next(&line, &len), IRC_MSG_EMALFORMED);
	assert_int_equal(next(&line, &len), IRC_MSG_EMALFORMED);
	assert_int_equal(next(&line, &len), 0);
	assert_string_equal(line, "OK");
	assert_int_equal(next(&line, &len), IRC_MSG_EAGAIN);
}

/* A line of exactly IRC_LINE_MAX bytes with its CRLF passes; one more
 * byte is refused once, and the next line is fine. */
static void test_frame_limit(void **state)
{
	static char buf[IRC_LINE_MAX + 8];
	char *line;
	size_t len;
	(void)state;

	for (int extra = 0; extra <= 1; extra++) {
		size_t n = IRC_LINE_MAX - 2 + (size_t)extra;
		memset(buf, 'x', n);
		memcpy(buf + n, "\r\nNEXT\r\n", 8);
		irc_line_init_strict(&fr, 0);
		size_t off = 0;
		int r, lines = 0, toolong = 0;
		while (off < n + 8 || (r = next(&line, &len)) != IRC_MSG_EAGAIN) {
			if (off < n + 8)
				off += irc_line_feed(&fr, buf + off, n + 8 - off);
			while ((r = next(&line, &len)) != IRC_MSG_EAGAIN) {
				lines += r == 0;
				toolong += r == IRC_MSG_ETOOLONG;
				if (r == 0 && len != 4)
					assert_int_equal(len, n);
			}
		}
		assert_int_equal(toolong, extra);
		assert_int_equal(lines, 2 - extra);
	}
}

static void test_frame_huge_line(void **state)
{
	char chunk[4096];
	char *line;
	size_t len;
	int toolong = 0;
	(void)state;

	memset(chunk, 'y', sizeof(chunk));
	irc_line_init_strict(&fr, 0);
	for (int i = 0; i < 25; i++) { /* 100 KB without CRLF */
		for (size_t off = 0; off < sizeof(chunk);) {
			off += irc_line_feed(&fr, chunk + off, sizeof(chunk) - off);
			int r;
			while ((r = next(&line, &len)) != IRC_MSG_EAGAIN)
				toolong += r == IRC_MSG_ETOOLONG;
		}
	}
	irc_line_feed(&fr, "\r\nPING\r\n", 8);
	assert_int_equal(next(&line, &len), 0);
	assert_string_equal(line, "PING");
	assert_int_equal(toolong, 1);
}

static void test_flood(void **state)
{
	tokbucket_t b;
	(void)state;

	tokbucket_init(&b, 5, 20, 1000);
	for (int i = 0; i < 20; i++) /* the burst, at the limit */
		assert_true(tokbucket_take(&b, 1, 1000));
	assert_false(tokbucket_take(&b, 1, 1000)); /* one past it */
	assert_false(tokbucket_take(&b, 1, 1199));
	assert_true(tokbucket_take(&b, 1, 1200));     /* 5/s: one token per 200 ms */
	assert_true(tokbucket_take(&b, 20, 1000000)); /* refill caps at burst */
	assert_false(tokbucket_take(&b, 1, 1000000));
}

static int chathist(const char *text, chathist_req_t *req, const char **code)
{
	static char buf[1024];
	irc_msg_t m;
	chathist_err_t err = {0};

	snprintf(buf, sizeof(buf), "%s", text);
	assert_int_equal(irc_msg_parse(buf, strlen(buf), IRC_MSG_F_CLIENT, &m), 0);
	int r = ircc_policy_chathist(&m, req, &err);
	*code = err.code;
	return r;
}

static void test_chathistory_checks(void **state)
{
	static const struct {
		const char *line, *code;
	} cases[] = {
		{"CHATHISTORY LATEST #c * 50", NULL},
		{"CHATHISTORY latest #c msgid=abc 1", NULL},
		{"CHATHISTORY BEFORE #c timestamp=2024-01-31T23:59:59.999Z 10", NULL},
		{"CHATHISTORY BETWEEN nick msgid=a msgid=b 1000000", NULL},
		{"CHATHISTORY TARGETS timestamp=2024-01-01T00:00:00.000Z "
		 "timestamp=2024-02-01T00:00:00.000Z 10",
		 NULL},
		{"CHATHISTORY", "NEED_MORE_PARAMS"},
		{"CHATHISTORY LATEST #c *", "NEED_MORE_PARAMS"},
		{"CHATHISTORY SIDEWAYS #c * 5", "UNKNOWN_COMMAND"},
		{"CHATHISTORY LATEST #c * 0", "INVALID_PARAMS"},
		{"CHATHISTORY LATEST #c * -1", "INVALID_PARAMS"},
		{"CHATHISTORY LATEST #c * 1000001", "INVALID_PARAMS"},
		{"CHATHISTORY LATEST #c * 99999999999999999999", "INVALID_PARAMS"},
		{"CHATHISTORY BEFORE #c * 5", "INVALID_PARAMS"},
		{"CHATHISTORY LATEST #a,#b * 5", "INVALID_PARAMS"},
		{"CHATHISTORY AFTER #c foo=1 5", "INVALID_MSGREFTYPE"},
		{"CHATHISTORY AFTER #c timestamp=2024-13-01T00:00:00.000Z 5", "INVALID_MSGREFTYPE"},
		{"CHATHISTORY AFTER #c timestamp=yesterday 5", "INVALID_MSGREFTYPE"},
		{"CHATHISTORY TARGETS msgid=a msgid=b 5", "INVALID_MSGREFTYPE"},
		{"CHATHISTORY LATEST #c * 5 extra", "INVALID_PARAMS"},
	};
	chathist_req_t req;
	const char *code;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = chathist(cases[i].line, &req, &code);
		if (!cases[i].code) {
			if (r != 0)
				fail_msg("%s: refused with %s", cases[i].line, code);
			continue;
		}
		if (r == 0 || strcmp(code, cases[i].code) != 0)
			fail_msg("%s: want %s, got %s", cases[i].line, cases[i].code,
				 r == 0 ? "accepted" : code);
	}
	assert_int_equal(chathist("CHATHISTORY LATEST #c * 50", &req, &code), 0);
	assert_int_equal(req.sub, CHATHIST_LATEST);
	assert_int_equal(req.limit, 50);
	assert_int_equal(req.target.len, 2);
}

static int ident(ircc_ident_t *id, const char *extra_opt, const char *extra_val)
{
	static const eirc_daemon_def_t def = {
		.prog = "ircc", .about = "", .opts = &ircc_ident_opts};
	const char *args[] = {"ircc",        "--config", "x.yaml",  "--user-id",
			      "42",          "--nick",   "alice",   "--client-ip",
			      "203.0.113.9", extra_opt,  extra_val, NULL};
	char *argv[12] = {0};
	int argc = extra_opt ? 11 : 9, status;
	eirc_daemon_args_t cl;

	for (int i = 0; i < argc; i++)
		argv[i] = strdup(args[i]);
	memset(id, 0, sizeof(*id));
	bool ok = eirc_daemon_args(&def, id, argc, argv, &cl, &status);
	if (!ok)
		ircc_ident_clear(id);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return ok ? 0 : -EINVAL;
}

static void test_ident_limits(void **state)
{
	ircc_ident_t id;
	static char rooms[IRCC_ROOMS_MAX * 4 + 8], nick31[40], disp[IRCC_DISPLAY_MAX + 2];
	(void)state;

	assert_int_equal(ident(&id, NULL, NULL), 0);
	assert_string_equal(id.user, "u42");
	assert_string_equal(id.display, "alice");
	ircc_ident_clear(&id);
	/* rooms: 256 at the limit, 257 past it */
	size_t n = 0;
	for (int i = 0; i < IRCC_ROOMS_MAX; i++)
		n += (size_t)snprintf(rooms + n, sizeof(rooms) - n, "%s#%c%c", i ? "," : "",
				      'a' + i / 26 % 26, 'a' + i % 26);
	assert_int_equal(ident(&id, "--rooms", rooms), 0);
	assert_int_equal(id.rooms.n, IRCC_ROOMS_MAX);
	ircc_ident_clear(&id);
	snprintf(rooms + n, sizeof(rooms) - n, ",#zz");
	assert_int_equal(ident(&id, "--rooms", rooms), -EINVAL);
	/* nick: 30 at the limit, 31 past it; display name likewise */
	memset(nick31, 'n', 30);
	nick31[30] = '\0';
	assert_int_equal(ident(&id, "--nick", nick31), 0);
	ircc_ident_clear(&id);
	nick31[30] = 'n';
	nick31[31] = '\0';
	assert_int_equal(ident(&id, "--nick", nick31), -EINVAL);
	memset(disp, 'd', IRCC_DISPLAY_MAX);
	disp[IRCC_DISPLAY_MAX] = '\0';
	assert_int_equal(ident(&id, "--display-name", disp), 0);
	ircc_ident_clear(&id);
	disp[IRCC_DISPLAY_MAX] = 'd';
	disp[IRCC_DISPLAY_MAX + 1] = '\0';
	assert_int_equal(ident(&id, "--display-name", disp), -EINVAL);
	assert_int_equal(ident(&id, "--nick", "bad nick"), -EINVAL);
	assert_int_equal(ident(&id, "--user-id", "12abc"), -EINVAL);
	assert_int_equal(ident(&id, "--user-id", "0"), -EINVAL);
	assert_int_equal(ident(&id, "--client-ip", "not-an-ip"), -EINVAL);
	assert_int_equal(ident(&id, "--rooms", "#ok,nochan"), -EINVAL);
	assert_int_equal(ident(&id, "--display-name", "a\nb"), -EINVAL);
}

static irc_msg_t parse(const char *text, char *buf, size_t cap)
{
	irc_msg_t m;

	snprintf(buf, cap, "%s", text);
	assert_int_equal(irc_msg_parse(buf, strlen(buf), 0, &m), 0);
	return m;
}

static void test_policy(void **state)
{
	char buf[512];
	irc_msg_t m;
	static char m0[] = "#private-*", mine0[] = "#Private-Mine";
	char *masks[] = {m0};
	ircc_ident_t id = {0};
	char *mine[] = {mine0};
	(void)state;

	static const struct {
		const char *line;
		enum ircc_policy_action a;
	} cases[] = {
		{"PRIVMSG #a :x", IRCC_POL_FORWARD},
		{"cap LS", IRCC_POL_CAP},
		{"PASS x", IRCC_POL_REGISTRATION},
		{"USER a 0 * :b", IRCC_POL_REGISTRATION},
		{"WEBIRC a b c d", IRCC_POL_UNKNOWN},
		{"SERVICE a", IRCC_POL_UNKNOWN},
		{"OPER a b", IRCC_POL_NOPRIV},
		{"kill x", IRCC_POL_NOPRIV},
		{"SQUIT s", IRCC_POL_NOPRIV},
		{"NICK x", IRCC_POL_NICK},
		{"JOIN #a", IRCC_POL_JOIN},
		{"CHATHISTORY LATEST", IRCC_POL_CHATHISTORY},
		{"QUIT", IRCC_POL_QUIT},
		{"PING x", IRCC_POL_PING},
		{"PONG x", IRCC_POL_IGNORE},
		{"mode #a +b x", IRCC_POL_MODE},
		{"eirc ROOMS :#a", IRCC_POL_CONTROL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = parse(cases[i].line, buf, sizeof(buf));
		assert_int_equal(ircc_policy_classify(&m), cases[i].a);
	}
	id.private_rooms.v = mine;
	id.private_rooms.n = 1;
	assert_true(ircc_policy_join_allowed(&id.private_rooms, masks, 1, "#public", 7));
	assert_true(ircc_policy_join_allowed(&id.private_rooms, masks, 1, "#private-mine", 13));
	assert_false(ircc_policy_join_allowed(&id.private_rooms, masks, 1, "#PRIVATE-other", 14));
	/* public: no mask and not one of the user's private rooms (a private
	 * room of eirc-auth outside the masks is in --private-rooms) */
	assert_true(ircc_policy_room_public(&id.private_rooms, masks, 1, "#public", 7));
	assert_false(ircc_policy_room_public(&id.private_rooms, masks, 1, "#private-mine", 13));
	assert_false(ircc_policy_room_public(&id.private_rooms, masks, 1, "#private-other", 14));
	assert_false(ircc_policy_room_public(&id.private_rooms, NULL, 0, "#PRIVATE-MINE", 13));

	static const struct {
		const char *line;
		bool visibility;
	} modes[] = {
		{"MODE #a -s", true}, {"MODE #a +p", true},  {"MODE #a +nt-s", true},
		{"MODE &a +s", true}, {"MODE #a +b", false}, {"MODE #a +k secret", false},
		{"MODE #a", false},   {"MODE me +s", false}, {"MODE #a +o ps", false},
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		m = parse(modes[i].line, buf, sizeof(buf));
		assert_int_equal(ircc_policy_mode_visibility(&m), modes[i].visibility);
	}
}

static int relay(const char *line, uint32_t bcaps, char *out)
{
	char buf[1024];
	irc_msg_t m = parse(line, buf, sizeof(buf));
	ircc_relay_ctx_t ctx = {bcaps, IRC_CAP_ALL, "me", NULL};

	return ircc_relay_format(&m, &ctx, out, 1024);
}

static void test_relay_filter(void **state)
{
	char out[1024];
	const uint32_t all = IRC_CAP_ALL;
	(void)state;

	static const char pm[] =
		"@time=2024-01-01T00:00:00.000Z;msgid=x;+r=1 :a!u@h PRIVMSG #c :hi";
	assert_true(relay(pm, 0, out) > 0);
	assert_string_equal(out, ":a!u@h PRIVMSG #c hi");
	assert_true(relay(pm, IRC_CAP_BIT(IRC_CAP_SERVER_TIME), out) > 0);
	assert_string_equal(out, "@time=2024-01-01T00:00:00.000Z :a!u@h PRIVMSG #c hi");
	assert_true(relay(pm, all, out) > 0);
	assert_string_equal(out,
			    "@time=2024-01-01T00:00:00.000Z;msgid=x;+r=1 :a!u@h PRIVMSG #c hi");
	assert_int_equal(relay("BATCH +x chathistory #c", 0, out), 0);
	assert_int_equal(relay("@label=1 ACK", 0, out), 0);
	assert_int_equal(relay(":a!u@h AWAY :gone", 0, out), 0);
	assert_int_equal(relay(":a!u@h TAGMSG #c", 0, out), 0);
	assert_int_equal(relay(":a!u@h INVITE b #c", 0, out), 0);
	assert_true(relay(":a!u@h INVITE me #c", 0, out) > 0);
	/* echo of our own message dropped without echo-message */
	assert_int_equal(relay(":me!u@h PRIVMSG #c :mine", 0, out), 0);
	assert_true(relay(":me!u@h PRIVMSG #c :mine", all, out) > 0);
	assert_true(relay(":s 353 me = #c :@+a +b @c", 0, out) > 0);
	assert_string_equal(out, ":s 353 me = #c :@a +b @c");
}

/* ---- irc_reg ---- */

static char sent[16][512];
static size_t n_sent;

static int reg_send(void *ud, const char *line, size_t len)
{
	(void)ud;
	assert_true(n_sent < 16);
	snprintf(sent[n_sent++], sizeof(sent[0]), "%.*s", (int)len, line);
	return 0;
}

static int feed(irc_reg_t *r, const char *line)
{
	char buf[1024];
	irc_msg_t m = parse(line, buf, sizeof(buf));

	return irc_reg_handle(r, &m);
}

static void test_reg_caps_and_welcome(void **state)
{
	irc_reg_params_t p = {
		"alice",       "u1",        "Alice A",           "pw", "eirc", "203.0.113.9",
		"203.0.113.9", IRC_CAP_ALL, IRC_REG_NICK_SUFFIX, NULL};
	irc_reg_t r;
	(void)state;

	n_sent = 0;
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), 0);
	assert_int_equal(irc_reg_start(&r), 0);
	assert_string_equal(sent[0], "WEBIRC pw eirc 203.0.113.9 203.0.113.9");
	assert_string_equal(sent[1], "CAP LS 302");
	assert_string_equal(sent[2], "NICK alice");
	assert_string_equal(sent[3], "USER u1 0 * :Alice A");
	/* multi-line LS; an unknown cap and a value are ignored */
	assert_int_equal(feed(&r, ":s CAP * LS * :message-tags sasl=PLAIN server-time"), 0);
	assert_int_equal(n_sent, 4);
	assert_int_equal(feed(&r, ":s CAP * LS :batch echo-message"), 0);
	assert_string_equal(sent[4], "CAP REQ :message-tags server-time batch echo-message");
	assert_int_equal(feed(&r, ":s CAP * ACK :message-tags server-time batch echo-message"), 0);
	assert_string_equal(sent[5], "CAP END");
	assert_int_equal(r.caps_enabled,
			 IRC_CAP_BIT(IRC_CAP_MESSAGE_TAGS) | IRC_CAP_BIT(IRC_CAP_SERVER_TIME) |
				 IRC_CAP_BIT(IRC_CAP_BATCH) | IRC_CAP_BIT(IRC_CAP_ECHO_MESSAGE));
	assert_int_equal(feed(&r, "PING :tok en"), 0);
	assert_string_equal(sent[6], "PONG :tok en");
	assert_int_equal(feed(&r, ":irc.x 001 alice :Welcome"), IRC_REG_REGISTERED);
	assert_string_equal(r.server, "irc.x");
	assert_int_equal(feed(&r, ":alice!u1@h NICK :alice2"), 0);
	assert_string_equal(r.nick, "alice2");
	/* a bad param is refused up front */
	p.nick = "bad nick";
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), -EINVAL);
}

/* PASS (the logger's capture class): sent first, before NICK and USER; a
 * password of IRC_REG_PASSWORD_MAX bytes is sent, one more byte, a space
 * or an empty one is refused up front. */
static void test_reg_password(void **state)
{
	char pw[IRC_REG_PASSWORD_MAX + 2];
	irc_reg_params_t p = {.nick = "eirc-logger",
			      .user = "eirclog",
			      .realname = "eIRC logger",
			      .password = "capture-secret"};
	irc_reg_t r;
	(void)state;

	n_sent = 0;
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), 0);
	assert_int_equal(irc_reg_start(&r), 0);
	assert_int_equal(n_sent, 3);
	assert_string_equal(sent[0], "PASS capture-secret");
	assert_string_equal(sent[1], "NICK eirc-logger");
	assert_string_equal(sent[2], "USER eirclog 0 * :eIRC logger");
	memset(pw, 'p', sizeof(pw) - 1);
	pw[IRC_REG_PASSWORD_MAX] = '\0';
	p.password = pw;
	n_sent = 0;
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), 0);
	assert_int_equal(irc_reg_start(&r), 0);
	assert_int_equal(strlen(sent[0]), strlen("PASS ") + IRC_REG_PASSWORD_MAX);
	pw[IRC_REG_PASSWORD_MAX] = 'p';
	pw[IRC_REG_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), -EINVAL);
	p.password = "two words";
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), -EINVAL);
	p.password = "";
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), -EINVAL);
}

/* cap-notify: CAP NEW requests the wanted caps that appear, at every stage
 * (during CAP LS they join the first REQ), and changes nothing else. */
static void test_reg_cap_new(void **state)
{
	irc_reg_params_t p = {"carol",
			      "u3",
			      "Carol",
			      NULL,
			      NULL,
			      NULL,
			      NULL,
			      IRC_CAP_ALL & ~IRC_CAP_BIT(IRC_CAP_SETNAME),
			      IRC_REG_NICK_SUFFIX,
			      NULL};
	const uint32_t tags = IRC_CAP_BIT(IRC_CAP_MESSAGE_TAGS);
	const uint32_t batch = IRC_CAP_BIT(IRC_CAP_BATCH);
	const uint32_t away = IRC_CAP_BIT(IRC_CAP_AWAY_NOTIFY);
	irc_reg_t r;
	(void)state;

	n_sent = 0;
	irc_reg_init(&r, &p, reg_send, NULL);
	irc_reg_start(&r); /* CAP LS 302, NICK, USER */
	/* NEW in the middle of a multi-line LS: part of the first REQ */
	assert_int_equal(feed(&r, ":s CAP * LS * :message-tags"), 0);
	assert_int_equal(feed(&r, ":s CAP * NEW :server-time"), 0);
	assert_int_equal(n_sent, 3);
	assert_int_equal(feed(&r, ":s CAP * LS :sasl"), 0);
	assert_string_equal(sent[3], "CAP REQ :message-tags server-time");
	assert_int_equal(feed(&r, ":s CAP * ACK :message-tags server-time"), 0);
	assert_string_equal(sent[4], "CAP END");
	/* after CAP END, before 001: requested, registration unchanged */
	assert_int_equal(feed(&r, ":s CAP * NEW :batch"), 0);
	assert_string_equal(sent[5], "CAP REQ :batch");
	assert_int_equal(r.state, IRC_REG_WELCOME);
	assert_int_equal(feed(&r, ":s CAP * ACK :batch"), 0);
	assert_int_equal(n_sent, 6); /* no second CAP END */
	assert_int_equal(feed(&r, ":s 001 carol :Welcome"), IRC_REG_REGISTERED);
	uint32_t before = r.caps_enabled;
	assert_true(before & batch);
	/* registered: only wanted, new caps; unknown and unwanted ones not */
	assert_int_equal(feed(&r, ":s CAP carol NEW :sasl=PLAIN away-notify setname draft/x"), 0);
	assert_string_equal(sent[6], "CAP REQ :away-notify");
	assert_true(r.caps_offered & IRC_CAP_BIT(IRC_CAP_SETNAME));
	assert_int_equal(r.caps_enabled, before); /* not before the ACK */
	assert_int_equal(feed(&r, ":s CAP carol ACK :away-notify"), 0);
	assert_int_equal(r.caps_enabled, before | away);
	assert_int_equal(n_sent, 7);
	/* already enabled, or not wanted: nothing to ask */
	assert_int_equal(feed(&r, ":s CAP carol NEW :message-tags setname"), 0);
	assert_int_equal(n_sent, 7);
	/* DEL then NEW again: asked again; a NAK leaves it off */
	assert_int_equal(feed(&r, ":s CAP carol DEL :message-tags"), 0);
	assert_int_equal(r.caps_enabled & tags, 0);
	assert_int_equal(feed(&r, ":s CAP carol NEW :message-tags"), 0);
	assert_string_equal(sent[7], "CAP REQ :message-tags");
	assert_int_equal(feed(&r, ":s CAP carol NAK :message-tags"), 0);
	assert_int_equal(r.caps_enabled & tags, 0);
	assert_int_equal(r.state, IRC_REG_DONE);
	assert_int_equal(n_sent, 8);
	/* a malformed NEW (no list) is ignored */
	assert_int_equal(feed(&r, ":s CAP carol NEW"), 0);
	assert_int_equal(n_sent, 8);
}

static void test_reg_nick_policies(void **state)
{
	irc_reg_params_t p = {"bob", "u2", "Bob", NULL, NULL, NULL, NULL, 0, IRC_REG_NICK_SUFFIX,
			      NULL};
	irc_reg_t r;
	(void)state;

	n_sent = 0;
	irc_reg_init(&r, &p, reg_send, NULL);
	irc_reg_start(&r);
	assert_string_equal(sent[0], "NICK bob");                /* no WEBIRC, no CAP */
	for (unsigned i = 1; i <= IRC_REG_NICK_TRIES_MAX; i++) { /* at the limit */
		assert_int_equal(feed(&r, ":s 433 * bob :in use"), 0);
		char want[16];
		/* bob|2 ... bob|10: never bob1, which may be another account */
		snprintf(want, sizeof(want), "NICK bob|%u", i + 1);
		assert_string_equal(sent[n_sent - 1], want);
	}
	assert_int_equal(feed(&r, ":s 433 * bob :in use"), -EADDRINUSE); /* one past */
	p.nick_policy = IRC_REG_NICK_FAIL;
	n_sent = 0;
	irc_reg_init(&r, &p, reg_send, NULL);
	irc_reg_start(&r);
	assert_int_equal(feed(&r, ":s 433 * bob :in use"), -EADDRINUSE);
	n_sent = 0;
	irc_reg_init(&r, &p, reg_send, NULL);
	irc_reg_start(&r);
	assert_int_equal(feed(&r, ":s 432 * bob :erroneous"), -EINVAL);
	n_sent = 0;
	irc_reg_init(&r, &p, reg_send, NULL);
	irc_reg_start(&r);
	assert_int_equal(feed(&r, "ERROR :Closing link"), -ECONNRESET);
}

/* The suffix keeps its separator and digits and cuts the base so the nick
 * fits IRC_NICK_MAX (30): a base of 28 with |2 is 30 (at the limit, not
 * cut), one of 29 is cut to 28; with |10 a base of 27 fits, 28 is cut. */
static void test_nick_suffix_at_the_limit(void **state)
{
	char base[IRC_NICK_MAX + 2], out[IRC_NICK_MAX + 1], want[IRC_NICK_MAX + 8];
	(void)state;

	memset(base, 'a', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	base[28] = '\0'; /* 28 + "|2" = 30: whole */
	assert_int_equal(irc_nick_suffixed(base, 2, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s|2", base);
	assert_string_equal(out, want);
	assert_int_equal(strlen(out), IRC_NICK_MAX);
	base[28] = 'b'; /* 29: one past, cut to 28 */
	base[29] = '\0';
	assert_int_equal(irc_nick_suffixed(base, 2, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	base[29] = 'c'; /* 30, the longest account name, with |10 */
	base[30] = '\0';
	assert_int_equal(irc_nick_suffixed(base, 10, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), IRC_NICK_MAX);
	assert_memory_equal(out, base, 27);
	assert_string_equal(out + 27, "|10");
	base[27] = '\0'; /* 27 + "|10" = 30: whole */
	assert_int_equal(irc_nick_suffixed(base, 10, out, sizeof(out)), 0);
	assert_memory_equal(out + 27, "|10", 4);
	/* refusals leave out alone */
	memset(out, 'x', sizeof(out));
	assert_int_equal(irc_nick_suffixed("", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(irc_nick_suffixed("bob", 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(irc_nick_suffixed("bob", 2, out, 5), -EMSGSIZE); /* "bob|2" + NUL */
	assert_int_equal(out[0], 'x');
	assert_int_equal(irc_nick_suffixed("bob", 2, out, 6), 0);
	assert_string_equal(out, "bob|2");
	/* the account-name rule: '|' and '\' (its RFC 1459 upper case) */
	assert_true(irc_nick_has_sep("mallory|2"));
	assert_true(irc_nick_has_sep("mal\\lory"));
	assert_false(irc_nick_has_sep("mallory1"));
	assert_false(irc_nick_has_sep("[m]a`l_l^o{r}y-"));
	assert_false(irc_nick_has_sep(""));
}

/* irc_reg with a 30-byte nick (the longest an account may have): each
 * retry stays at 30 bytes, cut base, whole suffix. */
static void test_reg_nick_suffix_long(void **state)
{
	const char *nick = "abcdefghijklmnopqrstuvwxyz0123";
	irc_reg_params_t p = {nick, "u2", "Long", NULL, NULL, NULL, NULL, 0, IRC_REG_NICK_SUFFIX,
			      NULL};
	irc_reg_t r;
	(void)state;

	assert_int_equal(strlen(nick), IRC_REG_NICK_MAX);
	n_sent = 0;
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), 0);
	irc_reg_start(&r);
	assert_int_equal(feed(&r, ":s 433 * x :in use"), 0);
	assert_string_equal(sent[n_sent - 1], "NICK abcdefghijklmnopqrstuvwxyz01|2");
	for (unsigned i = 2; i < IRC_REG_NICK_TRIES_MAX; i++)
		assert_int_equal(feed(&r, ":s 433 * x :in use"), 0);
	assert_int_equal(feed(&r, ":s 433 * x :in use"), 0);
	assert_string_equal(sent[n_sent - 1], "NICK abcdefghijklmnopqrstuvwxyz0|10");
	assert_int_equal(strlen(r.nick), IRC_REG_NICK_MAX);
	assert_int_equal(feed(&r, ":s 001 abcdefghijklmnopqrstuvwxyz0|10 :hi"), IRC_REG_REGISTERED);
	assert_string_equal(r.nick, "abcdefghijklmnopqrstuvwxyz0|10");
	/* one past the limit: refused up front */
	p.nick = "abcdefghijklmnopqrstuvwxyz01234";
	assert_int_equal(irc_reg_init(&r, &p, reg_send, NULL), -EINVAL);
}

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(backoff_delay(100, 1000, 0, 1023), 50);
	assert_int_equal(backoff_delay(100, 1000, 0, 0), 100);
	assert_int_equal(backoff_delay(100, 1000, 3, 0), 800);
	assert_int_equal(backoff_delay(100, 1000, 4, 0), 1000);
	assert_int_equal(backoff_delay(100, 1000, 60, 0), 1000);
	for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
		uint64_t d = backoff_delay(100, 1000, 10, rnd);
		assert_true(d >= 500 && d <= 1000);
	}
}

/* ---- a session through EIRC ROOMS (the gateway's control line) ---- */

static char ss_out[3][64][600]; /* browser, server, history */
static size_t ss_n[3];
static uint64_t ss_now = 1000;

static int ss_keep(int to, const char *line, size_t len)
{
	if (ss_n[to] < 64)
		snprintf(ss_out[to][ss_n[to]++], sizeof(ss_out[0][0]), "%.*s", (int)len, line);
	return 0;
}
static int ss_browser(void *ud, const char *l, size_t n)
{
	(void)ud;
	return ss_keep(0, l, n);
}
static int ss_server(void *ud, const char *l, size_t n)
{
	(void)ud;
	return ss_keep(1, l, n);
}
static int ss_history(void *ud, const char *l, size_t n)
{
	(void)ud;
	return ss_keep(2, l, n);
}
static void ss_quit(void *ud, const char *reason)
{
	(void)ud;
	(void)reason;
}
static uint64_t ss_clock(void *ud)
{
	(void)ud;
	return ss_now;
}

static void ss_clear(void)
{
	memset(ss_n, 0, sizeof(ss_n));
}

/* Index of the first line of to containing needle, or -1. */
static int ss_find(int to, const char *needle)
{
	for (size_t i = 0; i < ss_n[to]; i++)
		if (strstr(ss_out[to][i], needle))
			return (int)i;
	return -1;
}

static void ss_browser_line(ircc_session_t *s, const char *text)
{
	char line[600];

	snprintf(line, sizeof(line), "%s", text);
	ircc_session_browser_line(s, line, strlen(line));
}

static void ss_server_line(ircc_session_t *s, const irc_reg_t *reg, const char *text)
{
	char line[600];
	irc_msg_t m;

	snprintf(line, sizeof(line), "%s", text);
	assert_int_equal(irc_msg_parse(line, strlen(line), 0, &m), 0);
	ircc_session_server_msg(s, reg, &m);
}

static void test_session_eirc_rooms(void **state)
{
	static char m0[] = "#private-*", r0[] = "#private-a", r1[] = "#private-b";
	char *masks[] = {m0}, *mine[] = {r0, r1};
	static const ircc_session_ops_t ops = {ss_browser, ss_server, ss_history, ss_quit,
					       ss_clock};
	ircc_session_limits_t lim = {100, 100, 100000, 100, masks, 1, 0};
	ircc_ident_t id = {.user_id = 1, .user = "u1", .nick = "alice", .display = "Alice"};
	irc_reg_t reg = {.state = IRC_REG_DONE, .nick = "alice", .server = "irc.x"};
	ircc_session_t *s;
	(void)state;

	id.private_rooms.v = mine;
	id.private_rooms.n = 2;
	assert_int_equal(ircc_session_new(&id, &lim, &ops, NULL, &s), 0);
	ircc_session_server_registered(s, &reg);
	ss_server_line(s, &reg, ":irc.x 001 alice :Welcome");
	ss_server_line(s, &reg, ":irc.x 376 alice :End of MOTD");
	ss_browser_line(s, "NICK alice");
	ss_browser_line(s, "USER u 0 * :Alice");
	ss_browser_line(s, "JOIN #private-a,#private-b,#general");
	assert_true(ss_find(1, "JOIN #private-a,#private-b,#general") >= 0);
	ss_server_line(s, &reg, ":alice!u1@h JOIN #private-a");
	ss_server_line(s, &reg, ":alice!u1@h JOIN #private-b");
	ss_server_line(s, &reg, ":alice!u1@h JOIN #general");

	/* removed from #private-a: parted at once, nothing else */
	ss_clear();
	ss_browser_line(s, "EIRC ROOMS :#private-b");
	assert_int_equal(ss_n[1], 1);
	assert_string_equal(ss_out[1][0], "PART #private-a :Removed from the room");
	assert_int_equal(ss_n[0], 0); /* the server's echo tells the browser */
	/* its history and a new JOIN are refused from then on, even before
	 * the server's PART arrives */
	ss_clear();
	ss_browser_line(s, "CHATHISTORY LATEST #private-a * 10");
	assert_int_equal(ss_n[2], 0);
	assert_true(ss_find(0, "FAIL CHATHISTORY INVALID_TARGET LATEST #private-a") >= 0);
	ss_browser_line(s, "CHATHISTORY LATEST #private-b * 10");
	assert_int_equal(ss_n[2], 1);
	ss_browser_line(s, "JOIN #PRIVATE-A");
	assert_true(ss_find(0, "473 alice #PRIVATE-A :Cannot join channel") >= 0);
	assert_int_equal(ss_n[1], 0);

	/* tags make it a browser's line, never the gateway's: 421, no change */
	ss_clear();
	ss_browser_line(s, "@a=b EIRC ROOMS :#private-a,#private-b");
	assert_true(ss_find(0, "421 alice EIRC :Unknown command") >= 0);
	ss_browser_line(s, "JOIN #private-a");
	assert_true(ss_find(0, "473 alice #private-a") >= 0);

	/* an unreadable name is left out; an empty list parts every private
	 * room; a public room stays */
	ss_clear();
	ss_browser_line(s, "eirc rooms :#private-b,bad name,#private-c");
	assert_int_equal(ss_n[1], 0);
	ss_browser_line(s, "EIRC ROOMS :");
	assert_int_equal(ss_n[1], 1);
	assert_string_equal(ss_out[1][0], "PART #private-b :Removed from the room");
	ss_browser_line(s, "EIRC ROOMS");
	assert_int_equal(ss_n[1], 1);
	/* added back: JOIN is allowed again */
	ss_clear();
	ss_browser_line(s, "EIRC ROOMS :#private-a");
	ss_browser_line(s, "JOIN #private-a");
	assert_true(ss_find(1, "JOIN #private-a") >= 0);
	ircc_session_free(s);
}

/* EIRC SESSION: the gateway's ticket, kept (the first one) for the
 * history bridge's EIRC HELLO; none, or a malformed one, gives no HELLO. */
static void test_session_eirc_session(void **state)
{
	static const char t43[] = "EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao";
	static const ircc_session_ops_t ops = {ss_browser, ss_server, ss_history, ss_quit,
					       ss_clock};
	ircc_session_limits_t lim = {100, 100, 100000, 100, NULL, 0, 0};
	ircc_ident_t id = {.user_id = UINT64_MAX, .user = "u1", .nick = "alice"};
	char hello[IRCC_HELLO_MAX + 1], line[128];
	ircc_session_t *s;
	(void)state;

	assert_int_equal(ircc_session_new(&id, &lim, &ops, NULL, &s), 0);
	assert_int_equal(ircc_session_history_hello(s, hello, sizeof(hello)), -ENOENT);
	ss_clear();
	ss_browser_line(s, "EIRC SESSION EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2a"); /* 42 */
	ss_browser_line(s, "EIRC SESSION EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2aoo");
	assert_int_equal(ircc_session_history_hello(s, hello, sizeof(hello)), -ENOENT);
	snprintf(line, sizeof(line), "EIRC SESSION %s", t43);
	ss_browser_line(s, line);
	ss_browser_line(s, "EIRC SESSION AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(ss_n[0] + ss_n[1] + ss_n[2], 0); /* nothing relayed */
	/* the longest line (a 20-digit user id) fits IRCC_HELLO_MAX */
	assert_int_equal(ircc_session_history_hello(s, hello, sizeof(hello)), IRCC_HELLO_MAX);
	snprintf(line, sizeof(line), "EIRC HELLO 18446744073709551615 %s", t43);
	assert_string_equal(hello, line);
	assert_int_equal(ircc_session_history_hello(s, hello, IRCC_HELLO_MAX), -ENOBUFS);
	ircc_session_free(s);
}

/* m_eirc_capture's refusal (404 ... (ARCHIVE_UNAVAILABLE)) reaches the
 * browser as FAIL <the command it sent> ARCHIVE_UNAVAILABLE <target>, its
 * label kept; an echo settles a message; other 404s pass as they are. */
static void test_session_archive_unavailable(void **state)
{
	static const ircc_session_ops_t ops = {ss_browser, ss_server, ss_history, ss_quit,
					       ss_clock};
	static const char refused[] = ":irc.x 404 alice %s :Cannot send: nothing is archiving it "
				      "(ARCHIVE_UNAVAILABLE)";
	ircc_session_limits_t lim = {1000, 1000, 1000000, 100, NULL, 0, 0};
	ircc_ident_t id = {.user_id = 1, .user = "u1", .nick = "alice", .display = "Alice"};
	irc_reg_t reg = {.state = IRC_REG_DONE,
			 .nick = "alice",
			 .server = "irc.x",
			 .caps_enabled = IRC_CAP_BIT(IRC_CAP_LABELED_RESPONSE) |
					 IRC_CAP_BIT(IRC_CAP_ECHO_MESSAGE) |
					 IRC_CAP_BIT(IRC_CAP_MESSAGE_TAGS)};
	char line[300];
	ircc_session_t *s;
	(void)state;

	assert_int_equal(ircc_session_new(&id, &lim, &ops, NULL, &s), 0);
	ircc_session_server_registered(s, &reg);
	ss_server_line(s, &reg, ":irc.x 001 alice :Welcome");
	ss_server_line(s, &reg, ":irc.x 376 alice :End of MOTD");
	ss_browser_line(s, "CAP LS 302");
	ss_browser_line(s, "CAP REQ :labeled-response echo-message message-tags");
	ss_browser_line(s, "NICK alice");
	ss_browser_line(s, "USER u 0 * :Alice");
	ss_browser_line(s, "CAP END");

	ss_clear();
	ss_browser_line(s, "PRIVMSG #c :one");
	snprintf(line, sizeof(line), refused, "#c");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_n[0], 1);
	assert_string_equal(ss_out[0][0],
			    ":irc.x FAIL PRIVMSG ARCHIVE_UNAVAILABLE #c :Cannot send: "
			    "nothing is archiving it (ARCHIVE_UNAVAILABLE)");
	/* two refused in a row: each gets its own command, in order */
	ss_clear();
	ss_browser_line(s, "NOTICE #c :two");
	ss_browser_line(s, "PRIVMSG #c :three");
	ss_server_line(s, &reg, line);
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, "FAIL NOTICE ARCHIVE_UNAVAILABLE #c"), 0);
	assert_int_equal(ss_find(0, "FAIL PRIVMSG ARCHIVE_UNAVAILABLE #c"), 1);
	/* a delivered message's echo settles it */
	ss_clear();
	ss_browser_line(s, "PRIVMSG #C :delivered");
	ss_browser_line(s, "NOTICE #c :refused");
	ss_server_line(s, &reg, ":alice!u1@h PRIVMSG #C :delivered");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, "PRIVMSG #C delivered"), 0);
	assert_int_equal(ss_find(0, "FAIL NOTICE ARCHIVE_UNAVAILABLE #c"), 1);
	/* labelled: matched by label, the label kept; a direct message too */
	ss_clear();
	ss_browser_line(s, "@label=L1 TAGMSG bob");
	ss_browser_line(s, "PRIVMSG bob :hi");
	snprintf(line, sizeof(line), "@label=L1 ");
	snprintf(line + 10, sizeof(line) - 10, refused, "bob");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, "@label=L1 :irc.x FAIL TAGMSG ARCHIVE_UNAVAILABLE bob :"), 0);
	snprintf(line, sizeof(line), refused, "bob");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, ":irc.x FAIL PRIVMSG ARCHIVE_UNAVAILABLE bob :"), 1);
	/* another 404 passes as it is, and settles its message */
	ss_clear();
	ss_browser_line(s, "NOTICE #m :moderated");
	ss_server_line(s, &reg, ":irc.x 404 alice #m :Cannot send to channel (+m)");
	assert_int_equal(ss_find(0, "404 alice #m :Cannot send to channel (+m)"), 0);
	assert_int_equal(ss_find(0, "FAIL"), -1);
	/* IRCC_SENT_MAX messages awaiting an answer are remembered, and the
	 * oldest is forgotten for one more */
	ss_clear();
	ss_browser_line(s, "NOTICE #c :oldest");
	for (int i = 1; i < IRCC_SENT_MAX; i++)
		ss_browser_line(s, "PRIVMSG #c :x");
	snprintf(line, sizeof(line), refused, "#c");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, "FAIL NOTICE ARCHIVE_UNAVAILABLE #c"), 0);
	ss_clear();
	ss_browser_line(s, "NOTICE #c :oldest");
	for (int i = 0; i < IRCC_SENT_MAX; i++)
		ss_browser_line(s, "PRIVMSG #c :x");
	ss_server_line(s, &reg, line);
	assert_int_equal(ss_find(0, "FAIL PRIVMSG ARCHIVE_UNAVAILABLE #c"), 0);
	ircc_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_split_merged),
		cmocka_unit_test(test_session_archive_unavailable),
		cmocka_unit_test(test_frame_injection),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_frame_huge_line),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_chathistory_checks),
		cmocka_unit_test(test_ident_limits),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_relay_filter),
		cmocka_unit_test(test_reg_caps_and_welcome),
		cmocka_unit_test(test_reg_password),
		cmocka_unit_test(test_reg_cap_new),
		cmocka_unit_test(test_reg_nick_policies),
		cmocka_unit_test(test_nick_suffix_at_the_limit),
		cmocka_unit_test(test_reg_nick_suffix_long),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_session_eirc_rooms),
		cmocka_unit_test(test_session_eirc_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
