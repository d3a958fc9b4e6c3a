/*
 * Redis bounded (issue 24, item 7), against the real Redis and InspIRCd
 * the fixtures start:
 *   - without Elasticsearch, eirc-logger trims the archive streams to
 *     logger.archive_retention (default 7 days): entries seeded 8 days old
 *     go at the first pass, those 6 days old stay, everything the logger
 *     archives meanwhile stays, and it holds while messages keep coming;
 *     /metrics shows the length, the oldest entry's age and the count
 *     trimmed. The logger here has no integrity.signing_key: no partition
 *     has a log, so the trimming is by the retention alone (lg_archive.h;
 *     trimming at checkpoint boundaries is test_archive_trim's), and each
 *     trim leaves a tombstone of no leaf (from = to = 0) whose counts add
 *     up to what went;
 *   - the bound under writes, in process: a writer appending ~400 events/s
 *     and lg_archive with a 1.5 s retention: once reached, the archive's
 *     oldest entry stays within the retention plus one pass, its length
 *     stops growing, and trimmed + left = written = the tombstones'
 *     counts + left;
 *   - a full Redis (maxmemory reached, noeviction) answers the writer's
 *     appends with OOM: the events wait, none is lost, and once Redis has
 *     room every one is stored once;
 *   - a Redis whose maxmemory-policy can evict (allkeys-lru,
 *     volatile-lru) is refused at start-up by eirc-logger and by
 *     eirc-history: exit status 1 and a log line naming the policy; with
 *     noeviction the same configs run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include "archive/archive_keys.h"
#include "common/clock.h"
#include "logger-bot/lg_archive.h"
#include "logger-bot/lg_writer.h"
#include "scripts/stack/launch.h"
#include "tests/harness/session_test.h"
#include "tests/integration/logger_fixture.h"

#define DAY_MS     (INT64_C(24) * 3600 * 1000)
#define OLD_N      500 /* per partition, 8 days old: past the default 7 days */
#define KEPT_N     10  /* per partition, 6 days old: within it */
#define SENT_FIRST 300
#define SENT_MORE  300

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512];
static redisContext *rc;

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	return (rc = lgf_redis(srv_port(redis))) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	redisFree(rc);
	srv_env_free(env);
	return 0;
}

static void cmd_ok(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r || r->type == REDIS_REPLY_ERROR)
		fail_msg("Redis: %s", r ? r->str : "no reply");
	freeReplyObject(r);
}

static void archive_key(int k, char *buf, size_t cap)
{
	assert_true(archive_keys_archive(k, buf, cap) > 0);
}

/* Entries of every partition's archive: all, and those whose id is below
 * before_ms; the oldest id's time (-1 when empty). */
struct count {
	long long all, before, oldest_ms;
};

static struct count archive_count(int partitions, int64_t before_ms)
{
	struct count c = {0, 0, -1};
	char key[64];

	for (int k = 0; k < partitions; k++) {
		redisReply *r;
		archive_key(k, key, sizeof(key));
		r = redisCommand(rc, "XLEN %s", key);
		assert_non_null(r);
		c.all += r->integer;
		freeReplyObject(r);
		r = redisCommand(rc, "XRANGE %s - (%" PRId64 " COUNT 1000000", key, before_ms);
		assert_non_null(r);
		c.before += (long long)r->elements;
		freeReplyObject(r);
		r = redisCommand(rc, "XRANGE %s - + COUNT 1", key);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
			long long ms = strtoll(r->element[0]->element[0]->str, NULL, 10);
			if (c.oldest_ms < 0 || ms < c.oldest_ms)
				c.oldest_ms = ms;
		}
		if (r)
			freeReplyObject(r);
	}
	return c;
}

/* Empties every archive stream and its tombstones (what an earlier test
 * left, even failing). */
static void clear_archives(void)
{
	char key[64];

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		archive_key(k, key, sizeof(key));
		cmd_ok("DEL %s", key);
		assert_true(archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, key, sizeof(key)) > 0);
		cmd_ok("DEL %s", key);
	}
}

/* The tombstones of every partition: how many, and the sum of their
 * counts; each says no leaf went (from = to = 0: no log), the policy and
 * the actor. */
struct tombs {
	long long n, count;
};

