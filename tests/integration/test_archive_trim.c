/*
 * The archive's trimming kept verifiable (issue 17; lg_archive.h), in
 * process against a real Redis. A partition's log is written here as the
 * sealer writes it (archive/tlog.h, the contract of archive_keys.h): leaf
 * hashes in chunks, the tlog hash, a signed checkpoint every 1,000 leaves
 * into eirc:{cp}:checkpoints and the cps zset; of SEALED_N sealed entries
 * the last 500 past the last checkpoint, and ENTRIES_N - SEALED_N entries
 * not sealed at all. lg_archive runs as eirc-logger's Redis user.
 *   - retention: the trim stops at the greatest boundary older than the
 *     retention; its tombstone says [from, to), first/last ids, count,
 *     policy, actor, time, and its frontier's root is the signed
 *     checkpoint's root at `to`; the leaf chunks wholly below `to` go, the
 *     rest stay (leaves_from), tlog `trimmed` and cps move; a second trim
 *     with everything past the retention stops at the last checkpoint,
 *     its frontier built on the first tombstone's: nothing unsealed or
 *     past the last boundary goes, and a third pass changes nothing;
 *   - shipped (acked): the bound is what the consumer group acknowledged,
 *     the leaf hashes all stay, no frontier;
 *   - two trimmers racing (the HA pair): one tombstone, one trim;
 *   - the last frontier found behind more shipped tombstones than a plan
 *     looks through at once;
 *   - a partition without a log (no signing key) is trimmed by the policy
 *     alone, with a tombstone of no leaf;
 *   - eirc-logger, an HA pair with a signing key and archive_retention 10s,
 *     after messages from IRC: everything sealed is trimmed, each leaf once
 *     (the tombstones' leaves and the pair's trimmed_total add up), the
 *     entries older than the log with the first boundary past them;
 *   - with the real writer (MACs) and sealer (lg_seal) under ~500 events/s
 *     and a 1.5 s retention: every partition's tombstones follow each
 *     other up to tlog `trimmed`, each frontier gives the signed root at
 *     its `to`, only checkpointed leaves went, and trimmed + left =
 *     written.
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
#include <uv.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "common/clock.h"
#include "common/redis.h"
#include "common/redis_acl.h"
#include "logger-bot/lg_archive.h"
#include "logger-bot/lg_seal.h"
#include "logger-bot/lg_writer.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

#define PART      1     /* the partition written */
#define ENTRIES_N 10000 /* entries in its archive stream */
#define SEALED_N  9500  /* leaves */
#define CP_EVERY  1000  /* a checkpoint every this many leaves */
#define BLOCK_MS  60000 /* entries i and i + 1000 are a minute apart */
#define ORIGIN    "eirc/archive"
#define MINUTE_MS INT64_C(60000)

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512];
static redisContext *rc;
static tlog_signer_t signer;
static int64_t t0;       /* entry 0's time */
static char keys[4][64]; /* archive, tlog, cps, tomb of PART */

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0)
		return -1;
	if (tlog_signer_generate("eirc-test", &signer) < 0)
		return -1;
	archive_keys_archive(PART, keys[0], sizeof(keys[0]));
	archive_keys_tlog(PART, ARCHIVE_KEYS_TLOG_STATE, keys[1], sizeof(keys[1]));
	archive_keys_tlog(PART, ARCHIVE_KEYS_TLOG_CPS, keys[2], sizeof(keys[2]));
	archive_keys_tlog(PART, ARCHIVE_KEYS_TLOG_TOMB, keys[3], sizeof(keys[3]));
	return (rc = lgf_redis(srv_port(redis))) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	redisFree(rc);
	srv_env_free(env);
	return 0;
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r || r->type == REDIS_REPLY_ERROR)
		fail_msg("Redis: %s", r ? r->str : "no reply");
	return r;
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

static long long cmd_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (!r || (r->type != REDIS_REPLY_INTEGER && r->type != REDIS_REPLY_STRING &&
		   r->type != REDIS_REPLY_NIL))
		fail_msg("Redis: %s", r ? r->str : "no reply");
	v = r->type == REDIS_REPLY_INTEGER  ? r->integer
	    : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
					    : -1;
	freeReplyObject(r);
	return v;
}

/* Entry i's archive id. */
static void entry_id(int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%" PRId64 "-0", t0 + (int64_t)(i / CP_EVERY) * BLOCK_MS + i % CP_EVERY);
}

/* Deletes every key of the partition and the checkpoints. */
static void clear(void)
{
	redisReply *r = cmd("KEYS eirc:{p%d}:*", PART);

	for (size_t i = 0; i < r->elements; i++)
		cmd_ok("DEL %s", r->element[i]->str);
	freeReplyObject(r);
	cmd_ok("DEL %s", ARCHIVE_KEYS_CHECKPOINTS);
}

