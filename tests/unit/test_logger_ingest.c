/*
 * lg_ingest: every event type with its fields, QUIT and NICK fanned out to
 * the channels the user shared with the bot, derived ids (stable, numbered
 * repeats), bookkeeping (NAMES, 005, KICK of the bot, INVITE, LIST), a
 * channel's end (no gap) and bad input refused with a reason.
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

#include "common/capture.h"
#include "logger-bot/lg_ingest.h"

#define MAXEV 16

struct got {
	int n;
	struct {
		enum archive_event_type type;
		int64_t time;
		char s[ARCHIVE_EVENT_NSTR][600];
	} ev[MAXEV];
};

static lg_ingest_t *ing;
static struct got got;
static lg_ingest_hint_t hint;
static const char *reason;

static void emit(void *ud, const archive_event_t *ev)
{
	struct got *g = ud;

	assert_true(g->n < MAXEV);
	g->ev[g->n].type = ev->type;
	g->ev[g->n].time = ev->time_ms;
	for (int i = 0; i < ARCHIVE_EVENT_NSTR; i++) {
		size_t n = ev->s[i].n < 599 ? ev->s[i].n : 599;
		memcpy(g->ev[g->n].s[i], ev->s[i].p ? ev->s[i].p : "", n);
		g->ev[g->n].s[i][n] = '\0';
	}
	g->n++;
}

static int feed(const char *line)
{
	static char buf[IRC_TAGS_MAX + IRC_MSG_MAX + 16];
	irc_msg_t m;

	memset(&got, 0, sizeof(got));
	reason = NULL;
	snprintf(buf, sizeof(buf), "%s", line);
	assert_int_equal(irc_msg_parse(buf, strlen(buf), 0, &m), 0);
	return lg_ingest_msg(ing, &m, 1000, emit, &got, &hint, &reason);
}

#define EV(i, f) (got.ev[i].s[f])

static int setup(void **state)
{
	(void)state;
	if (lg_ingest_new("eIRC", &ing) < 0)
		return -1;
	lg_ingest_set_self(ing, "logger");
	feed(":irc.test 005 logger CASEMAPPING=rfc1459 PREFIX=(qaohv)~&@%+ CHANTYPES=# :are "
	     "supported");
	feed(":logger!bot@h JOIN #Chan");
	feed(":logger!bot@h JOIN #other");
	feed(":irc.test 353 logger = #Chan :logger @Alice +bob");
	feed(":irc.test 353 logger = #other :logger Alice");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lg_ingest_free(ing);
	return 0;
}

static void test_privmsg_fields(void **state)
{
	(void)state;
	assert_int_equal(feed("@msgid=abc;time=2023-11-14T22:13:20.123Z;account=acc "
			      ":Alice!u1@host.example PRIVMSG #Chan :hello world"),
			 LG_INGEST_DONE);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_PRIVMSG);
	assert_true(got.ev[0].time == INT64_C(1700000000123));
	assert_string_equal(EV(0, ARCHIVE_S_MSGID), "abc");
	assert_string_equal(EV(0, ARCHIVE_S_NETWORK), "eIRC");
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "#chan");
	assert_string_equal(EV(0, ARCHIVE_S_TARGET), "#Chan");
	assert_string_equal(EV(0, ARCHIVE_S_NICK), "Alice");
	assert_string_equal(EV(0, ARCHIVE_S_USER), "u1");
	assert_string_equal(EV(0, ARCHIVE_S_HOST), "host.example");
	assert_string_equal(EV(0, ARCHIVE_S_ACCOUNT), "acc");
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "hello world");
	assert_string_equal(EV(0, ARCHIVE_S_TAGS),
			    "msgid=abc;time=2023-11-14T22:13:20.123Z;account=acc");
	assert_int_equal(feed("@msgid=n1 :Alice!u1@h NOTICE #chan :note"), LG_INGEST_DONE);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_NOTICE);
	assert_true(got.ev[0].time == 1000); /* no time tag: the clock */
	assert_int_equal(feed("@msgid=t1;+typing=active :Alice!u1@h TAGMSG #chan"), LG_INGEST_DONE);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_TAGMSG);
	assert_string_equal(EV(0, ARCHIVE_S_TAGS), "msgid=t1;+typing=active");
	/* to the bot itself, or user modes: not archived */
	assert_int_equal(feed(":Alice!u1@h PRIVMSG logger :psst"), LG_INGEST_IGNORED);
	assert_int_equal(feed(":logger MODE logger :+B"), LG_INGEST_IGNORED);
	assert_int_equal(got.n, 0);
}

