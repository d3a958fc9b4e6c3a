/*
 * eirc-history's pure modules: the CHATHISTORY request parser (every
 * malformed form and its FAIL code, the envelope, limits at and past their
 * bounds), the script call builder (keys agree with the logger's, the
 * limit is clamped), the replayed-line formatter, the direct-message
 * reports and the connection's EIRC HELLO.
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

#include "archive/archive_dm.h"
#include "archive/archive_keys.h"
#include "history-bridge/hist_dm.h"
#include "history-bridge/hist_query.h"
#include "history-bridge/hist_req.h"

#define ENV "@eirc/user=42;eirc/nick=alice;label=h7 "

static int parse(const char *line, hist_req_t *req, hist_req_err_t *err)
{
	return hist_req_parse(line, strlen(line), req, err);
}

/* Parses ENV + body and expects FAIL code with label h7. */
static void expect_fail(const char *body, const char *code)
{
	char line[1024];
	hist_req_t req;
	hist_req_err_t err;

	snprintf(line, sizeof(line), ENV "%s", body);
	int r = parse(line, &req, &err);
	if (r != -EINVAL)
		fail_msg("'%s': expected -EINVAL, got %d", body, r);
	if (strcmp(err.code, code) != 0)
		fail_msg("'%s': expected %s, got %s", body, code, err.code);
	assert_string_equal(err.label, "h7");
	assert_true(err.text && err.text[0]);
	assert_true(err.context[0] && !strchr(err.context, '\r'));
}

static void test_valid_forms(void **state)
{
	hist_req_t q;
	hist_req_err_t e;

	(void)state;
	assert_int_equal(parse(ENV "CHATHISTORY LATEST #Chan * 50\r\n", &q, &e), 0);
	assert_int_equal(q.user_id, 42);
	assert_string_equal(q.nick, "alice");
	assert_string_equal(q.label, "h7");
	assert_int_equal(q.sub, CHATHIST_LATEST);
	assert_string_equal(q.target, "#Chan");
	assert_true(q.target_is_channel);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_STAR);
	assert_int_equal(q.limit, 50);
	assert_int_equal(q.cm, IRC_CASEMAP_RFC1459);
	assert_false(q.event_playback);

	assert_int_equal(parse(ENV "chathistory before #c msgid=abc-123 1", &q, &e), 0);
	assert_int_equal(q.sub, CHATHIST_BEFORE);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_MSGID);
	assert_string_equal(q.ref[0].msgid, "abc-123");

	assert_int_equal(
		parse(ENV "CHATHISTORY AFTER #c timestamp=2026-01-02T03:04:05.678Z 10", &q, &e), 0);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_TIME);
	assert_int_equal(q.ref[0].time_ms, INT64_C(1767323045678));

	assert_int_equal(
		parse(ENV "CHATHISTORY BETWEEN #c msgid=a timestamp=2026-01-02T03:04:05.678Z 5", &q,
		      &e),
		0);
	assert_int_equal(q.sub, CHATHIST_BETWEEN);
	assert_int_equal(q.ref[0].kind, CHATHIST_REF_MSGID);
	assert_int_equal(q.ref[1].kind, CHATHIST_REF_TIME);

	assert_int_equal(parse(ENV "CHATHISTORY AROUND bob msgid=x 3", &q, &e), 0);
	assert_false(q.target_is_channel);

	assert_int_equal(parse(ENV "CHATHISTORY TARGETS timestamp=2026-01-02T03:04:05.678Z "
				   "timestamp=2026-01-03T03:04:05.678Z 20",
			       &q, &e),
			 0);
	assert_int_equal(q.sub, CHATHIST_TARGETS);
	assert_int_equal(q.target_len, 0);
	assert_string_equal(q.channels, "");
	assert_int_equal(
		parse("@eirc/user=1;label=x;eirc/channels=#a,#b CHATHISTORY TARGETS "
		      "timestamp=2026-01-02T03:04:05.678Z timestamp=2026-01-03T03:04:05.678Z 2",
		      &q, &e),
		0);
	assert_string_equal(q.channels, "#a,#b");

	/* our tags */
	assert_int_equal(parse("@eirc/user=1;label=x;eirc/casemap=ascii;eirc/event-playback "
			       "CHATHISTORY LATEST #c * 1",
			       &q, &e),
			 0);
	assert_int_equal(q.cm, IRC_CASEMAP_ASCII);
	assert_true(q.event_playback);
	assert_string_equal(q.nick, "");
}