/* Deletes every key of every partition and the checkpoints. */
static void clear_all(void)
{
	redisReply *r = cmd("KEYS eirc:*");

	for (size_t i = 0; i < r->elements; i++)
		cmd_ok("DEL %s", r->element[i]->str);
	freeReplyObject(r);
}

/* The archive stream only (a partition without a log). */
static void seed_entries(void)
{
	char id[32], msgid[32], text[32];

	t0 = clock_wall_ms() - 2 * 3600 * 1000;
	for (int i = 0; i < ENTRIES_N; i++) {
		entry_id(i, id, sizeof(id));
		snprintf(msgid, sizeof(msgid), "m-%d", i);
		snprintf(text, sizeof(text), "message %d", i);
		redisAppendCommand(rc,
				   "XADD %s %s network eIRC msgid %s type privmsg conv #t "
				   "text %s",
				   keys[0], id, msgid, text);
	}
	for (int i = 0; i < ENTRIES_N; i++) {
		redisReply *r;
		assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		freeReplyObject(r);
	}
}

static void leaf_of(int i, uint8_t out[TLOG_HASH_LEN])
{
	char id[32], msgid[32], text[32];
	tlog_field_t f[5];

	entry_id(i, id, sizeof(id));
	snprintf(msgid, sizeof(msgid), "m-%d", i);
	snprintf(text, sizeof(text), "message %d", i);
	f[0] = (tlog_field_t){{"network", 7}, {"eIRC", 4}};
	f[1] = (tlog_field_t){{"msgid", 5}, {msgid, strlen(msgid)}};
	f[2] = (tlog_field_t){{"type", 4}, {"privmsg", 7}};
	f[3] = (tlog_field_t){{"conv", 4}, {"#t", 2}};
	f[4] = (tlog_field_t){{"text", 4}, {text, strlen(text)}};
	assert_int_equal(tlog_leaf_hash((archive_str_t){id, strlen(id)}, f, 5, out), 0);
}

/* A signed checkpoint of tree t, filed as the sealer files it. */
static void checkpoint(const tlog_tree_t *t, int last_i)
{
	tlog_checkpoint_t cp = {.size = t->size};
	char note[TLOG_CHECKPOINT_MAX], id[32], member[64];
	int n;

	assert_true(tlog_origin_partition(ORIGIN, PART, cp.origin, sizeof(cp.origin)) > 0);
	tlog_tree_root(t, cp.root);
	assert_true((n = tlog_checkpoint_sign(&cp, &signer, note, sizeof(note))) > 0);
	entry_id(last_i, id, sizeof(id));
	cmd_ok("XADD %s * origin %s size %" PRIu64 " root - note %b", ARCHIVE_KEYS_CHECKPOINTS,
	       cp.origin, t->size, note, (size_t)n);
	snprintf(member, sizeof(member), "%" PRIu64 " %s", t->size, id);
	cmd_ok("ZADD %s %" PRIu64 " %s", keys[2], t->size, member);
	cmd_ok("HSET %s cp_size %" PRIu64 " cp_time %" PRId64 " checkpoint %b", keys[1], t->size,
	       clock_wall_ms(), note, (size_t)n);
}

