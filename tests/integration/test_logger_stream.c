/*
 * eirc-logger's Redis streams against a real Redis (and the Elasticsearch
 * test server), driving the writer and the shipper in this process:
 *   - history streams are trimmed by time (MINID ~ <now - retention>) by
 *     the batched append script, and only then, and expire a retention
 *     after their last append (a quiet conversation does not stay);
 *   - a batch Redis fails part-way: every other event stored once and in
 *     order, the failing one retried alone and counted lost;
 *   - the archive trimming script trims only below what every consumer
 *     group has acknowledged (smallest pending id, else just past the
 *     last delivered id), and never a stream without a group;
 *   - a shipper consumer that died with pending entries: another consumer
 *     of the group claims them (XAUTOCLAIM) once they are idle and ships
 *     each exactly once.
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
#include <time.h>
#include <uv.h>

#include <jansson.h>

#include "archive/archive_append.h"
#include "archive/archive_keys.h"
#include "logger-bot/lg_archive.h"
#include "logger-bot/lg_shipper.h"
#include "logger-bot/lg_writer.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

#define PARTS   4
#define CLAIM_N 300 /* entries the dead consumer leaves pending */

static srv_env_t *env;
static srv_t *redis;
static char dir[512];
static struct lgf_proc es;
static redisContext *rc;
static int redis_port;
/* The writer and the shipper log in as eirc-logger's ACL user (XACK,
 * XAUTOCLAIM, the trimming script: all it may do). */
#define LOGGER_USER     srv_redis_user_name(redis, REDIS_ACL_LOGGER)
#define LOGGER_PASSWORD srv_redis_user_password(redis, REDIS_ACL_LOGGER)

static int setup(void **state)
{
	(void)state;
	if (lgf_env_start(&env, &redis, NULL, dir, sizeof(dir)) < 0)
		return -1;
	redis_port = srv_port(redis);
	if (lgf_es_start(dir, &es) < 0 || !(rc = lgf_redis(redis_port)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lgf_proc_stop(&es, SIGTERM);
	redisFree(rc);
	srv_env_free(env);
	return 0;
}

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v = -1;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	if (r)
		freeReplyObject(r);
	return v;
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

/* ---- the writer, fed directly ---- */

struct feed {
	lg_writer_t *w;
	lg_metrics_t m;
	const char *chan;
	const char *prefix;
	long n;
	uv_timer_t t;
};

static void on_feed_timer(uv_timer_t *t)
{
	struct feed *f = t->data;

	if (f->m.events_written + f->m.events_duplicate < (uint64_t)f->n)
		return;
	uv_close((uv_handle_t *)t, NULL);
	lg_writer_close(f->w, NULL);
}

/* Writes n PRIVMSG events to chan through lg_writer with the given
 * retention, and runs the loop until Redis has answered for all. */
static void write_events(const char *chan, const char *prefix, long n, uint64_t retention_ms)
{
	static struct feed f;
	uv_loop_t loop;
	lg_writer_opts_t o = {{"127.0.0.1", redis_port, LOGGER_USER, LOGGER_PASSWORD, 2000, 10000,
			       100, 1000, false, false},
			      PARTS,
			      retention_ms,
			      UINT64_C(64) << 20,
			      NULL,
			      0,
			      NULL};
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG};
	char id[64];
	struct timespec ts;

	memset(&f, 0, sizeof(f));
	f.n = n;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(lg_writer_new(&loop, &o, &f.m, NULL, NULL, &f.w), 0);
	lg_writer_start(f.w);
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){chan, strlen(chan)};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"hello", 5};
	for (long i = 0; i < n; i++) {
		ev.s[ARCHIVE_S_MSGID] =
			(archive_str_t){id, (size_t)snprintf(id, sizeof(id), "%s-%ld", prefix, i)};
		assert_int_equal(lg_writer_push(f.w, &ev), 0);
	}
	uv_timer_init(&loop, &f.t);
	f.t.data = &f;
	uv_timer_start(&f.t, on_feed_timer, 5, 5);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(f.m.events_written, (uint64_t)n);
	assert_int_equal(f.m.events_lost, 0);
}

