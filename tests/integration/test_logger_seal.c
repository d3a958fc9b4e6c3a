/*
 * The sealer (logger-bot/lg_seal.h) with two eirc-logger processes (an HA
 * pair, both capture bots) on a real Redis and InspIRCd, each log checked
 * against one the test recomputes from the archive streams with
 * archive/tlog.h alone:
 *   - every event is a leaf, in stream order: each partition's size,
 *     frontier and stored leaf hashes are those of its entries; entries
 *     written before the log (no pending record) pre-date it ("start");
 *   - one log under the pair: the loggers' sealed_total add up to the
 *     leaves (nothing sealed twice), one lease holder per partition;
 *   - checkpoints: each note in eirc:{cp}:checkpoints and in the witness
 *     file opens with the public key alone (tlog_checkpoint_open), names
 *     "<origin>/p<k>" and a root the recomputed tree has at that size; the
 *     state's cp_size and the cps zset agree;
 *   - an entry added behind eIRC's back without a pending record is never a
 *     leaf; a record with a wrong MAC, or one that does not parse, is
 *     refused: not a leaf, listed in eirc:{p<k>}:rejected, counted, logged
 *     once; the events after them are sealed;
 *   - a direct message appended as eirc-history does (archive_append_build
 *     with the MAC key, EVAL of the single script) is sealed as the
 *     logger's own events are;
 *   - the state survives the loggers: the lease holder killed (-9), the
 *     other takes over; restarted, and the other stopped, it takes over
 *     again; the log goes on from where it was (sizes only grow, the
 *     recomputed tree still matches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "archive/archive_append.h"
#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "scripts/stack/launch.h"
#include "tests/integration/logger_fixture.h"

#define P        LGF_PARTITIONS
#define CHANNELS 8
#define PRE_N    5 /* entries of partition PRE_K before the log */
#define PRE_K    3
#define ORIGIN   "seal.test/archive"

static srv_env_t *env;
static srv_t *redis, *ircd;
static char dir[512], witness[600], extra[1024];
static redisContext *rc;
static struct lgf_proc lg[2];
static struct lgf_logger_cfg cfg[2];
static int mport[2];
static tlog_signer_t signer;
static tlog_verifier_t verifier;
static struct lgf_irc sender;
static int sent;
static char pre_last[64];

/* ---- Redis helpers ---- */

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	return r;
}

static long long tlog_int(int k, const char *field)
{
	char key[64];
	redisReply *r;
	long long v;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
	r = cmd("HGET %s %s", key, field);
	v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
	freeReplyObject(r);
	return v;
}

