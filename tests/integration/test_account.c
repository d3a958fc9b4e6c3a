/*
 * m_eirc_account (config/inspircd/m_eirc_account.cpp, contract C3 of issue
 * 25) in a real InspIRCd, spoken to by raw IRC clients:
 *   - native="refuse": a plain client cannot register, whatever USER it
 *     claims; a WEBIRC'd session is bound to USER u<id> and its nick's
 *     account (WHOIS, the account and eirc/uid tags), cannot take another
 *     account's nick, and no client can send eirc/uid; a capture bot (the
 *     capture class's password) registers without an account;
 *   - on a linked pair the account travels with the user: the other
 *     server's WHOIS, account tag and eirc/uid show it;
 *   - native="authenticated", against a real PostgreSQL migrated by a real
 *     eirc-auth (accounts made with its CLI, so the Argon2id strings are
 *     libsodium's) through a read-only role: no PASS, a wrong PASS, another
 *     account's nick, a disabled account, an account without a password,
 *     a suffix out of |2..|10 are refused; the right PASS registers as
 *     u<id> whatever USER said, with the account; the role reads nothing
 *     but the columns it needs;
 *   - with eirc-logger as the capture bot (m_eirc_capture) and Redis: a
 *     channel an authenticated plain client creates is archived from the
 *     message sent right behind its JOIN, and a direct message between two
 *     of them is archived once, in their conversation, as the sender's
 *     account's even when it said USER u<the receiver's id>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "scripts/stack/launch.h"
#include "tests/harness/irc_testclient.h"
#include "tests/integration/auth_fixture.h"
#include "tests/integration/logger_fixture.h"

#define WEBIRC_PASSWORD  "webirc-account-test"
#define CAPTURE_PASSWORD "capture-account-test"
#define IRCD_ROLE        "eirc_ircd"
#define IRCD_ROLE_PW     "ircd-read-only-test"
#define REFUSED          "this server admits only eIRC sessions"
#define AUTH_FAILED      "eIRC authentication failed"

static srv_env_t *env; /* refuse mode */
static srv_t *ircd, *pair[2];
static fx_t fx; /* authenticated mode: PostgreSQL, eirc-auth */
static srv_t *auth_ircd, *redis;
static struct lgf_proc logger; /* the capture bot */
static redisContext *rc;
#define MAXE 4096
static struct lgf_entry *ents;

/* ---- helpers ---- */

/* Registers c as nick with the lines given, then reads until 001 (true)
 * or ERROR (false; c->line holds it). */
static bool registers(itc_t *c)
{
	while (itc_next(c)) {
		if (irc_msg_command_is(&c->msg, "001"))
			return true;
		if (irc_msg_command_is(&c->msg, "ERROR"))
			return false;
	}
	fail_msg("neither 001 nor ERROR");
	return false;
}

static void refused(itc_t *c, const char *why)
{
	if (registers(c))
		fail_msg("registered, expected ERROR %s", why);
	if (!itc_has(c, why))
		fail_msg("ERROR without \"%s\": %s", why, c->line);
}

/* A WEBIRC'd session (as the irc-client registers) with message-tags. */
static itc_t *webirc(int port, const char *nick, const char *user)
{
	itc_t *c = itc_connect(port);

	itc_sendf(c, "WEBIRC " WEBIRC_PASSWORD " eirc 198.51.100.9 198.51.100.9");
	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "CAP REQ :message-tags account-tag echo-message");
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER %s 0 * :web", user);
	itc_sendf(c, "CAP END");
	return c;
}

/* WHOIS nick through c: its username (311) and account (330, "" when none). */
static void whois(itc_t *c, const char *nick, char *user, char *account, size_t cap)
{
	account[0] = user[0] = '\0';
	itc_sendf(c, "WHOIS %s", nick);
	while (itc_next(c) && !irc_msg_command_is(&c->msg, "318")) {
		if (irc_msg_command_is(&c->msg, "311"))
			snprintf(user, cap, "%.*s", (int)c->msg.params[2].len,
				 c->msg.params[2].ptr);
		if (irc_msg_command_is(&c->msg, "330"))
			snprintf(account, cap, "%.*s", (int)c->msg.params[2].len,
				 c->msg.params[2].ptr);
	}
	assert_true(irc_msg_command_is(&c->msg, "318"));
}