/* The entries, and the partition's log as lg_seal leaves it. */
static void seed_log(void)
{
	static uint8_t chunk[ARCHIVE_KEYS_LEAVES_CHUNK * TLOG_HASH_LEN];
	uint8_t enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	char key[64], last[32];
	tlog_tree_t t;
	int n;

	seed_entries();
	tlog_tree_init(&t);
	for (int i = 0; i < SEALED_N; i++) {
		uint8_t *leaf = chunk + (i % ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN;
		leaf_of(i, leaf);
		tlog_tree_append(&t, leaf);
		if ((i + 1) % CP_EVERY == 0)
			checkpoint(&t, i);
		if ((i + 1) % ARCHIVE_KEYS_LEAVES_CHUNK == 0 || i + 1 == SEALED_N) {
			archive_keys_leaves(PART, (uint64_t)i / ARCHIVE_KEYS_LEAVES_CHUNK, key,
					    sizeof(key));
			cmd_ok("SETRANGE %s 0 %b", key, chunk,
			       (size_t)(i % ARCHIVE_KEYS_LEAVES_CHUNK + 1) * TLOG_HASH_LEN);
		}
	}
	assert_true((n = tlog_tree_encode(&t, enc, sizeof(enc))) >= 0);
	entry_id(SEALED_N - 1, last, sizeof(last));
	cmd_ok("HSET %s size %d last %s start 0-0 frontier %b leaves_from 0 trimmed 0 rejected 0",
	       keys[1], SEALED_N, last, enc, (size_t)n);
}

/* ---- running lg_archive ---- */

#define TRIMMERS_MAX 2

struct run {
	uv_loop_t loop;
	uv_timer_t t;
	int n, up;
	redis_t *r[TRIMMERS_MAX];
	lg_archive_t *a[TRIMMERS_MAX];
	lg_metrics_t m[TRIMMERS_MAX];
	uint64_t t_start;
};

static void on_up(void *ud)
{
	struct run *run = ud;

	if (++run->up == run->n) /* all in one loop turn: they race */
		for (int i = 0; i < run->n; i++)
			lg_archive_trim_now(run->a[i]);
}

static void on_down(void *ud, const eirc_err_t *why)
{
	(void)ud;
	fprintf(stderr, "Redis down: %s\n", why->text);
}

static void on_check(uv_timer_t *t)
{
	struct run *run = t->data;
	int done = 0;

	for (int i = 0; i < run->n; i++)
		done += lg_archive_passes(run->a[i]) >= 1;
	if (done < run->n && uv_now(&run->loop) - run->t_start < 20000)
		return;
	uv_close((uv_handle_t *)t, NULL);
	for (int i = 0; i < run->n; i++) {
		lg_archive_close(run->a[i]); /* then its Redis, in the same turn */
		redis_close(run->r[i], NULL);
	}
}

/* One pass of n trimmers, each on its own connection as eirc-logger;
 * their metrics into out_m (n entries). */
static void run_trimmers(int n, bool acked, uint64_t retention_ms, lg_metrics_t *out_m)
{
	static struct run run;
	static const redis_cb_t cb = {on_up, on_down, NULL};
	lg_archive_opts_t o = {.partitions = LGF_PARTITIONS,
			       .acked = acked,
			       .retention_ms = retention_ms,
			       .every_ms = 3600000,
			       .nick = "trimmer"};
	redis_opts_t ro = {.host = "127.0.0.1",
			   .port = srv_port(redis),
			   .username = srv_redis_user_name(redis, REDIS_ACL_LOGGER),
			   .password = srv_redis_user_password(redis, REDIS_ACL_LOGGER),
			   .connect_timeout_ms = 2000,
			   .command_timeout_ms = 10000,
			   .reconnect_min_ms = 100,
			   .reconnect_max_ms = 1000};

	memset(&run, 0, sizeof(run));
	run.n = n;
	assert_int_equal(uv_loop_init(&run.loop), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(redis_new(&run.loop, &ro, &cb, &run, &run.r[i]), 0);
		assert_int_equal(lg_archive_new(&run.loop, run.r[i], &o, &run.m[i], &run.a[i]), 0);
		redis_start(run.r[i]);
	}
	uv_timer_init(&run.loop, &run.t);
	run.t.data = &run;
	run.t_start = uv_now(&run.loop);
	uv_timer_start(&run.t, on_check, 10, 10);
	uv_run(&run.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&run.loop), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(run.m[i].redis_errors, 0);
		out_m[i] = run.m[i];
	}
}

/* The retention that puts the policy bound half a block after entry
 * (i - 1)'s block, i a multiple of CP_EVERY. */
static uint64_t retention_before(int i)
{
	return (uint64_t)(clock_wall_ms() -
			  (t0 + (int64_t)(i / CP_EVERY - 1) * BLOCK_MS + BLOCK_MS / 2));
}

/* ---- reading the result ---- */

struct tomb {
	int n; /* tombstones */
	char from[24], to[24], first[32], last[32], count[24], policy[48], actor[64], time[24];
	char frontier[TLOG_FRONTIER_MAX * TLOG_HASH_LEN * 2 + 1];
	bool has_frontier;
};

/* The last tombstone of PART and how many there are. */
static struct tomb last_tomb(void)
{
	struct tomb t;
	redisReply *r = cmd("XREVRANGE %s + - COUNT 1", keys[3]);

	memset(&t, 0, sizeof(t));
	t.n = (int)cmd_int("XLEN %s", keys[3]);
	if (r->elements == 1) {
		redisReply *f = r->element[0]->element[1];
		struct {
			const char *name;
			char *out;
			size_t cap;
		} want[] = {{"from", t.from, sizeof(t.from)},
			    {"to", t.to, sizeof(t.to)},
			    {"first", t.first, sizeof(t.first)},
			    {"last", t.last, sizeof(t.last)},
			    {"count", t.count, sizeof(t.count)},
			    {"policy", t.policy, sizeof(t.policy)},
			    {"actor", t.actor, sizeof(t.actor)},
			    {"time", t.time, sizeof(t.time)},
			    {"frontier", t.frontier, sizeof(t.frontier)}};
		for (size_t i = 0; i + 1 < f->elements; i += 2)
			for (size_t j = 0; j < sizeof(want) / sizeof(want[0]); j++)
				if (!strcmp(f->element[i]->str, want[j].name)) {
					assert_true(f->element[i + 1]->len < want[j].cap);
					memcpy(want[j].out, f->element[i + 1]->str,
					       f->element[i + 1]->len + 1);
					if (j == 8)
						t.has_frontier = true;
				}
	}
	freeReplyObject(r);
	return t;
}

