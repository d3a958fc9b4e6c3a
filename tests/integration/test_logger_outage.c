/*
 * eirc-logger's spill path under a real outage, with real InspIRCd and
 * Redis. (1) Redis is stopped while clients talk: the memory queue (its
 * smallest size, 1 MiB) overflows into the spill file, which must grow and
 * show in /metrics (and /readyz answers 503 "redis down", /healthz 200);
 * after Redis restarts on the same port every message
 * the server delivered (its msgids, seen by an observer client) is in the
 * history and the archive exactly once, in order per channel, and the
 * spill file is emptied. (2) With the spill file at its smallest bound too
 * (1 MiB), a longer outage must lose events loudly: "EVENTS LOST" in the
 * log, eirc_logger_events_lost_total, and lost + stored == sent.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "scripts/stack/launch.h"
#include "logger-bot/lg_spill.h"
#include "tests/harness/http_test.h"
#include "tests/integration/logger_fixture.h"

#define CHANNELS        8  /* one sender per channel: its order is the send order */
#define RATE_PER_CLIENT 80 /* under the gateway class's 100 commands/s */
#define MAXMSG          6000
#define MAXE            20000
#define PAD             400 /* text bytes: ~600-byte events, 1 MiB ~ 1,700 */
#define LGF_MSGID_MAX   160 /* struct lgf_entry.msgid */

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512];
static struct lgf_entry *ents;
static char (*obs_ids)[LGF_MSGID_MAX];

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	ents = calloc(MAXE, sizeof(*ents));
	obs_ids = calloc(MAXMSG, sizeof(*obs_ids));
	return ents && obs_ids ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ents);
	free(obs_ids);
	srv_env_free(env);
	return 0;
}

/* Reads what the observer has and records the server's msgid of every
 * "<tag>-<i>-" message. Returns how many it recorded. */
static size_t obs_pump(struct lgf_irc *o, const char *tag)
{
	char needle[32];
	size_t got = 0;
	int n = snprintf(needle, sizeof(needle), " :%s-", tag);

	for (;;) {
		struct pollfd p = {o->fd, POLLIN, 0};
		if (o->len < sizeof(o->buf) && poll(&p, 1, 0) > 0) {
			ssize_t r = read(o->fd, o->buf + o->len, sizeof(o->buf) - o->len);
			if (r > 0)
				o->len += (size_t)r;
		}
		char *nl = memchr(o->buf, '\n', o->len);
		if (!nl)
			return got;
		*nl = '\0';
		char *t = strstr(o->buf, needle), *id = strstr(o->buf, "msgid=");
		if (!strncmp(o->buf, "PING ", 5)) {
			o->buf[1] = 'O';
			(void)!write(o->fd, o->buf, strlen(o->buf)), (void)!write(o->fd, "\n", 1);
		}
		if (t && id && o->buf[0] == '@') {
			long i = strtol(t + n, NULL, 10);
			size_t k = strcspn(id + 6, "; ");
			if (i >= 0 && i < MAXMSG && k < LGF_MSGID_MAX) {
				memcpy(obs_ids[i], id + 6, k);
				obs_ids[i][k] = '\0';
				got++;
			}
		}
		size_t used = (size_t)(nl - o->buf) + 1;
		memmove(o->buf, o->buf + used, o->len - used);
		o->len -= used;
	}
}

struct world {
	struct lgf_irc cl[CHANNELS], obs;
	const char *tag;
	size_t observed;
};

/* Connects one sender per channel "#<tag>K" and the observer (joined to
 * all, with message-tags), then waits until the logger is in them all (the
 * server joins it when a sender creates each). */
static void connect_all(struct world *w, redisContext *rc, const char *lognick)
{
	char nick[16];
	uint64_t end = clock_mono_ms() + 30000;

	snprintf(nick, sizeof(nick), "%sobserver", w->tag);
	assert_int_equal(lgf_irc_connect(srv_port(ircd), nick, "message-tags", &w->obs), 0);
	for (int c = 0; c < CHANNELS; c++) {
		snprintf(nick, sizeof(nick), "%ssend%d", w->tag, c);
		assert_int_equal(lgf_irc_connect(srv_port(ircd), nick, NULL, &w->cl[c]), 0);
		lgf_irc_send(&w->cl[c], "JOIN #%s%d", w->tag, c);
		assert_int_equal(lgf_irc_wait(&w->cl[c], "366", 5000, NULL, 0), 0);
		lgf_irc_send(&w->obs, "JOIN #%s%d", w->tag, c);
		assert_int_equal(lgf_irc_wait(&w->obs, "366", 5000, NULL, 0), 0);
	}
	for (int c = 0; c < CHANNELS; c++) {
		char chan[16];
		snprintf(chan, sizeof(chan), "#%s%d", w->tag, c);
		for (;;) {
			size_t n = lgf_history(rc, chan, ents, MAXE), j = 0;
			for (size_t i = 0; i < n; i++)
				j += !strcmp(ents[i].type, "join") &&
				     !strcmp(ents[i].nick, lognick);
			if (j)
				break;
			if (clock_mono_ms() > end)
				fail_msg("logger %s not in %s", lognick, chan);
			lgf_sleep_ms(100);
		}
	}
}