/* A field of the state as a string into buf ("" when absent). */
static void tlog_str(int k, const char *field, char *buf, size_t cap)
{
	char key[64];
	redisReply *r;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
	r = cmd("HGET %s %s", key, field);
	snprintf(buf, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
}

static long long xlen(const char *key)
{
	redisReply *r = cmd("XLEN %s", key);
	long long n = r->integer;

	freeReplyObject(r);
	return n;
}

/* The archive id of the last entry of partition k's archive, into buf. */
static void archive_last(int k, char *buf, size_t cap)
{
	char key[64];
	redisReply *r;

	archive_keys_archive(k, key, sizeof(key));
	r = cmd("XREVRANGE %s + - COUNT 1", key);
	snprintf(buf, cap, "%s", r->elements ? r->element[0]->element[0]->str : "0-0");
	freeReplyObject(r);
}

/* True when every partition's log has looked at its last entry. */
static bool all_looked_at(void *ud)
{
	char last[64], want[64];

	(void)ud;
	for (int k = 0; k < P; k++) {
		archive_last(k, want, sizeof(want));
		tlog_str(k, "last", last, sizeof(last));
		if (strcmp(want, "0-0") != 0 && strcmp(last, want) != 0)
			return false;
	}
	return true;
}

/* ---- the log, recomputed ---- */

static bool id_in(const redisReply *rej, const char *id)
{
	for (size_t i = 0; i < rej->elements; i++) {
		const redisReply *kv = rej->element[i]->element[1];
		for (size_t j = 0; j + 1 < kv->elements; j += 2)
			if (!strcmp(kv->element[j]->str, "id") &&
			    !strcmp(kv->element[j + 1]->str, id))
				return true;
	}
	return false;
}

/* Leaf hash of one XRANGE entry, as lg_seal computes it from tlog.h. */
static void entry_leaf(const redisReply *e, uint8_t out[TLOG_HASH_LEN])
{
	const redisReply *kv = e->element[1];
	tlog_field_t f[TLOG_FIELDS_MAX];
	size_t n = 0;

	for (size_t j = 0; j + 1 < kv->elements; j += 2) {
		if (tlog_field_excluded(kv->element[j]->str, kv->element[j]->len))
			continue;
		f[n++] = (tlog_field_t){{kv->element[j]->str, kv->element[j]->len},
					{kv->element[j + 1]->str, kv->element[j + 1]->len}};
	}
	assert_int_equal(
		tlog_leaf_hash((archive_str_t){e->element[0]->str, e->element[0]->len}, f, n, out),
		0);
}

/* Entries added behind eIRC's back with no pending record: never leaves. */
static char unrecorded[4][64];

/*
 * Recomputes partition k's tree from its archive stream: entries after
 * `start`, not refused, not unrecorded. Checks the stored size, frontier and leaf hashes
 * against it; *out_tree gets the tree at `upto` leaves (when upto > 0).
 * Returns the size.
 */
static uint64_t check_partition(int k, uint64_t upto, tlog_tree_t *out_tree)
{
	char key[64], start[64], rkey[64];
	redisReply *entries, *rej, *fr;
	tlog_tree_t t;
	uint8_t leaf[TLOG_HASH_LEN], enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	bool started;
	int n;

	archive_keys_archive(k, key, sizeof(key));
	archive_keys_tlog(k, "rejected", rkey, sizeof(rkey));
	tlog_str(k, "start", start, sizeof(start));
	started = start[0] && !strcmp(start, "0-0");
	entries = cmd("XRANGE %s - +", key);
	rej = cmd("XRANGE %s - +", rkey);
	tlog_tree_init(&t);
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		char lkey[ARCHIVE_KEYS_KEY_MAX];
		uint64_t idx = t.size;
		redisReply *stored;
		if (!started) {
			started = !strcmp(e->element[0]->str, start);
			continue;
		}
		if (id_in(rej, e->element[0]->str))
			continue;
		bool skip = false;
		for (size_t u = 0; u < sizeof(unrecorded) / sizeof(unrecorded[0]); u++)
			skip |= !strcmp(unrecorded[u], e->element[0]->str);
		if (skip)
			continue;
		entry_leaf(e, leaf);
		archive_keys_leaves(k, idx / ARCHIVE_KEYS_LEAVES_CHUNK, lkey, sizeof(lkey));
		stored = cmd("GETRANGE %s %llu %llu", lkey,
			     (unsigned long long)(idx % ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN,
			     (unsigned long long)(idx % ARCHIVE_KEYS_LEAVES_CHUNK + 1) *
					     TLOG_HASH_LEN -
				     1);
		if (stored->len != TLOG_HASH_LEN || memcmp(stored->str, leaf, TLOG_HASH_LEN) != 0)
			fail_msg("partition %d leaf %" PRIu64 " (%s): stored hash differs", k, idx,
				 e->element[0]->str);
		freeReplyObject(stored);
		tlog_tree_append(&t, leaf);
		if (upto && t.size == upto)
			*out_tree = t;
	}
	assert_int_equal(tlog_int(k, "size"), (long long)t.size);
	n = tlog_tree_encode(&t, enc, sizeof(enc));
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_STATE, key, sizeof(key));
	fr = cmd("HGET %s frontier", key);
	assert_int_equal(fr->len, (size_t)n);
	assert_memory_equal(fr->str, enc, (size_t)n);
	freeReplyObject(fr);
	freeReplyObject(entries);
	freeReplyObject(rej);
	return t.size;
}

static uint64_t check_all(void)
{
	uint64_t total = 0;

	assert_true(lgf_wait_for(all_looked_at, NULL, 30000));
	for (int k = 0; k < P; k++)
		total += check_partition(k, 0, NULL);
	return total;
}