/* The root of the signed checkpoint of partition k at size, opened with
 * the signer's public key. */
static void signed_root_of(int k, uint64_t size, uint8_t out[TLOG_HASH_LEN])
{
	char origin[TLOG_NAME_MAX + 1];
	redisReply *r = cmd("XRANGE %s - +", ARCHIVE_KEYS_CHECKPOINTS);
	tlog_verifier_t v;
	bool found = false;

	assert_true(tlog_origin_partition(ORIGIN, k, origin, sizeof(origin)) > 0);
	tlog_signer_verifier(&signer, &v);
	for (size_t i = 0; i < r->elements && !found; i++) {
		redisReply *f = r->element[i]->element[1];
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			tlog_checkpoint_t cp;
			if (strcmp(f->element[j]->str, "note"))
				continue;
			assert_int_equal(tlog_checkpoint_open(f->element[j + 1]->str,
							      f->element[j + 1]->len, &v, 1, &cp,
							      NULL),
					 0);
			if (cp.size == size && !strcmp(cp.origin, origin)) {
				memcpy(out, cp.root, TLOG_HASH_LEN);
				found = true;
			}
		}
	}
	freeReplyObject(r);
	if (!found)
		fail_msg("no signed checkpoint of p%d at size %" PRIu64, k, size);
}

