/*
 * Capture through eIRC, everything real: one InspIRCd with m_eirc_capture
 * (<eirccapture require="yes">) and m_eirc_account (native clients
 * refused), Redis, eirc-logger as the capture bot (logger.irc_password, no
 * configured channel), eirc-history, PostgreSQL + eirc-auth and
 * eirc-gateway with two browser sessions, alice and bob.
 *
 * 1. test_every_form_archived: alice creates a channel nobody configured
 *    and, a moment later, sends PRIVMSG, CTCP ACTION, NOTICE, TAGMSG,
 *    STATUSMSG @#c and +#c, and a direct message to bob. bob gets all but
 *    the two STATUSMSGs. The channel's history stream holds each channel
 *    message once under the msgid alice's echo carried (type, target,
 *    STATUSMSG prefix in arg), the archive stream too, and the direct
 *    message is in dm:<alice>:<bob> once (the logger's copy and the
 *    irc-client's report meet on the msgid).
 * 2. test_statusmsg_replay: CHATHISTORY LATEST gives alice (the sender)
 *    her STATUSMSGs and the rest; bob gets the rest only.
 * 3. test_require_archive: the logger stopped, alice's PRIVMSG and NOTICE
 *    to the channel and her direct message come back as FAIL <command>
 *    ARCHIVE_UNAVAILABLE <target>, bob gets none of them and the archive
 *    holds none; the logger started again is in the channel at once and a
 *    message flows and is archived.
 * 4. test_away_while_unable: a logger that cannot archive (its Redis down
 *    and its spill file full) is in the channel but AWAY, and messages are
 *    refused as in 3; once its Redis is up it is back, and they flow and
 *    are archived there.
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
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "archive/archive_event.h"
#include "common/irc_mask.h"
#include "logger-bot/lg_spill.h"
#include "tests/harness/session_test.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/logger_fixture.h"

#define CHAN     "#adhoc-capture"
#define NETWORK  "eIRC"
#define PROTO    "text.ircv3.net"
#define HIST_MAX 100
#define MAXE     2000
#define WAIT_MS  30000
/* How long bob listens for a message that must not reach him. */
#define QUIET_MS 1500

typedef struct {
	const char *user;
	ws_client_t *ws;
	itc_t *c;
	char nick[32];
	char uid[24]; /* its account id, from the u<id> of its echo */
} sess_t;

/* One message alice sent and what it must be in the archive. */
typedef struct {
	const char *line;   /* as sent, after "<command> <target> " */
	const char *cmd;    /* PRIVMSG, NOTICE, TAGMSG */
	const char *target; /* as sent */
	const char *type;   /* archived type */
	const char *arg;    /* archived arg: the STATUSMSG prefix */
	bool bob_gets;      /* delivered to bob (not a STATUSMSG) */
	char msgid[128];    /* from alice's echo */
} sent_t;

static srv_env_t *env;
static srv_t *redis, *ircd, *history;
static gwfx_t g;
static bool g_up;
static redisContext *rc;
static struct lgf_entry *ents;
static struct lgf_proc logger;
static sess_t alice = {.user = "alice"}, bob = {.user = "bob"};
static char sock_path[108];

static sent_t forms[] = {
	{":plain words", "PRIVMSG", CHAN, "privmsg", "", true, ""},
	{":\001ACTION waves\001", "PRIVMSG", CHAN, "privmsg", "", true, ""},
	{":a notice", "NOTICE", CHAN, "notice", "", true, ""},
	{"", "TAGMSG", CHAN, "tagmsg", "", true, ""},
	{":to the operators", "PRIVMSG", "@" CHAN, "privmsg", "@", false, ""},
	{":to voiced and up", "NOTICE", "+" CHAN, "notice", "+", false, ""},
};
#define N_FORMS (sizeof(forms) / sizeof(forms[0]))
static sent_t dm = {":just between us", "PRIVMSG", NULL, "privmsg", "", true, ""};

/* ---- servers ---- */