static long long metric_sum(const char *series)
{
	long long sum = 0;

	for (int i = 0; i < 2; i++)
		if (lg[i].pid > 0) {
			long long v = lgf_metric(mport[i], series);
			assert_true(v >= 0);
			sum += v;
		}
	return sum;
}

/* ---- IRC ---- */

static void send_messages(int n)
{
	for (int i = 0; i < n; i++, sent++)
		assert_int_equal(
			lgf_irc_send(&sender, "PRIVMSG #seal%d :seal-%d", sent % CHANNELS, sent),
			0);
	/* the last one read back from a channel: everything before is in */
	lgf_irc_send(&sender, "PING :sent-%d", sent);
	assert_int_equal(lgf_irc_wait(&sender, "PONG", 10000, NULL, 0), 0);
}

static bool privmsgs_archived(void *ud)
{
	static struct lgf_entry e[8192];
	size_t n = lgf_archive(rc, e, sizeof(e) / sizeof(e[0])), m = 0;

	(void)ud;
	for (size_t i = 0; i < n; i++)
		m += !strcmp(e[i].type, "privmsg");
	return m >= (size_t)sent;
}

static bool loggers_in_channels(void *ud)
{
	static struct lgf_entry e[1024];
	int joined = 0;

	(void)ud;
	for (int c = 0; c < CHANNELS; c++) {
		char chan[16];
		snprintf(chan, sizeof(chan), "#seal%d", c);
		size_t n = lgf_history(rc, chan, e, sizeof(e) / sizeof(e[0]));
		for (size_t i = 0; i < n; i++)
			joined += !strcmp(e[i].type, "join") &&
				  (!strcmp(e[i].nick, "sealA") || !strcmp(e[i].nick, "sealB"));
	}
	return joined >= 2 * CHANNELS;
}

/* ---- set-up ---- */

static void seed_pre_log(void)
{
	char key[64];

	archive_keys_archive(PRE_K, key, sizeof(key));
	for (int i = 0; i < PRE_N; i++) {
		redisReply *r = cmd("XADD %s * network eIRC msgid pre-%d time 1700000000000 "
				    "type privmsg conv #old target #old text old",
				    key, i);
		snprintf(pre_last, sizeof(pre_last), "%s", r->str);
		freeReplyObject(r);
	}
}

static int start_logger(int i)
{
	return lgf_logger_start(&cfg[i], &lg[i]);
}

static int setup(void **state)
{
	char skey[TLOG_SKEY_MAX];

	(void)state;
	if (sodium_init() < 0 || lgf_env_start(&env, &redis, &ircd, dir, sizeof(dir)) < 0 ||
	    !(rc = lgf_redis(srv_port(redis))))
		return -1;
	if (tlog_signer_generate("seal.test", &signer) < 0 ||
	    tlog_signer_format(&signer, skey, sizeof(skey)) < 0)
		return -1;
	tlog_signer_verifier(&signer, &verifier);
	snprintf(witness, sizeof(witness), "%s/witness.log", dir);
	snprintf(extra, sizeof(extra),
		 "integrity:\n  signing_key: %s\n  origin: %s\n  seal_interval: 200ms\n"
		 "  seal_batch: 100\n  checkpoint_events: 150\n  checkpoint_interval: 1s\n"
		 "  witness_file: %s\n",
		 skey, ORIGIN, witness);
	lgf_use_extra(extra);
	seed_pre_log();
	for (int i = 0; i < 2; i++) {
		mport[i] = srv_free_port();
		cfg[i] = (struct lgf_logger_cfg){.dir = dir,
						 .nick = i ? "sealB" : "sealA",
						 .irc_port = srv_port(ircd),
						 .redis_port = srv_port(redis),
						 .metrics_port = mport[i]};
		if (start_logger(i) < 0)
			return -1;
	}
	if (lgf_irc_connect(srv_port(ircd), "writer", NULL, &sender) < 0)
		return -1;
	for (int c = 0; c < CHANNELS; c++)
		lgf_irc_send(&sender, "JOIN #seal%d", c);
	return lgf_wait_for(loggers_in_channels, NULL, 30000) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lgf_irc_close(&sender);
	for (int i = 0; i < 2; i++)
		lgf_proc_stop(&lg[i], SIGTERM);
	redisFree(rc);
	srv_env_free(env);
	return 0;
}