static int hexval(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* A frontier (hex) of the tree of size `to` of partition k: its root is
 * the signed root at `to`. */
static void assert_signed_frontier(int k, uint64_t to, const char *hex)
{
	uint8_t enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN], root[TLOG_HASH_LEN], want[TLOG_HASH_LEN];
	size_t n = strlen(hex) / 2;
	tlog_tree_t tree;

	for (size_t i = 0; i < n; i++)
		enc[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	assert_int_equal(tlog_tree_decode(to, enc, n, &tree), 0);
	tlog_tree_root(&tree, root);
	signed_root_of(k, to, want);
	assert_memory_equal(root, want, TLOG_HASH_LEN);
}

/* The tombstone's frontier's root equals the signed root at its `to`. */
static void assert_frontier_signed(const struct tomb *t)
{
	assert_true(t->has_frontier);
	assert_signed_frontier(PART, strtoull(t->to, NULL, 10), t->frontier);
}

static void assert_first_entry(int i)
{
	char want[32];
	redisReply *r = cmd("XRANGE %s - + COUNT 1", keys[0]);

	entry_id(i, want, sizeof(want));
	assert_int_equal(r->elements, 1);
	assert_string_equal(r->element[0]->element[0]->str, want);
	freeReplyObject(r);
	assert_int_equal(cmd_int("XLEN %s", keys[0]), ENTRIES_N - i);
}

static bool chunk_exists(uint64_t c)
{
	char key[64];

	archive_keys_leaves(PART, c, key, sizeof(key));
	return cmd_int("EXISTS %s", key) == 1;
}

static void assert_tomb(const struct tomb *t, int from, int to, int count, const char *policy)
{
	char first[32], last[32];

	entry_id(from, first, sizeof(first));
	entry_id(to - 1, last, sizeof(last));
	assert_int_equal(strtoll(t->from, NULL, 10), from);
	assert_int_equal(strtoll(t->to, NULL, 10), to);
	assert_string_equal(t->first, first);
	assert_string_equal(t->last, last);
	assert_int_equal(strtoll(t->count, NULL, 10), count);
	if (policy)
		assert_string_equal(t->policy, policy);
	assert_string_equal(t->actor, "eirc-logger trimmer");
	assert_true(llabs(strtoll(t->time, NULL, 10) - clock_wall_ms()) < 60000);
	/* the state moved with it: trimmed, and cps from `to` on */
	assert_int_equal(cmd_int("HGET %s trimmed", keys[1]), to);
	assert_int_equal(cmd_int("ZCOUNT %s -inf (%d", keys[2], to), 0);
	assert_int_equal(cmd_int("ZCOUNT %s %d %d", keys[2], to, to), 1);
}

/* ---- the tests ---- */

static void test_retention_trim_at_boundaries(void **state)
{
	lg_metrics_t m;
	struct tomb t;

	(void)state;
	clear();
	seed_log();
	/* the bound half-way through the block of entries 7000..7999: the
	 * greatest boundary below it is 7000 */
	run_trimmers(1, false, retention_before(7500), &m);
	t = last_tomb();
	assert_int_equal(t.n, 1);
	assert_tomb(&t, 0, 7000, 7000, NULL);
	assert_true(!strncmp(t.policy, "retention ", 10));
	assert_frontier_signed(&t);
	assert_first_entry(7000);
	assert_int_equal(m.archive_trimmed, 7000);
	assert_int_equal(m.archive_entries, ENTRIES_N - 7000);
	/* chunk 0 ([0, 4096)) went, chunk 1 holds leaves past 7000 */
	assert_false(chunk_exists(0));
	assert_true(chunk_exists(1));
	assert_int_equal(cmd_int("HGET %s leaves_from", keys[1]), 4096);

	/* everything past a 10 s retention: the last boundary is 9000, the
	 * 500 sealed after it and the 500 unsealed stay */
	run_trimmers(1, false, 10000, &m);
	t = last_tomb();
	assert_int_equal(t.n, 2);
	assert_tomb(&t, 7000, 9000, 2000, "retention 10s");
	assert_frontier_signed(&t);
	assert_first_entry(9000);
	assert_false(chunk_exists(1));
	assert_true(chunk_exists(2));
	assert_int_equal(cmd_int("HGET %s leaves_from", keys[1]), 8192);

	/* no new boundary: nothing goes */
	run_trimmers(1, false, 10000, &m);
	assert_int_equal(last_tomb().n, 2);
	assert_int_equal(m.archive_trimmed, 0);
	assert_first_entry(9000);
}

/* Delivers entries [0, n) to group g and acknowledges [0, acked). */
static void deliver(int n, int acked)
{
	char id[32];
	redisReply *r;

	r = cmd("XREADGROUP GROUP g c COUNT %d STREAMS %s >", n, keys[0]);
	freeReplyObject(r);
	for (int i = 0; i < acked; i++) {
		entry_id(i, id, sizeof(id));
		redisAppendCommand(rc, "XACK %s g %s", keys[0], id);
	}
	for (int i = 0; i < acked; i++) {
		assert_int_equal(redisGetReply(rc, (void **)&r), REDIS_OK);
		freeReplyObject(r);
	}
}

static void test_shipped_trim_keeps_leaves(void **state)
{
	lg_metrics_t m;
	struct tomb t;

	(void)state;
	clear();
	seed_log();
	cmd_ok("XGROUP CREATE %s g 0", keys[0]);
	/* 8000 delivered, 7500 acknowledged: the bound is entry 7500 */
	deliver(8000, 7500);
	run_trimmers(1, true, 0, &m);
	t = last_tomb();
	assert_int_equal(t.n, 1);
	assert_tomb(&t, 0, 7000, 7000, "shipped");
	assert_false(t.has_frontier);
	assert_first_entry(7000);
	/* every leaf hash stays: the events live on in Elasticsearch */
	assert_true(chunk_exists(0) && chunk_exists(1) && chunk_exists(2));
	assert_int_equal(cmd_int("HGET %s leaves_from", keys[1]), 0);

	/* all delivered and acknowledged: up to the last boundary only */
	deliver(ENTRIES_N, 0);
	for (int i = 7000; i < ENTRIES_N; i++) {
		char id[32];
		entry_id(i, id, sizeof(id));
		cmd_ok("XACK %s g %s", keys[0], id);
	}
	run_trimmers(1, true, 0, &m);
	t = last_tomb();
	assert_int_equal(t.n, 2);
	assert_tomb(&t, 7000, 9000, 2000, "shipped");
	assert_first_entry(9000);
	assert_true(chunk_exists(0));
}

static void test_racing_trimmers_trim_once(void **state)
{
	lg_metrics_t m[2];
	struct tomb t;

	(void)state;
	clear();
	seed_log();
	run_trimmers(2, false, retention_before(7500), m);
	t = last_tomb();
	fprintf(stderr, "racing: trimmed %" PRIu64 " and %" PRIu64 "\n", m[0].archive_trimmed,
		m[1].archive_trimmed);
	assert_int_equal(t.n, 1);
	assert_int_equal(strtoll(t.to, NULL, 10), 7000);
	assert_frontier_signed(&t);
	assert_int_equal(m[0].archive_trimmed + m[1].archive_trimmed, 7000);
	assert_first_entry(7000);
}

/* More tombstones without a frontier after the last with one than a plan
 * looks through at once (LG_ARCHIVE_TOMB_PAGE): the plan is asked again
 * from where it stopped, and the frontier still matches. */
static void test_frontier_found_further_back(void **state)
{
	int extra = LG_ARCHIVE_TOMB_PAGE + LG_ARCHIVE_TOMB_PAGE / 2;
	lg_metrics_t m;
	struct tomb t;

	(void)state;
	clear();
	seed_log();
	run_trimmers(1, false, retention_before(7500), &m);
	assert_int_equal(last_tomb().n, 1);
	for (int i = 0; i < extra; i++)
		cmd_ok("XADD %s * from 7000 to 7000 first 0-0 last 0-0 count 0 policy shipped "
		       "actor test time 0",
		       keys[3]);
	run_trimmers(1, false, 10000, &m);
	t = last_tomb();
	assert_int_equal(t.n, 2 + extra);
	assert_tomb(&t, 7000, 9000, 2000, "retention 10s");
	assert_frontier_signed(&t);
}

static void test_without_log_by_policy(void **state)
{
	lg_metrics_t m;
	struct tomb t;

	(void)state;
	clear();
	seed_entries();
	/* no tlog: the policy bound alone, after entry 7999's block */
	run_trimmers(1, false, retention_before(8500), &m);
	t = last_tomb();
	assert_int_equal(t.n, 1);
	assert_string_equal(t.from, "0");
	assert_string_equal(t.to, "0");
	assert_true(t.has_frontier);
	assert_string_equal(t.frontier, "");
	assert_int_equal(m.archive_trimmed, 8000);
	assert_int_equal(strtoll(t.count, NULL, 10), 8000);
	assert_first_entry(8000);
}

/* ---- with the real sealer ---- */

#define LIVE_RATE         500 /* events/s */
#define LIVE_RUN_MS       4000
#define LIVE_SETTLE_MS    3000 /* then sealing and trimming catch up */
#define LIVE_RETENTION_MS 1500

struct live {
	uv_loop_t loop;
	uv_timer_t feed;
	lg_writer_t *w;
	lg_seal_t *s;
	lg_archive_t *a;
	lg_metrics_t m;
	uint64_t t0;
	long pushed;
};

static void live_push(struct live *l, long n)
{
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG};
	char id[32], chan[16];

	ev.time_ms = clock_wall_ms();
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"hello", 5};
	for (long i = 0; i < n; i++, l->pushed++) {
		snprintf(chan, sizeof(chan), "#live%ld", l->pushed % 8);
		ev.s[ARCHIVE_S_CONV] = ev.s[ARCHIVE_S_TARGET] = (archive_str_t){chan, strlen(chan)};
		ev.s[ARCHIVE_S_MSGID] = (archive_str_t){
			id, (size_t)snprintf(id, sizeof(id), "live-%ld", l->pushed)};
		assert_int_equal(lg_writer_push(l->w, &ev), 0);
	}
}