static int start_logger(void)
{
	struct lgf_logger_cfg c = {0};

	c.dir = srv_env_dir(env);
	c.nick = "eirc-logger";
	c.irc_port = srv_port(ircd);
	c.redis_port = srv_port(redis);
	c.channels = "[]"; /* none: m_eirc_capture puts it in every channel */
	return lgf_logger_start(&c, &logger);
}

static int start_history(void)
{
	return gwfx_history_start(env, NETWORK, srv_port(ircd), srv_port(redis), LGF_PARTITIONS,
				  HIST_MAX, sock_path, sizeof(sock_path), &history);
}

static int setup(void **state)
{
	char servers[128];
	srv_ircd_opts_t io = {.webirc_password = GWFX_WEBIRC_PASSWORD,
			      .localmax = 100,
			      .require_archive = true,
			      .native_clients = "refuse"};

	(void)state;
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	chmod(srv_env_dir(env), 0755); /* sandboxed irc-clients reach the history socket */
	if (srv_redis_start(env, NULL, &redis) < 0 || srv_inspircd_start(env, &io, &ircd) < 0)
		return -1;
	lgf_use_redis(redis);
	lgf_use_ircd(ircd);
	ents = calloc(MAXE, sizeof(*ents));
	if (!ents || !(rc = lgf_redis(srv_port(redis))) || start_logger() < 0 ||
	    start_history() < 0)
		return -1;
	snprintf(servers, sizeof(servers), "    - host: 127.0.0.1\n      port: %d\n",
		 srv_port(ircd));
	gwfx_opts_t o = {.irc_servers = servers, .history_socket = sock_path};
	if (gwfx_start_with(&g, &o) < 0)
		return -1;
	g_up = true;
	return 0;
}

static void sess_free(sess_t *s)
{
	if (s->c)
		itc_close(s->c);
	if (s->ws)
		gwfx_close(&g, s->ws);
	s->c = NULL;
	s->ws = NULL;
}

static int teardown(void **state)
{
	(void)state;
	if (g_up) {
		sess_free(&alice);
		sess_free(&bob);
		gwfx_stop(&g);
	}
	g_up = false;
	lgf_proc_stop(&logger, SIGTERM);
	if (rc)
		redisFree(rc);
	rc = NULL;
	free(ents);
	ents = NULL;
	srv_env_free(env);
	env = NULL;
	return 0;
}

/* ---- sessions ---- */

static void tag_of(const itc_t *c, const char *key, char *out, size_t cap)
{
	irc_msg_tag_t t;

	out[0] = '\0';
	if (irc_msg_tag_get(&c->msg, key, &t) == 0)
		snprintf(out, cap, "%.*s", (int)t.value_len, t.value);
}

/* Opens a browser session of s->user and registers it with the caps a web
 * client asks for. */
static void sess_open(sess_t *s)
{
	char url[512], *tok = gwfx_token(&g, s->user);
	ws_opts_t o = {.origin = GWFX_ORIGIN, .protocols = PROTO};
	ws_refusal_t why;

	gwfx_url(&g, tok, url, sizeof(url));
	free(tok);
	int r = ws_connect(url, &o, &s->ws, &why);
	if (r != 0)
		fail_msg("session of %s refused: %s (HTTP %d)", s->user, strerror(-r), why.status);
	gwfx_track(&g, s->ws);
	s->c = itc_from_ws(s->ws, false);
	itc_sendf(s->c, "CAP LS 302");
	itc_sendf(s->c, "CAP REQ :message-tags server-time batch echo-message draft/chathistory "
			"labeled-response");
	itc_sendf(s->c, "NICK ignored");
	itc_sendf(s->c, "USER ignored 0 * :ignored");
	itc_expect_within(s->c, "CAP", "ACK", WAIT_MS);
	itc_sendf(s->c, "CAP END");
	itc_expect_within(s->c, "001", NULL, WAIT_MS);
	snprintf(s->nick, sizeof(s->nick), "%.*s", (int)s->c->msg.params[0].len,
		 s->c->msg.params[0].ptr);
}

