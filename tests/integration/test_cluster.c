/*
 * The scale-out topology of issue 9 on loopback, everything real: two
 * InspIRCd servers linked with m_spanningtree (irc1 sid 1EI, irc2 sid 2EI,
 * autoconnect both ways so the link re-forms), one PostgreSQL + eirc-auth,
 * gateway G1 whose irc-clients prefer [irc1, irc2] and gateway G2 with
 * [irc2, irc1] (irc.servers of each gateway's own config), the HA pair of
 * loggers (lgA on irc1, lgB on irc2, one Redis) and one eirc-history whose
 * socket both gateways' irc-clients use.
 *
 * 1. alice (G1, lands on irc1) and bob (G2, lands on irc2) share a channel
 *    over WebSocket and exchange messages both ways; each sees the other's,
 *    with the same network-wide msgid the sender's echo carries.
 * 2. A chat token consumed at one gateway is refused at the other (close
 *    4001 invalid_token, or 401 before the upgrade) and nothing is spawned
 *    there; both directions.
 * 3. The history stream and the archive stream of the channel's partition
 *    hold each sent msgid exactly once, in the order sent, nothing else;
 *    both loggers saw every message (the append script turned one copy of
 *    each away).
 * 4. CHATHISTORY LATEST and BEFORE msgid= (paging to the end) from alice's
 *    session and from bob's give the same messages in the same order, equal
 *    to what was sent (plus any NOTICE a server sent the channel: InspIRCd
 *    tells a channel when a netburst changes its creation time, and the
 *    logger archives that like any notice).
 * 5. kill -9 of irc1: alice's irc-client tells her browser (PART, EIRC
 *    DISCONNECTED, EIRC RECONNECTED irc2.eirc.local, JOIN again) and her
 *    session goes on through irc2; messages sent meanwhile are archived by
 *    lgB alone, each once, with no gap recorded by lgB. irc1 restarted: the
 *    link re-forms (lgA, back on irc1, shows up in bob's channel on irc2; a
 *    new G1 session lands on irc1 again and talks with bob both ways), and
 *    the pair archives each message once again; CHATHISTORY from all three
 *    sessions still equals everything sent.
 * Finally every process is stopped and checked gone.
 *
 * "The logger X has processed everything before now" is an event, not a
 * sleep: a marker client on X's server says a line in a channel that only X
 * logs, chosen in the same Redis partition as the shared channel; the
 * logger writes one partition in order, so once the marker is stored every
 * earlier event of the shared channel that X received is stored or turned
 * away as a duplicate.
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
#include <time.h>
#include <unistd.h>

#include "archive/archive_keys.h"
#include "common/clock.h"
#include "common/irc_casemap.h"
#include "tests/harness/session_test.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/logger_fixture.h"

#define CHAN       "#cluster"
#define NETWORK    "eIRC"
#define PROTO      "text.ircv3.net"
#define HIST_MAX   100 /* history.chathistory_max: more than all sent */
#define PHASE_MSGS 20  /* messages per phase; three phases */
#define MAX_SENT   (3 * PHASE_MSGS + 4)
#define MAXE       4000 /* entries read back from Redis */
#define WAIT_MS    30000
#define LINK_MS    60000 /* link re-formed and lgA back (autoconnect 1s) */

typedef struct {
	const char *user;
	ws_client_t *ws;
	itc_t *c;
	char nick[32];
	char server[64]; /* source of the 001 it got */
} sess_t;

/* A logger of the pair and the marker client that flushes it. */
typedef struct {
	const char *nick;
	char mark_chan[32]; /* only this logger logs it; same partition as CHAN */
	int metrics_port;
	struct lgf_proc proc;
	struct lgf_irc mark;
	unsigned flushes;
} logger_t;

static srv_env_t *env;
static srv_t *redis, *irc1, *irc2, *history;
static gwfx_t g1, g2;
static bool g1_up, g2_up;
static redisContext *rc;
static struct lgf_entry *ents;
static logger_t lga = {.nick = "lgA", .mark.fd = -1}, lgb = {.nick = "lgB", .mark.fd = -1};
static sess_t alice = {.user = "alice"}, bob = {.user = "bob"}, carol = {.user = "carol"};
static char tok_alice[300], tok_bob[300]; /* consumed in case 1 */
static char sock_path[108];
static char sent[MAX_SENT][128]; /* msgids in the order sent */
static size_t n_sent;
static uint64_t t_start;

/* ---- servers ---- */

static int start_ircds(void)
{
	srv_ircd_opts_t o = {.webirc_password = GWFX_WEBIRC_PASSWORD, .localmax = 100};
	srv_t *pair[2];

	if (srv_inspircd_pair_start(env, &o, pair) < 0)
		return -1;
	irc1 = pair[0];
	irc2 = pair[1];
	return 0;
}

