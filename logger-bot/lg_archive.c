/*
 * lg_archive: the archive streams' trimming at checkpoint boundaries, with
 * tombstones (see lg_archive.h). One partition at a time: plan, read the
 * leaf hashes a retention trim needs (chunk by chunk, into a frontier),
 * trim. It does not seal and does not sign: it reads what lg_seal wrote.
 */
#include "logger-bot/lg_archive.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_keys.h"
#include "archive/tlog.h"
#include "common/clock.h"

/* The page size inside the plan script. */
#define STR_(x)                #x
#define STR(x)                 STR_(x)
#define LG_ARCHIVE_TOMB_PAGE_S STR(LG_ARCHIVE_TOMB_PAGE)

/* What both scripts share: id order, the policy bound, the stream's
 * length and oldest entry. */
#define LUA_PRELUDE                                                                                \
	"local function parse(id)\n"                                                               \
	"  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')\n"                                   \
	"  return tonumber(ms), tonumber(seq)\n"                                                   \
	"end\n"                                                                                    \
	"local function less(a, b)\n"                                                              \
	"  local am, as = parse(a)\n"                                                              \
	"  local bm, bs = parse(b)\n"                                                              \
	"  return am < bm or (am == bm and as < bs)\n"                                             \
	"end\n"                                                                                    \
	"local function policy_bound(stream, arg)\n"                                               \
	"  if arg ~= 'acked' then return arg .. '-0' end\n"                                        \
	"  if redis.call('EXISTS', stream) == 0 then return nil end\n"                             \
	"  local bound = nil\n"                                                                    \
	"  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do\n"                         \
	"    local f = {}\n"                                                                       \
	"    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"                                         \
	"    local b\n"                                                                            \
	"    if tonumber(f['pending']) > 0 then\n"                                                 \
	"      b = redis.call('XPENDING', stream, f['name'])[2]\n"                                 \
	"    else\n"                                                                               \
	"      local ms, seq = parse(f['last-delivered-id'])\n"                                    \
	"      b = string.format('%d-%d', ms, seq + 1)\n"                                          \
	"    end\n"                                                                                \
	"    if bound == nil or less(b, bound) then bound = b end\n"                               \
	"  end\n"                                                                                  \
	"  return bound\n"                                                                         \
	"end\n"                                                                                    \
	"local function stream_state(stream)\n"                                                    \
	"  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)[1]\n"                  \
	"  local oldest = -1\n"                                                                    \
	"  if first then oldest = parse(first[1]) end\n"                                           \
	"  return redis.call('XLEN', stream), oldest\n"                                            \
	"end\n"

/* The boundary: a binary search of cps by rank, as sizes and last ids
 * grow together. */
const char lg_archive_plan_script[] =
	LUA_PRELUDE "local function boundary(cps, bound)\n"
		    "  local lo, hi, best = 0, redis.call('ZCARD', cps) - 1, nil\n"
		    "  while lo <= hi do\n"
		    "    local mid = math.floor((lo + hi) / 2)\n"
		    "    local m = redis.call('ZRANGE', cps, mid, mid)[1]\n"
		    "    local last = string.match(m, '^%d+ (%d+%-%d+)$')\n"
		    "    if last and less(last, bound) then\n"
		    "      best = m\n"
		    "      lo = mid + 1\n"
		    "    else\n"
		    "      hi = mid - 1\n"
		    "    end\n"
		    "  end\n"
		    "  if not best then return nil end\n"
		    "  local size, last = string.match(best, '^(%d+) (%S+)$')\n"
		    "  return tonumber(size), last\n"
		    "end\n"
		    "local len, oldest = stream_state(KEYS[1])\n"
		    "if redis.call('EXISTS', KEYS[2]) == 0 then return {len, oldest, 0} end\n"
		    "local t = redis.call('HMGET', KEYS[2], 'trimmed', 'leaves_from')\n"
		    "local from = tonumber(t[1]) or 0\n"
		    "local leaves_from = tonumber(t[2]) or 0\n"
		    "local bound = policy_bound(KEYS[1], ARGV[1])\n"
		    "local to, last = nil, nil\n"
		    "if bound then to, last = boundary(KEYS[3], bound) end\n"
		    "if not to or to <= from then return {len, oldest, 1} end\n"
		    "local base_to, base, cursor = 0, '', ''\n"
		    "if ARGV[1] ~= 'acked' then\n"
		    "  local page = redis.call('XREVRANGE', KEYS[4], ARGV[2], '-', "
		    "'COUNT', " LG_ARCHIVE_TOMB_PAGE_S ")\n"
		    "  local found = false\n"
		    "  for _, e in ipairs(page) do\n"
		    "    local f = {}\n"
		    "    for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end\n"
		    "    if f['frontier'] then\n"
		    "      base_to, base, found = tonumber(f['to']) or -1, f['frontier'], true\n"
		    "      break\n"
		    "    end\n"
		    "  end\n"
		    "  if not found and #page == " LG_ARCHIVE_TOMB_PAGE_S " then\n"
		    "    cursor = '(' .. page[#page][1]\n"
		    "  end\n"
		    "end\n"
		    "return {len, oldest, 1, from, to, last, leaves_from, base_to, base, cursor}\n";

