/*
 * m_eirc_capture (config/inspircd/m_eirc_capture.cpp) in real InspIRCd,
 * spoken to by raw IRC clients: a capture bot is a client that sends the
 * capture class's PASS (what eirc-logger sends, logger.irc_password).
 *   - it is joined into every channel: those that exist when it registers
 *     (bans, keys, invite-only and limits do not stop it) and each new one
 *     at once, so that a message sent right after the creating JOIN
 *     reaches it, also when the channel is created on the other server of
 *     a linked pair;
 *   - KICK, SAKICK, REMOVE, SAPART, KILL and its own PART are refused with
 *     a numeric; a ban or a MODE -o does not stop it from receiving;
 *   - STATUSMSG (@#c, +#c) and direct messages reach it as copies with the
 *     receivers' target, msgid and time (and, with m_eirc_account, the
 *     account tags, and eirc/to-uid on a direct message), exactly once;
 *   - <eirccapture require="yes">: nothing is delivered while no capture bot
 *     is archiving (none, or AWAY), and the sender gets 404 ...
 *     (ARCHIVE_UNAVAILABLE);
 *   - eirc-logger with logger.irc_password is such a bot;
 *   - a channel ends when no one but capture bots is left in it (PART,
 *     QUIT, SAKICK, a netsplit; on a linked pair each server parts its
 *     own bot): the bot parts with EIRC_CAPTURE_CLOSED_REASON and the next
 *     JOIN, even in the same packet as the last PART, creates the channel
 *     anew (the joiner its operator, the modes reset); a capture bot's
 *     JOIN creates no channel (refused without a
 *     reply); eirc-logger archives the end as a PART, records no gap,
 *     rejoins nothing, does not create its configured channel, and
 *     archives a message sent right after the channel is created anew.
 * Each test fails without the module (the bot is then an ordinary client).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/capture.h"
#include "common/clock.h"
#include "common/irc_msg.h"
#include "scripts/stack/launch.h"
#include "tests/harness/irc_testclient.h"
#include "tests/integration/logger_fixture.h"

#define WEBIRC_PASSWORD "webirc-capture-test"
/* How long a linked pair may take to link, and a message to cross it. */
#define LINK_TIMEOUT_MS 20000

static srv_env_t *env;
static srv_t *ircd, *pair[2], *redis;
static struct lgf_proc logger;

static int setup_single(bool require)
{
	srv_ircd_opts_t o = {
		.require_archive = require,
		/* the other ways to remove a user from a channel */
		.extra = "<module name=\"sapart\">\n<module name=\"sakick\">\n"
			 "<module name=\"remove\">\n",
	};

	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	return srv_inspircd_start(env, &o, &ircd) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_single(false);
}

static int setup_require(void **state)
{
	(void)state;
	return setup_single(true);
}

/* With m_eirc_account (native="refuse"): every user has an account. */
static int setup_accounts(void **state)
{
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD, .native_clients = "refuse"};

	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	return srv_inspircd_start(env, &o, &ircd) < 0 ? -1 : 0;
}

static int setup_pair(void **state)
{
	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	int r = srv_inspircd_pair_start(env, NULL, pair);
	if (r < 0) { /* cmocka runs no teardown after a failed setup */
		fprintf(stderr, "linked pair: %s\n", strerror(-r));
		srv_env_free(env);
		env = NULL;
		return -1;
	}
	return 0;
}

/* The servers of the logger fixture: Redis and InspIRCd (whose capture
 * password the logger sends, lgf_use_ircd). */
static int setup_logger(void **state)
{
	char dir[512];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	lgf_proc_stop(&logger, SIGTERM);
	srv_env_free(env);
	env = NULL;
	return 0;
}

/* Registers with message-tags, server-time, multi-prefix and account-tag;
 * with password, sends it first (the capture class's PASS). */
static itc_t *client(const srv_t *s, const char *nick, const char *password)
{
	itc_t *c = itc_connect(srv_port(s));

	if (password)
		itc_sendf(c, "PASS %s", password);
	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER %s 0 * :%s", nick, nick);
	itc_sendf(c, "CAP REQ :message-tags server-time multi-prefix account-tag");
	itc_sendf(c, "CAP END");
	itc_expect(c, "001", NULL);
	return c;
}

/* A session as the irc-client registers it (m_eirc_account vouches for it:
 * account nick, id from USER u<id>). */
static itc_t *webirc_user(const char *nick, const char *uid)
{
	itc_t *c = itc_connect(srv_port(ircd));

	itc_sendf(c, "WEBIRC " WEBIRC_PASSWORD " eirc 198.51.100.7 198.51.100.7");
	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER %s 0 * :%s", uid, nick);
	itc_sendf(c, "CAP REQ :message-tags server-time account-tag");
	itc_sendf(c, "CAP END");
	itc_expect(c, "001", NULL);
	return c;
}