/* ---- tests ---- */

static void test_sealed_in_order_one_log(void **state)
{
	char start[64], key[64];
	uint64_t leaves;
	int holders = 0;

	(void)state;
	send_messages(600);
	assert_true(lgf_wait_for(privmsgs_archived, NULL, 30000));
	leaves = check_all();
	/* every entry of eIRC's is a leaf: all but the seeded ones */
	{
		uint64_t entries = 0;
		for (int k = 0; k < P; k++) {
			archive_keys_archive(k, key, sizeof(key));
			entries += (uint64_t)xlen(key);
		}
		assert_int_equal(leaves, entries - PRE_N);
	}
	/* the seeded entries pre-date the log of their partition */
	tlog_str(PRE_K, "start", start, sizeof(start));
	assert_string_equal(start, pre_last);
	for (int k = 0; k < P; k++) {
		if (k == PRE_K)
			continue;
		tlog_str(k, "start", start, sizeof(start));
		assert_string_equal(start, "0-0");
	}
	/* one log: what the two loggers sealed adds up to the leaves */
	assert_int_equal(metric_sum("eirc_logger_sealed_total"), (long long)leaves);
	assert_int_equal(metric_sum("eirc_logger_seal_rejected_total"), 0);
	/* each leaf's sealing delay counted once, by the logger that sealed it */
	assert_int_equal(metric_sum("eirc_logger_seal_delay_seconds_count"), (long long)leaves);
	for (int k = 0; k < P; k++) {
		redisReply *r;
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_SEAL, key, sizeof(key));
		r = cmd("GET %s", key);
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		holders++;
		freeReplyObject(r);
	}
	assert_int_equal(holders, P);
}

/* A note opens with the public key alone and matches the recomputed tree. */
static void check_note(const char *note, size_t len, int *out_k, uint64_t *out_size)
{
	tlog_checkpoint_t cp;
	tlog_tree_t t;
	uint8_t root[TLOG_HASH_LEN];
	char origin[TLOG_NAME_MAX + 1];
	int k = -1;

	tlog_tree_init(&t);
	assert_int_equal(tlog_checkpoint_open(note, len, &verifier, 1, &cp, NULL), 0);
	for (int i = 0; i < P; i++) {
		tlog_origin_partition(ORIGIN, i, origin, sizeof(origin));
		if (!strcmp(origin, cp.origin))
			k = i;
	}
	if (k < 0)
		fail_msg("checkpoint of an unknown origin %s", cp.origin);
	assert_true(cp.size > 0);
	check_partition(k, cp.size, &t);
	tlog_tree_root(&t, root);
	assert_memory_equal(root, cp.root, TLOG_HASH_LEN);
	*out_k = k;
	*out_size = cp.size;
}

static void test_checkpoints_signed(void **state)
{
	uint64_t latest[P] = {0}, in_witness = 0;
	char key[64], *w, *p, *end;
	redisReply *r;
	int k;
	uint64_t size;

	(void)state;
	/* the interval passes: every partition that grew is checkpointed */
	lgf_sleep_ms(2500);
	r = cmd("XRANGE %s - +", ARCHIVE_KEYS_CHECKPOINTS);
	assert_true(r->elements >= P);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *kv = r->element[i]->element[1];
		for (size_t j = 0; j + 1 < kv->elements; j += 2)
			if (!strcmp(kv->element[j]->str, "note")) {
				check_note(kv->element[j + 1]->str, kv->element[j + 1]->len, &k,
					   &size);
				if (size > latest[k])
					latest[k] = size;
			}
	}
	freeReplyObject(r);
	for (k = 0; k < P; k++) {
		char member[128];
		assert_int_equal(tlog_int(k, "cp_size"), (long long)latest[k]);
		assert_int_equal(tlog_int(k, "cp_size"), tlog_int(k, "size"));
		archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_CPS, key, sizeof(key));
		r = cmd("ZRANGEBYSCORE %s %llu %llu", key, (unsigned long long)latest[k],
			(unsigned long long)latest[k]);
		assert_int_equal(r->elements, 1);
		snprintf(member, sizeof(member), "%" PRIu64 " ", latest[k]);
		assert_memory_equal(r->element[0]->str, member, strlen(member));
		freeReplyObject(r);
	}
	/* the witness file: notes, each followed by "~~~~" */
	assert_non_null(w = lgf_slurp(witness));
	for (p = w; (end = strstr(p, "~~~~\n")); p = end + 5) {
		check_note(p, (size_t)(end - p), &k, &size);
		in_witness++;
	}
	assert_string_equal(p, "");
	assert_true(in_witness >= P);
	free(w);
	assert_true(metric_sum("eirc_logger_checkpoints_total") >= P);
}