static struct tombs tombstones(const char *policy, const char *actor)
{
	struct tombs t = {0, 0};
	char key[64];

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		redisReply *r;
		assert_true(archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, key, sizeof(key)) > 0);
		r = redisCommand(rc, "XRANGE %s - +", key);
		assert_non_null(r);
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *f = r->element[i]->element[1];
			int seen = 0;
			for (size_t j = 0; j + 1 < f->elements; j += 2) {
				const char *name = f->element[j]->str, *v = f->element[j + 1]->str;
				if (!strcmp(name, "count"))
					t.count += strtoll(v, NULL, 10);
				else if (!strcmp(name, "from") || !strcmp(name, "to"))
					assert_string_equal(v, "0");
				else if (!strcmp(name, "policy"))
					assert_string_equal(v, policy);
				else if (!strcmp(name, "actor"))
					assert_string_equal(v, actor);
				else
					continue;
				seen++;
			}
			assert_int_equal(seen, 5);
			t.n++;
		}
		freeReplyObject(r);
	}
	return t;
}

/* n entries per partition with explicit ids from from_ms on, one ms apart
 * (what a logger archived that long ago). */
static void seed(int64_t from_ms, int n, const char *tag)
{
	char key[64];

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		archive_key(k, key, sizeof(key));
		for (int i = 0; i < n; i++)
			cmd_ok("XADD %s %" PRId64 "-%d network eIRC msgid %s-%d-%d type privmsg "
			       "conv #old text old",
			       key, from_ms + i, k, tag, k, i);
	}
}

/* ---- eirc-logger without Elasticsearch ---- */

struct bound_wait {
	int64_t before_ms;
};

static bool old_gone(void *ud)
{
	struct bound_wait *w = ud;

	return archive_count(LGF_PARTITIONS, w->before_ms).before == 0;
}

/* Every event the logger archived is in a history stream (retention 1 day
 * in the fixture's config) and, once, in an archive stream. */
static long long history_events(void)
{
	static struct lgf_entry e[4096];

	return (long long)lgf_all_history(rc, e, sizeof(e) / sizeof(e[0]));
}

static void send_messages(struct lgf_irc *u, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		lgf_irc_send(u, "PRIVMSG #b%d :message %d", i % 2, i);
		if (i % 50 == 49) {
			lgf_irc_send(u, "PING :p%d", i);
			char want[32];
			snprintf(want, sizeof(want), "p%d", i);
			assert_int_equal(lgf_irc_wait(u, want, 10000, NULL, 0), 0);
			lgf_sleep_ms(200); /* ~250 messages/s: writes go on across passes */
		}
	}
}

static long long metric(int port, const char *name)
{
	return lgf_metric(port, name);
}