/* True once a user of irc2 and a user of irc1 see each other's JOIN and
 * lines (the servers are linked), within timeout_ms. */
static bool linked(int timeout_ms)
{
	struct lgf_irc a, b;
	uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;
	bool ok = false;

	if (lgf_irc_connect(srv_port(irc1), "probe1", NULL, &a) < 0)
		return false;
	if (lgf_irc_connect(srv_port(irc2), "probe2", NULL, &b) < 0) {
		lgf_irc_close(&a);
		return false;
	}
	lgf_irc_send(&a, "JOIN #probe");
	ok = lgf_irc_wait(&a, " 366 ", 5000, NULL, 0) == 0;
	while (ok && clock_mono_ms() < end) {
		lgf_irc_send(&b, "JOIN #probe");
		if (lgf_irc_wait(&a, ":probe2!", 200, NULL, 0) == 0)
			break;
	}
	ok = ok && clock_mono_ms() < end;
	if (ok) {
		lgf_irc_send(&b, "PRIVMSG #probe :from irc2");
		lgf_irc_send(&a, "PRIVMSG #probe :from irc1");
		ok = lgf_irc_wait(&a, ":from irc2", 5000, NULL, 0) == 0 &&
		     lgf_irc_wait(&b, ":from irc1", 5000, NULL, 0) == 0;
	}
	lgf_irc_close(&a);
	lgf_irc_close(&b);
	return ok;
}

static int partition(const char *chan)
{
	return archive_keys_partition(NETWORK, chan, strlen(chan), IRC_CASEMAP_RFC1459,
				      LGF_PARTITIONS);
}

/* A channel name with prefix in the same Redis partition as CHAN. */
static int mark_channel(const char *prefix, char *out, size_t cap)
{
	for (int i = 0; i < 1000; i++) {
		snprintf(out, cap, "%s%d", prefix, i);
		if (partition(out) == partition(CHAN))
			return 0;
	}
	return -1;
}

/* True when the 353 line lists nick (with or without a prefix). */
static bool names_have(char *line, const char *nick)
{
	char *names = strstr(line + 1, " :"), *save = NULL;

	if (!names)
		return false;
	for (char *w = strtok_r(names + 2, " \r\n", &save); w; w = strtok_r(NULL, " \r\n", &save))
		if (strcmp(w + strspn(w, "~&@%+"), nick) == 0)
			return true;
	return false;
}

/* Polls NAMES until nick is in chan (the client must be in it). */
static bool in_names(struct lgf_irc *c, const char *chan, const char *nick, int timeout_ms)
{
	char line[2048];
	uint64_t end = clock_mono_ms() + (uint64_t)timeout_ms;

	while (clock_mono_ms() < end) {
		lgf_irc_send(c, "NAMES %s", chan);
		if (lgf_irc_wait(c, " 353 ", 5000, line, sizeof(line)) < 0)
			return false;
		if (names_have(line, nick))
			return true;
		lgf_irc_wait(c, " 366 ", 5000, NULL, 0);
		lgf_sleep_ms(100);
	}
	fprintf(stderr, "%s is not in %s: %s\n", nick, chan, line);
	return false;
}

/* The marker client of a logger joins its channel on srv and waits until
 * the logger is there too. */
static int marker_join(logger_t *l, srv_t *srv, const char *mark_nick)
{
	if (lgf_irc_connect(srv_port(srv), mark_nick, NULL, &l->mark) < 0)
		return -1;
	lgf_irc_send(&l->mark, "JOIN %s", l->mark_chan);
	if (lgf_irc_wait(&l->mark, " 366 ", 5000, NULL, 0) < 0)
		return -1;
	return in_names(&l->mark, l->mark_chan, l->nick, WAIT_MS) ? 0 : -1;
}

static int logger_start(logger_t *l, srv_t *srv)
{
	char chans[96];
	struct lgf_logger_cfg c = {0};

	l->metrics_port = srv_free_port();
	snprintf(chans, sizeof(chans), "[\"" CHAN "\", \"%s\"]", l->mark_chan);
	c.dir = srv_env_dir(env);
	c.nick = l->nick;
	c.irc_port = srv_port(srv);
	c.redis_port = srv_port(redis);
	c.channels = chans;
	c.metrics_port = l->metrics_port;
	return l->metrics_port < 0 ? -1 : lgf_logger_start(&c, &l->proc);
}

/* A counter of a logger's /metrics, or -1. */
static long long metric(const logger_t *l, const char *name)
{
	return lgf_metric(l->metrics_port, name);
}