static void test_membership_events(void **state)
{
	(void)state;
	assert_int_equal(feed("@time=2023-11-14T22:13:20.500Z :carol!u3@h JOIN #chan"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_JOIN);
	assert_int_equal(strncmp(EV(0, ARCHIVE_S_MSGID), "~j1700000000.0.", 15), 0);
	assert_int_equal(strlen(EV(0, ARCHIVE_S_MSGID)), 15 + 16);
	assert_int_equal(feed(":carol!u3@h PART #chan :gone"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_PART);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "gone");
	assert_int_equal(feed(":Alice!u1@h KICK #chan bob :out"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_KICK);
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "bob");
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "out");
	assert_int_equal(feed(":Alice!u1@h TOPIC #chan :new topic"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_TOPIC);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "new topic");
	assert_int_equal(feed(":Alice!u1@h MODE #chan +ov bob carol"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_MODE);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "+ov bob carol");
}

static void test_quit_and_nick_fan_out(void **state)
{
	(void)state;
	/* Alice is in #Chan and #other: one event each, distinct ids */
	assert_int_equal(feed(":Alice!u1@h NICK :Alicia"), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_NICK);
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "Alicia");
	assert_string_equal(EV(1, ARCHIVE_S_ARG), "Alicia");
	assert_string_not_equal(EV(0, ARCHIVE_S_CONV), EV(1, ARCHIVE_S_CONV));
	assert_string_not_equal(EV(0, ARCHIVE_S_MSGID), EV(1, ARCHIVE_S_MSGID));
	/* the new nick is the member now */
	assert_int_equal(feed("@msgid=q1 :Alicia!u1@h QUIT :bye"), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_QUIT);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "bye");
	assert_string_not_equal(EV(0, ARCHIVE_S_MSGID), "q1"); /* fanned out: derived */
	assert_int_equal(feed(":Alicia!u1@h QUIT :again"), 0);
	assert_int_equal(got.n, 0);
	/* someone the bot shares no channel with */
	assert_int_equal(feed(":stranger!x@h QUIT :bye"), 0);
	assert_int_equal(got.n, 0);
}

static void test_derived_ids(void **state)
{
	char a[600], b[600], c[600];

	(void)state;
	/* the same join twice within a window: numbered, not merged */
	feed("@time=2023-11-14T22:13:21.100Z :dave!u4@h JOIN #other");
	snprintf(a, sizeof(a), "%s", EV(0, ARCHIVE_S_MSGID));
	feed("@time=2023-11-14T22:13:21.200Z :dave!u4@h PART #other");
	feed("@time=2023-11-14T22:13:21.300Z :dave!u4@h JOIN #other");
	snprintf(b, sizeof(b), "%s", EV(0, ARCHIVE_S_MSGID));
	assert_string_not_equal(a, b);
	assert_int_equal(strncmp(b, "~j1700000001.1.", 15), 0);
	/* a second ingest (the HA peer) seeing the same stamps derives the same ids */
	lg_ingest_t *mine = ing;
	assert_int_equal(lg_ingest_new("eIRC", &ing), 0);
	lg_ingest_set_self(ing, "logger2");
	feed(":logger2!bot@h JOIN #other");
	feed("@time=2023-11-14T22:13:21.150Z :dave!u4@h JOIN #other");
	assert_string_equal(EV(0, ARCHIVE_S_MSGID), a);
	feed("@time=2023-11-14T22:13:21.250Z :dave!u4@h PART #other");
	feed("@time=2023-11-14T22:13:21.350Z :Dave!u4@h JOIN #OTHER");
	snprintf(c, sizeof(c), "%s", EV(0, ARCHIVE_S_MSGID));
	assert_string_equal(c, b); /* case-folded nick and channel */
	lg_ingest_free(ing);
	ing = mine;
	/* a message without msgid gets an exact-ms derived id */
	feed("@time=2023-11-14T22:13:21.300Z :dave!u4@h PRIVMSG #other :x");
	assert_int_equal(strncmp(EV(0, ARCHIVE_S_MSGID), "~p1700000001300.0.", 18), 0);
}