static void tag_is(const irc_msg_t *m, const char *key, const char *want)
{
	irc_msg_tag_t t;

	if (!want) {
		assert_int_not_equal(irc_msg_tag_get(m, key, &t), 0);
		return;
	}
	assert_int_equal(irc_msg_tag_get(m, key, &t), 0);
	if (t.value_len != strlen(want) || memcmp(t.value, want, t.value_len) != 0)
		fail_msg("tag %s: %.*s, want %s", key, (int)t.value_len, t.value, want);
}

/* ---- refuse ---- */

static int setup_refuse(void **state)
{
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD,
			     .capture_password = CAPTURE_PASSWORD, /* the template's class */
			     .native_clients = "refuse"};
	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0 || srv_inspircd_start(env, &o, &ircd) < 0)
		return -1;
	o.extra_binds = NULL;
	return srv_inspircd_pair_start(env, &o, pair);
}

static int teardown_refuse(void **state)
{
	(void)state;
	srv_env_free(env);
	return 0;
}

/* Escape route 2 of issue 25: a plain client takes an account's nick. */
static void test_refuse_plain_client(void **state)
{
	itc_t *c = itc_connect(srv_port(ircd));

	(void)state;
	itc_sendf(c, "NICK alice");
	itc_sendf(c, "USER x 0 * :x");
	refused(c, REFUSED);
	itc_close(c);
	/* a USER that looks like an eIRC session's is no better */
	c = itc_connect(srv_port(ircd));
	itc_sendf(c, "NICK notalice");
	itc_sendf(c, "USER u2 0 * :x");
	refused(c, REFUSED);
	itc_close(c);
	/* nor is a PASS that is not a capture class's */
	c = itc_connect(srv_port(ircd));
	itc_sendf(c, "PASS not-the-capture-password");
	itc_sendf(c, "NICK alice");
	itc_sendf(c, "USER u1 0 * :x");
	refused(c, REFUSED);
	itc_close(c);
}

/* The irc-client's session: account from USER u<id> and the nick. */
static void test_webirc_vouched(void **state)
{
	char user[64], account[64];
	itc_t *a = webirc(srv_port(ircd), "alice", "u7");
	itc_t *b = webirc(srv_port(ircd), "bob|2", "u8");

	(void)state;
	assert_true(registers(a));
	assert_true(registers(b));
	whois(a, "alice", user, account, sizeof(user));
	assert_string_equal(user, "u7");
	assert_string_equal(account, "alice");
	whois(a, "bob|2", user, account, sizeof(user));
	assert_string_equal(account, "bob");
	/* the account tag and eirc/uid on what alice sends; a client's own
	 * eirc/uid never passes */
	itc_sendf(a, "@eirc/uid=1 PRIVMSG bob|2 :hello");
	itc_expect(b, "PRIVMSG", "hello");
	tag_is(&b->msg, "account", "alice");
	tag_is(&b->msg, "eirc/uid", "7");
	itc_sendf(a, "@+typing=active;eirc/uid=1 TAGMSG bob|2");
	itc_expect(b, "TAGMSG", NULL);
	tag_is(&b->msg, "eirc/uid", "7");
	/* nicks belong to accounts: alice may be alice|2..alice|10, not bob */
	itc_sendf(a, "NICK bob");
	itc_expect(a, "432", "bob");
	itc_sendf(a, "NICK alice1");
	itc_expect(a, "432", "alice1");
	itc_sendf(a, "NICK alice|11");
	itc_expect(a, "432", "alice|11");
	itc_sendf(a, "NICK alice|10");
	itc_expect(a, "NICK", "alice|10");
	itc_sendf(a, "NICK Alice");
	itc_expect(a, "NICK", "Alice");
	itc_close(a);
	itc_close(b);
	/* a WEBIRC'd session must still say who it is */
	a = webirc(srv_port(ircd), "carol", "carol");
	refused(a, REFUSED);
	itc_close(a);
	a = webirc(srv_port(ircd), "carol|1", "u9");
	refused(a, REFUSED);
	itc_close(a);
	/* the account id of USER u<id> must fit <limits:maxident> (12, in
	 * config/inspircd.conf.in): at the limit it is the account's, one
	 * past it is refused, never cut into another account's id */
	a = webirc(srv_port(ircd), "gina", "u12345678901");
	assert_true(registers(a));
	whois(a, "gina", user, account, sizeof(user));
	assert_string_equal(user, "u12345678901");
	itc_close(a);
	a = webirc(srv_port(ircd), "hank", "u123456789012");
	refused(a, REFUSED);
	itc_close(a);
}

/* A capture bot registers without an account; it gets eirc/uid, a plain
 * session (no WEBIRC) never exists to get it. */