/* s joins CHAN; its own JOIN gives its account id (ident u<id>). */
static void sess_join(sess_t *s)
{
	irc_mask_userhost_t uh;

	itc_sendf(s->c, "JOIN " CHAN);
	itc_expect_within(s->c, "JOIN", CHAN, WAIT_MS);
	assert_int_equal(irc_mask_split(s->c->msg.source.ptr, s->c->msg.source.len, &uh), 0);
	assert_true(uh.user_len > 1 && uh.user[0] == 'u');
	snprintf(s->uid, sizeof(s->uid), "%.*s", (int)uh.user_len - 1, uh.user + 1);
	itc_expect_within(s->c, "366", CHAN, WAIT_MS);
}

/* True when the current line of c is m's message (command and target). */
static bool is_msg(const itc_t *c, const sent_t *m, const char *target)
{
	return irc_msg_command_is(&c->msg, m->cmd) && c->msg.n_params >= 1 &&
	       itc_param_is(&c->msg, 0, target) &&
	       (!m->line[0] || (c->msg.n_params == 2 && itc_param_is(&c->msg, 1, m->line + 1)));
}

/* alice sends m (a TAGMSG with +typing); its echo gives its msgid. */
static void send_form(sent_t *m, const char *target)
{
	uint64_t end = clock_mono_ms() + WAIT_MS;

	if (!strcmp(m->cmd, "TAGMSG"))
		itc_sendf(alice.c, "@+typing=active TAGMSG %s", target);
	else
		itc_sendf(alice.c, "%s %s %s", m->cmd, target, m->line);
	while (clock_mono_ms() < end && itc_next_within(alice.c, (int)(end - clock_mono_ms()))) {
		if (irc_msg_command_is(&alice.c->msg, "FAIL") ||
		    irc_msg_command_is(&alice.c->msg, "404"))
			fail_msg("%s %s refused: %s", m->cmd, target, alice.c->line);
		if (!is_msg(alice.c, m, target))
			continue;
		tag_of(alice.c, "msgid", m->msgid, sizeof(m->msgid));
		if (!m->msgid[0])
			fail_msg("echo without a msgid: %s", alice.c->line);
		return;
	}
	fail_msg("no echo of %s %s (last line %s)", m->cmd, target, alice.c->line);
}

/* ---- the archive ---- */

struct find {
	const char *conv, *msgid;
};

static size_t count_in(size_t n, const char *msgid)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += !strcmp(ents[i].msgid, msgid);
	return c;
}

static bool stored(void *ud)
{
	const struct find *f = ud;

	return count_in(lgf_history(rc, f->conv, ents, MAXE), f->msgid) > 0;
}

static void wait_stored(const char *conv, const char *msgid)
{
	struct find f = {conv, msgid};

	if (!lgf_wait_for(stored, &f, WAIT_MS))
		fail_msg("%s never reached the history of %s (logger log %s)", msgid, conv,
			 logger.log);
}

static const struct lgf_entry *entry(size_t n, const char *msgid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].msgid, msgid))
			return &ents[i];
	return NULL;
}

/* The conversation of alice and bob: dm:<lo>:<hi>. */
static void dm_conv(char *out, size_t cap)
{
	unsigned long long a = strtoull(alice.uid, NULL, 10), b = strtoull(bob.uid, NULL, 10);

	snprintf(out, cap, "dm:%llu:%llu", a < b ? a : b, a < b ? b : a);
}

/* ---- tests ---- */