static itc_t *user(const char *nick)
{
	return client(ircd, nick, NULL);
}

static itc_t *bot(const srv_t *s, const char *nick)
{
	return client(s, nick, srv_capture_password(s));
}

/* Sends PING and reads up to its PONG: everything the server had queued
 * for c before has then been read. Returns how many of those lines have
 * command cmd and contain needle. */
static int count_until_pong(itc_t *c, const char *cmd, const char *needle)
{
	static unsigned seq;
	char tok[32];
	int n = 0;

	snprintf(tok, sizeof(tok), "sync%u", ++seq);
	itc_sendf(c, "PING :%s", tok);
	while (itc_next(c)) {
		if (irc_msg_command_is(&c->msg, "PONG") && itc_has(c, tok))
			return n;
		n += irc_msg_command_is(&c->msg, cmd) && itc_has(c, needle);
	}
	fail_msg("no PONG %s (last line: %s)", tok, c->line);
	return -1;
}

/* The server has handled every line c sent so far. */
static void sync_client(itc_t *c)
{
	count_until_pong(c, "", "");
}

/* The value of tag key on c's last line, "" when absent. */
static void tag(const itc_t *c, const char *key, char *out, size_t cap)
{
	irc_msg_tag_t t;

	if (irc_msg_tag_get(&c->msg, key, &t) == 0)
		snprintf(out, cap, "%.*s", (int)t.value_len, t.value);
	else
		out[0] = '\0';
}

/* Reads c up to the line of cmd holding needle; checks its first
 * parameter is target and copies its msgid and time tags. */
static void expect_msg(itc_t *c, const char *cmd, const char *target, const char *needle,
		       char msgid[128], char time[64])
{
	itc_expect(c, cmd, needle);
	if (!itc_param_is(&c->msg, 0, target))
		fail_msg("%s: target is not %s: %s", c->line, target, c->line);
	tag(c, "msgid", msgid, 128);
	tag(c, "time", time, 64);
	assert_true(msgid[0] && time[0]);
}

/* c (the receiver) and b (the capture bot) get the same message: same
 * command, target, text, msgid and time. */
static void expect_same(itc_t *c, itc_t *b, const char *cmd, const char *target, const char *needle)
{
	char m1[128], t1[64], m2[128], t2[64];

	expect_msg(c, cmd, target, needle, m1, t1);
	expect_msg(b, cmd, target, needle, m2, t2);
	assert_string_equal(m1, m2);
	assert_string_equal(t1, t2);
}

static void join(itc_t *c, const char *chan)
{
	itc_sendf(c, "JOIN %s", chan);
	itc_expect(c, "366", chan);
}

/* ---- joined everywhere -------------------------------------------------- */

/* A bot that registers is joined into every channel that exists, even one
 * that bans everyone, has a key, is invite-only and full. */
static void test_bot_joins_existing_channels_despite_modes(void **state)
{
	itc_t *alice = user("alice"), *b;
	(void)state;

	join(alice, "#locked");
	itc_sendf(alice, "MODE #locked +bikl *!*@* sesame 1");
	itc_expect(alice, "MODE", "+bikl");
	b = bot(ircd, "capbot");
	itc_expect(b, "JOIN", "#locked");
	assert_true(itc_has(b, ":capbot!"));
	itc_expect(alice, "JOIN", ":capbot!");
	itc_sendf(alice, "PRIVMSG #locked :to the locked room");
	itc_expect(b, "PRIVMSG", "to the locked room");
	itc_close(alice);
	itc_close(b);
}

/* A channel a user creates has the bot in it before the user's next line
 * is read: a message sent in the same packet as the JOIN reaches it. */
static void test_bot_joins_new_channel_before_first_message(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *alice = user("alice");
	static const char lines[] = "JOIN #fresh\r\nPRIVMSG #fresh :the very first line\r\n";
	(void)state;

	itc_send_raw(alice, lines, sizeof(lines) - 1);
	itc_expect(b, "JOIN", "#fresh");
	assert_true(itc_has(b, ":capbot!"));
	itc_expect(b, "PRIVMSG", "the very first line");
	assert_true(itc_param_is(&b->msg, 0, "#fresh"));
	itc_close(alice);
	itc_close(b);
}

/* ---- a channel's end ----------------------------------------------------- */

/* c (nick) reads up to the PART by which the module takes it out of chan:
 * its own, with the channel's-end reason. */
static void expect_end(itc_t *c, const char *nick, const char *chan, int timeout_ms)
{
	char who[48];

	snprintf(who, sizeof(who), ":%s!", nick);
	itc_expect_within(c, "PART", who, timeout_ms);
	if (!itc_param_is(&c->msg, 0, chan) ||
	    !itc_param_is(&c->msg, 1, EIRC_CAPTURE_CLOSED_REASON))
		fail_msg("not the end of %s: %s", chan, c->line);
}