static void history_key(const char *chan, char *buf, size_t cap)
{
	int k = archive_keys_partition("eIRC", chan, strlen(chan), IRC_CASEMAP_NONE, PARTS);

	assert_true(archive_keys_history(k, "eIRC", chan, strlen(chan), IRC_CASEMAP_NONE, buf,
					 cap) > 0);
}

/* The text of the last entry of a stream (XREVRANGE + - COUNT 1), field f. */
static bool last_field_is(const char *key, const char *f, const char *want)
{
	redisReply *r = redisCommand(rc, "XREVRANGE %s + - COUNT 1", key);
	bool ok = false;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
		redisReply *kv = r->element[0]->element[1];
		for (size_t i = 0; i + 1 < kv->elements; i += 2)
			if (!strcmp(kv->element[i]->str, f))
				ok = !strcmp(kv->element[i + 1]->str, want);
	}
	if (r)
		freeReplyObject(r);
	return ok;
}

/* 300 events within the retention stay; once they are older than the
 * retention, the next append trims them by MINID ~: whole stream nodes
 * (stream-node-max-entries, set to 100 here) below the bound go, so at
 * most one node of old entries may remain. The newest event is kept. */
static void test_history_trimmed_by_retention(void **state)
{
	char key[ARCHIVE_KEYS_KEY_MAX];

	(void)state;
	cmd_ok("CONFIG SET stream-node-max-entries 100");
	history_key("#trim", key, sizeof(key));
	write_events("#trim", "old", 300, 1500);
	assert_int_equal(cmd_int("XLEN %s", key), 300);
	/* the stream expires a retention after its last append */
	long long ttl = cmd_int("PTTL %s", key);
	assert_true(ttl > 0 && ttl <= 1500);
	/* within the retention: another append trims nothing (and pushes the
	 * expiry back) */
	lgf_sleep_ms(900);
	write_events("#trim", "mid", 1, 1500);
	assert_int_equal(cmd_int("XLEN %s", key), 301);
	lgf_sleep_ms(800);
	write_events("#trim", "new", 1, 1500);
	long long left = cmd_int("XLEN %s", key);
	fprintf(stderr, "history after the retention: %lld of 302 entries left\n", left);
	assert_true(left >= 1 && left <= 101);
	assert_true(last_field_is(key, "msgid", "new-0"));
	/* a conversation that goes quiet is gone a retention after its last
	 * event (trimming happens only at an append: it would keep its last
	 * retention's worth forever) */
	history_key("#quiet", key, sizeof(key));
	write_events("#quiet", "q", 5, 1000);
	assert_int_equal(cmd_int("XLEN %s", key), 5);
	lgf_sleep_ms(1300);
	assert_int_equal(cmd_int("EXISTS %s", key), 0);
	/* without retention (0) nothing is trimmed however old */
	history_key("#keep", key, sizeof(key));
	write_events("#keep", "k1", 150, 0);
	lgf_sleep_ms(300);
	write_events("#keep", "k2", 1, 0);
	assert_int_equal(cmd_int("XLEN %s", key), 151);
	assert_int_equal(cmd_int("PTTL %s", key), -1);
}

/* A channel other than chan in chan's partition, into buf. */
static void same_partition(const char *chan, char *buf, size_t cap)
{
	int k = archive_keys_partition("eIRC", chan, strlen(chan), IRC_CASEMAP_NONE, PARTS);

	for (int i = 0; i < 1000; i++) {
		int n = snprintf(buf, cap, "#fine%d", i);
		if (archive_keys_partition("eIRC", buf, (size_t)n, IRC_CASEMAP_NONE, PARTS) == k)
			return;
	}
	fail_msg("no channel in the partition of %s", chan);
}

struct poison_feed {
	lg_writer_t *w;
	lg_metrics_t m;
	uint64_t total;
	uv_timer_t t;
};

static void on_poison_timer(uv_timer_t *t)
{
	struct poison_feed *f = t->data;

	if (f->m.events_written + f->m.events_duplicate + f->m.events_lost < f->total)
		return;
	uv_close((uv_handle_t *)t, NULL);
	lg_writer_close(f->w, NULL);
}