static void test_forged_entries_refused(void **state)
{
	char key[64], rkey[64], pkey[64], forged[64], *logs[2];
	const char *ids[2];
	redisReply *r;
	uint64_t before;
	int k = 0, logged = 0;

	(void)state;
	archive_keys_archive(k, key, sizeof(key));
	archive_keys_tlog(k, "rejected", rkey, sizeof(rkey));
	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_PENDING, pkey, sizeof(pkey));
	before = (uint64_t)tlog_int(k, "size");
	/* an entry without a record: the sealer never sees it */
	r = cmd("XADD %s * network eIRC msgid forged-1 time 1700000000000 type privmsg conv "
		"#seal0 target #seal0 nick mallory text forged",
		key);
	snprintf(unrecorded[0], sizeof(unrecorded[0]), "%s", r->str);
	freeReplyObject(r);
	/* one with a record whose MAC is not the key's, and a record that does
	 * not parse */
	r = cmd("XADD %s * network eIRC msgid forged-2 time 1700000000000 type privmsg conv "
		"#seal0 target #seal0 nick mallory text forged",
		key);
	snprintf(forged, sizeof(forged), "%s", r->str);
	freeReplyObject(r);
	snprintf(unrecorded[1], sizeof(unrecorded[1]), "%s", forged);
	r = cmd("RPUSH %s %s%s", pkey, forged,
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	freeReplyObject(r);
	r = cmd("RPUSH %s garbage", pkey);
	freeReplyObject(r);
	send_messages(100);
	assert_true(lgf_wait_for(privmsgs_archived, NULL, 30000));
	check_all();
	assert_true((uint64_t)tlog_int(k, "size") > before);
	/* the two records listed, counted, with their reasons */
	ids[0] = forged;
	ids[1] = "?";
	r = cmd("XRANGE %s - +", rkey);
	assert_int_equal(r->elements, 2);
	for (int i = 0; i < 2; i++) {
		const redisReply *kv = r->element[i]->element[1];
		assert_string_equal(kv->element[0]->str, "id");
		assert_string_equal(kv->element[1]->str, ids[i]);
		assert_string_equal(kv->element[3]->str, i ? "malformed" : "mac invalid");
	}
	freeReplyObject(r);
	assert_int_equal(tlog_int(k, "rejected"), 2);
	assert_int_equal(metric_sum("eirc_logger_seal_rejected_total"), 2);
	/* logged once each, by the holder only */
	for (int i = 0; i < 2; i++)
		logs[i] = lgf_slurp(lg[i].log);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 2; i++) {
			char needle[160];
			snprintf(needle, sizeof(needle), "archive entry %s:", ids[f]);
			for (char *p = logs[i]; p && (p = strstr(p, needle)); p++)
				logged++;
		}
	if (logged != 2) /* say what was logged */
		fprintf(stderr, "%s\n---\n%s\n", logs[0] ? logs[0] : "", logs[1] ? logs[1] : "");
	assert_int_equal(logged, 2);
	free(logs[0]);
	free(logs[1]);
}