/* c (nick) has sent a JOIN of chan that creates it anew: c is its operator
 * and it has the default modes only (+nst: no key, no invite-only, no ban
 * of anyone). */
static void expect_created_by_join(itc_t *c, const char *nick, const char *chan)
{
	char op[48];

	snprintf(op, sizeof(op), "@%s", nick);
	itc_expect(c, "353", chan);
	if (!itc_has(c, op))
		fail_msg("%s is not the operator of %s: %s", nick, chan, c->line);
	itc_expect(c, "366", chan);
	itc_sendf(c, "MODE %s", chan);
	itc_expect(c, "324", chan);
	if (!itc_param_is(&c->msg, 2, "+nst"))
		fail_msg("%s kept modes: %s", chan, c->line);
	itc_sendf(c, "MODE %s +b", chan);
	while (itc_next(c) && !irc_msg_command_is(&c->msg, "368"))
		if (irc_msg_command_is(&c->msg, "367"))
			fail_msg("%s kept a ban: %s", chan, c->line);
}

/* c (nick) joins chan and creates it anew (expect_created_by_join). */
static void expect_created(itc_t *c, const char *nick, const char *chan)
{
	itc_sendf(c, "JOIN %s", chan);
	expect_created_by_join(c, nick, chan);
}

/* c creates chan and locks it: invite-only, a key, a limit of 1, everyone
 * banned. Until the channel ends, nobody else can join it. */
static void create_locked(itc_t *c, const char *chan)
{
	join(c, chan);
	itc_sendf(c, "MODE %s +bikl *!*@* sesame 1", chan);
	itc_expect(c, "MODE", "+bikl");
}

/* The last member leaves by PART, by an oper's SAKICK (the oper is not in
 * the channel) and by QUIT: each time the bot parts with the channel's-end
 * reason, and bob's JOIN, which the locks would refuse, creates the
 * channel anew, bob its operator, the modes and bans gone; the bot is in it
 * again at once. */
static void test_channel_ends_with_last_member(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *alice = user("alice"), *bob = user("bob"),
	      *oper = user("oper");
	static const char cycle[] = "PART #cycle\r\nJOIN #cycle\r\n";
	(void)state;

	itc_sendf(oper, "OPER eirc %s", srv_oper_password(ircd));
	itc_expect(oper, "381", NULL);

	create_locked(alice, "#by-part");
	itc_sendf(alice, "PART #by-part :bye");
	expect_end(b, "capbot", "#by-part", 5000);
	expect_created(bob, "bob", "#by-part");
	itc_expect(b, "JOIN", "#by-part");

	create_locked(alice, "#by-kick");
	itc_sendf(oper, "SAKICK #by-kick alice :out");
	expect_end(b, "capbot", "#by-kick", 5000);
	expect_created(bob, "bob", "#by-kick");
	itc_expect(b, "JOIN", "#by-kick");

	create_locked(alice, "#by-quit");
	itc_sendf(alice, "QUIT :gone");
	expect_end(b, "capbot", "#by-quit", 5000);
	expect_created(bob, "bob", "#by-quit");
	itc_expect(b, "JOIN", "#by-quit");

	/* a cycle in one packet: the channel ends before the JOIN is read
	 * (the module closes it before the next command), which creates it
	 * anew although the locks would refuse it */
	create_locked(bob, "#cycle");
	itc_send_raw(bob, cycle, sizeof(cycle) - 1);
	itc_expect(bob, "PART", "#cycle");
	expect_created_by_join(bob, "bob", "#cycle");
	expect_end(b, "capbot", "#cycle", 5000);
	itc_expect(b, "JOIN", "#cycle");

	/* bob is the last member of all three: one PART ends one */
	itc_sendf(bob, "PART #by-kick");
	expect_end(b, "capbot", "#by-kick", 5000);
	sync_client(b);
	assert_int_equal(count_until_pong(b, "PART", ""), 0);
	itc_close(oper);
	itc_close(bob);
	itc_close(alice);
	itc_close(b);
}

/* Reads c up to the PONG of a PING: nothing on the way names chan. */
static void expect_nothing_about(itc_t *c, const char *chan)
{
	itc_sendf(c, "PING :quiet");
	while (itc_next(c)) {
		if (irc_msg_command_is(&c->msg, "PONG"))
			return;
		if (itc_has(c, chan))
			fail_msg("about %s: %s", chan, c->line);
	}
	fail_msg("no PONG (last line: %s)", c->line);
}

/* A capture bot's JOIN to channels that do not exist creates none and gets
 * no reply (the other bot is not joined either); a user's JOIN then creates
 * it (the user its operator) and both bots are joined. Its JOIN to a
 * channel that exists joins it there, ignoring the locks. */
