/*
 * eirc-history end to end: real Redis, InspIRCd, eirc-logger, eirc-history
 * and an eirc-irc-client started as the gateway does (fd 3). A plain IRC
 * client sends 5,000 messages to a channel (echo-message gives each one's
 * msgid and server time); once the logger has archived them, a browser in
 * that channel asks CHATHISTORY LATEST, BEFORE, AFTER, AROUND and BETWEEN
 * (both directions) by msgid and by timestamp, and each answer must hold
 * exactly the expected messages, compared by msgid and order with what was
 * sent. Paging backwards with BEFORE msgid= from the newest visits every
 * message once and ends with draft/chathistory-end; limits are clamped; a
 * channel the user is not in gets INVALID_TARGET; with Redis hung or
 * stopped the answer is FAIL ... MESSAGE_ERROR, not a hang, and answers
 * come back once Redis does. Direct messages are filed by account ids,
 * and a second session's suffixed nick (mallory|2) is never another
 * account's name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/chathist.h"
#include "common/irc_line.h"
#include "common/irc_msg.h"
#include "scripts/stack/launch.h"
#include "tests/harness/session_test.h"
#include "tests/integration/logger_fixture.h"

#define WEBIRC_PASSWORD "webirc-history-test"
#define CHAN            "#hist"
#define MESSAGES        5000
#define HIST_MAX        100
#define READ_TIMEOUT_MS 10000

static srv_env_t *env;
static srv_t *redis, *ircd, *history;
static struct lgf_proc logger;
static char cfg_path[512], sock_path[108];
/* The sender's own listener and connect class: no flood limit, so 5,000
 * lines go in as fast as the test writes them. */
static int sender_port;
static char sender_class[1024];

/* What was sent: msgid and server time of message i, in order. */
static char ids[MESSAGES][128];
static char times[MESSAGES][32];
static long long ms[MESSAGES];

typedef struct {
	int fd;
	pid_t pid;
	irc_line_t lf;
	char line[IRC_LINE_MAX];
	char parsed[IRC_LINE_MAX];
	irc_msg_t msg;
} peer_t;

static peer_t *browser;
static peer_t *asker; /* who ask() asks through */

static void sendf(peer_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(peer_t *p, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf) - 2);
	memcpy(buf + n, "\r\n", 2);
	for (size_t off = 0; off < (size_t)n + 2;) {
		ssize_t w = write(p->fd, buf + off, (size_t)n + 2 - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

static bool next_msg(peer_t *p)
{
	uint64_t deadline = clock_mono_ms() + READ_TIMEOUT_MS;

	for (;;) {
		char *line;
		size_t len;
		int r = irc_line_next(&p->lf, &line, &len);
		if (r == 0) {
			memcpy(p->line, line, len + 1);
			memcpy(p->parsed, line, len + 1);
			if (irc_msg_parse(p->parsed, len, 0, &p->msg) != 0)
				fail_msg("unparsable line: %s", p->line);
			return true;
		}
		if (r != IRC_MSG_EAGAIN)
			continue;
		int left = (int)(deadline > clock_mono_ms() ? deadline - clock_mono_ms() : 0);
		struct pollfd pf = {.fd = p->fd, .events = POLLIN};
		if (left == 0 || poll(&pf, 1, left) != 1)
			return false;
		char buf[4096]; /* less than the framer holds: one feed takes it all */
		ssize_t n = read(p->fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		for (size_t off = 0; off < (size_t)n;)
			off += irc_line_feed(&p->lf, buf + off, (size_t)n - off);
	}
}

static void expect(peer_t *p, const char *cmd, const char *needle)
{
	while (next_msg(p))
		if (irc_msg_command_is(&p->msg, cmd) && (!needle || strstr(p->line, needle)))
			return;
	fail_msg("no %s%s%s (last line: %.300s)", cmd, needle ? " with " : "", needle ? needle : "",
		 p->line);
}

static void tag(const peer_t *p, const char *key, char *out, size_t cap)
{
	irc_msg_tag_t t;

	out[0] = '\0';
	if (irc_msg_tag_get(&p->msg, key, &t) == 0)
		snprintf(out, cap, "%.*s", (int)t.value_len, t.value);
}

/* A raw connection to the sender's listener. */
static peer_t *raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sender_port)};
	peer_t *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	irc_line_init(&p->lf, 0);
	return p;
}

/* A raw session. InspIRCd admits only eIRC sessions (m_eirc_account,
 * native="refuse"), so it registers as the gateway's do: WEBIRC (from
 * 127.0.0.1, keeping the sender class), then the caller's NICK and USER
 * u<id>. */
static peer_t *irc_connect(void)
{
	peer_t *p = raw_connect();

	sendf(p, "WEBIRC " WEBIRC_PASSWORD " eirc 127.0.0.1 127.0.0.1");
	return p;
}

/* A registered user in chan with the logger invited in, and the asker
 * joined after it (its JOIN seen), so what is sent next is logged. */
static peer_t *channel_speaker(const char *nick, const char *uid, const char *chan)
{
	peer_t *s = irc_connect();

	sendf(s, "CAP REQ :echo-message message-tags");
	sendf(s, "NICK %s", nick);
	sendf(s, "USER u%s 0 * :%s", uid, nick);
	sendf(s, "CAP END");
	expect(s, "001", NULL);
	sendf(s, "JOIN %s", chan);
	expect(s, "JOIN", chan);
	sendf(s, "INVITE histlogger %s", chan);
	expect(s, "JOIN", "histlogger"); /* accept_invites */
	sendf(asker, "JOIN %s", chan);
	expect(s, "JOIN", "reader");
	return s;
}

/* An irc-client as the gateway starts it: socketpair end on fd 3. */
/* An irc-client for nick/uid whose browser comes from ip (WEBIRC). */
static peer_t *spawn_client_ip(const char *nick, const char *uid, const char *ip)
{
	char bin[512];
	int sv[2];
	peer_t *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	snprintf(bin, sizeof(bin), "%s/irc-client/eirc-irc-client", getenv("EIRC_BUILD_DIR"));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[] = {bin,  "--config",       cfg_path, "--nick",
				      nick, "--user-id",      uid,      "--client-ip",
				      ip,   "--display-name", nick,     NULL};
		dup2(sv[1], 3);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	p->fd = sv[0];
	p->pid = pid;
	irc_line_init(&p->lf, 0);
	assert_int_equal(session_test_send_line(p->fd, pid, strtoull(uid, NULL, 10)), 0);
	return p;
}

static peer_t *spawn_client(const char *nick, const char *uid)
{
	return spawn_client_ip(nick, uid, "198.51.100.7");
}

static void peer_close(peer_t *p)
{
	int st;

	close(p->fd);
	if (p->pid)
		assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	free(p);
}