static void test_hints_and_bookkeeping(void **state)
{
	const char *chans[8];

	(void)state;
	assert_int_equal(lg_ingest_channels(ing, chans, 8), 2);
	assert_int_equal(feed(":op!u@h KICK #chan logger :bye bot"), 0);
	assert_true(hint.self_removed);
	assert_string_equal(hint.channel, "#chan");
	assert_int_equal(lg_ingest_channels(ing, chans, 8), 1);
	assert_int_equal(feed(":op!u@h INVITE logger :#secret"), 0);
	assert_true(hint.invited);
	assert_string_equal(hint.channel, "#secret");
	assert_int_equal(feed(":op!u@h INVITE someoneelse :#secret"), LG_INGEST_IGNORED);
	assert_false(hint.invited);
	assert_int_equal(feed(":irc.test 322 logger #big 12 :topic"), 0);
	assert_true(hint.listed);
	assert_string_equal(hint.channel, "#big");
	/* gap events: one per channel the bot was in */
	const char *was[] = {"#a", "#b"};
	memset(&got, 0, sizeof(got));
	lg_ingest_gap(ing, was, 2, 5000, 9000, emit, &got);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.ev[1].type, ARCHIVE_EV_GAP);
	assert_true(got.ev[1].time == 5000);
	assert_string_equal(EV(1, ARCHIVE_S_ARG), "9000");
	assert_string_equal(EV(1, ARCHIVE_S_NICK), "logger");
	/* back in #chan after the kick: the time out is a gap there, then the
	 * JOIN; the app is told it is in #chan */
	assert_int_equal(feed("@time=1970-01-01T00:00:07.000Z :logger!bot@h JOIN #chan"), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_GAP);
	assert_true(got.ev[0].time == 1000); /* the kick: no time tag, the clock */
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "7000");
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "#chan");
	assert_int_equal(got.ev[1].type, ARCHIVE_EV_JOIN);
	assert_true(hint.self_joined);
	assert_string_equal(hint.channel, "#chan");
	/* a forced PART is the same; a second JOIN records no second gap */
	assert_int_equal(feed(":logger!bot@h PART #other :sapart"), 0);
	assert_true(hint.self_removed);
	assert_string_equal(hint.channel, "#other");
	assert_int_equal(feed(":logger!bot@h JOIN #other"), 0);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_GAP);
	assert_int_equal(feed(":logger!bot@h JOIN #other"), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_JOIN);
	/* a channel the server joins the bot to is archived from its first
	 * message, without any configuration */
	assert_int_equal(feed(":logger!bot@h JOIN #new"), 0);
	assert_true(hint.self_joined);
	assert_int_equal(feed("@msgid=n1 :Alice!u1@h PRIVMSG #new :first"), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "#new");
}

/* The PART m_eirc_capture gives the bot at a channel's end (reason
 * EIRC_CAPTURE_CLOSED_REASON, exactly) is archived as a PART, tells the app
 * the channel closed (no rejoin) and leaves no gap: the JOIN when someone
 * creates the channel anew is a JOIN alone. Any other reason is a removal
 * (a gap until the bot is back). */
static void test_channel_end_is_no_gap(void **state)
{
	const char *chans[8];
	size_t in = lg_ingest_channels(ing, chans, 8);

	(void)state;
	assert_int_equal(feed(":logger!bot@h PART #Chan :" EIRC_CAPTURE_CLOSED_REASON), 0);
	assert_true(hint.closed);
	assert_false(hint.self_removed);
	assert_string_equal(hint.channel, "#Chan");
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_PART);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), EIRC_CAPTURE_CLOSED_REASON);
	assert_int_equal(lg_ingest_channels(ing, chans, 8), in - 1);
	assert_int_equal(feed(":logger!bot@h JOIN #Chan"), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_JOIN);
	assert_true(hint.self_joined);
	/* the reason must be exact: one byte off is a removal and a gap */
	assert_int_equal(feed(":logger!bot@h PART #Chan :" EIRC_CAPTURE_CLOSED_REASON "."), 0);
	assert_true(hint.self_removed);
	assert_false(hint.closed);
	assert_int_equal(feed(":logger!bot@h JOIN #Chan"), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_GAP);
}