static void test_bot_creates_no_channel(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *b2 = bot(ircd, "capbot2"), *alice = user("alice");
	(void)state;

	itc_sendf(b, "JOIN #botmade,#botmade2");
	expect_nothing_about(b, "#botmade");
	expect_nothing_about(b2, "#botmade");
	expect_created(alice, "alice", "#botmade");
	itc_expect(b, "JOIN", "#botmade");
	itc_expect(b2, "JOIN", "#botmade");
	expect_created(alice, "alice", "#botmade2");
	itc_expect(b, "JOIN", "#botmade2");
	itc_close(b2);
	itc_close(alice);
	itc_close(b);
}

/* ---- cannot be removed -------------------------------------------------- */

static void expect_refused(itc_t *c, const char *numeric)
{
	itc_expect(c, numeric, "capbot");
	assert_true(itc_has(c, "eIRC capture"));
}

/* KICK (by the channel's operator), SAKICK, SAPART, REMOVE and KILL (by an
 * IRC operator) and the bot's own PART are refused with a numeric; the
 * channel's operator banning it and taking its operator status does not
 * stop it from receiving. */
static void test_bot_cannot_be_removed(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *alice = user("alice"), *oper = user("oper");
	(void)state;

	join(alice, "#keep");
	itc_expect(b, "JOIN", "#keep");
	itc_sendf(oper, "OPER eirc %s", srv_oper_password(ircd));
	itc_expect(oper, "381", NULL);

	itc_sendf(alice, "KICK #keep capbot :go away");
	expect_refused(alice, "484");
	itc_sendf(alice, "REMOVE capbot #keep :go away");
	expect_refused(alice, "484");
	itc_sendf(oper, "SAKICK #keep capbot :go away");
	expect_refused(oper, "484");
	itc_sendf(oper, "SAPART capbot #keep");
	expect_refused(oper, "484");
	itc_sendf(oper, "KILL capbot :go away");
	expect_refused(oper, "485");
	itc_sendf(b, "PART #keep");
	itc_expect(b, "484", "#keep");
	itc_sendf(alice, "MODE #keep +o capbot");
	itc_expect(alice, "MODE", "+o :capbot");
	itc_sendf(alice, "MODE #keep -o+b capbot capbot!*@*");
	itc_expect(alice, "MODE", "-o+b capbot");

	itc_sendf(alice, "PRIVMSG #keep :still archived");
	itc_expect(b, "PRIVMSG", "still archived");
	/* nothing removed it on the way */
	sync_client(alice);
	assert_int_equal(count_until_pong(alice, "KICK", "capbot"), 0);
	itc_sendf(alice, "NAMES #keep");
	itc_expect(alice, "353", "capbot");
	itc_close(oper);
	itc_close(alice);
	itc_close(b);
}

/* ---- copies ------------------------------------------------------------- */

/* STATUSMSG: @#c reaches the operators, +#c the voiced and operators; the
 * bot (neither) gets each as a copy, target @#c / +#c, same msgid and time
 * as the members, exactly once; PRIVMSG, NOTICE and TAGMSG alike. Once it
 * is an operator itself it gets the message once, not a copy more. */
static void test_statusmsg_copied_once(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *alice = user("alice"), *bob = user("bob"),
	      *carol = user("carol");
	char m1[128], t1[64], m2[128], t2[64];
	(void)state;

	join(alice, "#ops");
	join(bob, "#ops");
	join(carol, "#ops");
	itc_sendf(alice, "MODE #ops +v carol");
	itc_expect(alice, "MODE", "+v :carol");

	itc_sendf(bob, "PRIVMSG @#ops :for the ops");
	expect_same(alice, b, "PRIVMSG", "@#ops", "for the ops");
	itc_sendf(bob, "NOTICE @#ops :notice for the ops");
	expect_same(alice, b, "NOTICE", "@#ops", "notice for the ops");
	itc_sendf(bob, "@+typing=active TAGMSG @#ops");
	expect_same(alice, b, "TAGMSG", "@#ops", "+typing=active");
	itc_sendf(bob, "PRIVMSG +#ops :for the voiced");
	expect_same(carol, b, "PRIVMSG", "+#ops", "for the voiced");
	sync_client(bob);
	assert_int_equal(count_until_pong(b, "PRIVMSG", "for the"), 0);
	/* carol (voiced only) never saw the @#ops ones */
	assert_int_equal(count_until_pong(carol, "PRIVMSG", "for the ops"), 0);

	itc_sendf(alice, "MODE #ops +o capbot");
	itc_expect(b, "MODE", "+o :capbot");
	itc_sendf(bob, "PRIVMSG @#ops :now the bot is an op");
	expect_msg(b, "PRIVMSG", "@#ops", "now the bot is an op", m1, t1);
	expect_msg(alice, "PRIVMSG", "@#ops", "now the bot is an op", m2, t2);
	assert_string_equal(m1, m2);
	sync_client(bob);
	assert_int_equal(count_until_pong(b, "PRIVMSG", "now the bot is an op"), 0);
	itc_close(carol);
	itc_close(bob);
	itc_close(alice);
	itc_close(b);
}