static void on_live_feed(uv_timer_t *t)
{
	struct live *l = t->data;
	uint64_t el = uv_now(&l->loop) - l->t0;

	if (el < LIVE_RUN_MS) {
		live_push(l, (long)(el * LIVE_RATE / 1000) - l->pushed);
		return;
	}
	if (el < LIVE_RUN_MS + LIVE_SETTLE_MS)
		return;
	uv_close((uv_handle_t *)t, NULL);
	lg_archive_close(l->a); /* then their Redis, in the same turn */
	lg_seal_close(l->s);
	lg_writer_close(l->w, NULL);
}

/* Partition k's tombstones follow each other from 0 to tlog `trimmed`,
 * each retention one's frontier giving the signed root at its `to`.
 * Returns `trimmed`. */
static uint64_t check_tombstones(int k)
{
	char tomb[64], tlog[64];
	redisReply *r;
	uint64_t at = 0;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, tomb, sizeof(tomb));
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
	r = cmd("XRANGE %s - +", tomb);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];
		uint64_t from = UINT64_MAX, to = 0;
		const char *frontier = NULL;
		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			const char *name = f->element[j]->str, *v = f->element[j + 1]->str;
			if (!strcmp(name, "from"))
				from = strtoull(v, NULL, 10);
			else if (!strcmp(name, "to"))
				to = strtoull(v, NULL, 10);
			else if (!strcmp(name, "frontier"))
				frontier = v;
		}
		assert_int_equal(from, at);
		assert_true(to > from);
		assert_non_null(frontier);
		assert_signed_frontier(k, to, frontier);
		at = to;
	}
	freeReplyObject(r);
	assert_int_equal(cmd_int("HGET %s trimmed", tlog), (long long)at);
	return at;
}