struct find_text {
	const char *chan, *text;
};

static bool text_stored(void *ud)
{
	const struct find_text *f = ud;
	size_t n = lgf_history(rc, f->chan, ents, MAXE);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].type, "privmsg") && !strcmp(ents[i].text, f->text))
			return true;
	return false;
}

/*
 * Waits until logger l has handled every event of CHAN its server sent it
 * before now (see the file comment). The events must already have reached
 * the marker client's server (a user there saw them).
 */
static void flush(logger_t *l)
{
	char text[64];
	struct find_text f = {l->mark_chan, text};

	snprintf(text, sizeof(text), "flush %s %u", l->nick, ++l->flushes);
	lgf_irc_drain(&l->mark); /* answers the server's PINGs */
	assert_int_equal(lgf_irc_send(&l->mark, "PRIVMSG %s :%s", l->mark_chan, text), 0);
	if (!lgf_wait_for(text_stored, &f, WAIT_MS))
		fail_msg("%s did not archive its marker (log %s)", l->nick, l->proc.log);
}

/* ---- eirc-history ---- */

static int start_history(void)
{
	return gwfx_history_start(env, NETWORK, srv_port(irc1), srv_port(redis), LGF_PARTITIONS,
				  HIST_MAX, sock_path, sizeof(sock_path), &history);
}

/* ---- gateways ---- */

static int start_gateways(void)
{
	char pref1[256], pref2[256];
	int p1 = srv_port(irc1), p2 = srv_port(irc2);
	char i1[64], i2[64];

	snprintf(i1, sizeof(i1), "    - host: 127.0.0.1\n      port: %d\n", p1);
	snprintf(i2, sizeof(i2), "    - host: 127.0.0.1\n      port: %d\n", p2);
	snprintf(pref1, sizeof(pref1), "%s%s", i1, i2);
	snprintf(pref2, sizeof(pref2), "%s%s", i2, i1);
	gwfx_opts_t o1 = {.irc_servers = pref1, .history_socket = sock_path};
	if (gwfx_start_with(&g1, &o1) < 0)
		return -1;
	g1_up = true;
	gwfx_opts_t o2 = {.irc_servers = pref2, .history_socket = sock_path, .base = &g1};
	if (gwfx_start_with(&g2, &o2) < 0)
		return -1;
	g2_up = true;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	t_start = clock_mono_ms();
	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	if (mark_channel("#marka", lga.mark_chan, sizeof(lga.mark_chan)) < 0 ||
	    mark_channel("#markb", lgb.mark_chan, sizeof(lgb.mark_chan)) < 0)
		return -1;
	if (srv_env_new(NULL, &env) < 0)
		return -1;
	chmod(srv_env_dir(env), 0755); /* sandboxed irc-clients reach the history socket */
	if (srv_redis_start(env, NULL, &redis) < 0 || start_ircds() < 0)
		return -1;
	if (!linked(LINK_MS)) {
		fprintf(stderr, "irc1 and irc2 did not link (logs %s, %s)\n", srv_log_path(irc1),
			srv_log_path(irc2));
		return -1;
	}
	ents = calloc(MAXE, sizeof(*ents));
	if (!ents || !(rc = lgf_redis(srv_port(redis))))
		return -1;
	if (logger_start(&lga, irc1) < 0 || logger_start(&lgb, irc2) < 0 ||
	    marker_join(&lga, irc1, "mark1") < 0 || marker_join(&lgb, irc2, "mark2") < 0) {
		fprintf(stderr, "the loggers did not join (logs %s, %s)\n", lga.proc.log,
			lgb.proc.log);
		return -1;
	}
	if (start_history() < 0 || start_gateways() < 0)
		return -1;
	return 0;
}

static void sess_free(sess_t *s, gwfx_t *g)
{
	if (s->c)
		itc_close(s->c);
	if (s->ws)
		gwfx_close(g, s->ws);
	s->c = NULL;
	s->ws = NULL;
}

static int teardown(void **state)
{
	(void)state;
	if (g2_up) {
		sess_free(&bob, &g2);
		gwfx_stop(&g2);
	}
	if (g1_up) {
		sess_free(&alice, &g1);
		sess_free(&carol, &g1);
		gwfx_stop(&g1);
	}
	g1_up = g2_up = false;
	lgf_irc_close(&lga.mark);
	lgf_irc_close(&lgb.mark);
	lgf_proc_stop(&lga.proc, SIGTERM);
	lgf_proc_stop(&lgb.proc, SIGTERM);
	if (rc)
		redisFree(rc);
	rc = NULL;
	free(ents);
	ents = NULL;
	srv_env_free(env);
	env = NULL;
	fprintf(stderr, "# wall time of test_cluster: %.1f s\n",
		(double)(clock_mono_ms() - t_start) / 1000.0);
	return 0;
}