/* A direct message (PRIVMSG, NOTICE, TAGMSG) is copied to the bot exactly
 * as the receiver sees it: target the receiver, same msgid and time. One
 * bot gets it: the first one not AWAY. A message to the bot itself is not
 * copied to it again. */
static void test_direct_messages_copied_once(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *b2 = bot(ircd, "capbot2"), *alice = user("alice"),
	      *bob = user("bob");
	(void)state;

	itc_sendf(alice, "PRIVMSG bob :hello bob");
	expect_same(bob, b, "PRIVMSG", "bob", "hello bob");
	assert_true(itc_has(b, ":alice!"));
	itc_sendf(alice, "NOTICE bob :a notice for bob");
	expect_same(bob, b, "NOTICE", "bob", "a notice for bob");
	itc_sendf(alice, "@+typing=active TAGMSG bob");
	expect_same(bob, b, "TAGMSG", "bob", "+typing=active");

	/* the first bot away: the second gets the copies */
	itc_sendf(b, "AWAY :archive unavailable");
	itc_expect(b, "306", NULL);
	itc_sendf(bob, "PRIVMSG alice :hello alice");
	expect_same(alice, b2, "PRIVMSG", "alice", "hello alice");
	itc_sendf(b, "AWAY");
	itc_expect(b, "305", NULL);
	itc_sendf(bob, "PRIVMSG alice :hello again");
	expect_same(alice, b, "PRIVMSG", "alice", "hello again");
	itc_sendf(alice, "PRIVMSG capbot :to the bot itself");
	itc_expect(b, "PRIVMSG", "to the bot itself");

	sync_client(alice);
	sync_client(bob);
	assert_int_equal(count_until_pong(b, "PRIVMSG", "hello"), 0);
	assert_int_equal(count_until_pong(b, "PRIVMSG", "to the bot itself"), 0);
	assert_int_equal(count_until_pong(b2, "PRIVMSG", "hello"), 0);
	itc_close(bob);
	itc_close(alice);
	itc_close(b2);
	itc_close(b);
}

/* The value of tag key on c's last line is want (NULL: no such tag). */
static void tag_is(const itc_t *c, const char *key, const char *want)
{
	char v[128];

	tag(c, key, v, sizeof(v));
	if (!want && v[0])
		fail_msg("tag %s=%s on %s", key, v, c->line);
	if (want && strcmp(v, want) != 0)
		fail_msg("tag %s is \"%s\", want %s: %s", key, v, want, c->line);
}

/* With accounts (m_eirc_account): a direct message's copy carries the
 * sender's account and eirc/uid as the receiver's does, plus
 * eirc/to-uid=<receiver's id>, which the receiver never sees and a client
 * cannot forge; a STATUSMSG copy carries the sender's account and
 * eirc/uid and no eirc/to-uid. */
static void test_copies_carry_account_tags(void **state)
{
	itc_t *b = bot(ircd, "capbot"), *alice = webirc_user("alice", "u7"),
	      *bob = webirc_user("bob", "u8");
	(void)state;

	itc_sendf(alice, "PRIVMSG bob :tagged dm");
	expect_same(bob, b, "PRIVMSG", "bob", "tagged dm");
	tag_is(b, "eirc/to-uid", "8");
	tag_is(b, "eirc/uid", "7");
	tag_is(b, "account", "alice");
	tag_is(bob, "eirc/to-uid", NULL);
	tag_is(bob, "eirc/uid", "7");
	tag_is(bob, "account", "alice");

	itc_sendf(alice, "@eirc/to-uid=3 PRIVMSG bob :forged to-uid");
	expect_same(bob, b, "PRIVMSG", "bob", "forged to-uid");
	tag_is(b, "eirc/to-uid", "8");
	tag_is(bob, "eirc/to-uid", NULL);

	join(alice, "#t");
	join(bob, "#t");
	itc_sendf(bob, "PRIVMSG @#t :tagged statusmsg");
	expect_same(alice, b, "PRIVMSG", "@#t", "tagged statusmsg");
	tag_is(b, "eirc/uid", "8");
	tag_is(b, "account", "bob");
	tag_is(b, "eirc/to-uid", NULL);
	itc_close(bob);
	itc_close(alice);
	itc_close(b);
}

/* ---- require="yes" ------------------------------------------------------ */

/* The sender gets 404 <target> ... (ARCHIVE_UNAVAILABLE) and the receiver
 * nothing. */