static void write_config(void)
{
	FILE *f = fopen(cfg_path, "we");

	assert_non_null(f);
	fprintf(f,
		"irc:\n  network: eIRC\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: " WEBIRC_PASSWORD "\n  connect_timeout: 5s\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"irc_client:\n  flood_lines_per_second: 1000\n  flood_burst_lines: 1000\n"
		"  sandbox_user: eirc-session\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 2s\n"
		"history:\n  socket_path: %s\n  socket_mode: \"0660\"\n  chathistory_max: %d\n"
		"  socket_group: eirc-session\n" SESSION_TEST_KEY_YAML
		"  listen_port: 0\n" /* no HTTP API here (test_history_http.c) */
		"  request_timeout: 5s\n  join_replay_lines: 5\n"
		"  redis_username: %s\n  redis_password: %s\n" /* its ACL user */
		"log:\n  level: info\n",
		srv_port(ircd), srv_port(redis), LGF_PARTITIONS, sock_path, HIST_MAX,
		srv_redis_user_name(redis, REDIS_ACL_HISTORY),
		srv_redis_user_password(redis, REDIS_ACL_HISTORY));
	fclose(f);
}

struct count_arg {
	redisContext *r;
	size_t want;
};

static bool all_archived(void *ud)
{
	struct count_arg *c = ud;
	redisReply *k = redisCommand(c->r, "KEYS eirc:{p*}:history:eIRC:" CHAN);
	long long n = 0;

	if (k && k->type == REDIS_REPLY_ARRAY && k->elements == 1) {
		redisReply *l = redisCommand(c->r, "XLEN %s", k->element[0]->str);
		n = l && l->type == REDIS_REPLY_INTEGER ? l->integer : 0;
		if (l)
			freeReplyObject(l);
	}
	if (k)
		freeReplyObject(k);
	return (size_t)n >= c->want;
}

/* Sends MESSAGES lines and records each echo's msgid and time. */
static void send_messages(peer_t *s)
{
	size_t got = 0;

	for (int i = 0; i < MESSAGES; i += 100) {
		for (int j = i; j < i + 100; j++)
			sendf(s, "PRIVMSG " CHAN " :message %d", j);
		while (got < (size_t)i + 100) {
			expect(s, "PRIVMSG", CHAN);
			char want[32];
			snprintf(want, sizeof(want), ":message %zu", got);
			assert_non_null(strstr(s->line, want));
			tag(s, "msgid", ids[got], sizeof(ids[got]));
			tag(s, "time", times[got], sizeof(times[got]));
			assert_true(ids[got][0] && times[got][0]);
			got++;
		}
	}
	for (int i = 0; i < MESSAGES; i++) {
		struct tm tm = {0};
		int msec;
		assert_non_null(strptime(times[i], "%Y-%m-%dT%H:%M:%S", &tm));
		assert_int_equal(sscanf(times[i] + 20, "%3d", &msec), 1);
		ms[i] = (long long)timegm(&tm) * 1000 + msec;
		if (i > 0)
			assert_true(ms[i] >= ms[i - 1]);
	}
}