/* STATUSMSG: in the channel's conversation, target as sent, arg the prefix;
 * every prefix of 005 STATUSMSG, every message command. */
static void test_statusmsg(void **state)
{
	(void)state;
	feed(":irc.test 005 logger STATUSMSG=@+ :are supported");
	assert_int_equal(feed("@msgid=s1;account=acc :Alice!u1@h PRIVMSG @#Chan :ops only"),
			 LG_INGEST_DONE);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_PRIVMSG);
	assert_string_equal(EV(0, ARCHIVE_S_MSGID), "s1");
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "#chan");
	assert_string_equal(EV(0, ARCHIVE_S_TARGET), "@#Chan");
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "@");
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "ops only");
	assert_int_equal(feed("@msgid=s2 :Alice!u1@h NOTICE +#chan :voiced"), LG_INGEST_DONE);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_NOTICE);
	assert_string_equal(EV(0, ARCHIVE_S_TARGET), "+#chan");
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "+");
	assert_int_equal(feed("@msgid=s3;+react=x :Alice!u1@h TAGMSG @#chan"), LG_INGEST_DONE);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_TAGMSG);
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "#chan");
	assert_int_equal(feed("@msgid=s4 :Alice!u1@h PRIVMSG @+#chan :\001ACTION waves\001"),
			 LG_INGEST_DONE);
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "@+");
	/* a prefix not in STATUSMSG is not one; a prefix before a nick is no channel */
	assert_int_equal(feed("@msgid=s5 :Alice!u1@h PRIVMSG %#chan :x"), LG_INGEST_IGNORED);
	assert_int_equal(feed("@msgid=s6 :Alice!u1@h PRIVMSG @bob :x"), LG_INGEST_IGNORED);
	assert_int_equal(got.n, 0);
	/* a plain channel message has no arg */
	assert_int_equal(feed("@msgid=s7 :Alice!u1@h PRIVMSG #chan :all"), LG_INGEST_DONE);
	assert_string_equal(EV(0, ARCHIVE_S_ARG), "");
}

/* A direct-message copy: filed under the ids the server vouches for. */
static void test_direct_message_copy(void **state)
{
	(void)state;
	assert_int_equal(feed("@msgid=d1;time=2023-11-14T22:13:20.123Z;account=alice;eirc/uid=42;"
			      "eirc/to-uid=7 :alice!u42@h PRIVMSG Bob :hi bob"),
			 LG_INGEST_DONE);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_PRIVMSG);
	assert_string_equal(EV(0, ARCHIVE_S_MSGID), "d1");
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "dm:7:42");
	assert_string_equal(EV(0, ARCHIVE_S_TARGET), "Bob");
	assert_string_equal(EV(0, ARCHIVE_S_NICK), "alice");
	assert_string_equal(EV(0, ARCHIVE_S_ACCOUNT), "alice");
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "hi bob");
	/* the ident does not matter: the ids do */
	assert_int_equal(feed("@msgid=d2;eirc/uid=7;eirc/to-uid=42 :bob!u2@h NOTICE alice :n"),
			 LG_INGEST_DONE);
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "dm:7:42");
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_NOTICE);
	assert_int_equal(feed("@msgid=d3;+typing=active;eirc/uid=7;eirc/to-uid=42 :bob!u7@h "
			      "TAGMSG alice"),
			 LG_INGEST_DONE);
	assert_int_equal(got.ev[0].type, ARCHIVE_EV_TAGMSG);
	/* ids at the largest value, and one past it */
	assert_int_equal(feed("@msgid=d4;eirc/uid=18446744073709551615;eirc/to-uid=1 :x!y@h "
			      "PRIVMSG z :t"),
			 LG_INGEST_DONE);
	assert_string_equal(EV(0, ARCHIVE_S_CONV), "dm:1:18446744073709551615");
	assert_int_equal(feed("@msgid=d5;eirc/uid=18446744073709551616;eirc/to-uid=1 :x!y@h "
			      "PRIVMSG z :t"),
			 -EINVAL);
	assert_non_null(strstr(reason, "eirc/to-uid"));
	/* the receiver's id missing: refused, said */
	assert_int_equal(feed("@msgid=d6;eirc/uid=42 :alice!u42@h PRIVMSG bob :x"), -EINVAL);
	assert_int_equal(feed("@msgid=d7;eirc/uid=42;eirc/to-uid=0 :alice!u42@h PRIVMSG bob :x"),
			 -EINVAL);
	/* not archived: to the bot itself, a server's notice, two sessions of
	 * one account */
	assert_int_equal(feed("@msgid=d8;eirc/uid=42 :alice!u42@h PRIVMSG logger :hi"),
			 LG_INGEST_IGNORED);
	assert_int_equal(feed(":irc.test NOTICE * :*** Looking up your hostname"),
			 LG_INGEST_IGNORED);
	assert_int_equal(feed("@msgid=d9;eirc/uid=42;eirc/to-uid=42 :alice!u42@h PRIVMSG "
			      "alice|2 :me"),
			 LG_INGEST_IGNORED);
	assert_int_equal(got.n, 0);
}