/* One batch holds events of two channels of one partition; one channel's
 * history key is not a stream, so Redis fails the whole call part-way
 * (what came before in the batch is already stored: scripts do not roll
 * back). The writer sends each event of a failed call again alone: the
 * ones already stored come back as duplicates (so they are counted in
 * events_duplicate, not events_written), the poisoned one is refused
 * LG_WRITER_ATTEMPTS_MAX times and counted lost, and every other event is
 * stored once, in order. A msgid twice in one batch is stored once. */
static void test_poisoned_event_isolated(void **state)
{
	static struct poison_feed f;
	char fine[32], key[ARCHIVE_KEYS_KEY_MAX], id[32];
	lg_writer_opts_t o = {{"127.0.0.1", redis_port, LOGGER_USER, LOGGER_PASSWORD, 2000, 10000,
			       100, 1000, false, false},
			      PARTS,
			      0,
			      UINT64_C(64) << 20,
			      NULL,
			      0,
			      NULL};
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG, .time_ms = 1700000000000};
	uv_loop_t loop;

	(void)state;
	same_partition("#poison", fine, sizeof(fine));
	history_key("#poison", key, sizeof(key));
	cmd_ok("SET %s not-a-stream", key);
	memset(&f, 0, sizeof(f));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(lg_writer_new(&loop, &o, &f.m, NULL, NULL, &f.w), 0);
	lg_writer_start(f.w);
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"hello", 5};
	for (int i = 0; i < 21; i++) {
		const char *chan = i == 10 ? "#poison" : fine;
		int n = i == 10 ? snprintf(id, sizeof(id), "poison")
				: snprintf(id, sizeof(id), "fine-%d", i < 10 ? i : i - 1);
		ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){chan, strlen(chan)};
		ev.s[ARCHIVE_S_MSGID] = (archive_str_t){id, (size_t)n};
		assert_int_equal(lg_writer_push(f.w, &ev), 0);
	}
	/* fine-3 again in the same batch */
	ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){fine, strlen(fine)};
	ev.s[ARCHIVE_S_MSGID] = (archive_str_t){"fine-3", 6};
	assert_int_equal(lg_writer_push(f.w, &ev), 0);
	f.total = 22;
	uv_timer_init(&loop, &f.t);
	f.t.data = &f;
	uv_timer_start(&f.t, on_poison_timer, 20, 20);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	fprintf(stderr,
		"written %" PRIu64 ", duplicate %" PRIu64 ", lost %" PRIu64
		", Redis errors %" PRIu64 "\n",
		f.m.events_written, f.m.events_duplicate, f.m.events_lost, f.m.redis_errors);
	/* 20 distinct events and fine-3 once more answered, the poison lost */
	assert_int_equal(f.m.events_written + f.m.events_duplicate, 21);
	assert_true(f.m.events_duplicate >= 1);
	assert_int_equal(f.m.events_lost, 1);
	assert_int_equal(f.m.redis_errors, LG_WRITER_ATTEMPTS_MAX);
	/* the other channel: each once, in order */
	struct lgf_entry *e = calloc(100, sizeof(*e));
	size_t n = lgf_history(rc, fine, e, 100);
	assert_int_equal(n, 20);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "fine-%zu", i);
		assert_string_equal(e[i].msgid, id);
	}
	free(e);
	cmd_ok("DEL %s", key);
}

/* ---- archive trimming ---- */

/* One pass of lg_archive's trim script in its "acked" form, on partition
 * k without a tamper-evident log (the policy bound alone; lg_archive.h):
 * what it trimmed. */
static long long trim(int k, const char *archive)
{
	char tlog[64], cps[64], tomb[64];
	redisReply *r;
	long long n = -1;

	assert_true(archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog)) > 0);
	assert_true(archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_CPS, cps, sizeof(cps)) > 0);
	assert_true(archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb)) > 0);
	r = redisCommand(rc, "EVAL %s 4 %s %s %s %s acked - 0 - - 0 shipped test 0",
			 lg_archive_trim_script, archive, tlog, cps, tomb);
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER)
		n = r->element[0]->integer;
	if (r)
		freeReplyObject(r);
	return n;
}