static void test_capture_bot(void **state)
{
	char user[64], account[64];
	itc_t *bot = itc_connect(srv_port(ircd));
	itc_t *a = webirc(srv_port(ircd), "dave", "u11");

	(void)state;
	itc_sendf(bot, "PASS " CAPTURE_PASSWORD);
	itc_sendf(bot, "CAP LS 302");
	itc_sendf(bot, "CAP REQ :message-tags account-tag");
	itc_sendf(bot, "NICK capbot");
	itc_sendf(bot, "USER capbot 0 * :bot");
	itc_sendf(bot, "CAP END");
	assert_true(registers(bot));
	assert_true(registers(a));
	whois(a, "capbot", user, account, sizeof(user));
	assert_string_equal(account, "");
	itc_sendf(a, "PRIVMSG capbot :for the record");
	itc_expect(bot, "PRIVMSG", "for the record");
	tag_is(&bot->msg, "eirc/uid", "11");
	itc_close(a);
	itc_close(bot);
}

/* On a linked pair: the account travels with the user (its UID and
 * metadata), so the other server shows it in WHOIS and puts eirc/uid and
 * the account tag on what it relays; nick binding holds there too. */
static void test_linked_servers(void **state)
{
	char user[64], account[64];
	itc_t *a = webirc(srv_port(pair[0]), "erin", "u21");
	itc_t *b = webirc(srv_port(pair[1]), "frank", "u22");
	bool seen = false;

	(void)state;
	assert_true(registers(a));
	assert_true(registers(b));
	/* the link forms about a second after both answer */
	for (int i = 0; i < 100 && !seen; i++) {
		itc_sendf(b, "WHOIS erin");
		while (itc_next(b) && !irc_msg_command_is(&b->msg, "318"))
			seen |= irc_msg_command_is(&b->msg, "311");
		if (!seen)
			usleep(100 * 1000);
	}
	assert_true(seen);
	whois(b, "erin", user, account, sizeof(user));
	assert_string_equal(user, "u21");
	assert_string_equal(account, "erin");
	itc_sendf(a, "PRIVMSG frank :across the link");
	itc_expect(b, "PRIVMSG", "across the link");
	tag_is(&b->msg, "account", "erin");
	tag_is(&b->msg, "eirc/uid", "21");
	itc_sendf(b, "NICK erin|2");
	itc_expect(b, "432", "erin|2");
	itc_close(a);
	itc_close(b);
}

/* ---- authenticated ---- */

static void add_user(const char *nick, const char *password)
{
	assert_int_equal(
		fx_cli(&fx, password, NULL, 0, "user", "add", nick, "--password-env", "PW", NULL),
		0);
}

/* PostgreSQL and eirc-auth; InspIRCd in authenticated mode (with
 * m_eirc_capture, as always); Redis and eirc-logger as its capture bot. */
static int setup_auth(void **state)
{
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD, .native_clients = "authenticated"};
	struct lgf_logger_cfg lc = {0};
	(void)state;
	if (fx_start(&fx, NULL) < 0)
		return -1;
	/* after eirc-auth's migrations: the role and its grant */
	if (srv_pg_ircd_role(fx.pg, "eirc", IRCD_ROLE, IRCD_ROLE_PW) < 0)
		return -1;
	o.account_db = (srv_ircd_account_db_t){srv_port(fx.pg), "eirc", IRCD_ROLE, IRCD_ROLE_PW};
	if (srv_inspircd_start(fx.env, &o, &auth_ircd) < 0 ||
	    srv_redis_start(fx.env, NULL, &redis) < 0)
		return -1;
	lgf_use_redis(redis);
	lgf_use_ircd(auth_ircd);
	lc.dir = srv_env_dir(fx.env);
	lc.nick = "eirc-logger";
	lc.irc_port = srv_port(auth_ircd);
	lc.redis_port = srv_port(redis);
	lc.channels = "[]"; /* none: m_eirc_capture puts it in every channel */
	ents = calloc(MAXE, sizeof(*ents));
	if (!ents || !(rc = lgf_redis(srv_port(redis))))
		return -1;
	return lgf_logger_start(&lc, &logger);
}

static int teardown_auth(void **state)
{
	(void)state;
	if (logger.pid > 0)
		lgf_proc_stop(&logger, SIGTERM);
	if (rc)
		redisFree(rc);
	free(ents);
	if (fx.env)
		fx_stop(&fx);
	return 0;
}

