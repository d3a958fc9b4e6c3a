/*
 * lg_archive: the archive streams' trimming (see lg_archive.h).
 */
#include "logger-bot/lg_archive.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "archive/archive_keys.h"
#include "common/clock.h"

const char lg_archive_trim_script[] =
	"local function parse(id)\n"
	"  local ms, seq = string.match(id, '^(%d+)-(%d+)$')\n"
	"  return tonumber(ms), tonumber(seq)\n"
	"end\n"
	"local function less(a, b)\n"
	"  local am, as = parse(a)\n"
	"  local bm, bs = parse(b)\n"
	"  return am < bm or (am == bm and as < bs)\n"
	"end\n"
	"local bound = nil\n"
	"if ARGV[1] == 'acked' then\n"
	"  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
	"    local f = {}\n"
	"    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"
	"    local b\n"
	"    if tonumber(f['pending']) > 0 then\n"
	"      b = redis.call('XPENDING', KEYS[1], f['name'])[2]\n"
	"    else\n"
	"      local ms, seq = parse(f['last-delivered-id'])\n"
	"      b = string.format('%d-%d', ms, seq + 1)\n"
	"    end\n"
	"    if bound == nil or less(b, bound) then bound = b end\n"
	"  end\n"
	"else\n"
	"  bound = ARGV[1]\n"
	"end\n"
	"local n = 0\n"
	"if bound then n = redis.call('XTRIM', KEYS[1], 'MINID', bound) end\n"
	"local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]\n"
	"local oldest = -1\n"
	"if first then oldest = parse(first[1]) end\n"
	"return {n, redis.call('XLEN', KEYS[1]), oldest}\n";

struct lg_archive {
	redis_t *redis;
	lg_archive_opts_t opts;
	lg_metrics_t *m;
	uv_timer_t timer;
	int waiting; /* replies due in this pass */
	uint64_t entries;
	int64_t oldest_ms; /* of the pass so far; -1: none */
	char key[64];
};

static void on_trimmed(void *ud, redisReply *r, void *privdata)
{
	struct lg_archive *a = privdata;

	(void)ud;
	a->waiting--;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER &&
	    r->element[1]->type == REDIS_REPLY_INTEGER &&
	    r->element[2]->type == REDIS_REPLY_INTEGER) {
		a->m->archive_trimmed += (uint64_t)r->element[0]->integer;
		a->entries += (uint64_t)r->element[1]->integer;
		if (r->element[2]->integer >= 0 &&
		    (a->oldest_ms < 0 || r->element[2]->integer < a->oldest_ms))
			a->oldest_ms = r->element[2]->integer;
	} else if (r) {
		a->m->redis_errors++;
	}
	if (a->waiting == 0) {
		int64_t age = a->oldest_ms < 0 ? 0 : clock_wall_ms() - a->oldest_ms;
		a->m->archive_entries = a->entries;
		a->m->archive_oldest_age_ms = age > 0 ? (uint64_t)age : 0;
	}
}

void lg_archive_trim_now(struct lg_archive *a)
{
	char bound[24] = "acked";

	if (a->waiting || !redis_up(a->redis))
		return; /* the last pass is still out, or Redis is down */
	if (!a->opts.acked) {
		int64_t b = clock_wall_ms() - (int64_t)a->opts.retention_ms;
		snprintf(bound, sizeof(bound), "%" PRId64, b > 0 ? b : 0);
	}
	a->entries = 0;
	a->oldest_ms = -1;
	for (int k = 0; k < a->opts.partitions; k++) {
		archive_keys_archive(k, a->key, sizeof(a->key));
		if (redis_cmd(a->redis, on_trimmed, a, "EVAL %s 1 %s %s", lg_archive_trim_script,
			      a->key, bound) == 0)
			a->waiting++;
	}
}

static void on_timer(uv_timer_t *t)
{
	lg_archive_trim_now(t->data);
}

int lg_archive_new(uv_loop_t *loop, redis_t *redis, const lg_archive_opts_t *opts, lg_metrics_t *m,
		   lg_archive_t **out_a)
{
	struct lg_archive *a;

	if (opts->partitions < 1 || (!opts->acked && opts->retention_ms == 0))
		return -EINVAL;
	if (!(a = calloc(1, sizeof(*a))))
		return -ENOMEM;
	a->redis = redis;
	a->opts = *opts;
	if (!a->opts.every_ms)
		a->opts.every_ms = LG_ARCHIVE_TRIM_EVERY_MS;
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