static void expect_unarchived(itc_t *from, itc_t *to, const char *cmd, const char *target)
{
	char needle[128];

	if (strcmp(cmd, "TAGMSG") == 0)
		itc_sendf(from, "@+typing=active TAGMSG %s", target);
	else
		itc_sendf(from, "%s %s :unarchived text", cmd, target);
	snprintf(needle, sizeof(needle), " %s :Cannot send: nothing is archiving it", target);
	itc_expect(from, "404", needle);
	assert_true(itc_has(from, "(ARCHIVE_UNAVAILABLE)"));
	assert_int_equal(count_until_pong(to, cmd, target[0] == '#' ? target : ""), 0);
}

static void expect_refusals(itc_t *alice, itc_t *bob)
{
	static const char *const cmds[] = {"PRIVMSG", "NOTICE", "TAGMSG"};

	for (size_t i = 0; i < 3; i++) {
		expect_unarchived(alice, bob, cmds[i], "#r");
		expect_unarchived(alice, bob, cmds[i], "bob");
	}
}

/* Without a capture bot, and with the only one AWAY, nothing is delivered;
 * with it there (back), messages flow. */
static void test_require_refuses_while_nothing_archives(void **state)
{
	itc_t *alice = user("alice"), *bob = user("bob"), *b;
	(void)state;

	join(alice, "#r");
	join(bob, "#r");
	expect_refusals(alice, bob);

	b = bot(ircd, "capbot");
	itc_expect(b, "JOIN", "#r");
	itc_sendf(alice, "PRIVMSG #r :archived now");
	itc_expect(bob, "PRIVMSG", "archived now");
	itc_sendf(alice, "PRIVMSG bob :archived dm");
	itc_expect(bob, "PRIVMSG", "archived dm");

	itc_sendf(b, "AWAY :archive unavailable");
	itc_expect(b, "306", NULL);
	expect_refusals(alice, bob);

	itc_sendf(b, "AWAY");
	itc_expect(b, "305", NULL);
	itc_sendf(alice, "PRIVMSG #r :archived again");
	itc_expect(bob, "PRIVMSG", "archived again");
	itc_close(b);
	itc_close(bob);
	itc_close(alice);
}

/* ---- a linked pair ------------------------------------------------------ */

/* Waits until c's server knows nick (the link has formed and burst). */
static void wait_for_nick(itc_t *c, const char *nick)
{
	uint64_t deadline = clock_mono_ms() + LINK_TIMEOUT_MS;

	while (clock_mono_ms() < deadline) {
		itc_sendf(c, "WHOIS %s", nick);
		while (itc_next(c)) {
			if (irc_msg_command_is(&c->msg, "311"))
				return;
			if (irc_msg_command_is(&c->msg, "401"))
				break;
		}
		poll(NULL, 0, 200);
	}
	fail_msg("the servers did not link: no %s", nick);
}

/* A channel of the second server from before the link (or at least
 * before the first server's bot registers) has that bot in it. A user of
 * the second server creates a channel and writes in it in one packet: the
 * capture bots of both servers get the first line (the first server's bot
 * joins when the channel reaches it, and the message is sent there
 * although its join has not come back yet: the second server knows that
 * bot, registered after the link, as a capture bot). A STATUSMSG there,
 * with every operator on the second server, reaches the first server's bot
 * as a copy. */
static void test_linked_pair_first_message_and_statusmsg(void **state)
{
	itc_t *dave = client(pair[1], "dave", NULL), *erin = client(pair[1], "erin", NULL);
	itc_t *watcher = client(pair[0], "watcher", NULL), *b1, *b2;
	static const char lines[] = "JOIN #far\r\nPRIVMSG #far :first line on irc2\r\n";
	char m1[128], t1[64], m2[128], t2[64];
	(void)state;

	join(dave, "#early");
	wait_for_nick(watcher, "dave");
	b1 = bot(pair[0], "capbot1");
	itc_expect_within(b1, "JOIN", "#early", LINK_TIMEOUT_MS);
	itc_expect_within(dave, "JOIN", ":capbot1!", LINK_TIMEOUT_MS);
	b2 = bot(pair[1], "capbot2");
	itc_send_raw(dave, lines, sizeof(lines) - 1);
	itc_expect_within(b2, "PRIVMSG", "first line on irc2", LINK_TIMEOUT_MS);
	itc_expect_within(b1, "PRIVMSG", "first line on irc2", LINK_TIMEOUT_MS);
	assert_true(itc_param_is(&b1->msg, 0, "#far"));

	join(erin, "#far");
	itc_expect_within(b1, "JOIN", ":erin!", LINK_TIMEOUT_MS);
	itc_sendf(erin, "PRIVMSG @#far :for dave only");
	expect_msg(dave, "PRIVMSG", "@#far", "for dave only", m1, t1);
	itc_expect_within(b1, "PRIVMSG", "for dave only", LINK_TIMEOUT_MS);
	assert_true(itc_param_is(&b1->msg, 0, "@#far"));
	tag(b1, "msgid", m2, sizeof(m2));
	assert_string_equal(m1, m2);
	expect_msg(b2, "PRIVMSG", "@#far", "for dave only", m2, t2);
	assert_string_equal(m1, m2);
	assert_string_equal(t1, t2);
	itc_close(watcher);
	itc_close(erin);
	itc_close(dave);
	itc_close(b2);
	itc_close(b1);
}