/* The id of the i-th entry (0-based) of a stream, into buf. */
static void nth_id(const char *key, long i, char *buf, size_t cap)
{
	redisReply *r = redisCommand(rc, "XRANGE %s - + COUNT %ld", key, i + 1);

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal((long)r->elements, i + 1);
	snprintf(buf, cap, "%s", r->element[i]->element[0]->str);
	freeReplyObject(r);
}

/* The id of the first entry left, or "" when empty. */
static void first_id(const char *key, char *buf, size_t cap)
{
	redisReply *r = redisCommand(rc, "XRANGE %s - + COUNT 1", key);

	buf[0] = '\0';
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
		snprintf(buf, cap, "%s", r->element[0]->element[0]->str);
	if (r)
		freeReplyObject(r);
}

/* Reads n entries as consumer c of group g (">"); acks the first ack. */
static void consume(const char *key, const char *g, const char *c, long n, long ack)
{
	redisReply *r =
		redisCommand(rc, "XREADGROUP GROUP %s %s COUNT %ld STREAMS %s >", g, c, n, key);
	redisReply *entries;

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	entries = r->element[0]->element[1];
	assert_int_equal((long)entries->elements, n);
	for (long i = 0; i < ack; i++)
		assert_int_equal(
			cmd_int("XACK %s %s %s", key, g, entries->element[i]->element[0]->str), 1);
	freeReplyObject(r);
}