/* ---- sessions ---- */

/* Opens a browser session of s->user at g with token tok and registers it
 * with the caps a web client asks for. */
static void sess_open(sess_t *s, gwfx_t *g, const char *tok)
{
	char url[512];
	ws_opts_t o = {.origin = GWFX_ORIGIN, .protocols = PROTO};
	ws_refusal_t why;

	gwfx_url(g, tok, url, sizeof(url));
	int r = ws_connect(url, &o, &s->ws, &why);
	if (r != 0)
		fail_msg("session of %s refused: %s (HTTP %d)", s->user, strerror(-r), why.status);
	gwfx_track(g, s->ws);
	s->c = itc_from_ws(s->ws, false);
	itc_sendf(s->c, "CAP LS 302");
	itc_sendf(s->c, "CAP REQ :message-tags server-time batch echo-message draft/chathistory");
	itc_sendf(s->c, "NICK ignored");
	itc_sendf(s->c, "USER ignored 0 * :ignored");
	itc_expect_within(s->c, "CAP", "ACK", WAIT_MS);
	itc_sendf(s->c, "CAP END");
	itc_expect_within(s->c, "001", NULL, WAIT_MS);
	snprintf(s->server, sizeof(s->server), "%.*s", (int)s->c->msg.source.len,
		 s->c->msg.source.ptr);
	snprintf(s->nick, sizeof(s->nick), "%.*s", (int)s->c->msg.params[0].len,
		 s->c->msg.params[0].ptr);
	print_message("%s registered as %s on %s\n", s->user, s->nick, s->server);
}

static void sess_join(sess_t *s)
{
	itc_sendf(s->c, "JOIN " CHAN);
	itc_expect_within(s->c, "366", CHAN, WAIT_MS);
}

static void tag_of(const itc_t *c, const char *key, char *out, size_t cap)
{
	irc_msg_tag_t t;

	out[0] = '\0';
	if (irc_msg_tag_get(&c->msg, key, &t) == 0)
		snprintf(out, cap, "%.*s", (int)t.value_len, t.value);
}

/* Reads s's lines until the PRIVMSG to CHAN with exactly text; its msgid
 * goes to id (cap 128). */
static void expect_privmsg(sess_t *s, const char *text, char *id)
{
	uint64_t end = clock_mono_ms() + WAIT_MS;

	while (clock_mono_ms() < end && itc_next_within(s->c, (int)(end - clock_mono_ms()))) {
		if (!irc_msg_command_is(&s->c->msg, "PRIVMSG") || s->c->msg.n_params != 2 ||
		    !itc_param_is(&s->c->msg, 0, CHAN) || !itc_param_is(&s->c->msg, 1, text))
			continue;
		tag_of(s->c, "msgid", id, 128);
		if (!id[0])
			fail_msg("%s got \"%s\" without a msgid: %s", s->user, text, s->c->line);
		return;
	}
	fail_msg("%s never got \"%s\" (last line %s)", s->user, text, s->c->line);
}

/* from says text in CHAN; its echo and each receiver's copy carry the same
 * msgid, recorded as the next message sent. */
static void say(sess_t *from, sess_t *to1, sess_t *to2, const char *text)
{
	char id[128], other[128];

	assert_true(n_sent < MAX_SENT);
	itc_sendf(from->c, "PRIVMSG " CHAN " :%s", text);
	expect_privmsg(from, text, id);
	expect_privmsg(to1, text, other);
	assert_string_equal(id, other);
	if (to2) {
		expect_privmsg(to2, text, other);
		assert_string_equal(id, other);
	}
	snprintf(sent[n_sent++], sizeof(sent[0]), "%s", id);
}

/* Counts of the entries of CHAN with msgid id among ents[0..n). */
static size_t count_id(size_t n, const char *id)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += !strcmp(ents[i].msgid, id);
	return c;
}

/* History and archive hold each sent msgid once, in the order sent, and no
 * other message of CHAN. */
