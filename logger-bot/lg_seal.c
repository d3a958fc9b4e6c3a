/*
 * lg_seal: lease, rounds and checkpoints of the sealer (see lg_seal.h).
 * One partition at a time, one round at a time: a pass is a chain of
 * replies, and every reply handler either sends the next command or moves
 * on to the next partition.
 */
#include "logger-bot/lg_seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "archive/archive_keys.h"
#include "common/clock.h"

/* Takes or renews the lease, then reads the state and the first records
 * of the pending list, and until the log has a start, the id of the
 * archive entry before the first record ("0-0": none). KEYS: seal, tlog,
 * pending, archive. ARGV: owner, lease ms, count. Returns {0, holder} or
 * {1, HGETALL tlog, records, id before}. */
static const char lease_script[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if not cur then\n"
	"  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"elseif cur ~= ARGV[1] then\n"
	"  return {0, cur}\n"
	"else\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
	"end\n"
	"local recs = redis.call('LRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1)\n"
	"local before = '0-0'\n"
	"if #recs > 0 and not redis.call('HGET', KEYS[2], 'start') then\n"
	"  local id = string.match(recs[1], '^(%S+)')\n"
	"  local e = id and redis.call('XREVRANGE', KEYS[4], '(' .. id, '-', 'COUNT', 1)[1]\n"
	"  if e then before = e[1] end\n"
	"end\n"
	"return {1, redis.call('HGETALL', KEYS[2]), recs, before}\n";

/* One chunk segment of a round, conditional on the lease and on (size,
 * last). KEYS: seal, tlog, leaves chunk, rejected, pending. ARGV: owner,
 * size and last read, new size, last and frontier, byte offset and leaf
 * hashes (may be empty), start ('' once the log exists), the pending
 * records it consumed, then id/reason pairs of refused records. Returns 1,
 * 0 (the state moved) or -1 (lease lost). */
static const char segment_script[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
	"local st = redis.call('HMGET', KEYS[2], 'size', 'last')\n"
	"if (st[1] or '0') ~= ARGV[2] or (st[2] or '0-0') ~= ARGV[3] then return 0 end\n"
	"if ARGV[8] ~= '' then redis.call('SETRANGE', KEYS[3], ARGV[7], ARGV[8]) end\n"
	"local n = 0\n"
	"if ARGV[10] ~= '0' then redis.call('LTRIM', KEYS[5], ARGV[10], -1) end\n"
	"for i = 11, #ARGV, 2 do\n"
	"  redis.call('XADD', KEYS[4], 'MAXLEN', '~', '100000', '*', 'id', ARGV[i],\n"
	"             'reason', ARGV[i + 1])\n"
	"  n = n + 1\n"
	"end\n"
	"redis.call('HSET', KEYS[2], 'size', ARGV[4], 'last', ARGV[5], 'frontier', ARGV[6])\n"
	"if ARGV[9] ~= '' then\n"
	"  redis.call('HSET', KEYS[2], 'start', ARGV[9], 'leaves_from', '0', 'trimmed', '0')\n"
	"end\n"
	"if n > 0 then redis.call('HINCRBY', KEYS[2], 'rejected', n) end\n"
	"return 1\n";

/* Records a checkpoint already published. KEYS: seal, tlog, cps. ARGV:
 * owner, size, time, note, cps member. Returns 1, 0 (the state moved, or
 * a checkpoint at least as large is there) or -1 (lease lost). */
static const char checkpoint_script[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n"
	"local st = redis.call('HMGET', KEYS[2], 'size', 'cp_size')\n"
	"if st[1] ~= ARGV[2] or tonumber(st[2] or '0') >= tonumber(ARGV[2]) then return 0 end\n"
	"redis.call('HSET', KEYS[2], 'cp_size', ARGV[2], 'cp_time', ARGV[3], 'checkpoint', "
	"ARGV[4])\n"
	"redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])\n"
	"return 1\n";

/* An archive id ("<ms>-<seq>") and a little room. */
#define ID_MAX         48
#define FRONTIER_BYTES (TLOG_FRONTIER_MAX * TLOG_HASH_LEN)
#define SEGMENT_ARGS   18 /* EVAL, script, numkeys, 5 keys, 10 ARGV before the pairs */

/* The state of one partition's log as a round read it. */
struct state {
	uint64_t size, cp_size;
	int64_t cp_time;
	bool started; /* `start` is set */
	char last[ID_MAX];
	tlog_tree_t tree;
};

/* One chunk segment of a round being laid out. */
struct segment {
	uint64_t chunk;
	uint64_t first; /* leaf index of its first leaf */
	size_t leaves;  /* leaf hashes in it */
	size_t rejects; /* id/reason pairs in it */
	char size_before[24], size_after[24], offset[24], consumed[24];
	char last_before[ID_MAX], last_after[ID_MAX];
	char start[ID_MAX];
	uint8_t frontier[FRONTIER_BYTES];
	size_t frontier_len;
	char leaves_key[ARCHIVE_KEYS_KEY_MAX];
};

struct reject {
	char id[ID_MAX]; /* copied: reported once the round's writes are in */
	const char *why;
};

struct lg_seal {
	uv_loop_t *loop;
	redis_t *redis;
	lg_seal_opts_t opts;
	lg_metrics_t *m;
	lg_seal_note_fn on_note;
	void *ud;
	uv_timer_t timer;
	uint8_t mac_key[32];
	char owner[300];
	char batch[16], lease_ms[16];
	bool busy;  /* a pass is under way */
	int k;      /* its partition */
	int rounds; /* of k in this pass */
	bool *held; /* per partition: the lease was ours at the last round */
	char key_seal[64], key_tlog[64], key_pending[64], key_archive[64], key_rejected[64],
		key_cps[64];
	struct state st;
	/* the round's replies due, and how they went */
	int waiting;
	bool round_failed, round_full;
	uint64_t round_sealed;
	int64_t *delays; /* the round's leaves' delays (ms), counted once in */
	size_t n_rejects;
	struct reject *rejects;
	uint8_t *leaves; /* the round's leaf hashes, batch * 32 bytes */
	struct segment *segs;
	size_t n_segs, segs_cap;
	/* the pass's backlog and the oldest unsealed entry's time (-1: none) */
	uint64_t pass_backlog;
	int64_t pass_oldest_ms;
	char note[TLOG_CHECKPOINT_MAX];
	size_t note_len;
	char cp_size[24], cp_time[24], cp_member[24 + ID_MAX];
};

static void pass_next(struct lg_seal *s);
static void round_start(struct lg_seal *s);

static void note(struct lg_seal *s, enum lg_seal_note n, const char *detail)
{
	if (s->on_note)
		s->on_note(s->ud, n, s->k, detail);
}

static void redis_error(struct lg_seal *s, const redisReply *r)
{
	s->m->redis_errors++;
	if (r && r->type == REDIS_REPLY_ERROR)
		note(s, LG_SEAL_ERROR, r->str);
}

static bool str_eq(const redisReply *r, const char *s)
{
	return r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
	       memcmp(r->str, s, r->len) == 0;
}

/* A decimal in r[0..n), 0..UINT64_MAX/2. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 18)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* The time part of an archive id ("<ms>-<seq>"), or 0. */
static int64_t id_ms(const char *id)
{
	uint64_t ms;

	return parse_u64(id, strcspn(id, "-"), &ms) == 0 ? (int64_t)ms : 0;
}

/* The state from HGETALL's answer. Returns 0 or -EBADMSG (a value that
 * cannot be: the log was tampered with or is corrupt). */
static int state_parse(const redisReply *h, struct state *out)
{
	const redisReply *frontier = NULL;
	uint64_t t = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->last, sizeof(out->last), "0-0");
	if (h->type != REDIS_REPLY_ARRAY || h->elements % 2)
		return -EBADMSG;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *n = h->element[i], *v = h->element[i + 1];
		if (v->type != REDIS_REPLY_STRING)
			return -EBADMSG;
		if (str_eq(n, "size") && parse_u64(v->str, v->len, &out->size) < 0)
			return -EBADMSG;
		if (str_eq(n, "cp_size") && parse_u64(v->str, v->len, &out->cp_size) < 0)
			return -EBADMSG;
		if (str_eq(n, "cp_time")) {
			if (parse_u64(v->str, v->len, &t) < 0)
				return -EBADMSG;
			out->cp_time = (int64_t)t;
		}
		if (str_eq(n, "start"))
			out->started = true;
		if (str_eq(n, "last")) {
			if (v->len == 0 || v->len >= sizeof(out->last))
				return -EBADMSG;
			memcpy(out->last, v->str, v->len);
			out->last[v->len] = '\0';
		}
		if (str_eq(n, "frontier"))
			frontier = v;
	}
	if (tlog_tree_decode(out->size, frontier ? (const uint8_t *)frontier->str : NULL,
			     frontier ? frontier->len : 0, &out->tree) < 0)
		return -EBADMSG;
	return 0;
}

/* ---- pending records ---- */

/* Why record r ("<archive id> <digest> <mac>") is refused, or NULL: its
 * leaf hash is then in leaf. Its archive id goes into id ("?" when it has
 * none). */
static const char *record_check(struct lg_seal *s, const redisReply *r, char id[ID_MAX],
				uint8_t leaf[TLOG_HASH_LEN])
{
	const char *p, *sp1, *sp2, *end;
	uint8_t d[TLOG_HASH_LEN];
	size_t d_len;

	snprintf(id, ID_MAX, "?");
	if (r->type != REDIS_REPLY_STRING)
		return "malformed";
	p = r->str;
	end = p + r->len;
	if (!(sp1 = memchr(p, ' ', r->len)) || sp1 - p >= ID_MAX || sp1 == p ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))))
		return "malformed";
	memcpy(id, p, (size_t)(sp1 - p));
	id[sp1 - p] = '\0';
	if (sodium_base642bin(d, sizeof(d), sp1 + 1, (size_t)(sp2 - sp1 - 1), NULL, &d_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    d_len != sizeof(d))
		return "malformed";
	if (tlog_mac_digest_check(s->mac_key, d, sp2 + 1, (size_t)(end - sp2 - 1)) < 0)
		return "mac invalid";
	if (tlog_leaf_of_digest((archive_str_t){id, strlen(id)}, d, leaf) < 0)
		return "malformed";
	return NULL;
}