static void test_archive_bounded_without_elasticsearch(void **state)
{
	int mport = srv_free_port();
	struct lgf_logger_cfg c = {
		dir,  "blg", srv_port(ircd), srv_port(redis), 0, "[\"#b0\", \"#b1\"]",
		NULL, NULL,  mport};
	int64_t now = clock_wall_ms();
	struct bound_wait w = {now - 7 * DAY_MS};
	struct lgf_proc lg;
	struct lgf_irc u;
	struct count n;
	long long hist;

	(void)state;
	clear_archives();
	seed(now - 8 * DAY_MS, OLD_N, "old");
	seed(now - 6 * DAY_MS, KEPT_N, "kept");
	n = archive_count(LGF_PARTITIONS, w.before_ms);
	assert_int_equal(n.before, LGF_PARTITIONS * OLD_N);
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "bsender", NULL, &u), 0);
	lgf_irc_send(&u, "JOIN #b0,#b1");
	assert_int_equal(lgf_irc_wait(&u, " 366 ", 5000, NULL, 0), 0);
	assert_int_equal(lgf_logger_start(&c, &lg), 0);
	assert_int_equal(lgf_irc_wait(&u, ":blg!", 20000, NULL, 0), 0);
	/* writes while the first pass (10 s after start) comes */
	send_messages(&u, 0, SENT_FIRST);
	if (!lgf_wait_for(old_gone, &w, 20000))
		fail_msg("archive entries older than 7 days still there 20 s after start: %lld "
			 "(log %s)",
			 archive_count(LGF_PARTITIONS, w.before_ms).before, lg.log);
	/* held: more writes across two more passes; nothing within the
	 * retention goes, nothing older comes back */
	send_messages(&u, SENT_FIRST, SENT_MORE);
	lgf_irc_send(&u, "PING :done");
	assert_int_equal(lgf_irc_wait(&u, "done", 10000, NULL, 0), 0);
	lgf_sleep_ms(2 * LG_ARCHIVE_TRIM_EVERY_MS + 1000);
	n = archive_count(LGF_PARTITIONS, w.before_ms);
	hist = history_events();
	fprintf(stderr, "archive %lld entries (%lld older than 7 days), history %lld events\n",
		n.all, n.before, hist);
	assert_int_equal(n.before, 0);
	assert_true(hist >= SENT_FIRST + SENT_MORE);
	assert_int_equal(n.all, LGF_PARTITIONS * KEPT_N + hist);
	/* the metrics of the last pass (no writes since) */
	assert_int_equal(metric(mport, "eirc_logger_archive_trimmed_total"),
			 LGF_PARTITIONS * OLD_N);
	/* one tombstone per partition: the first pass took all that was old */
	struct tombs t = tombstones("retention 7d", "eirc-logger blg");
	assert_int_equal(t.n, LGF_PARTITIONS);
	assert_int_equal(t.count, LGF_PARTITIONS * OLD_N);
	assert_int_equal(metric(mport, "eirc_logger_archive_entries"), n.all);
	long long age = metric(mport, "eirc_logger_archive_oldest_age_seconds");
	fprintf(stderr, "oldest entry %lld s old\n", age);
	assert_true(age >= 6 * 86400 - 60 && age <= 6 * 86400 + 60);
	lgf_irc_close(&u);
	assert_int_equal(lgf_proc_stop(&lg, SIGTERM), 0);
}

/* ---- the bound under writes, in process ---- */

/* The writer's login: eirc-logger's ACL user, the eviction check on. */
static redis_opts_t logger_redis_opts(void)
{
	return (redis_opts_t){.host = "127.0.0.1",
			      .port = srv_port(redis),
			      .username = srv_redis_user_name(redis, REDIS_ACL_LOGGER),
			      .password = srv_redis_user_password(redis, REDIS_ACL_LOGGER),
			      .connect_timeout_ms = 2000,
			      .command_timeout_ms = 10000,
			      .reconnect_min_ms = 100,
			      .reconnect_max_ms = 1000,
			      .require_noeviction = true};
}

#define FAST_RETENTION_MS 1500
#define FAST_EVERY_MS     250
#define FAST_RATE         400 /* events/s */
#define FAST_RUN_MS       6000

struct fast {
	uv_loop_t loop;
	uv_timer_t feed, sample;
	lg_writer_t *w;
	lg_archive_t *a;
	lg_metrics_t m;
	uint64_t t0;
	long pushed;
	long samples, max_len_early, max_len_late;
	int64_t max_age;
	bool done;
};

static void fast_push(struct fast *f, long n)
{
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG};
	char id[32], chan[16];

	ev.time_ms = clock_wall_ms();
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"hello", 5};
	for (long i = 0; i < n; i++, f->pushed++) {
		snprintf(chan, sizeof(chan), "#f%ld", f->pushed % 8);
		ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){chan, strlen(chan)};
		ev.s[ARCHIVE_S_MSGID] = (archive_str_t){
			id, (size_t)snprintf(id, sizeof(id), "fast-%ld", f->pushed)};
		assert_int_equal(lg_writer_push(f->w, &ev), 0);
	}
}

static void on_feed(uv_timer_t *t)
{
	struct fast *f = t->data;
	uint64_t el = uv_now(&f->loop) - f->t0;

	if (el < FAST_RUN_MS) {
		fast_push(f, (long)(el * FAST_RATE / 1000) - f->pushed);
		return;
	}
	if (f->m.events_written < (uint64_t)f->pushed)
		return;
	uv_timer_stop(t);
	f->done = true;
}