static itc_t *native(const char *pass, const char *nick, const char *user)
{
	itc_t *c = itc_connect(srv_port(auth_ircd));

	if (pass)
		itc_sendf(c, "PASS :%s", pass);
	itc_sendf(c, "CAP LS 302");
	itc_sendf(c, "CAP REQ :message-tags account-tag echo-message");
	itc_sendf(c, "NICK %s", nick);
	itc_sendf(c, "USER %s 0 * :native", user);
	itc_sendf(c, "CAP END");
	return c;
}

static void native_refused(const char *pass, const char *nick)
{
	itc_t *c = native(pass, nick, "x");

	refused(c, AUTH_FAILED);
	itc_close(c);
}

/* Escape route 2 in authenticated mode: no unauthenticated client takes
 * an account's nick; the right password registers as u<id>. */
static void test_authenticated(void **state)
{
	char user[64], account[64], want[32];
	long long alice = -1;

	(void)state;
	add_user("alice", "alice password 1");
	add_user("bob", "bob password 2");
	add_user("carol", "carol password 3");
	add_user("dave", "dave password 4");
	assert_int_equal(fx_cli(&fx, NULL, NULL, 0, "user", "disable", "carol", NULL), 0);
	assert_int_equal(fx_sql(&fx, "UPDATE users SET password_hash = NULL WHERE nick = 'dave'"),
			 0);
	alice = fx_sql_int(&fx, "SELECT id FROM users WHERE nick = 'alice'");
	assert_true(alice > 0);

	native_refused(NULL, "alice");                  /* no PASS */
	native_refused("wrong password", "alice");      /* wrong PASS */
	native_refused("alice password 1", "bob");      /* someone else's nick */
	native_refused("alice password 1", "nobody");   /* no such account */
	native_refused("carol password 3", "carol");    /* disabled */
	native_refused("dave password 4", "dave");      /* no password */
	native_refused("alice password 1", "alice|11"); /* one past the last suffix */
	native_refused("alice password 1", "alice|1");  /* not a suffix */
	native_refused("alice password 1", "alice|02"); /* nor this */
	native_refused("alice password 1", "alice1");   /* another account's name */

	/* the right password: u<id> whatever USER said, and the account */
	itc_t *a = native("alice password 1", "ALICE", "u2");
	assert_true(registers(a));
	itc_t *a10 = native("alice password 1", "alice|10", "x"); /* the last suffix */
	assert_true(registers(a10));
	snprintf(want, sizeof(want), "u%lld", alice);
	whois(a, "ALICE", user, account, sizeof(user));
	assert_string_equal(user, want);
	assert_string_equal(account, "alice");
	whois(a, "alice|10", user, account, sizeof(user));
	assert_string_equal(user, want);
	assert_string_equal(account, "alice");
	itc_sendf(a, "PRIVMSG alice|10 :from the first session");
	itc_expect(a10, "PRIVMSG", "from the first session");
	tag_is(&a10->msg, "account", "alice");
	tag_is(&a10->msg, "eirc/uid", NULL); /* a native client never gets it */
	/* bound: no other account's nick */
	itc_sendf(a, "NICK bob");
	itc_expect(a, "432", "bob");
	itc_sendf(a, "NICK alice|2");
	itc_expect(a, "NICK", "alice|2");
	itc_close(a10);
	itc_close(a);
}

/* c's next cmd line with text; its msgid into out (cap 128). */
static void echo_id(itc_t *c, const char *cmd, const char *text, char *out)
{
	irc_msg_tag_t t;

	itc_expect(c, cmd, text);
	assert_int_equal(irc_msg_tag_get(&c->msg, "msgid", &t), 0);
	snprintf(out, 128, "%.*s", (int)t.value_len, t.value);
}

/* Waits until conversation conv's history stream holds msgid, then
 * returns how many times it and the archive each hold it (both must be
 * 1), its stored entry into *out. */
static void stored_once(const char *conv, const char *msgid, struct lgf_entry *out)
{
	size_t n = 0, c = 0;

	for (int i = 0; i < 100 && c == 0; i++) {
		if (i)
			lgf_sleep_ms(100);
		n = lgf_history(rc, conv, ents, MAXE);
		for (size_t k = 0; k < n; k++)
			if (strcmp(ents[k].msgid, msgid) == 0 && c++ == 0)
				*out = ents[k];
	}
	if (c != 1)
		fail_msg("%s is %zu times in %s's history", msgid, c, conv);
	n = lgf_archive(rc, ents, MAXE);
	c = 0;
	for (size_t k = 0; k < n; k++)
		c += strcmp(ents[k].msgid, msgid) == 0;
	if (c != 1)
		fail_msg("%s is %zu times in the archive", msgid, c);
}