static void test_every_form_archived(void **state)
{
	char conv[64], got[N_FORMS + 1] = {0};
	size_t n;
	(void)state;

	gwfx_add_user(&g, "alice");
	gwfx_add_user(&g, "bob");
	sess_open(&alice);
	sess_open(&bob);
	/* the channel exists from alice's JOIN; nobody configured it */
	sess_join(&alice);
	sess_join(&bob);
	itc_expect_within(alice.c, "JOIN", bob.nick, WAIT_MS);
	for (size_t i = 0; i < N_FORMS; i++)
		send_form(&forms[i], forms[i].target);
	dm.target = bob.nick;
	send_form(&dm, bob.nick);

	/* bob: everything but the STATUSMSGs, the direct message last */
	uint64_t end = clock_mono_ms() + WAIT_MS;
	while (clock_mono_ms() < end && itc_next_within(bob.c, (int)(end - clock_mono_ms()))) {
		for (size_t i = 0; i < N_FORMS; i++)
			if (is_msg(bob.c, &forms[i], forms[i].target))
				got[i] = 1;
		if (is_msg(bob.c, &dm, bob.nick))
			break;
	}
	assert_true(is_msg(bob.c, &dm, bob.nick));
	for (size_t i = 0; i < N_FORMS; i++)
		if (got[i] != forms[i].bob_gets)
			fail_msg("bob %s %s %s", got[i] ? "got" : "did not get", forms[i].cmd,
				 forms[i].target);

	/* the channel's history: each once, as sent (the last sent is stored
	 * last: the logger writes one conversation in order) */
	wait_stored(CHAN, forms[N_FORMS - 1].msgid);
	n = lgf_history(rc, CHAN, ents, MAXE);
	for (size_t i = 0; i < N_FORMS; i++) {
		const struct lgf_entry *e = entry(n, forms[i].msgid);
		if (!e || count_in(n, forms[i].msgid) != 1)
			fail_msg("%s %s is %zu times in the history", forms[i].cmd, forms[i].target,
				 count_in(n, forms[i].msgid));
		assert_string_equal(e->type, forms[i].type);
		assert_string_equal(e->arg, forms[i].arg);
		assert_string_equal(e->nick, alice.nick);
		if (forms[i].line[0])
			assert_string_equal(e->text, forms[i].line + 1);
	}
	n = lgf_archive(rc, ents, MAXE);
	for (size_t i = 0; i < N_FORMS; i++)
		if (count_in(n, forms[i].msgid) != 1)
			fail_msg("%s %s is %zu times in the archive", forms[i].cmd, forms[i].target,
				 count_in(n, forms[i].msgid));

	/* the direct message: once, in the pair's conversation */
	dm_conv(conv, sizeof(conv));
	wait_stored(conv, dm.msgid);
	n = lgf_history(rc, conv, ents, MAXE);
	assert_int_equal(count_in(n, dm.msgid), 1);
	assert_string_equal(entry(n, dm.msgid)->text, dm.line + 1);
	n = lgf_archive(rc, ents, MAXE);
	assert_int_equal(count_in(n, dm.msgid), 1);
}

typedef struct {
	char ids[HIST_MAX][128];
	size_t n;
} answer_t;

/* CHATHISTORY LATEST CHAN from s: the msgids of the batch, in order. */
static void latest(sess_t *s, answer_t *a)
{
	uint64_t end = clock_mono_ms() + WAIT_MS;
	char b[32];

	memset(a, 0, sizeof(*a));
	itc_sendf(s->c, "CHATHISTORY LATEST " CHAN " * %d", HIST_MAX);
	while (clock_mono_ms() < end && itc_next_within(s->c, (int)(end - clock_mono_ms()))) {
		const irc_msg_t *m = &s->c->msg;
		if (irc_msg_command_is(m, "FAIL"))
			fail_msg("CHATHISTORY from %s: %s", s->user, s->c->line);
		if (irc_msg_command_is(m, "BATCH") && m->n_params >= 1 &&
		    m->params[0].ptr[0] == '-')
			return;
		tag_of(s->c, "batch", b, sizeof(b));
		if ((!irc_msg_command_is(m, "PRIVMSG") && !irc_msg_command_is(m, "NOTICE")) ||
		    !b[0])
			continue;
		assert_true(a->n < HIST_MAX);
		tag_of(s->c, "msgid", a->ids[a->n], sizeof(a->ids[0]));
		a->n++;
	}
	fail_msg("no answer to CHATHISTORY from %s", s->user);
}

static bool answered(const answer_t *a, const char *msgid)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->ids[i], msgid))
			return true;
	return false;
}