static struct segment *segment_open(struct lg_seal *s, const char *last)
{
	struct segment *g = &s->segs[s->n_segs++];

	g->first = s->st.tree.size;
	g->chunk = g->first / ARCHIVE_KEYS_LEAVES_CHUNK;
	g->leaves = g->rejects = 0;
	g->start[0] = '\0';
	snprintf(g->consumed, sizeof(g->consumed), "0");
	snprintf(g->size_before, sizeof(g->size_before), "%" PRIu64, g->first);
	snprintf(g->last_before, sizeof(g->last_before), "%s", last);
	snprintf(g->offset, sizeof(g->offset), "%" PRIu64,
		 (g->first - g->chunk * ARCHIVE_KEYS_LEAVES_CHUNK) * TLOG_HASH_LEN);
	archive_keys_leaves(s->k, g->chunk, g->leaves_key, sizeof(g->leaves_key));
	return g;
}

static void segment_close(struct lg_seal *s, struct segment *g, const char *last)
{
	int n = tlog_tree_encode(&s->st.tree, g->frontier, sizeof(g->frontier));

	g->frontier_len = n > 0 ? (size_t)n : 0;
	snprintf(g->size_after, sizeof(g->size_after), "%" PRIu64, s->st.tree.size);
	snprintf(g->consumed, sizeof(g->consumed), "%zu", g->leaves + g->rejects);
	snprintf(g->last_after, sizeof(g->last_after), "%s", last);
}