static void test_trim_with_real_sealer(void **state)
{
	static struct live l;
	uint8_t mac_key[32];
	lg_writer_opts_t wo = {.partitions = LGF_PARTITIONS,
			       .retention_ms = 0,
			       .memory_max = UINT64_C(64) << 20,
			       .mac_key = mac_key};
	lg_seal_opts_t so = {.partitions = LGF_PARTITIONS,
			     .signer = &signer,
			     .origin = ORIGIN,
			     .interval_ms = 100,
			     .batch = 1000,
			     .checkpoint_events = 200,
			     .checkpoint_interval_ms = 1000};
	lg_archive_opts_t ao = {.partitions = LGF_PARTITIONS,
				.retention_ms = LIVE_RETENTION_MS,
				.every_ms = 300,
				.nick = "trimmer"};
	long long left = 0, trimmed = 0;

	(void)state;
	clear_all();
	tlog_mac_key(&signer, mac_key);
	memset(&l, 0, sizeof(l));
	wo.redis = (redis_opts_t){.host = "127.0.0.1",
				  .port = srv_port(redis),
				  .username = srv_redis_user_name(redis, REDIS_ACL_LOGGER),
				  .password = srv_redis_user_password(redis, REDIS_ACL_LOGGER),
				  .connect_timeout_ms = 2000,
				  .command_timeout_ms = 10000,
				  .reconnect_min_ms = 100,
				  .reconnect_max_ms = 1000,
				  .require_noeviction = true};
	assert_int_equal(uv_loop_init(&l.loop), 0);
	assert_int_equal(lg_writer_new(&l.loop, &wo, &l.m, NULL, NULL, &l.w), 0);
	assert_int_equal(lg_seal_new(&l.loop, lg_writer_redis(l.w), &so, &l.m, NULL, NULL, &l.s),
			 0);
	assert_int_equal(lg_archive_new(&l.loop, lg_writer_redis(l.w), &ao, &l.m, &l.a), 0);
	lg_writer_start(l.w);
	lg_seal_start(l.s);
	lg_archive_start(l.a);
	uv_timer_init(&l.loop, &l.feed);
	l.feed.data = &l;
	l.t0 = uv_now(&l.loop);
	uv_timer_start(&l.feed, on_live_feed, 10, 10);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&l.loop), 0);
	assert_int_equal(l.m.events_written, (uint64_t)l.pushed);
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		char archive[64], tlog[64], last[64];
		uint64_t to = check_tombstones(k);
		long long size, len, after;
		redisReply *r;
		archive_keys_archive(k, archive, sizeof(archive));
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
		size = cmd_int("HGET %s size", tlog);
		len = cmd_int("XLEN %s", archive);
		r = cmd("HGET %s last", tlog);
		snprintf(last, sizeof(last), "%s", r->str);
		freeReplyObject(r);
		after = (long long)cmd_int(
			"EVAL %s 1 %s %s",
			"return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')", archive,
			last);
		fprintf(stderr,
			"p%d: %lld leaves, trimmed to %" PRIu64
			", %lld entries left (%lld unsealed), checkpoint at %lld\n",
			k, size, to, len, after, cmd_int("HGET %s cp_size", tlog));
		/* only sealed and checkpointed entries went, every one of them a
		 * leaf below `to`: what is left is the leaves from `to` on and
		 * what is not sealed yet */
		assert_true((long long)to <= cmd_int("HGET %s cp_size", tlog));
		assert_int_equal(len, size - (long long)to + after);
		left += len;
		trimmed += (long long)to;
	}
	fprintf(stderr, "pushed %ld, trimmed %" PRIu64 " (%lld leaves), left %lld\n", l.pushed,
		l.m.archive_trimmed, trimmed, left);
	assert_true(trimmed > 0);
	assert_int_equal((long long)l.m.archive_trimmed, trimmed);
	assert_int_equal(trimmed + left, l.pushed);
	assert_int_equal(l.m.redis_errors, 0);
}

/* ---- eirc-logger: the HA pair with a signing key ---- */

#define PAIR_CHANNELS 8
#define PAIR_SENT     400
#define PAIR_PRE_N    5 /* entries of PART before the log */

struct pair_tombs {
	long long n, count, leaves;
};

/* Every tombstone of every partition: how many, their counts and leaves;
 * each by one of the two loggers, under the retention. */
static struct pair_tombs pair_tombs(void)
{
	struct pair_tombs t = {0, 0, 0};
	char key[64];

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		redisReply *r;
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_TOMB, key, sizeof(key));
		r = cmd("XRANGE %s - +", key);
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *f = r->element[i]->element[1];
			long long from = 0, to = 0;
			for (size_t j = 0; j + 1 < f->elements; j += 2) {
				const char *name = f->element[j]->str, *v = f->element[j + 1]->str;
				if (!strcmp(name, "count"))
					t.count += strtoll(v, NULL, 10);
				else if (!strcmp(name, "from"))
					from = strtoll(v, NULL, 10);
				else if (!strcmp(name, "to"))
					to = strtoll(v, NULL, 10);
				else if (!strcmp(name, "policy"))
					assert_string_equal(v, "retention 10s");
				else if (!strcmp(name, "actor") &&
					 strcmp(v, "eirc-logger tpairA") &&
					 strcmp(v, "eirc-logger tpairB"))
					fail_msg("tombstone by %s", v);
			}
			t.leaves += to - from;
			t.n++;
		}
		freeReplyObject(r);
	}
	return t;
}

static long long archive_entries(void)
{
	char key[64];
	long long n = 0;

	for (int k = 0; k < LGF_PARTITIONS; k++) {
		archive_keys_archive(k, key, sizeof(key));
		n += cmd_int("XLEN %s", key);
	}
	return n;
}

/* What is left where, for a failure's message. */
static void dump_partitions(void)
{
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		char archive[64], tlog[64];
		redisReply *st, *first;
		archive_keys_archive(k, archive, sizeof(archive));
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
		st = cmd("HMGET %s size last start trimmed cp_size", tlog);
		first = cmd("XRANGE %s - + COUNT 1", archive);
		fprintf(stderr,
			"p%d: %lld entries from %s; tlog size %s last %s start %s trimmed %s "
			"cp_size %s\n",
			k, cmd_int("XLEN %s", archive),
			first->elements ? first->element[0]->element[0]->str : "-",
			st->element[0]->str ? st->element[0]->str : "-",
			st->element[1]->str ? st->element[1]->str : "-",
			st->element[2]->str ? st->element[2]->str : "-",
			st->element[3]->str ? st->element[3]->str : "-",
			st->element[4]->str ? st->element[4]->str : "-");
		freeReplyObject(st);
		freeReplyObject(first);
	}
}