static void test_statusmsg_replay(void **state)
{
	static answer_t a;
	(void)state;

	if (!forms[N_FORMS - 1].msgid[0])
		skip(); /* needs the first test's messages */
	latest(&alice, &a);
	for (size_t i = 0; i < N_FORMS; i++)
		if (strcmp(forms[i].cmd, "TAGMSG") && !answered(&a, forms[i].msgid))
			fail_msg("alice's replay lacks her %s %s", forms[i].cmd, forms[i].target);
	latest(&bob, &a);
	for (size_t i = 0; i < N_FORMS; i++) {
		bool want = forms[i].bob_gets && strcmp(forms[i].cmd, "TAGMSG") != 0;
		if (answered(&a, forms[i].msgid) != want)
			fail_msg("bob's replay %s %s %s", want ? "lacks" : "holds", forms[i].cmd,
				 forms[i].target);
	}
}

/* Reads bob's lines for QUIET_MS: none may hold text. */
static void bob_never_gets(const char *text)
{
	uint64_t end = clock_mono_ms() + QUIET_MS;

	while (clock_mono_ms() < end && itc_next_within(bob.c, (int)(end - clock_mono_ms())))
		if (strstr(bob.c->line, text))
			fail_msg("bob got an unrecorded message: %s", bob.c->line);
}

/* alice sends cmd to target; the answer is FAIL cmd ARCHIVE_UNAVAILABLE
 * target with her label, and no echo. */
static void refused(const char *label, const char *cmd, const char *target, const char *text)
{
	char want[160], l[32];

	itc_sendf(alice.c, "@label=%s %s %s :%s", label, cmd, target, text);
	snprintf(want, sizeof(want), "%s ARCHIVE_UNAVAILABLE %s", cmd, target);
	uint64_t end = clock_mono_ms() + WAIT_MS;
	while (clock_mono_ms() < end && itc_next_within(alice.c, (int)(end - clock_mono_ms()))) {
		if (strstr(alice.c->line, text) && !irc_msg_command_is(&alice.c->msg, "FAIL"))
			fail_msg("delivered while nothing archives: %s", alice.c->line);
		if (!irc_msg_command_is(&alice.c->msg, "FAIL"))
			continue;
		if (!strstr(alice.c->line, want))
			fail_msg("FAIL is not %s: %s", want, alice.c->line);
		tag_of(alice.c, "label", l, sizeof(l));
		assert_string_equal(l, label);
		return;
	}
	fail_msg("no FAIL for %s %s (last line %s)", cmd, target, alice.c->line);
}

static void test_require_archive(void **state)
{
	size_t n;
	(void)state;

	if (!alice.c || !bob.c)
		skip();
	/* the logger gone: bob sees it quit */
	assert_int_equal(lgf_proc_stop(&logger, SIGTERM), 0);
	itc_expect_within(bob.c, "QUIT", NULL, WAIT_MS);
	refused("r1", "PRIVMSG", CHAN, "unrecorded one");
	refused("r2", "NOTICE", CHAN, "unrecorded two");
	refused("r3", "PRIVMSG", bob.nick, "unrecorded three");
	bob_never_gets("unrecorded");
	n = lgf_all_history(rc, ents, MAXE);
	for (size_t i = 0; i < n; i++)
		if (strstr(ents[i].text, "unrecorded"))
			fail_msg("the archive holds a refused message: %s", ents[i].text);

	/* back: in the channel at once, messages flow and are archived */
	assert_int_equal(start_logger(), 0);
	itc_expect_within(bob.c, "JOIN", CHAN, WAIT_MS);
	sent_t after = {":recorded again", "PRIVMSG", CHAN, "privmsg", "", true, ""};
	send_form(&after, CHAN);
	wait_stored(CHAN, after.msgid);
}

/* A spill file in dir/spill-<nick> that is full at max bytes: the
 * records of events of a channel nobody uses, as large as they come. */