/* A linked pair: the last member of a channel, on the second server,
 * leaves: both servers part their own bot (each sees the other's bot, a
 * capture bot too, as no member). The first server's user then creates
 * the channel anew there. */
static void test_linked_pair_channel_ends_on_both(void **state)
{
	itc_t *dave = client(pair[1], "dave", NULL), *watcher = client(pair[0], "watcher", NULL);
	itc_t *b1, *b2;
	(void)state;

	wait_for_nick(watcher, "dave");
	b1 = bot(pair[0], "capbot1");
	b2 = bot(pair[1], "capbot2");
	wait_for_nick(dave, "capbot1");
	wait_for_nick(watcher, "capbot2");
	create_locked(dave, "#pair-end");
	itc_expect_within(b1, "JOIN", "#pair-end", LINK_TIMEOUT_MS);
	itc_expect_within(b2, "JOIN", ":capbot1!", LINK_TIMEOUT_MS);
	itc_expect_within(b1, "MODE", "+bikl", LINK_TIMEOUT_MS);
	itc_sendf(dave, "PART #pair-end");
	expect_end(b2, "capbot2", "#pair-end", LINK_TIMEOUT_MS);
	expect_end(b1, "capbot1", "#pair-end", LINK_TIMEOUT_MS);
	/* the first server has seen the second's bot go too */
	uint64_t deadline = clock_mono_ms() + LINK_TIMEOUT_MS;
	for (bool gone = false; !gone;) {
		if (clock_mono_ms() > deadline)
			fail_msg("#pair-end still exists on the first server");
		itc_sendf(watcher, "NAMES #pair-end");
		gone = true;
		while (itc_next(watcher) && !irc_msg_command_is(&watcher->msg, "366"))
			gone = gone && !irc_msg_command_is(&watcher->msg, "353");
		if (!gone)
			poll(NULL, 0, 100);
	}
	expect_created(watcher, "watcher", "#pair-end");
	itc_expect_within(b1, "JOIN", "#pair-end", LINK_TIMEOUT_MS);
	itc_expect_within(b2, "JOIN", "#pair-end", LINK_TIMEOUT_MS);
	itc_close(watcher);
	itc_close(dave);
	itc_close(b2);
	itc_close(b1);
}

/* A netsplit takes the last members away: the second server dies, its
 * users quit on the first, whose bot then parts. */
static void test_netsplit_ends_channel(void **state)
{
	itc_t *dave = client(pair[1], "dave", NULL), *watcher = client(pair[0], "watcher", NULL);
	itc_t *b1;
	(void)state;

	wait_for_nick(watcher, "dave");
	b1 = bot(pair[0], "capbot1");
	join(dave, "#split-end");
	itc_expect_within(b1, "JOIN", "#split-end", LINK_TIMEOUT_MS);
	join(watcher, "#stays");
	itc_expect(b1, "JOIN", "#stays");
	assert_int_equal(srv_kill(pair[1], SIGKILL), 0);
	expect_end(b1, "capbot1", "#split-end", LINK_TIMEOUT_MS);
	/* a channel someone is still in stays */
	sync_client(b1);
	assert_int_equal(count_until_pong(b1, "PART", "#stays"), 0);
	itc_close(dave);
	itc_close(watcher);
	itc_close(b1);
}

/* ---- eirc-logger -------------------------------------------------------- */

/* eirc-logger with logger.irc_password (the fixture writes the capture
 * password) is a capture bot: in a channel it was never told about, as
 * soon as a user creates it. */
static void test_logger_pass_makes_it_a_capture_bot(void **state)
{
	struct lgf_logger_cfg c = {.dir = srv_env_dir(env),
				   .nick = "eirc-logger",
				   .irc_port = srv_port(ircd),
				   .redis_port = srv_port(redis),
				   .channels = "[]"};
	itc_t *alice = user("alice");
	(void)state;

	assert_int_equal(lgf_logger_start(&c, &logger), 0);
	wait_for_nick(alice, "eirc-logger");
	itc_sendf(alice, "JOIN #never-configured");
	itc_expect(alice, "JOIN", ":eirc-logger!");
	assert_true(itc_has(alice, "#never-configured"));
	itc_sendf(alice, "KICK #never-configured eirc-logger");
	itc_expect(alice, "484", "eirc-logger");
	itc_close(alice);
}