static void on_sample(uv_timer_t *t)
{
	struct fast *f = t->data;
	uint64_t el = uv_now(&f->loop) - f->t0;
	int64_t now = clock_wall_ms();
	struct count c = archive_count(LGF_PARTITIONS, now);

	if (f->done) {
		uv_close((uv_handle_t *)&f->feed, NULL);
		uv_close((uv_handle_t *)&f->sample, NULL);
		lg_archive_close(f->a); /* then its Redis, in the same turn */
		lg_writer_close(f->w, NULL);
		return;
	}
	/* past the retention plus a pass, the bound holds */
	if (el < FAST_RETENTION_MS + 2 * FAST_EVERY_MS)
		return;
	f->samples++;
	if (c.oldest_ms >= 0 && now - c.oldest_ms > f->max_age)
		f->max_age = now - c.oldest_ms;
	if (el < FAST_RUN_MS / 2)
		f->max_len_early = c.all > f->max_len_early ? c.all : f->max_len_early;
	else if (el < FAST_RUN_MS)
		f->max_len_late = c.all > f->max_len_late ? c.all : f->max_len_late;
}

static void test_bound_held_under_writes(void **state)
{
	static struct fast f;
	lg_writer_opts_t o = {
		.partitions = LGF_PARTITIONS, .retention_ms = 0, .memory_max = UINT64_C(64) << 20};
	lg_archive_opts_t ao = {.partitions = LGF_PARTITIONS,
				.acked = false,
				.retention_ms = FAST_RETENTION_MS,
				.every_ms = FAST_EVERY_MS};
	struct count end;

	(void)state;
	clear_archives();
	memset(&f, 0, sizeof(f));
	o.redis = logger_redis_opts();
	assert_int_equal(uv_loop_init(&f.loop), 0);
	assert_int_equal(lg_writer_new(&f.loop, &o, &f.m, NULL, NULL, &f.w), 0);
	assert_int_equal(lg_archive_new(&f.loop, lg_writer_redis(f.w), &ao, &f.m, &f.a), 0);
	lg_writer_start(f.w);
	lg_archive_start(f.a);
	uv_timer_init(&f.loop, &f.feed);
	uv_timer_init(&f.loop, &f.sample);
	f.feed.data = f.sample.data = &f;
	f.t0 = uv_now(&f.loop);
	uv_timer_start(&f.feed, on_feed, 10, 10);
	uv_timer_start(&f.sample, on_sample, 100, 100);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f.loop), 0);
	end = archive_count(LGF_PARTITIONS, clock_wall_ms());
	fprintf(stderr,
		"pushed %ld, written %" PRIu64 ", trimmed %" PRIu64 ", left %lld; %ld samples: "
		"oldest at most %" PRId64 " ms, length at most %ld (first half) / %ld (second)\n",
		f.pushed, f.m.events_written, f.m.archive_trimmed, end.all, f.samples, f.max_age,
		f.max_len_early, f.max_len_late);
	assert_int_equal(f.m.events_written, (uint64_t)f.pushed);
	assert_true(f.pushed >= FAST_RATE * FAST_RUN_MS / 1000 - FAST_RATE / 10);
	/* reached: entries were trimmed; held: nothing older than the retention
	 * plus one pass (and the time a pass takes) was ever seen */
	assert_true(f.m.archive_trimmed > 0);
	assert_true(f.samples >= 20);
	assert_true(f.max_age <= FAST_RETENTION_MS + FAST_EVERY_MS + 250);
	/* the length stops growing: about rate x (retention + a pass) */
	assert_true(f.max_len_late <= FAST_RATE * (FAST_RETENTION_MS + FAST_EVERY_MS + 250) / 1000);
	assert_true(f.max_len_late <= f.max_len_early * 13 / 10);
	/* nothing else went: trimmed + left = written */
	assert_int_equal((long long)f.m.archive_trimmed + end.all, f.pushed);
	/* and each trim left a tombstone saying how many went */
	assert_int_equal(tombstones("retention 1500ms", "eirc-logger").count,
			 (long long)f.m.archive_trimmed);
}

/* ---- a full Redis: OOM answers, nothing lost ---- */

#define FULL_N       5000
#define FULL_WAIT_MS 30000       /* past LG_WRITER_ATTEMPTS_MAX tries 6.4 s apart */
#define FULL_UNDER   (64 * 1024) /* maxmemory this far below what Redis uses */

struct full {
	uv_loop_t loop;
	uv_timer_t t;
	lg_writer_t *w;
	lg_metrics_t m;
	uint64_t t0;
	uint64_t written_full, lost_full, errors_full; /* at the end of the full phase */
	bool room;
};