const char lg_archive_trim_script[] = LUA_PRELUDE
	"local function tombstone(from, to, first, last, count)\n"
	"  local f = {'from', from, 'to', to, 'first', first, 'last', last, 'count', count,\n"
	"             'policy', ARGV[7], 'actor', ARGV[8], 'time', ARGV[9]}\n"
	"  if ARGV[5] ~= '-' then\n"
	"    table.insert(f, 'frontier')\n"
	"    table.insert(f, ARGV[5])\n"
	"  end\n"
	"  redis.call('XADD', KEYS[4], '*', unpack(f))\n"
	"end\n"
	"local bound = policy_bound(KEYS[1], ARGV[1])\n"
	"local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]\n"
	"first = first and first[1] or ''\n"
	"local n = -1\n"
	"if ARGV[2] == '-' then\n"
	"  if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"    n = 0\n"
	"    local last = bound and redis.call('XREVRANGE', KEYS[1], '(' .. bound, '-', 'COUNT', "
	"1)[1]\n"
	"    if last then\n"
	"      n = redis.call('XTRIM', KEYS[1], 'MINID', bound)\n"
	"      tombstone('0', '0', first, last[1], n)\n"
	"    end\n"
	"  end\n"
	"else\n"
	"  local trimmed = tonumber(redis.call('HGET', KEYS[2], 'trimmed')) or 0\n"
	"  local to, last = ARGV[3], ARGV[4]\n"
	"  if trimmed == tonumber(ARGV[2]) and bound and less(last, bound) and\n"
	"     redis.call('ZSCORE', KEYS[3], to .. ' ' .. last) then\n"
	"    local ms, seq = parse(last)\n"
	"    n = redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', ms, seq + 1))\n"
	"    tombstone(ARGV[2], to, first, last, n)\n"
	"    redis.call('HSET', KEYS[2], 'trimmed', to)\n"
	"    if ARGV[5] ~= '-' then\n"
	"      redis.call('HSET', KEYS[2], 'leaves_from', ARGV[6])\n"
	"      for i = 5, #KEYS do redis.call('DEL', KEYS[i]) end\n"
	"    end\n"
	"    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. to)\n"
	"  end\n"
	"end\n"
	"local len, oldest = stream_state(KEYS[1])\n"
	"return {n, len, oldest}\n";

/* Longest archive id "<ms>-<seq>" and a cursor "(<id>". */
#define ID_MAX 48
/* The frontier in hex: at most TLOG_FRONTIER_MAX hashes. */
#define FRONTIER_HEX_MAX (TLOG_FRONTIER_MAX * TLOG_HASH_LEN * 2)

/* The partition a pass is at: what its plan said. */
struct part {
	bool logged; /* it has a log: trim at a boundary */
	long long len, oldest;
	uint64_t from, to, leaves_from, next_leaf;
	char last[ID_MAX];
	char cursor[ID_MAX + 1];
	tlog_tree_t tree; /* [0, next_leaf): the frontier being computed */
};

struct lg_archive {
	redis_t *redis;
	lg_archive_opts_t opts;
	lg_metrics_t *m;
	uv_timer_t timer;
	bool busy; /* a pass is under way */
	int k;     /* its partition */
	uint64_t passes;
	uint64_t entries;
	int64_t oldest_ms; /* of the pass so far; -1: none */
	char bound[24];    /* "acked" or ms */
	char policy[48];
	char actor[160];
	char keys[4][64]; /* archive, tlog, cps, tomb of partition k */
	struct part p;
};

static void plan(struct lg_archive *a);
static void send_plan(struct lg_archive *a);