/* Issue 25, route 1 for a native client: a channel an authenticated plain
 * client creates is archived from the first message, sent right behind
 * the JOIN that creates it, attributed to the account. */
static void test_native_channel_archived(void **state)
{
	char id[128], want[32];
	struct lgf_entry e;
	long long alice = fx_sql_int(&fx, "SELECT id FROM users WHERE nick = 'alice'");
	itc_t *a = native("alice password 1", "alice", "x");

	(void)state;
	assert_true(registers(a));
	itc_sendf(a, "JOIN #native-fresh");
	itc_sendf(a, "PRIVMSG #native-fresh :first words of a new channel");
	echo_id(a, "PRIVMSG", "first words of a new channel", id);
	stored_once("#native-fresh", id, &e);
	snprintf(want, sizeof(want), "u%lld", alice);
	assert_string_equal(e.nick, "alice");
	assert_string_equal(e.user, want);
	assert_non_null(strstr(e.tags, "account=alice"));
	itc_close(a);
}

/* Issue 25, route 2/3 for native clients: a direct message between two
 * authenticated plain clients is archived once, in the pair's
 * conversation, as alice's even though she said USER u<bob's id>. */
static void test_native_dm_archived_once(void **state)
{
	char id[128], conv[64], want[32], bob_user[32];
	struct lgf_entry e;
	long long alice = fx_sql_int(&fx, "SELECT id FROM users WHERE nick = 'alice'");
	long long bob = fx_sql_int(&fx, "SELECT id FROM users WHERE nick = 'bob'");

	(void)state;
	snprintf(bob_user, sizeof(bob_user), "u%lld", bob);
	itc_t *a = native("alice password 1", "alice", bob_user);
	itc_t *b = native("bob password 2", "bob", "x");
	assert_true(registers(a));
	assert_true(registers(b));
	itc_sendf(a, "PRIVMSG bob :native to native");
	echo_id(a, "PRIVMSG", "native to native", id);
	itc_expect(b, "PRIVMSG", "native to native");
	snprintf(conv, sizeof(conv), "dm:%lld:%lld", alice < bob ? alice : bob,
		 alice < bob ? bob : alice);
	stored_once(conv, id, &e);
	snprintf(want, sizeof(want), "u%lld", alice);
	assert_string_equal(e.user, want);
	assert_string_equal(e.nick, "alice");
	itc_close(a);
	itc_close(b);
}

/* InspIRCd's role reads the five columns of users and nothing else. */
static void test_read_only_role(void **state)
{
	char port[16];
	const char *k[] = {"host", "port", "dbname", "user", "password", NULL};
	const char *v[] = {"127.0.0.1", port, "eirc", IRCD_ROLE, IRCD_ROLE_PW, NULL};
	const char *denied[] = {"SELECT email FROM users", "SELECT * FROM users",
				"UPDATE users SET disabled = false",
				"INSERT INTO users (nick, nick_folded) VALUES ('x', 'x')",
				"SELECT count(*) FROM refresh_tokens"};

	(void)state;
	snprintf(port, sizeof(port), "%d", srv_port(fx.pg));
	PGconn *c = PQconnectdbParams(k, v, 0);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *r = PQexec(c, "SELECT id, nick, nick_folded, password_hash, disabled FROM users");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		r = PQexec(c, denied[i]);
		if (PQresultStatus(r) != PGRES_FATAL_ERROR ||
		    !strstr(PQresultErrorMessage(r), "permission denied"))
			fail_msg("%s: %s", denied[i], PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest refuse[] = {
		cmocka_unit_test(test_refuse_plain_client),
		cmocka_unit_test(test_webirc_vouched),
		cmocka_unit_test(test_capture_bot),
		cmocka_unit_test(test_linked_servers),
	};
	const struct CMUnitTest auth[] = {
		cmocka_unit_test(test_authenticated),
		cmocka_unit_test(test_native_channel_archived),
		cmocka_unit_test(test_native_dm_archived_once),
		cmocka_unit_test(test_read_only_role),
	};
	int failed = cmocka_run_group_tests_name("refuse", refuse, setup_refuse, teardown_refuse);

	return failed +
	       cmocka_run_group_tests_name("authenticated", auth, setup_auth, teardown_auth);
}