static void close_all(struct world *w)
{
	for (int c = 0; c < CHANNELS; c++)
		lgf_irc_close(&w->cl[c]);
	lgf_irc_close(&w->obs);
}

/* Sends messages [from, to) (message i from sender i % CHANNELS to its
 * channel), paced under the class's command rate, pumping the observer. */
static void send_range(struct world *w, int from, int to)
{
	static char pad[PAD + 1];
	long long t0 = (long long)clock_mono_ms();

	memset(pad, 'p', PAD);
	for (int i = from; i < to; i++) {
		int c = i % CHANNELS;
		long long due = t0 + (long long)(i - from) * 1000 / (CHANNELS * RATE_PER_CLIENT);
		if ((long long)clock_mono_ms() < due)
			lgf_sleep_ms((int)(due - (long long)clock_mono_ms()));
		assert_int_equal(lgf_irc_send(&w->cl[c], "PRIVMSG #%s%d :%s-%d-%s", w->tag, c,
					      w->tag, i, pad),
				 0);
		if (i % CHANNELS == CHANNELS - 1)
			w->observed += obs_pump(&w->obs, w->tag);
	}
}

/* Waits until the observer has seen messages [0, n). */
static void observe_all(struct world *w, size_t n)
{
	uint64_t end = clock_mono_ms() + 20000;

	while (w->observed < n && clock_mono_ms() < end) {
		w->observed += obs_pump(&w->obs, w->tag);
		lgf_sleep_ms(20);
	}
	assert_int_equal(w->observed, n);
}

static long long metric(int port, const char *series)
{
	return lgf_metric(port, series);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Entries of ours ("<tag>-<i>-"): each at most once, in order per channel,
 * each with the msgid the server gave it. Marks seen[i]; returns count. */
static size_t check_entries(const char *what, size_t n, const char *tag, unsigned char *seen,
			    int sent)
{
	long last[CHANNELS];
	size_t tl = strlen(tag), got = 0;

	for (int c = 0; c < CHANNELS; c++)
		last[c] = -1;
	for (size_t k = 0; k < n; k++) {
		const struct lgf_entry *e = &ents[k];
		if (strcmp(e->type, "privmsg") || strncmp(e->text, tag, tl) || e->text[tl] != '-')
			continue;
		long i = strtol(e->text + tl + 1, NULL, 10);
		assert_true(i >= 0 && i < sent);
		if (seen[i]++)
			fail_msg("%s: %s-%ld stored twice", what, tag, i);
		if (strcmp(e->msgid, obs_ids[i]))
			fail_msg("%s: %s-%ld has msgid %s, the server gave %s", what, tag, i,
				 e->msgid, obs_ids[i]);
		if (i <= last[i % CHANNELS])
			fail_msg("%s: %s-%ld stored after %s-%ld in its channel", what, tag, i, tag,
				 last[i % CHANNELS]);
		last[i % CHANNELS] = i;
		got++;
	}
	return got;
}

struct stored {
	redisContext *rc;
	const char *tag;
	size_t want, got;
};

static bool all_stored(void *ud)
{
	struct stored *s = ud;
	size_t n = lgf_all_history(s->rc, ents, MAXE), tl = strlen(s->tag);

	s->got = 0;
	for (size_t k = 0; k < n; k++)
		s->got += !strcmp(ents[k].type, "privmsg") && !strncmp(ents[k].text, s->tag, tl) &&
			  ents[k].text[tl] == '-';
	return s->got >= s->want;
}

/* SIGTERM; the exit status must be 0 (else the log tail is shown). */
static void stop_logger(struct lgf_proc *lg)
{
	int st = lgf_proc_stop(lg, SIGTERM);
	char cmd[700];

	if (st != 0) {
		snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", lg->log);
		(void)!system(cmd);
		fail_msg("eirc-logger exited with %d", st);
	}
}

static void start_logger(const char *nick, const char *tag, const char *extra, int mport,
			 struct lgf_proc *out)
{
	static char chans[256];
	size_t n = (size_t)snprintf(chans, sizeof(chans), "[");

	for (int c = 0; c < CHANNELS; c++)
		n += (size_t)snprintf(chans + n, sizeof(chans) - n, "%s\"#%s%d\"", c ? ", " : "",
				      tag, c);
	snprintf(chans + n, sizeof(chans) - n, "]");
	struct lgf_logger_cfg c = {dir,   nick, srv_port(ircd), srv_port(redis), 0, chans,
				   extra, NULL, mport};
	assert_int_equal(lgf_logger_start(&c, out), 0);
}

#define SPILL_SENT 3200

static void test_spill_and_replay(void **state)
{
	static struct world w = {.tag = "sp"};
	static unsigned char seen_h[MAXMSG], seen_a[MAXMSG];
	struct lgf_proc lg;
	char spill[600];
	int mport = srv_free_port();
	redisContext *rc = lgf_redis(srv_port(redis));

	(void)state;
	start_logger("lgspill", "sp", "  memory_buffer_max: 1MiB\n  spill_max: 64MiB\n", mport,
		     &lg);
	snprintf(spill, sizeof(spill), "%s/spill-lgspill/spill.dat", dir);
	connect_all(&w, rc, "lgspill");
	redisFree(rc);

	assert_int_equal(srv_stop(redis), 0);
	send_range(&w, 0, SPILL_SENT);
	observe_all(&w, SPILL_SENT);
	lgf_sleep_ms(400); /* a spill fsync batch */
	long long size = file_size(spill);
	if (size <= 0)
		fail_msg("spill file %s did not grow (%lld; log %s)", spill, size, lg.log);
	assert_true(metric(mport, "eirc_logger_spill_bytes") > 0);
	assert_true(metric(mport, "eirc_logger_spilled_total") > 0);
	assert_int_equal(metric(mport, "eirc_logger_redis_connected"), 0);
	assert_int_equal(metric(mport, "eirc_logger_events_lost_total"), 0);
	{ /* spilling: alive, not ready */
		char *body = NULL;
		assert_int_equal(ht_get(mport, "/readyz", &body), 503);
		assert_string_equal(body, "redis down\n");
		free(body);
		assert_int_equal(ht_get(mport, "/healthz", NULL), 200);
	}

	assert_int_equal(srv_restart(redis), 0);
	rc = lgf_redis(srv_port(redis));
	struct stored s = {rc, "sp", SPILL_SENT, 0};
	if (!lgf_wait_for(all_stored, &s, 60000))
		fail_msg("only %zu of %d stored after the restart (log %s)", s.got, SPILL_SENT,
			 lg.log);
	lgf_sleep_ms(300); /* anything stored twice would show now */
	assert_int_equal(
		check_entries("history", lgf_all_history(rc, ents, MAXE), "sp", seen_h, SPILL_SENT),
		SPILL_SENT);
	assert_int_equal(
		check_entries("archive", lgf_archive(rc, ents, MAXE), "sp", seen_a, SPILL_SENT),
		SPILL_SENT);
	/* the spill file is drained */
	for (int i = 0; i < 50 && metric(mport, "eirc_logger_spill_bytes") != 0; i++)
		lgf_sleep_ms(100);
	assert_int_equal(metric(mport, "eirc_logger_spill_bytes"), 0);
	assert_int_equal(file_size(spill), LG_SPILL_HEADER_LEN); /* truncated to its header */
	char *log = lgf_slurp(lg.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "spilling events to"));
	assert_non_null(strstr(log, "Spill file replayed and emptied"));
	assert_null(strstr(log, "EVENTS LOST"));
	free(log);
	redisFree(rc);
	close_all(&w);
	stop_logger(&lg);
}