static void assert_archived_once(void)
{
	size_t n = lgf_history(rc, CHAN, ents, MAXE), k = 0;

	assert_true(n < MAXE);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ents[i].type, "privmsg") != 0)
			continue;
		if (k >= n_sent || strcmp(ents[i].msgid, sent[k]) != 0)
			fail_msg("history message %zu is %s, expected %s", k, ents[i].msgid,
				 k < n_sent ? sent[k] : "none");
		k++;
	}
	assert_int_equal(k, n_sent);
	n = lgf_archive(rc, ents, MAXE);
	assert_true(n < MAXE);
	k = 0;
	for (size_t i = 0; i < n; i++)
		k += !strcmp(ents[i].type, "privmsg") && !strcmp(ents[i].conv, CHAN);
	assert_int_equal(k, n_sent);
	for (size_t i = 0; i < n_sent; i++)
		if (count_id(n, sent[i]) != 1)
			fail_msg("msgid %s is %zu times in the archive", sent[i],
				 count_id(n, sent[i]));
	print_message("history and archive: %zu messages, each once, in order\n", n_sent);
}

/* Gap events of CHAN recorded by a logger. */
static size_t gaps_of(const char *nick)
{
	size_t n = lgf_history(rc, CHAN, ents, MAXE), c = 0;

	for (size_t i = 0; i < n; i++)
		c += !strcmp(ents[i].type, "gap") && !strcmp(ents[i].nick, nick);
	return c;
}

/* ---- CHATHISTORY ---- */

typedef struct {
	char ids[HIST_MAX][128];
	size_t n;
	bool end; /* draft/chathistory-end */
} answer_t;

static void ask(sess_t *s, answer_t *a, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ask(sess_t *s, answer_t *a, const char *fmt, ...)
{
	char req[512];
	va_list ap;
	uint64_t end = clock_mono_ms() + WAIT_MS;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	memset(a, 0, sizeof(*a));
	itc_sendf(s->c, "CHATHISTORY %s", req);
	while (clock_mono_ms() < end && itc_next_within(s->c, (int)(end - clock_mono_ms()))) {
		const irc_msg_t *m = &s->c->msg;
		irc_msg_tag_t t;
		if (irc_msg_command_is(m, "FAIL"))
			fail_msg("CHATHISTORY %s from %s: %s", req, s->user, s->c->line);
		if (irc_msg_command_is(m, "BATCH") && m->n_params >= 1) {
			if (m->params[0].ptr[0] == '-')
				return;
			a->end = irc_msg_tag_get(m, "draft/chathistory-end", &t) == 0;
			continue;
		}
		char b[32];
		tag_of(s->c, "batch", b, sizeof(b));
		if ((!irc_msg_command_is(m, "PRIVMSG") && !irc_msg_command_is(m, "NOTICE")) ||
		    !b[0])
			continue; /* not history */
		assert_true(a->n < HIST_MAX);
		tag_of(s->c, "msgid", a->ids[a->n], sizeof(a->ids[0]));
		a->n++;
	}
	fail_msg("no answer to CHATHISTORY %s from %s", req, s->user);
}

/* What CHATHISTORY replays of CHAN, from the history stream: the msgids of
 * its PRIVMSGs (each sent one, checked by assert_archived_once) and NOTICEs
 * (a server's, e.g. InspIRCd's note to the channel when a netburst changes
 * its creation time), in stream order. */
static char want[HIST_MAX][sizeof(ents->msgid)];
static size_t n_want;

static void load_replayable(void)
{
	size_t n = lgf_history(rc, CHAN, ents, MAXE);

	n_want = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ents[i].type, "privmsg") != 0 && strcmp(ents[i].type, "notice") != 0)
			continue;
		assert_true(n_want < HIST_MAX);
		if (strcmp(ents[i].type, "notice") == 0)
			print_message("replayable notice from %s: %s\n", ents[i].nick,
				      ents[i].text);
		snprintf(want[n_want++], sizeof(want[0]), "%s", ents[i].msgid);
	}
}

/* The answer is want[first..first+n) in order. */
static void expect_sent(const answer_t *a, size_t first, size_t n, const char *what,
			const sess_t *s)
{
	if (a->n != n) {
		for (size_t i = 0; i < a->n; i++)
			print_message("  got %s\n", a->ids[i]);
		for (size_t i = 0; i < n; i++)
			print_message("  want %s\n", want[first + i]);
		fail_msg("%s from %s: %zu messages, expected %zu (from #%zu)", what, s->user, a->n,
			 n, first);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(a->ids[i], want[first + i]) != 0)
			fail_msg("%s from %s: message %zu is %s, expected %s", what, s->user, i,
				 a->ids[i], want[first + i]);
}

/* LATEST, BEFORE msgid= and paging back from s: all equal to what the
 * stream holds, whose messages are exactly those sent, in order. */