static void test_malformed_forms(void **state)
{
	(void)state;
	/* missing params */
	expect_fail("CHATHISTORY", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c *", "INVALID_PARAMS");
	expect_fail("CHATHISTORY BETWEEN #c msgid=a 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY TARGETS timestamp=2026-01-02T03:04:05.678Z 10", "INVALID_PARAMS");
	/* too many */
	expect_fail("CHATHISTORY LATEST #c * 10 extra", "INVALID_PARAMS");
	/* unknown subcommand */
	expect_fail("CHATHISTORY FIRST #c * 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATESTX #c * 10", "INVALID_PARAMS");
	/* bad timestamps */
	expect_fail("CHATHISTORY BEFORE #c timestamp=yesterday 10", "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY BEFORE #c timestamp=2026-13-01T00:00:00.000Z 10",
		    "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY BEFORE #c timestamp=2026-01-01T25:00:00.000Z 10",
		    "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY BEFORE #c timestamp=2026-01-01 10", "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY BEFORE #c timestamp= 10", "INVALID_MSGREFTYPE");
	/* unknown reference types */
	expect_fail("CHATHISTORY BEFORE #c id=5 10", "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY BEFORE #c msgid= 10", "INVALID_MSGREFTYPE");
	expect_fail("CHATHISTORY TARGETS msgid=a msgid=b 10", "INVALID_MSGREFTYPE");
	/* '*' outside LATEST */
	expect_fail("CHATHISTORY BEFORE #c * 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY BETWEEN #c * msgid=a 10", "INVALID_PARAMS");
	/* limits: 0, negative, not a number, empty */
	expect_fail("CHATHISTORY LATEST #c * 0", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c * -5", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c * +5", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c * 1e3", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c * :", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #c * 000", "INVALID_PARAMS");
	/* targets: a space (only a trailing param can hold one), '*', ',' */
	expect_fail("CHATHISTORY LATEST #a b * 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST :#a b", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST * * 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST #a,#b * 10", "INVALID_PARAMS");
	expect_fail("CHATHISTORY LATEST :x", "INVALID_PARAMS");
}

static void test_target_space_in_trailing(void **state)
{
	/* A space can only arrive in a trailing param; put the target last by
	 * making TARGETS-shaped LATEST short one param: covered above. Here the
	 * checker itself: a target holding a control byte is refused too. */
	hist_req_t q;
	hist_req_err_t e;
	char line[128];

	(void)state;
	snprintf(line, sizeof(line), ENV "CHATHISTORY LATEST #a\x01 * 10");
	assert_int_equal(parse(line, &q, &e), -EINVAL);
	assert_string_equal(e.code, "INVALID_PARAMS");
}

static void test_limits_at_bounds(void **state)
{
	hist_req_t q;
	hist_req_err_t e;
	char line[1024], big[CHATHIST_TARGET_MAX + 2], id[CHATHIST_MSGID_MAX + 2];

	(void)state;
	/* huge limits saturate (the query clamps them) */
	assert_int_equal(parse(ENV "CHATHISTORY LATEST #c * 4294967295", &q, &e), 0);
	assert_int_equal(q.limit, UINT32_MAX);
	assert_int_equal(parse(ENV "CHATHISTORY LATEST #c * 99999999999999999999999999", &q, &e),
			 0);
	assert_int_equal(q.limit, UINT32_MAX);
	/* target at its limit and one past */
	memset(big, 'x', sizeof(big));
	big[0] = '#';
	big[CHATHIST_TARGET_MAX] = '\0';
	snprintf(line, sizeof(line), ENV "CHATHISTORY LATEST %s * 1", big);
	assert_int_equal(parse(line, &q, &e), 0);
	assert_int_equal(q.target_len, CHATHIST_TARGET_MAX);
	big[CHATHIST_TARGET_MAX] = 'x';
	big[CHATHIST_TARGET_MAX + 1] = '\0';
	snprintf(line, sizeof(line), ENV "CHATHISTORY LATEST %s * 1", big);
	assert_int_equal(parse(line, &q, &e), -EINVAL);
	assert_string_equal(e.code, "INVALID_PARAMS");
	/* msgid at its limit and one past */
	memset(id, 'm', sizeof(id));
	id[CHATHIST_MSGID_MAX] = '\0';
	snprintf(line, sizeof(line), ENV "CHATHISTORY BEFORE #c msgid=%s 1", id);
	assert_int_equal(parse(line, &q, &e), 0);
	assert_int_equal(q.ref[0].msgid_len, CHATHIST_MSGID_MAX);
	id[CHATHIST_MSGID_MAX] = 'm';
	id[CHATHIST_MSGID_MAX + 1] = '\0';
	snprintf(line, sizeof(line), ENV "CHATHISTORY BEFORE #c msgid=%s 1", id);
	assert_int_equal(parse(line, &q, &e), -EINVAL);
	assert_string_equal(e.code, "INVALID_MSGREFTYPE");
}

static void test_envelope(void **state)
{
	hist_req_t q;
	hist_req_err_t e;
	char label[HIST_REQ_LABEL_MAX + 2], line[512];

	(void)state;
	memset(&q, 0xAB, sizeof(q));
	hist_req_t before = q;
	/* not a request at all */
	assert_int_equal(parse("", &q, &e), -EPROTO);
	assert_int_equal(parse("\r\n", &q, &e), -EPROTO);
	assert_int_equal(parse(":::", &q, &e), -EPROTO);
	assert_int_equal(parse(ENV "PRIVMSG #c :hi", &q, &e), -EPROTO);
	/* no label, no user, bad user */
	assert_int_equal(parse("@eirc/user=1 CHATHISTORY LATEST #c * 1", &q, &e), -EPROTO);
	assert_int_equal(parse("@label=a CHATHISTORY LATEST #c * 1", &q, &e), -EPROTO);
	assert_int_equal(parse("@label=a;eirc/user=0 CHATHISTORY LATEST #c * 1", &q, &e), -EPROTO);
	assert_int_equal(parse("@label=a;eirc/user=12x CHATHISTORY LATEST #c * 1", &q, &e),
			 -EPROTO);
	assert_int_equal(
		parse("@label=a;eirc/user=99999999999999999999 CHATHISTORY LATEST #c * 1", &q, &e),
		-EPROTO);
	assert_int_equal(parse("@label=;eirc/user=1 CHATHISTORY LATEST #c * 1", &q, &e), -EPROTO);
	/* label at its limit and one past */
	memset(label, 'l', sizeof(label));
	label[HIST_REQ_LABEL_MAX] = '\0';
	snprintf(line, sizeof(line), "@label=%s;eirc/user=1 CHATHISTORY LATEST #c * 1", label);
	assert_int_equal(hist_req_parse(line, strlen(line), &q, &e), 0);
	label[HIST_REQ_LABEL_MAX] = 'l';
	label[HIST_REQ_LABEL_MAX + 1] = '\0';
	memset(&q, 0xAB, sizeof(q));
	snprintf(line, sizeof(line), "@label=%s;eirc/user=1 CHATHISTORY LATEST #c * 1", label);
	assert_int_equal(hist_req_parse(line, strlen(line), &q, &e), -EPROTO);
	assert_memory_equal(&q, &before, sizeof(q)); /* untouched on failure */
	/* eirc/channels at its limit and one past */
	static char chans[CHATHIST_CHANNELS_MAX + 2], big[CHATHIST_CHANNELS_MAX + 256];
	memset(chans, 'c', sizeof(chans));
	chans[0] = '#';
	chans[CHATHIST_CHANNELS_MAX] = '\0';
	snprintf(big, sizeof(big),
		 "@label=a;eirc/user=1;eirc/channels=%s CHATHISTORY TARGETS "
		 "timestamp=2026-01-02T03:04:05.678Z timestamp=2026-01-03T03:04:05.678Z 2",
		 chans);
	assert_int_equal(hist_req_parse(big, strlen(big), &q, &e), 0);
	assert_int_equal(strlen(q.channels), CHATHIST_CHANNELS_MAX);
	chans[CHATHIST_CHANNELS_MAX] = 'c';
	chans[CHATHIST_CHANNELS_MAX + 1] = '\0';
	snprintf(big, sizeof(big),
		 "@label=a;eirc/user=1;eirc/channels=%s CHATHISTORY TARGETS "
		 "timestamp=2026-01-02T03:04:05.678Z timestamp=2026-01-03T03:04:05.678Z 2",
		 chans);
	assert_int_equal(hist_req_parse(big, strlen(big), &q, &e), -EPROTO);
	/* an unknown casemap name falls back to the default */
	assert_int_equal(
		parse("@label=a;eirc/user=1;eirc/casemap=rfc7613 CHATHISTORY LATEST #c * 1", &q,
		      &e),
		0);
	assert_int_equal(q.cm, IRC_CASEMAP_DEFAULT);
}

static void test_build_keys_and_clamp(void **state)
{
	hist_req_t q;
	hist_req_err_t e;
	hist_query_call_t c;
	hist_query_opts_t o = {"eirc", 16, 100};
	char key[ARCHIVE_KEYS_KEY_MAX], mkey[ARCHIVE_KEYS_KEY_MAX];

	(void)state;
	assert_int_equal(parse(ENV "CHATHISTORY BEFORE #Chan[x] msgid=m1 5000", &q, &e), 0);
	assert_int_equal(hist_query_build(&q, &o, NULL, &c), 0);
	assert_int_equal(c.limit, 100);
	int k = archive_keys_partition("eirc", "#chan{x}", 8, IRC_CASEMAP_NONE, 16);
	archive_keys_history(k, "eirc", "#chan{x}", 8, IRC_CASEMAP_NONE, key, sizeof(key));
	archive_keys_msgid(k, "m1", 2, mkey, sizeof(mkey));
	assert_string_equal(c.argv[0], "EVAL_RO");
	assert_string_equal(c.argv[1], hist_query_script);
	assert_string_equal(c.argv[3], key);
	assert_string_equal(c.argv[4], mkey);
	assert_string_equal(c.argv[5], key); /* unused second ref */
	assert_string_equal(c.argv[6], "before");
	assert_string_equal(c.argv[7], "m");
	assert_memory_equal(c.argv[8], "m1", 2);
	assert_string_equal(c.argv[11], "100");
	assert_string_equal(c.argv[15], "42"); /* the requester, for STATUSMSG replay */
	/* the same rule for the fast path: a STATUSMSG only to its sender */
	static const char tags[] = "msgid=x;eirc/uid=42;account=a";
	assert_true(hist_query_visible("privmsg", 7, 1, tags, strlen(tags), 42));
	assert_false(hist_query_visible("privmsg", 7, 1, tags, strlen(tags), 4));
	assert_false(hist_query_visible("notice", 6, 1, tags, strlen(tags), 420));
	assert_false(hist_query_visible("tagmsg", 6, 1, "eirc/uid=421", 12, 42));
	assert_true(hist_query_visible("tagmsg", 6, 1, "eirc/uid=42", 11, 42));
	assert_false(hist_query_visible("privmsg", 7, 1, "", 0, 42));
	assert_true(hist_query_visible("privmsg", 7, 0, "", 0, 42)); /* not a STATUSMSG */
	assert_true(hist_query_visible("kick", 4, 3, "", 0, 42));    /* arg: the kicked nick */
	assert_int_equal(c.argc, 16);
	/* at the maximum and one below: kept */
	assert_int_equal(parse(ENV "CHATHISTORY LATEST #c * 100", &q, &e), 0);
	assert_int_equal(hist_query_build(&q, &o, "0123456789012345678901234567890123456789", &c),
			 0);
	assert_string_equal(c.argv[0], "EVALSHA_RO");
	assert_int_equal(c.limit, 100);
	assert_int_equal(parse(ENV "CHATHISTORY LATEST #c * 99", &q, &e), 0);
	assert_int_equal(hist_query_build(&q, &o, NULL, &c), 0);
	assert_int_equal(c.limit, 99);
	assert_string_equal(c.argv[7], "*");
	/* nick targets and TARGETS are not channel queries */
	assert_int_equal(parse(ENV "CHATHISTORY LATEST bob * 1", &q, &e), 0);
	assert_int_equal(hist_query_build(&q, &o, NULL, &c), -EINVAL);
}

#define F(n, v)                                                                                    \
	{                                                                                          \
		n, sizeof(n) - 1, v, sizeof(v) - 1                                                 \
	}

static void test_format(void **state)
{
	char buf[8704];
	const hist_field_t msg[] = {
		F("msgid", "abc"),
		F("time", "1767323045678"),
		F("type", "privmsg"),
		F("conv", "#chan"),
		F("target", "#Chan"),
		F("nick", "bob"),
		F("user", "u7"),
		F("host", "h.example"),
		F("account", ""),
		F("text", "hello there"),
		F("tags", "time=2026-01-02T03:04:05.678Z;msgid=abc;+draft/reply=x1;label=no"),
	};
	(void)state;
	int n = hist_query_format(msg, sizeof(msg) / sizeof(msg[0]), "b1", "#chan", buf,
				  sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
			    "@batch=b1;time=2026-01-02T03:04:05.678Z;msgid=abc;+draft/reply=x1 "
			    ":bob!u7@h.example PRIVMSG #Chan :hello there");
	const hist_field_t kick[] = {
		F("msgid", "k"),   F("time", "0"),  F("type", "kick"),
		F("target", "#c"), F("nick", "op"), F("user", "u1"),
		F("host", "h"),    F("arg", "bob"), F("text", "bye now"),
	};
	n = hist_query_format(kick, 9, "b", "#c", buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
			    "@batch=b;time=1970-01-01T00:00:00.000Z;msgid=k :op!u1@h KICK #c bob "
			    ":bye now");
	const hist_field_t mode[] = {
		F("msgid", "m"),   F("time", "0"),  F("type", "mode"),
		F("target", "#c"), F("nick", "op"), F("text", "+o bob"),
	};
	n = hist_query_format(mode, 6, "b", "#c", buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
			    "@batch=b;time=1970-01-01T00:00:00.000Z;msgid=m :op MODE #c +o bob");
	const hist_field_t gap[] = {F("msgid", "g"), F("time", "0"), F("type", "gap"),
				    F("nick", "x")};
	assert_int_equal(hist_query_format(gap, 4, "b", "#c", buf, sizeof(buf)), 0);
	const hist_field_t nomsgid[] = {F("time", "0"), F("type", "privmsg"), F("nick", "x")};
	assert_int_equal(hist_query_format(nomsgid, 3, "b", "#c", buf, sizeof(buf)), 0);
	/* too small a buffer: an error, never a truncated line */
	assert_int_equal(hist_query_format(msg, 11, "b1", "#c", buf, 20), -ENOBUFS);
	/* times in one second, the next one, and back: each line its own ms */
	static const char *const tms[] = {"1767323045678", "1767323045001", "1767323046000",
					  "1767323045999", "0"};
	static const char *const tis[] = {"2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.001Z",
					  "2026-01-02T03:04:06.000Z", "2026-01-02T03:04:05.999Z",
					  "1970-01-01T00:00:00.000Z"};
	for (size_t i = 0; i < sizeof(tms) / sizeof(tms[0]); i++) {
		char want[64];
		const hist_field_t one[] = {F("msgid", "i"),
					    {"time", 4, tms[i], strlen(tms[i])},
					    F("type", "privmsg"),
					    F("nick", "x"),
					    F("text", "y")};
		assert_true(hist_query_format(one, 5, "b", "#c", buf, sizeof(buf)) > 0);
		snprintf(want, sizeof(want), "@batch=b;time=%s;msgid=i ", tis[i]);
		assert_memory_equal(buf, want, strlen(want));
	}
	/* 18 digits of time are read without overflow (UBSan checks it; past
	 * what archive_event_time formats, so not a line); 19 could overflow: refused */
	const hist_field_t t18[] = {F("msgid", "t"), F("time", "999999999999999999"),
				    F("type", "privmsg"), F("nick", "x"), F("text", "y")};
	assert_int_not_equal(hist_query_format(t18, 5, "b", "#c", buf, sizeof(buf)), 0);
	const hist_field_t t19[] = {F("msgid", "t"), F("time", "9999999999999999999"),
				    F("type", "privmsg"), F("nick", "x"), F("text", "y")};
	assert_int_equal(hist_query_format(t19, 5, "b", "#c", buf, sizeof(buf)), -EINVAL);
	/* a source longer than three names (nick!user@host, 255 each): refused,
	 * never read past */
	static char big[301];
	memset(big, 'n', 300);
	const hist_field_t longsrc[] = {F("msgid", "s"), F("time", "0"), F("type", "privmsg"),
					F("nick", big),  F("user", big), F("host", big),
					F("text", "y")};
	assert_int_equal(hist_query_format(longsrc, 7, "b", "#c", buf, sizeof(buf)), -EINVAL);
}

static int dm(const char *line, hist_dm_t *out)
{
	return hist_dm_parse(line, strlen(line), out);
}

static void test_dm_reports(void **state)
{
	static hist_dm_t d;
	archive_event_t ev;
	char key[ARCHIVE_KEYS_KEY_MAX], key2[ARCHIVE_KEYS_KEY_MAX];

	(void)state;
	/* received: the receiver is the reporter */
	assert_int_equal(dm("@eirc/dm;eirc/user=5;eirc/nick=bob;eirc/casemap=ascii;msgid=M1;"
			    "time=2026-01-02T03:04:05.678Z;account=al;eirc/uid=4;+draft/reply=R "
			    ":alice!u4@host.example PRIVMSG bob :hi there\r\n",
			    &d),
			 0);
	assert_int_equal(d.reporter_id, 5);
	assert_string_equal(d.reporter_nick, "bob");
	assert_int_equal(d.cm, IRC_CASEMAP_ASCII);
	assert_int_equal(d.sender_id, 4);
	assert_false(d.notice);
	assert_int_equal(d.time_ms, INT64_C(1767323045678));
	assert_string_equal(d.msgid, "M1");
	assert_string_equal(d.nick, "alice");
	assert_string_equal(d.user, "u4");
	assert_string_equal(d.host, "host.example");
	assert_string_equal(d.account, "al");
	assert_string_equal(d.target, "bob");
	assert_string_equal(d.text, "hi there");
	/* our tags are not stored, the server's and the client's are */
	assert_string_equal(d.tags,
			    "msgid=M1;time=2026-01-02T03:04:05.678Z;account=al;+draft/reply=R");
	assert_int_equal(hist_dm_receiver(&d), 5);
	assert_int_equal(hist_dm_event(&d, "eIRC", "dm:4:5", 99, &ev), 0);
	assert_int_equal(ev.type, ARCHIVE_EV_PRIVMSG);
	assert_int_equal(ev.time_ms, INT64_C(1767323045678));
	assert_memory_equal(ev.s[ARCHIVE_S_CONV].p, "dm:4:5", 6);
	/* sent (the echo): the receiver is looked up by nick; no time: now */
	assert_int_equal(dm("@eirc/dm;eirc/user=4;eirc/nick=alice;msgid=M2;eirc/uid=4 "
			    ":alice!~u4@h NOTICE bob :note",
			    &d),
			 0);
	assert_true(d.notice);
	assert_int_equal(d.sender_id, 4);
	assert_int_equal(hist_dm_receiver(&d), 0);
	assert_int_equal(hist_dm_event(&d, "eIRC", "dm:4:5", 99, &ev), 0);
	assert_int_equal(ev.time_ms, 99);
	/* a sender that is not an eIRC user has no id */
	assert_int_equal(
		dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=M3 :x!someone@h PRIVMSG a :t", &d), 0);
	assert_int_equal(d.sender_id, 0);
	/* issue 25, route 3: the id is eirc/uid's, never the username's (a
	 * plain client's "USER u2") nor the nick's */
	assert_int_equal(
		dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=M4 :notalice!u2@h PRIVMSG a :t", &d), 0);
	assert_int_equal(d.sender_id, 0);
	assert_int_equal(
		dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=M5;eirc/uid=9 :x!u2@h PRIVMSG a :t", &d),
		0);
	assert_int_equal(d.sender_id, 9);
	/* eirc/uid: 1 to 19 digits (at the limit, one past), not 0, no value,
	 * not a number: nobody */
	assert_int_equal(dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=M6;eirc/uid=1234567890123456789"
			    " :x!u2@h PRIVMSG a :t",
			    &d),
			 0);
	assert_int_equal(d.sender_id, UINT64_C(1234567890123456789));
	static const char *const nobody[] = {"eirc/uid=12345678901234567890",
					     "eirc/uid=0",
					     "eirc/uid",
					     "eirc/uid=",
					     "eirc/uid=u2",
					     "eirc/uid=-2"};
	for (size_t i = 0; i < sizeof(nobody) / sizeof(nobody[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line),
			 "@eirc/dm;eirc/user=4;eirc/nick=a;msgid=M7;%s :x!u2@h PRIVMSG a :t",
			 nobody[i]);
		assert_int_equal(dm(line, &d), 0);
		assert_int_equal(d.sender_id, 0);
	}
	/* not reports */
	assert_int_equal(dm("@eirc/user=4;label=x CHATHISTORY LATEST #c * 1", &d), -ENOENT);
	assert_int_equal(dm("", &d), -ENOENT);
	assert_int_equal(dm("garbage :::", &d), -ENOENT);
	/* reports that cannot be stored */
	assert_int_equal(dm("@eirc/dm;eirc/user=4;eirc/nick=a :x!u1@h PRIVMSG a :no msgid", &d),
			 -EINVAL);
	assert_int_equal(
		dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=1 :x!u1@h PRIVMSG #c :chan", &d),
		-EINVAL);
	assert_int_equal(dm("@eirc/dm;eirc/nick=a;msgid=1 :x!u1@h PRIVMSG a :no user", &d),
			 -EINVAL);
	assert_int_equal(dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=1 :server PRIVMSG a :t", &d),
			 -EINVAL);
	assert_int_equal(dm("@eirc/dm;eirc/user=4;eirc/nick=a;msgid=1 :x!u1@h JOIN a", &d),
			 -EINVAL);
	/* nick keys fold like the server */
	assert_true(archive_dm_nick_key("eIRC", 16, "Bob[1]", 6, IRC_CASEMAP_RFC1459, key,
					sizeof(key)) > 0);
	assert_true(archive_dm_nick_key("eIRC", 16, "bob{1}", 6, IRC_CASEMAP_RFC1459, key2,
					sizeof(key2)) > 0);
	assert_string_equal(key, key2);
	assert_non_null(strstr(key, ":nick:eIRC:bob{1}"));
	assert_int_equal(
		archive_dm_nick_key("eIRC", 16, "", 0, IRC_CASEMAP_RFC1459, key, sizeof(key)),
		-EINVAL);
	assert_int_equal(archive_dm_nick_key("eIRC", 16, "bob", 3, IRC_CASEMAP_RFC1459, key, 8),
			 -ENOBUFS);
}

/* EIRC HELLO: the user id 1 to 19 digits, the ticket exactly
 * SESSION_TICKET_LEN base64url characters (at the limits and one past). */
static void test_hello(void **state)
{
	static const char t43[] = "EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao";
	static const char *const bad[] = {
		"",
		"EIRC HELLO",
		"EIRC HELLO 7",
		"EIRC HELLO 7 ",
		"eirc hello 7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO 0 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO -7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO 12345678901234567890 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO  7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO 7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2a",
		"EIRC HELLO 7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2aoo",
		"EIRC HELLO 7 EKDCoYVi9+vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"EIRC HELLO 7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao x",
		"@eirc/user=7 EIRC HELLO 7 EKDCoYVi9-vZaoRMD8tK2x4wrkak1qPwwEUeSNIK2ao",
		"@eirc/user=7;label=h1 CHATHISTORY LATEST #a * 10",
	};
	hist_hello_t h = {.user_id = 99};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hist_hello_parse(bad[i], strlen(bad[i]), &h) != -EPROTO)
			fail_msg("accepted: '%s'", bad[i]);
	assert_int_equal(h.user_id, 99); /* untouched */
	char line[128];
	snprintf(line, sizeof(line), "EIRC HELLO 7 %s\r\n", t43);
	assert_int_equal(hist_hello_parse(line, strlen(line), &h), 0);
	assert_int_equal(h.user_id, 7);
	assert_string_equal(h.ticket, t43);
	snprintf(line, sizeof(line), "EIRC HELLO 9999999999999999999 %s", t43);
	assert_int_equal(hist_hello_parse(line, strlen(line), &h), 0);
	assert_true(h.user_id == UINT64_C(9999999999999999999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_forms),
		cmocka_unit_test(test_malformed_forms),
		cmocka_unit_test(test_target_space_in_trailing),
		cmocka_unit_test(test_limits_at_bounds),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_build_keys_and_clamp),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_dm_reports),
		cmocka_unit_test(test_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