/* eirc-history's path: one EVAL of the single append script. */
static void test_direct_message_sealed(void **state)
{
	static archive_append_call_t call;
	uint8_t mac_key[32];
	archive_append_opts_t o = {P, 0, 0, mac_key};
	archive_event_t ev = {.type = ARCHIVE_EV_PRIVMSG, .time_ms = 1700000000000};
	char last[64], hist[ARCHIVE_KEYS_KEY_MAX];
	long long rejected;
	redisReply *r;

	(void)state;
	tlog_mac_key(&signer, mac_key);
	ev.s[ARCHIVE_S_MSGID] = (archive_str_t){"dm-seal-1", 9};
	ev.s[ARCHIVE_S_NETWORK] = (archive_str_t){"eIRC", 4};
	ev.s[ARCHIVE_S_CONV] = (archive_str_t){"dm:1:2", 6};
	ev.s[ARCHIVE_S_TARGET] = (archive_str_t){"bob", 3};
	ev.s[ARCHIVE_S_NICK] = (archive_str_t){"alice", 5};
	ev.s[ARCHIVE_S_TEXT] = (archive_str_t){"hi \xff", 4};
	assert_int_equal(archive_append_build(&ev, &o, NULL, &call), 0);
	rejected = tlog_int(call.partition, "rejected");
	r = redisCommandArgv(rc, call.argc, call.argv, call.argvlen);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	archive_last(call.partition, last, sizeof(last));
	/* a leaf (check_all recomputes every entry not refused), not refused */
	check_all();
	tlog_str(call.partition, "last", hist, sizeof(hist));
	assert_string_equal(hist, last);
	assert_int_equal(tlog_int(call.partition, "rejected"), rejected);
}

/* The logger holding partition k's lease (by the pid in its owner id). */
static int holder(int k)
{
	char key[64], pid[32];
	redisReply *r;
	int who = -1;

	archive_keys_tlog(k, ARCHIVE_KEYS_TLOG_SEAL, key, sizeof(key));
	r = cmd("GET %s", key);
	if (r->type == REDIS_REPLY_STRING)
		for (int i = 0; i < 2; i++) {
			snprintf(pid, sizeof(pid), ":%ld:", (long)lg[i].pid);
			if (lg[i].pid > 0 && strstr(r->str, pid))
				who = i;
		}
	freeReplyObject(r);
	return who;
}

static void test_state_survives_restarts(void **state)
{
	uint64_t sizes[P], total;
	int h = holder(0);

	(void)state;
	assert_true(h >= 0);
	for (int k = 0; k < P; k++)
		sizes[k] = (uint64_t)tlog_int(k, "size");
	/* the holder killed: the other takes over once the lease lapses */
	lgf_proc_stop(&lg[h], SIGKILL);
	send_messages(200);
	assert_true(lgf_wait_for(privmsgs_archived, NULL, 30000));
	total = check_all();
	for (int k = 0; k < P; k++) {
		assert_true((uint64_t)tlog_int(k, "size") > sizes[k]);
		assert_int_equal(holder(k), 1 - h);
		sizes[k] = (uint64_t)tlog_int(k, "size");
	}
	/* back, and the other stopped: it takes over, from the same state */
	assert_int_equal(start_logger(h), 0);
	assert_int_equal(lgf_proc_stop(&lg[1 - h], SIGTERM), 0);
	send_messages(200);
	assert_true(lgf_wait_for(privmsgs_archived, NULL, 30000));
	assert_true(check_all() > total);
	for (int k = 0; k < P; k++) {
		assert_true((uint64_t)tlog_int(k, "size") > sizes[k]);
		assert_int_equal(holder(k), h);
	}
	/* everything sealed: nothing found unsealed at the last passes */
	lgf_sleep_ms(600);
	assert_int_equal(lgf_metric(mport[h], "eirc_logger_seal_backlog"), 0);
	assert_int_equal(lgf_metric(mport[h], "eirc_logger_seal_lag_seconds"), 0);
	assert_int_equal(start_logger(1 - h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_in_order_one_log),
		cmocka_unit_test(test_checkpoints_signed),
		cmocka_unit_test(test_forged_entries_refused),
		cmocka_unit_test(test_direct_message_sealed),
		cmocka_unit_test(test_state_survives_restarts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