static void on_full_timer(uv_timer_t *t)
{
	struct full *f = t->data;
	uint64_t el = uv_now(&f->loop) - f->t0;

	if (!f->room && el >= FULL_WAIT_MS) {
		f->written_full = f->m.events_written + f->m.events_duplicate;
		f->lost_full = f->m.events_lost;
		f->errors_full = f->m.redis_errors;
		cmd_ok("CONFIG SET maxmemory 0");
		f->room = true;
	}
	if (f->room && f->m.events_written + f->m.events_duplicate + f->m.events_lost < FULL_N &&
	    el < FULL_WAIT_MS + 30000)
		return;
	if (!f->room)
		return;
	uv_close((uv_handle_t *)t, NULL);
	lg_writer_close(f->w, NULL);
}

static long long used_memory(void)
{
	redisReply *r = redisCommand(rc, "INFO memory");
	const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "used_memory:") : NULL;
	long long v = p ? strtoll(p + strlen("used_memory:"), NULL, 10) : -1;

	if (r)
		freeReplyObject(r);
	return v;
}

static void test_full_redis_events_wait(void **state)
{
	static struct full f;
	lg_writer_opts_t o = {
		.partitions = LGF_PARTITIONS, .retention_ms = 0, .memory_max = UINT64_C(64) << 20};
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG};
	char id[32], chan[16];
	long long used;

	(void)state;
	clear_archives();
	memset(&f, 0, sizeof(f));
	o.redis = logger_redis_opts();
	/* already past maxmemory: every write is refused until it is lifted */
	assert_true((used = used_memory()) > 2 * FULL_UNDER);
	cmd_ok("CONFIG SET maxmemory %lld", used - FULL_UNDER);
	assert_int_equal(uv_loop_init(&f.loop), 0);
	assert_int_equal(lg_writer_new(&f.loop, &o, &f.m, NULL, NULL, &f.w), 0);
	lg_writer_start(f.w);
	ev.time_ms = clock_wall_ms();
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"a message of some length, to fill Redis", 40};
	for (long i = 0; i < FULL_N; i++) {
		snprintf(chan, sizeof(chan), "#full%ld", i % 8);
		ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){chan, strlen(chan)};
		ev.s[ARCHIVE_S_MSGID] =
			(archive_str_t){id, (size_t)snprintf(id, sizeof(id), "full-%ld", i)};
		assert_int_equal(lg_writer_push(f.w, &ev), 0);
	}
	uv_timer_init(&f.loop, &f.t);
	f.t.data = &f;
	f.t0 = uv_now(&f.loop);
	uv_timer_start(&f.t, on_full_timer, 50, 50);
	uv_run(&f.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f.loop), 0);
	cmd_ok("CONFIG SET maxmemory 0");
	fprintf(stderr,
		"full for %d ms: %" PRIu64 " of %d stored, %" PRIu64 " lost, %" PRIu64
		" Redis errors; then %" PRIu64 " written, %" PRIu64 " duplicate, %" PRIu64
		" lost\n",
		FULL_WAIT_MS, f.written_full, FULL_N, f.lost_full, f.errors_full,
		f.m.events_written, f.m.events_duplicate, f.m.events_lost);
	/* Redis was full: nothing got in, OOM was answered */
	assert_int_equal(f.written_full, 0);
	assert_true(f.errors_full > 0);
	/* nothing lost while full nor after, each event stored once */
	assert_int_equal(f.lost_full, 0);
	assert_int_equal(f.m.events_lost, 0);
	assert_int_equal(f.m.events_written + f.m.events_duplicate, FULL_N);
	assert_int_equal(archive_count(LGF_PARTITIONS, clock_wall_ms() + 1000).all, FULL_N);
}

/* ---- a Redis that can evict ---- */