/* "7d", "1h", "10s", "1500ms": the largest unit that divides it. */
static void format_duration(uint64_t ms, char *buf, size_t cap)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0 || units[i].ms == 1) {
			snprintf(buf, cap, "%" PRIu64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes hex[0..len) into out (cap bytes). Returns the length or -EINVAL. */
static int from_hex(const char *hex, size_t len, uint8_t *out, size_t cap)
{
	if (len % 2 || len / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

static bool reply_int(const redisReply *r, size_t i, long long min, long long *out)
{
	if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < min)
		return false;
	*out = r->element[i]->integer;
	return true;
}

static bool reply_str(const redisReply *r, size_t i, char *out, size_t cap)
{
	if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i]->len >= cap)
		return false;
	memcpy(out, r->element[i]->str, r->element[i]->len);
	out[r->element[i]->len] = '\0';
	return true;
}

/* The partition is done (its length and oldest entry as last read): the
 * next one, or the end of the pass. */
static void part_done(struct lg_archive *a)
{
	if (a->p.len >= 0)
		a->entries += (uint64_t)a->p.len;
	if (a->p.oldest >= 0 && (a->oldest_ms < 0 || a->p.oldest < a->oldest_ms))
		a->oldest_ms = a->p.oldest;
	if (++a->k < a->opts.partitions) {
		plan(a);
		return;
	}
	int64_t age = a->oldest_ms < 0 ? 0 : clock_wall_ms() - a->oldest_ms;
	a->m->archive_entries = a->entries;
	a->m->archive_oldest_age_ms = age > 0 ? (uint64_t)age : 0;
	a->passes++;
	a->busy = false;
}

/* Redis gone (NULL reply): the pass ends here, its sums unpublished. */
static void pass_lost(struct lg_archive *a)
{
	a->busy = false;
}

/* A partition that could not be planned or trimmed: counted, skipped. */
static void part_failed(struct lg_archive *a)
{
	a->m->redis_errors++;
	part_done(a);
}

static void on_trimmed(void *ud, redisReply *r, void *privdata)
{
	struct lg_archive *a = privdata;
	long long n, len, oldest;

	(void)ud;
	if (!r) {
		pass_lost(a);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !reply_int(r, 0, -1, &n) ||
	    !reply_int(r, 1, 0, &len) || !reply_int(r, 2, -1, &oldest)) {
		part_failed(a);
		return;
	}
	if (n > 0)
		a->m->archive_trimmed += (uint64_t)n;
	a->p.len = len;
	a->p.oldest = oldest;
	part_done(a);
}

/* The trim script's call: 4 keys, the leaf chunks to delete, 9 arguments.
 * Returns 0 or a negative errno (the call not sent). */
static int trim(struct lg_archive *a, const char *frontier_hex)
{
	struct part *p = &a->p;
	uint64_t c0 = p->leaves_from / ARCHIVE_KEYS_LEAVES_CHUNK;
	uint64_t c1 = p->to / ARCHIVE_KEYS_LEAVES_CHUNK;
	size_t n_chunks = frontier_hex && p->logged && c1 > c0 ? (size_t)(c1 - c0) : 0;
	size_t argc = 3 + 4 + n_chunks + 9, i = 0;
	char from[24], to[24], leaves_from[24], now[24], nkeys[24];
	const char **argv = calloc(argc, sizeof(*argv));
	char(*chunk)[64] = n_chunks ? calloc(n_chunks, sizeof(*chunk)) : NULL;
	int err = -ENOMEM;

	if (!argv || (n_chunks && !chunk))
		goto free_args;
	snprintf(nkeys, sizeof(nkeys), "%zu", 4 + n_chunks);
	snprintf(from, sizeof(from), "%" PRIu64, p->from);
	snprintf(to, sizeof(to), "%" PRIu64, p->to);
	snprintf(leaves_from, sizeof(leaves_from), "%" PRIu64,
		 n_chunks ? c1 * ARCHIVE_KEYS_LEAVES_CHUNK : p->leaves_from);
	snprintf(now, sizeof(now), "%" PRId64, clock_wall_ms());
	argv[i++] = "EVAL";
	argv[i++] = lg_archive_trim_script;
	argv[i++] = nkeys;
	for (int j = 0; j < 4; j++)
		argv[i++] = a->keys[j];
	for (size_t j = 0; j < n_chunks; j++) {
		archive_keys_leaves(a->k, c0 + j, chunk[j], sizeof(chunk[j]));
		argv[i++] = chunk[j];
	}
	argv[i++] = a->bound;
	argv[i++] = p->logged ? from : "-";
	argv[i++] = to;
	argv[i++] = p->last;
	argv[i++] = frontier_hex ? frontier_hex : "-";
	argv[i++] = leaves_from;
	argv[i++] = a->policy;
	argv[i++] = a->actor;
	argv[i++] = now;
	err = redis_argv(a->redis, (int)argc, argv, NULL, on_trimmed, a);
free_args:
	free(chunk);
	free(argv);
	return err;
}

/* A retention trim's frontier of [0, to) is complete: trim with it. */
static void trim_retention(struct lg_archive *a)
{
	uint8_t enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	char hex[FRONTIER_HEX_MAX + 1];
	int n = tlog_tree_encode(&a->p.tree, enc, sizeof(enc));

	if (n < 0) {
		part_failed(a);
		return;
	}
	to_hex(enc, (size_t)n, hex);
	if (trim(a, hex) < 0)
		pass_lost(a);
}

static void read_leaves(struct lg_archive *a);

static void on_leaves(void *ud, redisReply *r, void *privdata)
{
	struct lg_archive *a = privdata;
	struct part *p = &a->p;
	uint64_t c = p->next_leaf / ARCHIVE_KEYS_LEAVES_CHUNK;
	uint64_t end = (c + 1) * ARCHIVE_KEYS_LEAVES_CHUNK;

	(void)ud;
	if (!r) {
		pass_lost(a);
		return;
	}
	if (end > p->to)
		end = p->to;
	/* a chunk missing or short: leaves the sealer wrote are gone */
	if (r->type != REDIS_REPLY_STRING ||
	    (uint64_t)r->len != (end - p->next_leaf) * TLOG_HASH_LEN) {
		part_failed(a);
		return;
	}
	for (uint64_t i = 0; p->next_leaf < end; i++, p->next_leaf++)
		tlog_tree_append(&p->tree, (const uint8_t *)r->str + i * TLOG_HASH_LEN);
	read_leaves(a);
}

/* The leaf hashes [next_leaf, to), one chunk (or its part) per call. */
static void read_leaves(struct lg_archive *a)
{
	struct part *p = &a->p;
	uint64_t c = p->next_leaf / ARCHIVE_KEYS_LEAVES_CHUNK;
	uint64_t start = p->next_leaf - c * ARCHIVE_KEYS_LEAVES_CHUNK;
	uint64_t end = (c + 1) * ARCHIVE_KEYS_LEAVES_CHUNK;
	char key[64];

	if (p->next_leaf == p->to) {
		trim_retention(a);
		return;
	}
	if (end > p->to)
		end = p->to;
	end -= c * ARCHIVE_KEYS_LEAVES_CHUNK;
	archive_keys_leaves(a->k, c, key, sizeof(key));
	if (redis_cmd(a->redis, on_leaves, a, "GETRANGE %s %" PRIu64 " %" PRIu64, key,
		      start * TLOG_HASH_LEN, end * TLOG_HASH_LEN - 1) < 0)
		pass_lost(a);
}

/* The base of a retention trim's frontier: the last tombstone's (size and
 * hex), whose leaves after it must still be stored. */
static int set_base(struct part *p, long long base_to, const redisReply *hex)
{
	uint8_t enc[TLOG_FRONTIER_MAX * TLOG_HASH_LEN];
	int n = from_hex(hex->str, hex->len, enc, sizeof(enc));

	if (n < 0 || base_to < 0 || (uint64_t)base_to > p->from ||
	    p->leaves_from > (uint64_t)base_to)
		return -EINVAL;
	p->next_leaf = (uint64_t)base_to;
	return tlog_tree_decode((uint64_t)base_to, enc, (size_t)n, &p->tree);
}

/* The plan's boundary (reply elements 3..9). Returns 0 or -EINVAL. */
static int parse_plan(struct part *p, const redisReply *r)
{
	long long from, to, leaves_from, base_to;

	if (r->elements != 10 || !reply_int(r, 3, 0, &from) || !reply_int(r, 4, 1, &to) ||
	    to <= from || !reply_str(r, 5, p->last, sizeof(p->last)) ||
	    !reply_int(r, 6, 0, &leaves_from) || !reply_int(r, 7, -1, &base_to) ||
	    r->element[8]->type != REDIS_REPLY_STRING ||
	    !reply_str(r, 9, p->cursor, sizeof(p->cursor)))
		return -EINVAL;
	p->from = (uint64_t)from;
	p->to = (uint64_t)to;
	p->leaves_from = (uint64_t)leaves_from;
	if (p->cursor[0])
		return 0; /* no frontier in this page of tombstones */
	return set_base(p, base_to, r->element[8]);
}

static void on_plan(void *ud, redisReply *r, void *privdata)
{
	struct lg_archive *a = privdata;
	struct part *p = &a->p;
	long long logged;

	(void)ud;
	if (!r) {
		pass_lost(a);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || !reply_int(r, 0, 0, &p->len) ||
	    !reply_int(r, 1, -1, &p->oldest) || !reply_int(r, 2, 0, &logged)) {
		part_failed(a);
		return;
	}
	p->logged = logged == 1;
	if (!p->logged) {
		if (trim(a, a->opts.acked ? NULL : "") < 0)
			pass_lost(a);
		return;
	}
	if (r->elements == 3) {
		part_done(a); /* no boundary to trim at */
		return;
	}
	if (parse_plan(p, r) < 0) {
		part_failed(a);
		return;
	}
	if (a->opts.acked) {
		if (trim(a, NULL) < 0)
			pass_lost(a);
	} else if (p->cursor[0]) {
		send_plan(a); /* look further back for the last frontier */
	} else {
		read_leaves(a);
	}
}

/* Sends partition a->k's plan, from p->cursor when it is set. */
static void send_plan(struct lg_archive *a)
{
	struct part *p = &a->p;

	if (redis_cmd(a->redis, on_plan, a, "EVAL %s 4 %s %s %s %s %s %s", lg_archive_plan_script,
		      a->keys[0], a->keys[1], a->keys[2], a->keys[3], a->bound,
		      p->cursor[0] ? p->cursor : "+") < 0)
		pass_lost(a);
}

/* Starts on partition a->k. */
static void plan(struct lg_archive *a)
{
	static const char *const what[] = {ARCHIVE_KEYS_TLOG_STATE, ARCHIVE_KEYS_TLOG_CPS,
					   ARCHIVE_KEYS_TLOG_TOMB};

	memset(&a->p, 0, sizeof(a->p));
	a->p.len = a->p.oldest = -1;
	archive_keys_archive(a->k, a->keys[0], sizeof(a->keys[0]));
	for (int i = 0; i < 3; i++)
		archive_keys_tlog(a->k, what[i], a->keys[i + 1], sizeof(a->keys[i + 1]));
	send_plan(a);
}

void lg_archive_trim_now(struct lg_archive *a)
{
	if (a->busy || !redis_up(a->redis))
		return; /* the last pass is still out, or Redis is down */
	if (a->opts.acked) {
		snprintf(a->bound, sizeof(a->bound), "acked");
	} else {
		int64_t b = clock_wall_ms() - (int64_t)a->opts.retention_ms;
		snprintf(a->bound, sizeof(a->bound), "%" PRId64, b > 0 ? b : 0);
	}
	a->busy = true;
	a->k = 0;
	a->entries = 0;
	a->oldest_ms = -1;
	plan(a);
}

uint64_t lg_archive_passes(const struct lg_archive *a)
{
	return a->passes;
}

static void on_timer(uv_timer_t *t)
{
	lg_archive_trim_now(t->data);
}

int lg_archive_new(uv_loop_t *loop, redis_t *redis, const lg_archive_opts_t *opts, lg_metrics_t *m,
		   lg_archive_t **out_a)
{
	struct lg_archive *a;
	char d[24];

	if (opts->partitions < 1 || (!opts->acked && opts->retention_ms == 0))
		return -EINVAL;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->redis = redis;
	a->opts = *opts;
	a->opts.nick = NULL; /* borrowed only here: copied into actor */
	if (!a->opts.every_ms)
		a->opts.every_ms = LG_ARCHIVE_TRIM_EVERY_MS;
	format_duration(opts->retention_ms, d, sizeof(d));
	if (opts->acked)
		snprintf(a->policy, sizeof(a->policy), "shipped");
	else
		snprintf(a->policy, sizeof(a->policy), "retention %s", d);
	snprintf(a->actor, sizeof(a->actor), "eirc-logger%s%.128s", opts->nick ? " " : "",
		 opts->nick ? opts->nick : "");
	a->m = m;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	*out_a = a;
	return 0;
}

void lg_archive_start(struct lg_archive *a)
{
	uv_timer_start(&a->timer, on_timer, a->opts.every_ms, a->opts.every_ms);
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void lg_archive_close(struct lg_archive *a)
{
	if (a)
		uv_close((uv_handle_t *)&a->timer, on_timer_closed);
}