static void history_equals_sent(sess_t *s)
{
	static answer_t a;
	size_t have, page = 7;

	load_replayable();
	assert_true(n_want >= n_sent && n_want >= 12 && n_want <= HIST_MAX);
	ask(s, &a, "LATEST " CHAN " * %d", HIST_MAX);
	expect_sent(&a, 0, n_want, "LATEST *", s);
	ask(s, &a, "LATEST " CHAN " * 5");
	expect_sent(&a, n_want - 5, 5, "LATEST * 5", s);
	ask(s, &a, "BEFORE " CHAN " msgid=%s 10", want[n_want - 1]);
	expect_sent(&a, n_want - 11, 10, "BEFORE msgid", s);
	assert_false(a.end);
	ask(s, &a, "LATEST " CHAN " msgid=%s 100", want[n_want - 4]);
	expect_sent(&a, n_want - 3, 3, "LATEST msgid", s);
	/* paging back from the newest visits each message once, then ends;
	 * want[have] is the reference: the messages before it come */
	for (have = n_want - 1; have > 0;) {
		size_t k = have < page ? have : page;
		ask(s, &a, "BEFORE " CHAN " msgid=%s %zu", want[have], page);
		expect_sent(&a, have - k, k, "BEFORE msgid paging", s);
		if (k < page)
			assert_true(a.end);
		have -= k;
	}
	ask(s, &a, "BEFORE " CHAN " msgid=%s %zu", want[0], page);
	expect_sent(&a, 0, 0, "BEFORE the first", s);
	assert_true(a.end);
}

/* ---- the cases ---- */

/* Sends PHASE_MSGS messages, alternating a and b (c, if any, gets them too). */
static void exchange(const char *phase, sess_t *a, sess_t *b, sess_t *c)
{
	char text[96];

	for (int i = 0; i < PHASE_MSGS; i++) {
		sess_t *from = i % 2 ? b : a, *to = i % 2 ? a : b;
		snprintf(text, sizeof(text), "%s message %d from %s", phase, i, from->user);
		say(from, to, c, text);
	}
}

static void test_users_on_two_servers_talk(void **state)
{
	char *t;

	(void)state;
	gwfx_add_user(&g1, "alice");
	gwfx_add_user(&g2, "bob"); /* g2 shares g1's eirc-auth: the same users */
	gwfx_add_user(&g1, "carol");
	t = gwfx_token(&g1, "alice");
	snprintf(tok_alice, sizeof(tok_alice), "%s", t);
	free(t);
	t = gwfx_token(&g2, "bob");
	snprintf(tok_bob, sizeof(tok_bob), "%s", t);
	free(t);
	sess_open(&alice, &g1, tok_alice);
	sess_open(&bob, &g2, tok_bob);
	/* each gateway's irc-client took the first server of its list */
	assert_string_equal(alice.server, "irc1.eirc.local");
	assert_string_equal(bob.server, "irc2.eirc.local");
	sess_join(&alice);
	sess_join(&bob);
	itc_expect_within(alice.c, "JOIN", ":bob!", WAIT_MS);
	exchange("phase1", &alice, &bob, NULL);
	assert_int_equal(n_sent, PHASE_MSGS);
	/* the msgids are network-wide: both servers' ids are among them */
	assert_memory_equal(sent[0], "1EI~", 4);
	assert_memory_equal(sent[1], "2EI~", 4);
}

/* tok was consumed at its first gateway; at other it must be refused. */
static void refused_at(gwfx_t *other, const char *tok)
{
	const char *refused = "eirc_gateway_upgrades_refused_total{reason=\"invalid_token\"}";
	char url[512], why[128];
	ws_opts_t o = {.origin = GWFX_ORIGIN, .protocols = PROTO};
	ws_refusal_t ref;
	ws_client_t *ws = NULL;
	double accepted = gwfx_metric(other, "eirc_gateway_upgrades_accepted_total");
	double before = gwfx_metric(other, refused);
	size_t kids = gwfx_children(other, NULL, 0);

	gwfx_url(other, tok, url, sizeof(url));
	int r = ws_connect(url, &o, &ws, &ref);
	if (r == -EPERM) {
		assert_int_equal(ref.status, 401);
	} else {
		assert_int_equal(r, 0);
		gwfx_track(other, ws);
		int code = ws_wait_close(ws, 10000, why, sizeof(why));
		print_message("second use refused: %d \"%s\"\n", code, why);
		assert_int_equal(code, 4001);
		assert_non_null(strstr(why, "invalid_token"));
		gwfx_close(other, ws);
	}
	assert_true(gwfx_metric(other, refused) == before + 1);
	assert_true(gwfx_metric(other, "eirc_gateway_upgrades_accepted_total") == accepted);
	assert_int_equal(gwfx_children(other, NULL, 0), kids);
	assert_true(gwfx_metric(other, "eirc_gateway_children") == (double)kids);
}