/* Lays the pending records out into segments: leaves, refusals, and the
 * state each segment leaves behind. */
static void round_layout(struct lg_seal *s, const redisReply *records, const char *before)
{
	struct segment *g;
	char last[ID_MAX], id[ID_MAX];
	size_t nl = 0;
	int64_t now = clock_wall_ms();

	s->n_segs = s->n_rejects = 0;
	s->round_sealed = 0;
	snprintf(last, sizeof(last), "%s", s->st.last);
	g = segment_open(s, last);
	for (size_t i = 0; i < records->elements; i++) {
		const char *why =
			record_check(s, records->element[i], id, s->leaves + nl * TLOG_HASH_LEN);
		if (!s->st.started) {
			/* the log starts at its first record; what the archive
			 * holds before it pre-dates the log */
			s->st.started = true;
			snprintf(g->start, sizeof(g->start), "%s", before);
		}
		if (why) {
			struct reject *rj = &s->rejects[s->n_rejects++];
			memcpy(rj->id, id, strlen(id) + 1);
			rj->why = why;
			g->rejects++;
		} else {
			tlog_tree_append(&s->st.tree, s->leaves + nl * TLOG_HASH_LEN);
			s->delays[nl] = now - id_ms(id);
			nl++;
			g->leaves++;
			s->round_sealed++;
			snprintf(last, sizeof(last), "%s", id);
		}
		if (g->leaves && s->st.tree.size % ARCHIVE_KEYS_LEAVES_CHUNK == 0 &&
		    i + 1 < records->elements) {
			segment_close(s, g, last);
			g = segment_open(s, last);
		}
	}
	segment_close(s, g, last);
	snprintf(s->st.last, sizeof(s->st.last), "%s", last);
}

