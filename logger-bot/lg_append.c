/*
 * lg_append: the append script and its call builder (see lg_append.h).
 */
#include "logger-bot/lg_append.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Kept small and flat: it runs once per archived event. */
const char lg_append_script[] =
	"local seen = redis.call('GET', KEYS[3])\n"
	"if seen then return {0, seen} end\n"
	"local hid\n"
	"if ARGV[1] ~= '0' then\n"
	"  hid = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, 4))\n"
	"else\n"
	"  hid = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))\n"
	"end\n"
	"redis.call('XADD', KEYS[2], '*', 'network', ARGV[3], 'stream', KEYS[1], 'hid', hid,\n"
	"           unpack(ARGV, 4))\n"
	"redis.call('SET', KEYS[3], hid, 'PX', ARGV[2])\n"
	"return {1, hid}\n";

/* The batched form (lg_append.h): the same steps per event, one call. */
const char lg_append_batch_script[] =
	"local out = {}\n"
	"local a = 3\n"
	"for i = 1, #KEYS, 3 do\n"
	"  local net, nf = ARGV[a], tonumber(ARGV[a + 1])\n"
	"  local s, e = a + 2, a + 1 + nf\n"
	"  a = e + 1\n"
	"  if redis.call('EXISTS', KEYS[i + 2]) == 1 then\n"
	"    out[#out + 1] = 0\n"
	"  else\n"
	"    local hid\n"
	"    if ARGV[1] ~= '0' then\n"
	"      hid = redis.call('XADD', KEYS[i], 'MINID', '~', ARGV[1], '*', unpack(ARGV, s, e))\n"
	"    else\n"
	"      hid = redis.call('XADD', KEYS[i], '*', unpack(ARGV, s, e))\n"
	"    end\n"
	"    redis.call('XADD', KEYS[i + 1], '*', 'network', net, 'stream', KEYS[i], 'hid', hid,\n"
	"               unpack(ARGV, s, e))\n"
	"    redis.call('SET', KEYS[i + 2], hid, 'PX', ARGV[2])\n"
	"    out[#out + 1] = 1\n"
	"  end\n"
	"end\n"
	"return out\n";

/* msgid keys live as long as the history; without retention, 30 days. */
#define LG_APPEND_TTL_DEFAULT_MS (UINT64_C(30) * 24 * 3600 * 1000)

static void arg(struct lg_append_call *c, const char *p, size_t n)
{
	c->argv[c->argc] = p ? p : "";
	c->argvlen[c->argc] = n;
	c->argc++;
}

static void str_field(struct lg_append_call *c, const char *name, struct lg_str s)
{
	arg(c, name, strlen(name));
	arg(c, s.p, s.n);
}