static void test_token_single_use_across_gateways(void **state)
{
	(void)state;
	assert_non_null(alice.c);
	refused_at(&g2, tok_alice); /* consumed at G1 */
	refused_at(&g1, tok_bob);   /* consumed at G2 */
	/* the sessions that consumed them go on */
	say(&bob, &alice, NULL, "after the refusals");
	gwfx_assert_tokens_not_logged(&g1);
	gwfx_assert_tokens_not_logged(&g2);
}

static void test_archive_holds_each_message_once(void **state)
{
	(void)state;
	assert_true(n_sent > 0);
	/* each user saw every message, so both servers delivered them */
	flush(&lga);
	flush(&lgb);
	assert_archived_once();
	/* both loggers saw every message: one copy of each turned away */
	long long dups = metric(&lga, "eirc_logger_events_duplicate_total") +
			 metric(&lgb, "eirc_logger_events_duplicate_total");
	print_message("duplicates turned away by the pair: %lld\n", dups);
	assert_true(dups >= (long long)n_sent);
}

static void test_chathistory_same_from_both_sides(void **state)
{
	(void)state;
	assert_true(n_sent > 0);
	flush(&lga);
	flush(&lgb);
	history_equals_sent(&alice);
	history_equals_sent(&bob);
}

/* alice's irc-client lost irc1: her browser is told, and she is back in
 * CHAN through irc2. */
static void alice_fails_over(void)
{
	char nick[sizeof(alice.nick)];

	itc_expect_within(alice.c, "PART", CHAN, WAIT_MS);
	itc_expect_within(alice.c, "EIRC", "DISCONNECTED", WAIT_MS);
	itc_expect_within(alice.c, "NOTICE", "Lost the connection to the IRC server", WAIT_MS);
	itc_expect_within(alice.c, "EIRC", "RECONNECTED", WAIT_MS);
	assert_true(itc_param_is(&alice.c->msg, 1, "irc2.eirc.local"));
	itc_expect_within(alice.c, "NOTICE", "Reconnected to the IRC server", WAIT_MS);
	for (;;) { /* her own JOIN, under the nick she has now */
		itc_expect_within(alice.c, "JOIN", CHAN, WAIT_MS);
		snprintf(nick, sizeof(nick), "%.*s", (int)alice.c->msg.source.len,
			 alice.c->msg.source.ptr);
		if (strncmp(nick, "alice", 5) == 0)
			break;
	}
	*strchr(nick, '!') = '\0';
	snprintf(alice.nick, sizeof(alice.nick), "%s", nick);
	print_message("alice is back in " CHAN " as %s through irc2\n", alice.nick);
	itc_expect_within(alice.c, "366", CHAN, WAIT_MS);
	/* bob saw her leave with irc1 and come back */
	itc_expect_within(bob.c, "JOIN", ":alice", WAIT_MS);
}

/* Events a logger wrote and turned away as duplicates so far. */
typedef struct {
	long long written, dups;
} counts_t;

static counts_t counts(const logger_t *l)
{
	counts_t c = {metric(l, "eirc_logger_events_written_total"),
		      metric(l, "eirc_logger_events_duplicate_total")};

	assert_true(c.written >= 0 && c.dups >= 0);
	return c;
}

/* irc1 is down: what alice and bob (both on irc2 now) say is archived by
 * lgB alone, each message once, and lgB records no gap. */
static void outage_archived_by_lgb(void)
{
	flush(&lgb);
	counts_t b0 = counts(&lgb);
	exchange("outage", &alice, &bob, NULL);
	flush(&lgb);
	counts_t b1 = counts(&lgb);
	/* every message written by lgB (and its marker), none turned away */
	assert_int_equal(b1.written - b0.written, PHASE_MSGS + 1);
	assert_int_equal(b1.dups - b0.dups, 0);
	assert_int_equal(metric(&lga, "eirc_logger_irc_connected"), 0);
	assert_archived_once();
	assert_int_equal(gaps_of(lgb.nick), 0);
}

/* irc1 back: the link re-forms (lgA, back on irc1, shows up in bob's
 * channel on irc2) and a new G1 session lands on irc1 again, seen across
 * the link. */
static void irc1_returns(void)
{
	assert_int_equal(srv_restart(irc1), 0);
	itc_expect_within(bob.c, "JOIN", ":lgA!", LINK_MS);
	assert_int_equal(marker_join(&lga, irc1, "mark1"), 0);
	char *t = gwfx_token(&g1, "carol");
	sess_open(&carol, &g1, t);
	free(t);
	assert_string_equal(carol.server, "irc1.eirc.local");
	sess_join(&carol);
	itc_expect_within(bob.c, "JOIN", ":carol!", WAIT_MS);
	itc_expect_within(alice.c, "JOIN", ":carol!", WAIT_MS);
}