static void spill_fill(const char *nick, uint64_t max)
{
	static char text[ARCHIVE_EVENT_TEXT_MAX], rec[ARCHIVE_EVENT_RECORD_MAX], id[32];
	char dir[600];
	lg_spill_t *sp;
	uint64_t dropped;
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG, .time_ms = clock_wall_ms()};
	int n, r = 0;

	snprintf(dir, sizeof(dir), "%s/spill-%s", srv_env_dir(env), nick);
	assert_int_equal(lg_spill_open(dir, max, &sp, &dropped), 0);
	memset(text, 'x', sizeof(text));
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){NETWORK, strlen(NETWORK)};
	ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){"#filler", 7};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"filler", 6};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){text, sizeof(text)};
	for (int i = 0; r == 0; i++) {
		ev.s[ARCHIVE_S_MSGID] =
			(archive_str_t){id, (size_t)snprintf(id, sizeof(id), "filler-%d", i)};
		assert_true((n = archive_event_encode(&ev, rec, sizeof(rec))) > 0);
		r = lg_spill_append(sp, rec, (size_t)n);
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(lg_spill_flush(sp), 0);
	lg_spill_close(sp);
}

static void test_away_while_unable(void **state)
{
	struct lgf_logger_cfg c = {0};
	struct lgf_proc away;
	srv_redis_opts_t ro = {0};
	srv_t *redis2;
	redisContext *rc2;
	char want[96];
	bool refused_once = false;
	(void)state;

	if (!alice.c || !bob.c)
		skip();
	assert_int_equal(lgf_proc_stop(&logger, SIGTERM), 0);
	itc_expect_within(bob.c, "QUIT", NULL, WAIT_MS);
	/* its Redis is not there yet, and its spill file (1 MiB) is full */
	spill_fill("lgaway", 1 << 20);
	ro.port = srv_free_port();
	c.dir = srv_env_dir(env);
	c.nick = "lgaway";
	c.irc_port = srv_port(ircd);
	c.redis_port = ro.port;
	c.channels = "[]";
	c.extra_logger = "  spill_max: 1MiB\n";
	assert_int_equal(lgf_logger_start(&c, &away), 0);
	itc_expect_within(bob.c, "JOIN", CHAN, WAIT_MS); /* in the channel, but away */
	snprintf(want, sizeof(want), "FAIL PRIVMSG ARCHIVE_UNAVAILABLE %s", CHAN);
	for (int i = 0; i < 50 && !refused_once; i++) {
		itc_sendf(alice.c, "PRIVMSG %s :probe %d", CHAN, i);
		uint64_t end = clock_mono_ms() + 200;
		while (!refused_once && clock_mono_ms() < end &&
		       itc_next_within(alice.c, (int)(end - clock_mono_ms())))
			refused_once = strstr(alice.c->line, want) != NULL;
	}
	if (!refused_once)
		fail_msg("never refused while the logger could not archive (log %s)", away.log);
	refused("a1", "PRIVMSG", CHAN, "unarchivable one");
	refused("a2", "PRIVMSG", bob.nick, "unarchivable two");
	bob_never_gets("unarchivable");

	/* its Redis up: it is back (AWAY cleared), messages flow, archived */
	assert_int_equal(srv_redis_start(env, &ro, &redis2), 0);
	assert_non_null(rc2 = lgf_redis(ro.port));
	sent_t back = {":archivable again", "PRIVMSG", CHAN, "privmsg", "", true, ""};
	for (int i = 0; i < 100 && !back.msgid[0]; i++) {
		itc_sendf(alice.c, "PRIVMSG %s :archivable again", CHAN);
		uint64_t end = clock_mono_ms() + 200;
		while (!back.msgid[0] && clock_mono_ms() < end &&
		       itc_next_within(alice.c, (int)(end - clock_mono_ms())))
			if (is_msg(alice.c, &back, CHAN))
				tag_of(alice.c, "msgid", back.msgid, sizeof(back.msgid));
	}
	if (!back.msgid[0])
		fail_msg("still refused once the logger's Redis is up (log %s)", away.log);
	redisContext *main_rc = rc;
	rc = rc2;
	wait_stored(CHAN, back.msgid);
	rc = main_rc;
	redisFree(rc2);
	assert_int_equal(lgf_proc_stop(&away, SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_form_archived),
		cmocka_unit_test(test_statusmsg_replay),
		cmocka_unit_test(test_require_archive),
		cmocka_unit_test(test_away_while_unable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