static pid_t spawn(const char *prog, const char *cfg, const char *log)
{
	char bin[512];
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/%s", getenv("EIRC_BUILD_DIR"), prog);
	if ((pid = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "-c", cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits up to timeout_ms for both children; each exit status, or -1 for one
 * still running then (stopped with SIGTERM). */
static void exit_within(pid_t a, pid_t b, int timeout_ms, int *out_a, int *out_b)
{
	pid_t pid[2] = {a, b};
	int *out[2] = {out_a, out_b}, st;

	*out_a = *out_b = -1;
	for (int t = 0; t <= timeout_ms && (pid[0] || pid[1]); t += 50) {
		for (int i = 0; i < 2; i++)
			if (pid[i] && waitpid(pid[i], &st, WNOHANG) == pid[i]) {
				*out[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				pid[i] = 0;
			}
		lgf_sleep_ms(50);
	}
	for (int i = 0; i < 2; i++)
		if (pid[i]) {
			kill(pid[i], SIGTERM);
			waitpid(pid[i], &st, 0);
		}
}

static void write_history_config(const char *path)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fprintf(f,
		"irc:\n  network: eIRC\n  servers:\n    - host: 127.0.0.1\n      port: %d\n"
		"  webirc_password: unused\n"
		"auth:\n  internal_secret: \"0123456789abcdef0123456789\"\n"
		"redis:\n  host: 127.0.0.1\n  port: %d\n  partitions: %d\n"
		"  connect_timeout: 1s\n  command_timeout: 4s\n"
		"history:\n  socket_path: %.200s/evict-hist.sock\n" SESSION_TEST_KEY_YAML
		"  listen_port: 0\n  redis_username: %s\n  redis_password: %s\n"
		"log:\n  level: info\n",
		srv_port(ircd), srv_port(redis), LGF_PARTITIONS, dir,
		srv_redis_user_name(redis, REDIS_ACL_HISTORY),
		srv_redis_user_password(redis, REDIS_ACL_HISTORY));
	fclose(f);
}

static bool log_says(const char *path, const char *needle)
{
	char *text = lgf_slurp(path);
	bool yes = text && strstr(text, needle);

	if (!yes)
		fprintf(stderr, "%s does not say \"%s\":\n%s\n", path, needle, text ? text : "");
	free(text);
	return yes;
}

/* Both daemons that write Redis, started under one policy: their exit
 * statuses within 10 s (-1: still running after 10 s, then stopped); the
 * log of one that exited 1 names the policy. */
static void run_both(const char *policy, int *out_logger, int *out_history)
{
	struct lgf_logger_cfg c = {dir,  "elg", srv_port(ircd), srv_port(redis), 0, "[]", NULL,
				   NULL, 0};
	char hcfg[600], hlog[600], said[96];
	struct lgf_proc lg;
	pid_t hist;

	cmd_ok("CONFIG SET maxmemory-policy %s", policy);
	snprintf(hcfg, sizeof(hcfg), "%s/evict-history.yaml", dir);
	snprintf(hlog, sizeof(hlog), "%s/evict-history-%s.log", dir, policy);
	write_history_config(hcfg);
	assert_int_equal(lgf_logger_start(&c, &lg), 0);
	assert_true((hist = spawn("history-bridge/eirc-history", hcfg, hlog)) > 0);
	exit_within(lg.pid, hist, 10000, out_logger, out_history);
	lg.pid = 0;
	fprintf(stderr, "maxmemory-policy %s: eirc-logger exit %d, eirc-history exit %d\n", policy,
		*out_logger, *out_history);
	snprintf(said, sizeof(said), "maxmemory-policy %s can evict keys", policy);
	if (*out_logger == 1)
		assert_true(log_says(lg.log, said));
	if (*out_history == 1)
		assert_true(log_says(hlog, said));
}

static void test_evicting_redis_refused(void **state)
{
	static const char *const evicting[] = {"allkeys-lru", "volatile-lru"};
	int lg, hist;

	(void)state;
	for (size_t i = 0; i < sizeof(evicting) / sizeof(evicting[0]); i++) {
		run_both(evicting[i], &lg, &hist);
		cmd_ok("CONFIG SET maxmemory-policy noeviction");
		if (lg != 1 || hist != 1)
			fail_msg("maxmemory-policy %s: eirc-logger exit %d, eirc-history exit %d "
				 "(1 expected from both, -1: still running after 10 s)",
				 evicting[i], lg, hist);
	}
	/* the same configs run with noeviction: still running after 10 s */
	run_both("noeviction", &lg, &hist);
	assert_int_equal(lg, -1);
	assert_int_equal(hist, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evicting_redis_refused),
		cmocka_unit_test(test_archive_bounded_without_elasticsearch),
		cmocka_unit_test(test_bound_held_under_writes),
		cmocka_unit_test(test_full_redis_events_wait),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