static void on_segment(void *ud, redisReply *r, void *privdata);

/* Sends segment g (its leaves at leaves, its refusals from rejects). */
static int segment_send(struct lg_seal *s, const struct segment *g, const uint8_t *leaves,
			const struct reject *rejects)
{
	size_t argc = SEGMENT_ARGS + 2 * g->rejects, i = 0;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *len = malloc(argc * sizeof(*len));
	int err = -ENOMEM;

#define ARG(p, n) (argv[i] = (const char *)(p), len[i] = (n), i++)
#define STR(p)    ARG(p, strlen(p))
	if (argv && len) {
		STR("EVAL");
		ARG(segment_script, sizeof(segment_script) - 1);
		STR("5");
		STR(s->key_seal);
		STR(s->key_tlog);
		STR(g->leaves_key);
		STR(s->key_rejected);
		STR(s->key_pending);
		STR(s->owner);
		STR(g->size_before);
		STR(g->last_before);
		STR(g->size_after);
		STR(g->last_after);
		ARG(g->frontier, g->frontier_len);
		STR(g->offset);
		ARG(leaves, g->leaves * TLOG_HASH_LEN);
		STR(g->start);
		STR(g->consumed);
		for (size_t j = 0; j < g->rejects; j++) {
			STR(rejects[j].id);
			STR(rejects[j].why);
		}
		err = redis_argv(s->redis, (int)argc, argv, len, on_segment, s);
	}
#undef ARG
#undef STR
	free(argv);
	free(len);
	return err;
}

static void round_done(struct lg_seal *s);

/* Sends every segment of the round; the replies come to on_segment. */
static void round_send(struct lg_seal *s)
{
	const uint8_t *leaves = s->leaves;
	const struct reject *rejects = s->rejects;

	s->waiting = 0;
	s->round_failed = false;
	for (size_t i = 0; i < s->n_segs; i++) {
		const struct segment *g = &s->segs[i];
		if (segment_send(s, g, leaves, rejects) < 0) {
			s->round_failed = true;
			break;
		}
		s->waiting++;
		leaves += g->leaves * TLOG_HASH_LEN;
		rejects += g->rejects;
	}
	if (s->waiting == 0)
		round_done(s);
}

/* ---- checkpoints ---- */