static void test_bad_input(void **state)
{
	char line[1200];

	(void)state;
	assert_int_equal(feed("PRIVMSG #chan :no source"), LG_INGEST_IGNORED);
	assert_int_equal(feed(":a!b@c PRIVMSG #chan"), -EINVAL);
	assert_string_equal(reason, "missing parameters");
	assert_int_equal(feed(":a!b@c KICK #chan"), -EINVAL);
	assert_int_equal(feed(":a!b@c FOOBAR #chan :x"), LG_INGEST_IGNORED);
	assert_int_equal(feed(":a!b@c PRIVMSG #chan :\xff\xfe invalid utf-8"), 0);
	assert_string_equal(EV(0, ARCHIVE_S_TEXT), "\xff\xfe invalid utf-8"); /* kept as sent */
	assert_int_equal(feed(":a!b@c PRIVMSG #ch\x01\x7f\xc3\xa9 :odd"), 0);
	assert_string_equal(EV(0, ARCHIVE_S_TARGET), "#ch\x01\x7f\xc3\xa9");
	/* channel name at the key limit and one past */
	memset(line, 0, sizeof(line));
	strcpy(line, ":a!b@c PRIVMSG #");
	memset(line + strlen(line), 'c', ARCHIVE_EVENT_TARGET_MAX - 1);
	strcat(line, " :x");
	assert_int_equal(feed(line), 0);
	memset(line, 0, sizeof(line));
	strcpy(line, ":a!b@c PRIVMSG #");
	memset(line + strlen(line), 'c', ARCHIVE_EVENT_TARGET_MAX);
	strcat(line, " :x");
	assert_int_equal(feed(line), -EINVAL);
	assert_non_null(strstr(reason, "channel name longer"));
	/* a msgid over the limit is replaced by a derived one */
	memset(line, 0, sizeof(line));
	strcpy(line, "@msgid=");
	memset(line + 7, 'm', ARCHIVE_EVENT_MSGID_MAX + 1);
	strcat(line, " :a!b@c PRIVMSG #chan :x");
	assert_int_equal(feed(line), 0);
	assert_int_equal(EV(0, ARCHIVE_S_MSGID)[0], '~');
	assert_true(lg_ingest_stats(ing)->refused >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_privmsg_fields),
		cmocka_unit_test(test_membership_events),
		cmocka_unit_test(test_quit_and_nick_fan_out),
		cmocka_unit_test(test_derived_ids),
		cmocka_unit_test(test_hints_and_bookkeeping),
		cmocka_unit_test(test_channel_end_is_no_gap),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_statusmsg),
		cmocka_unit_test(test_direct_message_copy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