static void test_archive_trimmed_below_every_group(void **state)
{
	const char *chan = "#arch";
	int k = archive_keys_partition("eIRC", chan, strlen(chan), IRC_CASEMAP_NONE, PARTS);
	char archive[64], want[64], got[64];

	(void)state;
	assert_true(archive_keys_archive(k, archive, sizeof(archive)) > 0);
	write_events(chan, "arch", 100, 0);
	long long n0 = cmd_int("XLEN %s", archive);
	assert_true(n0 >= 100);
	/* no group: never trimmed */
	assert_int_equal(trim(k, archive), 0);
	assert_int_equal(cmd_int("XLEN %s", archive), n0);
	/* group A read 30, acked 10; group B read 50, acked all 50 */
	cmd_ok("XGROUP CREATE %s A 0", archive);
	cmd_ok("XGROUP CREATE %s B 0", archive);
	consume(archive, "A", "a1", 30, 10);
	consume(archive, "B", "b1", 50, 50);
	/* bound: A's smallest pending (entry 10); B's would be entry 50 */
	nth_id(archive, 10, want, sizeof(want));
	assert_int_equal(trim(k, archive), 10);
	first_id(archive, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(cmd_int("XLEN %s", archive), n0 - 10);
	/* A acks everything it read: bound is just past A's last delivered
	 * (entry 29 of the original), B is further on */
	redisReply *p = redisCommand(rc, "XPENDING %s A - + 100", archive);
	assert_int_equal((long)p->elements, 20);
	for (size_t i = 0; i < p->elements; i++)
		assert_int_equal(cmd_int("XACK %s A %s", archive, p->element[i]->element[0]->str),
				 1);
	freeReplyObject(p);
	nth_id(archive, 20, want, sizeof(want)); /* original entry 30 */
	assert_int_equal(trim(k, archive), 20);
	first_id(archive, got, sizeof(got));
	assert_string_equal(got, want);
	/* A reads and acks the rest: now B (acked up to original 49) bounds */
	consume(archive, "A", "a1", n0 - 30, n0 - 30);
	nth_id(archive, 20, want, sizeof(want)); /* original entry 50 */
	assert_int_equal(trim(k, archive), 20);
	first_id(archive, got, sizeof(got));
	assert_string_equal(got, want);
	/* a new, unread group C created at 0 holds everything that is left */
	cmd_ok("XGROUP CREATE %s C 0", archive);
	consume(archive, "B", "b1", n0 - 50, n0 - 50);
	assert_int_equal(trim(k, archive), 0);
	assert_int_equal(cmd_int("XLEN %s", archive), n0 - 50);
	/* C reads and acks all: every group is past the end, all trimmed */
	consume(archive, "C", "c1", n0 - 50, n0 - 50);
	assert_int_equal(trim(k, archive), n0 - 50);
	assert_int_equal(cmd_int("XLEN %s", archive), 0);
}

/* ---- the dead-peer path ---- */

struct ship {
	struct lg_shipper *s;
	lg_metrics_t m;
	uint64_t want;
	uint64_t deadline;
	uv_timer_t t;
};

static void on_ship_timer(uv_timer_t *t)
{
	struct ship *s = t->data;

	if (s->m.ship_indexed + s->m.ship_conflicts < s->want && uv_now(t->loop) < s->deadline)
		return;
	/* let a last poll round pass so an extra shipment would show */
	if (s->want) {
		s->want = 0;
		s->deadline = uv_now(t->loop) + 1500;
		return;
	}
	if (uv_now(t->loop) < s->deadline)
		return;
	uv_close((uv_handle_t *)t, NULL);
	lg_shipper_close(s->s, NULL);
}

static json_t *es_stats(void)
{
	char *body = lgf_http_get(es.port, "/_eirc_test/stats");
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;

	free(body);
	return j;
}

static void test_dead_consumer_entries_claimed_once(void **state)
{
	static struct ship sh;
	const char *chan = "#claim";
	int k = archive_keys_partition("eIRC", chan, strlen(chan), IRC_CASEMAP_NONE, PARTS);
	char archive[64], url[64];
	char *urls[] = {url};
	struct lg_shipper_opts o = {{"127.0.0.1", redis_port, LOGGER_USER, LOGGER_PASSWORD, 2000,
				     10000, 100, 1000, false, false},
				    {urls, 1, NULL, NULL, NULL, true, NULL, 5000},
				    PARTS,
				    "claimers",
				    "alive",
				    "eirc",
				    100,
				    1u << 20,
				    50,
				    100,
				    1000,
				    800,
				    200};
	uv_loop_t loop;
	json_t *st;

	(void)state;
	assert_true(archive_keys_archive(k, archive, sizeof(archive)) > 0);
	/* this test's own archive: the entries of earlier tests go first */
	for (int p = 0; p < PARTS; p++) {
		char a[64];
		archive_keys_archive(p, a, sizeof(a));
		cmd_ok("DEL %s", a);
	}
	write_events(chan, "claim", CLAIM_N, 0);
	assert_int_equal(cmd_int("XLEN %s", archive), CLAIM_N);
	/* consumer "dead" of the group reads every entry and dies (no ack) */
	cmd_ok("XGROUP CREATE %s claimers 0 MKSTREAM", archive);
	consume(archive, "claimers", "dead", CLAIM_N, 0);
	lgf_es_control(es.port, "reset", "{}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", es.port);
	memset(&sh, 0, sizeof(sh));
	sh.want = CLAIM_N;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(lg_shipper_new(&loop, &o, &sh.m, NULL, NULL, &sh.s), 0);
	uv_timer_init(&loop, &sh.t);
	sh.t.data = &sh;
	sh.deadline = uv_now(&loop) + 30000;
	lg_shipper_start(sh.s);
	uv_timer_start(&sh.t, on_ship_timer, 20, 20);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	/* every entry indexed once, none twice, nothing left pending */
	assert_int_equal(sh.m.ship_indexed, CLAIM_N);
	assert_int_equal(sh.m.ship_conflicts, 0);
	st = es_stats();
	assert_non_null(st);
	assert_int_equal(json_integer_value(json_object_get(st, "docs")), CLAIM_N);
	assert_int_equal(json_integer_value(json_object_get(st, "created")), CLAIM_N);
	assert_int_equal(json_integer_value(json_object_get(st, "conflicts")), 0);
	json_decref(st);
	redisReply *p = redisCommand(rc, "XPENDING %s claimers", archive);
	assert_non_null(p);
	assert_int_equal(p->element[0]->integer, 0);
	freeReplyObject(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_trimmed_by_retention),
		cmocka_unit_test(test_poisoned_event_isolated),
		cmocka_unit_test(test_archive_trimmed_below_every_group),
		cmocka_unit_test(test_dead_consumer_entries_claimed_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