static void witness(struct lg_seal *s)
{
	char line[TLOG_CHECKPOINT_MAX * 2 + 32];
	size_t n = 0;
	int fd;

	if (s->opts.witness_file) {
		fd = open(s->opts.witness_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		memcpy(line, s->note, s->note_len);
		memcpy(line + s->note_len, "~~~~\n", 5);
		if (fd < 0 || write(fd, line, s->note_len + 5) != (ssize_t)(s->note_len + 5)) {
			snprintf(line, sizeof(line), "%s: %s", s->opts.witness_file,
				 strerror(errno));
			note(s, LG_SEAL_WITNESS_ERROR, line);
		}
		if (fd >= 0)
			close(fd);
	}
	if (!s->opts.witness_syslog)
		return;
	/* one message: the note's newlines written as "\n" */
	for (size_t i = 0; i < s->note_len && n + 3 < sizeof(line); i++) {
		if (s->note[i] == '\n') {
			line[n++] = '\\';
			line[n++] = 'n';
		} else {
			line[n++] = s->note[i];
		}
	}
	line[n] = '\0';
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "eirc-archive checkpoint %s", line);
}

static void on_checkpoint_recorded(void *ud, redisReply *r, void *privdata)
{
	struct lg_seal *s = privdata;
	char d[TLOG_NAME_MAX + 32];

	(void)ud;
	if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		s->m->seal_checkpoints++;
		snprintf(d, sizeof(d), "%.*s", (int)strcspn(s->note, "\n"), s->note);
		snprintf(d + strlen(d), sizeof(d) - strlen(d), " %s", s->cp_size);
		note(s, LG_SEAL_CHECKPOINT, d);
	} else if (!r || r->type != REDIS_REPLY_INTEGER) {
		redis_error(s, r);
	}
	pass_next(s);
}

static void on_checkpoint_added(void *ud, redisReply *r, void *privdata)
{
	struct lg_seal *s = privdata;
	const char *argv[] = {"EVAL",      checkpoint_script, "3",         s->key_seal,
			      s->key_tlog, s->key_cps,        s->owner,    s->cp_size,
			      s->cp_time,  s->note,           s->cp_member};
	size_t len[sizeof(argv) / sizeof(argv[0])];

	(void)ud;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		redis_error(s, r);
		pass_next(s);
		return;
	}
	witness(s);
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		len[i] = strlen(argv[i]);
	if (redis_argv(s->redis, (int)(sizeof(argv) / sizeof(argv[0])), argv, len,
		       on_checkpoint_recorded, s) < 0)
		pass_next(s);
}

static bool checkpoint_due(const struct lg_seal *s)
{
	const struct state *st = &s->st;

	if (st->tree.size <= st->cp_size)
		return false;
	return st->tree.size - st->cp_size >= (uint64_t)s->opts.checkpoint_events ||
	       clock_wall_ms() - st->cp_time >= (int64_t)s->opts.checkpoint_interval_ms;
}

/* Signs the tree and adds the note to eirc:{cp}:checkpoints; the rest
 * follows its reply. Returns 0, or -1 when nothing was sent. */