static int sha_valid(const char *sha)
{
	if (!sha || strlen(sha) != LG_APPEND_SHA_LEN)
		return 0;
	for (int i = 0; i < LG_APPEND_SHA_LEN; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
			return 0;
	return 1;
}

static int build_keys(const struct lg_event *ev, const struct lg_append_opts *o,
                      struct lg_append_call *c)
{
	char network[LG_KEYS_NETWORK_MAX + 1];
	const struct lg_str *net = &ev->s[LG_S_NETWORK], *conv = &ev->s[LG_S_CONV];
	int k, n;

	if (net->n == 0 || net->n > LG_KEYS_NETWORK_MAX)
		return -EINVAL;
	memcpy(network, net->p, net->n);
	network[net->n] = '\0';
	k = lg_keys_partition(network, conv->p, conv->n, IRC_CASEMAP_NONE, o->partitions);
	if (k < 0)
		return k;
	c->partition = k;
	n = lg_keys_history(k, network, conv->p, conv->n, IRC_CASEMAP_NONE, c->history,
	                    sizeof(c->history));
	if (n < 0)
		return -EINVAL;
	if (lg_keys_archive(k, c->archive, sizeof(c->archive)) < 0)
		return -EINVAL;
	if (lg_keys_msgid(k, ev->s[LG_S_MSGID].p, ev->s[LG_S_MSGID].n, c->msgid,
	                  sizeof(c->msgid)) < 0)
		return -EINVAL;
	return 0;
}

int lg_append_build(const struct lg_event *ev, const struct lg_append_opts *o, const char *sha,
                    struct lg_append_call *out_call)
{
	struct lg_append_call *c = out_call;
	static const enum lg_event_str order[] = { LG_S_NICK, LG_S_USER, LG_S_HOST, LG_S_ACCOUNT,
		                                   LG_S_TEXT, LG_S_TAGS };
	int64_t minid = o->retention_ms ? o->now_ms - (int64_t)o->retention_ms : 0;
	uint64_t ttl = o->retention_ms ? o->retention_ms : LG_APPEND_TTL_DEFAULT_MS;
	const char *type = lg_event_type_name(ev->type);
	int err;

	if (!sha_valid(sha) || !type)
		return -EINVAL;
	if ((err = build_keys(ev, o, c)) < 0)
		return err;
	memcpy(c->sha, sha, LG_APPEND_SHA_LEN + 1);
	snprintf(c->minid, sizeof(c->minid), "%" PRId64, minid > 0 ? minid : 0);
	snprintf(c->ttl, sizeof(c->ttl), "%" PRIu64, ttl);
	snprintf(c->time, sizeof(c->time), "%" PRId64, ev->time_ms);
	c->argc = 0;
	arg(c, "EVALSHA", 7);
	arg(c, c->sha, LG_APPEND_SHA_LEN);
	arg(c, "3", 1);
	arg(c, c->history, strlen(c->history));
	arg(c, c->archive, strlen(c->archive));
	arg(c, c->msgid, strlen(c->msgid));
	arg(c, c->minid, strlen(c->minid));
	arg(c, c->ttl, strlen(c->ttl));
	arg(c, ev->s[LG_S_NETWORK].p, ev->s[LG_S_NETWORK].n);
	str_field(c, "msgid", ev->s[LG_S_MSGID]);
	arg(c, "time", 4);
	arg(c, c->time, strlen(c->time));
	arg(c, "type", 4);
	arg(c, type, strlen(type));
	str_field(c, "conv", ev->s[LG_S_CONV]);
	str_field(c, "target", ev->s[LG_S_TARGET]);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		str_field(c, lg_event_str_name(order[i]), ev->s[order[i]]);
	if (ev->s[LG_S_ARG].n)
		str_field(c, "arg", ev->s[LG_S_ARG]);
	return 0;
}

int lg_append_batch_begin(struct lg_append_batch *b, const char *sha,
                          const struct lg_append_opts *o)
{
	int64_t minid = o->retention_ms ? o->now_ms - (int64_t)o->retention_ms : 0;
	uint64_t ttl = o->retention_ms ? o->retention_ms : LG_APPEND_TTL_DEFAULT_MS;

	if (!sha_valid(sha))
		return -EINVAL;
	memcpy(b->sha, sha, LG_APPEND_SHA_LEN + 1);
	snprintf(b->minid, sizeof(b->minid), "%" PRId64, minid > 0 ? minid : 0);
	snprintf(b->ttl, sizeof(b->ttl), "%" PRIu64, ttl);
	b->partition = -1;
	b->n = b->argc = b->nargs = 0;
	return 0;
}

static void batch_arg(struct lg_append_batch *b, const char *p, size_t n)
{
	b->args[b->nargs] = p ? p : "";
	b->argslen[b->nargs] = n;
	b->nargs++;
}

static void batch_field(struct lg_append_batch *b, const char *name, const char *p, size_t n)
{
	batch_arg(b, name, strlen(name));
	batch_arg(b, p, n);
}

int lg_append_batch_add(struct lg_append_batch *b, const struct lg_event *ev,
                        const struct lg_append_opts *o)
{
	static const enum lg_event_str order[] = { LG_S_CONV, LG_S_TARGET, LG_S_NICK, LG_S_USER,
		                                   LG_S_HOST, LG_S_ACCOUNT, LG_S_TEXT, LG_S_TAGS };
	static struct lg_append_call keys; /* build_keys' scratch; single-threaded */
	const char *type = lg_event_type_name(ev->type);
	int err, nf_at;

	if (!type)
		return -EINVAL;
	if (b->n == LG_APPEND_BATCH_MAX)
		return -ENOSPC;
	if ((err = build_keys(ev, o, &keys)) < 0)
		return err;
	if (b->partition >= 0 && keys.partition != b->partition)
		return -EXDEV;
	b->partition = keys.partition;
	memcpy(b->archive, keys.archive, sizeof(b->archive));
	memcpy(b->ev[b->n].history, keys.history, sizeof(keys.history));
	memcpy(b->ev[b->n].msgid, keys.msgid, sizeof(keys.msgid));
	snprintf(b->ev[b->n].time, sizeof(b->ev[b->n].time), "%" PRId64, ev->time_ms);
	batch_arg(b, ev->s[LG_S_NETWORK].p, ev->s[LG_S_NETWORK].n);
	nf_at = b->nargs;
	batch_arg(b, NULL, 0);
	batch_field(b, "msgid", ev->s[LG_S_MSGID].p, ev->s[LG_S_MSGID].n);
	batch_field(b, "time", b->ev[b->n].time, strlen(b->ev[b->n].time));
	batch_field(b, "type", type, strlen(type));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		batch_field(b, lg_event_str_name(order[i]), ev->s[order[i]].p, ev->s[order[i]].n);
	if (ev->s[LG_S_ARG].n)
		batch_field(b, "arg", ev->s[LG_S_ARG].p, ev->s[LG_S_ARG].n);
	b->argslen[nf_at] = (size_t)snprintf(b->ev[b->n].nf, sizeof(b->ev[b->n].nf), "%d",
	                                     b->nargs - nf_at - 1);
	b->args[nf_at] = b->ev[b->n].nf;
	b->n++;
	return 0;
}

static void batch_out(struct lg_append_batch *b, const char *p, size_t n)
{
	b->argv[b->argc] = p;
	b->argvlen[b->argc] = n;
	b->argc++;
}

int lg_append_batch_finish(struct lg_append_batch *b)
{
	if (b->n == 0)
		return -EINVAL;
	b->argc = 0;
	batch_out(b, "EVALSHA", 7);
	batch_out(b, b->sha, LG_APPEND_SHA_LEN);
	batch_out(b, b->numkeys, (size_t)snprintf(b->numkeys, sizeof(b->numkeys), "%d", 3 * b->n));
	for (int i = 0; i < b->n; i++) {
		batch_out(b, b->ev[i].history, strlen(b->ev[i].history));
		batch_out(b, b->archive, strlen(b->archive));
		batch_out(b, b->ev[i].msgid, strlen(b->ev[i].msgid));
	}
	batch_out(b, b->minid, strlen(b->minid));
	batch_out(b, b->ttl, strlen(b->ttl));
	for (int i = 0; i < b->nargs; i++)
		batch_out(b, b->args[i], b->argslen[i]);
	return 0;
}