/* The archived entries of chan of the given type and nick ("" any). */
static size_t count_entries(const struct lgf_entry *e, size_t n, const char *type, const char *nick)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += !strcmp(e[i].type, type) && (!nick[0] || !strcmp(e[i].nick, nick));
	return c;
}

struct ended {
	redisContext *rc;
	struct lgf_entry *e;
	size_t n;
	const char *chan, *type, *nick;
	size_t want;
};

static bool archived(void *ud)
{
	struct ended *x = ud;

	x->n = lgf_history(x->rc, x->chan, x->e, 64);
	return count_entries(x->e, x->n, x->type, x->nick) >= x->want;
}

/* eirc-logger, configured with a channel that does not exist: its JOIN
 * creates nothing (alice creating it is its operator), and it sends no
 * other JOIN. The channel's end is archived as the logger's PART with the
 * reason, with no gap, and the logger says it ended and does not rejoin;
 * alice creates the channel anew and writes in the same packet: the
 * message is archived, and still no gap. */
static void test_logger_archives_channel_end(void **state)
{
	struct lgf_logger_cfg c = {.dir = srv_env_dir(env),
				   .nick = "eirc-logger",
				   .irc_port = srv_port(ircd),
				   .redis_port = srv_port(redis),
				   .channels = "[\"#cfg-end\"]"};
	static const char again[] = "JOIN #cfg-end\r\nPRIVMSG #cfg-end :right after\r\n";
	struct lgf_entry *e = calloc(64, sizeof(*e));
	redisContext *rc = lgf_redis(srv_port(redis));
	struct ended x = {rc, e, 0, "#cfg-end", "part", "eirc-logger", 1};
	itc_t *alice = user("alice");
	char *log;
	(void)state;

	assert_non_null(e);
	assert_non_null(rc);
	assert_int_equal(lgf_logger_start(&c, &logger), 0);
	wait_for_nick(alice, "eirc-logger");
	lgf_sleep_ms(500); /* its JOIN of #cfg-end follows its registration */
	expect_created(alice, "alice", "#cfg-end"); /* the server joins the logger */
	itc_sendf(alice, "PRIVMSG #cfg-end :before the end");
	itc_sendf(alice, "PART #cfg-end");
	itc_expect(alice, "PART", "#cfg-end");
	if (!lgf_wait_for(archived, &x, 10000))
		fail_msg("the logger's PART is not archived (log %s)", logger.log);
	for (size_t i = 0; i < x.n; i++)
		if (!strcmp(e[i].type, "part") && !strcmp(e[i].nick, "eirc-logger"))
			assert_string_equal(e[i].text, EIRC_CAPTURE_CLOSED_REASON);
	lgf_sleep_ms(2500); /* past LG_APP_REJOIN_MS: a rejoin would have come */

	itc_send_raw(alice, again, sizeof(again) - 1);
	itc_expect(alice, "353", "@alice");
	x.type = "privmsg";
	x.nick = "alice";
	x.want = 2;
	if (!lgf_wait_for(archived, &x, 10000))
		fail_msg("the message after the re-creation is not archived (log %s)", logger.log);
	assert_int_equal(count_entries(e, x.n, "gap", ""), 0);
	assert_int_equal(count_entries(e, x.n, "join", "eirc-logger"), 2);
	assert_int_equal(count_entries(e, x.n, "part", "eirc-logger"), 1);
	log = lgf_slurp(logger.log);
	assert_non_null(log);
	if (!strstr(log, "#cfg-end ended") || strstr(log, "Removed from") ||
	    strstr(log, "] error: ") || strstr(log, "] warn: Refused"))
		fail_msg("logger log: %s", log);
	free(log);
	redisFree(rc);
	free(e);
	itc_close(alice);
}

int main(void)
{
	const struct CMUnitTest single[] = {
		cmocka_unit_test_setup_teardown(test_bot_joins_existing_channels_despite_modes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bot_joins_new_channel_before_first_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_ends_with_last_member, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bot_creates_no_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bot_cannot_be_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statusmsg_copied_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_messages_copied_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copies_carry_account_tags, setup_accounts,
						teardown),
		cmocka_unit_test_setup_teardown(test_require_refuses_while_nothing_archives,
						setup_require, teardown),
		cmocka_unit_test_setup_teardown(test_linked_pair_first_message_and_statusmsg,
						setup_pair, teardown),
		cmocka_unit_test_setup_teardown(test_linked_pair_channel_ends_on_both, setup_pair,
						teardown),
		cmocka_unit_test_setup_teardown(test_netsplit_ends_channel, setup_pair, teardown),
		cmocka_unit_test_setup_teardown(test_logger_pass_makes_it_a_capture_bot,
						setup_logger, teardown),
		cmocka_unit_test_setup_teardown(test_logger_archives_channel_end, setup_logger,
						teardown),
	};

	return cmocka_run_group_tests(single, NULL, NULL);
}