static int checkpoint(struct lg_seal *s)
{
	tlog_checkpoint_t cp = {.size = s->st.tree.size};
	char root[sodium_base64_ENCODED_LEN(TLOG_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (tlog_origin_partition(s->opts.origin, s->k, cp.origin, sizeof(cp.origin)) < 0)
		return -1;
	tlog_tree_root(&s->st.tree, cp.root);
	if ((n = tlog_checkpoint_sign(&cp, s->opts.signer, s->note, sizeof(s->note))) < 0)
		return -1;
	s->note_len = (size_t)n;
	sodium_bin2base64(root, sizeof(root), cp.root, TLOG_HASH_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(s->cp_size, sizeof(s->cp_size), "%" PRIu64, cp.size);
	snprintf(s->cp_time, sizeof(s->cp_time), "%" PRId64, clock_wall_ms());
	snprintf(s->cp_member, sizeof(s->cp_member), "%" PRIu64 " %s", cp.size, s->st.last);
	return redis_cmd(s->redis, on_checkpoint_added, s,
			 "XADD %s MAXLEN ~ %d * origin %s size %s root %s note %b",
			 ARCHIVE_KEYS_CHECKPOINTS, LG_SEAL_CHECKPOINTS_MAX, cp.origin, s->cp_size,
			 root, s->note, s->note_len) < 0
		       ? -1
		       : 0;
}

/* ---- rounds ---- */

static void round_done(struct lg_seal *s)
{
	if (s->round_failed) {
		/* the state moved (or Redis went): read it again, unless the
		 * lease is gone or Redis is down */
		if (s->held[s->k] && redis_up(s->redis) && ++s->rounds < LG_SEAL_ROUNDS_MAX)
			round_start(s);
		else
			pass_next(s);
		return;
	}
	s->m->seal_sealed += s->round_sealed;
	for (uint64_t i = 0; i < s->round_sealed; i++)
		lg_metrics_seal_delay(s->m, s->delays[i]);
	s->m->seal_rejected += s->n_rejects;
	for (size_t i = 0; i < s->n_rejects; i++) {
		char d[ID_MAX + 32];
		snprintf(d, sizeof(d), "%s: %s", s->rejects[i].id, s->rejects[i].why);
		note(s, LG_SEAL_REJECTED, d);
	}
	if (s->round_full && ++s->rounds < LG_SEAL_ROUNDS_MAX) {
		round_start(s);
		return;
	}
	if (!checkpoint_due(s) || checkpoint(s) < 0)
		pass_next(s);
}

static void on_segment(void *ud, redisReply *r, void *privdata)
{
	struct lg_seal *s = privdata;

	(void)ud;
	s->waiting--;
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		redis_error(s, r);
		s->round_failed = true;
	} else if (r->integer != 1) {
		s->round_failed = true;
		if (r->integer < 0)
			s->held[s->k] = false;
	}
	if (s->waiting == 0)
		round_done(s);
}

/* The reply of the lease script: the state and the entries to seal (the
 * segments are sent before the reply goes). */
static void on_lease(void *ud, redisReply *r, void *privdata)
{
	struct lg_seal *s = privdata;
	const redisReply *entries;

	(void)ud;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		redis_error(s, r);
		pass_next(s);
		return;
	}
	if (r->element[0]->integer != 1 || r->elements != 4 ||
	    r->element[3]->type != REDIS_REPLY_STRING || r->element[3]->len >= ID_MAX) {
		s->held[s->k] = false;
		pass_next(s);
		return;
	}
	if (!s->held[s->k]) {
		s->held[s->k] = true;
		note(s, LG_SEAL_LEASE, NULL);
	}
	if (state_parse(r->element[1], &s->st) < 0) {
		note(s, LG_SEAL_ERROR, "the log's state (size, last, frontier) does not parse");
		pass_next(s);
		return;
	}
	entries = r->element[2];
	if (entries->type != REDIS_REPLY_ARRAY) {
		pass_next(s);
		return;
	}
	s->round_full = entries->elements >= (size_t)s->opts.batch;
	s->round_failed = false;
	s->round_sealed = 0;
	s->n_rejects = 0;
	if (s->rounds == 0 && entries->elements > 0) {
		const redisReply *e = entries->element[0];
		int64_t ms;
		if (e->type == REDIS_REPLY_STRING && (ms = id_ms(e->str)) > 0 &&
		    (s->pass_oldest_ms < 0 || ms < s->pass_oldest_ms))
			s->pass_oldest_ms = ms;
	}
	s->pass_backlog += entries->elements;
	if (entries->elements == 0) {
		round_done(s);
		return;
	}
	round_layout(s, entries, r->element[3]->str);
	round_send(s);
}

static void round_start(struct lg_seal *s)
{
	if (redis_cmd(s->redis, on_lease, s, "EVAL %s 4 %s %s %s %s %s %s %s", lease_script,
		      s->key_seal, s->key_tlog, s->key_pending, s->key_archive, s->owner,
		      s->lease_ms, s->batch) < 0)
		pass_next(s);
}

/* ---- passes ---- */

static void pass_end(struct lg_seal *s)
{
	int64_t lag = s->pass_oldest_ms < 0 ? 0 : clock_wall_ms() - s->pass_oldest_ms;

	s->busy = false;
	s->m->seal_backlog = s->pass_backlog;
	s->m->seal_lag_ms = lag > 0 ? (uint64_t)lag : 0;
}

/* Moves on to the next partition, or ends the pass. */
static void pass_next(struct lg_seal *s)
{
	if (++s->k >= s->opts.partitions || !redis_up(s->redis)) {
		pass_end(s);
		return;
	}
	s->rounds = 0;
	archive_keys_tlog(s->k, ARCHIVE_KEYS_TLOG_SEAL, s->key_seal, sizeof(s->key_seal));
	archive_keys_tlog(s->k, ARCHIVE_KEYS_TLOG_STATE, s->key_tlog, sizeof(s->key_tlog));
	archive_keys_tlog(s->k, ARCHIVE_KEYS_TLOG_CPS, s->key_cps, sizeof(s->key_cps));
	archive_keys_tlog(s->k, "rejected", s->key_rejected, sizeof(s->key_rejected));
	archive_keys_tlog(s->k, ARCHIVE_KEYS_TLOG_PENDING, s->key_pending, sizeof(s->key_pending));
	archive_keys_archive(s->k, s->key_archive, sizeof(s->key_archive));
	round_start(s);
}

static void on_timer(uv_timer_t *t)
{
	struct lg_seal *s = t->data;

	if (s->busy || !redis_up(s->redis))
		return;
	s->busy = true;
	s->k = -1;
	s->pass_backlog = 0;
	s->pass_oldest_ms = -1;
	pass_next(s);
}

/* ---- life ---- */

static void owner_id(char *buf, size_t cap)
{
	char host[256] = "localhost";
	uint8_t r[8];
	char hex[2 * sizeof(r) + 1];

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(buf, cap, "%s:%ld:%s", host, (long)getpid(), hex);
}

static void seal_free(struct lg_seal *s)
{
	free(s->held);
	free(s->rejects);
	free(s->leaves);
	free(s->delays);
	free(s->segs);
	sodium_memzero(s->mac_key, sizeof(s->mac_key));
	free(s);
}

int lg_seal_new(uv_loop_t *loop, redis_t *redis, const lg_seal_opts_t *opts, lg_metrics_t *m,
		lg_seal_note_fn on_note, void *ud, lg_seal_t **out_s)
{
	struct lg_seal *s;
	size_t batch;

	if (opts->partitions < 1 || opts->batch < 1 || !opts->signer || !opts->origin ||
	    opts->interval_ms == 0 || sodium_init() < 0)
		return -EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	batch = (size_t)opts->batch;
	s->segs_cap = batch / ARCHIVE_KEYS_LEAVES_CHUNK + 2;
	s->held = calloc((size_t)opts->partitions, sizeof(*s->held));
	s->rejects = calloc(batch, sizeof(*s->rejects));
	s->leaves = malloc(batch * TLOG_HASH_LEN);
	s->delays = calloc(batch, sizeof(*s->delays));
	s->segs = calloc(s->segs_cap, sizeof(*s->segs));
	if (!s->held || !s->rejects || !s->leaves || !s->delays || !s->segs) {
		seal_free(s);
		return -ENOMEM;
	}
	s->loop = loop;
	s->redis = redis;
	s->opts = *opts;
	s->m = m;
	s->on_note = on_note;
	s->ud = ud;
	tlog_mac_key(opts->signer, s->mac_key);
	owner_id(s->owner, sizeof(s->owner));
	snprintf(s->batch, sizeof(s->batch), "%d", opts->batch);
	snprintf(s->lease_ms, sizeof(s->lease_ms), "%d", LG_SEAL_LEASE_MS);
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	*out_s = s;
	return 0;
}

void lg_seal_start(struct lg_seal *s)
{
	uv_timer_start(&s->timer, on_timer, s->opts.interval_ms, s->opts.interval_ms);
}

static void on_timer_closed(uv_handle_t *h)
{
	seal_free(h->data);
}

void lg_seal_close(struct lg_seal *s)
{
	if (s)
		uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