static bool all_trimmed(void *ud)
{
	(void)ud;
	return archive_entries() == 0;
}

static void test_daemon_pair_trims_once(void **state)
{
	char skey[TLOG_SKEY_MAX], extra[1024];
	struct lgf_logger_cfg c[2];
	struct lgf_proc lg[2];
	int mport[2];
	struct lgf_irc u;
	struct pair_tombs t;
	long long leaves = 0, trimmed_metric = 0;

	(void)state;
	clear_all();
	for (int i = 0; i < PAIR_PRE_N; i++)
		cmd_ok("XADD %s * network eIRC msgid pre-%d type privmsg conv #old text old",
		       keys[0], i);
	assert_true(tlog_signer_format(&signer, skey, sizeof(skey)) > 0);
	snprintf(extra, sizeof(extra),
		 "integrity:\n  signing_key: %s\n  origin: %s\n  seal_interval: 200ms\n"
		 "  checkpoint_events: 100\n  checkpoint_interval: 1s\n",
		 skey, ORIGIN);
	lgf_use_extra(extra);
	for (int i = 0; i < 2; i++) {
		mport[i] = srv_free_port();
		c[i] = (struct lgf_logger_cfg){.dir = dir,
					       .nick = i ? "tpairB" : "tpairA",
					       .irc_port = srv_port(ircd),
					       .redis_port = srv_port(redis),
					       .extra_logger = "  archive_retention: 10s\n",
					       .metrics_port = mport[i]};
		assert_int_equal(lgf_logger_start(&c[i], &lg[i]), 0);
	}
	assert_int_equal(lgf_irc_connect(srv_port(ircd), "tsender", NULL, &u), 0);
	for (int ch = 0; ch < PAIR_CHANNELS; ch++)
		lgf_irc_send(&u, "JOIN #tp%d", ch);
	lgf_sleep_ms(2000); /* the capture bots join */
	for (int i = 0; i < PAIR_SENT; i++) {
		lgf_irc_send(&u, "PRIVMSG #tp%d :pair-%d", i % PAIR_CHANNELS, i);
		if (i % 100 == 99)
			lgf_sleep_ms(500);
	}
	lgf_irc_send(&u, "PING :sent");
	assert_int_equal(lgf_irc_wait(&u, "PONG", 10000, NULL, 0), 0);
	/* past the 10 s retention, a checkpoint and a pass: all gone */
	if (!lgf_wait_for(all_trimmed, NULL, 60000)) {
		char *log = lgf_slurp(lg[0].log);
		fprintf(stderr, "%s:\n%s\n", lg[0].log, log ? log : "");
		free(log);
		dump_partitions();
		fail_msg("%lld archive entries left 60 s after the last message (logs %s, %s)",
			 archive_entries(), lg[0].log, lg[1].log);
	}
	for (int k = 0; k < LGF_PARTITIONS; k++) {
		char tlog[64];
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, tlog, sizeof(tlog));
		leaves += cmd_int("HGET %s size", tlog);
		assert_int_equal(check_tombstones(k), cmd_int("HGET %s size", tlog));
	}
	t = pair_tombs();
	for (int i = 0; i < 2; i++)
		trimmed_metric += lgf_metric(mport[i], "eirc_logger_archive_trimmed_total");
	fprintf(stderr,
		"%lld leaves, %lld tombstones (%lld leaves, %lld entries), trimmed_total %lld\n",
		leaves, t.n, t.leaves, t.count, trimmed_metric);
	assert_true(leaves >= PAIR_SENT);
	/* each leaf trimmed once, by one logger or the other; the entries
	 * older than the log went with the first boundary past them */
	assert_int_equal(t.leaves, leaves);
	assert_int_equal(t.count, leaves + PAIR_PRE_N);
	assert_int_equal(trimmed_metric, leaves + PAIR_PRE_N);
	lgf_use_extra(NULL);
	lgf_irc_close(&u);
	for (int i = 0; i < 2; i++)
		assert_int_equal(lgf_proc_stop(&lg[i], SIGTERM), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention_trim_at_boundaries),
		cmocka_unit_test(test_shipped_trim_keeps_leaves),
		cmocka_unit_test(test_racing_trimmers_trim_once),
		cmocka_unit_test(test_frontier_found_further_back),
		cmocka_unit_test(test_without_log_by_policy),
		cmocka_unit_test(test_trim_with_real_sealer),
		cmocka_unit_test(test_daemon_pair_trims_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