static int setup(void **state)
{
	srv_ircd_opts_t o = {.webirc_password = WEBIRC_PASSWORD,
			     .localmax = 100,
			     .oper_password = "history-oper",
			     .native_clients = "refuse"};
	struct lgf_logger_cfg lc = {0};
	(void)state;

	srv_env_install_signal_handlers();
	signal(SIGPIPE, SIG_IGN);
	sender_port = lgf_sender_class(10, sender_class, sizeof(sender_class));
	o.extra_binds = sender_class;
	if (sender_port < 0 || srv_env_new(NULL, &env) < 0 ||
	    srv_redis_start(env, NULL, &redis) < 0 || srv_inspircd_start(env, &o, &ircd) < 0)
		return -1;
	chmod(srv_env_dir(env), 0755); /* the sandboxed irc-client runs as eirc-session */
	snprintf(cfg_path, sizeof(cfg_path), "%s/eirc.yaml", srv_env_dir(env));
	snprintf(sock_path, sizeof(sock_path), "%s/hist.sock", srv_env_dir(env));
	write_config();
	lc.dir = srv_env_dir(env);
	lc.nick = "histlogger";
	lc.irc_port = srv_port(ircd);
	lc.redis_port = srv_port(redis);
	lgf_use_redis(redis);
	lgf_use_ircd(ircd); /* a capture bot: the only session without an account */
	lc.channels = "[\"" CHAN "\"]";
	if (lgf_logger_start(&lc, &logger) < 0)
		return -1;
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/history-bridge/eirc-history", getenv("EIRC_BUILD_DIR"));
	char *argv[] = {bin, (char *)"--config", cfg_path, NULL};
	if (srv_process_start(env, "eirc-history", argv, 0, NULL, &history) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (browser)
		peer_close(browser);
	lgf_proc_stop(&logger, SIGTERM);
	srv_env_free(env);
	return 0;
}

/* ---- answers ---- */

struct answer {
	char ids[HIST_MAX * 2][128];
	size_t n;
	bool end;       /* draft/chathistory-end */
	char fail[256]; /* the FAIL line, or "" */
};

static struct answer ans;

/* Sends one request and reads its answer (a batch or a FAIL). */
static const struct answer *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const struct answer *ask(const char *fmt, ...)
{
	char req[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	memset(&ans, 0, sizeof(ans));
	peer_t *p = asker;
	sendf(p, "CHATHISTORY %s", req);
	while (next_msg(p)) {
		if (irc_msg_command_is(&p->msg, "FAIL")) {
			snprintf(ans.fail, sizeof(ans.fail), "%.255s", p->line);
			return &ans;
		}
		if (irc_msg_command_is(&p->msg, "BATCH")) {
			if (p->msg.params[0].ptr[0] == '-')
				return &ans;
			irc_msg_tag_t t;
			ans.end = irc_msg_tag_get(&p->msg, "draft/chathistory-end", &t) == 0;
			continue;
		}
		if (irc_msg_command_is(&p->msg, "CHATHISTORY") && p->msg.n_params == 3) {
			/* TARGETS: "<target> <timestamp>" */
			assert_true(ans.n < HIST_MAX * 2);
			snprintf(ans.ids[ans.n++], sizeof(ans.ids[0]), "%.*s %.*s",
				 (int)p->msg.params[1].len, p->msg.params[1].ptr,
				 (int)p->msg.params[2].len, p->msg.params[2].ptr);
			continue;
		}
		if (irc_msg_command_is(&p->msg, "PRIVMSG")) {
			char b[32];
			tag(p, "batch", b, sizeof(b));
			if (!b[0])
				continue; /* live traffic, not history */
			assert_true(ans.n < HIST_MAX * 2);
			tag(p, "msgid", ans.ids[ans.n], sizeof(ans.ids[0]));
			ans.n++;
		}
	}
	fail_msg("no answer to CHATHISTORY %s", req);
	return NULL;
}

/* The answer must be exactly messages first..last (inclusive), in order. */
static void expect_range(const struct answer *a, int first, int last, const char *what)
{
	if (a->fail[0])
		fail_msg("%s: %s", what, a->fail);
	size_t want = last >= first ? (size_t)(last - first + 1) : 0;
	if (a->n != want)
		fail_msg("%s: %zu messages, expected %zu (%d..%d)", what, a->n, want, first, last);
	for (size_t i = 0; i < want; i++)
		if (strcmp(a->ids[i], ids[first + (int)i]) != 0)
			fail_msg("%s: message %zu is %s, expected %s (#%d)", what, i, a->ids[i],
				 ids[first + (int)i], first + (int)i);
}

/* First index with ms > t, last index with ms < t. */
static int first_after(long long t)
{
	int i = 0;
	while (i < MESSAGES && ms[i] <= t)
		i++;
	return i;
}

static int last_before(long long t)
{
	int i = MESSAGES - 1;
	while (i >= 0 && ms[i] >= t)
		i--;
	return i;
}

static int min_i(int a, int b)
{
	return a < b ? a : b;
}

static int max_i(int a, int b)
{
	return a > b ? a : b;
}

/* ---- the test ---- */

static void start_browser(void)
{
	peer_t *s = irc_connect();
	struct count_arg ca;

	sendf(s, "CAP REQ :echo-message message-tags server-time");
	sendf(s, "NICK sender");
	sendf(s, "USER u900 0 * :sender");
	sendf(s, "CAP END");
	expect(s, "001", NULL);
	sendf(s, "JOIN " CHAN);
	expect(s, "JOIN", CHAN);
	/* the logger is in before anything is sent */
	for (int i = 0; i < 100; i++) {
		sendf(s, "NAMES " CHAN);
		expect(s, "353", NULL);
		if (strstr(s->line, "histlogger"))
			break;
		lgf_sleep_ms(100);
	}
	assert_non_null(strstr(s->line, "histlogger"));
	fprintf(stderr, "# sending %d messages\n", MESSAGES);
	send_messages(s);
	fprintf(stderr, "# sent; waiting for the logger\n");
	ca.r = lgf_redis(srv_port(redis));
	assert_non_null(ca.r);
	ca.want = MESSAGES;
	assert_true(lgf_wait_for(all_archived, &ca, 60000));
	redisFree(ca.r);
	peer_close(s);

	fprintf(stderr, "# archived\n");
	browser = spawn_client("reader", "77");
	sendf(browser, "CAP LS 302");
	sendf(browser, "CAP REQ :message-tags server-time batch draft/chathistory");
	sendf(browser, "CAP END");
	expect(browser, "001", NULL);
	sendf(browser, "JOIN " CHAN);
	expect(browser, "JOIN", CHAN);
	sendf(browser, "PING :joined");
	expect(browser, "PONG", "joined");
	asker = browser;
}

static void test_by_msgid(void **state)
{
	(void)state;
	start_browser();
	expect_range(ask("LATEST " CHAN " * 10"), MESSAGES - 10, MESSAGES - 1, "LATEST * 10");
	/* clamped to chathistory_max, at, below and far past it */
	expect_range(ask("LATEST " CHAN " * %d", HIST_MAX), MESSAGES - HIST_MAX, MESSAGES - 1,
		     "LATEST * max");
	expect_range(ask("LATEST " CHAN " * %d", HIST_MAX + 1), MESSAGES - HIST_MAX, MESSAGES - 1,
		     "LATEST * max+1");
	expect_range(ask("LATEST " CHAN " * 1000000"), MESSAGES - HIST_MAX, MESSAGES - 1,
		     "LATEST * 1000000");
	expect_range(ask("LATEST " CHAN " msgid=%s 100", ids[4980]), 4981, 4999, "LATEST msgid");
	expect_range(ask("BEFORE " CHAN " msgid=%s 50", ids[2500]), 2450, 2499, "BEFORE msgid");
	expect_range(ask("BEFORE " CHAN " msgid=%s 50", ids[10]), 0, 9, "BEFORE msgid near start");
	assert_true(ans.end);
	expect_range(ask("AFTER " CHAN " msgid=%s 50", ids[2500]), 2501, 2550, "AFTER msgid");
	expect_range(ask("AFTER " CHAN " msgid=%s 50", ids[4990]), 4991, 4999, "AFTER msgid end");
	expect_range(ask("AROUND " CHAN " msgid=%s 11", ids[2500]), 2495, 2505, "AROUND msgid");
	expect_range(ask("BETWEEN " CHAN " msgid=%s msgid=%s 100", ids[100], ids[150]), 101, 149,
		     "BETWEEN msgid forward");
	expect_range(ask("BETWEEN " CHAN " msgid=%s msgid=%s 20", ids[100], ids[150]), 101, 120,
		     "BETWEEN msgid forward, limited");
	expect_range(ask("BETWEEN " CHAN " msgid=%s msgid=%s 20", ids[150], ids[100]), 130, 149,
		     "BETWEEN msgid backward");
	expect_range(ask("BETWEEN " CHAN " msgid=%s msgid=%s 20", ids[150], ids[150]), 0, -1,
		     "BETWEEN one message");
	/* an unknown msgid: an empty batch */
	expect_range(ask("BEFORE " CHAN " msgid=no-such-id 10"), 0, -1, "unknown msgid");
}

/* Write system calls of process pid so far (/proc/<pid>/io), or -1. */
static long long write_calls(pid_t pid)
{
	char path[64], line[128];
	long long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "syscw: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* A 100-line answer reaches the browser in a few writes, not one per line
 * (irc-client/ircc_app.c gathers the lines of a loop iteration): the
 * irc-client's write calls during LATEST * 100, its request to the bridge
 * included, stay far below the 102 lines relayed. Counted, not timed. */
static void test_answer_writes(void **state)
{
	(void)state;
	asker = browser;
	long long before = write_calls(browser->pid);
	if (before < 0)
		skip(); /* no task I/O accounting in this kernel */
	expect_range(ask("LATEST " CHAN " * %d", HIST_MAX), MESSAGES - HIST_MAX, MESSAGES - 1,
		     "LATEST * max");
	long long n = write_calls(browser->pid) - before;
	fprintf(stderr, "# %lld write calls for a %d-line answer\n", n, HIST_MAX + 2);
	assert_true(n >= 1 && n <= 10);
}

/* An answer past IRCC_BROWSER_CORK_MAX (64 KiB; irc-client/ircc_app.c):
 * 100 lines of about 1.6 KiB (a 1,000-byte client tag each), so the
 * irc-client writes what it gathered when the next line would pass the
 * limit and gathers on. Every line arrives whole and in order, and the
 * writes are more than one (the limit) and far fewer than the lines. */
static void test_answer_past_gather_limit(void **state)
{
	enum { N = HIST_MAX, PAD = 1000 };
	static char pad[PAD + 1], text[64];
	peer_t *s;
	char sync[128];

	(void)state;
	memset(pad, 'p', PAD);
	asker = browser;
	s = channel_speaker("big", "901", "#big");
	for (int i = 0; i < N; i++) {
		sendf(s, "@+eirc/pad=%s PRIVMSG #big :big %d", pad, i);
		expect(s, "PRIVMSG", "big");
	}
	tag(s, "msgid", sync, sizeof(sync));
	for (int i = 0; i < 100; i++) { /* until the logger has the last one */
		ask("LATEST #big * 1");
		if (ans.n == 1 && strcmp(ans.ids[0], sync) == 0)
			break;
		lgf_sleep_ms(100);
	}
	assert_string_equal(ans.ids[0], sync);
	long long before = write_calls(browser->pid);
	sendf(asker, "CHATHISTORY LATEST #big * %d", N);
	int got = 0;
	long long bytes = 0;
	while (next_msg(asker)) {
		bytes += (long long)strlen(asker->line) + 2;
		if (irc_msg_command_is(&asker->msg, "BATCH") && asker->msg.params[0].ptr[0] == '-')
			break;
		if (!irc_msg_command_is(&asker->msg, "PRIVMSG"))
			continue;
		char v[PAD + 8];
		tag(asker, "+eirc/pad", v, sizeof(v));
		assert_string_equal(v, pad);
		snprintf(text, sizeof(text), ":big %d", got);
		assert_non_null(strstr(asker->line, text));
		got++;
	}
	assert_int_equal(got, N);
	long long n = write_calls(browser->pid) - before;
	/* the request, then at least one write per 64 KiB gathered */
	long long least = 1 + (bytes + 65535) / 65536;
	fprintf(stderr, "# %lld write calls for a %d-line answer of %lld bytes (at least %lld)\n",
		n, N + 2, bytes, least);
	sendf(asker, "PART #big"); /* first: TARGETS later counts the reader's channels */
	expect(s, "PART", "reader");
	peer_close(s);
	assert_true(bytes > 65536);
	if (before >= 0)
		assert_true(n >= least && n <= 40);
}

static void test_by_timestamp(void **state)
{
	long long t = ms[2500], t1 = ms[100], t2 = ms[300];
	int b, a;

	(void)state;
	assert_non_null(browser);
	b = last_before(t);
	expect_range(ask("BEFORE " CHAN " timestamp=%s 50", times[2500]), max_i(0, b - 49), b,
		     "BEFORE timestamp");
	a = first_after(t);
	expect_range(ask("AFTER " CHAN " timestamp=%s 50", times[2500]), a,
		     min_i(MESSAGES - 1, a + 49), "AFTER timestamp");
	a = first_after(t1);
	b = last_before(t2);
	expect_range(ask("BETWEEN " CHAN " timestamp=%s timestamp=%s 100", times[100], times[300]),
		     a, min_i(b, a + 99), "BETWEEN timestamp forward");
	expect_range(ask("BETWEEN " CHAN " timestamp=%s timestamp=%s 100", times[300], times[100]),
		     max_i(a, b - 99), b, "BETWEEN timestamp backward");
	/* mixed: from a msgid to a timestamp */
	expect_range(ask("BETWEEN " CHAN " msgid=%s timestamp=%s 100", ids[100], times[300]), 101,
		     min_i(b, 200), "BETWEEN msgid to timestamp");
	a = first_after(ms[4950]);
	expect_range(ask("LATEST " CHAN " timestamp=%s 100", times[4950]),
		     max_i(a, MESSAGES - HIST_MAX), MESSAGES - 1, "LATEST timestamp");
	/* AROUND: 5 before the time, 5 at or after it */
	b = last_before(t);
	a = b + 1;
	expect_range(ask("AROUND " CHAN " timestamp=%s 10", times[2500]), b - 4, a + 4,
		     "AROUND timestamp");
}

static void test_paging_backwards(void **state)
{
	static char seen[MESSAGES];
	const struct answer *a;
	int pages = 0, total = 0;

	(void)state;
	assert_non_null(browser);
	memset(seen, 0, sizeof(seen));
	a = ask("LATEST " CHAN " * %d", HIST_MAX);
	for (;;) {
		assert_true(a->fail[0] == '\0');
		pages++;
		/* answers are oldest first: they must be the next older block */
		for (size_t i = 0; i < a->n; i++) {
			int k = MESSAGES - total - (int)a->n + (int)i;
			assert_true(k >= 0);
			if (strcmp(a->ids[i], ids[k]) != 0)
				fail_msg("page %d item %zu: %s, expected %s", pages, i, a->ids[i],
					 ids[k]);
			assert_int_equal(seen[k], 0);
			seen[k] = 1;
		}
		total += (int)a->n;
		if (a->end || a->n == 0)
			break;
		char oldest[128];
		snprintf(oldest, sizeof(oldest), "%s", a->ids[0]);
		a = ask("BEFORE " CHAN " msgid=%s %d", oldest, HIST_MAX);
		assert_true(pages < MESSAGES);
	}
	assert_int_equal(total, MESSAGES);
	assert_true(a->end);
	assert_int_equal(pages, MESSAGES / HIST_MAX);
}

#define EVER "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z"

static void test_targets(void **state)
{
	(void)state;
	assert_non_null(browser);
	ask("TARGETS " EVER " 10");
	assert_true(ans.fail[0] == '\0');
	assert_int_equal(ans.n, 1);
	assert_memory_equal(ans.ids[0], CHAN " ", strlen(CHAN) + 1);
	/* the channel's latest event: the last message or the reader's JOIN */
	assert_true(strcmp(ans.ids[0] + strlen(CHAN) + 1, times[MESSAGES - 1]) >= 0);
	/* a window before the first message: nothing */
	ask("TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=%s 10", times[0]);
	assert_true(ans.fail[0] == '\0');
	assert_int_equal(ans.n, 0);
}

/* A plain browser (no draft/chathistory) gets the last join_replay_lines
 * lines after its JOIN, without batch or tags it did not ask for; one that
 * negotiated draft/chathistory gets none (checked by every ask() above,
 * which would see stray lines). */
static void test_join_replay(void **state)
{
	peer_t *plain = spawn_client("plainjoin", "88");
	int seen = 0;

	(void)state;
	assert_non_null(browser);
	sendf(plain, "NICK x");
	sendf(plain, "USER x 0 * :x");
	sendf(plain, "JOIN " CHAN);
	expect(plain, "JOIN", CHAN);
	while (seen < 5 && next_msg(plain)) {
		if (!irc_msg_command_is(&plain->msg, "PRIVMSG"))
			continue;
		char want[32];
		snprintf(want, sizeof(want), ":message %d", MESSAGES - 5 + seen);
		if (!strstr(plain->line, want))
			fail_msg("replayed line %d: %s", seen, plain->line);
		assert_true(plain->line[0] == ':'); /* no tags */
		seen++;
	}
	assert_int_equal(seen, 5);
	peer_close(plain);
}

static peer_t *bridge_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	peer_t *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(session_test_hello(h->fd, 9), 0);
	irc_line_init(&h->lf, 0);
	return h;
}

/* The bridge's socket straight, as an irc-client uses it: 200 requests in
 * one write (past HIST_CONN_QUEUE_MAX, so reading stops and resumes) are
 * answered completely and in order; a line that is not a request closes
 * the connection. */
static void test_bridge_pipelining(void **state)
{
	enum { N = 200 };
	peer_t *h;
	static char reqs[N * 96];
	size_t len = 0;
	int done = 0, lines = 0;

	(void)state;
	h = bridge_connect();
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
					"@eirc/user=9;label=p%d CHATHISTORY BEFORE " CHAN
					" msgid=%s 1\r\n",
					i, ids[i + 1]);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(h->fd, reqs + off, len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	while (done < N && next_msg(h)) {
		if (irc_msg_command_is(&h->msg, "PRIVMSG")) {
			char id[128];
			tag(h, "msgid", id, sizeof(id));
			assert_string_equal(id, ids[done]); /* BEFORE ids[i+1] is ids[i] */
			lines++;
		} else if (irc_msg_command_is(&h->msg, "EIRC")) {
			char want[16];
			snprintf(want, sizeof(want), "p%d", done);
			assert_non_null(strstr(h->line, want));
			assert_int_equal(lines, done + 1);
			done++;
		}
	}
	assert_int_equal(done, N);
	sendf(h, "PRIVMSG #x :not a request");
	assert_false(next_msg(h)); /* closed */
	close(h->fd);
	free(h);
}

/* An irc-client that stops reading: its answers pile up to
 * HIST_CONN_WRITE_MAX (4 MiB), then the bridge stops answering it (and
 * reading it) without holding anyone else up; once it reads again, every
 * answer comes, in order. */
static void test_bridge_slow_reader(void **state)
{
	enum { N = 400 }; /* 400 answers of 100 lines: about 6 MB */
	peer_t *slow = bridge_connect(), *other = bridge_connect();
	int done = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		sendf(slow, "@eirc/user=9;label=s%d CHATHISTORY LATEST " CHAN " * 100", i);
	lgf_sleep_ms(300); /* let the bridge fill the socket (no timing asserted) */
	sendf(other, "@eirc/user=9;label=o1 CHATHISTORY LATEST " CHAN " * 1");
	expect(other, "EIRC", "DONE o1");
	while (done < N && next_msg(slow))
		if (irc_msg_command_is(&slow->msg, "EIRC")) {
			char want[16];
			snprintf(want, sizeof(want), "DONE s%d", done);
			assert_non_null(strstr(slow->line, want));
			done++;
		}
	assert_int_equal(done, N);
	close(slow->fd);
	close(other->fd);
	free(slow);
	free(other);
}

/* ---- who may use the bridge's socket ---- */

enum probe {
	PROBE_REQUEST,    /* a request, no HELLO */
	PROBE_HELLO,      /* HELLO 9 with this process's ticket, then a request */
	PROBE_OTHER_PID,  /* HELLO 9 with the ticket of another pid (the parent) */
	PROBE_OTHER_USER, /* HELLO 9 with this process's ticket for user 10 */
	PROBE_BOUND,      /* HELLO 9, a request and a report of user 10, a request of 9 */
};

/* What a probe saw (its exit status). */
enum probe_seen {
	SEEN_ANSWER = 0,  /* the request answered (EIRC DONE, no FAIL) */
	SEEN_CLOSED = 1,  /* the connection closed, nothing answered */
	SEEN_REFUSED = 2, /* BOUND: FAIL ... INVALID_TARGET, then the answer */
	SEEN_CONNECT = 3, /* connect() refused (the socket's mode) */
	SEEN_OTHER = 4,
};

/* Reads lines from fd until "EIRC DONE <label>" (true; *failed: a FAIL
 * line came first) or the end of the connection (false). */
static bool probe_answer(int fd, irc_line_t *lf, const char *label, bool *failed)
{
	char done[32], buf[4096];

	snprintf(done, sizeof(done), "EIRC DONE %s", label);
	*failed = false;
	for (;;) {
		char *line;
		size_t len;
		int r;
		while ((r = irc_line_next(lf, &line, &len)) != IRC_MSG_EAGAIN) {
			if (r < 0)
				continue;
			*failed |= strstr(line, "FAIL CHATHISTORY INVALID_TARGET") != NULL;
			if (strcmp(line, done) == 0)
				return true;
		}
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n = poll(&pf, 1, READ_TIMEOUT_MS) == 1 ? read(fd, buf, sizeof(buf)) : 0;
		if (n <= 0)
			return false;
		for (size_t off = 0; off < (size_t)n;)
			off += irc_line_feed(lf, buf + off, (size_t)n - off);
	}
}

/* A write refused (EPIPE) means the bridge has closed the connection. */
static void probe_send(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(errno == EPIPE || errno == ECONNRESET ? SEEN_CLOSED : SEEN_OTHER);
}

/* The child: becomes uid/gid (with group as its one supplementary group
 * when not 0), connects to the bridge and does what. Never returns. */
static void probe_child(uid_t uid, gid_t gid, gid_t group, enum probe what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static irc_line_t lf;
	bool failed;
	int fd;

	if (setgroups(group ? 1 : 0, &group) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(SEEN_OTHER);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		_exit(SEEN_OTHER);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(errno == EACCES ? SEEN_CONNECT : SEEN_OTHER);
	irc_line_init(&lf, 0);
	if (what == PROBE_HELLO || what == PROBE_BOUND)
		session_test_hello(fd, 9);
	else if (what == PROBE_OTHER_PID)
		session_test_hello_for(fd, 9, getppid(), 9);
	else if (what == PROBE_OTHER_USER)
		session_test_hello_for(fd, 9, getpid(), 10);
	if (what == PROBE_BOUND) {
		probe_send(fd, "@eirc/user=10;label=r0 CHATHISTORY LATEST " CHAN " * 1\r\n");
		if (!probe_answer(fd, &lf, "r0", &failed) || !failed)
			_exit(SEEN_OTHER);
		probe_send(fd, "@eirc/dm;eirc/user=10;eirc/nick=mallory;msgid=probe-dm;"
			       "time=2026-01-01T00:00:00.000Z :mallory!u10@h PRIVMSG victim "
			       ":forged\r\n");
	}
	probe_send(fd, "@eirc/user=9;label=r1 CHATHISTORY LATEST " CHAN " * 1\r\n");
	if (!probe_answer(fd, &lf, "r1", &failed))
		_exit(SEEN_CLOSED);
	_exit(failed ? SEEN_OTHER : what == PROBE_BOUND ? SEEN_REFUSED : SEEN_ANSWER);
}

static int probe(uid_t uid, gid_t gid, gid_t group, enum probe what)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		probe_child(uid, gid, group, what);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* True when the bridge's log has a line containing needle. */
static bool history_logged(const char *needle)
{
	FILE *f = fopen(srv_log_path(history), "re");
	char line[1024];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* The socket is 0660, group eirc-session: nobody cannot connect; nobody
 * given that group can, and is closed (SO_PEERCRED: only the sandbox user
 * and the bridge's own may talk). As eirc-session (the irc-clients' uid):
 * no HELLO, another process's ticket, a ticket for another user are each
 * closed; a valid HELLO is answered; on the connection bound to user 9 a
 * request and a direct-message report of user 10 are refused (and
 * logged) and the next request of 9 answered. */
static void test_bridge_refusals(void **state)
{
	const struct passwd *pw;
	const struct group *g = getgrnam("eirc-session");
	uid_t nobody, sess;
	gid_t nobody_gid, sess_gid;
	struct stat st;

	(void)state;
	assert_non_null(pw = getpwnam("nobody")); /* static storage: copied out */
	nobody = pw->pw_uid, nobody_gid = pw->pw_gid;
	assert_non_null(pw = getpwnam("eirc-session"));
	sess = pw->pw_uid, sess_gid = pw->pw_gid;
	assert_non_null(g);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, g->gr_gid);
	assert_int_equal(probe(nobody, nobody_gid, 0, PROBE_HELLO), SEEN_CONNECT);
	assert_int_equal(probe(nobody, nobody_gid, g->gr_gid, PROBE_HELLO), SEEN_CLOSED);
	assert_true(history_logged("Closing a history connection of uid 65534"));
	assert_int_equal(probe(sess, sess_gid, 0, PROBE_REQUEST), SEEN_CLOSED);
	assert_int_equal(probe(sess, sess_gid, 0, PROBE_OTHER_PID), SEEN_CLOSED);
	assert_int_equal(probe(sess, sess_gid, 0, PROBE_OTHER_USER), SEEN_CLOSED);
	assert_true(history_logged("its first line is not EIRC HELLO"));
	assert_true(history_logged("its ticket is not the gateway's"));
	assert_int_equal(probe(sess, sess_gid, 0, PROBE_HELLO), SEEN_ANSWER);
	assert_int_equal(probe(sess, sess_gid, 0, PROBE_BOUND), SEEN_REFUSED);
	assert_true(history_logged("Refused a CHATHISTORY request for user 10 on the history "
				   "connection of user 9"));
	assert_true(history_logged("Refused a direct-message report for user 10 on the history "
				   "connection of user 9"));
}

/* The last messages of a channel hidden behind many other events (JOIN
 * and PART): the script-free window holds none of them, so the script
 * answers; both paths give the same messages, and the end of history. */
static void test_events_between_messages(void **state)
{
	static char m[3][128];
	peer_t *s;

	(void)state;
	assert_non_null(browser);
	s = channel_speaker("busy", "902", "#busy");
	for (int i = 0; i < 3; i++) {
		sendf(s, "PRIVMSG #busy :busy %d", i);
		expect(s, "PRIVMSG", "busy");
		tag(s, "msgid", m[i], sizeof(m[i]));
	}
	for (int i = 0; i < 20; i++) { /* 40 events after the messages */
		sendf(s, "PART #busy");
		sendf(s, "JOIN #busy");
		expect(s, "JOIN", "#busy");
	}
	sendf(s, "PRIVMSG #busy :sync"); /* the logger has seen everything before it */
	expect(s, "PRIVMSG", "sync");
	char sync[128];
	tag(s, "msgid", sync, sizeof(sync));
	for (int i = 0; i < 50; i++) {
		ask("LATEST #busy * 1");
		if (ans.n == 1 && strcmp(ans.ids[0], sync) == 0)
			break;
		lgf_sleep_ms(100);
	}
	ask("BEFORE #busy msgid=%s 2", sync); /* the window: 11 events */
	assert_true(ans.fail[0] == '\0');
	assert_int_equal(ans.n, 2);
	assert_string_equal(ans.ids[0], m[1]);
	assert_string_equal(ans.ids[1], m[2]);
	assert_false(ans.end);
	ask("BEFORE #busy msgid=%s 3", sync);
	assert_int_equal(ans.n, 3);
	assert_string_equal(ans.ids[0], m[0]);
	assert_true(ans.end);                 /* only JOINs before m[0] */
	ask("BEFORE #busy msgid=%s 5", m[2]); /* the fast window reaches the start */
	assert_int_equal(ans.n, 2);
	assert_string_equal(ans.ids[0], m[0]);
	assert_true(ans.end);
	sendf(asker, "PART #busy");
	expect(s, "PART", "reader");
	peer_close(s);
}

static void test_invalid_target(void **state)
{
	(void)state;
	assert_non_null(browser);
	ask("LATEST #elsewhere * 10");
	assert_non_null(strstr(ans.fail, "FAIL CHATHISTORY INVALID_TARGET"));
	/* a malformed form: the irc-client's own check */
	ask("LATEST " CHAN " * 0");
	assert_non_null(strstr(ans.fail, "FAIL CHATHISTORY INVALID_PARAMS"));
	/* a nick nobody reported: no conversation, INVALID_TARGET */
	ask("LATEST someone * 10");
	assert_non_null(strstr(ans.fail, "INVALID_TARGET"));
}

static void test_redis_down(void **state)
{
	(void)state;
	assert_non_null(browser);
	/* Redis hangs: the bridge gives up after its command timeout and says
	 * so itself (the irc-client's own timeout would say "in time") */
	assert_int_equal(kill(srv_pid(redis), SIGSTOP), 0);
	ask("LATEST " CHAN " * 10");
	kill(srv_pid(redis), SIGCONT);
	assert_non_null(strstr(ans.fail, "FAIL CHATHISTORY MESSAGE_ERROR"));
	assert_non_null(strstr(ans.fail, "store cannot be reached"));
	/* Redis stopped: answered at once */
	assert_int_equal(srv_stop(redis), 0);
	ask("LATEST " CHAN " * 10");
	assert_non_null(strstr(ans.fail, "FAIL CHATHISTORY MESSAGE_ERROR"));
	ask("BEFORE " CHAN " msgid=%s 10", ids[100]);
	assert_non_null(strstr(ans.fail, "FAIL CHATHISTORY MESSAGE_ERROR"));
	/* the connection stays usable: after Redis is back, answers again */
	assert_int_equal(srv_restart(redis), 0);
	bool ok = false;
	for (int i = 0; i < 50 && !ok; i++) {
		ask("LATEST " CHAN " * 3");
		ok = ans.fail[0] == '\0';
		if (!ok)
			lgf_sleep_ms(200);
	}
	assert_true(ok);
	expect_range(&ans, MESSAGES - 3, MESSAGES - 1, "LATEST after Redis restart");
}

/* ---- direct messages ---- */

/* A registered session of nick/uid; out_nick (may be NULL, else
 * IRC_LINE_MAX bytes) gets the nick the 001 names. */
static peer_t *dm_user_as(const char *nick, const char *uid, char *out_nick)
{
	peer_t *p = spawn_client(nick, uid);

	sendf(p, "CAP LS 302");
	sendf(p, "CAP REQ :message-tags server-time batch echo-message draft/chathistory");
	sendf(p, "CAP END");
	expect(p, "001", NULL);
	if (out_nick)
		snprintf(out_nick, IRC_LINE_MAX, "%.*s", (int)p->msg.params[0].len,
			 p->msg.params[0].ptr);
	sendf(p, "PING :up");
	expect(p, "PONG", "up");
	return p;
}

static peer_t *dm_user(const char *nick, const char *uid)
{
	return dm_user_as(nick, uid, NULL);
}

/* TARGETS carries the user's channels to the bridge (eirc/channels, at most
 * CHATHIST_CHANNELS_MAX bytes): a list of exactly that many bytes is
 * forwarded, one byte past gets a clear FAIL, never a shortened list. */
static void test_targets_channel_list_limit(void **state)
{
	/* from 127.0.0.1: InspIRCd's gateway class (maxchans 200), not main (50) */
	peer_t *p = spawn_client_ip("manychans", "93", "127.0.0.1"), *was = asker;
	char line[512], name[65];
	size_t total = 0;
	int joined = 0, n = 0;
	(void)state;

	sendf(p, "CAP LS 302");
	sendf(p, "CAP REQ :message-tags server-time batch draft/chathistory");
	sendf(p, "CAP END");
	expect(p, "001", NULL);
	/* 61 names of 64 bytes and one of 35: 61 * 64 + 35 + 61 commas = 4000 */
	while (n < 62) {
		size_t ll = (size_t)snprintf(line, sizeof(line), "JOIN ");
		for (int k = 0; k < 7 && n < 62; k++, n++) {
			size_t len = n < 61 ? 64 : 35;
			int h = snprintf(name, sizeof(name), "#lim%02d-", n);
			memset(name + h, 'x', len - (size_t)h);
			name[len] = '\0';
			total += len + (total ? 1 : 0);
			ll += (size_t)snprintf(line + ll, sizeof(line) - ll, "%s%s", k ? "," : "",
					       name);
		}
		sendf(p, "%s", line);
	}
	assert_int_equal(total, CHATHIST_CHANNELS_MAX);
	while (joined < 62 && next_msg(p))
		joined += irc_msg_command_is(&p->msg, "JOIN");
	assert_int_equal(joined, 62);
	asker = p;
	ask("TARGETS " EVER " 10");
	if (ans.fail[0])
		fail_msg("at the limit: %s", ans.fail); /* must be forwarded and answered */
	sendf(p, "JOIN #y");                            /* 3 bytes more with its comma */
	expect(p, "JOIN", "#y");
	ask("TARGETS " EVER " 10");
	assert_non_null(strstr(ans.fail, "MESSAGE_ERROR"));
	assert_non_null(strstr(ans.fail, "too long"));
	sendf(p, "PART #y");
	expect(p, "PART", "#y");
	ask("TARGETS " EVER " 10");
	assert_true(ans.fail[0] == '\0');
	asker = was;
	peer_close(p);
}

/* from says text to whom; returns the msgid (from the echo), once to has it. */
static void dm_send(peer_t *from, peer_t *to, const char *whom, const char *text, char *out_id)
{
	sendf(from, "PRIVMSG %s :%s", whom, text);
	expect(from, "PRIVMSG", text);
	tag(from, "msgid", out_id, 128);
	assert_true(out_id[0]);
	expect(to, "PRIVMSG", text);
}

/* asks p for "LATEST <whom> * 10" until it has want messages (reports are
 * stored asynchronously), then checks it holds each of ids_[0..want) once.
 * The order is the order the bridge stored them, which for messages sent
 * within moments of each other may differ from the server's (two users'
 * reports race): it must only be the same for both participants, so it is
 * copied to out_order for the caller to compare. */
static void dm_expect(peer_t *p, const char *whom, char ids_[][128], size_t want,
		      char out_order[][128])
{
	asker = p;
	for (int i = 0; i < 50; i++) {
		ask("LATEST %s * 10", whom);
		if (ans.fail[0] || ans.n >= want)
			break;
		lgf_sleep_ms(100);
	}
	if (ans.fail[0])
		fail_msg("LATEST %s: %s", whom, ans.fail);
	assert_int_equal(ans.n, want);
	for (size_t i = 0; i < want; i++) {
		size_t seen = 0;
		for (size_t j = 0; j < want; j++)
			seen += strcmp(ans.ids[j], ids_[i]) == 0;
		if (seen != 1)
			fail_msg("LATEST %s: %s seen %zu times", whom, ids_[i], seen);
		snprintf(out_order[i], 128, "%s", ans.ids[i]);
	}
}

static void same_order(char a[][128], char b[][128], size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_string_equal(a[i], b[i]);
}

static size_t archived_times(const char *msgid)
{
	static struct lgf_entry ents[12000];
	redisContext *r = lgf_redis(srv_port(redis));
	size_t n, c = 0;

	assert_non_null(r);
	n = lgf_archive(r, ents, sizeof(ents) / sizeof(ents[0]));
	redisFree(r);
	for (size_t i = 0; i < n; i++)
		c += strcmp(ents[i].msgid, msgid) == 0;
	return c;
}

static void test_direct_messages(void **state)
{
	static char m[4][128], oa[4][128], ob[4][128];
	peer_t *alice = dm_user("alice", "101"), *bob = dm_user("bob", "102");
	peer_t *carol = dm_user("carol", "103");

	(void)state;
	dm_send(alice, bob, "bob", "dm one", m[0]);
	dm_send(bob, alice, "alice", "dm two", m[1]);
	dm_send(alice, bob, "bob", "dm three", m[2]);
	dm_expect(alice, "bob", m, 3, oa);
	dm_expect(bob, "alice", m, 3, ob);
	same_order(oa, ob, 3);
	/* a third user sees nothing of it */
	asker = carol;
	ask("LATEST alice * 10");
	assert_true(ans.fail[0] == '\0' || strstr(ans.fail, "INVALID_TARGET"));
	assert_int_equal(ans.n, 0);
	ask("LATEST bob * 10");
	assert_true(ans.fail[0] == '\0' || strstr(ans.fail, "INVALID_TARGET"));
	assert_int_equal(ans.n, 0);

	/* an administrator renames alice: still one conversation */
	peer_t *op = irc_connect();
	sendf(op, "NICK admin");
	sendf(op, "USER u903 0 * :admin");
	expect(op, "001", NULL);
	sendf(op, "OPER eirc history-oper");
	expect(op, "381", NULL);
	sendf(op, "SANICK alice alice2");
	expect(alice, "NICK", "alice2");
	dm_send(alice, bob, "bob", "dm four", m[3]);
	dm_expect(bob, "alice2", m, 4, ob);
	dm_expect(alice, "bob", m, 4, oa);
	same_order(oa, ob, 4);
	/* TARGETS lists the conversations by the other side's current nick */
	asker = bob;
	ask("TARGETS " EVER " 10");
	assert_true(ans.fail[0] == '\0');
	assert_int_equal(ans.n, 1);
	assert_memory_equal(ans.ids[0], "alice2 ", 7);
	asker = alice;
	ask("TARGETS " EVER " 10");
	assert_int_equal(ans.n, 1);
	assert_memory_equal(ans.ids[0], "bob ", 4);
	asker = carol;
	ask("TARGETS " EVER " 10");
	assert_true(ans.fail[0] == '\0');
	assert_int_equal(ans.n, 0);
	/* both users reported every message (the sender's echo, the receiver's
	 * copy), long before now: the archive holds each once */
	for (int i = 0; i < 4; i++)
		assert_int_equal(archived_times(m[i]), 1);
	peer_close(op);
	peer_close(alice);
	peer_close(bob);
	peer_close(carol);
	asker = browser;
}

/* Sends TIME through p and reads up to the server's answer (391), which
 * comes after every line the server sent p before: the irc-client answers
 * PING itself, so PING is no such barrier. True when a cmd line with needle
 * came first. */
static bool round_trip(peer_t *p, const char *cmd, const char *needle)
{
	bool seen = false;

	sendf(p, "TIME");
	while (next_msg(p) && !irc_msg_command_is(&p->msg, "391"))
		seen |= irc_msg_command_is(&p->msg, cmd) && strstr(p->line, needle);
	assert_true(irc_msg_command_is(&p->msg, "391"));
	return seen;
}

/* Nicks belong to accounts: mallory's second session registers as
 * mallory|2, never as mallory1 (another account, offline), so a message to
 * mallory1 does not reach mallory (401) while one to mallory|2 does and is
 * filed under mallory's id; the real mallory1, once online, has nothing of
 * it, and what it is sent is its own. */
static void test_second_session_nick(void **state)
{
	static char m[2][128], o[2][128];
	char nick2[IRC_LINE_MAX];
	peer_t *mal = dm_user("mallory", "111"), *mal2 = dm_user_as("mallory", "111", nick2);
	peer_t *trent = dm_user("trent", "113");

	(void)state;
	sendf(trent, "PRIVMSG mallory1 :meant for the account mallory1");
	bool nosuchnick = round_trip(trent, "401", "mallory1");
	for (size_t i = 0; i < 2; i++) /* delivered before the answer, if at all */
		if (round_trip(i ? mal2 : mal, "PRIVMSG", "meant for the account mallory1"))
			fail_msg("mallory (as %s) received mallory1's message",
				 i ? nick2 : "mallory");
	assert_true(nosuchnick); /* 401: nobody has the nick mallory1 */
	if (strcmp(nick2, "mallory|2") != 0)
		fail_msg("mallory's second session registered as %s", nick2);
	/* the suffixed nick reaches mallory, filed under mallory's id (111):
	 * mallory's first session reads it in its conversation with trent */
	dm_send(trent, mal2, "mallory|2", "to mallory's second session", m[0]);
	dm_expect(mal, "trent", m, 1, o);
	dm_expect(trent, "mallory|2", m, 1, o);
	/* the real mallory1 comes online: nothing of mallory's is its */
	peer_t *m1 = dm_user("mallory1", "112");
	asker = m1;
	ask("LATEST trent * 10");
	assert_true(ans.fail[0] == '\0' || strstr(ans.fail, "INVALID_TARGET"));
	assert_int_equal(ans.n, 0);
	asker = trent;
	ask("LATEST mallory1 * 10");
	assert_true(ans.fail[0] == '\0' || strstr(ans.fail, "INVALID_TARGET"));
	assert_int_equal(ans.n, 0);
	dm_send(trent, m1, "mallory1", "for the real mallory1", m[1]);
	dm_expect(m1, "trent", m + 1, 1, o);
	dm_expect(trent, "mallory1", m + 1, 1, o);
	dm_expect(mal, "trent", m, 1, o); /* still only its own */
	peer_close(m1);
	peer_close(trent);
	peer_close(mal2);
	peer_close(mal);
	asker = browser;
}

/* Issue 25, route 3: the bridge takes a direct message's sender from the
 * server's eirc/uid, never from the username a client chose. A session
 * InspIRCd bound to no account (the one kind left: a capture bot, with
 * the capture class's password) registers with USER u<alice's id> and
 * messages bob: nothing
 * is filed under alice, and its nick teaches no nick -> id key (bob's
 * "LATEST mallory" finds no conversation); what alice herself sends bob
 * next is filed as hers. */
static void test_forged_ident(void **state)
{
	static char m[1][128], o[1][128];
	peer_t *alice = dm_user("alicef", "121"), *bob = dm_user("bobf", "122");
	peer_t *f = raw_connect();

	(void)state;
	sendf(f, "PASS %s", srv_capture_password(ircd));
	sendf(f, "NICK mallory");
	sendf(f, "USER u121 0 * :mallory");
	expect(f, "001", NULL);
	sendf(f, "PRIVMSG bobf :forged as alice");
	expect(bob, "PRIVMSG", "forged as alice");
	/* reports of one irc-client are stored in order: once alice's own
	 * message is filed, the forged one has been dealt with */
	dm_send(alice, bob, "bobf", "really alice", m[0]);
	dm_expect(alice, "bobf", m, 1, o);
	dm_expect(bob, "alicef", m, 1, o);
	asker = bob;
	ask("LATEST mallory * 10");
	assert_true(ans.fail[0] == '\0' || strstr(ans.fail, "INVALID_TARGET"));
	assert_int_equal(ans.n, 0);
	peer_close(f);
	peer_close(bob);
	peer_close(alice);
	asker = browser;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_msgid),
		cmocka_unit_test(test_answer_writes),
		cmocka_unit_test(test_answer_past_gather_limit),
		cmocka_unit_test(test_by_timestamp),
		cmocka_unit_test(test_paging_backwards),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_channel_list_limit),
		cmocka_unit_test(test_join_replay),
		cmocka_unit_test(test_bridge_pipelining),
		cmocka_unit_test(test_bridge_slow_reader),
		cmocka_unit_test(test_bridge_refusals),
		cmocka_unit_test(test_events_between_messages),
		cmocka_unit_test(test_invalid_target),
		cmocka_unit_test(test_direct_messages),
		cmocka_unit_test(test_second_session_nick),
		cmocka_unit_test(test_forged_ident),
		cmocka_unit_test(test_redis_down),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