/* carol (irc1) and bob (irc2) talk across the re-formed link, alice
 * listens: both loggers see every message and the pair stores each once. */
static void relinked_archived_by_pair(void)
{
	flush(&lga);
	flush(&lgb);
	counts_t a0 = counts(&lga), b0 = counts(&lgb);
	exchange("relinked", &carol, &bob, &alice);
	flush(&lga);
	flush(&lgb);
	counts_t a1 = counts(&lga), b1 = counts(&lgb);
	long long written = a1.written - a0.written + b1.written - b0.written;
	long long dups = a1.dups - a0.dups + b1.dups - b0.dups;
	print_message("after the restart: %lld written, %lld turned away\n", written, dups);
	/* each message once (plus the two markers), and each seen by both */
	assert_int_equal(written, PHASE_MSGS + 2);
	assert_int_equal(dups, PHASE_MSGS);
	/* lgA recorded its own hole; lgB had none */
	assert_true(gaps_of(lga.nick) >= 1);
	assert_int_equal(gaps_of(lgb.nick), 0);
}

static void test_failover_and_link_reforms(void **state)
{
	(void)state;
	assert_non_null(alice.c);
	assert_non_null(bob.c);
	assert_int_equal(srv_kill(irc1, SIGKILL), 0);
	lgf_irc_close(&lga.mark); /* it was on irc1 */
	alice_fails_over();
	outage_archived_by_lgb();
	irc1_returns();
	relinked_archived_by_pair();
	assert_archived_once();
	history_equals_sent(&alice);
	history_equals_sent(&bob);
	history_equals_sent(&carol);
}

/* Adds pid to the list when it is a process (not 0). */
static void note(pid_t *pids, size_t *n, size_t cap, pid_t pid)
{
	if (pid > 0 && *n < cap)
		pids[(*n)++] = pid;
}

static void test_nothing_left(void **state)
{
	pid_t pids[64], gw1 = gwfx_gateway_pid(&g1), gw2 = gwfx_gateway_pid(&g2);
	size_t n = 0;
	char dirs[2][512];
	struct stat st;

	(void)state;
	n += gwfx_children(&g1, pids + n, 8);
	n += gwfx_children(&g2, pids + n, 8);
	assert_true(n >= 3); /* alice, carol; bob */
	note(pids, &n, 64, gw1);
	note(pids, &n, 64, gw2);
	note(pids, &n, 64, lga.proc.pid);
	note(pids, &n, 64, lgb.proc.pid);
	note(pids, &n, 64, srv_pid(irc1));
	note(pids, &n, 64, srv_pid(irc2));
	note(pids, &n, 64, srv_pid(redis));
	note(pids, &n, 64, srv_pid(history));
	note(pids, &n, 64, srv_pid(g1.auth.pg));
	note(pids, &n, 64, g1.auth.daemon);
	snprintf(dirs[0], sizeof(dirs[0]), "%s", srv_env_dir(env));
	snprintf(dirs[1], sizeof(dirs[1]), "%s", srv_env_dir(g1.auth.env));
	sess_free(&alice, &g1);
	sess_free(&carol, &g1);
	sess_free(&bob, &g2);
	assert_int_equal(gwfx_stop(&g2), 0);
	g2_up = false;
	assert_int_equal(gwfx_stop(&g1), 0);
	g1_up = false;
	assert_int_equal(lgf_proc_stop(&lga.proc, SIGTERM), 0);
	assert_int_equal(lgf_proc_stop(&lgb.proc, SIGTERM), 0);
	lgf_irc_close(&lga.mark);
	lgf_irc_close(&lgb.mark);
	srv_env_free(env);
	env = NULL;
	for (size_t i = 0; i < n; i++) {
		errno = 0;
		if (kill(pids[i], 0) == 0 || errno != ESRCH)
			fail_msg("process %d is still there", (int)pids[i]);
	}
	assert_int_equal(gwfx_group_members(gw1, NULL, 0), 0);
	assert_int_equal(gwfx_group_members(gw2, NULL, 0), 0);
	for (int i = 0; i < 2; i++)
		if (stat(dirs[i], &st) == 0)
			fail_msg("%s is still there", dirs[i]);
	print_message("%zu processes stopped, none left\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_on_two_servers_talk),
		cmocka_unit_test(test_token_single_use_across_gateways),
		cmocka_unit_test(test_archive_holds_each_message_once),
		cmocka_unit_test(test_chathistory_same_from_both_sides),
		cmocka_unit_test(test_failover_and_link_reforms),
		cmocka_unit_test(test_nothing_left),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