#define LOSS_SENT 5200

static void test_loss_is_loud_and_counted(void **state)
{
	static struct world w = {.tag = "ls"};
	static unsigned char seen_h[MAXMSG], seen_a[MAXMSG];
	struct lgf_proc lg;
	int mport = srv_free_port();
	redisContext *rc = lgf_redis(srv_port(redis));

	(void)state;
	start_logger("lgloss", "ls", "  memory_buffer_max: 1MiB\n  spill_max: 1MiB\n", mport, &lg);
	connect_all(&w, rc, "lgloss");
	redisFree(rc);

	assert_int_equal(srv_stop(redis), 0);
	send_range(&w, 0, LOSS_SENT);
	observe_all(&w, LOSS_SENT);
	lgf_sleep_ms(300);
	long long lost = metric(mport, "eirc_logger_events_lost_total");
	assert_true(lost > 0);
	assert_true(metric(mport, "eirc_logger_spill_bytes") > 0);
	assert_int_equal(srv_restart(redis), 0);

	rc = lgf_redis(srv_port(redis));
	struct stored s = {rc, "ls", (size_t)(LOSS_SENT - lost), 0};
	if (!lgf_wait_for(all_stored, &s, 60000))
		fail_msg("%zu stored + %lld lost != %d sent (log %s)", s.got, lost, LOSS_SENT,
			 lg.log);
	lgf_sleep_ms(500);
	/* nothing lost silently: each sent message stored once or counted lost */
	size_t hist =
		check_entries("history", lgf_all_history(rc, ents, MAXE), "ls", seen_h, LOSS_SENT);
	size_t arch =
		check_entries("archive", lgf_archive(rc, ents, MAXE), "ls", seen_a, LOSS_SENT);
	assert_int_equal(metric(mport, "eirc_logger_events_lost_total"), lost);
	assert_int_equal(hist + (size_t)lost, LOSS_SENT);
	assert_int_equal(arch, hist);
	char *log = lgf_slurp(lg.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "EVENTS LOST: memory queue and spill file full"));
	free(log);
	redisFree(rc);
	close_all(&w);
	stop_logger(&lg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spill_and_replay),
		cmocka_unit_test(test_loss_is_loud_and_counted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
